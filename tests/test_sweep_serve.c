/* test_sweep_serve.c — serve sweeps (harness/sweep_serve.h, harness/sweep.h serve mode), rate lists
 * (harness/sweep_grid.h) and the capacity search (harness/capacity.h), on the sim backend's virtual
 * clock (deterministic, seconds of traffic in milliseconds). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capacity.h"
#include "model.h"
#include "sweep.h"

static char err[512];

static void rate_ranges_are_computed_not_accumulated(void **state) {
    double *v;
    int n;
    assert_int_equal(
        db_sweep_parse_numbers("--rate", "0.5..4x2", 1e-6, 1e9, &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_true(v[0] == 0.5 && v[3] == 4.0);
    free(v);
    /* 1 + i * 0.1 for i = 0..10: 2.0 is reached although 0.1 is inexact in binary */
    assert_int_equal(
        db_sweep_parse_numbers("--rate", "1..2+0.1", 1e-6, 1e9, &v, &n, err, sizeof err), 0);
    assert_int_equal(n, 11);
    assert_true(fabs(v[10] - 2.0) < 1e-12);
    free(v);
    assert_int_equal(db_sweep_parse_numbers("--rate", "1..8x1", 1e-6, 1e9, &v, &n, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "factor > 1"));
    assert_int_equal(db_sweep_parse_numbers("--rate", "0", 1e-6, 1e9, &v, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "outside"));
    assert_int_equal(db_sweep_parse_numbers("--rate", "2,x", 1e-6, 1e9, &v, &n, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "bad item 'x'"));
}

/* Serve grid: precision, KV dtype, then every rate and every concurrency. 2 x 1 x (2 + 1) = 6. */
static void serve_grid_puts_loads_innermost(void **state) {
    double rates[] = {1, 2};
    int64_t conc[] = {8};
    db_sweep_grid g = {.precisions = {DB_PREC_BF16, DB_PREC_INT8},
                       .n_precisions = 2,
                       .kv_dtypes = {DB_KV_BF16},
                       .n_kv_dtypes = 1,
                       .serve = 1,
                       .rates = rates,
                       .n_rates = 2,
                       .concurrencies = conc,
                       .n_concurrencies = 1};
    assert_int_equal(db_sweep_grid_size(&g), 6);
    db_sweep_point p;
    db_sweep_grid_point(&g, 2, &p);
    assert_int_equal(p.concurrency, 8);
    assert_true(p.rate == 0);
    db_sweep_grid_point(&g, 4, &p);
    assert_int_equal(p.precision, DB_PREC_INT8);
    assert_true(p.rate == 2);
}

static db_sweep_config serve_config(db_slo_set *slo, const char *slo_text) {
    db_sweep_config c = {.backend = DB_BACKEND_SIM,
                         .sim_device = "h100-sxm",
                         .device_label = "h100-sxm",
                         .seed = 1,
                         .shard_count = 1,
                         .requests = 40,
                         .issue_s = 10,
                         .prompt_len = "fixed:64",
                         .output_len = "fixed:32",
                         .grid = {.serve = 1}};
    assert_int_equal(db_model_preset("llama2-7b", &c.model), 0);
    db_sched_opts_default(&c.sched);
    db_slo_init(slo);
    if (slo_text) {
        assert_int_equal(db_slo_parse(slo_text, slo, err, sizeof err), 0);
        c.slo = slo;
        c.slo_text = slo_text;
    }
    return c;
}

static db_sweep_row *serve_row(const db_sweep_config *c, double rate, int64_t conc) {
    db_engine *e;
    db_error e_err;
    assert_int_equal(db_sweep_open_engine(c, DB_PREC_BF16, DB_KV_BF16, 0, &e, &e_err), DB_OK);
    static db_sweep_row row;
    db_sweep_point p = {
        .precision = DB_PREC_BF16, .kv_dtype = DB_KV_BF16, .rate = rate, .concurrency = conc};
    int dirty = 1;
    db_sweep_serve_row(c, e, &p, c->seed, &row, &dirty);
    assert_int_equal(dirty, 0); /* every KV block is back */
    db_engine_close(e);
    if (!row.ok) fail_msg("%s", row.error);
    return &row;
}

/* One request in flight: every decode step has batch 1, so TPOT is the sim's batch-1 step time,
 * about 13.2 GB / 3.35 TB/s + 30 us = 3.98 ms (engine notes), and the per-user speed is its
 * inverse, 1000 / mean TPOT. */
static void single_user_speed_is_the_inverse_of_tpot(void **state) {
    db_slo_set slo;
    db_sweep_config c = serve_config(&slo, NULL);
    db_sweep_row *r = serve_row(&c, 0, 1);
    assert_string_equal(r->mode, "serve");
    assert_int_equal(r->serve.completed, 40);
    assert_true(fabs(r->serve.mean_tpot_ms - 3.98) < 0.02);
    assert_true(fabs(r->serve.output_tokens_per_s_per_user - 1000 / r->serve.mean_tpot_ms) < 1e-9);
    assert_true(fabs(r->serve.mean_batch - 1.0) < 1e-9);
    assert_true(isnan(r->serve.slo_attainment) && isnan(r->serve.request_goodput));
}

/* Poisson at 2 requests/s for 10 s of arrivals: about 20 requests, a throughput near 2/s (Poisson
 * counts over 10 s vary by about sqrt(20) / 20 = 22%, so 35% bounds it for this seed). */
