/* test_metrics_intervals.c — the recorder's interval histograms (metrics.h "interval histograms")
 * and per-request preemption counts. Each value lands in the interval (counted from the window
 * start) in which it was observed; the intervals tile [window start, span end]; summed over the
 * intervals every kind equals the window histogram count for count; warmup and cooldown exclude
 * the same requests as from the window; max_intervals widens the interval along 1, 2, 5, 10, ...
 * Hand-built event sequences; times in ms, MS() converts to ns.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define MS(x) ((int64_t)(x)*INT64_C(1000000))

static db_metrics *recorder(const db_metrics_config *cfg) {
    db_metrics *m = NULL;
    char err[256];
    if (db_metrics_create(cfg, &m, err, sizeof err) != 0) fail_msg("create: %s", err);
    return m;
}

static void ok(db_metrics *m, int rc) {
    if (rc != 0) fail_msg("recorder refused an event: %s", db_metrics_error(m));
}

static db_hdr new_hist(void) {
    db_hdr h;
    assert_int_equal(
        db_hdr_init(&h, DB_METRICS_HDR_LOWEST, DB_METRICS_HDR_HIGHEST, DB_METRICS_HDR_SIG_FIGS),
        DB_HDR_OK);
    return h;
}

/* Request id: arrives at `at`, scheduled at `sched`, tokens at tok[0..n), finishes at the last. */
static void request(db_metrics *m, int64_t id, int64_t at, int64_t sched, const int64_t *tok,
                    int n) {
    ok(m, db_metrics_request_arrived(m, id, MS(at), 10, n));
    ok(m, db_metrics_request_scheduled(m, id, MS(sched)));
    for (int i = 0; i < n; i++)
        ok(m, db_metrics_tokens_emitted(m, id, MS(tok[i]), 1));
    ok(m, db_metrics_request_finished(m, id, MS(tok[n - 1])));
}

/* Count of kind k in the cursor's interval. */
static int64_t count_in(const db_metrics *m, const db_interval_cursor *c, db_latency k) {
    db_hdr h = new_hist();
    int64_t n = db_metrics_interval_histogram(m, c, k, &h);
    assert_int_equal(n, h.total_count);
    db_hdr_close(&h);
    return n;
}

/* One request: arrives 0, scheduled 10, tokens at 100, 120, 140, 160, 180; intervals of 50 ms.
 * Observed: queue (10 ms) at 10 -> interval 0; TTFT (100 ms) at 100 -> interval 2; ITLs end at
 * 120, 140 -> interval 2 and at 160, 180 -> interval 3; TPOT, E2E, norm at 180 -> interval 3.
 * Interval 1 holds nothing and is skipped. The span is 0..180 ms: 4 intervals, the last 30 ms. */
static void each_value_lands_in_the_interval_in_which_it_was_observed(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){.interval_ns = MS(50)});
    request(m, 0, 0, 10, (const int64_t[]){100, 120, 140, 160, 180}, 5);
    ok(m, db_metrics_finish(m, MS(180)));
    const db_metrics_intervals *iv = db_metrics_intervals_get(m);
    assert_int_equal(iv->length_ns, MS(50));
    assert_int_equal(iv->widening, 1);
    assert_int_equal(iv->count, 4);
    db_interval_cursor c;
    db_metrics_interval_begin(m, &c);

    assert_true(db_metrics_interval_next(m, &c));
    assert_int_equal(c.index, 0);
    assert_int_equal(c.start_ns, 0);
    assert_int_equal(c.length_ns, MS(50));
    assert_int_equal(count_in(m, &c, DB_LAT_QUEUE), 1);
    assert_int_equal(count_in(m, &c, DB_LAT_TTFT), 0);

    assert_true(db_metrics_interval_next(m, &c));
    assert_int_equal(c.index, 2);
    assert_int_equal(c.start_ns, MS(100));
    assert_int_equal(count_in(m, &c, DB_LAT_TTFT), 1);
    assert_int_equal(count_in(m, &c, DB_LAT_ITL), 2);
    assert_int_equal(count_in(m, &c, DB_LAT_E2E), 0);
    assert_int_equal(count_in(m, &c, DB_LAT_QUEUE), 0);

    assert_true(db_metrics_interval_next(m, &c));
    assert_int_equal(c.index, 3);
    assert_int_equal(c.start_ns, MS(150));
    assert_int_equal(c.length_ns, MS(30)); /* the last interval ends at the span end, 180 ms */
    assert_int_equal(count_in(m, &c, DB_LAT_ITL), 2);
    assert_int_equal(count_in(m, &c, DB_LAT_TPOT), 1);
    assert_int_equal(count_in(m, &c, DB_LAT_E2E), 1);
    assert_int_equal(count_in(m, &c, DB_LAT_NORM), 1);
    assert_int_equal(count_in(m, &c, DB_LAT_TTFT), 0);

    assert_false(db_metrics_interval_next(m, &c));
    db_metrics_free(m);
}

