/* test_checkpoint.c — llama2.c checkpoints: header validation, exact size, tensor layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "checkpoint.h"
#include "checkpoint_fixture.h"

typedef struct fixture {
    char *dir;
    char path[512];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->dir = fixture_tempdir();
    if (!f->dir) return -1;
    snprintf(f->path, sizeof f->path, "%s/model.bin", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    fixture_remove_dir(f->dir);
    free(f);
    return 0;
}

/* d 32, hidden 64, 2 layers, 4 heads (head size 8), 2 KV heads (kv dim 16), vocab 40, seq_len 8. */
static db_model_config small(int shared) {
    db_model_config m = {"", 32, 64, 2, 4, 2, 40, 8, 10000.0f, 1e-5f, shared};
    return m;
}

/* Floats: embedding 40*32 = 1280; rms_att 2*32 = 64; wq 2*32*32 = 2048; wk, wv 2*16*32 = 1024 each;
 * wo 2048; rms_ffn 64; w1, w2, w3 2*64*32 = 4096 each; rms_final 32; RoPE tables 2 * 8*8/2 = 64.
 * Sum 19,936 floats = 79,744 bytes + 28 header = 79,772; unshared adds 1280 floats = 5,120 bytes. */
static void expected_size_is_the_hand_count(void **state) {
    db_model_config shared = small(1), unshared = small(0);
    assert_int_equal(db_checkpoint_expected_bytes(&shared), 79772);
    assert_int_equal(db_checkpoint_expected_bytes(&unshared), 79772 + 5120);
}

/* Each tensor's first and last element carry the tensor's fill value (see checkpoint_fixture.h). */
static void check_tensor(const float *t, int64_t count, float value) {
    assert_float_equal(t[0], value, 0.0f);
    assert_float_equal(t[count - 1], value, 0.0f);
}

static void check_layout(const db_checkpoint *ck) {
    check_tensor(ck->token_embedding, 1280, 1.0f);
    check_tensor(ck->rms_att, 64, 2.0f);
    check_tensor(ck->wq, 2048, 3.0f);
    check_tensor(ck->wk, 1024, 4.0f);
    check_tensor(ck->wv, 1024, 5.0f);
    check_tensor(ck->wo, 2048, 6.0f);
    check_tensor(ck->rms_ffn, 64, 7.0f);
    check_tensor(ck->w1, 4096, 8.0f);
    check_tensor(ck->w2, 4096, 9.0f);
    check_tensor(ck->w3, 4096, 10.0f);
    check_tensor(ck->rms_final, 32, 11.0f);
}

static void shared_checkpoint_maps_every_tensor_and_reuses_the_embedding(void **state) {
    fixture *f = *state;
    db_model_config m = small(1);
    assert_int_equal(fixture_write_checkpoint(f->path, &m, 0), 0);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_OK);
    check_layout(&ck);
    assert_ptr_equal(ck.wcls, ck.token_embedding);
    assert_true(ck.config.shared_classifier);
    assert_int_equal(ck.config.vocab_size, 40);
    assert_string_equal(ck.config.name, "model");
    db_checkpoint_close(&ck);
    assert_null(ck.map);
}

static void unshared_checkpoint_has_its_classifier_after_the_rope_tables(void **state) {
    fixture *f = *state;
    db_model_config m = small(0);
    assert_int_equal(fixture_write_checkpoint(f->path, &m, 0), 0);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_OK);
    check_layout(&ck);
    check_tensor(ck.wcls, 1280, 13.0f);
    assert_false(ck.config.shared_classifier);
    assert_int_equal(ck.config.vocab_size, 40); /* stored as -40 */
    db_checkpoint_close(&ck);
}

static void truncated_file_names_expected_and_actual_bytes(void **state) {
    fixture *f = *state;
    db_model_config m = small(1);
    assert_int_equal(fixture_write_checkpoint(f->path, &m, -4), 0);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "implies 79772 bytes, the file has 79768 bytes (truncated?)"));
    assert_null(ck.map);
}

static void trailing_bytes_are_rejected(void **state) {
    fixture *f = *state;
    db_model_config m = small(0);
    assert_int_equal(fixture_write_checkpoint(f->path, &m, 3), 0);
    db_model_config got;
    db_error err;
    assert_int_equal(db_checkpoint_read_config(f->path, &got, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "implies 84892 bytes, the file has 84895 bytes"));
}

