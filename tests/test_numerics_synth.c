/* test_numerics_synth.c — the counter-based synthetic weight generator (kernels/synth.h): pinned
 * values, determinism, range and lattice, and statistics within bands derived from the
 * distributions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "synth.h"

#define SAMPLES (1 << 20)

/* Expected bits and values come from an independent Python implementation of the construction in
 * synth.h (splitmix64 finaliser; key = mix(mix(seed ^ 0x6A09E667F3BCC909) + (t + 1) * gamma);
 * bits = mix(key + (i + 1) * gamma); uniform = (2 * (bits >> 40) + 1 - 2^24) / 2^24). The CUDA
 * backend must reproduce these exactly. */
static void pinned_values(void **state) {
    (void)state;
    assert_int_equal(db_synth_bits(db_synth_key(1, 0), 0), 0x2680eb503eaf78f4ull);
    assert_int_equal(db_synth_bits(db_synth_key(1, 0), 1), 0x6d73c22c19ed9703ull);
    assert_int_equal(db_synth_bits(db_synth_key(42, 7), 123456789), 0xafd690094dedc330ull);
    assert_float_equal(db_synth_uniform(1, 0, 0), -0.6991906762123108f, 0.0f);
    assert_float_equal(db_synth_uniform(1, 0, 1), -0.14490479230880737f, 0.0f);
    assert_float_equal(db_synth_uniform(42, 7, 123456789), 0.3737354874610901f, 0.0f);
    assert_float_equal(db_synth_uniform(0xDEADBEEF, 3, 0), 0.6925238966941833f, 0.0f);
    /* Irwin-Hall sum t of the four 16-bit fields of 0x2680eb503eaf78f4 is -27926 (same script). */
    assert_float_equal(db_synth_normal(1, 0, 0), (float)-27926 * 1.32144989591131e-05f, 0.0f);
}

static void same_inputs_same_value_different_tensors_differ(void **state) {
    (void)state;
    int same_seed_diff_tensor = 0, diff_seed_same_tensor = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        assert_float_equal(db_synth_uniform(5, 9, i), db_synth_uniform(5, 9, i), 0.0f);
        same_seed_diff_tensor += db_synth_uniform(5, 9, i) == db_synth_uniform(5, 10, i);
        diff_seed_same_tensor += db_synth_uniform(5, 9, i) == db_synth_uniform(6, 9, i);
    }
    /* Equal values between independent streams have probability 2^-24 per draw. */
    assert_true(same_seed_diff_tensor <= 1);
    assert_true(diff_seed_same_tensor <= 1);
}

static void uniform_is_an_odd_multiple_of_2_pow_minus_24_in_open_interval(void **state) {
    (void)state;
    uint64_t key = db_synth_key(3, 1);
    for (uint64_t i = 0; i < 100000; i++) {
        float u = db_synth_uniform_from_bits(db_synth_bits(key, i));
        assert_true(u > -1.0f && u < 1.0f);
        double m = (double)u * 16777216.0;
        assert_true(m == floor(m) && fmod(fabs(m), 2.0) == 1.0);
    }
    /* The extremes of the lattice: bits >> 40 = 0 and 2^24 - 1. */
    assert_float_equal(db_synth_uniform_from_bits(0), -1.0f + 5.9604644775390625e-08f, 0.0f);
    assert_float_equal(db_synth_uniform_from_bits(~0ull), 1.0f - 5.9604644775390625e-08f, 0.0f);
}

/* Bands are 6 standard errors of the estimator, derived from the distribution:
 * uniform on (-1, 1): mean 0, variance 1/3, E[u^4] = 1/5, so var(u^2) = 1/5 - 1/9 = 4/45;
 * Irwin-Hall(4) standardised: mean 0, variance 1, excess kurtosis -6/(5*4) = -0.3, so
 * E[z^4] = 2.7 and var(z^2) = 1.7. */
static void uniform_mean_and_variance(void **state) {
    (void)state;
    uint64_t key = db_synth_key(2024, 17);
    double s1 = 0, s2 = 0, lag = 0, prev = 0;
    for (uint64_t i = 0; i < SAMPLES; i++) {
        double u = db_synth_uniform_from_bits(db_synth_bits(key, i));
        s1 += u;
        s2 += u * u;
        lag += u * prev;
        prev = u;
    }
    double n = SAMPLES, mean = s1 / n, var = s2 / n - mean * mean;
    assert_true(fabs(mean) < 6 * sqrt((1.0 / 3) / n));           /* 0.0034 */
    assert_true(fabs(var - 1.0 / 3) < 6 * sqrt((4.0 / 45) / n)); /* 0.0018 */
    /* Neighbouring indices uncorrelated: E[u_i u_{i+1}] = 0 with standard error (1/3) / sqrt(n). */
    assert_true(fabs(lag / n) < 6 * (1.0 / 3) / sqrt(n));
}

static void uniform_fills_64_bins_evenly(void **state) {
    (void)state;
    /* Chi-square with 63 degrees of freedom: mean 63, sd sqrt(126) = 11.2; reject above mean + 6
     * sd. */
    static int64_t bins[64];
    uint64_t key = db_synth_key(77, 0);
    for (uint64_t i = 0; i < SAMPLES; i++) {
        float u = db_synth_uniform_from_bits(db_synth_bits(key, i));
        bins[(int)((u + 1.0f) * 32.0f)]++;
    }
    double expect = SAMPLES / 64.0, chi2 = 0;
    for (int b = 0; b < 64; b++)
        chi2 += (bins[b] - expect) * (bins[b] - expect) / expect;
    assert_true(chi2 < 63 + 6 * sqrt(126.0));
}

static void normal_mean_variance_and_bound(void **state) {
    (void)state;
    uint64_t key = db_synth_key(9, 99);
    double s1 = 0, s2 = 0;
    for (uint64_t i = 0; i < SAMPLES; i++) {
        double z = db_synth_normal_from_bits(db_synth_bits(key, i));
        assert_true(fabs(z) <= 2 * sqrt(3.0) + 1e-6);
        s1 += z;
        s2 += z * z;
    }
    double n = SAMPLES, mean = s1 / n, var = s2 / n - mean * mean;
    assert_true(fabs(mean) < 6 / sqrt(n));            /* 0.0059 */
    assert_true(fabs(var - 1.0) < 6 * sqrt(1.7 / n)); /* 0.0076 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pinned_values),
        cmocka_unit_test(same_inputs_same_value_different_tensors_differ),
        cmocka_unit_test(uniform_is_an_odd_multiple_of_2_pow_minus_24_in_open_interval),
        cmocka_unit_test(uniform_mean_and_variance),
        cmocka_unit_test(uniform_fills_64_bins_evenly),
        cmocka_unit_test(normal_mean_variance_and_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