/* Span 0..200 ms at 50 ms intervals: exactly 4; the E2E observed at 200 ms (the span end) belongs
 * to the last interval [150, 200], not to a fifth one of length 0. */
static void a_value_at_the_span_end_belongs_to_the_last_interval(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){.interval_ns = MS(50)});
    request(m, 0, 0, 0, (const int64_t[]){200}, 1);
    ok(m, db_metrics_finish(m, MS(200)));
    assert_int_equal(db_metrics_intervals_get(m)->count, 4);
    db_interval_cursor c;
    db_metrics_interval_begin(m, &c);
    assert_true(db_metrics_interval_next(m, &c)); /* queue 0 at 0 */
    assert_int_equal(c.index, 0);
    assert_true(db_metrics_interval_next(m, &c)); /* TTFT and E2E at 200 */
    assert_int_equal(c.index, 3);
    assert_int_equal(c.start_ns, MS(150));
    assert_int_equal(c.length_ns, MS(50));
    assert_int_equal(count_in(m, &c, DB_LAT_E2E), 1);
    assert_false(db_metrics_interval_next(m, &c));
    db_metrics_free(m);
}

/* Deterministic pseudo-random (splitmix64), so the sum test covers many shapes reproducibly. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* 400 requests over ~40 s with random lengths and gaps, warmup 3 s, cooldown 4 s, 700 ms
 * intervals: for every kind, adding all interval histograms gives the window histogram count for
 * count (so total count and max are equal), and no interval holds a sample of an excluded
 * request (the totals would exceed the window's). */
static void the_intervals_add_up_to_the_window_histogram(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){
        .interval_ns = MS(700), .warmup_ns = MS(3000), .cooldown_ns = MS(4000)});
    uint64_t rng = 42;
    int64_t t = 0;
    for (int id = 0; id < 400; id++) {
        t += (int64_t)(next_u64(&rng) % 200);
        int n = 1 + (int)(next_u64(&rng) % 20);
        int64_t tok[20], at = t + 1 + (int64_t)(next_u64(&rng) % 300);
        for (int i = 0; i < n; i++)
            tok[i] = (at += (int64_t)(next_u64(&rng) % 60));
        request(m, id, t, t + (int64_t)(next_u64(&rng) % 2), tok, n);
    }
    ok(m, db_metrics_finish(m, MS(t + 10000)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_true(s->excluded_warmup > 0 && s->excluded_cooldown > 0);
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        db_hdr sum = new_hist(), h = new_hist();
        db_interval_cursor c;
        db_metrics_interval_begin(m, &c);
        int64_t last = -1;
        while (db_metrics_interval_next(m, &c)) {
            assert_true(c.index > last && c.index < db_metrics_intervals_get(m)->count);
            last = c.index;
            db_metrics_interval_histogram(m, &c, (db_latency)k, &h);
            assert_int_equal(db_hdr_add(&sum, &h), 0);
        }
        const db_hdr *window = db_metrics_histogram(m, (db_latency)k);
        assert_true(window->total_count > 0);
        assert_int_equal(sum.total_count, window->total_count);
        assert_int_equal(db_hdr_max(&sum), db_hdr_max(window));
        assert_memory_equal(sum.counts, window->counts, sizeof *sum.counts * (size_t)sum.counts_len);
        db_hdr_close(&sum);
        db_hdr_close(&h);
    }
    db_metrics_free(m);
}

