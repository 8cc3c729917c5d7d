/* test_slo.c — parsing `--slo` specs: per-request and aggregate objectives, units, canonical text,
 * and a clear message for every kind of bad spec (naming the bad part and what was expected).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "slo.h"

static db_slo_set parse_ok(const char *spec) {
    db_slo_set s;
    char err[256] = "";
    if (db_slo_parse(spec, &s, err, sizeof err) != 0) fail_msg("'%s' refused: %s", spec, err);
    return s;
}

/* The spec is refused and the message contains every needle. */
static void parse_fails(const char *spec, const char *needle1, const char *needle2) {
    db_slo_set s;
    char err[256] = "";
    assert_int_equal(db_slo_parse(spec, &s, err, sizeof err), -1);
    if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
        fail_msg("message for '%s' is '%s'; expected it to mention '%s' and '%s'", spec, err,
                 needle1, needle2 ? needle2 : "");
    assert_false(db_slo_has_per_request(&s)); /* a refused spec leaves the set empty */
    assert_int_equal(s.n_aggregates, 0);
}

static void the_issue_example_sets_three_per_request_objectives(void **state) {
    db_slo_set s = parse_ok("ttft:200ms,tpot:50ms,e2e:10s");
    assert_int_equal(s.per_request_ns[DB_LAT_TTFT], 200000000);
    assert_int_equal(s.per_request_ns[DB_LAT_TPOT], 50000000);
    assert_int_equal(s.per_request_ns[DB_LAT_E2E], 10000000000);
    assert_int_equal(s.per_request_ns[DB_LAT_ITL], -1);
    assert_int_equal(s.n_aggregates, 0);
    assert_true(db_slo_has_per_request(&s));
}

static void every_unit_converts_to_nanoseconds(void **state) {
    db_slo_set s = parse_ok("ttft:750ns,tpot:250us,itl:1.5ms,e2el:2s,queue:0.25s,norm:40ms");
    assert_int_equal(s.per_request_ns[DB_LAT_TTFT], 750);
    assert_int_equal(s.per_request_ns[DB_LAT_TPOT], 250000);
    assert_int_equal(s.per_request_ns[DB_LAT_ITL], 1500000);
    assert_int_equal(s.per_request_ns[DB_LAT_E2E], 2000000000); /* e2el is vLLM's name for e2e */
    assert_int_equal(s.per_request_ns[DB_LAT_QUEUE], 250000000);
    assert_int_equal(s.per_request_ns[DB_LAT_NORM], 40000000);
}

static void percentile_and_mean_prefixes_make_aggregate_objectives(void **state) {
    db_slo_set s = parse_ok("p99_ttft:300ms, p99.9_e2e:20s ,mean_tpot:40ms");
    assert_false(db_slo_has_per_request(&s));
    assert_int_equal(s.n_aggregates, 3);
    assert_int_equal(s.aggregates[0].metric, DB_LAT_TTFT);
    assert_true(s.aggregates[0].percentile == 99.0);
    assert_int_equal(s.aggregates[0].threshold_ns, 300000000);
    assert_true(s.aggregates[1].percentile == 99.9);
    assert_int_equal(s.aggregates[1].metric, DB_LAT_E2E);
    assert_true(s.aggregates[2].percentile == -1); /* mean */
}

static void canonical_text_round_trips(void **state) {
    db_slo_set s = parse_ok("e2e:10000ms,ttft:0.2s,p99.9_itl:1500us,mean_tpot:40ms");
    char buf[256];
    db_slo_format(&s, buf, sizeof buf);
    /* per-request objectives in metric order, then aggregates in spec order; largest exact unit */
    assert_string_equal(buf, "ttft:200ms,e2e:10s,p99.9_itl:1500us,mean_tpot:40ms");
    db_slo_set again = parse_ok(buf);
    assert_memory_equal(again.per_request_ns, s.per_request_ns, sizeof s.per_request_ns);
    assert_int_equal(again.n_aggregates, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(again.aggregates[i].metric, s.aggregates[i].metric);
        assert_true(again.aggregates[i].percentile == s.aggregates[i].percentile);
        assert_int_equal(again.aggregates[i].threshold_ns, s.aggregates[i].threshold_ns);
    }
}

