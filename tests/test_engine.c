/* test_engine.c — the engine API on the sim backend: options, KV sizing, sequences, step validation,
 * all-or-nothing KV reservation and rollback. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "checkpoint_fixture.h"
#include "cost.h"
#include "kv_cache.h"
#include "model.h"

static db_engine_opts sim_opts(const char *model, int64_t kv_tokens) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset(model, &o.model), 0);
    o.kv_tokens = kv_tokens;
    return o;
}

static db_engine *open_ok(const db_engine_opts *o) {
    db_engine *e;
    db_error err;
    db_status st = db_engine_open(o, &e, &err);
    if (st != DB_OK) fail_msg("db_engine_open: %s", err.msg);
    return e;
}

static db_status open_err(const db_engine_opts *o, db_error *err) {
    db_engine *e = NULL;
    db_status st = db_engine_open(o, &e, err);
    assert_null(e);
    return st;
}

static int new_seq(db_engine *e) {
    int id;
    db_error err;
    assert_int_equal(db_seq_alloc(e, &id, &err), DB_OK);
    return id;
}

static int32_t toks[600];

static db_work item(int seq, int pos, int n) {
    return (db_work){.seq_id = seq, .pos = pos, .n_tokens = n, .tokens = toks, .want_next = 1};
}

static db_status step(db_engine *e, const db_work *w, int n, db_error *err) {
    int32_t next[16];
    db_step_result r = {.next_tokens = next};
    return db_engine_step(e, w, n, &r, err);
}

/* ---- options ---------------------------------------------------------------------------------- */

static void defaults_are_auto_fp32_block_16_seed_1_greedy(void **state) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    assert_int_equal(o.backend, DB_BACKEND_AUTO);
    assert_int_equal(o.precision, DB_PREC_FP32);
    assert_int_equal(o.kv_dtype, DB_KV_FP32);
    assert_int_equal(o.kv_block_size, 16);
    assert_int_equal(o.seed, 1);
    assert_true(o.temperature == 0.0f && o.top_k == 0);
    assert_true(o.sim_step_overhead_s < 0); /* the device default */
}

/* kv_tokens 1000 in blocks of 16: ceil(1000 / 16) = 63 blocks = 1008 tokens. */
static void kv_tokens_round_up_to_whole_blocks(void **state) {
    db_engine_opts o = sim_opts("tiny", 1000);
    db_engine *e = open_ok(&o);
    assert_int_equal(db_engine_kv_total_blocks(e), 63);
    assert_int_equal(db_engine_kv_free_blocks(e), 63);
    assert_int_equal(db_engine_get_opts(e)->kv_tokens, 1008);
    assert_int_equal(db_engine_backend(e), DB_BACKEND_SIM);
    db_engine_close(e);
}

/* tiny with an fp32 cache: 2 (K, V) * 2 layers * 32 (kv dim) * 4 bytes = 512 bytes per token, 8192 per
 * 16-token block; kv_bytes 100,000 holds floor(100000 / 8192) = 12 blocks. */
static void kv_bytes_hold_whole_blocks(void **state) {
    db_engine_opts o = sim_opts("tiny", 0);
    o.kv_bytes = 100000;
    db_engine *e = open_ok(&o);
    assert_true(db_kv_bytes_per_token(&o.model, DB_KV_FP32) == 512.0);
    assert_int_equal(db_engine_kv_total_blocks(e), 12);
    db_engine_close(e);
}

static void kv_bytes_below_one_block_are_refused(void **state) {
    db_engine_opts o = sim_opts("tiny", 0);
    o.kv_bytes = 8000;
    db_error err;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "kv_bytes 8000 holds 0 blocks"));
}

static void kv_tokens_and_kv_bytes_together_are_refused(void **state) {
    db_engine_opts o = sim_opts("tiny", 64);
    o.kv_bytes = 1 << 20;
    db_error err;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "kv_tokens (64) and kv_bytes (1048576) are both set"));
}

/* The sim's default: 90% of H100 memory minus llama2-7b's bf16 weights = 58,522,636,288 bytes
 * (test_sim.c); bf16 KV is 524,288 bytes per token, 8,388,608 per block: floor(6976.4) = 6976 blocks. */
