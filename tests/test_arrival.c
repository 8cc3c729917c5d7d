/* Arrival processes: sample rates, CVs and ramp shapes inside bounds derived for the sample size,
 * and the message for every malformed spec.
 *
 * Derivations (n gaps, mean mu, sd sigma, c = sigma / mu, skewness g, kurtosis K):
 * - the sample mean gap has sd sigma / sqrt(n);
 * - by the delta method the sample CV has variance c^2 ((K - 1) / 4 + c^2 - c g) / n; a gamma gap
 *   with shape k = 1/c^2 has g = 2c and K = 3 + 6c^2, giving c^2 (1 + c^2) / (2n) (1/n for the
 *   exponential, c = 1);
 * - a Poisson count with mean L has sd sqrt(L).
 * Every check uses a 5-sigma band: a false failure has probability below 6e-7, and a rate wrong by
 * 10% lands outside the band at the sample sizes used (the band is under 4% of the mean). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arrival.h"

static db_arrival_spec parse(const char *text) {
    char err[512] = "";
    db_arrival_spec s;
    int rc = db_arrival_parse(text, "--arrival", &s, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

static void assert_within(double x, double expected, double band) {
    if (!(fabs(x - expected) <= band))
        fprintf(stderr, "got %f, expected %f +- %f\n", x, expected, band);
    assert_true(fabs(x - expected) <= band);
}

/* n gaps of the process: their mean and CV; asserts arrival times never go backwards. */
static void gap_stats(const char *text, uint64_t seed, int n, double *mean, double *cv) {
    db_arrival_spec s = parse(text);
    db_arrival_gen g;
    db_arrival_gen_init(&g, &s, seed, 0);
    double prev = 0, sum = 0, ss = 0, t;
    for (int i = 0; i < n; i++) {
        assert_int_equal(db_arrival_next(&g, &t), 0);
        assert_true(t >= prev);
        double gap = t - prev;
        sum += gap;
        ss += gap * gap;
        prev = t;
    }
    *mean = sum / n;
    *cv = sqrt(ss / n - *mean * *mean) / *mean;
}

static void poisson_gaps_have_mean_one_over_rate_and_cv_1(void **state) {
    (void)state;
    const int n = 100000;
    double mean, cv;
    gap_stats("poisson:5", 1, n, &mean, &cv);
    assert_within(mean, 0.2, 5 * 0.2 / sqrt(n));
    assert_within(cv, 1.0, 5 / sqrt(n));
}

static void gamma_gaps_have_the_given_rate_and_cv(void **state) {
    (void)state;
    const int n = 200000;
    const struct {
        const char *spec;
        double rate, c;
    } cases[] = {{"gamma:10:3", 10, 3}, {"gamma:10:0.5", 10, 0.5}, {"gamma:2:1", 2, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mean, cv, c = cases[i].c, mu = 1 / cases[i].rate;
        gap_stats(cases[i].spec, 2 + i, n, &mean, &cv);
        assert_within(mean, mu, 5 * c * mu / sqrt(n));
        assert_within(cv, c, 5 * sqrt(c * c * (1 + c * c) / (2.0 * n)));
    }
}

/* constant:4 puts request i at (i + 1) / 4 s exactly. */
static void constant_arrivals_are_evenly_spaced_from_one_gap_after_zero(void **state) {
    (void)state;
    db_arrival_spec s = parse("constant:4");
    db_arrival_gen g;
    db_arrival_gen_init(&g, &s, 3, 0);
    double t;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(db_arrival_next(&g, &t), 0);
        assert_true(t == (i + 1) / 4.0);
    }
}

