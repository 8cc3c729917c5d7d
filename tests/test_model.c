/* test_model.c — model presets, parameter counts, custom JSON shapes, resolution and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "checkpoint_fixture.h"
#include "model.h"

static db_model_config preset(const char *name) {
    db_model_config m;
    assert_int_equal(db_model_preset(name, &m), 0);
    return m;
}

/* ---- presets and parameter counts ------------------------------------------------------------- */

/* Hand count for llama2-7b (d 4096, h 11008, L 32, V 32000, untied head):
 * per layer 4*4096^2 (wq wk wv wo) + 3*4096*11008 (MLP) + 2*4096 (norms) = 202,383,360;
 * x32 = 6,476,267,520; + embedding 131,072,000 + classifier 131,072,000 + final norm 4096
 * = 6,738,415,616 — Meta's published "6.74B" (Llama 2 model card / HF). */
static void llama2_7b_has_6_74_billion_parameters(void **state) {
    db_model_config m = preset("llama2-7b");
    assert_int_equal(db_model_param_count(&m), 6738415616LL);
}

/* llama3-8b (d 4096, h 14336, 8 KV heads of 128, V 128256): per layer 2*4096^2 + 2*4096*1024 +
 * 3*4096*14336 + 8192 = 218,112,000; x32 = 6,979,584,000; + 2*128256*4096 + 4096 = 8,030,261,248
 * (published "8.03B"). */
static void llama3_8b_has_8_03_billion_parameters(void **state) {
    db_model_config m = preset("llama3-8b");
    assert_int_equal(db_model_param_count(&m), 8030261248LL);
}

/* llama3-70b (d 8192, h 28672, 80 layers, 64 heads, 8 KV heads): per layer 2*8192^2 + 2*8192*1024 +
 * 3*8192*28672 + 16384 = 855,654,400; x80 = 68,452,352,000; + 2*128256*8192 + 8192
 * = 70,553,706,496 (published "70.6B"). */
static void llama3_70b_has_70_6_billion_parameters(void **state) {
    db_model_config m = preset("llama3-70b");
    assert_int_equal(db_model_param_count(&m), 70553706496LL);
}

/* llama2-13b (d 5120, h 13824, 40 layers): per layer 4*5120^2 + 3*5120*13824 + 10240 = 317,204,480;
 * x40 = 12,688,179,200; + 2*32000*5120 + 5120 = 13,015,864,320 (published "13.0B"). */
static void llama2_13b_has_13_0_billion_parameters(void **state) {
    db_model_config m = preset("llama2-13b");
    assert_int_equal(db_model_param_count(&m), 13015864320LL);
}

/* mistral-7b v0.2 (d 4096, h 14336, 8 KV heads, V 32000): 32 * 218,112,000 + 2*32000*4096 + 4096
 * = 7,241,732,096 (published "7.24B"). */
static void mistral_7b_has_7_24_billion_parameters(void **state) {
    db_model_config m = preset("mistral-7b");
    assert_int_equal(db_model_param_count(&m), 7241732096LL);
}

/* llama2.c stories15M (d 288, h 768, 6 layers, shared classifier): per layer 4*288^2 + 3*288*768 + 576
 * = 995,904; x6 = 5,975,424; + embedding 32000*288 = 9,216,000 + final norm 288 = 15,191,712 ("15M").
 * stories110M (d 768, h 2048, 12 layers): 12 * 7,079,424 + 24,576,000 + 768 = 109,529,856 ("110M"). */
static void llama2c_presets_match_the_published_15m_and_110m(void **state) {
    db_model_config s = preset("llama2c-15m"), b = preset("llama2c-110m");
    assert_true(s.shared_classifier && b.shared_classifier);
    assert_int_equal(db_model_param_count(&s), 15191712);
    assert_int_equal(db_model_param_count(&b), 109529856);
}

static void llama3_presets_use_rope_theta_500000(void **state) {
    db_model_config a = preset("llama3-8b"), b = preset("llama3-70b"), c = preset("llama2-7b");
    assert_float_equal(a.rope_theta, 500000.0f, 0.0f);
    assert_float_equal(b.rope_theta, 500000.0f, 0.0f);
    assert_float_equal(c.rope_theta, 10000.0f, 0.0f);
    assert_int_equal(a.n_kv_heads, 8);
}

