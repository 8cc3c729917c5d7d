/* test_metrics.c — the metrics recorder on hand-built event sequences: per-request latency
 * definitions (from the intended arrival), ITL for multi-token events, throughput, concurrency,
 * failures, event validation. Windows, goodput and the step summary are in test_metrics_window.c.
 * Times below are written in ms on the run clock; MS() converts to the recorder's ns.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define MS(x) ((int64_t)(x)*INT64_C(1000000))
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s = %.12g, expected %.12g", #a, a_, b_);         \
    } while (0)

static db_metrics *recorder(void) {
    db_metrics_config cfg = {0};
    db_metrics *m = NULL;
    char err[256];
    assert_int_equal(db_metrics_create(&cfg, &m, err, sizeof err), 0);
    return m;
}

static void ok(db_metrics *m, int rc) {
    if (rc != 0) fail_msg("recorder refused an event: %s", db_metrics_error(m));
}

/* One request with tokens at 100, 120, 140, 160, 180 ms after its arrival at 0 ms. */
static db_metrics *five_token_request(void) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 0, 0, 50, 5));
    ok(m, db_metrics_request_scheduled(m, 0, MS(10)));
    for (int i = 0; i < 5; i++)
        ok(m, db_metrics_tokens_emitted(m, 0, MS(100 + 20 * i), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(180)));
    ok(m, db_metrics_finish(m, MS(180)));
    return m;
}

static void five_token_request_has_ttft_100_tpot_20_and_four_itls_of_20(void **state) {
    db_metrics *m = five_token_request();
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* TTFT = 100 - 0; E2E = 180 - 0; TPOT = (180 - 100) / (5 - 1) = 20; queue = 10 - 0;
     * normalised = 180 / 5 = 36; ITLs 120-100, 140-120, 160-140, 180-160 = four of 20 ms. */
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 1);
    assert_near(s->latency[DB_LAT_TTFT].mean_ns, MS(100), 0);
    assert_near(s->latency[DB_LAT_E2E].mean_ns, MS(180), 0);
    assert_int_equal(s->latency[DB_LAT_TPOT].count, 1);
    assert_near(s->latency[DB_LAT_TPOT].mean_ns, MS(20), 0);
    assert_near(s->latency[DB_LAT_QUEUE].mean_ns, MS(10), 0);
    assert_near(s->latency[DB_LAT_NORM].mean_ns, MS(36), 0);
    assert_int_equal(s->latency[DB_LAT_ITL].count, 4);
    assert_near(s->latency[DB_LAT_ITL].mean_ns, MS(20), 0);
    assert_near(s->latency[DB_LAT_ITL].stddev_ns, 0, 0);
    db_metrics_free(m);
}

static void percentiles_are_hdr_highest_equivalent_values(void **state) {
    db_metrics *m = five_token_request();
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* 1e8 ns at 3 significant figures: 27 bits, bucket 16, sub-bucket 1e8 >> 16 = 1525, range
     * [1525 << 16, 1526 << 16) = [99942400, 100007936): highest equivalent 100007935. */
    assert_int_equal(s->latency[DB_LAT_TTFT].p50_ns, 100007935);
    assert_int_equal(s->latency[DB_LAT_TTFT].p999_ns, 100007935);
    assert_int_equal(s->latency[DB_LAT_TTFT].max_ns, 100007935);
    assert_int_equal(s->latency[DB_LAT_TTFT].min_ns, 99942400);
    /* 2e7 ns: 25 bits, bucket 14, sub 2e7 >> 14 = 1220, highest 1221 * 16384 - 1 = 20004863. */
    assert_int_equal(s->latency[DB_LAT_ITL].p99_ns, 20004863);
    assert_int_equal(db_hdr_count_at_value(db_metrics_histogram(m, DB_LAT_ITL), MS(20)), 4);
    db_metrics_free(m);
}

