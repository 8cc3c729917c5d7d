/* test_metrics_window.c — the measurement window (warmup by time and by request count, cooldown),
 * goodput and SLO attainment, aggregate SLO checks, peak output throughput over full 1 s buckets,
 * and the engine step summary. Hand-built event sequences; times in ms, MS() converts to ns.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "slo.h"

#define MS(x) ((int64_t)(x)*INT64_C(1000000))
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s = %.12g, expected %.12g", #a, a_, b_);         \
    } while (0)

static db_metrics *recorder(const db_metrics_config *cfg) {
    db_metrics *m = NULL;
    char err[256];
    if (db_metrics_create(cfg, &m, err, sizeof err) != 0) fail_msg("create: %s", err);
    return m;
}

static void ok(db_metrics *m, int rc) {
    if (rc != 0) fail_msg("recorder refused an event: %s", db_metrics_error(m));
}

/* Request id arrives at `at` ms and gets one token `after` ms later, then finishes. */
static void one_token(db_metrics *m, int64_t id, int64_t at, int64_t after) {
    ok(m, db_metrics_request_arrived(m, id, MS(at), 10, 1));
    ok(m, db_metrics_tokens_emitted(m, id, MS(at + after), 1));
    ok(m, db_metrics_request_finished(m, id, MS(at + after)));
}

static void warmup_by_time_excludes_requests_arriving_before_it(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.warmup_ns = MS(1000)});
    one_token(m, 0, 500, 100);
    one_token(m, 1, 1000, 100); /* arriving exactly at the warmup's end counts */
    one_token(m, 2, 1500, 100);
    ok(m, db_metrics_finish(m, MS(1600)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->window_start_ns, MS(1000));
    assert_int_equal(s->arrived, 3);
    assert_int_equal(s->excluded_warmup, 1);
    assert_int_equal(s->counted, 2);
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 2);
    /* span from 1000 ms to the last counted finish at 1600 ms: 0.6 s for 2 requests */
    assert_near(s->duration_s, 0.6, 1e-12);
    assert_near(s->request_throughput, 2 / 0.6, 1e-9);
    assert_false(db_metrics_request_at(m, 0)->in_window);
    assert_true(db_metrics_request_at(m, 1)->in_window);
    db_metrics_free(m);
}

static void warmup_by_request_count_starts_the_window_at_the_next_arrival(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.warmup_requests = 2});
    for (int i = 0; i < 4; i++)
        one_token(m, i, 100 * i, 50);
    ok(m, db_metrics_finish(m, MS(350)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* the first two arrivals (0, 100 ms) are warmup; the third arrives at 200 ms */
    assert_int_equal(s->window_start_ns, MS(200));
    assert_int_equal(s->excluded_warmup, 2);
    assert_int_equal(s->completed, 2);
    assert_near(s->duration_s, 0.15, 1e-12); /* 200 ms .. last finish at 350 ms */
    db_metrics_free(m);
}

static void warmup_by_time_and_count_ends_at_the_later_of_the_two(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.warmup_ns = MS(250), .warmup_requests = 1});
    for (int i = 0; i < 4; i++)
        one_token(m, i, 100 * i, 50);
    ok(m, db_metrics_finish(m, MS(350)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* count alone would start at 100 ms (second arrival); time says 250 ms: max is 250 ms */
    assert_int_equal(s->window_start_ns, MS(250));
    assert_int_equal(s->completed, 1); /* only the arrival at 300 ms */
    db_metrics_free(m);
}

static void fewer_arrivals_than_the_warmup_count_leave_the_window_empty(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.warmup_requests = 5});
    for (int i = 0; i < 3; i++)
        one_token(m, i, 100 * i, 50);
    ok(m, db_metrics_finish(m, MS(250)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->counted, 0);
    assert_int_equal(s->excluded_warmup, 3);
    assert_near(s->duration_s, 0, 0);
    assert_near(s->request_throughput, 0, 0);
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 0);
    db_metrics_free(m);
}

