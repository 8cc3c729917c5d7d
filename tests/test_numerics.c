/* test_numerics.c — fp16, bf16, tf32 and fp8 e4m3 conversions (kernels/numerics.h) against
 * hand-checked bit patterns, and exhaustively against independent nearest-value references computed
 * in double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "numerics.h"

static float f(uint32_t bits) {
    return db_f32_from_bits(bits);
}

/* ---- bf16 --------------------------------------------------------------------------------------
 */

static void bf16_keeps_exact_values(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_bf16_bits(1.0f), 0x3F80);  /* 0x3F800000 */
    assert_int_equal(db_f32_to_bf16_bits(-2.0f), 0xC000); /* 0xC0000000 */
    assert_int_equal(db_f32_to_bf16_bits(0.0f), 0x0000);
    assert_int_equal(db_f32_to_bf16_bits(-0.0f), 0x8000);
}

static void bf16_ties_round_to_even(void **state) {
    (void)state;
    /* 1.00390625 = 1 + 2^-8 = 0x3F808000: exactly between 0x3F80 (even) and 0x3F81 -> 0x3F80. */
    assert_int_equal(db_f32_to_bf16_bits(1.00390625f), 0x3F80);
    /* 0x3F818000 = 1.01171875: between 0x3F81 (odd) and 0x3F82 (even) -> 0x3F82. */
    assert_int_equal(db_f32_to_bf16_bits(f(0x3F818000u)), 0x3F82);
    /* One bit above the tie rounds up: 0x3F808001 -> 0x3F81. */
    assert_int_equal(db_f32_to_bf16_bits(f(0x3F808001u)), 0x3F81);
    /* One bit below the tie rounds down: 0x3F817FFF -> 0x3F81. */
    assert_int_equal(db_f32_to_bf16_bits(f(0x3F817FFFu)), 0x3F81);
}

static void bf16_overflow_inf_and_nan(void **state) {
    (void)state;
    /* FLT_MAX 0x7F7FFFFF lies above the midpoint 0x7F7F8000 of bf16 max and inf: rounds to inf. */
    assert_int_equal(db_f32_to_bf16_bits(f(0x7F7FFFFFu)), 0x7F80);
    assert_int_equal(db_f32_to_bf16_bits(f(0xFF800000u)), 0xFF80); /* -inf */
    /* A signalling NaN whose payload sits in the low 16 bits must stay NaN (not become inf). */
    uint16_t nan = db_f32_to_bf16_bits(f(0x7F800001u));
    assert_int_equal(nan & 0x7F80, 0x7F80);
    assert_true((nan & 0x007F) != 0);
    assert_float_equal(db_bf16_bits_to_f32(0x3F81), 1.0078125f, 0.0f); /* 1 + 2^-7 */
}

/* Independent reference: the nearest of the two bf16 neighbours by exact distance in double, ties
 * to the even code (finite inputs whose neighbours are finite). */
static uint16_t bf16_reference(float x) {
    uint32_t b = db_f32_bits(x);
    uint16_t lo = (uint16_t)(b >> 16), hi = (uint16_t)(lo + 1);
    double dlo = fabs((double)x - (double)db_bf16_bits_to_f32(lo));
    double dhi = fabs((double)db_bf16_bits_to_f32(hi) - (double)x);
    if (dlo < dhi) return lo;
    if (dhi < dlo) return hi;
    return (lo & 1) ? hi : lo;
}

static void bf16_matches_nearest_even_reference(void **state) {
    (void)state;
    uint64_t s = 12345;
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t bits = (uint32_t)(s >> 32) & 0xFF7EFFFFu; /* finite, below the top binade */
        float x = f(bits);
        assert_int_equal(db_f32_to_bf16_bits(x), bf16_reference(x));
    }
}

/* ---- fp16 --------------------------------------------------------------------------------------
 */

static void fp16_range_limits(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_f16_bits(1.0f), 0x3C00);
    assert_int_equal(db_f32_to_f16_bits(65504.0f), 0x7BFF); /* largest finite */
    /* 65520 is the midpoint of 65504 (odd mantissa 0x3FF) and 65536 (= inf): ties to even -> inf.
     */
    assert_int_equal(db_f32_to_f16_bits(65520.0f), 0x7C00);
    assert_int_equal(db_f32_to_f16_bits(f(0x477FEFFFu)), 0x7BFF); /* just below 65520 */
    assert_int_equal(db_f32_to_f16_bits(-1e30f), 0xFC00);
    assert_int_equal(db_f32_to_f16_bits(f(0x7F800000u)), 0x7C00);
    uint16_t nan = db_f32_to_f16_bits(f(0x7FC00000u));
    assert_true((nan & 0x7C00) == 0x7C00 && (nan & 0x3FF) != 0);
}

