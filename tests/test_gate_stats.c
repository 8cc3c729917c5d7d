/* The gate's statistics: order statistics, the normal distribution, Mann-Whitney U against textbook
 * values and brute-force enumeration, and the bootstrap interval of a ratio of medians
 * (determinism, degenerate cases, coverage over many seeds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gate_stats.h"
#include "rng.h"
#include "test_gate_util.h"

/* ---- order statistics ------------------------------------------------------------------------ */

static void median_of_odd_and_even_counts(void **state) {
    (void)state;
    const double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2};
    assert_float_equal(db_stats_median(odd, 3), 3.0, 0);
    assert_float_equal(db_stats_median(even, 4), 2.5, 0); /* (2 + 3) / 2 */
    assert_true(isnan(db_stats_median(odd, 0)));
}

static void quantile_interpolates_between_order_statistics(void **state) {
    (void)state;
    const double s[] = {10, 20, 30, 40, 50};
    /* type 7: h = (5 - 1) q; q = 0.1 -> h = 0.4 -> 10 + 0.4 * 10 = 14 */
    assert_float_equal(db_stats_quantile_sorted(s, 5, 0.1), 14.0, 1e-12);
    assert_float_equal(db_stats_quantile_sorted(s, 5, 0.5), 30.0, 1e-12);
    assert_float_equal(db_stats_quantile_sorted(s, 5, 0.0), 10.0, 0);
    assert_float_equal(db_stats_quantile_sorted(s, 5, 1.0), 50.0, 0);
}

static void mean_and_sample_stddev(void **state) {
    (void)state;
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9}; /* mean 5, sum of squares 32, s = sqrt(32/7) */
    assert_float_equal(db_stats_mean(x, 8), 5.0, 1e-12);
    assert_float_equal(db_stats_stddev(x, 8), sqrt(32.0 / 7.0), 1e-12);
    assert_float_equal(db_stats_stddev(x, 1), 0.0, 0);
}

/* ---- normal distribution --------------------------------------------------------------------- */

static void normal_quantile_matches_published_values(void **state) {
    (void)state;
    /* Values from Wichura (1988), AS 241, and standard tables. */
    assert_float_equal(db_stats_normal_quantile(0.975), 1.959963984540054, 1e-14);
    assert_float_equal(db_stats_normal_quantile(0.995), 2.5758293035489004, 1e-14);
    assert_float_equal(db_stats_normal_quantile(0.5), 0.0, 0);
    assert_float_equal(db_stats_normal_quantile(0.025), -1.959963984540054, 1e-14);
    assert_float_equal(db_stats_normal_quantile(1e-10), -6.361340902404056, 1e-12);
    assert_true(isinf(db_stats_normal_quantile(1.0)));
    assert_true(isnan(db_stats_normal_quantile(1.5)));
}

static void normal_cdf_inverts_the_quantile(void **state) {
    (void)state;
    for (double p = 0.001; p < 1; p += 0.01)
        assert_float_equal(db_stats_normal_cdf(db_stats_normal_quantile(p)), p, 1e-13);
}

/* ---- Mann-Whitney U -------------------------------------------------------------------------- */

/* The example of the scipy.stats.mannwhitneyu documentation: U of the first sample = 17 (of 20).
 * Exact two-sided p by hand: P(U >= 17) = P(U <= 3) = (1 + 1 + 2 + 3) / C(9, 4) = 7 / 126 (the
 * partitions of 0..3 fitting a 4 x 5 box), doubled: 14 / 126 = 0.1111. */
static void mann_whitney_matches_the_scipy_documentation_example(void **state) {
    (void)state;
    const double males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
    db_mwu_result r;
    assert_int_equal(db_stats_mann_whitney(males, 5, females, 4, &r), 0);
    assert_float_equal(r.u, 17.0, 0);
    assert_true(r.exact);
    assert_float_equal(r.p_greater, 7.0 / 126.0, 1e-15);
    assert_float_equal(r.p_two_sided, 14.0 / 126.0, 1e-15);
}

/* Critical values of U for a two-tailed test at 0.05 from the standard tables (e.g. Siegel &
 * Castellan, Nonparametric Statistics, Table J): n = 5,5 -> 2; 8,8 -> 13; 10,10 -> 23. The critical
 * value c is the largest with P(U <= c) <= 0.025. Counts by enumeration of all C(N, n) orderings:
 * 5,5: 4/252 and 7/252; 8,8: 321/12870 and 418/12870; 10,10: 3996/184756 and 4843/184756. */
