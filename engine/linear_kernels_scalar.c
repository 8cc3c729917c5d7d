/* linear_kernels_scalar.c — portable kernels of the linear layer (no SIMD intrinsics), computing
 * the same sums with the same per-format conventions as the AVX2 kernels (see linear_kernels.h).
 * Used when the compiler does not target AVX2 + FMA + F16C. Activations are in natural order. */
#include "linear_kernels.h"

/* Row n's element k in the kernels' convention (fp8 * 2^-120, int8 without its scale, int4 without
 * its group scale). */
static inline float kernel_weight(const db_linear *W, int n, int k) {
    size_t off = (size_t)n * (size_t)W->row_stride + (size_t)k;
    switch (W->precision) {
    case DB_PREC_FP16:
        return db_f16_bits_to_f32(((const uint16_t *)W->data)[off]);
    case DB_PREC_BF16:
        return db_bf16_bits_to_f32(((const uint16_t *)W->data)[off]);
    case DB_PREC_FP8:
        return db_e4m3_to_f32(((const uint8_t *)W->data)[off]) * 0x1p-120f;
    case DB_PREC_INT8:
        return (float)((const int8_t *)W->data)[off];
    case DB_PREC_INT4:
        return (float)db_q4_get((const uint8_t *)W->data + (size_t)n * (size_t)(W->row_stride / 2),
                                k);
    default:
        return ((const float *)W->data)[off];
    }
}

/* sum over k in [k0, k1) of weight * x[k], four partial sums. */
static float dot_span(const db_linear *W, int n, int k0, int k1, const float *x) {
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int k = k0;
    for (; k + 4 <= k1; k += 4)
        for (int i = 0; i < 4; i++)
            s[i] += kernel_weight(W, n, k + i) * x[k + i];
    for (; k < k1; k++)
        s[0] += kernel_weight(W, n, k) * x[k];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void db_lin_gemv_scalar(const db_lin_args *a, int n0, int n1) {
    const db_linear *W = a->W;
    int K = W->n_cols;
    for (int n = n0; n < n1; n++)
        for (int b = 0; b < a->B; b++) {
            const float *x = a->xa + (size_t)b * (size_t)a->ldx;
            float acc = 0.0f;
            if (W->precision == DB_PREC_INT4) {
                int G = W->row_stride / DB_Q4_GROUP;
                for (int g = 0; g < G; g++) {
                    int k0 = g * DB_Q4_GROUP, k1 = k0 + DB_Q4_GROUP < K ? k0 + DB_Q4_GROUP : K;
                    acc += dot_span(W, n, k0, k1, x) *
                           db_bf16_bits_to_f32(W->group_scale[(size_t)n * (size_t)G + (size_t)g]);
                }
            } else {
                acc = dot_span(W, n, 0, K, x);
            }
            a->y[(size_t)b * (size_t)a->ldy + (size_t)n] = acc * db_lin_out_scale(a, n, b);
        }
}

void db_lin_dequant_tile_scalar(const db_linear *W, int n0, int rows, float *tile, int ld) {
    int K = W->n_cols;
    for (int r = 0; r < rows; r++) {
        float *dst = tile + (size_t)r * (size_t)ld;
        if (W->precision == DB_PREC_INT4) {
            int G = W->row_stride / DB_Q4_GROUP;
            for (int k = 0; k < W->row_stride; k++) {
                uint16_t sb =
                    W->group_scale[(size_t)(n0 + r) * (size_t)G + (size_t)(k / DB_Q4_GROUP)];
                dst[k] = kernel_weight(W, n0 + r, k) * db_bf16_bits_to_f32(sb);
            }
        } else {
            for (int k = 0; k < K; k++)
                dst[k] = kernel_weight(W, n0 + r, k);
        }
    }
}