static void five_token_request_counts_and_throughput(void **state) {
    db_metrics *m = five_token_request();
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* window starts at 0 (no warmup), span ends at the finish, 180 ms: duration 0.18 s */
    assert_int_equal(s->completed, 1);
    assert_int_equal(s->total_input_tokens, 50);
    assert_int_equal(s->total_output_tokens, 5);
    assert_near(s->duration_s, 0.18, 1e-12);
    assert_near(s->request_throughput, 1 / 0.18, 1e-9);      /* 5.556 req/s */
    assert_near(s->output_throughput, 5 / 0.18, 1e-9);       /* 27.78 tok/s */
    assert_near(s->total_token_throughput, 55 / 0.18, 1e-9); /* (50 + 5) / 0.18 */
    /* Little's law: E2E 0.18 s of one request over 0.18 s = 1 request in the system on average */
    assert_near(s->mean_concurrency, 1.0, 1e-12);
    db_metrics_free(m);
}

static void event_emitting_three_tokens_records_its_gap_once_then_two_zero_itls(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 7, 0, 10, 5));
    ok(m, db_metrics_tokens_emitted(m, 7, MS(100), 1));
    ok(m, db_metrics_tokens_emitted(m, 7, MS(130), 3)); /* speculative step: 3 tokens at once */
    ok(m, db_metrics_tokens_emitted(m, 7, MS(150), 1));
    ok(m, db_metrics_request_finished(m, 7, MS(150)));
    ok(m, db_metrics_finish(m, MS(150)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* N = 5 tokens -> 4 ITLs: 30 (100 -> 130), 0, 0 (the other two at 130), 20 (130 -> 150);
     * they sum to E2E - TTFT = 50 ms, so their mean 12.5 ms equals TPOT = 50 / 4. */
    assert_int_equal(s->latency[DB_LAT_ITL].count, 4);
    assert_near(s->latency[DB_LAT_ITL].mean_ns, 12.5e6, 1e-6);
    assert_near(s->latency[DB_LAT_TPOT].mean_ns, 12.5e6, 1e-6);
    assert_int_equal(db_hdr_count_at_value(db_metrics_histogram(m, DB_LAT_ITL), 0), 2);
    assert_int_equal(db_metrics_request_at(m, 0)->max_itl_ns, MS(30));
    assert_int_equal(db_metrics_request_at(m, 0)->output_tokens, 5);
    db_metrics_free(m);
}

static void first_event_with_two_tokens_gives_ttft_and_one_zero_itl(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 0, MS(5), 10, 2));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(105), 2));
    ok(m, db_metrics_request_finished(m, 0, MS(105)));
    ok(m, db_metrics_finish(m, MS(105)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* TTFT = E2E = 105 - 5 = 100 ms; TPOT = (100 - 100) / (2 - 1) = 0; one ITL of 0 */
    assert_near(s->latency[DB_LAT_TTFT].mean_ns, MS(100), 0);
    assert_near(s->latency[DB_LAT_TPOT].mean_ns, 0, 0);
    assert_int_equal(s->latency[DB_LAT_ITL].count, 1);
    assert_int_equal(db_metrics_request_at(m, 0)->max_itl_ns, 0);
    db_metrics_free(m);
}

static void one_token_request_has_no_tpot_and_no_itl(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 0, 0, 10, 1));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(40), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(40)));
    ok(m, db_metrics_finish(m, MS(40)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 1);
    assert_int_equal(s->latency[DB_LAT_E2E].count, 1);
    assert_int_equal(s->latency[DB_LAT_TPOT].count, 0);
    assert_int_equal(s->latency[DB_LAT_ITL].count, 0);
    assert_int_equal(db_request_latency_ns(db_metrics_request_at(m, 0), DB_LAT_TPOT), -1);
    db_metrics_free(m);
}