static void every_preset_is_valid_and_listed(void **state) {
    assert_int_equal(db_model_preset_count(), 8);
    for (int i = 0; i < db_model_preset_count(); i++) {
        db_model_config m = preset(db_model_preset_name(i));
        db_error err;
        assert_int_equal(db_model_validate(&m, &err), DB_OK);
    }
    assert_null(db_model_preset_name(8));
}

static void tiny_preset_has_gqa_and_head_size_16(void **state) {
    db_model_config m = preset("tiny");
    assert_int_equal(db_model_head_size(&m), 16);
    assert_int_equal(db_model_kv_dim(&m), 32);
    assert_int_equal(m.n_heads / m.n_kv_heads, 2);
}

/* ---- validation ------------------------------------------------------------------------------- */

static void validation_names_dim_not_divisible_by_heads(void **state) {
    db_model_config m = preset("tiny");
    m.dim = 100, m.n_heads = 3, m.n_kv_heads = 3;
    db_error err;
    assert_int_equal(db_model_validate(&m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "dim 100 is not divisible by n_heads 3"));
}

static void validation_rejects_odd_head_size(void **state) {
    db_model_config m = preset("tiny");
    m.dim = 60, m.n_heads = 4; /* head size 15 */
    db_error err;
    assert_int_equal(db_model_validate(&m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "head size"));
}

static void validation_names_every_bad_field(void **state) {
    db_model_config m = preset("tiny");
    m.hidden_dim = 0, m.vocab_size = -5, m.max_seq_len = DB_MODEL_MAX_SEQ + 1;
    db_error err;
    assert_int_equal(db_model_validate(&m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "hidden_dim"));
    assert_non_null(strstr(err.msg, "vocab_size"));
    assert_non_null(strstr(err.msg, "max_seq_len"));
}

/* ---- truncation ------------------------------------------------------------------------------- */

/* llama3-70b cut to 8 layers: 8 * 855,654,400 + 2*1,050,673,152 + 8192 = 8,946,589,696. */
static void truncation_keeps_the_first_layers_and_renames(void **state) {
    db_model_config m = preset("llama3-70b");
    db_error err;
    assert_int_equal(db_model_truncate(&m, 8, &err), DB_OK);
    assert_int_equal(m.n_layers, 8);
    assert_string_equal(m.name, "llama3-70b-L8");
    assert_int_equal(db_model_param_count(&m), 8946589696LL);
}

static void truncation_rejects_zero_and_more_than_the_model_has(void **state) {
    db_model_config m = preset("llama2-7b");
    db_error err;
    assert_int_equal(db_model_truncate(&m, 0, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "--layers expects 1..32"));
    assert_int_equal(db_model_truncate(&m, 33, &err), DB_ERR_INVALID);
    assert_int_equal(m.n_layers, 32);
}

/* ---- custom JSON shapes ----------------------------------------------------------------------- */

typedef struct json_case {
    char *dir;
    char path[512];
} json_case;