static void fp16_subnormals_round_to_even(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_f16_bits(f(0x33800000u)), 0x0001); /* 2^-24: smallest subnormal */
    assert_int_equal(db_f32_to_f16_bits(f(0x33000000u)), 0x0000); /* 2^-25: tie 0 / 1 -> 0 */
    assert_int_equal(db_f32_to_f16_bits(f(0x33400000u)), 0x0001); /* 1.5 * 2^-25 -> 1 */
    assert_int_equal(db_f32_to_f16_bits(f(0x33C00000u)), 0x0002); /* 1.5 * 2^-24: tie 1 / 2 -> 2 */
    /* 2^-14 - 2^-25 = 1023.5 * 2^-24: tie 0x03FF / 0x0400 -> the even 0x0400 (smallest normal). */
    assert_int_equal(db_f32_to_f16_bits(f(0x387FE000u)), 0x0400);
    assert_int_equal(db_f32_to_f16_bits(f(0x387FC000u)), 0x03FF); /* 1023 * 2^-24 exactly */
    assert_float_equal(db_f16_bits_to_f32(0x0001), 5.9604644775390625e-08f, 0.0f);
    assert_float_equal(db_f16_bits_to_f32(0x03FF), 1023.0f * 5.9604644775390625e-08f, 0.0f);
    assert_float_equal(db_f16_bits_to_f32(0x8200), -512.0f * 5.9604644775390625e-08f, 0.0f);
}

static void fp16_normal_ties_round_to_even(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_f16_bits(f(0x3F801000u)), 0x3C00); /* 1 + 2^-11: tie -> 1.0 */
    assert_int_equal(db_f32_to_f16_bits(f(0x3F803000u)), 0x3C02); /* 1 + 3*2^-11: tie -> 1 + 2^-9 */
    assert_float_equal(db_f16_bits_to_f32(0x7BFF), 65504.0f, 0.0f);
    assert_true(isinf(db_f16_bits_to_f32(0xFC00)) && db_f16_bits_to_f32(0xFC00) < 0);
    assert_true(isnan(db_f16_bits_to_f32(0x7E00)));
}

static void fp16_every_code_round_trips(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue; /* NaN codes */
        assert_int_equal(db_f32_to_f16_bits(db_f16_bits_to_f32((uint16_t)h)), h);
    }
}

#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__aarch64__))
/* The compiler's _Float16 conversion is IEEE round-to-nearest-even: an independent oracle. */
static void fp16_matches_compiler_float16(void **state) {
    (void)state;
    uint64_t s = 777;
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t bits = (uint32_t)(s >> 32);
        if ((bits & 0x7F800000u) == 0x7F800000u) continue;
        _Float16 h = (_Float16)f(bits);
        uint16_t hb;
        memcpy(&hb, &h, sizeof hb);
        assert_int_equal(db_f32_to_f16_bits(f(bits)), hb);
    }
}
#endif

/* ---- tf32 --------------------------------------------------------------------------------------
 */

static void tf32_keeps_ten_mantissa_bits(void **state) {
    (void)state;
    /* 1 + 2^-11 is the midpoint of 1 and 1 + 2^-10: ties to even -> 1. */
    assert_int_equal(db_f32_bits(db_round_tf32(f(0x3F801000u))), 0x3F800000u);
    /* 1 + 3 * 2^-11 -> 1 + 2^-9 (0x3F804000). */
    assert_int_equal(db_f32_bits(db_round_tf32(f(0x3F803000u))), 0x3F804000u);
    assert_int_equal(db_f32_bits(db_round_tf32(f(0x3F801001u))), 0x3F802000u);
}

/* ---- fp8 e4m3 ----------------------------------------------------------------------------------
 */

static void e4m3_saturates_at_448(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_e4m3(448.0f), 0x7E); /* 0 1111 110 = 1.75 * 2^8 */
    assert_int_equal(db_f32_to_e4m3(500.0f), 0x7E);
    assert_int_equal(db_f32_to_e4m3(464.0f), 0x7E);
    assert_int_equal(db_f32_to_e4m3(-500.0f), 0xFE);
    assert_int_equal(db_f32_to_e4m3(f(0x7F800000u)), 0x7E); /* +inf saturates too */
    assert_int_equal(db_f32_to_e4m3(f(0x7FC00000u)), 0x7F); /* NaN */
    assert_float_equal(db_e4m3_to_f32(0x7E), 448.0f, 0.0f);
    assert_true(isnan(db_e4m3_to_f32(0x7F)) && isnan(db_e4m3_to_f32(0xFF)));
}