static void latencies_count_from_intended_arrival_not_from_scheduling(void **state) {
    db_metrics *m = recorder();
    /* intended at 1000 ms; the system was busy and first scheduled it at 3000 ms */
    ok(m, db_metrics_request_arrived(m, 0, MS(1000), 10, 2));
    ok(m, db_metrics_request_scheduled(m, 0, MS(3000)));
    ok(m,
       db_metrics_request_scheduled(m, 0, MS(3200))); /* re-scheduled after preemption: ignored */
    ok(m, db_metrics_tokens_emitted(m, 0, MS(3500), 1));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(3600), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(3600)));
    ok(m, db_metrics_finish(m, MS(3600)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_near(s->latency[DB_LAT_QUEUE].mean_ns, MS(2000), 0); /* 3000 - 1000 */
    assert_near(s->latency[DB_LAT_TTFT].mean_ns, MS(2500), 0);  /* 3500 - 1000 */
    assert_near(s->latency[DB_LAT_E2E].mean_ns, MS(2600), 0);   /* 3600 - 1000 */
    db_metrics_free(m);
}

static void exact_mean_and_population_stddev_over_requests(void **state) {
    db_metrics *m = recorder();
    /* TTFTs 100, 200, 300, 400 ms: mean 250, population stddev sqrt((150^2+50^2+50^2+150^2)/4)
     * = sqrt(12500) = 111.803 ms */
    for (int i = 0; i < 4; i++) {
        ok(m, db_metrics_request_arrived(m, i, 0, 1, 1));
        ok(m, db_metrics_tokens_emitted(m, i, MS(100 * (i + 1)), 1));
        ok(m, db_metrics_request_finished(m, i, MS(100 * (i + 1))));
    }
    ok(m, db_metrics_finish(m, MS(400)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_near(s->latency[DB_LAT_TTFT].mean_ns, MS(250), 1e-3);
    assert_near(s->latency[DB_LAT_TTFT].stddev_ns, sqrt(12500.0) * 1e6, 1e-3);
    /* Little's law: E2Es 0.1 + 0.2 + 0.3 + 0.4 = 1.0 request-seconds over 0.4 s = 2.5 */
    assert_near(s->mean_concurrency, 2.5, 1e-12);
    db_metrics_free(m);
}

static void failed_requests_are_counted_by_reason_and_not_in_latencies(void **state) {
    db_metrics *m = recorder();
    for (int i = 0; i < 4; i++)
        ok(m, db_metrics_request_arrived(m, i, MS(10 * i), 10, 4));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(50), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(60)));
    ok(m, db_metrics_request_failed(m, 1, MS(20), "prompt longer than KV capacity"));
    ok(m, db_metrics_tokens_emitted(m, 2, MS(45), 1));
    ok(m, db_metrics_request_failed(m, 2, MS(70), "engine error"));
    ok(m, db_metrics_request_failed(m, 3, MS(80), "prompt longer than KV capacity"));
    ok(m, db_metrics_finish(m, MS(80)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->counted, 4);
    assert_int_equal(s->completed, 1);
    assert_int_equal(s->failed, 3);
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 1); /* request 2's token is not counted */
    assert_int_equal(s->total_output_tokens, 1);
    assert_int_equal(s->n_failures, 2); /* most frequent reason first */
    assert_string_equal(s->failures[0].reason, "prompt longer than KV capacity");
    assert_int_equal(s->failures[0].count, 2);
    assert_string_equal(s->failures[1].reason, "engine error");
    assert_int_equal(s->failures[1].count, 1);
    /* the span ends with the last counted failure at 80 ms */
    assert_near(s->duration_s, 0.08, 1e-12);
    assert_int_equal(db_metrics_request_at(m, 1)->status, DB_REQ_FAILED);
    db_metrics_free(m);
}

static void finishing_without_a_token_is_a_failure(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 0, 0, 10, 4));
    ok(m, db_metrics_request_finished(m, 0, MS(5)));
    ok(m, db_metrics_finish(m, MS(5)));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->completed, 0);
    assert_int_equal(s->failed, 1);
    assert_string_equal(s->failures[0].reason, "finished without output tokens");
    db_metrics_free(m);
}

static void requests_in_flight_at_the_end_extend_the_span_to_the_run_end(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 0, 0, 10, 2));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(100), 1));
    ok(m, db_metrics_tokens_emitted(m, 0, MS(200), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(200)));
    ok(m, db_metrics_request_arrived(m, 1, MS(300), 10, 100));
    ok(m, db_metrics_tokens_emitted(m, 1, MS(400), 1));
    ok(m, db_metrics_finish(m, MS(500))); /* stopped early: request 1 never finished */
    const db_metrics_summary *s = db_metrics_summary_get(m);
    assert_int_equal(s->in_flight, 1);
    assert_int_equal(s->completed, 1);
    assert_int_equal(s->counted, 2);
    assert_near(s->duration_s, 0.5, 1e-12);
    assert_int_equal(s->latency[DB_LAT_TTFT].count, 1); /* only completed requests */
    assert_true(db_metrics_request_at(m, 1)->in_window);
    assert_int_equal(db_metrics_request_at(m, 1)->status, DB_REQ_IN_FLIGHT);
    db_metrics_free(m);
}