static json_case *write_json(const char *file, const char *text) {
    json_case *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->dir = fixture_tempdir();
    assert_non_null(c->dir);
    snprintf(c->path, sizeof c->path, "%s/%s", c->dir, file);
    FILE *f = fopen(c->path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return c;
}

static void drop_json(json_case *c) {
    fixture_remove_dir(c->dir);
    free(c);
}

/* Loads text from a file named file; returns the status, the message in err. */
static db_status load_json_text(const char *file, const char *text, db_model_config *m,
                                db_error *err) {
    json_case *c = write_json(file, text);
    db_status s = db_model_load_json(c->path, m, err);
    drop_json(c);
    return s;
}

static void json_shape_with_every_field_loads(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(load_json_text("x.json",
                                    "{\"name\":\"wide-1\",\"dim\":512,\"hidden_dim\":1376,"
                                    "\"n_layers\":4,\"n_heads\":8,\"n_kv_heads\":2,\"vocab_size\":"
                                    "1000,\"max_seq_len\":2048,\"rope_theta\":500000,\"norm_eps\":"
                                    "1e-6,\"shared_classifier\":true}",
                                    &m, &err),
                     DB_OK);
    assert_string_equal(m.name, "wide-1");
    assert_int_equal(m.dim, 512);
    assert_int_equal(m.n_kv_heads, 2);
    assert_int_equal(m.max_seq_len, 2048);
    assert_float_equal(m.rope_theta, 500000.0f, 0.0f);
    assert_float_equal(m.norm_eps, 1e-6f, 1e-12f);
    assert_true(m.shared_classifier);
}

static void json_optional_fields_default_and_name_comes_from_the_file(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(load_json_text("my-shape.json",
                                    "{\"dim\":64,\"hidden_dim\":128,\"n_layers\":1,\"n_heads\":4,"
                                    "\"vocab_size\":32,\"max_seq_len\":16}",
                                    &m, &err),
                     DB_OK);
    assert_string_equal(m.name, "my-shape");
    assert_int_equal(m.n_kv_heads, 4); /* no GQA unless stated */
    assert_float_equal(m.rope_theta, 10000.0f, 0.0f);
    assert_float_equal(m.norm_eps, 1e-5f, 0.0f);
    assert_false(m.shared_classifier);
}

static void json_names_every_missing_field(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(
        load_json_text("m.json", "{\"hidden_dim\":128,\"n_layers\":1,\"n_heads\":4}", &m, &err),
        DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "m.json"));
    assert_non_null(strstr(err.msg, "missing required field 'dim'"));
    assert_non_null(strstr(err.msg, "missing required field 'vocab_size'"));
    assert_non_null(strstr(err.msg, "missing required field 'max_seq_len'"));
}

