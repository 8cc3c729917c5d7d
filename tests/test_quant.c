/* test_quant.c — int8 per-channel, int4 group-128 and fp8 per-channel quantisation
 * (kernels/numerics.h) and their storage in db_linear (engine/linear.h): rounding rule, packing
 * order, scale format, and the round-trip error bounds the README states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "linear.h"
#include "numerics.h"
#include "synth.h"

/* Rounding w / s to an integer q: fl(w / s) is within |w / s| * 2^-24 of w / s, so when w / s lies
 * that close to a half-integer rintf may pick the farther integer. With |w / s| <= 127 the extra
 * error is at most 127 * 2^-24 < 2^-16 in units of s. Hence the bound |w - q s| <= s (1/2 + 2^-16).
 */
#define ROUNDING_SLACK (1.0 / 65536.0)

static void int8_rounds_half_to_even(void **state) {
    (void)state;
    /* scale 1 (max|w| = 127): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2, 126.5 -> 126 */
    float s = db_q8_scale(127.0f);
    assert_float_equal(s, 1.0f, 0.0f);
    assert_int_equal(db_q8_quantize(0.5f, s), 0);
    assert_int_equal(db_q8_quantize(1.5f, s), 2);
    assert_int_equal(db_q8_quantize(2.5f, s), 2);
    assert_int_equal(db_q8_quantize(-2.5f, s), -2);
    assert_int_equal(db_q8_quantize(126.5f, s), 126);
    assert_int_equal(db_q8_quantize(300.0f, s), 127);   /* clamps */
    assert_int_equal(db_q8_quantize(-300.0f, s), -127); /* symmetric: never -128 */
    assert_int_equal(db_q8_quantize(5.0f, 0.0f), 0);    /* zero scale */
}

static void int8_row_round_trip_within_half_scale(void **state) {
    (void)state;
    enum { N = 16, K = 300 };
    float *w = malloc(sizeof(float) * N * K);
    for (int i = 0; i < N * K; i++)
        w[i] = 0.02f * db_synth_normal(7, 1, (uint64_t)i) * (1 + i / K);
    db_linear W;
    db_error err;
    assert_int_equal(db_linear_init_f32(&W, N, K, DB_PREC_INT8, w, &err), DB_OK);
    for (int n = 0; n < N; n++) {
        float amax = 0;
        for (int k = 0; k < K; k++)
            amax = fmaxf(amax, fabsf(w[n * K + k]));
        double s = W.row_scale[n];
        assert_float_equal(W.row_scale[n], amax / 127.0f, 0.0f); /* scale = max|w| / 127 */
        int saw_full = 0;
        for (int k = 0; k < K; k++) {
            int q = ((const int8_t *)W.data)[n * K + k];
            assert_true(q >= -127 && q <= 127);
            saw_full |= (q == 127 || q == -127);
            assert_true(fabs((double)w[n * K + k] - q * s) <= s * (0.5 + ROUNDING_SLACK));
        }
        assert_true(saw_full); /* the largest magnitude maps to ±127 */
    }
    db_linear_free(&W);
    free(w);
}

static void int8_zero_row_has_zero_scale(void **state) {
    (void)state;
    float w[2 * 5] = {0, 0, 0, 0, 0, 1, -1, 0.5f, 0, 0};
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, 2, 5, DB_PREC_INT8, w, NULL), DB_OK);
    assert_float_equal(W.row_scale[0], 0.0f, 0.0f);
    for (int k = 0; k < 5; k++)
        assert_float_equal(db_linear_get(&W, 0, k), 0.0f, 0.0f);
    /* row 1: scale 1/127; 0.5 / (1/127) = 63.5 -> 64 (half to even) */
    assert_int_equal(((const int8_t *)W.data)[5 + 2], 64);
    db_linear_free(&W);
}

static void int4_packs_low_nibble_first(void **state) {
    (void)state;
    /* One partial group of 6: max|w| = 7, scale = bf16(7 / 7) = 1.0 exactly, so q = w rounded.
     * q = [1, -2, 7, -7, 0, 3] (0.5 -> 0 by half-to-even) -> nibbles q + 8 = [9, 6, 15, 1, 8, 11]
     * -> bytes (low nibble = even k): 0x69, 0x1F, 0xB8; the padding up to 128 elements is nibble 8.
     */
    float w[6] = {1.0f, -2.0f, 7.0f, -7.0f, 0.5f, 3.0f};
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, 1, 6, DB_PREC_INT4, w, NULL), DB_OK);
    const uint8_t *b = W.data;
    assert_int_equal(W.row_stride, 128);
    assert_int_equal(b[0], 0x69);
    assert_int_equal(b[1], 0x1F);
    assert_int_equal(b[2], 0xB8);
    for (int i = 3; i < 64; i++)
        assert_int_equal(b[i], 0x88);
    assert_int_equal(W.group_scale[0], 0x3F80); /* bf16 1.0 */
    assert_int_equal(db_q4_get(b, 3), -7);
    assert_float_equal(db_linear_get(&W, 0, 5), 3.0f, 0.0f);
    db_linear_free(&W);
}

