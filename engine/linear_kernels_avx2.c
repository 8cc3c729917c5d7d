/* linear_kernels_avx2.c — AVX2 + FMA + F16C kernels of the linear layer (see linear_kernels.h).
 *
 * GEMV: a task's rows of W are read in 2 or 4 parts side by side (several sequential streams
 * per thread draw more memory bandwidth than one); every 8 weights are widened to fp32 once and
 * multiplied into up to 4 activation rows held in L1, so each activation vector is loaded once per
 * group of rows. With more than 4 activation rows, 64 KiB chunks of rows are run against each
 * block of 4 in turn (re-read from L2). int4 rows are read one at a time (compute-bound).
 * Widening: fp16 by vcvtph2ps; bf16 by a 16-bit shift; int8 by vpmovsxbd + vcvtdq2ps; fp8 e4m3 by
 * vpmovsxbd, a 20-bit shift and a mask, which leaves the fp32 bits of e4m3 * 2^-120
 * (linear_kernels.h); int4 by two vpshufb table look-ups that give the bf16 bytes of q - 8 for each
 * nibble, interleaved into fp32 by byte and word unpacks, reading the activations in the order
 * those in-lane unpacks produce ("nibble order", see db_lin_prepare_row).
 */
#include "linear_kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

enum { F_F32, F_F16, F_BF16, F_E4M3, F_I8, F_Q4 };

/* Rows of W processed together against every block of 4 activation rows (read again from L2). */
#define CHUNK_BYTES (64 * 1024)

int db_lin_have_avx2(void) {
    return 1;
}

AI __m256 load8(int f, const void *row, int k) {
    switch (f) {
    case F_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
    case F_BF16: {
        __m256i v =
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    case F_E4M3: { /* sign-extend, move s.eeee.mmm to fp32 bits 31 and 26..20: e4m3 * 2^-120 */
        __m256i v =
            _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const uint8_t *)row + k)));
        v = _mm256_and_si256(_mm256_slli_epi32(v, 20), _mm256_set1_epi32((int)0x87F00000u));
        return _mm256_castsi256_ps(v);
    }
    case F_I8:
        return _mm256_cvtepi32_ps(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)row + k))));
    default:
        return _mm256_loadu_ps((const float *)row + k);
    }
}

/* 16 weights at k as two vectors of 8. */
AI void load16(int f, const void *row, int k, __m256 *w0, __m256 *w1) {
    *w0 = load8(f, row, k);
    *w1 = load8(f, row, k + 8);
}

AI float load1(int f, const void *row, int k) {
    switch (f) {
    case F_F16:
        return db_f16_bits_to_f32(((const uint16_t *)row)[k]);
    case F_BF16:
        return db_bf16_bits_to_f32(((const uint16_t *)row)[k]);
    case F_E4M3:
        return db_e4m3_to_f32(((const uint8_t *)row)[k]) * 0x1p-120f;
    case F_I8:
        return (float)((const int8_t *)row)[k];
    default:
        return ((const float *)row)[k];
    }
}

AI float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* out[b] = sum_k row[k] * x[b*ldx + k] for nb (1..4) activation rows. */
AI void dot_row(int f, int nb, const void *row, int K, const float *x, int ldx, float *out) {
    const int U = nb == 1 ? 4 : 2; /* independent accumulators per activation row */
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
#pragma GCC unroll 4
        for (int u = 0; u < U; u++)
            acc[b][u] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 * U <= K; k += 8 * U) {
#pragma GCC unroll 4
        for (int u = 0; u < U; u += 2) {
            __m256 w[2];
            load16(f, row, k + 8 * u, &w[0], &w[1]);
#pragma GCC unroll 4
            for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
                for (int b = 0; b < nb; b++)
                    acc[b][u + h] = _mm256_fmadd_ps(
                        w[h], _mm256_loadu_ps(x + b * ldx + k + 8 * (u + h)), acc[b][u + h]);
        }
    }
    for (; k + 8 <= K; k += 8) {
        __m256 w = load8(f, row, k);
#pragma GCC unroll 4
        for (int b = 0; b < nb; b++)
            acc[b][0] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + b * ldx + k), acc[b][0]);
    }
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++) {
        __m256 s = acc[b][0];
#pragma GCC unroll 4
        for (int u = 1; u < U; u++)
            s = _mm256_add_ps(s, acc[b][u]);
        out[b] = hsum(s);
    }
    for (; k < K; k++) {
        float w = load1(f, row, k);
        for (int b = 0; b < nb; b++)
            out[b] += w * x[b * ldx + k];
    }
}

