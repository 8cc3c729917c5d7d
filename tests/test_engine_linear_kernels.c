/* test_engine_linear_kernels.c — the vectorised activation rounding and fp8 quantisation behind
 * db_linear_forward (engine/linear_kernels.h) give exactly the bits of the scalar definitions in
 * kernels/numerics.h, on random bit patterns that include NaN, infinities and subnormals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "linear_kernels.h"

#define COUNT 4099 /* not a multiple of 8: the scalar tail runs too */

/* Random floats: all bit patterns, then a share drawn near the e4m3 / fp16 ranges. */
static void fill(float *x, uint64_t seed) {
    for (int i = 0; i < COUNT; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t bits = (uint32_t)(seed >> 32);
        if (i % 3 == 1) bits = (bits & 0x807FFFFFu) | ((100u + (bits >> 8) % 50u) << 23);
        if (i % 3 == 2) bits = (bits & 0x807FFFFFu) | ((113u + (bits >> 8) % 30u) << 23);
        x[i] = db_f32_from_bits(bits);
    }
    x[0] = INFINITY;
    x[1] = -INFINITY;
    x[2] = NAN;
    x[3] = db_f32_from_bits(0x00000001u); /* smallest subnormal */
}

static void same_bits(const float *got, const float *want, const float *in) {
    for (int i = 0; i < COUNT; i++) {
        uint32_t g = db_f32_bits(got[i]), w = db_f32_bits(want[i]);
        if (isnan(want[i]) ? !isnan(got[i]) : g != w)
            fail_msg("element %d (input 0x%08x): got 0x%08x, expected 0x%08x", i,
                     db_f32_bits(in[i]), g, w);
    }
}

static void vector_rounding_matches_scalar_definitions(void **state) {
    (void)state;
    static float x[COUNT], got[COUNT], want[COUNT];
    const db_num_type types[] = {DB_NUM_TF32, DB_NUM_F16, DB_NUM_BF16};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        for (uint64_t seed = 1; seed <= 20; seed++) {
            fill(x, seed * 7919 + t);
            memcpy(got, x, sizeof x);
            db_lin_round_avx2(got, COUNT, types[t]);
            for (int i = 0; i < COUNT; i++)
                want[i] = db_round_to_type(x[i], types[t]);
            same_bits(got, want, x);
        }
}

static void vector_e4m3_quantisation_matches_scalar_definition(void **state) {
    (void)state;
    static float x[COUNT], got[COUNT], want[COUNT];
    const float scales[] = {1.0f, 0.0078125f, 3.3f, 1e-3f, 0.0f};
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++)
        for (uint64_t seed = 1; seed <= 10; seed++) {
            fill(x, seed * 104729 + s);
            for (int i = 4; i < COUNT; i++) /* mostly within a token's range: |x / s| <= ~500 */
                if (fabsf(x[i]) > 500.0f * scales[s] && i % 4)
                    x[i] = fmodf(x[i], 500.0f) * scales[s];
            db_lin_e4m3_avx2(x, COUNT, scales[s], got);
            for (int i = 0; i < COUNT; i++)
                want[i] = db_e4m3_to_f32(db_e4m3_quantize(x[i], scales[s])) * 0x1p60f;
            same_bits(got, want, x);
        }
}

static void absmax_skips_nan_like_fmaxf(void **state) {
    (void)state;
    float x[19] = {1.0f, -7.5f, NAN, 3.0f};
    x[18] = -2.0f;
    assert_float_equal(db_lin_absmax_avx2(x, 19), 7.5f, 0.0f);
    x[12] = -9.25f; /* in the vector part */
    assert_float_equal(db_lin_absmax_avx2(x, 19), 9.25f, 0.0f);
    x[18] = 11.0f; /* in the scalar tail */
    assert_float_equal(db_lin_absmax_avx2(x, 19), 11.0f, 0.0f);
    assert_float_equal(db_lin_absmax_avx2(x, 0), 0.0f, 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vector_rounding_matches_scalar_definitions),
        cmocka_unit_test(vector_e4m3_quantisation_matches_scalar_definition),
        cmocka_unit_test(absmax_skips_nan_like_fmaxf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
