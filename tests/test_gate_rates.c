/* The gate's error rates, measured over 500 seeds of synthetic samples with known noise: log-normal
 * multiplicative noise with a coefficient of variation of 10% (runs of one build on a noisy
 * machine), 10 runs per side unless stated.
 *
 * Claims (each "REGRESSION" is a one-sided decision at (1 - c) / 2 = 2.5% for c = 0.95, see the
 * decision rule in gate_rules.c):
 *   - false positives: an unchanged configuration is flagged REGRESSION at most 2.5% of the time
 * even with a zero threshold (the worst case: the truth sits on the threshold), and essentially
 * never under the default -5% rule; a true 10% regression is never called PASS under -5% (<= 2.5%);
 *   - detection of a true 10% regression under a zero threshold ("-0%"): >= 40% with 10 runs a
 * side,
 *     >= 85% with 30. Where these come from: the sample median's standard error is about
 *     sqrt(pi/2) sigma / sqrt(n) (sigma = 0.0998 for CV 10%), so log(ratio) has standard error
 *     1.2533 * 0.0998 * sqrt(2/n) = 0.0560 (n = 10) or 0.0323 (n = 30); a one-sided 2.5% decision
 * on a true log-ratio of log(1/0.9) = 0.1054 has power Phi(0.1054/0.0560 - 1.96) = 0.47 and
 *     Phi(0.1054/0.0323 - 1.96) = 0.90. The claims are set a little below these (the percentile
 *     interval of a median is slightly conservative at small n: measured 45% and 92%).
 * Each count is checked against the Binomial(500, claimed rate) limit that a true rate at the claim
 * would cross with probability under 1e-3 (test_gate_util.h). Bootstrap: 2000 resamples per verdict
 * (the interval end points' Monte-Carlo error is then well under the sampling noise at n <= 30).
 */
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

enum { SEEDS = 500 };
static const db_gate_params params = {0.95, 2000, DB_CI_PERCENTILE, 7};

/* Verdict counts over SEEDS data sets: baseline median 100, current median 100 * true_ratio. */
static void count_verdicts(const char *spec, double true_ratio, size_t n, int counts[5]) {
    db_gate_rule r;
    char msg[128];
    assert_int_equal(db_gate_rule_parse(spec, &r, msg, sizeof msg), 0);
    memset(counts, 0, 5 * sizeof counts[0]);
    for (int s = 0; s < SEEDS; s++) {
        db_rng g;
        db_rng_seed(&g, 1000 + (uint64_t)s);
        double base[32], cur[32];
        gate_lognormal(&g, 100, 0.10, base, n);
        gate_lognormal(&g, 100 * true_ratio, 0.10, cur, n);
        db_gate_result o;
        assert_int_equal(db_gate_judge(&r, base, n, cur, n, &params, &o), 0);
        counts[o.verdict]++;
    }
    print_message("%s, true ratio %.2f, n = %zu: PASS %d IMPROVEMENT %d INCONCLUSIVE %d "
                  "REGRESSION %d of %d\n",
                  spec, true_ratio, n, counts[DB_GATE_PASS], counts[DB_GATE_IMPROVEMENT],
                  counts[DB_GATE_INCONCLUSIVE], counts[DB_GATE_REGRESSION], SEEDS);
}

static void unchanged_configuration_is_not_flagged_under_the_default_rule(void **state) {
    (void)state;
    int c[5];
    count_verdicts("output_throughput:-5%", 1.0, 10, c);
    assert_true(c[DB_GATE_REGRESSION] <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
    assert_int_equal(c[DB_GATE_CHANGED], 0);
}

static void
false_positive_rate_on_the_threshold_is_at_most_half_of_one_minus_confidence(void **state) {
    (void)state;
    int c[5];
    count_verdicts("output_throughput:-0%", 1.0, 10, c);
    assert_true(c[DB_GATE_REGRESSION] <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
    /* the same truth seen from a latency rule: an unchanged latency is not a rise */
    count_verdicts("p99_ttft_ms:+0%", 1.0, 10, c);
    assert_true(c[DB_GATE_REGRESSION] <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
}

/* Four runs a side is the fewest that can decide at 95%; the rate still holds there. */
static void false_positive_rate_holds_with_four_samples_a_side(void **state) {
    (void)state;
    int c[5];
    count_verdicts("output_throughput:-0%", 1.0, 4, c);
    assert_true(c[DB_GATE_REGRESSION] <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
}

static void true_10_percent_regression_is_detected_at_least_40_percent_with_10_runs(void **state) {
    (void)state;
    int c[5];
    count_verdicts("output_throughput:-0%", 0.90, 10, c);
    assert_true(c[DB_GATE_REGRESSION] >= gate_binom_lower_limit(SEEDS, 0.40, 1e-3));
    assert_int_equal(c[DB_GATE_PASS] + c[DB_GATE_IMPROVEMENT], 0);
}

static void true_10_percent_regression_is_detected_at_least_85_percent_with_30_runs(void **state) {
    (void)state;
    int c[5];
    count_verdicts("output_throughput:-0%", 0.90, 30, c);
    assert_true(c[DB_GATE_REGRESSION] >= gate_binom_lower_limit(SEEDS, 0.85, 1e-3));
}

/* Under the default -5% rule a true 10% regression sits only 5% beyond the threshold: with 10 noisy
 * runs it is mostly INCONCLUSIVE (with a sample count), but it must not PASS. */
static void true_10_percent_regression_does_not_pass_the_default_rule(void **state) {
    (void)state;
    int c[5];
    count_verdicts("output_throughput:-5%", 0.90, 10, c);
    assert_true(c[DB_GATE_PASS] <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
    assert_true(c[DB_GATE_INCONCLUSIVE] > c[DB_GATE_REGRESSION]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unchanged_configuration_is_not_flagged_under_the_default_rule),
        cmocka_unit_test(
            false_positive_rate_on_the_threshold_is_at_most_half_of_one_minus_confidence),
        cmocka_unit_test(false_positive_rate_holds_with_four_samples_a_side),
        cmocka_unit_test(true_10_percent_regression_is_detected_at_least_40_percent_with_10_runs),
        cmocka_unit_test(true_10_percent_regression_is_detected_at_least_85_percent_with_30_runs),
        cmocka_unit_test(true_10_percent_regression_does_not_pass_the_default_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