/* out[r][b] = sum_k row[r][k] * x[b*ldx + k] for R rows read side by side (R memory streams per
 * thread draw more bandwidth than one) and nb activation rows, each weight vector widened once and
 * each activation vector loaded once per R rows. U independent accumulators per (row, activation).
 */
AI void dot_rows(int f, int R, int nb, int U, const char *const row[], int K, const float *x,
                 int ldx, float out[][4]) {
    __m256 acc[4][4][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int b = 0; b < nb; b++)
#pragma GCC unroll 2
            for (int u = 0; u < U; u++)
                acc[r][b][u] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 * U <= K; k += 8 * U) {
#pragma GCC unroll 2
        for (int u = 0; u < U; u++) {
            __m256 xv[4];
#pragma GCC unroll 4
            for (int b = 0; b < nb; b++)
                xv[b] = _mm256_loadu_ps(x + b * ldx + k + 8 * u);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256 w = load8(f, row[r], k + 8 * u);
#pragma GCC unroll 4
                for (int b = 0; b < nb; b++)
                    acc[r][b][u] = _mm256_fmadd_ps(w, xv[b], acc[r][b][u]);
            }
        }
    }
    for (; k + 8 <= K; k += 8)
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256 w = load8(f, row[r], k);
#pragma GCC unroll 4
            for (int b = 0; b < nb; b++)
                acc[r][b][0] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + b * ldx + k), acc[r][b][0]);
        }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int b = 0; b < nb; b++)
            out[r][b] = hsum(U == 2 ? _mm256_add_ps(acc[r][b][0], acc[r][b][1]) : acc[r][b][0]);
    for (; k < K; k++)
        for (int r = 0; r < R; r++) {
            float w = load1(f, row[r], k);
            for (int b = 0; b < nb; b++)
                out[r][b] += w * x[b * ldx + k];
        }
}

/* The 32 int4 values of 16 packed bytes as four vectors of 8 floats. Lane 0 of the 256-bit
 * registers looks up the low nibbles (even k), lane 1 the high nibbles (odd k), so vector v holds
 * k = 8v + (0 2 4 6 | 1 3 5 7): the nibble order of the prepared activations. */
AI void unpack_q4_32(const uint8_t *p, __m256 w[4]) {
    /* bf16 bytes of the values q - 8 = -8 .. 7 for the stored nibbles 0 .. 15 */
    const __m256i th =
        _mm256_setr_epi8((char)0xC1, (char)0xC0, (char)0xC0, (char)0xC0, (char)0xC0, (char)0xC0,
                         (char)0xC0, (char)0xBF, 0x00, 0x3F, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
                         (char)0xC1, (char)0xC0, (char)0xC0, (char)0xC0, (char)0xC0, (char)0xC0,
                         (char)0xC0, (char)0xBF, 0x00, 0x3F, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40);
    const __m256i tl = _mm256_setr_epi8(
        0x00, (char)0xE0, (char)0xC0, (char)0xA0, (char)0x80, 0x40, 0x00, (char)0x80, 0x00,
        (char)0x80, 0x00, 0x40, (char)0x80, (char)0xA0, (char)0xC0, (char)0xE0, 0x00, (char)0xE0,
        (char)0xC0, (char)0xA0, (char)0x80, 0x40, 0x00, (char)0x80, 0x00, (char)0x80, 0x00, 0x40,
        (char)0x80, (char)0xA0, (char)0xC0, (char)0xE0);
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    __m256i idx = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                                   _mm256_set1_epi8(0x0F));
    __m256i hb = _mm256_shuffle_epi8(th, idx), lb = _mm256_shuffle_epi8(tl, idx);
    __m256i a = _mm256_unpacklo_epi8(lb, hb), b = _mm256_unpackhi_epi8(lb, hb);
    const __m256i hi16 = _mm256_set1_epi32((int)0xFFFF0000u);
    w[0] = _mm256_castsi256_ps(_mm256_slli_epi32(a, 16));
    w[1] = _mm256_castsi256_ps(_mm256_and_si256(a, hi16));
    w[2] = _mm256_castsi256_ps(_mm256_slli_epi32(b, 16));
    w[3] = _mm256_castsi256_ps(_mm256_and_si256(b, hi16));
}