static void mann_whitney_null_distribution_reproduces_textbook_critical_values(void **state) {
    (void)state;
    const struct {
        size_t n, crit;
        double le_crit, le_next, total;
    } t[] = {{5, 2, 4, 7, 252}, {8, 13, 321, 418, 12870}, {10, 23, 3996, 4843, 184756}};
    for (size_t k = 0; k < 3; k++) {
        size_t len = t[k].n * t[k].n + 1;
        double *c = malloc(len * sizeof *c), total = 0, le = 0;
        assert_non_null(c);
        assert_int_equal(db_stats_mwu_null_counts(t[k].n, t[k].n, c), 0);
        for (size_t u = 0; u < len; u++)
            total += c[u];
        for (size_t u = 0; u <= t[k].crit; u++)
            le += c[u];
        assert_float_equal(total, t[k].total, 0);
        assert_float_equal(le, t[k].le_crit, 0);
        assert_float_equal(le + c[t[k].crit + 1], t[k].le_next, 0);
        assert_true(le / total <= 0.025 && (le + c[t[k].crit + 1]) / total > 0.025);
        free(c);
    }
}

/* The counts agree with enumerating every way to place 4 x's among 10 positions (unequal sizes). */
static void mann_whitney_null_counts_match_brute_force_enumeration(void **state) {
    (void)state;
    enum { M = 4, N = 6 };
    double brute[M * N + 1] = {0}, counts[M * N + 1];
    for (unsigned mask = 0; mask < (1u << (M + N)); mask++) {
        if (__builtin_popcount(mask) != M) continue;
        int u = 0, ys = 0;
        for (int i = 0; i < M + N; i++) { /* position i in ascending order */
            if (mask & (1u << i))
                u += ys; /* x above every y placed before it */
            else
                ys++;
        }
        brute[u] += 1;
    }
    assert_int_equal(db_stats_mwu_null_counts(M, N, counts), 0);
    for (int u = 0; u <= M * N; u++)
        assert_float_equal(counts[u], brute[u], 0);
    assert_int_equal(db_stats_mwu_null_counts(N, M, counts), 0); /* symmetric in the sizes */
    for (int u = 0; u <= M * N; u++)
        assert_float_equal(counts[u], brute[u], 0);
}

/* x = {1, 2, 2, 3}, y = {2, 3, 4, 5}: midranks 1, 3, 3, 5.5 for x -> R = 12.5, U = 12.5 - 10 = 2.5.
 * Ties: a group of 3 (t^3 - t = 24) and of 2 (6). Variance 16/12 (9 - 30/56) = 11.2857, sd 3.35942;
 * p_less = Phi((2.5 - 8 + 0.5) / 3.35942) = Phi(-1.48835) = 0.0683291. */
static void mann_whitney_uses_the_tie_corrected_normal_approximation_with_ties(void **state) {
    (void)state;
    const double x[] = {1, 2, 2, 3}, y[] = {2, 3, 4, 5};
    db_mwu_result r;
    assert_int_equal(db_stats_mann_whitney(x, 4, y, 4, &r), 0);
    assert_float_equal(r.u, 2.5, 0);
    assert_false(r.exact);
    assert_true(r.ties);
    assert_float_equal(r.p_less, 0.06832912386907375, 1e-12);
    assert_float_equal(r.p_greater, 0.9629521255093261, 1e-12);
    assert_float_equal(r.p_two_sided, 2 * 0.06832912386907375, 1e-12);
}

/* Above DB_MWU_EXACT_MAX_N pooled values the normal approximation is used: 26 + 26 interleaved
 * values x_i = 2i < y_i = 2i + 1, so x_i exceeds exactly i of the y's and U = 0 + 1 + ... + 25 =
 * 325, against a null mean of 26 * 26 / 2 = 338 and (no ties) variance 26 * 26 / 12 * 53. */
static void mann_whitney_normal_approximation_is_centred(void **state) {
    (void)state;
    double x[26], y[26];
    for (int i = 0; i < 26; i++)
        x[i] = 2 * i, y[i] = 2 * i + 1; /* x_i < y_i < x_(i+1) */
    db_mwu_result r;
    assert_int_equal(db_stats_mann_whitney(x, 26, y, 26, &r), 0);
    assert_false(r.exact); /* 52 > DB_MWU_EXACT_MAX_N */
    assert_float_equal(r.u, 325.0, 0);
    double sd = sqrt(26.0 * 26.0 / 12.0 * 53.0);
    assert_float_equal(r.p_less, db_stats_normal_cdf((325.0 - 338.0 + 0.5) / sd), 1e-15);
}

