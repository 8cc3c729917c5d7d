/* test_sweep_step.c — one decode-step point (harness/sweep_step.h) and the sweep loop around it
 * (harness/sweep.h): timing source, cost, failures recorded and the sweep going on, shards and
 * skipped points. Sim backend, plus the tiny model on the CPU. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "sweep.h"
#include "sweep_step.h"

static db_engine *open_engine(db_backend_kind b, const char *model, db_precision p,
                              int64_t kv_tokens) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = b;
    assert_int_equal(db_model_preset(model, &o.model), 0);
    o.precision = p;
    o.kv_dtype = b == DB_BACKEND_CPU ? DB_KV_FP32 : DB_KV_BF16;
    o.kv_tokens = kv_tokens;
    o.sim_device = "h100-sxm";
    o.threads = 1;
    db_engine *e;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) fail_msg("%s", err.msg);
    return e;
}

/* llama2-7b bf16 batch 1 on h100-sxm is memory-bound in every class (engine notes, test_sim.c), so
 * a step takes 30 us + bytes / 3.35 TB/s: 13,215,227,904 weight bytes (engine notes) + the KV cache
 * + activations, about 3.980 ms. Context 8 with 1 warm-up step: the timed steps sit at positions
 * 9, 10, 11 and read 10, 11, 12 tokens of KV, 11 on average, at 32 layers x 2 (K, V) x 4096 x 2
 * bytes = 524,288 bytes per token. */
static void sim_point_time_is_the_modelled_step_time(void **state) {
    db_engine *e = open_engine(DB_BACKEND_SIM, "llama2-7b", DB_PREC_BF16, 4096);
    db_step_point_opts o = {.batch = 1, .context = 8, .warmup = 1, .steps = 3, .seed = 1};
    db_step_point_result r;
    db_error err;
    assert_int_equal(db_step_point_run(e, &o, &r, &err), DB_OK);
    assert_true(fabs(r.cost.kv_read_bytes - 11 * 524288.0) < 1e-3);
    assert_true(fabs(r.step_s - (30e-6 + r.cost.total_bytes / 3.35e12)) < 1e-12);
    assert_true(fabs(r.step_s - 3.980e-3) < 0.001e-3);
    assert_true(r.step_s_min <= r.step_s && r.step_s <= r.step_s_max);
    /* one decode token per sequence per step; weights read once */
    assert_int_equal(r.cost.decode_tokens, 1);
    assert_int_equal(r.cost.prefill_tokens, 0);
    assert_true(fabs(r.cost.weight_bytes - 13215227904.0) < 1.0);
    /* every sequence was freed */
    assert_int_equal(db_engine_kv_free_blocks(e), db_engine_kv_total_blocks(e));
    db_engine_close(e);
}

/* 4 sequences of 16 + 0 + 1 = 17 tokens need 4 x 2 blocks of 16; a 96-token pool has 6. */
static void point_larger_than_the_kv_pool_fails_before_any_work(void **state) {
    db_engine *e = open_engine(DB_BACKEND_SIM, "llama2-7b", DB_PREC_BF16, 96);
    db_step_point_opts o = {.batch = 4, .context = 16, .warmup = 0, .steps = 1};
    db_step_point_result r;
    db_error err;
    assert_int_equal(db_step_point_run(e, &o, &r, &err), DB_ERR_KV_FULL);
    assert_non_null(strstr(err.msg, "need 8 blocks of 16 tokens, 6 of 6 are free"));
    assert_int_equal(db_engine_kv_free_blocks(e), 6);
    db_engine_close(e);
}

/* tiny: max_seq_len 512. 500 + 10 + 5 = 515 tokens do not fit. */
static void point_longer_than_the_model_context_is_refused(void **state) {
    db_engine *e = open_engine(DB_BACKEND_SIM, "tiny", DB_PREC_BF16, 4096);
    db_step_point_opts o = {.batch = 1, .context = 500, .warmup = 10, .steps = 5};
    db_step_point_result r;
    db_error err;
    assert_int_equal(db_step_point_run(e, &o, &r, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "515 tokens exceed the model's max_seq_len 512"));
    db_engine_close(e);
}

/* The CPU runs real steps: 3 sequences prefilled with chunks of at most 5 tokens (so a sequence's
 * prompt spans steps), then timed; times are measured and positive. */
static void cpu_point_runs_real_steps_with_chunked_prefill(void **state) {
    db_engine *e = open_engine(DB_BACKEND_CPU, "tiny", DB_PREC_FP32, 256);
    db_step_point_opts o = {
        .batch = 3, .context = 12, .warmup = 1, .steps = 2, .prefill_step_tokens = 5, .seed = 7};
    db_step_point_result r;
    db_error err;
    if (db_step_point_run(e, &o, &r, &err) != DB_OK) fail_msg("%s", err.msg);
    assert_true(r.step_s > 0);
    assert_true(r.prefill_s > 0);
    assert_int_equal(r.cost.decode_tokens, 3);
    assert_int_equal(db_engine_kv_free_blocks(e), db_engine_kv_total_blocks(e));
    db_engine_close(e);
}