/* int4 row (G groups) against nb activation rows in nibble order. */
AI void dot_row_q4(int nb, const uint8_t *row, const uint16_t *gs, int G, const float *x, int ldx,
                   float *out) {
    const int NA = nb == 1 ? 4 : (nb == 2 ? 2 : 1);
    __m256 acc[4];
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
        acc[b] = _mm256_setzero_ps();
    for (int g = 0; g < G; g++) {
        __m256 ga[4][4];
#pragma GCC unroll 4
        for (int b = 0; b < nb; b++)
#pragma GCC unroll 4
            for (int i = 0; i < NA; i++)
                ga[b][i] = _mm256_setzero_ps();
        const uint8_t *p = row + (size_t)g * (DB_Q4_GROUP / 2);
        const float *xg = x + (size_t)g * DB_Q4_GROUP;
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m256 w[4];
            unpack_q4_32(p + 16 * j, w);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
                for (int b = 0; b < nb; b++)
                    ga[b][i % NA] = _mm256_fmadd_ps(
                        w[i], _mm256_loadu_ps(xg + b * ldx + 32 * j + 8 * i), ga[b][i % NA]);
        }
        __m256 s = _mm256_set1_ps(db_bf16_bits_to_f32(gs[g]));
#pragma GCC unroll 4
        for (int b = 0; b < nb; b++) {
            __m256 t = ga[b][0];
#pragma GCC unroll 4
            for (int i = 1; i < NA; i++)
                t = _mm256_add_ps(t, ga[b][i]);
            acc[b] = _mm256_fmadd_ps(t, s, acc[b]);
        }
    }
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
        out[b] = hsum(acc[b]);
}

AI size_t elem_bytes(int f) {
    return f == F_F32 ? 4 : (f == F_F16 || f == F_BF16) ? 2 : 1;
}

AI size_t row_bytes(int f, const db_linear *W) {
    return f == F_Q4 ? (size_t)W->row_stride / 2 : (size_t)W->row_stride * elem_bytes(f);
}

AI float out_scale(int f, const db_lin_args *a, int n, int b) {
    return f == F_E4M3 ? 0x1p60f * a->W->row_scale[n] * a->xscale[b]
           : f == F_I8 ? a->W->row_scale[n]
                       : 1.0f;
}

/* Rows [n0, n1) of W against the nb activation rows b0 .. b0 + nb - 1. */
AI void rows_block(int f, int nb, const db_lin_args *a, int n0, int n1, int b0) {
    const db_linear *W = a->W;
    const float *x = a->xa + (size_t)b0 * (size_t)a->ldx;
    size_t rb = row_bytes(f, W);
    int G = W->row_stride / DB_Q4_GROUP;
    if (f != F_Q4) { /* R row streams at once: the rows' R parts side by side */
        const int R = nb <= 2 ? 4 : 2;
        int q = (n1 - n0) / R;
        for (int i = 0; i < q; i++) {
            const char *rows[4];
            float out[4][4];
            for (int r = 0; r < R; r++)
                rows[r] = (const char *)W->data + (size_t)(n0 + r * q + i) * rb;
            dot_rows(f, R, nb, nb == 1 ? 2 : 1, rows, W->n_cols, x, a->ldx, out);
            for (int r = 0; r < R; r++)
                for (int b = 0; b < nb; b++)
                    a->y[(size_t)(b0 + b) * (size_t)a->ldy + (size_t)(n0 + r * q + i)] =
                        out[r][b] * out_scale(f, a, n0 + r * q + i, b0 + b);
        }
        n0 += R * q;
    }
    for (int n = n0; n < n1; n++) {
        const char *row = (const char *)W->data + (size_t)n * rb;
        float out[4];
        if (f == F_Q4)
            dot_row_q4(nb, (const uint8_t *)row, W->group_scale + (size_t)n * (size_t)G, G, x,
                       a->ldx, out);
        else
            dot_row(f, nb, row, W->n_cols, x, a->ldx, out);
        for (int b = 0; b < nb; b++)
            a->y[(size_t)(b0 + b) * (size_t)a->ldy + (size_t)n] =
                out[b] * out_scale(f, a, n, b0 + b);
    }
}

/* Chunks of rows (CHUNK_BYTES) are run against each block of 4 activation rows in turn, the
 * block size fixed per call of rows_block so each inner loop is compiled for its own block size. */
AI void gemv_fmt(int f, const db_lin_args *a, int n0, int n1) {
    size_t rb = row_bytes(f, a->W);
    int chunk = a->B <= 4 ? n1 - n0 : rb >= CHUNK_BYTES ? 1 : (int)(CHUNK_BYTES / rb);
    for (int c0 = n0; c0 < n1; c0 += chunk) {
        int c1 = n1 - c0 < chunk ? n1 : c0 + chunk;
        for (int b0 = 0; b0 < a->B; b0 += 4) {
            switch (a->B - b0 < 4 ? a->B - b0 : 4) {
            case 1:
                rows_block(f, 1, a, c0, c1, b0);
                break;
            case 2:
                rows_block(f, 2, a, c0, c1, b0);
                break;
            case 3:
                rows_block(f, 3, a, c0, c1, b0);
                break;
            default:
                rows_block(f, 4, a, c0, c1, b0);
                break;
            }
        }
    }
}