/* An unshared file whose header claims "shared" is 5,120 bytes too long: caught by the size check. */
static void wrong_classifier_sign_is_caught_by_the_size(void **state) {
    fixture *f = *state;
    db_model_config m = small(0);
    assert_int_equal(fixture_write_checkpoint(f->path, &m, 0), 0);
    FILE *fp = fopen(f->path, "r+b");
    int32_t vocab = 40;
    fseek(fp, 5 * 4, SEEK_SET);
    fwrite(&vocab, 4, 1, fp);
    fclose(fp);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "shared classifier) implies 79772 bytes, the file has 84892"));
}

static void write_header(const char *path, const int32_t h[7], size_t n_fields) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(h, 4, n_fields, fp), n_fields);
    fclose(fp);
}

static void short_header_is_rejected(void **state) {
    fixture *f = *state;
    int32_t h[7] = {32, 64, 2, 4, 2, 40, 8};
    write_header(f->path, h, 2);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "file is 8 bytes, shorter than the 28-byte header"));
}

static void header_with_indivisible_heads_is_rejected(void **state) {
    fixture *f = *state;
    int32_t h[7] = {30, 64, 2, 4, 2, 40, 8};
    write_header(f->path, h, 7);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "bad header"));
    assert_non_null(strstr(err.msg, "dim 30 is not divisible by n_heads 4"));
}

/* Sizes whose products would overflow 64 bits are refused by the limits before any arithmetic. */
static void huge_or_negative_header_fields_are_rejected(void **state) {
    fixture *f = *state;
    int32_t huge[7] = {1 << 30, 1 << 30, 1 << 30, 1 << 20, 1 << 20, 1 << 30, 1 << 30};
    write_header(f->path, huge, 7);
    db_model_config m;
    db_error err;
    assert_int_equal(db_checkpoint_read_config(f->path, &m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "vocab_size"));
    int32_t negative[7] = {-32, 64, 0, 4, 2, 40, 8};
    write_header(f->path, negative, 7);
    assert_int_equal(db_checkpoint_read_config(f->path, &m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "dim must be in 1..65536, got -32"));
    assert_non_null(strstr(err.msg, "n_layers must be in 1..512, got 0"));
    int32_t most_negative_vocab[7] = {32, 64, 2, 4, 2, INT32_MIN, 8};
    write_header(f->path, most_negative_vocab, 7);
    assert_int_equal(db_checkpoint_read_config(f->path, &m, &err), DB_ERR_INVALID);
}

static void newer_llama2c_export_versions_are_named(void **state) {
    fixture *f = *state;
    int32_t h[7] = {0x616b3432, 2, 288, 768, 6, 6, 6};
    write_header(f->path, h, 7);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "export version 2"));
}

static void missing_file_and_directory_are_reported(void **state) {
    fixture *f = *state;
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open("/nonexistent/model.bin", &ck, &err), DB_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/model.bin: cannot open"));
    assert_int_equal(db_checkpoint_open(f->dir, &ck, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

static void closing_twice_is_harmless(void **state) {
    fixture *f = *state;
    db_model_config m = small(1);
    assert_int_equal(fixture_write_checkpoint(f->path, &m, 0), 0);
    db_checkpoint ck;
    db_error err;
    assert_int_equal(db_checkpoint_open(f->path, &ck, &err), DB_OK);
    db_checkpoint_close(&ck);
    db_checkpoint_close(&ck);
    assert_null(ck.map);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expected_size_is_the_hand_count),
        cmocka_unit_test_setup_teardown(
            shared_checkpoint_maps_every_tensor_and_reuses_the_embedding, setup, teardown),
        cmocka_unit_test_setup_teardown(
            unshared_checkpoint_has_its_classifier_after_the_rope_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_file_names_expected_and_actual_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(trailing_bytes_are_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_classifier_sign_is_caught_by_the_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(short_header_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(header_with_indivisible_heads_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(huge_or_negative_header_fields_are_rejected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(newer_llama2c_export_versions_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file_and_directory_are_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(closing_twice_is_harmless, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