static void mann_whitney_smallest_p_reflects_the_sample_sizes(void **state) {
    (void)state;
    assert_float_equal(db_stats_mwu_min_p_two_sided(2, 2), 2.0 / 6.0, 1e-12);  /* C(4,2) = 6 */
    assert_float_equal(db_stats_mwu_min_p_two_sided(4, 4), 2.0 / 70.0, 1e-12); /* C(8,4) = 70 */
    assert_float_equal(db_stats_mwu_min_p_two_sided(1, 1), 1.0, 0);
}

static void mann_whitney_rejects_empty_and_nan_input(void **state) {
    (void)state;
    const double x[] = {1, NAN}, y[] = {2};
    db_mwu_result r;
    assert_int_equal(db_stats_mann_whitney(x, 2, y, 1, &r), -1);
    assert_int_equal(db_stats_mann_whitney(x, 0, y, 1, &r), -1);
}

/* ---- bootstrap ------------------------------------------------------------------------------- */

static void bootstrap_point_estimate_is_the_ratio_of_medians(void **state) {
    (void)state;
    const double base[] = {1, 2, 3}, cur[] = {2, 4, 6};
    db_ratio_ci ci;
    assert_int_equal(
        db_stats_bootstrap_ratio_ci(base, 3, cur, 3, 0.95, 1000, DB_CI_PERCENTILE, 1, &ci), 0);
    assert_float_equal(ci.ratio, 2.0, 1e-15);
    assert_true(ci.lo <= 2.0 && 2.0 <= ci.hi);
}

static void bootstrap_of_constant_samples_is_a_point(void **state) {
    (void)state;
    const double base[] = {10, 10, 10, 10}, cur[] = {12, 12, 12};
    db_ratio_ci ci;
    for (int m = 0; m < 2; m++) {
        assert_int_equal(
            db_stats_bootstrap_ratio_ci(base, 4, cur, 3, 0.95, 500, (db_ci_method)m, 3, &ci), 0);
        assert_float_equal(ci.lo, 1.2, 1e-15);
        assert_float_equal(ci.hi, 1.2, 1e-15);
        assert_float_equal(ci.sd_log_base, 0.0, 1e-12);
    }
}

static void bootstrap_same_seed_same_interval(void **state) {
    (void)state;
    db_rng r;
    db_rng_seed(&r, 11);
    double base[12], cur[12];
    gate_lognormal(&r, 100, 0.1, base, 12);
    gate_lognormal(&r, 95, 0.1, cur, 12);
    db_ratio_ci a, b, c;
    assert_int_equal(db_stats_bootstrap_ratio_ci(base, 12, cur, 12, 0.95, 2000, DB_CI_BCA, 5, &a),
                     0);
    assert_int_equal(db_stats_bootstrap_ratio_ci(base, 12, cur, 12, 0.95, 2000, DB_CI_BCA, 5, &b),
                     0);
    assert_int_equal(db_stats_bootstrap_ratio_ci(base, 12, cur, 12, 0.95, 2000, DB_CI_BCA, 6, &c),
                     0);
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(a.lo != c.lo || a.hi != c.hi);
}

static void bootstrap_rejects_non_positive_values_and_bad_arguments(void **state) {
    (void)state;
    const double ok[] = {1, 2}, zero[] = {0, 1};
    db_ratio_ci ci;
    assert_int_equal(db_stats_bootstrap_ratio_ci(zero, 2, ok, 2, 0.95, 1000, 0, 1, &ci), -1);
    assert_int_equal(db_stats_bootstrap_ratio_ci(ok, 2, ok, 2, 0.95, 99, 0, 1, &ci), -1);
    assert_int_equal(db_stats_bootstrap_ratio_ci(ok, 2, ok, 2, 1.0, 1000, 0, 1, &ci), -1);
    assert_int_equal(db_stats_bootstrap_ratio_ci(ok, 0, ok, 2, 0.95, 1000, 0, 1, &ci), -1);
}

/* Coverage: 1000 independent data sets, n = 10 per side, log-normal CV 10%, true ratio of medians
 * 90 / 100 = 0.9. A 95% interval should contain 0.9 in 95% of them. The count of misses is
 * Binomial(1000, 0.05) if the interval is exact; it must stay below that distribution's 1e-3 upper
 * limit, and each tail (interval entirely above or below) below Binomial(1000, 0.025)'s. The
 * percentile interval of a median is slightly conservative at this n (measured: 97.2% coverage; BCa
 * 96.0%), so the interval must also not be uselessly wide: coverage below 99.5%. */