static void json_names_ill_typed_fields(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(
        load_json_text("m.json",
                       "{\"dim\":\"64\",\"hidden_dim\":128.0,\"n_layers\":1,\"n_heads\":"
                       "4,\"vocab_size\":32,\"max_seq_len\":16,\"shared_classifier\":1,"
                       "\"rope_theta\":\"big\"}",
                       &m, &err),
        DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'dim' must be an integer"));
    assert_non_null(strstr(err.msg, "'hidden_dim' must be an integer"));
    assert_non_null(strstr(err.msg, "'shared_classifier' must be true or false"));
    assert_non_null(strstr(err.msg, "'rope_theta' must be a number"));
}

static void json_names_inconsistent_heads(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(load_json_text("m.json",
                                    "{\"dim\":100,\"hidden_dim\":128,\"n_layers\":1,\"n_heads\":3,"
                                    "\"vocab_size\":32,\"max_seq_len\":16}",
                                    &m, &err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "dim 100 is not divisible by n_heads 3"));
    assert_int_equal(load_json_text("m.json",
                                    "{\"dim\":64,\"hidden_dim\":128,\"n_layers\":1,\"n_heads\":4,"
                                    "\"n_kv_heads\":3,\"vocab_size\":32,\"max_seq_len\":16}",
                                    &m, &err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "n_heads 4 is not divisible by n_kv_heads 3"));
}

static void json_rejects_unknown_fields_and_out_of_range_sizes(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(
        load_json_text("m.json",
                       "{\"dim\":64,\"hiden_dim\":128,\"n_layers\":100000,\"n_heads\":4,"
                       "\"vocab_size\":32,\"max_seq_len\":16}",
                       &m, &err),
        DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown field 'hiden_dim'"));
    assert_non_null(strstr(err.msg, "'n_layers' must be in 1..512, got 100000"));
    assert_non_null(strstr(err.msg, "missing required field 'hidden_dim'"));
}

static void json_syntax_error_names_line_and_column(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(load_json_text("m.json", "{\n\"dim\": 64,\n\"n_heads\" 4}", &m, &err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "line 3"));
}

static void json_rejects_a_non_object_and_duplicate_keys(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(load_json_text("m.json", "[64, 128]", &m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "expected a JSON object"));
    assert_int_equal(load_json_text("m.json", "{\"dim\":64,\"dim\":32}", &m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "duplicate"));
}

static void json_missing_file_is_an_io_error(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(db_model_load_json("/nonexistent/shape.json", &m, &err), DB_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/shape.json"));
}

/* ---- resolution ------------------------------------------------------------------------------- */

static void resolve_accepts_a_preset_name(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(db_model_resolve("llama3-8b", &m, &err), DB_OK);
    assert_int_equal(m.vocab_size, 128256);
}

static void resolve_reads_a_llama2c_checkpoint_header(void **state) {
    char *dir = fixture_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/stories-mini.bin", dir);
    db_model_config want = {"", 32, 64, 2, 4, 2, 40, 8, 10000.0f, 1e-5f, 0};
    assert_int_equal(fixture_write_checkpoint(path, &want, 0), 0);
    db_model_config m;
    db_error err;
    assert_int_equal(db_model_resolve(path, &m, &err), DB_OK);
    assert_string_equal(m.name, "stories-mini");
    assert_int_equal(m.dim, 32);
    assert_int_equal(m.n_kv_heads, 2);
    assert_int_equal(m.vocab_size, 40);
    assert_false(m.shared_classifier);
    fixture_remove_dir(dir);
}

static void resolve_reads_a_json_shape(void **state) {
    json_case *c = write_json("s.json", "{\"dim\":64,\"hidden_dim\":128,\"n_layers\":3,\"n_heads\":"
                                        "4,\"vocab_size\":32,\"max_seq_len\":16}");
    db_model_config m;
    db_error err;
    assert_int_equal(db_model_resolve(c->path, &m, &err), DB_OK);
    assert_int_equal(m.n_layers, 3);
    drop_json(c);
}

static void resolve_lists_the_presets_for_an_unknown_name(void **state) {
    db_model_config m;
    db_error err;
    assert_int_equal(db_model_resolve("llama9", &m, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown model 'llama9'"));
    assert_non_null(strstr(err.msg, "tiny, llama2c-15m, llama2c-110m, llama2-7b"));
    assert_int_equal(db_model_resolve("", &m, &err), DB_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_7b_has_6_74_billion_parameters),
        cmocka_unit_test(llama3_8b_has_8_03_billion_parameters),
        cmocka_unit_test(llama3_70b_has_70_6_billion_parameters),
        cmocka_unit_test(llama2_13b_has_13_0_billion_parameters),
        cmocka_unit_test(mistral_7b_has_7_24_billion_parameters),
        cmocka_unit_test(llama2c_presets_match_the_published_15m_and_110m),
        cmocka_unit_test(llama3_presets_use_rope_theta_500000),
        cmocka_unit_test(every_preset_is_valid_and_listed),
        cmocka_unit_test(tiny_preset_has_gqa_and_head_size_16),
        cmocka_unit_test(validation_names_dim_not_divisible_by_heads),
        cmocka_unit_test(validation_rejects_odd_head_size),
        cmocka_unit_test(validation_names_every_bad_field),
        cmocka_unit_test(truncation_keeps_the_first_layers_and_renames),
        cmocka_unit_test(truncation_rejects_zero_and_more_than_the_model_has),
        cmocka_unit_test(json_shape_with_every_field_loads),
        cmocka_unit_test(json_optional_fields_default_and_name_comes_from_the_file),
        cmocka_unit_test(json_names_every_missing_field),
        cmocka_unit_test(json_names_ill_typed_fields),
        cmocka_unit_test(json_names_inconsistent_heads),
        cmocka_unit_test(json_rejects_unknown_fields_and_out_of_range_sizes),
        cmocka_unit_test(json_syntax_error_names_line_and_column),
        cmocka_unit_test(json_rejects_a_non_object_and_duplicate_keys),
        cmocka_unit_test(json_missing_file_is_an_io_error),
        cmocka_unit_test(resolve_accepts_a_preset_name),
        cmocka_unit_test(resolve_reads_a_llama2c_checkpoint_header),
        cmocka_unit_test(resolve_reads_a_json_shape),
        cmocka_unit_test(resolve_lists_the_presets_for_an_unknown_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