static void gemv_f32(const db_lin_args *a, int n0, int n1) {
    gemv_fmt(F_F32, a, n0, n1);
}
static void gemv_f16(const db_lin_args *a, int n0, int n1) {
    gemv_fmt(F_F16, a, n0, n1);
}
static void gemv_bf16(const db_lin_args *a, int n0, int n1) {
    gemv_fmt(F_BF16, a, n0, n1);
}
static void gemv_e4m3(const db_lin_args *a, int n0, int n1) {
    gemv_fmt(F_E4M3, a, n0, n1);
}
static void gemv_i8(const db_lin_args *a, int n0, int n1) {
    gemv_fmt(F_I8, a, n0, n1);
}
static void gemv_q4(const db_lin_args *a, int n0, int n1) {
    gemv_fmt(F_Q4, a, n0, n1);
}

void db_lin_gemv_avx2(const db_lin_args *a, int n0, int n1) {
    switch (a->W->precision) {
    case DB_PREC_FP16:
        gemv_f16(a, n0, n1);
        break;
    case DB_PREC_BF16:
        gemv_bf16(a, n0, n1);
        break;
    case DB_PREC_FP8:
        gemv_e4m3(a, n0, n1);
        break;
    case DB_PREC_INT8:
        gemv_i8(a, n0, n1);
        break;
    case DB_PREC_INT4:
        gemv_q4(a, n0, n1);
        break;
    default:
        gemv_f32(a, n0, n1);
        break;
    }
}

/* ---- tile dequantisation for the GEMM path --------------------------------------------------- */

AI void dequant_rows_fmt(int f, const db_linear *W, int n0, int rows, float *tile, int ld) {
    int K = W->n_cols;
    size_t rb = (size_t)W->row_stride * elem_bytes(f);
    for (int r = 0; r < rows; r++) {
        const void *row = (const char *)W->data + (size_t)(n0 + r) * rb;
        float *dst = tile + (size_t)r * (size_t)ld;
        int k = 0;
        for (; k + 8 <= K; k += 8)
            _mm256_storeu_ps(dst + k, load8(f, row, k));
        for (; k < K; k++)
            dst[k] = load1(f, row, k);
    }
}

static void dequant_rows_q4(const db_linear *W, int n0, int rows, float *tile, int ld) {
    int G = W->row_stride / DB_Q4_GROUP;
    const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(DB_Q4_ZERO);
    for (int r = 0; r < rows; r++) {
        const uint8_t *row =
            (const uint8_t *)W->data + (size_t)(n0 + r) * (size_t)(W->row_stride / 2);
        const uint16_t *gs = W->group_scale + (size_t)(n0 + r) * (size_t)G;
        float *dst = tile + (size_t)r * (size_t)ld;
        for (int g = 0; g < G; g++) {
            __m256 s = _mm256_set1_ps(db_bf16_bits_to_f32(gs[g]));
            for (int j = 0; j < DB_Q4_GROUP / 32; j++) {
                __m128i bytes = _mm_loadu_si128((const __m128i *)(row + g * 64 + 16 * j));
                __m128i lo = _mm_sub_epi8(_mm_and_si128(bytes, mask), eight);
                __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), eight);
                __m128i e0 = _mm_unpacklo_epi8(lo, hi), e1 = _mm_unpackhi_epi8(lo, hi);
                __m128i parts[4] = {e0, _mm_srli_si128(e0, 8), e1, _mm_srli_si128(e1, 8)};
                float *d = dst + g * DB_Q4_GROUP + 32 * j;
                for (int i = 0; i < 4; i++)
                    _mm256_storeu_ps(
                        d + 8 * i,
                        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[i])), s));
            }
        }
    }
}

void db_lin_dequant_tile_avx2(const db_linear *W, int n0, int rows, float *tile, int ld) {
    switch (W->precision) {
    case DB_PREC_FP16:
        dequant_rows_fmt(F_F16, W, n0, rows, tile, ld);
        break;
    case DB_PREC_BF16:
        dequant_rows_fmt(F_BF16, W, n0, rows, tile, ld);
        break;
    case DB_PREC_FP8:
        dequant_rows_fmt(F_E4M3, W, n0, rows, tile, ld);
        break;
    case DB_PREC_INT8:
        dequant_rows_fmt(F_I8, W, n0, rows, tile, ld);
        break;
    case DB_PREC_INT4:
        dequant_rows_q4(W, n0, rows, tile, ld);
        break;
    default:
        dequant_rows_fmt(F_F32, W, n0, rows, tile, ld);
        break;
    }
}

