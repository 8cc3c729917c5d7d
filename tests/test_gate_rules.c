/* The gate's per-metric rules and verdicts: rule syntax, defaults, the decision rule on clear
 * cases, INCONCLUSIVE with too few samples (and the sample count that would decide), and the exact
 * comparison of deterministic metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "gate_rules.h"
#include "rng.h"
#include "test_gate_util.h"

static const db_gate_params params = {0.95, 10000, DB_CI_PERCENTILE, 1};

static db_gate_rule rule(const char *spec) {
    db_gate_rule r;
    char msg[256];
    assert_int_equal(db_gate_rule_parse(spec, &r, msg, sizeof msg), 0);
    return r;
}

/* ---- rule syntax ----------------------------------------------------------------------------- */

static void rule_sign_gives_the_bad_direction(void **state) {
    (void)state;
    db_gate_rule t = rule("output_throughput:-5%"), l = rule("p99_ttft_ms:+10%");
    assert_string_equal(t.metric, "output_throughput");
    assert_float_equal(t.threshold, -0.05, 1e-15);
    assert_false(t.bad_up);
    assert_string_equal(l.metric, "p99_ttft_ms");
    assert_float_equal(l.threshold, 0.10, 1e-15);
    assert_true(l.bad_up);
    db_gate_rule z = rule("request_throughput:-0%");
    assert_false(z.bad_up);
    assert_float_equal(z.threshold, 0.0, 0);
    assert_true(rule("p99_itl_ms:off").off);
}

static void rule_rejects_malformed_specs_with_a_message(void **state) {
    (void)state;
    const char *bad[] = {"output_throughput:5%",
                         "output_throughput:-5",
                         ":-5%",
                         "output_throughput",
                         "output_throughput:-100%",
                         "x:+abc%",
                         "x:+2000%",
                         "x:-%",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        db_gate_rule r;
        char msg[256] = "";
        assert_int_equal(db_gate_rule_parse(bad[i], &r, msg, sizeof msg), -1);
        assert_non_null(strstr(msg, "--rule"));
    }
}

static void rule_formats_as_a_signed_percent(void **state) {
    (void)state;
    char buf[32];
    db_gate_rule r = rule("x:-5%");
    db_gate_rule_format(&r, buf, sizeof buf);
    assert_string_equal(buf, "-5%");
    r = rule("x:+12.5%");
    db_gate_rule_format(&r, buf, sizeof buf);
    assert_string_equal(buf, "+12.5%");
}

static void defaults_gate_throughput_down_5_and_latency_up_10_percent(void **state) {
    (void)state;
    size_t n;
    const db_gate_rule *d = db_gate_default_rules(&n);
    int seen_tp = 0, seen_p99 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(d[i].metric, "output_throughput")) {
            seen_tp = 1;
            assert_float_equal(d[i].threshold, -0.05, 1e-15);
        }
        if (!strcmp(d[i].metric, "p99_ttft_ms")) {
            seen_p99 = 1;
            assert_float_equal(d[i].threshold, 0.10, 1e-15);
            assert_true(d[i].bad_up);
        }
    }
    assert_true(seen_tp && seen_p99);
}

/* ---- statistical verdicts -------------------------------------------------------------------- */

static db_gate_verdict judge(const char *spec, double base_median, double cur_median, double cv,
                             size_t n, uint64_t seed, db_gate_result *out) {
    db_rng r;
    db_rng_seed(&r, seed);
    double base[64], cur[64];
    gate_lognormal(&r, base_median, cv, base, n);
    gate_lognormal(&r, cur_median, cv, cur, n);
    db_gate_rule ru = rule(spec);
    assert_int_equal(db_gate_judge(&ru, base, n, cur, n, &params, out), 0);
    return out->verdict;
}

static void a_20_percent_drop_with_1_percent_noise_is_a_regression(void **state) {
    (void)state;
    db_gate_result o;
    assert_int_equal(judge("output_throughput:-5%", 100, 80, 0.01, 10, 1, &o), DB_GATE_REGRESSION);
    assert_true(o.ci_hi < 0.95);
    assert_true(o.p_bad <= 0.025);
    assert_float_equal(o.need_cur, 0, 0);
}