/* Counts arrivals in [0, T/2), [T/2, T] and (T, 2T]. */
static void ramp_counts(const char *text, double T, uint64_t seed, double *first, double *second,
                        double *after, double *mean_frac) {
    db_arrival_spec s = parse(text);
    db_arrival_gen g;
    db_arrival_gen_init(&g, &s, seed, T);
    double t, prev = 0, frac = 0;
    *first = *second = *after = 0;
    while (db_arrival_next(&g, &t) == 0 && t <= 2 * T) {
        assert_true(t >= prev);
        prev = t;
        if (t < T / 2)
            *first += 1;
        else if (t <= T)
            *second += 1;
        else
            *after += 1;
        if (t <= T) frac += t / T;
    }
    *mean_frac = frac / (*first + *second);
}

/* ramp:10:50 over T = 1000 s: Lambda(T/2) = T (3 R0 + R1) / 8 = 10000 in the first half, T (R0 + 3
 * R1) / 8 = 20000 in the second, then R1 T = 50000 in (T, 2T]. */
static void ramp_rate_rises_linearly_then_holds(void **state) {
    (void)state;
    double a, b, c, f;
    ramp_counts("ramp:10:50", 1000, 4, &a, &b, &c, &f);
    assert_within(a, 10000, 5 * sqrt(10000));
    assert_within(b, 20000, 5 * sqrt(20000));
    assert_within(c, 50000, 5 * sqrt(50000));
}

/* A falling ramp: ramp:50:10 gives 20000 then 10000, then 10 req/s. */
static void ramp_can_fall(void **state) {
    (void)state;
    double a, b, c, f;
    ramp_counts("ramp:50:10", 1000, 5, &a, &b, &c, &f);
    assert_within(a, 20000, 5 * sqrt(20000));
    assert_within(b, 10000, 5 * sqrt(10000));
    assert_within(c, 10000, 5 * sqrt(10000));
}

/* ramp:0:20 over T = 1000 s: 10000 arrivals expected; given the count, times have density 2t/T^2 on
 * [0, T], so t/T has mean 2/3 and sd sqrt(1/2 - 4/9) = 0.2357 (sd of the mean 0.2357 /
 * sqrt(10000)). A homogeneous process would give 1/2. */
static void ramp_from_zero_has_a_triangular_time_density(void **state) {
    (void)state;
    double a, b, c, f;
    ramp_counts("ramp:0:20", 1000, 6, &a, &b, &c, &f);
    assert_within(a + b, 10000, 5 * sqrt(10000));
    assert_within(f, 2.0 / 3.0, 5 * 0.2357 / sqrt(10000));
}

/* ramp:20:0 ends: after Lambda(T) = 10 T there is nothing more. */
static void ramp_to_zero_ends_at_t(void **state) {
    (void)state;
    db_arrival_spec s = parse("ramp:20:0");
    db_arrival_gen g;
    db_arrival_gen_init(&g, &s, 7, 100);
    double t, last = 0;
    int n = 0;
    while (db_arrival_next(&g, &t) == 0) {
        last = t;
        n++;
        assert_true(n < 100000);
    }
    assert_true(last <= 100);
    assert_within(n, 1000, 5 * sqrt(1000));
}

static void same_seed_gives_the_same_arrivals(void **state) {
    (void)state;
    db_arrival_spec s = parse("gamma:5:2");
    db_arrival_gen a, b;
    db_arrival_gen_init(&a, &s, 8, 0);
    db_arrival_gen_init(&b, &s, 8, 0);
    double x, y;
    for (int i = 0; i < 10000; i++) {
        db_arrival_next(&a, &x);
        db_arrival_next(&b, &y);
        assert_true(x == y);
    }
}

static void well_formed_specs_fill_their_fields(void **state) {
    (void)state;
    db_arrival_spec s = parse("concurrency:8:500ms");
    assert_int_equal(s.kind, DB_ARRIVAL_CONCURRENCY);
    assert_int_equal(s.concurrency, 8);
    assert_true(s.think_s == 0.5);
    s = parse("concurrency:4");
    assert_true(s.think_s == 0);
    s = parse("trace");
    assert_int_equal(s.kind, DB_ARRIVAL_TRACE);
    assert_true(s.scale == 1.0);
    s = parse("trace:2");
    assert_true(s.scale == 2.0);
    s = parse("offline");
    assert_int_equal(s.kind, DB_ARRIVAL_OFFLINE);
    assert_false(db_arrival_is_generated(&s));
    s = parse("ramp:0:40");
    assert_true(s.rate == 0 && s.rate_end == 40);
    assert_true(db_arrival_is_generated(&s));
}