/* ---- activation rounding and fp8 quantisation (bit-identical to kernels/numerics.h) ---------- */

/* Round to nearest even, keeping the bits above `keep` (NaN stays NaN, quieted). */
AI __m256 round_bits(__m256 v, int drop) {
    __m256i b = _mm256_castps_si256(v);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, drop), _mm256_set1_epi32(1));
    __m256i bias = _mm256_add_epi32(_mm256_set1_epi32((1 << (drop - 1)) - 1), lsb);
    __m256i keep = _mm256_set1_epi32((int)(0xFFFFFFFFu << drop));
    __m256i r = _mm256_and_si256(_mm256_add_epi32(b, bias), keep);
    __m256i qnan = _mm256_and_si256(_mm256_or_si256(b, _mm256_set1_epi32(0x00400000)), keep);
    __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    return _mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(qnan), nan);
}

void db_lin_round_avx2(float *x, size_t n, db_num_type t) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        switch (t) {
        case DB_NUM_BF16:
            v = round_bits(v, 16);
            break;
        case DB_NUM_TF32:
            v = round_bits(v, 13);
            break;
        case DB_NUM_F16:
            v = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            break;
        default:
            break;
        }
        _mm256_storeu_ps(x + i, v);
    }
    for (; i < n; i++)
        x[i] = db_round_to_type(x[i], t);
}

float db_lin_absmax_avx2(const float *x, size_t n) {
    __m256 m = _mm256_setzero_ps();
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) /* max_ps returns its second operand for a NaN: NaNs are skipped */
        m = _mm256_max_ps(_mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + i)), m);
    float lanes[8], r = 0.0f;
    _mm256_storeu_ps(lanes, m);
    for (int j = 0; j < 8; j++)
        r = fmaxf(r, lanes[j]);
    for (; i < n; i++)
        r = fmaxf(r, fabsf(x[i]));
    return r;
}

void db_lin_e4m3_avx2(const float *x, size_t n, float sx, float *out) {
    const __m256 scale = _mm256_set1_ps(sx), magic = _mm256_set1_ps(16384.0f); /* ulp 2^-9 */
    const __m256 sign_mask = _mm256_set1_ps(-0.0f), min_normal = _mm256_set1_ps(0x1p-6f);
    size_t i = 0;
    for (; sx != 0.0f && i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), scale);
        __m256 sign = _mm256_and_ps(v, sign_mask), a = _mm256_andnot_ps(sign_mask, v);
        __m256 sub = _mm256_sub_ps(_mm256_add_ps(a, magic), magic); /* multiple of 2^-9 */
        __m256 r =
            _mm256_blendv_ps(round_bits(a, 20), sub, _mm256_cmp_ps(a, min_normal, _CMP_LT_OQ));
        r = _mm256_min_ps(r, _mm256_set1_ps(DB_E4M3_MAX)); /* saturate (a NaN becomes 448 here) */
        r = _mm256_blendv_ps(r, a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q)); /* ... and NaN again */
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_or_ps(r, sign), _mm256_set1_ps(0x1p60f)));
    }
    for (; i < n; i++)
        out[i] = db_e4m3_to_f32(db_e4m3_quantize(x[i], sx)) * 0x1p60f;
}

#else /* no AVX2: the dispatcher uses the scalar kernels */

int db_lin_have_avx2(void) {
    return 0;
}

void db_lin_gemv_avx2(const db_lin_args *a, int n0, int n1) {
    db_lin_gemv_scalar(a, n0, n1);
}

void db_lin_dequant_tile_avx2(const db_linear *W, int n0, int rows, float *tile, int ld) {
    db_lin_dequant_tile_scalar(W, n0, rows, tile, ld);
}

void db_lin_round_avx2(float *x, size_t n, db_num_type t) {
    for (size_t i = 0; i < n; i++)
        x[i] = db_round_to_type(x[i], t);
}

float db_lin_absmax_avx2(const float *x, size_t n) {
    float r = 0.0f;
    for (size_t i = 0; i < n; i++)
        r = fmaxf(r, fabsf(x[i]));
    return r;
}

void db_lin_e4m3_avx2(const float *x, size_t n, float sx, float *out) {
    for (size_t i = 0; i < n; i++)
        out[i] = db_e4m3_to_f32(db_e4m3_quantize(x[i], sx)) * 0x1p60f;
}

#endif