static void cooldown_excludes_requests_arriving_in_the_last_seconds_of_arrivals(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.cooldown_ns = MS(1000)});
    int64_t at[] = {0, 1000, 2000, 2500, 3000};
    for (int i = 0; i < 5; i++)
        one_token(m, i, at[i], 50);
    ok(m, db_metrics_finish(m, MS(3050)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* last arrival 3000 ms - cooldown 1000 ms = window end 2000 ms (inclusive) */
    assert_int_equal(s->window_end_ns, MS(2000));
    assert_int_equal(s->counted, 3);
    assert_int_equal(s->excluded_cooldown, 2);
    /* the first request finished before it was known to be in; it still counts once */
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 3);
    assert_int_equal(s->total_output_tokens, 3);
    assert_near(s->duration_s, 2.05, 1e-12); /* 0 .. finish of the 2000 ms arrival at 2050 ms */
    assert_false(db_metrics_request_at(m, 3)->in_window);
    db_metrics_free(m);
}

static void failures_outside_the_window_are_counted_apart(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.warmup_ns = MS(100)});
    ok(m, db_metrics_request_arrived(m, 0, 0, 10, 1));
    ok(m, db_metrics_request_failed(m, 0, MS(10), "kv exhausted"));
    ok(m, db_metrics_request_arrived(m, 1, MS(200), 10, 1));
    ok(m, db_metrics_request_failed(m, 1, MS(210), "kv exhausted"));
    ok(m, db_metrics_finish(m, MS(210)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->failed, 1);
    assert_int_equal(s->failures[0].count, 1);
    assert_int_equal(s->failed_outside_window, 1);
    db_metrics_free(m);
}

/* Five requests at 0 ms under ttft <= 150 ms and tpot <= 25 ms:
 *   0: tokens 100, 120, 140   TTFT 100, TPOT 20        good
 *   1: tokens 200, 210        TTFT 200 (> 150), TPOT 10 bad
 *   2: tokens 100, 130, 160   TTFT 100, TPOT 30 (> 25)  bad
 *   3: token 120              TTFT 120, no TPOT         good (nothing to violate)
 *   4: failed at 50 ms                                  bad (counts in attainment) */
static db_metrics *slo_run(const char *spec) {
    db_slo_set slo;
    char err[256];
    if (db_slo_parse(spec, &slo, err, sizeof err) != 0) fail_msg("%s", err);
    db_metrics *m = recorder(&(db_metrics_config){.slo = &slo});
    static const int64_t tokens[4][3] = {
        {100, 120, 140}, {200, 210, -1}, {100, 130, 160}, {120, -1, -1}};
    for (int i = 0; i < 5; i++)
        ok(m, db_metrics_request_arrived(m, i, 0, 10, 3));
    for (int i = 0; i < 4; i++) {
        int64_t last = 0;
        for (int j = 0; j < 3 && tokens[i][j] >= 0; j++) {
            ok(m, db_metrics_tokens_emitted(m, i, MS(tokens[i][j]), 1));
            last = tokens[i][j];
        }
        ok(m, db_metrics_request_finished(m, i, MS(last)));
    }
    ok(m, db_metrics_request_failed(m, 4, MS(50), "engine error"));
    ok(m, db_metrics_finish(m, MS(210)));
    return m;
}

static void goodput_counts_requests_meeting_every_objective(void **state) {
    db_metrics *m = slo_run("ttft:150ms,tpot:25ms");
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_true(s->has_slo);
    assert_int_equal(s->good_requests, 2);      /* requests 0 and 3 */
    assert_int_equal(s->good_output_tokens, 4); /* 3 + 1 */
    assert_int_equal(s->met[DB_LAT_TTFT], 3);   /* 0, 2, 3 */
    assert_int_equal(s->met[DB_LAT_TPOT], 3);   /* 0, 1, 3 */
    /* span 0 .. 210 ms (request 1's last token) */
    assert_near(s->request_goodput, 2 / 0.21, 1e-9);
    assert_near(s->output_token_goodput, 4 / 0.21, 1e-9);
    /* attainment: 2 good of 4 completed + 1 failed */
    assert_near(s->slo_attainment, 0.4, 1e-12);
    assert_true(db_metrics_request_at(m, 0)->meets_slo);
    assert_false(db_metrics_request_at(m, 2)->meets_slo);
    db_metrics_free(m);
}