static void sim_default_kv_is_device_memory_left_by_the_weights(void **state) {
    db_engine_opts o = sim_opts("llama2-7b", 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    db_engine *e = open_ok(&o);
    assert_int_equal(db_engine_kv_total_blocks(e), 6976);
    db_engine_close(e);
}

/* Without a device memory size the engine default applies: 8 sequences of max_seq_len (tiny: 512),
 * 4096 tokens = 256 blocks. */
static void engine_default_kv_is_eight_full_length_sequences(void **state) {
    char *dir = fixture_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/dev.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"device\":\"lab box\",\"source\":\"measured\",\"memory_bandwidth_GBps\":1000,"
          "\"peak_tflops\":{\"fp32\":50,\"bf16\":400}}",
          f);
    fclose(f);
    db_engine_opts o = sim_opts("tiny", 0);
    o.sim_device = path;
    db_engine *e = open_ok(&o);
    assert_int_equal(db_engine_kv_total_blocks(e), 256);
    assert_string_equal(db_engine_device_name(e), "sim: lab box (measured ceilings)");
    db_engine_close(e);
    fixture_remove_dir(dir);
}

static void bad_options_are_named(void **state) {
    db_error err;
    db_engine_opts o = sim_opts("tiny", 64);
    o.precision = (db_precision)42;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "precision"));
    o = sim_opts("tiny", 64);
    o.kv_block_size = -1;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "kv_block_size"));
    o = sim_opts("tiny", 64);
    o.temperature = -0.5f;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "temperature"));
    o = sim_opts("tiny", 64);
    o.top_k = 257;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "top_k must be 0..256"));
    o = sim_opts("tiny", -1);
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "kv_tokens"));
}

static void an_invalid_model_is_named(void **state) {
    db_engine_opts o = sim_opts("tiny", 64);
    o.model.n_kv_heads = 3;
    db_error err;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "n_heads 4 is not divisible by n_kv_heads 3"));
}

static void an_unknown_sim_device_is_named(void **state) {
    db_engine_opts o = sim_opts("tiny", 64);
    o.sim_device = "b200";
    db_error err;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown sim device 'b200'"));
}

static void a_checkpoint_of_another_shape_is_refused(void **state) {
    char *dir = fixture_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/other.bin", dir);
    db_model_config other = {"", 32, 64, 2, 4, 2, 40, 8, 10000.0f, 1e-5f, 1};
    assert_int_equal(fixture_write_checkpoint(path, &other, 0), 0);
    db_engine_opts o = sim_opts("tiny", 64);
    o.checkpoint_path = path;
    db_error err;
    assert_int_equal(open_err(&o, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "does not match model 'tiny'"));
    fixture_remove_dir(dir);
}

#ifndef DECODEBENCH_HAVE_CUDA
static void cuda_is_unsupported_without_cuda(void **state) {
    db_engine_opts o = sim_opts("tiny", 64);
    o.backend = DB_BACKEND_CUDA;
    db_error err;
    assert_int_equal(open_err(&o, &err), DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "built without CUDA"));
}

static void auto_is_the_cpu_without_cuda(void **state) {
    db_engine_opts o = sim_opts("tiny", 64);
    o.backend = DB_BACKEND_AUTO;
    o.threads = 1;
    db_engine *e = open_ok(&o);
    assert_int_equal(db_engine_backend(e), DB_BACKEND_CPU);
    db_engine_close(e);
}
#endif

/* ---- steps ------------------------------------------------------------------------------------ */

/* A 20-token prefill then a decode: the sequence holds 21 tokens in ceil(21 / 16) = 2 blocks. */
static void steps_advance_the_sequence_and_take_blocks(void **state) {
    db_engine_opts o = sim_opts("tiny", 160); /* 10 blocks */
    db_engine *e = open_ok(&o);
    int s = new_seq(e);
    db_error err;
    db_work w = item(s, 0, 20);
    assert_int_equal(step(e, &w, 1, &err), DB_OK);
    w = item(s, 20, 1);
    assert_int_equal(step(e, &w, 1, &err), DB_OK);
    assert_int_equal(db_seq_len(e, s), 21);
    assert_int_equal(db_engine_kv_free_blocks(e), 8);
    assert_int_equal(db_seq_blocks_needed(e, s, 11), 0);
    assert_int_equal(db_seq_blocks_needed(e, s, 12), 1);
    assert_int_equal(db_engine_kv_check(e, &err), DB_OK);
    assert_int_equal(db_seq_free(e, s, &err), DB_OK);
    assert_int_equal(db_engine_kv_free_blocks(e), 10);
    assert_int_equal(db_engine_kv_check(e, &err), DB_OK);
    db_engine_close(e);
}

