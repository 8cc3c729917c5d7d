/* Length distributions: sample statistics inside bounds derived for the sample size, clamps,
 * mixture weights, empirical columns, and the message for every malformed spec.
 *
 * Bounds: for n independent draws of a distribution with mean mu and sd sigma, the sample mean has
 * sd sigma / sqrt(n) (central limit theorem); a 5-sigma band fails by chance with probability below
 * 6e-7, while a 10% error in the mean (e.g. lognormal parameters read as those of the log) falls
 * far outside it at the sample sizes used. A proportion p over n draws has sd sqrt(p (1 - p) / n).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lengths.h"

#define N 200000

static char dir[64];
static char path[128];

static db_length_source *make(const char *spec) {
    char err[512] = "";
    db_length_source *src = NULL;
    int rc = db_length_source_parse(spec, "--prompt-len", &src, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return src;
}

/* Draws N samples; returns their mean, and their min/max through lo/hi. */
static double sample_mean(const char *spec, uint64_t seed, int32_t *lo, int32_t *hi) {
    db_length_source *src = make(spec);
    db_rng r;
    db_rng_seed(&r, seed);
    double sum = 0;
    *lo = INT32_MAX;
    *hi = 0;
    for (int i = 0; i < N; i++) {
        int32_t v = db_length_sample(src, &r);
        sum += v;
        if (v < *lo) *lo = v;
        if (v > *hi) *hi = v;
    }
    db_length_source_free(src);
    return sum / N;
}

static void assert_within(double x, double expected, double band) {
    if (!(fabs(x - expected) <= band))
        fprintf(stderr, "got %f, expected %f +- %f\n", x, expected, band);
    assert_true(fabs(x - expected) <= band);
}

static void fixed_always_gives_n(void **state) {
    (void)state;
    int32_t lo, hi;
    assert_true(sample_mean("fixed:128", 1, &lo, &hi) == 128.0);
    assert_int_equal(lo, 128);
    assert_int_equal(hi, 128);
}

/* uniform:10:20: 11 values, mean 15, sd sqrt((11^2 - 1) / 12) = 3.162. */
static void uniform_covers_lo_to_hi_with_mean_at_the_middle(void **state) {
    (void)state;
    int32_t lo, hi;
    double m = sample_mean("uniform:10:20", 2, &lo, &hi);
    assert_int_equal(lo, 10);
    assert_int_equal(hi, 20);
    assert_within(m, 15.0, 5 * 3.162 / sqrt(N));
}

/* normal:1000:100: far from the default clamp at 1, so mean 1000, sd 100 (rounding adds sd
 * sqrt(1/12), negligible). */
static void normal_has_the_given_mean(void **state) {
    (void)state;
    int32_t lo, hi;
    assert_within(sample_mean("normal:1000:100", 3, &lo, &hi), 1000.0, 5 * 100.0 / sqrt(N));
}

static void normal_clamps_are_respected_and_reached(void **state) {
    (void)state;
    int32_t lo, hi;
    sample_mean("normal:100:1000:50:150", 4, &lo, &hi);
    assert_int_equal(lo, 50);
    assert_int_equal(hi, 150);
    sample_mean("normal:5:50", 5, &lo, &hi); /* default clamp: nothing below 1 */
    assert_int_equal(lo, 1);
}

/* lognormal:1000:500 means the lengths have mean 1000 and sd 500. If MEAN and SD were taken as the
 * log's, the mean would be astronomically large; with sigma^2 = ln(1 + 0.25), the median is
 * exp(mu) = 1000 / sqrt(1.25) = 894.4. */