static void int4_group_scale_is_bf16_of_max_over_7(void **state) {
    (void)state;
    /* max|w| = 1: 1/7 = 0x3E124925 in fp32; bf16 rounds to nearest even: 0x3E12 = 0.142578125.
     * Then 1 / 0.142578125 = 7.014 -> q = 7, error 1 - 7 * 0.142578125 = 0.001953125 <= scale / 2.
     */
    float w[128];
    for (int k = 0; k < 128; k++)
        w[k] = (k == 77) ? -1.0f : 0.25f;
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, 1, 128, DB_PREC_INT4, w, NULL), DB_OK);
    assert_int_equal(W.group_scale[0], 0x3E12);
    assert_float_equal(db_linear_get(&W, 0, 77), -0.998046875f, 0.0f);
    /* 0.25 / 0.142578125 = 1.753 -> q = 2 */
    assert_float_equal(db_linear_get(&W, 0, 0), 0.28515625f, 0.0f);
    db_linear_free(&W);
}

static void int4_round_trip_within_half_group_scale(void **state) {
    (void)state;
    /* K = 300: groups of 128, 128 and a partial 44; each group gets its own scale. */
    enum { N = 9, K = 300 };
    float *w = malloc(sizeof(float) * N * K);
    for (int i = 0; i < N * K; i++)
        w[i] = db_synth_normal(3, 2, (uint64_t)i) * ((i % K) < 128 ? 0.01f : 0.3f);
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, N, K, DB_PREC_INT4, w, NULL), DB_OK);
    assert_int_equal(W.row_stride, 384);
    for (int n = 0; n < N; n++)
        for (int g = 0; g < 3; g++) {
            int k0 = g * 128, k1 = k0 + 128 < K ? k0 + 128 : K;
            float amax = 0;
            for (int k = k0; k < k1; k++)
                amax = fmaxf(amax, fabsf(w[n * K + k]));
            double s = db_bf16_bits_to_f32(W.group_scale[n * 3 + g]);
            assert_int_equal(W.group_scale[n * 3 + g], db_f32_to_bf16_bits(amax / 7.0f));
            for (int k = k0; k < k1; k++) {
                int q = db_q4_get((const uint8_t *)W.data + n * 192, k);
                assert_true(q >= -7 && q <= 7);
                assert_true(fabs((double)w[n * K + k] - q * s) <= s * (0.5 + ROUNDING_SLACK));
                assert_float_equal(db_linear_get(&W, n, k), (float)(q * s), 0.0f);
            }
        }
    db_linear_free(&W);
    free(w);
}

static void fp8_weights_scale_per_row_to_448(void **state) {
    (void)state;
    /* Row max 2.0 -> scale 2/448; 2.0 maps to 448 (0x7E), 1.0 to 224 = 1.75 * 2^7 (0x76),
     * -0.5 to -112 = -1.75 * 2^6 (1 1101 110 = 0xEE). */
    float w[3] = {2.0f, 1.0f, -0.5f};
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, 1, 3, DB_PREC_FP8, w, NULL), DB_OK);
    const uint8_t *b = W.data;
    assert_float_equal(W.row_scale[0], 2.0f / 448.0f, 0.0f);
    assert_int_equal(b[0], 0x7E);
    assert_int_equal(b[1], 0x76);
    assert_int_equal(b[2], 0xEE);
    db_linear_free(&W);
}

static void fp8_round_trip_within_e4m3_step(void **state) {
    (void)state;
    /* e4m3 keeps 3 mantissa bits: a normal value is within 2^-4 relative; below 2^-6 (in units of
     * the scale) the step is 2^-9, so the absolute error is at most 2^-10 * scale. */
    enum { N = 5, K = 257 };
    float *w = malloc(sizeof(float) * N * K);
    for (int i = 0; i < N * K; i++)
        w[i] = db_synth_normal(11, 4, (uint64_t)i);
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, N, K, DB_PREC_FP8, w, NULL), DB_OK);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double x = w[n * K + k], d = db_linear_get(&W, n, k), s = W.row_scale[n];
            assert_true(fabs(x - d) <= fmax(fabs(x) / 16.0, s / 1024.0) * (1 + ROUNDING_SLACK));
        }
    db_linear_free(&W);
    free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int8_rounds_half_to_even),
        cmocka_unit_test(int8_row_round_trip_within_half_scale),
        cmocka_unit_test(int8_zero_row_has_zero_scale),
        cmocka_unit_test(int4_packs_low_nibble_first),
        cmocka_unit_test(int4_group_scale_is_bf16_of_max_over_7),
        cmocka_unit_test(int4_round_trip_within_half_group_scale),
        cmocka_unit_test(fp8_weights_scale_per_row_to_448),
        cmocka_unit_test(fp8_round_trip_within_e4m3_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