static void aggregate_objectives_are_checked_against_window_histograms(void **state) {
    db_metrics *m = slo_run("p99_ttft:150ms,p50_ttft:150ms,mean_tpot:25ms");
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_false(s->has_slo); /* no per-request objective given */
    assert_int_equal(s->n_checks, 3);
    /* TTFTs 100, 200, 100, 120: p99 -> the 4th value, 200 ms at HDR precision: 2e8 >> 17 = 1525,
     * highest equivalent 1526 * 131072 - 1 = 200015871 > 150 ms: fail */
    assert_int_equal(s->checks[0].value_ns, 200015871);
    assert_false(s->checks[0].pass);
    /* p50: target ceil(0.5 * 4) = 2nd value = 100 ms -> 100007935 <= 150 ms: pass */
    assert_int_equal(s->checks[1].value_ns, 100007935);
    assert_true(s->checks[1].pass);
    /* mean TPOT of 20, 10, 30 = 20 ms exactly: pass */
    assert_int_equal(s->checks[2].value_ns, MS(20));
    assert_true(s->checks[2].pass);
    db_metrics_free(m);
}

static void peak_output_throughput_uses_full_one_second_buckets(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){0});
    ok(m, db_metrics_request_arrived(m, 0, 0, 10, 18));
    int64_t first[] = {200, 400, 600, 1100, 1200, 1300, 1400, 1500};
    for (int i = 0; i < 8; i++)
        ok(m, db_metrics_tokens_emitted(m, 0, MS(first[i]), 1));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(2400), 10));
    ok(m, db_metrics_request_finished(m, 0, MS(2500)));
    ok(m, db_metrics_finish(m, MS(2500)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* span 2.5 s: full buckets [0,1) with 3 tokens and [1,2) with 5; the partial [2,2.5) with 10 is
     * not a full second and is left out. Peak 5 tok/s; the mean is 18 / 2.5 = 7.2 tok/s. */
    assert_int_equal(s->peak_buckets, 2);
    assert_near(s->peak_output_throughput, 5.0, 1e-12);
    assert_near(s->output_throughput, 7.2, 1e-12);
    db_metrics_free(m);
}

static void peak_buckets_start_at_the_window_start(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.warmup_ns = MS(500)});
    ok(m, db_metrics_request_arrived(m, 0, MS(500), 10, 3));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(1400), 1)); /* bucket [0.5, 1.5) s */
    ok(m, db_metrics_tokens_emitted(m, 0, MS(1600), 1)); /* bucket [1.5, 2.5) s */
    ok(m, db_metrics_tokens_emitted(m, 0, MS(1700), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(2600)));
    ok(m, db_metrics_finish(m, MS(2600)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* aligned to 0 s, [1, 2) would hold all 3 tokens; aligned to the window start the peak is 2 */
    assert_int_equal(s->peak_buckets, 2);
    assert_near(s->peak_output_throughput, 2.0, 1e-12);
    db_metrics_free(m);
}

static void a_span_shorter_than_one_second_has_no_peak(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){0});
    one_token(m, 0, 0, 300);
    ok(m, db_metrics_finish(m, MS(300)));
    assert_int_equal(db_metrics_summary_get(m)->peak_buckets, 0);
    assert_near(db_metrics_summary_get(m)->peak_output_throughput, -1, 0);
    db_metrics_free(m);
}

static db_step_event step(int64_t index, int64_t start_ms, int64_t dur_ms, int batch, int prefill,
                          int decode, int kv_used, double host, double dev, double flops,
                          double bytes) {
    return (db_step_event){index,   MS(start_ms), MS(dur_ms), batch, prefill, decode,
                           kv_used, 100,          host,       dev,   flops,   bytes};
}