static void sim_steps_report_modelled_time_and_tokens(void **state) {
    db_engine_opts o = sim_opts("tiny", 160);
    o.sim_step_overhead_s = 1e-3;
    db_engine *e = open_ok(&o);
    int a = new_seq(e), b = new_seq(e);
    db_work w[2] = {item(a, 0, 5), item(b, 0, 3)};
    w[1].want_next = 0;
    int32_t next[2];
    db_step_result r = {.next_tokens = next};
    db_error err;
    assert_int_equal(db_engine_step(e, w, 2, &r, &err), DB_OK);
    assert_true(next[0] >= 0 && next[0] < 256);
    assert_int_equal(next[1], -1);
    assert_true(r.device_seconds > 0);
    assert_true(fabs(r.step_seconds - (r.device_seconds + 1e-3)) < 1e-15);
    db_engine_close(e);
}

/* Each malformed item is refused with its index named, and nothing changes. */
static void malformed_items_are_refused_without_change(void **state) {
    db_engine_opts o = sim_opts("tiny", 160);
    db_engine *e = open_ok(&o);
    int s = new_seq(e);
    db_error err;
    struct {
        db_work w;
        const char *msg;
    } cases[] = {
        {item(99, 0, 1), "work[0]: unknown sequence 99"},
        {item(s, 3, 1), "sequence 0 holds 0 tokens, so pos must be 0, got 3"},
        {item(s, 0, 0), "n_tokens must be >= 1, got 0"},
        {item(s, 0, 513), "exceed max_seq_len 512"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(step(e, &cases[i].w, 1, &err), DB_ERR_INVALID);
        assert_non_null(strstr(err.msg, cases[i].msg));
    }
    db_work w = item(s, 0, 2);
    w.tokens = NULL;
    assert_int_equal(step(e, &w, 1, &err), DB_ERR_INVALID);
    int32_t bad[2] = {5, 256};
    w.tokens = bad;
    assert_int_equal(step(e, &w, 1, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "token 256 (index 1) is outside the vocabulary [0, 256)"));
    assert_int_equal(step(e, &w, 0, &err), DB_ERR_INVALID);
    assert_int_equal(db_seq_len(e, s), 0);
    assert_int_equal(db_engine_kv_free_blocks(e), 10);
    db_engine_close(e);
}

static void a_sequence_twice_in_one_step_is_refused(void **state) {
    db_engine_opts o = sim_opts("tiny", 160);
    db_engine *e = open_ok(&o);
    int s = new_seq(e);
    db_work w[2] = {item(s, 0, 1), item(s, 0, 1)};
    db_error err;
    assert_int_equal(step(e, w, 2, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "listed twice"));
    assert_int_equal(db_seq_len(e, s), 0);
    db_engine_close(e);
}

/* 4 blocks of 16: a 40-token chunk (3 blocks) and a 20-token chunk (2 blocks) do not fit together:
 * DB_ERR_KV_FULL and no change; each alone fits. */
static void a_step_that_does_not_fit_changes_nothing(void **state) {
    db_engine_opts o = sim_opts("tiny", 64);
    db_engine *e = open_ok(&o);
    int a = new_seq(e), b = new_seq(e);
    db_work w[2] = {item(a, 0, 40), item(b, 0, 20)};
    db_error err;
    assert_int_equal(step(e, w, 2, &err), DB_ERR_KV_FULL);
    assert_non_null(strstr(err.msg, "needs 5 more blocks, 4 of 4 are free"));
    assert_int_equal(db_seq_len(e, a), 0);
    assert_int_equal(db_seq_len(e, b), 0);
    assert_int_equal(db_engine_kv_free_blocks(e), 4);
    assert_int_equal(step(e, w, 1, &err), DB_OK);
    assert_int_equal(db_engine_kv_free_blocks(e), 1);
    db_engine_close(e);
}

/* The sim computes no logits: asking for them makes the backend fail, and the engine rolls the
 * reserved tokens and blocks back. */
static void a_backend_failure_rolls_the_step_back(void **state) {
    db_engine_opts o = sim_opts("tiny", 160);
    db_engine *e = open_ok(&o);
    int s = new_seq(e);
    db_work w = item(s, 0, 7);
    int32_t next[1];
    float logits[256];
    db_step_result r = {.next_tokens = next, .logits = logits};
    db_error err;
    assert_int_equal(db_engine_step(e, &w, 1, &r, &err), DB_ERR_UNSUPPORTED);
    assert_int_equal(db_seq_len(e, s), 0);
    assert_int_equal(db_engine_kv_free_blocks(e), 10);
    r.logits = NULL;
    assert_int_equal(db_engine_step(e, &w, 1, &r, &err), DB_OK);
    assert_int_equal(db_seq_len(e, s), 7);
    db_engine_close(e);
}

static void engine_cost_is_the_cost_model_of_its_options(void **state) {
    db_engine_opts o = sim_opts("llama3-8b", 4096);
    o.precision = DB_PREC_INT4;
    o.kv_dtype = DB_KV_FP8;
    db_engine *e = open_ok(&o);
    db_work w[2] = {item(0, 0, 17), item(1, 40, 1)};
    db_cost a, b;
    db_engine_cost(e, w, 2, &a);
    db_cost_model(&o.model, DB_PREC_INT4, DB_KV_FP8, w, 2, &b);
    assert_memory_equal(&a, &b, sizeof a);
    db_engine_close(e);
}

static void the_same_seed_gives_the_same_sim_tokens(void **state) {
    db_engine_opts o = sim_opts("tiny", 160);
    o.seed = 1234;
    int32_t got[2][8];
    for (int run = 0; run < 2; run++) {
        db_engine *e = open_ok(&o);
        int s = new_seq(e);
        db_error err;
        for (int t = 0; t < 8; t++) {
            db_work w = item(s, t, 1);
            w.tokens = t ? &got[run][t - 1] : toks;
            db_step_result r = {.next_tokens = &got[run][t]};
            assert_int_equal(db_engine_step(e, &w, 1, &r, &err), DB_OK);
        }
        db_engine_close(e);
    }
    assert_memory_equal(got[0], got[1], sizeof got[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_auto_fp32_block_16_seed_1_greedy),
        cmocka_unit_test(kv_tokens_round_up_to_whole_blocks),
        cmocka_unit_test(kv_bytes_hold_whole_blocks),
        cmocka_unit_test(kv_bytes_below_one_block_are_refused),
        cmocka_unit_test(kv_tokens_and_kv_bytes_together_are_refused),
        cmocka_unit_test(sim_default_kv_is_device_memory_left_by_the_weights),
        cmocka_unit_test(engine_default_kv_is_eight_full_length_sequences),
        cmocka_unit_test(bad_options_are_named),
        cmocka_unit_test(an_invalid_model_is_named),
        cmocka_unit_test(an_unknown_sim_device_is_named),
        cmocka_unit_test(a_checkpoint_of_another_shape_is_refused),
#ifndef DECODEBENCH_HAVE_CUDA
        cmocka_unit_test(cuda_is_unsupported_without_cuda),
        cmocka_unit_test(auto_is_the_cpu_without_cuda),
#endif
        cmocka_unit_test(steps_advance_the_sequence_and_take_blocks),
        cmocka_unit_test(sim_steps_report_modelled_time_and_tokens),
        cmocka_unit_test(malformed_items_are_refused_without_change),
        cmocka_unit_test(a_sequence_twice_in_one_step_is_refused),
        cmocka_unit_test(a_step_that_does_not_fit_changes_nothing),
        cmocka_unit_test(a_backend_failure_rolls_the_step_back),
        cmocka_unit_test(engine_cost_is_the_cost_model_of_its_options),
        cmocka_unit_test(the_same_seed_gives_the_same_sim_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