static void expect_error(const char *text, const char *expected) {
    char err[512] = "";
    db_arrival_spec s;
    assert_int_equal(db_arrival_parse(text, "--arrival", &s, err, sizeof err), -1);
    assert_string_equal(err, expected);
}

static void malformed_specs_say_what_was_expected(void **state) {
    (void)state;
    expect_error("gamma:5", "--arrival gamma:5: expected gamma:RATE:CV");
    expect_error("gamma:5:0", "--arrival gamma:5:0: CV: expected a positive number, got '0'");
    expect_error("poisson", "--arrival poisson: expected poisson:RATE");
    expect_error("poisson:-2",
                 "--arrival poisson:-2: RATE: expected a positive number (requests/s), got '-2'");
    expect_error(
        "poisson:fast",
        "--arrival poisson:fast: RATE: expected a positive number (requests/s), got 'fast'");
    expect_error("constant:1:2", "--arrival constant:1:2: expected constant:RATE");
    expect_error("concurrency", "--arrival concurrency: expected concurrency:N[:THINK]");
    expect_error("concurrency:0",
                 "--arrival concurrency:0: N: expected an integer in 1..1000000, got '0'");
    expect_error("concurrency:4:soon",
                 "--arrival concurrency:4:soon: THINK: expected a non-negative "
                 "time such as 0.5, 500ms or 2s, got 'soon'");
    expect_error("offline:3", "--arrival offline:3: expected offline (no parameters)");
    expect_error(
        "trace:0",
        "--arrival trace:0: SCALE: expected a positive number (2 = twice as fast), got '0'");
    expect_error("trace:1:2", "--arrival trace:1:2: expected trace[:SCALE]");
    expect_error("ramp:5", "--arrival ramp:5: expected ramp:R0:R1");
    expect_error("ramp:0:0", "--arrival ramp:0:0: expected R0 or R1 to be positive");
    expect_error("ramp:1:2:3:4:5", "--arrival ramp:1:2:3:4:5: expected ramp:R0:R1");
    expect_error("ramp:-1:5",
                 "--arrival ramp:-1:5: R0: expected a non-negative number (requests/s), got '-1'");
    expect_error("burst:5",
                 "--arrival burst:5: unknown arrival process 'burst' (expected poisson:RATE, "
                 "gamma:RATE:CV, constant:RATE, concurrency:N[:THINK], offline, "
                 "trace[:SCALE] or ramp:R0:R1)");
    expect_error("", "--arrival: expected an arrival process (poisson:RATE, gamma:RATE:CV, "
                     "constant:RATE, concurrency:N[:THINK], offline, trace[:SCALE] or ramp:R0:R1), "
                     "got an empty string");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poisson_gaps_have_mean_one_over_rate_and_cv_1),
        cmocka_unit_test(gamma_gaps_have_the_given_rate_and_cv),
        cmocka_unit_test(constant_arrivals_are_evenly_spaced_from_one_gap_after_zero),
        cmocka_unit_test(ramp_rate_rises_linearly_then_holds),
        cmocka_unit_test(ramp_can_fall),
        cmocka_unit_test(ramp_from_zero_has_a_triangular_time_density),
        cmocka_unit_test(ramp_to_zero_ends_at_t),
        cmocka_unit_test(same_seed_gives_the_same_arrivals),
        cmocka_unit_test(well_formed_specs_fill_their_fields),
        cmocka_unit_test(malformed_specs_say_what_was_expected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