static void an_empty_spec_or_item_is_refused(void **state) {
    parse_fails("", "objective 1", "METRIC:DURATION");
    parse_fails("ttft:1ms,,tpot:1ms", "objective 2", "empty");
    parse_fails("ttft:1ms,", "objective 2", "empty");
}

static void an_item_without_a_colon_is_refused(void **state) {
    parse_fails("ttft200ms", "'ttft200ms'", "METRIC:DURATION");
    parse_fails(":200ms", "':200ms'", "METRIC:DURATION");
}

static void an_unknown_metric_is_named_with_the_known_ones(void **state) {
    parse_fails("ttft:1ms,latency:2s", "unknown metric 'latency'", "ttft, tpot, itl");
}

static void a_duration_without_a_unit_is_refused(void **state) {
    parse_fails("ttft:200", "'ttft:200'", "unit ns, us, ms or s");
}

static void an_unknown_unit_is_refused(void **state) {
    parse_fails("tpot:5m", "got 'm'", "ns, us, ms or s");
    parse_fails("e2e:1h", "got 'h'", "ns, us, ms or s");
}

static void a_malformed_number_is_refused(void **state) {
    parse_fails("ttft:ms", "'ms'", "expected a number");
    parse_fails("ttft:-5ms", "'-5ms'", "expected a number");
    parse_fails("ttft:1.2.3ms", "'1.2.3ms'", "expected a number");
}

static void zero_and_over_one_hour_are_refused(void **state) {
    parse_fails("ttft:0ms", "'0ms'", "positive");
    parse_fails("e2e:3601s", "'3601s'", "at most 1 h");
}

static void a_metric_given_twice_is_refused(void **state) {
    parse_fails("ttft:1ms,tpot:2ms,ttft:3ms", "'ttft:3ms'", "twice");
    parse_fails("e2e:1s,e2el:2s", "'e2el:2s'", "twice");
    parse_fails("p99_ttft:1s,p99_ttft:2s", "'p99_ttft:2s'", "twice");
}

static void a_bad_aggregate_prefix_is_refused(void **state) {
    parse_fails("p101_ttft:1s", "bad aggregate 'p101'", "0 < NN <= 100");
    parse_fails("p0_ttft:1s", "bad aggregate 'p0'", "pNN");
    parse_fails("max_ttft:1s", "bad aggregate 'max'", "mean");
    parse_fails("p99_foo:1s", "unknown metric 'foo'", "ttft");
}

static void a_bare_duration_parses_alone(void **state) {
    int64_t ns = 0;
    char err[128];
    assert_int_equal(db_slo_parse_duration("2.5ms", &ns, err, sizeof err), 0);
    assert_int_equal(ns, 2500000);
    assert_int_equal(db_slo_parse_duration("2.5", &ns, err, sizeof err), -1);
    assert_non_null(strstr(err, "'2.5'"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_issue_example_sets_three_per_request_objectives),
        cmocka_unit_test(every_unit_converts_to_nanoseconds),
        cmocka_unit_test(percentile_and_mean_prefixes_make_aggregate_objectives),
        cmocka_unit_test(canonical_text_round_trips),
        cmocka_unit_test(an_empty_spec_or_item_is_refused),
        cmocka_unit_test(an_item_without_a_colon_is_refused),
        cmocka_unit_test(an_unknown_metric_is_named_with_the_known_ones),
        cmocka_unit_test(a_duration_without_a_unit_is_refused),
        cmocka_unit_test(an_unknown_unit_is_refused),
        cmocka_unit_test(a_malformed_number_is_refused),
        cmocka_unit_test(zero_and_over_one_hour_are_refused),
        cmocka_unit_test(a_metric_given_twice_is_refused),
        cmocka_unit_test(a_bad_aggregate_prefix_is_refused),
        cmocka_unit_test(a_bare_duration_parses_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
