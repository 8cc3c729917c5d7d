/* Choosing the next token (engine/cpu_sample.h): greedy argmax and seeded temperature / top-k
 * sampling. Expected values are worked out by hand in the comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cpu_sample.h"

static void argmax_takes_the_lowest_index_among_equal_maxima(void **state) {
    const float l[] = {1.0f, 3.0f, -2.0f, 3.0f, 3.0f};
    assert_int_equal(db_cpu_argmax(l, 5), 1);
}

static void argmax_never_chooses_nan(void **state) {
    const float l[] = {NAN, -5.0f, NAN, -4.0f};
    assert_int_equal(db_cpu_argmax(l, 4), 3);
    const float all_nan[] = {NAN, NAN};
    assert_int_equal(db_cpu_argmax(all_nan, 2), 0);
}

/* logits {0, ln 3} at temperature 1: probabilities 1/4 and 3/4; the inverse CDF in index order
 * gives token 0 for u < 0.25 and token 1 from there on. */
static void sampling_inverts_the_cumulative_distribution_in_index_order(void **state) {
    const float l[] = {0.0f, logf(3.0f)};
    int idx[2];
    assert_int_equal(db_cpu_sample(l, 2, 1.0f, 0, 0.0, idx), 0);
    assert_int_equal(db_cpu_sample(l, 2, 1.0f, 0, 0.2499, idx), 0);
    assert_int_equal(db_cpu_sample(l, 2, 1.0f, 0, 0.2501, idx), 1);
    assert_int_equal(db_cpu_sample(l, 2, 1.0f, 0, 0.9999, idx), 1);
}

/* Temperature 2 halves the logit gap: {0, ln 3} / 2 gives weights 1 and sqrt 3, so token 0 has
 * probability 1 / (1 + sqrt 3) = 0.366. */
static void temperature_divides_the_logits(void **state) {
    const float l[] = {0.0f, logf(3.0f)};
    int idx[2];
    assert_int_equal(db_cpu_sample(l, 2, 2.0f, 0, 0.365, idx), 0);
    assert_int_equal(db_cpu_sample(l, 2, 2.0f, 0, 0.367, idx), 1);
}

/* top_k 2 of {5, 1, 5, 4, 5}: the three 5s tie, the lower indices 0 and 2 are kept with equal
 * weight, so u < 0.5 gives 0 and u >= 0.5 gives 2; tokens 1, 3 and 4 are never drawn. */
static void top_k_keeps_the_largest_logits_lower_index_first(void **state) {
    const float l[] = {5.0f, 1.0f, 5.0f, 4.0f, 5.0f};
    int idx[5];
    assert_int_equal(db_cpu_sample(l, 5, 1.0f, 2, 0.0, idx), 0);
    assert_int_equal(db_cpu_sample(l, 5, 1.0f, 2, 0.49, idx), 0);
    assert_int_equal(db_cpu_sample(l, 5, 1.0f, 2, 0.51, idx), 2);
    assert_int_equal(db_cpu_sample(l, 5, 1.0f, 2, 0.999, idx), 2);
}

static void sampling_skips_nan_logits(void **state) {
    const float l[] = {NAN, 0.0f, NAN};
    int idx[3];
    for (double u = 0.0; u < 1.0; u += 0.125)
        assert_int_equal(db_cpu_sample(l, 3, 1.0f, 0, u, idx), 1);
}

/* The draw is a pure function of (seed, sequence, position), in [0, 1), and changes with each. */
static void uniform_draw_depends_on_seed_sequence_and_position(void **state) {
    double u = db_cpu_sample_uniform(1, 3, 10);
    assert_true(u >= 0.0 && u < 1.0);
    assert_true(u == db_cpu_sample_uniform(1, 3, 10));
    assert_true(u != db_cpu_sample_uniform(2, 3, 10));
    assert_true(u != db_cpu_sample_uniform(1, 4, 10));
    assert_true(u != db_cpu_sample_uniform(1, 3, 11));
}

/* 4096 draws fall in each quarter of [0, 1) about 1024 times: the standard deviation of a quarter's
 * count is sqrt(4096 * 1/4 * 3/4) = 27.7, so 1024 +- 150 (5.4 sd) never fails for a uniform source.
 */
static void uniform_draws_cover_the_unit_interval_evenly(void **state) {
    int quarter[4] = {0};
    for (int pos = 0; pos < 4096; pos++)
        quarter[(int)(db_cpu_sample_uniform(9, 0, pos) * 4.0)]++;
    for (int q = 0; q < 4; q++)
        assert_in_range(quarter[q], 1024 - 150, 1024 + 150);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(argmax_takes_the_lowest_index_among_equal_maxima),
        cmocka_unit_test(argmax_never_chooses_nan),
        cmocka_unit_test(sampling_inverts_the_cumulative_distribution_in_index_order),
        cmocka_unit_test(temperature_divides_the_logits),
        cmocka_unit_test(top_k_keeps_the_largest_logits_lower_index_first),
        cmocka_unit_test(sampling_skips_nan_logits),
        cmocka_unit_test(uniform_draw_depends_on_seed_sequence_and_position),
        cmocka_unit_test(uniform_draws_cover_the_unit_interval_evenly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