static void expect_refusal(db_metrics *m, int rc, const char *needle) {
    assert_int_equal(rc, -1);
    if (!strstr(db_metrics_error(m), needle))
        fail_msg("error '%s' does not mention '%s'", db_metrics_error(m), needle);
}

static void bad_event_sequences_are_refused_with_a_message_naming_the_request(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 3, MS(100), 10, 4));
    expect_refusal(m, db_metrics_request_arrived(m, 3, MS(100), 10, 4), "request 3");
    expect_refusal(m, db_metrics_request_arrived(m, 4, MS(50), 10, 4), "time order");
    expect_refusal(m, db_metrics_tokens_emitted(m, 9, MS(150), 1), "request 9");
    expect_refusal(m, db_metrics_tokens_emitted(m, 3, MS(90), 1), "earlier than its arrival");
    expect_refusal(m, db_metrics_tokens_emitted(m, 3, MS(150), 0), "expected >= 1");
    ok(m, db_metrics_tokens_emitted(m, 3, MS(150), 1));
    expect_refusal(m, db_metrics_tokens_emitted(m, 3, MS(140), 1), "previous token");
    expect_refusal(m, db_metrics_request_finished(m, 3, MS(145)), "last token");
    ok(m, db_metrics_request_finished(m, 3, MS(160)));
    expect_refusal(m, db_metrics_tokens_emitted(m, 3, MS(170), 1), "already finished");
    expect_refusal(m, db_metrics_finish(m, MS(155)), "earlier than an event");
    ok(m, db_metrics_finish(m, MS(160)));
    expect_refusal(m, db_metrics_request_arrived(m, 5, MS(200), 1, 1),
                   "after the run was finished");
    expect_refusal(m, db_metrics_finish(m, MS(300)), "already finished");
    db_metrics_free(m);
}

static void negative_config_is_refused(void **state) {
    db_metrics_config cfg = {.cooldown_ns = -1};
    db_metrics *m = NULL;
    char err[256];
    assert_int_equal(db_metrics_create(&cfg, &m, err, sizeof err), -1);
    assert_null(m);
    assert_non_null(strstr(err, "cooldown"));
}

static void latency_beyond_one_hour_is_counted_out_of_range(void **state) {
    db_metrics *m = recorder();
    ok(m, db_metrics_request_arrived(m, 0, 0, 1, 1));
    int64_t two_hours = INT64_C(7200000000000);
    ok(m, db_metrics_tokens_emitted(m, 0, two_hours, 1));
    ok(m, db_metrics_request_finished(m, 0, two_hours));
    ok(m, db_metrics_finish(m, two_hours));
    const db_metrics_summary *s = db_metrics_summary_get(m);
    /* TTFT, E2E and normalised latency (E2E / 1) are all 2 h: three values the 1 h histograms
     * refuse */
    assert_int_equal(s->out_of_range, 3);
    assert_int_equal(db_metrics_histogram(m, DB_LAT_E2E)->total_count, 0);
    db_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_token_request_has_ttft_100_tpot_20_and_four_itls_of_20),
        cmocka_unit_test(percentiles_are_hdr_highest_equivalent_values),
        cmocka_unit_test(five_token_request_counts_and_throughput),
        cmocka_unit_test(event_emitting_three_tokens_records_its_gap_once_then_two_zero_itls),
        cmocka_unit_test(first_event_with_two_tokens_gives_ttft_and_one_zero_itl),
        cmocka_unit_test(one_token_request_has_no_tpot_and_no_itl),
        cmocka_unit_test(latencies_count_from_intended_arrival_not_from_scheduling),
        cmocka_unit_test(exact_mean_and_population_stddev_over_requests),
        cmocka_unit_test(failed_requests_are_counted_by_reason_and_not_in_latencies),
        cmocka_unit_test(finishing_without_a_token_is_a_failure),
        cmocka_unit_test(requests_in_flight_at_the_end_extend_the_span_to_the_run_end),
        cmocka_unit_test(bad_event_sequences_are_refused_with_a_message_naming_the_request),
        cmocka_unit_test(negative_config_is_refused),
        cmocka_unit_test(latency_beyond_one_hour_is_counted_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
