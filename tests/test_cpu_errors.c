/* The CPU backend refuses bad options and bad work items with DB_ERR_INVALID (or DB_ERR_IO for an
 * unreadable checkpoint) and a message naming what was wrong, and a refused step changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ref_driver.h"

static db_status open_with(const db_engine_opts *o, int64_t blocks, db_error *err) {
    db_cpu_backend *b = NULL;
    db_status st = db_cpu_open(o, blocks, &b, err);
    if (st == DB_OK)
        db_cpu_close(b);
    else
        assert_null(b);
    return st;
}

static void open_refuses_an_invalid_shape(void **state) {
    db_model_config m = ref_tiny(0);
    m.n_heads = 3; /* 64 is not divisible by 3 */
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    db_error err;
    assert_int_equal(open_with(&o, 8, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "n_heads"));
}

static void open_refuses_unknown_precision_and_kv_dtype(void **state) {
    db_model_config m = ref_tiny(0);
    db_engine_opts o = ref_opts(&m, DB_PREC_COUNT, DB_KV_FP32, 1);
    db_error err;
    assert_int_equal(open_with(&o, 8, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "precision"));
    o = ref_opts(&m, DB_PREC_FP32, DB_KV_COUNT, 1);
    assert_int_equal(open_with(&o, 8, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "KV dtype"));
}

static void open_refuses_an_empty_kv_cache_and_negative_temperature(void **state) {
    db_model_config m = ref_tiny(0);
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    db_error err;
    assert_int_equal(open_with(&o, 0, &err), DB_ERR_INVALID);
    o.temperature = -1.0f;
    assert_int_equal(open_with(&o, 8, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "temperature"));
}

static void open_names_a_missing_checkpoint(void **state) {
    db_model_config m = ref_tiny(0);
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    o.checkpoint_path = "/nonexistent/dir/model.bin";
    db_error err;
    assert_int_not_equal(open_with(&o, 8, &err), DB_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/model.bin"));
}

static void device_name_says_how_many_threads(void **state) {
    db_model_config m = ref_tiny(0);
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    db_cpu_backend *b = NULL;
    db_error err;
    assert_int_equal(db_cpu_open(&o, 8, &b, &err), DB_OK);
    assert_non_null(strstr(db_backend_cpu.device_name(b), ", 2 threads"));
    db_cpu_close(b);
}

/* One sequence with blocks {0, 1} (8 positions at block size 4), running `w`. */
static db_status step_one(db_cpu_backend *b, db_work w, int n_blocks, const int32_t *blocks,
                          db_error *err) {
    int32_t next = -7;
    db_backend_seq_view v = {blocks, n_blocks};
    db_step_result res = {&next, NULL, 0, 0};
    return db_cpu_step(b, &w, &v, 1, &res, err);
}

static void step_refuses_bad_items_with_a_message(void **state) {
    db_model_config m = ref_tiny(0);
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    db_cpu_backend *b = NULL;
    db_error err;
    assert_int_equal(db_cpu_open(&o, 4, &b, &err), DB_OK);
    int32_t toks[8] = {1, 2, 3, 4, 5, 6, 7, 8}, bad_tok[1] = {256}, blocks[2] = {0, 1},
            bad_blocks[2] = {0, 4};
    assert_int_equal(step_one(b, (db_work){0, 0, 1, bad_tok, 1}, 2, blocks, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "token 0 is 256, outside the vocabulary 0..255"));
    assert_int_equal(step_one(b, (db_work){0, 0, 0, toks, 1}, 2, blocks, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "at least one token"));
    assert_int_equal(step_one(b, (db_work){0, 510, 3, toks, 1}, 2, blocks, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "outside the model's 0..511"));
    /* 8 tokens at position 1 reach position 8: 3 blocks of 4 needed, the table has 2 */
    assert_int_equal(step_one(b, (db_work){0, 1, 8, toks, 1}, 2, blocks, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "has 2 blocks, positions up to 8 need 3"));
    assert_int_equal(step_one(b, (db_work){0, 0, 8, toks, 1}, 2, bad_blocks, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "block 1 of its table is 4, outside 0..3"));
    db_cpu_close(b);
}

/* A refused step writes nothing: it would have overwritten position 3 (token 60) before meeting the
 * bad token at position 4, so if anything were written, the next step, which reads positions 0..4,
 * would give other logits than in a backend that never saw the refused step. */
static void refused_step_changes_nothing(void **state) {
    db_model_config m = ref_tiny(0);
    db_engine_opts o = ref_opts(&m, DB_PREC_FP32, DB_KV_FP32, 1);
    db_error err;
    int32_t prompt[4] = {10, 20, 30, 40}, tail[1] = {50}, bad[2] = {60, 999}, blocks[2] = {0, 1};
    int32_t next[2];
    float logits[2][256];
    for (int k = 0; k < 2; k++) {
        db_cpu_backend *b = NULL;
        assert_int_equal(db_cpu_open(&o, 4, &b, &err), DB_OK);
        assert_int_equal(step_one(b, (db_work){0, 0, 4, prompt, 1}, 2, blocks, &err), DB_OK);
        if (k == 1)
            assert_int_equal(step_one(b, (db_work){0, 3, 2, bad, 1}, 2, blocks, &err),
                             DB_ERR_INVALID);
        db_backend_seq_view v = {blocks, 2};
        db_work w = {0, 4, 1, tail, 1};
        db_step_result res = {&next[k], logits[k], 0, 0};
        assert_int_equal(db_cpu_step(b, &w, &v, 1, &res, &err), DB_OK);
        db_cpu_close(b);
    }
    assert_int_equal(next[0], next[1]);
    assert_memory_equal(logits[0], logits[1], sizeof logits[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_refuses_an_invalid_shape),
        cmocka_unit_test(open_refuses_unknown_precision_and_kv_dtype),
        cmocka_unit_test(open_refuses_an_empty_kv_cache_and_negative_temperature),
        cmocka_unit_test(open_names_a_missing_checkpoint),
        cmocka_unit_test(device_name_says_how_many_threads),
        cmocka_unit_test(step_refuses_bad_items_with_a_message),
        cmocka_unit_test(refused_step_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