static void a_20_percent_latency_rise_is_a_regression_under_a_plus_rule(void **state) {
    (void)state;
    db_gate_result o;
    assert_int_equal(judge("p99_ttft_ms:+10%", 100, 120, 0.01, 10, 2, &o), DB_GATE_REGRESSION);
    assert_true(o.ci_lo > 1.10);
    /* the same rise under a throughput-style rule is an improvement */
    assert_int_equal(judge("output_throughput:-5%", 100, 120, 0.01, 10, 2, &o),
                     DB_GATE_IMPROVEMENT);
}

static void an_unchanged_metric_with_1_percent_noise_passes(void **state) {
    (void)state;
    db_gate_result o;
    assert_int_equal(judge("output_throughput:-5%", 100, 100, 0.01, 10, 3, &o), DB_GATE_PASS);
    assert_true(o.ci_lo > 0.95);
    assert_int_equal(judge("p99_ttft_ms:+10%", 100, 100, 0.01, 10, 3, &o), DB_GATE_PASS);
}

/* A 3% drop is within a -5% rule: PASS, not IMPROVEMENT and not REGRESSION. */
static void a_drop_inside_the_threshold_passes(void **state) {
    (void)state;
    db_gate_result o;
    assert_int_equal(judge("output_throughput:-5%", 100, 97, 0.002, 10, 4, &o), DB_GATE_PASS);
    assert_true(o.ratio < 1.0);
}

/* Improvement needs the interval beyond the mirror 1 / (1 + t): for -5%, above 1/0.95 = 1.0526. A
 * 4% gain is only a PASS. */
static void improvement_needs_the_mirrored_threshold(void **state) {
    (void)state;
    db_gate_result o;
    assert_int_equal(judge("output_throughput:-5%", 100, 104, 0.002, 10, 5, &o), DB_GATE_PASS);
    assert_int_equal(judge("output_throughput:-5%", 100, 108, 0.002, 10, 5, &o),
                     DB_GATE_IMPROVEMENT);
}

/* Two samples a side: the exact Mann-Whitney test cannot go below p = 2 / C(4, 2) = 1/3, so nothing
 * can be decided at 95%, however large the change. The smallest sizes that can: 4 + 4 (2 / C(8, 4)
 * = 0.029 <= 0.05; 3 + 4 gives 2 / 35 = 0.057). */
static void two_samples_a_side_are_inconclusive_and_ask_for_four(void **state) {
    (void)state;
    const double base[] = {100, 101}, cur[] = {50, 51};
    db_gate_rule r = rule("output_throughput:-5%");
    db_gate_result o;
    assert_int_equal(db_gate_judge(&r, base, 2, cur, 2, &params, &o), 0);
    assert_int_equal(o.verdict, DB_GATE_INCONCLUSIVE);
    assert_float_equal(o.need_base, 4, 0);
    assert_float_equal(o.need_cur, 4, 0);
    assert_non_null(strstr(o.note, "too few samples"));
}

/* CV 10%, n = 10 a side, true ratio 0.95 right on a -5% threshold: undecidable now; the gate asks
 * for more samples than it has and says how many (finite). */
static void noise_around_the_threshold_is_inconclusive_with_a_sample_count(void **state) {
    (void)state;
    db_gate_result o;
    assert_int_equal(judge("output_throughput:-5%", 100, 96, 0.10, 10, 6, &o),
                     DB_GATE_INCONCLUSIVE);
    assert_true(o.ci_lo < 0.95 && o.ci_hi > 0.95);
    assert_true(isfinite(o.need_cur));
    assert_true(o.need_cur > 10 && o.need_base > 10);
    assert_non_null(strstr(o.note, "contains"));
}

/* The same draws scaled to twice the noise (CV 3% -> 6%), true ratio 0.97 under -5%: both
 * undecided, and the noisier one asks for more samples (the count grows with the width squared, so
 * roughly four times as many). */
static void more_noise_asks_for_more_samples(void **state) {
    (void)state;
    db_gate_result quiet, noisy;
    assert_int_equal(judge("output_throughput:-5%", 100, 97, 0.03, 10, 8, &quiet),
                     DB_GATE_INCONCLUSIVE);
    assert_int_equal(judge("output_throughput:-5%", 100, 97, 0.06, 10, 8, &noisy),
                     DB_GATE_INCONCLUSIVE);
    assert_true(isfinite(noisy.need_cur));
    assert_true(noisy.need_cur >= 2 * quiet.need_cur);
}

