/* The seeded generator behind every workload: reference outputs, ranges, determinism, streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "rng.h"

/* splitmix64 from seed 1234567: the reference sequence published with the algorithm's Rosetta Code
 * task ("Pseudo-random numbers/Splitmix64"). */
static void splitmix64_matches_the_published_sequence(void **state) {
    (void)state;
    const uint64_t expected[5] = {6457827717110365317ULL, 3203168211198807973ULL,
                                  9817491932198370423ULL, 4593380528125082431ULL,
                                  16408922859458223821ULL};
    uint64_t s = 1234567;
    for (int i = 0; i < 5; i++)
        assert_int_equal(db_splitmix64(&s), expected[i]);
}

/* xoshiro256** seeded with four splitmix64(42) outputs; expected values from an independent Python
 * transcription of Blackman & Vigna's reference xoshiro256starstar.c. */
static void xoshiro256starstar_matches_the_reference(void **state) {
    (void)state;
    const uint64_t expected[4] = {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
                                  0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL};
    db_rng r;
    db_rng_seed(&r, 42);
    for (int i = 0; i < 4; i++)
        assert_int_equal(db_rng_next(&r), expected[i]);
}

static void same_seed_gives_the_same_sequence_and_another_seed_does_not(void **state) {
    (void)state;
    db_rng a, b, c;
    db_rng_seed(&a, 7);
    db_rng_seed(&b, 7);
    db_rng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = db_rng_next(&a);
        assert_int_equal(x, db_rng_next(&b));
        differ += x != db_rng_next(&c);
    }
    assert_int_equal(differ, 1000);
}

static void stream_seeds_differ_per_stream(void **state) {
    (void)state;
    assert_true(db_rng_stream_seed(1, 1) != db_rng_stream_seed(1, 2));
    assert_true(db_rng_stream_seed(1, 1) != db_rng_stream_seed(2, 1));
    assert_int_equal(db_rng_stream_seed(5, 3), db_rng_stream_seed(5, 3));
}

static void uniform_stays_in_its_interval(void **state) {
    (void)state;
    db_rng r;
    db_rng_seed(&r, 1);
    for (int i = 0; i < 100000; i++) {
        double u = db_rng_uniform(&r), v = db_rng_uniform_pos(&r);
        assert_true(u >= 0.0 && u < 1.0);
        assert_true(v > 0.0 && v <= 1.0);
    }
}

/* below(6), n = 60000 draws: each face count is Binomial(n, 1/6), mean 10000, sd
 * sqrt(n p (1-p)) = 91.3; a 5-sigma band is +-456. */
static void below_is_uniform_over_its_range(void **state) {
    (void)state;
    db_rng r;
    db_rng_seed(&r, 2);
    int count[6] = {0};
    for (int i = 0; i < 60000; i++) {
        uint64_t k = db_rng_below(&r, 6);
        assert_true(k < 6);
        count[k]++;
    }
    for (int k = 0; k < 6; k++)
        assert_true(abs(count[k] - 10000) <= 456);
}

/* Normal: n = 200000 draws; the sample mean has sd 1/sqrt(n) = 0.00224 (5 sigma: 0.0112); the
 * sample variance has sd sqrt(2/n) = 0.00316 (5 sigma: 0.0158). */
static void normal_has_mean_0_and_variance_1(void **state) {
    (void)state;
    db_rng r;
    db_rng_seed(&r, 3);
    const int n = 200000;
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) {
        double x = db_rng_normal(&r);
        s += x;
        ss += x * x;
    }
    double mean = s / n, var = ss / n - mean * mean;
    assert_true(fabs(mean) < 0.0112);
    assert_true(fabs(var - 1.0) < 0.0158);
}

/* Gamma(k) has mean k and variance k. For n draws the sample mean has sd sqrt(k/n); 5-sigma bands.
 * k = 0.25 exercises the shape < 1 boost, k = 4 the direct method. */
static void gamma_has_mean_and_variance_equal_to_its_shape(void **state) {
    (void)state;
    const double shapes[2] = {0.25, 4.0};
    for (int j = 0; j < 2; j++) {
        db_rng r;
        db_rng_seed(&r, 4 + (uint64_t)j);
        const int n = 200000;
        const double k = shapes[j];
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++) {
            double x = db_rng_gamma(&r, k);
            assert_true(x >= 0);
            s += x;
            ss += x * x;
        }
        double mean = s / n, var = ss / n - mean * mean;
        assert_true(fabs(mean - k) < 5 * sqrt(k / n));
        /* Var of the sample variance ~ (mu4 - sigma^4)/n with mu4 = 3k^2 + 6k for a gamma. */
        assert_true(fabs(var - k) < 5 * sqrt((3 * k * k + 6 * k - k * k) / n));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splitmix64_matches_the_published_sequence),
        cmocka_unit_test(xoshiro256starstar_matches_the_reference),
        cmocka_unit_test(same_seed_gives_the_same_sequence_and_another_seed_does_not),
        cmocka_unit_test(stream_seeds_differ_per_stream),
        cmocka_unit_test(uniform_stays_in_its_interval),
        cmocka_unit_test(below_is_uniform_over_its_range),
        cmocka_unit_test(normal_has_mean_0_and_variance_1),
        cmocka_unit_test(gamma_has_mean_and_variance_equal_to_its_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