static void check_coverage(db_ci_method method) {
    enum { SEEDS = 1000, N = 10 };
    int miss_low = 0, miss_high = 0;
    for (int s = 0; s < SEEDS; s++) {
        db_rng r;
        db_rng_seed(&r, 77 + (uint64_t)s);
        double base[N], cur[N];
        gate_lognormal(&r, 100, 0.1, base, N);
        gate_lognormal(&r, 90, 0.1, cur, N);
        db_ratio_ci ci;
        assert_int_equal(
            db_stats_bootstrap_ratio_ci(base, N, cur, N, 0.95, 2000, method, (uint64_t)s, &ci), 0);
        miss_low += ci.hi < 0.9;
        miss_high += ci.lo > 0.9;
    }
    int misses = miss_low + miss_high;
    print_message("%s interval: %d of %d miss the true ratio (%d above it, %d below)\n",
                  method == DB_CI_BCA ? "BCa" : "percentile", misses, SEEDS, miss_high, miss_low);
    assert_true(misses <= gate_binom_upper_limit(SEEDS, 0.05, 1e-3));
    assert_true(miss_low <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
    assert_true(miss_high <= gate_binom_upper_limit(SEEDS, 0.025, 1e-3));
    assert_true(misses >= SEEDS * 5 / 1000); /* coverage <= 99.5% */
}

static void percentile_interval_covers_the_true_ratio_at_its_confidence(void **state) {
    (void)state;
    check_coverage(DB_CI_PERCENTILE);
}

static void bca_interval_covers_the_true_ratio_at_its_confidence(void **state) {
    (void)state;
    check_coverage(DB_CI_BCA);
}

/* Skewed data: BCa moves the interval relative to the percentile one (the acceleration and bias
 * correction are not zero), while both contain the point estimate. */
static void bca_differs_from_percentile_on_skewed_samples(void **state) {
    (void)state;
    const double base[] = {10, 10.2, 10.3, 10.5, 11, 12, 14, 18, 25, 40};
    const double cur[] = {9, 9.1, 9.3, 9.8, 10, 10.1, 10.4, 11, 13, 30};
    db_ratio_ci p, b;
    assert_int_equal(
        db_stats_bootstrap_ratio_ci(base, 10, cur, 10, 0.95, 4000, DB_CI_PERCENTILE, 9, &p), 0);
    assert_int_equal(db_stats_bootstrap_ratio_ci(base, 10, cur, 10, 0.95, 4000, DB_CI_BCA, 9, &b),
                     0);
    assert_true(p.lo != b.lo || p.hi != b.hi);
    assert_true(b.lo <= b.ratio && b.ratio <= b.hi);
    assert_true(p.lo <= p.ratio && p.ratio <= p.hi);
}

/* ---- sample size ----------------------------------------------------------------------------- */

static void samples_to_decide_scales_with_the_square_of_the_width_ratio(void **state) {
    (void)state;
    /* half-width 0.10 at n = 10, distance 0.05: the width must halve, n x 4 = 40 */
    assert_float_equal(db_stats_samples_to_decide(10, 0.10, 0.05), 40.0, 0);
    assert_float_equal(db_stats_samples_to_decide(7, 0.03, 0.05), ceil(7 * 0.36), 0);
    assert_true(isinf(db_stats_samples_to_decide(10, 0.1, 0.0)));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(median_of_odd_and_even_counts),
        cmocka_unit_test(quantile_interpolates_between_order_statistics),
        cmocka_unit_test(mean_and_sample_stddev),
        cmocka_unit_test(normal_quantile_matches_published_values),
        cmocka_unit_test(normal_cdf_inverts_the_quantile),
        cmocka_unit_test(mann_whitney_matches_the_scipy_documentation_example),
        cmocka_unit_test(mann_whitney_null_distribution_reproduces_textbook_critical_values),
        cmocka_unit_test(mann_whitney_null_counts_match_brute_force_enumeration),
        cmocka_unit_test(mann_whitney_uses_the_tie_corrected_normal_approximation_with_ties),
        cmocka_unit_test(mann_whitney_normal_approximation_is_centred),
        cmocka_unit_test(mann_whitney_smallest_p_reflects_the_sample_sizes),
        cmocka_unit_test(mann_whitney_rejects_empty_and_nan_input),
        cmocka_unit_test(bootstrap_point_estimate_is_the_ratio_of_medians),
        cmocka_unit_test(bootstrap_of_constant_samples_is_a_point),
        cmocka_unit_test(bootstrap_same_seed_same_interval),
        cmocka_unit_test(bootstrap_rejects_non_positive_values_and_bad_arguments),
        cmocka_unit_test(percentile_interval_covers_the_true_ratio_at_its_confidence),
        cmocka_unit_test(bca_interval_covers_the_true_ratio_at_its_confidence),
        cmocka_unit_test(bca_differs_from_percentile_on_skewed_samples),
        cmocka_unit_test(samples_to_decide_scales_with_the_square_of_the_width_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