static void non_positive_samples_are_inconclusive_not_a_crash(void **state) {
    (void)state;
    const double base[] = {0, 1, 2, 3, 4}, cur[] = {1, 2, 3, 4, 5};
    db_gate_rule r = rule("request_goodput:-5%");
    db_gate_result o;
    assert_int_equal(db_gate_judge(&r, base, 5, cur, 5, &params, &o), 0);
    assert_int_equal(o.verdict, DB_GATE_INCONCLUSIVE);
    assert_non_null(strstr(o.note, "positive"));
}

static void the_verdict_does_not_depend_on_evaluation_order(void **state) {
    (void)state;
    db_gate_result a, b, c;
    judge("output_throughput:-5%", 100, 96, 0.10, 10, 6, &a);
    judge("p99_ttft_ms:+10%", 100, 96, 0.10, 10, 6, &c);
    judge("output_throughput:-5%", 100, 96, 0.10, 10, 6, &b);
    assert_memory_equal(&a, &b, sizeof a);
}

/* ---- exact comparison ------------------------------------------------------------------------ */

static void identical_deterministic_values_pass(void **state) {
    (void)state;
    const double base[] = {1234.5}, cur[] = {1234.5, 1234.5};
    db_gate_result o;
    db_gate_judge_exact(base, 1, cur, 2, &o);
    assert_int_equal(o.verdict, DB_GATE_PASS);
    assert_int_equal(o.method, DB_GATE_EXACT);
}

/* Any difference at all, even 1 part in 10^6, is CHANGED and the note shows both values. */
static void a_changed_deterministic_value_is_flagged_with_both_values(void **state) {
    (void)state;
    const double base[] = {1000000}, cur[] = {1000001};
    db_gate_result o;
    db_gate_judge_exact(base, 1, cur, 1, &o);
    assert_int_equal(o.verdict, DB_GATE_CHANGED);
    assert_non_null(strstr(o.note, "1000000"));
    assert_non_null(strstr(o.note, "1000001"));
}

static void a_declared_deterministic_metric_that_varies_is_flagged(void **state) {
    (void)state;
    const double base[] = {5, 5}, cur[] = {5, 6};
    db_gate_result o;
    db_gate_judge_exact(base, 2, cur, 2, &o);
    assert_int_equal(o.verdict, DB_GATE_CHANGED);
    assert_non_null(strstr(o.note, "not deterministic"));
}

static void detection_needs_equal_samples_and_enough_of_them(void **state) {
    (void)state;
    const double a[] = {7, 7, 7}, b[] = {8, 8, 8}, c[] = {7, 7, 7.5};
    assert_true(db_gate_looks_deterministic(a, 3, b, 3, 3));
    assert_false(db_gate_looks_deterministic(a, 3, c, 3, 3));
    assert_false(db_gate_looks_deterministic(a, 2, b, 2, 3));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rule_sign_gives_the_bad_direction),
        cmocka_unit_test(rule_rejects_malformed_specs_with_a_message),
        cmocka_unit_test(rule_formats_as_a_signed_percent),
        cmocka_unit_test(defaults_gate_throughput_down_5_and_latency_up_10_percent),
        cmocka_unit_test(a_20_percent_drop_with_1_percent_noise_is_a_regression),
        cmocka_unit_test(a_20_percent_latency_rise_is_a_regression_under_a_plus_rule),
        cmocka_unit_test(an_unchanged_metric_with_1_percent_noise_passes),
        cmocka_unit_test(a_drop_inside_the_threshold_passes),
        cmocka_unit_test(improvement_needs_the_mirrored_threshold),
        cmocka_unit_test(two_samples_a_side_are_inconclusive_and_ask_for_four),
        cmocka_unit_test(noise_around_the_threshold_is_inconclusive_with_a_sample_count),
        cmocka_unit_test(more_noise_asks_for_more_samples),
        cmocka_unit_test(non_positive_samples_are_inconclusive_not_a_crash),
        cmocka_unit_test(the_verdict_does_not_depend_on_evaluation_order),
        cmocka_unit_test(identical_deterministic_values_pass),
        cmocka_unit_test(a_changed_deterministic_value_is_flagged_with_both_values),
        cmocka_unit_test(a_declared_deterministic_metric_that_varies_is_flagged),
        cmocka_unit_test(detection_needs_equal_samples_and_enough_of_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