static void lognormal_mean_and_sd_are_those_of_the_lengths(void **state) {
    (void)state;
    int32_t lo, hi;
    assert_within(sample_mean("lognormal:1000:500", 6, &lo, &hi), 1000.0, 5 * 500.0 / sqrt(N));
    /* Sample variance: its sd is about sigma^4 sqrt((kurtosis - 1) / n); a lognormal with
     * w = exp(sigma^2) = 1.25 has kurtosis w^4 + 2w^3 + 3w^2 - 3 = 8.035, so the band is
     * 5 * 250000 * sqrt(7.035 / n) = 7414 (rounding adds 1/12 to the variance). */
    db_length_source *src = make("lognormal:1000:500");
    db_rng r;
    db_rng_seed(&r, 7);
    double s = 0, ss = 0;
    int below_median = 0;
    for (int i = 0; i < N; i++) {
        double v = db_length_sample(src, &r);
        s += v;
        ss += v * v;
        below_median += v < 894.4;
    }
    double mean = s / N, var = ss / N - mean * mean;
    assert_within(var, 250000.0 + 1.0 / 12, 7414.0);
    /* Half the lengths lie below the median: proportion 0.5, sd 0.5 / sqrt(n). The rounding to
     * integers moves the proportion by at most the density at the median times 0.5, < 0.0005. */
    assert_within((double)below_median / N, 0.5, 5 * 0.5 / sqrt(N) + 0.0005);
    db_length_source_free(src);
}

static void lognormal_clamps_are_respected(void **state) {
    (void)state;
    int32_t lo, hi;
    sample_mean("lognormal:1000:2000:200:3000", 8, &lo, &hi);
    assert_int_equal(lo, 200);
    assert_int_equal(hi, 3000);
}

/* The exact mean and variance of zipf(s, max) by summing k^-s over 1..max. */
static void zipf_moments(double s, int max, double *mean, double *var, double *p1) {
    double z = 0, m1 = 0, m2 = 0;
    for (int k = 1; k <= max; k++) {
        double w = pow(k, -s);
        z += w;
        m1 += k * w;
        m2 += (double)k * k * w;
    }
    *mean = m1 / z;
    *var = m2 / z - *mean * *mean;
    *p1 = 1.0 / z;
}

static void zipf_matches_its_exact_moments(void **state) {
    (void)state;
    const struct {
        const char *spec;
        double s;
        int max;
    } cases[] = {{"zipf:1.2:1000", 1.2, 1000}, {"zipf:0.8:100", 0.8, 100}, {"zipf:2:50", 2.0, 50}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double mean, var, p1;
        zipf_moments(cases[c].s, cases[c].max, &mean, &var, &p1);
        db_length_source *src = make(cases[c].spec);
        db_rng r;
        db_rng_seed(&r, 9 + c);
        double sum = 0;
        int ones = 0;
        for (int i = 0; i < N; i++) {
            int32_t v = db_length_sample(src, &r);
            assert_true(v >= 1 && v <= cases[c].max);
            sum += v;
            ones += v == 1;
        }
        assert_within(sum / N, mean, 5 * sqrt(var / N));
        assert_within((double)ones / N, p1, 5 * sqrt(p1 * (1 - p1) / N));
        db_length_source_free(src);
    }
}

/* 70% fixed:10, 30% fixed:1000: the share of 10s is a proportion with p = 0.7. Weights are
 * relative: 7 and 3 mean the same. */
static void mixture_weights_are_respected(void **state) {
    (void)state;
    const char *specs[2] = {"mix:0.7*fixed:10,0.3*fixed:1000", "mix:7*fixed:10,3*fixed:1000"};
    for (int j = 0; j < 2; j++) {
        db_length_source *src = make(specs[j]);
        db_rng r;
        db_rng_seed(&r, 20 + (uint64_t)j);
        int tens = 0;
        for (int i = 0; i < N; i++) {
            int32_t v = db_length_sample(src, &r);
            assert_true(v == 10 || v == 1000);
            tens += v == 10;
        }
        assert_within((double)tens / N, 0.7, 5 * sqrt(0.7 * 0.3 / N));
        db_length_source_free(src);
    }
}

static void mixtures_take_any_kind_of_component(void **state) {
    (void)state;
    int32_t lo, hi;
    /* mean = 0.5 * 1000 + 0.5 * 15 = 507.5; variance = sum w_i (sigma_i^2 + (mu_i - mu)^2)
     * = 0.5 (500^2 + 492.5^2) + 0.5 (10 + 492.5^2) = 367561, sd 606.3. */
    double m = sample_mean("mix:1*lognormal:1000:500,1*uniform:10:20", 22, &lo, &hi);
    assert_within(m, 507.5, 5 * 606.3 / sqrt(N));
}

static const char *write_file(const char *name, const char *content) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