static void step_summary_gives_achieved_rates_intensity_mfu_and_mbu(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){.peak_flops = 1e15, .peak_bytes_per_s = 1e12});
    one_token(m, 0, 0, 100);
    db_step_event a = step(0, 0, 10, 2, 100, 0, 10, 0.001, 0.009, 1e12, 1e10);
    db_step_event b = step(1, 10, 30, 4, 0, 4, 40, 0.002, 0.028, 3e12, 1e10);
    db_step_event late = step(2, 200, 10, 1, 0, 1, 50, 0, 0.01, 1e12, 1e10); /* after the span */
    ok(m, db_metrics_step(m, &a));
    ok(m, db_metrics_step(m, &b));
    ok(m, db_metrics_step(m, &late));
    ok(m, db_metrics_finish(m, MS(210)));
    const db_engine_summary *e = &db_metrics_summary_get(m)->engine;
    assert_int_equal(e->steps, 2);
    assert_near(e->mean_step_s, 0.02, 1e-15); /* (10 + 30) / 2 ms */
    assert_near(e->mean_batch_size, 3, 0);    /* (2 + 4) / 2 */
    assert_near(e->mean_host_overhead_s, 0.0015, 1e-15);
    assert_near(e->mean_device_s, 0.0185, 1e-15);
    assert_int_equal(e->prefill_tokens, 100);
    assert_int_equal(e->decode_tokens, 4);
    assert_near(e->achieved_flops_per_s, 1e14, 1e2); /* 4e12 FLOP / 0.04 s */
    assert_near(e->achieved_bytes_per_s, 5e11, 1);   /* 2e10 B / 0.04 s */
    assert_near(e->arithmetic_intensity, 200, 1e-9); /* 4e12 / 2e10 FLOP/B */
    assert_near(e->mfu, 0.1, 1e-12);                 /* 1e14 / 1e15 */
    assert_near(e->mbu, 0.5, 1e-12);                 /* 5e11 / 1e12 */
    assert_near(e->peak_kv_utilisation, 0.4, 1e-12); /* 40 / 100 blocks */
    assert_int_equal(db_metrics_step_count(m), 3);   /* steps.csv still gets all three */
    db_metrics_free(m);
}

static void mfu_and_mbu_are_absent_without_peaks(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){0});
    one_token(m, 0, 0, 100);
    db_step_event a = step(0, 0, 10, 1, 10, 0, 1, 0, 0.01, 1e9, 1e9);
    ok(m, db_metrics_step(m, &a));
    ok(m, db_metrics_finish(m, MS(100)));
    assert_near(db_metrics_summary_get(m)->engine.mfu, -1, 0);
    assert_near(db_metrics_summary_get(m)->engine.mbu, -1, 0);
    db_metrics_free(m);
}

static void a_step_with_a_negative_field_is_refused(void **state) {
    db_metrics *m = recorder(&(db_metrics_config){0});
    db_step_event a = step(4, 0, -1, 1, 10, 0, 1, 0, 0.01, 1e9, 1e9);
    assert_int_equal(db_metrics_step(m, &a), -1);
    assert_non_null(strstr(db_metrics_error(m), "step 4"));
    db_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(warmup_by_time_excludes_requests_arriving_before_it),
        cmocka_unit_test(warmup_by_request_count_starts_the_window_at_the_next_arrival),
        cmocka_unit_test(warmup_by_time_and_count_ends_at_the_later_of_the_two),
        cmocka_unit_test(fewer_arrivals_than_the_warmup_count_leave_the_window_empty),
        cmocka_unit_test(cooldown_excludes_requests_arriving_in_the_last_seconds_of_arrivals),
        cmocka_unit_test(failures_outside_the_window_are_counted_apart),
        cmocka_unit_test(goodput_counts_requests_meeting_every_objective),
        cmocka_unit_test(aggregate_objectives_are_checked_against_window_histograms),
        cmocka_unit_test(peak_output_throughput_uses_full_one_second_buckets),
        cmocka_unit_test(peak_buckets_start_at_the_window_start),
        cmocka_unit_test(a_span_shorter_than_one_second_has_no_peak),
        cmocka_unit_test(step_summary_gives_achieved_rates_intensity_mfu_and_mbu),
        cmocka_unit_test(mfu_and_mbu_are_absent_without_peaks),
        cmocka_unit_test(a_step_with_a_negative_field_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