/* ---- the sweep loop ------------------------------------------------------------------------- */

typedef struct seen {
    int rows, failed;
    size_t points[64];
    int skip_batch; /* skip() claims points of this batch */
} seen;

static int on_row(void *ctx, const db_sweep_row *r) {
    seen *s = ctx;
    s->points[s->rows++] = r->point;
    s->failed += !r->ok;
    if (!r->ok) assert_true(r->error[0] != '\0');
    return 0;
}

static int skip_batch(void *ctx, const db_sweep_row *r) {
    return r->batch == ((seen *)ctx)->skip_batch;
}

static db_sweep_config sim_config(int64_t *batches, int nb, int64_t *ctx) {
    db_sweep_config c = {.backend = DB_BACKEND_SIM,
                         .sim_device = "h100-sxm",
                         .device_label = "h100-sxm",
                         .grid = {.precisions = {DB_PREC_BF16},
                                  .n_precisions = 1,
                                  .kv_dtypes = {DB_KV_BF16},
                                  .n_kv_dtypes = 1,
                                  .contexts = ctx,
                                  .n_contexts = 1,
                                  .batches = batches,
                                  .n_batches = nb},
                         .warmup_steps = 0,
                         .steps = 1,
                         .shard_count = 1};
    assert_int_equal(db_model_preset("llama2-7b", &c.model), 0);
    return c;
}

/* A 200-token KV pool: batch 1 and 2 (17 tokens = 2 blocks each) fit, batch 8 does not; its row is
 * failed with the reason and the point after it still runs. */
static void failed_points_are_recorded_and_the_sweep_goes_on(void **state) {
    int64_t batches[] = {1, 8, 2}, ctx[] = {16};
    db_sweep_config c = sim_config(batches, 3, ctx);
    c.kv_tokens = 200;
    seen s = {0};
    db_sweep_callbacks cb = {.row = on_row, .ctx = &s};
    db_sweep_stats st;
    db_error err;
    assert_int_equal(db_sweep_run(&c, &cb, &st, &err), DB_OK);
    assert_int_equal(s.rows, 3);
    assert_int_equal(s.failed, 1);
    assert_int_equal(st.failed, 1);
    assert_int_equal(s.points[2], 2);
}

/* Shard 1/3 of 7 points runs indices 1 and 4; a skip() claiming batch 5 (index 4) leaves 1. */
static void shard_runs_every_nth_point_and_skip_claims_done_ones(void **state) {
    int64_t batches[] = {1, 2, 3, 4, 5, 6, 7}, ctx[] = {16};
    db_sweep_config c = sim_config(batches, 7, ctx);
    c.shard_index = 1;
    c.shard_count = 3;
    seen s = {.skip_batch = 5};
    db_sweep_callbacks cb = {.row = on_row, .skip = skip_batch, .ctx = &s};
    db_sweep_stats st;
    db_error err;
    assert_int_equal(db_sweep_run(&c, &cb, &st, &err), DB_OK);
    assert_int_equal(st.in_shard, 2);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(s.rows, 1);
    assert_int_equal(s.points[0], 1);
}

/* Without ceilings (cpu with no --ceilings) MFU, MBU and the predictions are undefined, and the
 * ceilings source says "none". */
static void rows_without_ceilings_leave_mfu_undefined(void **state) {
    int64_t batches[] = {1}, ctx[] = {4};
    db_sweep_config c = sim_config(batches, 1, ctx);
    db_sweep_point p;
    db_sweep_grid_point(&c.grid, 0, &p);
    db_sweep_row r;
    db_sweep_row_inputs(&c, &p, &r);
    assert_string_equal(r.ceilings_source, "none");
    assert_true(isnan(r.mfu) && isnan(r.pred.crossover_batch) && isnan(r.peak_flops));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sim_point_time_is_the_modelled_step_time),
        cmocka_unit_test(point_larger_than_the_kv_pool_fails_before_any_work),
        cmocka_unit_test(point_longer_than_the_model_context_is_refused),
        cmocka_unit_test(cpu_point_runs_real_steps_with_chunked_prefill),
        cmocka_unit_test(failed_points_are_recorded_and_the_sweep_goes_on),
        cmocka_unit_test(shard_runs_every_nth_point_and_skip_claims_done_ones),
        cmocka_unit_test(rows_without_ceilings_leave_mfu_undefined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