/* Values 10, 10, 10, 20 (a zero is skipped): P(10) = 0.75. */
static void empirical_resamples_a_column_by_name(void **state) {
    (void)state;
    char spec[256];
    snprintf(spec, sizeof spec, "empirical:%s:len",
             write_file("e1.csv", "id,len\na,10\nb,10\nc,0\nd,20\ne,10\n"));
    db_length_source *src = make(spec);
    assert_int_equal(db_length_source_skipped(src), 1);
    db_rng r;
    db_rng_seed(&r, 30);
    int tens = 0;
    for (int i = 0; i < N; i++) {
        int32_t v = db_length_sample(src, &r);
        assert_true(v == 10 || v == 20);
        tens += v == 10;
    }
    assert_within((double)tens / N, 0.75, 5 * sqrt(0.75 * 0.25 / N));
    db_length_source_free(src);
}

/* By index: a first line whose field is not an integer is a header; one that is, is data. */
static void empirical_by_index_detects_a_header(void **state) {
    (void)state;
    char spec[256];
    int32_t lo, hi;
    snprintf(spec, sizeof spec, "empirical:%s:2", write_file("e2.csv", "x,len\n1,7\n2,7\n"));
    assert_true(sample_mean(spec, 31, &lo, &hi) == 7.0);
    snprintf(spec, sizeof spec, "empirical:%s", write_file("e3.csv", "5\n5\n"));
    assert_true(sample_mean(spec, 32, &lo, &hi) == 5.0);
}

/* The Azure conv prompt column: 22361870 tokens over 19366 rows, population sd 1108.79 (Python). */
static void empirical_reads_a_real_trace_column(void **state) {
    (void)state;
    const char *shared = getenv("DB_SHARED_DIR");
    if (!shared) skip();
    char file[4096], spec[4200];
    snprintf(file, sizeof file, "%s/traces/AzureLLMInferenceTrace_conv.csv", shared);
    if (access(file, R_OK) != 0) skip();
    snprintf(spec, sizeof spec, "empirical:%s:ContextTokens", file);
    int32_t lo, hi;
    double m = sample_mean(spec, 33, &lo, &hi);
    assert_within(m, 22361870.0 / 19366, 5 * 1108.79 / sqrt(N));
    assert_true(lo >= 2 && hi <= 14050); /* the column's min and max */
}

static void same_seed_gives_the_same_lengths(void **state) {
    (void)state;
    db_length_source *src = make("mix:0.5*lognormal:500:300,0.5*zipf:1.1:4000");
    db_rng a, b;
    db_rng_seed(&a, 40);
    db_rng_seed(&b, 40);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(db_length_sample(src, &a), db_length_sample(src, &b));
    db_length_source_free(src);
}

static void expect_error(const char *spec, const char *expected) {
    char err[512] = "";
    db_length_source *src = (db_length_source *)1;
    assert_int_equal(db_length_source_parse(spec, "--prompt-len", &src, err, sizeof err), -1);
    assert_null(src);
    assert_string_equal(err, expected);
}

static void malformed_specs_say_what_was_expected(void **state) {
    (void)state;
    expect_error("", "--prompt-len: expected a length distribution such as fixed:128 or "
                     "lognormal:1000:500, got an empty string");
    expect_error("fixed", "--prompt-len fixed: expected fixed:N");
    expect_error("fixed:0",
                 "--prompt-len fixed:0: N: expected an integer in 1..2147483647, got '0'");
    expect_error("fixed:12.5",
                 "--prompt-len fixed:12.5: N: expected an integer in 1..2147483647, got '12.5'");
    expect_error("uniform:5", "--prompt-len uniform:5: expected uniform:LO:HI");
    expect_error("uniform:20:10",
                 "--prompt-len uniform:20:10: expected LO <= HI, got LO 20 and HI 10");
    expect_error("normal:100", "--prompt-len normal:100: expected normal:MEAN:SD[:LO:HI]");
    expect_error("normal:100:10:5",
                 "--prompt-len normal:100:10:5: expected normal:MEAN:SD[:LO:HI]");
    expect_error("normal:abc:10",
                 "--prompt-len normal:abc:10: MEAN: expected a positive number, got 'abc'");
    expect_error("lognormal:100:-1",
                 "--prompt-len lognormal:100:-1: SD: expected a non-negative number, got '-1'");
    expect_error("lognormal:100:10:1:2:3",
                 "--prompt-len lognormal:100:10:1:2:3: expected lognormal:MEAN:SD[:LO:HI]");
    expect_error("zipf:0:100", "--prompt-len zipf:0:100: S: expected a positive number, got '0'");
    expect_error("zipf:1.1", "--prompt-len zipf:1.1: expected zipf:S:MAX");
    expect_error("poisson:5",
                 "--prompt-len poisson:5: unknown length distribution 'poisson' (expected "
                 "fixed:N, uniform:LO:HI, normal:MEAN:SD[:LO:HI], "
                 "lognormal:MEAN:SD[:LO:HI], zipf:S:MAX, empirical:FILE[:COLUMN] or "
                 "mix:W1*SPEC1,W2*SPEC2,...)");
    expect_error("mix:0.5*fixed:1,fixed:2", "--prompt-len mix:0.5*fixed:1,fixed:2: component "
                                            "'fixed:2': expected WEIGHT*SPEC");
    expect_error("mix:-1*fixed:1",
                 "--prompt-len mix:-1*fixed:1: WEIGHT: expected a positive number, got '-1'");
    expect_error("mix:1*mix:1*fixed:2",
                 "--prompt-len mix:1*mix:1*fixed:2: a mix component cannot itself be a mix");
    expect_error("mix:1*fixed:x",
                 "--prompt-len mix:1*fixed:x: N: expected an integer in 1..2147483647, got 'x'");
    expect_error("empirical", "--prompt-len empirical: expected empirical:FILE[:COLUMN]");
}