/* Warmup by request count: the window starts at the 3rd arrival (2.5 s), so interval 0 starts
 * there; the warmup requests' values (observed before) are in no interval. */
static void intervals_start_at_the_window_start_and_skip_warmup_requests(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){.interval_ns = MS(1000), .warmup_requests = 2});
    request(m, 0, 0, 0, (const int64_t[]){100}, 1);
    request(m, 1, 1000, 1000, (const int64_t[]){1100}, 1);
    request(m, 2, 2500, 2500, (const int64_t[]){2600, 3700}, 2);
    ok(m, db_metrics_finish(m, MS(3700)));
    /* span 2.5 .. 3.7 s: two intervals, [2.5, 3.5) and [3.5, 3.7] */
    assert_int_equal(db_metrics_intervals_get(m)->count, 2);
    db_interval_cursor c;
    db_metrics_interval_begin(m, &c);
    assert_true(db_metrics_interval_next(m, &c));
    assert_int_equal(c.start_ns, MS(2500));
    assert_int_equal(count_in(m, &c, DB_LAT_TTFT), 1); /* request 2's, at 2.6 s */
    assert_int_equal(count_in(m, &c, DB_LAT_QUEUE), 1);
    assert_true(db_metrics_interval_next(m, &c));
    assert_int_equal(c.start_ns, MS(3500));
    assert_int_equal(c.length_ns, MS(200));
    assert_int_equal(count_in(m, &c, DB_LAT_E2E), 1);
    assert_false(db_metrics_interval_next(m, &c));
    db_metrics_free(m);
}

/* 1 s intervals, at most 10, over a 25 s span: 25 > 10 at x1, 13 > 10 at x2, 5 <= 10 at x5. */
static void max_intervals_widens_the_interval_along_the_ladder(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){.interval_ns = MS(1000), .max_intervals = 10});
    request(m, 0, 0, 0, (const int64_t[]){4900, 5000, 25000}, 3);
    ok(m, db_metrics_finish(m, MS(25000)));
    const db_metrics_intervals *iv = db_metrics_intervals_get(m);
    assert_int_equal(iv->widening, 5);
    assert_int_equal(iv->length_ns, MS(5000));
    assert_int_equal(iv->count, 5);
    db_interval_cursor c;
    db_metrics_interval_begin(m, &c);
    assert_true(db_metrics_interval_next(m, &c)); /* queue at 0, TTFT at 4.9 s, ITL 0.1 s */
    assert_int_equal(c.index, 0);
    assert_int_equal(count_in(m, &c, DB_LAT_TTFT), 1);
    assert_int_equal(count_in(m, &c, DB_LAT_ITL), 0); /* the 4.9 -> 5.0 s gap ends at 5.0 s */
    assert_true(db_metrics_interval_next(m, &c));
    assert_int_equal(c.index, 1);
    assert_int_equal(count_in(m, &c, DB_LAT_ITL), 1);
    assert_true(db_metrics_interval_next(m, &c)); /* the last token at 25 s, the span end */
    assert_int_equal(c.index, 4);
    assert_int_equal(count_in(m, &c, DB_LAT_E2E), 1);
    assert_false(db_metrics_interval_next(m, &c));
    db_metrics_free(m);
}

