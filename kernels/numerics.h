/* numerics.h — element formats and quantisation shared by the host (C17) and the device (CUDA).
 *
 * What it is for: the one definition of how a float becomes fp16, bf16, tf32, fp8 e4m3, int8 or
 * int4 and back, so the CPU reference and the GPU kernels round identically, bit for bit. Every
 * conversion is integer bit manipulation plus, for int8/int4, one IEEE division and rintf
 * (round-half-to-even in the default rounding mode), which host and device compute the same way
 * (do not build with fast-math).
 * What it must not do: allocate, print, or depend on anything of engine/ or above.
 *
 * Formats (all conversions from fp32 round to nearest, ties to even):
 *   - fp16: IEEE binary16. |x| >= 65520 gives ±inf; subnormals kept; NaN stays (quiet) NaN.
 *   - bf16: the top 16 bits of fp32 after rounding. Overflow gives ±inf; NaN stays (quiet) NaN.
 *   - tf32: fp32 with the 13 low mantissa bits cleared after rounding (10 mantissa bits).
 *   - e4m3: OCP fp8 E4M3 "fn": bias 7, no infinities, NaN only 0x7f/0xff, max ±448, subnormal
 *     step 2^-9. Conversion saturates: |x| >= 448 and ±inf give ±448; NaN gives 0x7f | sign.
 *   - int8: symmetric per output row: scale = max|w| / 127 (fp32),
 *     q = clamp(rintf(w / scale), -127, 127). Bound: |w - q scale| <= scale / 2 (half to even).
 *   - int4: symmetric per group of 128 consecutive elements along K: scale = bf16(max|w| / 7)
 *     (2 bytes, rounded to nearest even), q = clamp(rintf(w / scale), -7, 7). bf16 rounding moves
 *     the scale by at most 2^-9 relative, so max|w| / scale <= 7.02 and |w - q scale| <= scale / 2
 *     still holds. Stored as unsigned nibbles q + 8 (1..15; 8 is zero), two per byte: the LOW
 *     nibble holds the even element (k = 2j), the high nibble the odd one (k = 2j + 1).
 *   - A zero scale (an all-zero row or group) quantises every element to 0.
 */
#ifndef DB_KERNELS_NUMERICS_H
#define DB_KERNELS_NUMERICS_H

#if defined(__CUDACC__)
#define DB_HD __host__ __device__ inline
#else
#define DB_HD static inline
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- raw bit views ----------------------------------------------------------------------------
 */

DB_HD uint32_t db_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

DB_HD float db_f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Rounds m * 2^-shift to the nearest integer, ties to even (1 <= shift <= 31). */
DB_HD uint32_t db_shift_rne(uint32_t m, int shift) {
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return q;
}

/* ---- fp16 (IEEE binary16) ---------------------------------------------------------------------
 */

DB_HD uint16_t db_f32_to_f16_bits(float f) {
    uint32_t x = db_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return (uint16_t)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu)); /* NaN */
    if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* >= 65520 (and inf): inf */
    if (ax < 0x38800000u) {                                   /* below 2^-14: subnormal or zero */
        uint32_t e = ax >> 23;
        if (e < 102u) return (uint16_t)sign; /* below 2^-25: rounds to zero */
        uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
        return (uint16_t)(sign | db_shift_rne(m, (int)(126u - e))); /* units of 2^-24 */
    }
    uint32_t v = ax - 0x38000000u; /* rebias exponent 127 -> 15 */
    v += 0x0FFFu + ((v >> 13) & 1u);
    return (uint16_t)(sign | (v >> 13));
}