static void bad_empirical_files_name_file_line_and_column(void **state) {
    (void)state;
    char spec[256], expected[512];
    const char *p = write_file("bad1.csv", "len\n10\nx\n");
    snprintf(spec, sizeof spec, "empirical:%s:len", p);
    snprintf(expected, sizeof expected,
             "--prompt-len %s: %s:3: column len: expected a non-negative integer, got 'x'", spec,
             p);
    expect_error(spec, expected);
    p = write_file("bad2.csv", "a,b\n1,2\n");
    snprintf(spec, sizeof spec, "empirical:%s:len", p);
    snprintf(expected, sizeof expected,
             "--prompt-len %s: %s:1: expected a header with a column named 'len'", spec, p);
    expect_error(spec, expected);
    p = write_file("bad3.csv", "");
    snprintf(spec, sizeof spec, "empirical:%s", p);
    snprintf(expected, sizeof expected,
             "--prompt-len %s: %s: empty file (expected a CSV column of lengths)", spec, p);
    expect_error(spec, expected);
    p = write_file("bad4.csv", "n\n0\n0\n");
    snprintf(spec, sizeof spec, "empirical:%s:1", p);
    snprintf(expected, sizeof expected,
             "--prompt-len %s: %s: column n has no positive values (2 zeros)", spec, p);
    expect_error(spec, expected);
    snprintf(spec, sizeof spec, "empirical:%s/none.csv:2", dir);
    snprintf(expected, sizeof expected,
             "--prompt-len %s: %s/none.csv: cannot open: No such file or directory", spec, dir);
    expect_error(spec, expected);
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/db_test_lengths_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    const char *names[] = {"e1.csv",   "e2.csv",   "e3.csv",  "bad1.csv",
                           "bad2.csv", "bad3.csv", "bad4.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    return rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_always_gives_n),
        cmocka_unit_test(uniform_covers_lo_to_hi_with_mean_at_the_middle),
        cmocka_unit_test(normal_has_the_given_mean),
        cmocka_unit_test(normal_clamps_are_respected_and_reached),
        cmocka_unit_test(lognormal_mean_and_sd_are_those_of_the_lengths),
        cmocka_unit_test(lognormal_clamps_are_respected),
        cmocka_unit_test(zipf_matches_its_exact_moments),
        cmocka_unit_test(mixture_weights_are_respected),
        cmocka_unit_test(mixtures_take_any_kind_of_component),
        cmocka_unit_test(empirical_resamples_a_column_by_name),
        cmocka_unit_test(empirical_by_index_detects_a_header),
        cmocka_unit_test(empirical_reads_a_real_trace_column),
        cmocka_unit_test(same_seed_gives_the_same_lengths),
        cmocka_unit_test(malformed_specs_say_what_was_expected),
        cmocka_unit_test(bad_empirical_files_name_file_line_and_column),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