/* A 1-hour span at 1 s with at most 1000: 3600 at x1, 1800 at x2, 720 <= 1000 at x5. */
static void an_hour_long_span_at_one_second_widens_to_five_seconds(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){.interval_ns = MS(1000), .max_intervals = 1000});
    request(m, 0, 0, 0, (const int64_t[]){3600000}, 1);
    ok(m, db_metrics_finish(m, MS(3600000)));
    assert_int_equal(db_metrics_intervals_get(m)->widening, 5);
    assert_int_equal(db_metrics_intervals_get(m)->length_ns, MS(5000));
    assert_int_equal(db_metrics_intervals_get(m)->count, 720);
    db_metrics_free(m);
}

static void without_an_interval_length_no_intervals_are_kept(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){0});
    request(m, 0, 0, 0, (const int64_t[]){100}, 1);
    ok(m, db_metrics_finish(m, MS(100)));
    assert_int_equal(db_metrics_intervals_get(m)->count, 0);
    db_interval_cursor c;
    db_metrics_interval_begin(m, &c);
    assert_false(db_metrics_interval_next(m, &c));
    db_metrics_free(m);
}

static void a_negative_interval_length_is_refused(void **state) {
    (void)state;
    db_metrics *m = NULL;
    char err[256];
    assert_int_equal(
        db_metrics_create(&(db_metrics_config){.interval_ns = -1}, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "interval length is negative"));
    assert_int_equal(
        db_metrics_create(&(db_metrics_config){.max_intervals = -1}, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "maximum interval count is negative"));
}

/* ---- preemptions ----------------------------------------------------------------------------- */

static void each_preemption_of_a_request_is_counted_in_its_record(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){0});
    ok(m, db_metrics_request_arrived(m, 0, 0, 10, 2));
    ok(m, db_metrics_request_arrived(m, 1, 0, 10, 2));
    ok(m, db_metrics_request_scheduled(m, 0, MS(1)));
    ok(m, db_metrics_request_preempted(m, 0, MS(5)));
    ok(m, db_metrics_request_scheduled(m, 0, MS(6)));
    ok(m, db_metrics_request_preempted(m, 0, MS(9)));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(20), 2));
    ok(m, db_metrics_request_finished(m, 0, MS(20)));
    ok(m, db_metrics_finish(m, MS(20)));
    assert_int_equal(db_metrics_request_at(m, 0)->preemptions, 2);
    assert_int_equal(db_metrics_request_at(m, 1)->preemptions, 0);
    db_metrics_free(m);
}

static void a_preemption_before_the_request_was_scheduled_is_refused(void **state) {
    (void)state;
    db_metrics *m = recorder(&(db_metrics_config){0});
    ok(m, db_metrics_request_arrived(m, 3, MS(10), 10, 2));
    assert_int_equal(db_metrics_request_preempted(m, 3, MS(11)), -1);
    assert_string_equal(db_metrics_error(m),
                        "preemption of request 3 at 11000000 ns: the request was not scheduled "
                        "before");
    assert_int_equal(db_metrics_request_preempted(m, 4, MS(11)), -1);
    assert_string_equal(db_metrics_error(m), "preemption for request 4: no such request has arrived");
    db_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_value_lands_in_the_interval_in_which_it_was_observed),
        cmocka_unit_test(a_value_at_the_span_end_belongs_to_the_last_interval),
        cmocka_unit_test(the_intervals_add_up_to_the_window_histogram),
        cmocka_unit_test(intervals_start_at_the_window_start_and_skip_warmup_requests),
        cmocka_unit_test(max_intervals_widens_the_interval_along_the_ladder),
        cmocka_unit_test(an_hour_long_span_at_one_second_widens_to_five_seconds),
        cmocka_unit_test(without_an_interval_length_no_intervals_are_kept),
        cmocka_unit_test(a_negative_interval_length_is_refused),
        cmocka_unit_test(each_preemption_of_a_request_is_counted_in_its_record),
        cmocka_unit_test(a_preemption_before_the_request_was_scheduled_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