DB_HD float db_f16_bits_to_f32(uint16_t h) {
    uint32_t sign = ((uint32_t)h & 0x8000u) << 16;
    uint32_t e = ((uint32_t)h >> 10) & 0x1Fu;
    uint32_t m = (uint32_t)h & 0x3FFu;
    if (e == 31u) return db_f32_from_bits(sign | 0x7F800000u | (m << 13));
    if (e == 0u) {
        if (m == 0u) return db_f32_from_bits(sign);
        e = 113u; /* normalise the subnormal m * 2^-24 = 1.f * 2^(-14 - shifts) */
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        return db_f32_from_bits(sign | (e << 23) | ((m & 0x3FFu) << 13));
    }
    return db_f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

/* ---- bf16 and tf32 ----------------------------------------------------------------------------
 */

DB_HD uint16_t db_f32_to_bf16_bits(float f) {
    uint32_t x = db_f32_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x0040u); /* quiet NaN */
    x += 0x7FFFu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

DB_HD float db_bf16_bits_to_f32(uint16_t b) {
    return db_f32_from_bits((uint32_t)b << 16);
}

DB_HD float db_round_tf32(float f) {
    uint32_t x = db_f32_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return db_f32_from_bits(x | 0x00400000u);
    x += 0x0FFFu + ((x >> 13) & 1u);
    return db_f32_from_bits(x & 0xFFFFE000u);
}

/* ---- fp8 e4m3 (OCP "fn", saturating) -------------------------------------------------------- */

#define DB_E4M3_MAX 448.0f

DB_HD uint8_t db_f32_to_e4m3(float f) {
    uint32_t x = db_f32_bits(f);
    uint32_t sign = (x >> 24) & 0x80u;
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return (uint8_t)(sign | 0x7Fu);  /* NaN */
    if (ax >= 0x43E00000u) return (uint8_t)(sign | 0x7Eu); /* >= 448 and inf: saturate to 448 */
    if (ax < 0x3C800000u) {                                /* below 2^-6: subnormal or zero */
        uint32_t e = ax >> 23;
        if (e < 117u) return (uint8_t)sign; /* below 2^-10 (half the step 2^-9): zero */
        uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
        return (uint8_t)(sign | db_shift_rne(m, (int)(141u - e))); /* units of 2^-9 */
    }
    uint32_t v = ax - 0x3C000000u; /* rebias exponent 127 -> 7 */
    v += 0x7FFFFu + ((v >> 20) & 1u);
    uint32_t q = v >> 20;
    return (uint8_t)(sign | (q > 0x7Eu ? 0x7Eu : q));
}

DB_HD float db_e4m3_to_f32(uint8_t v) {
    uint32_t sign = ((uint32_t)v & 0x80u) << 24;
    uint32_t e = ((uint32_t)v >> 3) & 0xFu;
    uint32_t m = (uint32_t)v & 7u;
    if ((v & 0x7Fu) == 0x7Fu) return db_f32_from_bits(sign | 0x7FC00000u);
    if (e == 0u) /* subnormal: m * 2^-9, exact */
        return db_f32_from_bits(sign | db_f32_bits((float)m * 0.001953125f));
    return db_f32_from_bits(sign | ((e + 120u) << 23) | (m << 20));
}

/* ---- element types for rounding activations ------------------------------------------------- */

typedef enum db_num_type {
    DB_NUM_F32 = 0, /* no rounding */
    DB_NUM_TF32,
    DB_NUM_F16,
    DB_NUM_BF16,
    DB_NUM_E4M3, /* unscaled: saturates at ±448 */
} db_num_type;

/* x rounded to the nearest value of type t (returned as fp32). */
DB_HD float db_round_to_type(float x, db_num_type t) {
    switch (t) {
    case DB_NUM_TF32:
        return db_round_tf32(x);
    case DB_NUM_F16:
        return db_f16_bits_to_f32(db_f32_to_f16_bits(x));
    case DB_NUM_BF16:
        return db_bf16_bits_to_f32(db_f32_to_bf16_bits(x));
    case DB_NUM_E4M3:
        return db_e4m3_to_f32(db_f32_to_e4m3(x));
    default:
        return x;
    }
}

/* ---- int8 per-channel and fp8 per-channel / per-token scales -------------------------------- */

#define DB_Q8_MAX 127
#define DB_Q4_MAX 7
#define DB_Q4_GROUP 128 /* int4 elements per scale, along K */
#define DB_Q4_ZERO 8    /* stored nibble of the value 0 */

/* Scales from the largest magnitude of a row (int8, fp8 weights) or token (fp8 activations). */
DB_HD float db_q8_scale(float absmax) {
    return absmax / (float)DB_Q8_MAX;
}
DB_HD float db_e4m3_scale(float absmax) {
    return absmax / DB_E4M3_MAX;
}

/* Clamped round-half-even of w / scale into [-lim, lim]; 0 for a zero scale or a NaN. */
DB_HD int db_quantize_sym(float w, float scale, int lim) {
    if (scale == 0.0f) return 0;
    float q = rintf(w / scale);
    if (q != q) return 0;
    if (q > (float)lim) return lim;
    if (q < (float)-lim) return -lim;
    return (int)q;
}

DB_HD int8_t db_q8_quantize(float w, float scale) {
    return (int8_t)db_quantize_sym(w, scale, DB_Q8_MAX);
}

/* fp8 weight or activation element: e4m3 of x / scale (0 for a zero scale). */
DB_HD uint8_t db_e4m3_quantize(float x, float scale) {
    return scale == 0.0f ? (uint8_t)0 : db_f32_to_e4m3(x / scale);
}

/* ---- int4 group-128 ------------------------------------------------------------------------- */

/* bf16 bits of the scale of a group whose largest magnitude is absmax. */
DB_HD uint16_t db_q4_group_scale_bits(float absmax) {
    return db_f32_to_bf16_bits(absmax / (float)DB_Q4_MAX);
}

/* Stored nibble (1..15) of w in a group with scale (the bf16 scale as fp32). */
DB_HD uint8_t db_q4_quantize(float w, float scale) {
    return (uint8_t)(db_quantize_sym(w, scale, DB_Q4_MAX) + DB_Q4_ZERO);
}

/* Element k of a packed int4 row (low nibble = even k), as the signed value q in -8..7. */
DB_HD int db_q4_get(const uint8_t *packed_row, int k) {
    uint8_t b = packed_row[k >> 1];
    return (int)((k & 1) ? (b >> 4) : (b & 0x0Fu)) - DB_Q4_ZERO;
}

#ifdef __cplusplus
}
#endif
#endif