static void rate_point_throughput_follows_the_rate(void **state) {
    db_slo_set slo;
    db_sweep_config c = serve_config(&slo, NULL);
    c.requests = 0;
    db_sweep_row *r = serve_row(&c, 2.0, 0);
    assert_true(r->serve.completed > 8 && r->serve.completed < 40);
    assert_true(fabs(r->serve.request_throughput / 2.0 - 1) < 0.35);
}

/* A lenient SLO is met by every request (goodput = throughput); an impossible one by none. */
static void goodput_and_attainment_follow_the_slo(void **state) {
    db_slo_set slo;
    db_sweep_config c = serve_config(&slo, "ttft:10s,tpot:1s");
    db_sweep_row *r = serve_row(&c, 0, 4);
    assert_true(r->serve.slo_attainment == 1.0);
    assert_true(fabs(r->serve.request_goodput - r->serve.request_throughput) < 1e-9);
    c = serve_config(&slo, "tpot:1ms"); /* below the 3.98 ms step */
    r = serve_row(&c, 0, 4);
    assert_true(r->serve.slo_attainment == 0.0);
    assert_true(r->serve.request_goodput == 0.0);
}

/* ---- capacity search ------------------------------------------------------------------------- */

typedef struct rows_seen {
    int n;
    double rate[64];
    double attainment[64];
    uint64_t seed[64];
} rows_seen;

static int keep_row(void *ctx, const db_sweep_row *r) {
    rows_seen *s = ctx;
    assert_string_equal(r->mode, "search");
    if (s->n < 64) {
        s->rate[s->n] = r->rate;
        s->attainment[s->n] = r->serve.slo_attainment;
        s->seed[s->n] = r->seed;
    }
    s->n++;
    return 0;
}

/* The search brackets the capacity within the 5% tolerance: the reported rate met the target and
 * the reported failing rate missed it in the probes, every probe became a row, and the boundary was
 * rerun `repeats` times with seeds 2, 3. */
static void capacity_search_brackets_the_rate_within_the_tolerance(void **state) {
    db_slo_set slo;
    db_sweep_config c = serve_config(&slo, "ttft:200ms,tpot:20ms");
    c.requests = 0;
    db_capacity_opts o;
    db_capacity_opts_default(&o);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.target = 0.95;
    o.rate_lo = 4;
    o.rate_hi = 64;
    o.repeats = 2;
    rows_seen seen = {0};
    db_sweep_callbacks cb = {.row = keep_row, .ctx = &seen};
    db_capacity_result r;
    db_error e;
    if (db_capacity_search(&c, &o, &cb, &r, &e) != DB_OK) fail_msg("%s", e.msg);
    assert_int_equal(r.outcome, DB_CAPACITY_FOUND);
    assert_true(r.rate_fail - r.rate <= 0.05 * r.rate);
    assert_int_equal(seen.n, r.probes + 2);
    assert_int_equal(r.confirm_runs, 2);
    int found_meets = 0, found_fails = 0;
    for (int i = 0; i < r.probes; i++) {
        found_meets |= seen.rate[i] == r.rate && seen.attainment[i] >= 0.95;
        found_fails |= seen.rate[i] == r.rate_fail && seen.attainment[i] < 0.95;
    }
    assert_true(found_meets && found_fails);
    assert_true(seen.seed[r.probes] == 2 && seen.seed[r.probes + 1] == 3);
    assert_true(seen.rate[r.probes] == r.rate);
}

/* An SLO no request can meet (TPOT below the 3.98 ms step): the lowest rate misses, no search. */
static void capacity_below_the_lowest_rate_is_reported(void **state) {
    db_slo_set slo;
    db_sweep_config c = serve_config(&slo, "tpot:1ms");
    db_capacity_opts o;
    db_capacity_opts_default(&o);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    db_capacity_result r;
    db_error e;
    assert_int_equal(db_capacity_search(&c, &o, NULL, &r, &e), DB_OK);
    assert_int_equal(r.outcome, DB_CAPACITY_BELOW_LO);
    assert_int_equal(r.probes, 1);
    assert_true(isnan(r.rate));
}

static void capacity_needs_a_per_request_slo(void **state) {
    db_slo_set slo;
    db_sweep_config c = serve_config(&slo, NULL);
    db_capacity_opts o;
    db_capacity_opts_default(&o);
    db_capacity_result r;
    db_error e;
    assert_int_equal(db_capacity_search(&c, &o, NULL, &r, &e), DB_ERR_INVALID);
    assert_non_null(strstr(e.msg, "needs a per-request SLO"));
    c = serve_config(&slo, "ttft:1s");
    o.rate_hi = o.rate_lo;
    assert_int_equal(db_capacity_search(&c, &o, NULL, &r, &e), DB_ERR_INVALID);
    assert_non_null(strstr(e.msg, "0 < low < high"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_ranges_are_computed_not_accumulated),
        cmocka_unit_test(serve_grid_puts_loads_innermost),
        cmocka_unit_test(single_user_speed_is_the_inverse_of_tpot),
        cmocka_unit_test(rate_point_throughput_follows_the_rate),
        cmocka_unit_test(goodput_and_attainment_follow_the_slo),
        cmocka_unit_test(capacity_search_brackets_the_rate_within_the_tolerance),
        cmocka_unit_test(capacity_below_the_lowest_rate_is_reported),
        cmocka_unit_test(capacity_needs_a_per_request_slo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