static void e4m3_subnormals(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_e4m3(0.001953125f), 0x01);   /* 2^-9: smallest subnormal */
    assert_int_equal(db_f32_to_e4m3(0.0009765625f), 0x00);  /* 2^-10: tie 0 / 1 -> 0 */
    assert_int_equal(db_f32_to_e4m3(0.00146484375f), 0x01); /* 1.5 * 2^-10 -> 1 */
    assert_int_equal(db_f32_to_e4m3(0.0029296875f), 0x02);  /* 1.5 * 2^-9: tie 1 / 2 -> 2 */
    assert_int_equal(db_f32_to_e4m3(0.013671875f), 0x07);   /* 7 * 2^-9: largest subnormal */
    assert_int_equal(db_f32_to_e4m3(0.015625f), 0x08);      /* 2^-6: smallest normal */
    assert_float_equal(db_e4m3_to_f32(0x81), -0.001953125f, 0.0f);
}

static void e4m3_normal_values_and_ties(void **state) {
    (void)state;
    assert_int_equal(db_f32_to_e4m3(1.0f), 0x38);    /* 0 0111 000 */
    assert_int_equal(db_f32_to_e4m3(240.0f), 0x77);  /* 1.875 * 2^7: 0 1110 111 */
    assert_int_equal(db_f32_to_e4m3(1.0625f), 0x38); /* 1 + 1/16: tie 1.0 / 1.125 -> 1.0 */
    assert_int_equal(db_f32_to_e4m3(1.1875f), 0x3A); /* 1 + 3/16: tie 1.125 / 1.25 -> 1.25 */
    assert_float_equal(db_e4m3_to_f32(0x3A), 1.25f, 0.0f);
    assert_float_equal(db_e4m3_to_f32(0x08), 0.015625f, 0.0f);
}

/* Independent reference: nearest finite e4m3 code by exact distance in double, ties to the even
 * code, values beyond 448 saturating. */
static uint8_t e4m3_reference(float x) {
    double ax = fabs((double)x);
    uint8_t best = 0;
    double bestd = INFINITY;
    for (int c = 0; c <= 0x7E; c++) {
        double d = fabs((double)db_e4m3_to_f32((uint8_t)c) - ax);
        if (d < bestd || (d == bestd && !(c & 1))) {
            best = (uint8_t)c;
            bestd = d;
        }
    }
    return (uint8_t)(best | (x < 0 ? 0x80 : 0));
}

static void e4m3_matches_nearest_even_reference(void **state) {
    (void)state;
    uint64_t s = 99;
    for (int i = 0; i < 100000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        /* exponents 2^-14 .. 2^10 cover zero-rounding, subnormals, normals and saturation */
        uint32_t bits =
            ((uint32_t)(s >> 40) & 0x807FFFFFu) | ((113u + (uint32_t)(s >> 20) % 25u) << 23);
        float x = f(bits);
        assert_int_equal(db_f32_to_e4m3(x), e4m3_reference(x));
    }
}

static void e4m3_every_finite_code_round_trips(void **state) {
    (void)state;
    for (int c = 0; c < 256; c++) {
        if ((c & 0x7F) == 0x7F) continue;
        assert_int_equal(db_f32_to_e4m3(db_e4m3_to_f32((uint8_t)c)), c);
    }
}

static void round_to_type_dispatches(void **state) {
    (void)state;
    float x = f(0x3F803000u); /* 1 + 3 * 2^-11 */
    assert_float_equal(db_round_to_type(x, DB_NUM_F32), x, 0.0f);
    assert_float_equal(db_round_to_type(x, DB_NUM_F16), 1.001953125f, 0.0f);
    assert_float_equal(db_round_to_type(x, DB_NUM_BF16), 1.0f, 0.0f);
    assert_float_equal(db_round_to_type(x, DB_NUM_TF32), 1.001953125f, 0.0f);
    assert_float_equal(db_round_to_type(x, DB_NUM_E4M3), 1.0f, 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bf16_keeps_exact_values),
        cmocka_unit_test(bf16_ties_round_to_even),
        cmocka_unit_test(bf16_overflow_inf_and_nan),
        cmocka_unit_test(bf16_matches_nearest_even_reference),
        cmocka_unit_test(fp16_range_limits),
        cmocka_unit_test(fp16_subnormals_round_to_even),
        cmocka_unit_test(fp16_normal_ties_round_to_even),
        cmocka_unit_test(fp16_every_code_round_trips),
#if defined(__FLT16_MAX__) && (defined(__x86_64__) || defined(__aarch64__))
        cmocka_unit_test(fp16_matches_compiler_float16),
#endif
        cmocka_unit_test(tf32_keeps_ten_mantissa_bits),
        cmocka_unit_test(e4m3_saturates_at_448),
        cmocka_unit_test(e4m3_subnormals),
        cmocka_unit_test(e4m3_normal_values_and_ties),
        cmocka_unit_test(e4m3_matches_nearest_even_reference),
        cmocka_unit_test(e4m3_every_finite_code_round_trips),
        cmocka_unit_test(round_to_type_dispatches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
