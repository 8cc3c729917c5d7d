/* linear.c — building weight matrices in a precision scheme, reading them back, activation
 * rounding. The forward product is in linear_forward.c (dispatch) and linear_kernels_*.c (kernels).
 */
#include "linear.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "linear_kernels.h"
#include "synth.h"

#define HUGE_ALIGN ((size_t)2 << 20)

/* Large tensors are 2 MiB aligned and asked for transparent huge pages (fewer TLB misses while the
 * GEMV streams them); small ones are cache-line aligned. */
static void *alloc_storage(size_t bytes) {
    size_t align = bytes >= 2 * HUGE_ALIGN ? HUGE_ALIGN : 64;
    size_t rounded = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, rounded ? rounded : align);
#ifdef MADV_HUGEPAGE
    if (p && align == HUGE_ALIGN) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

static size_t element_row_bytes(db_precision p, int row_stride) {
    switch (p) {
    case DB_PREC_FP32:
    case DB_PREC_TF32:
        return (size_t)row_stride * 4;
    case DB_PREC_FP16:
    case DB_PREC_BF16:
        return (size_t)row_stride * 2;
    case DB_PREC_FP8:
    case DB_PREC_INT8:
        return (size_t)row_stride;
    case DB_PREC_INT4:
        return (size_t)row_stride / 2;
    default:
        return 0;
    }
}

static int q4_groups(const db_linear *W) {
    return W->row_stride / DB_Q4_GROUP;
}

static db_status alloc_linear(db_linear *W, int N, int K, db_precision p, db_error *err) {
    memset(W, 0, sizeof *W);
    if (N < 1 || K < 1)
        return db_error_set(err, DB_ERR_INVALID, "linear layer: shape %d x %d, expected N, K >= 1",
                            N, K);
    if ((unsigned)p >= DB_PREC_COUNT)
        return db_error_set(err, DB_ERR_INVALID, "linear layer: unknown precision scheme %d",
                            (int)p);
    W->n_rows = N;
    W->n_cols = K;
    W->precision = p;
    W->row_stride = p == DB_PREC_INT4 ? (K + DB_Q4_GROUP - 1) / DB_Q4_GROUP * DB_Q4_GROUP : K;
    W->data = alloc_storage((size_t)N * element_row_bytes(p, W->row_stride));
    if (p == DB_PREC_FP8 || p == DB_PREC_INT8) W->row_scale = malloc((size_t)N * sizeof(float));
    if (p == DB_PREC_INT4)
        W->group_scale = malloc((size_t)N * (size_t)q4_groups(W) * sizeof(uint16_t));
    if (!W->data || ((p == DB_PREC_FP8 || p == DB_PREC_INT8) && !W->row_scale) ||
        (p == DB_PREC_INT4 && !W->group_scale)) {
        db_linear_free(W);
        return db_error_set(err, DB_ERR_NOMEM, "linear layer: out of memory for %d x %d %s weights",
                            N, K, db_precision_name(p));
    }
    return DB_OK;
}

static float abs_max(const float *v, int n) {
    float m = 0.0f;
    for (int i = 0; i < n; i++)
        m = fmaxf(m, fabsf(v[i]));
    return m;
}

static void store_q4_row(db_linear *W, int n, const float *w) {
    int K = W->n_cols, G = q4_groups(W);
    uint8_t *dst = (uint8_t *)W->data + (size_t)n * (size_t)(W->row_stride / 2);
    memset(dst, DB_Q4_ZERO | (DB_Q4_ZERO << 4), (size_t)W->row_stride / 2);
    for (int g = 0; g < G; g++) {
        int k0 = g * DB_Q4_GROUP, k1 = k0 + DB_Q4_GROUP < K ? k0 + DB_Q4_GROUP : K;
        uint16_t sb = db_q4_group_scale_bits(abs_max(w + k0, k1 - k0));
        W->group_scale[(size_t)n * (size_t)G + (size_t)g] = sb;
        float s = db_bf16_bits_to_f32(sb);
        for (int k = k0; k < k1; k++) {
            uint8_t q = db_q4_quantize(w[k], s);
            uint8_t *b = dst + (k >> 1);
            *b = (k & 1) ? (uint8_t)((*b & 0x0Fu) | (q << 4)) : (uint8_t)((*b & 0xF0u) | q);
        }
    }
}

/* Stores the exact fp32 values w (K) as row n of W in its scheme. */
static void store_row(db_linear *W, int n, const float *w) {
    int K = W->n_cols;
    size_t off = (size_t)n * (size_t)W->row_stride;
    switch (W->precision) {
    case DB_PREC_FP32:
        memcpy((float *)W->data + off, w, (size_t)K * sizeof(float));
        break;
    case DB_PREC_TF32:
        for (int k = 0; k < K; k++)
            ((float *)W->data)[off + k] = db_round_tf32(w[k]);
        break;
    case DB_PREC_FP16:
        for (int k = 0; k < K; k++)
            ((uint16_t *)W->data)[off + k] = db_f32_to_f16_bits(w[k]);
        break;
    case DB_PREC_BF16:
        for (int k = 0; k < K; k++)
            ((uint16_t *)W->data)[off + k] = db_f32_to_bf16_bits(w[k]);
        break;
    case DB_PREC_FP8: {
        float s = db_e4m3_scale(abs_max(w, K));
        W->row_scale[n] = s;
        for (int k = 0; k < K; k++)
            ((uint8_t *)W->data)[off + k] = db_e4m3_quantize(w[k], s);
        break;
    }
    case DB_PREC_INT8: {
        float s = db_q8_scale(abs_max(w, K));
        W->row_scale[n] = s;
        for (int k = 0; k < K; k++)
            ((int8_t *)W->data)[off + k] = db_q8_quantize(w[k], s);
        break;
    }
    case DB_PREC_INT4:
        store_q4_row(W, n, w);
        break;
    default:
        break;
    }
}

db_status db_linear_init_synth(db_linear *W, int N, int K, db_precision precision, uint64_t seed,
                               uint32_t tensor_id, float scale, db_error *err) {
    if (!isfinite(scale)) {
        memset(W, 0, sizeof *W);
        return db_error_set(err, DB_ERR_INVALID, "linear layer: synthetic scale %g is not finite",
                            (double)scale);
    }
    db_status st = alloc_linear(W, N, K, precision, err);
    if (st) return st;
    float *row = malloc((size_t)K * sizeof(float));
    if (!row) {
        db_linear_free(W);
        return db_error_set(err, DB_ERR_NOMEM, "linear layer: out of memory");
    }
    uint64_t key = db_synth_key(seed, tensor_id);
    for (int n = 0; n < N; n++) {
        uint64_t base = (uint64_t)n * (uint64_t)K;
        for (int k = 0; k < K; k++)
            row[k] = scale * db_synth_uniform_from_bits(db_synth_bits(key, base + (uint64_t)k));
        store_row(W, n, row);
    }
    free(row);
    return DB_OK;
}

db_status db_linear_init_f32(db_linear *W, int N, int K, db_precision precision, const float *w,
                             db_error *err) {
    db_status st = alloc_linear(W, N, K, precision, err);
    if (st) return st;
    for (int n = 0; n < N; n++) {
        const float *src = w + (size_t)n * (size_t)K;
        for (int k = 0; k < K; k++)
            if (!isfinite(src[k])) {
                db_linear_free(W);
                return db_error_set(err, DB_ERR_INVALID,
                                    "linear layer: weight at row %d, column %d is %g (expected a "
                                    "finite value)",
                                    n, k, (double)src[k]);
            }
        store_row(W, n, src);
    }
    return DB_OK;
}

void db_linear_free(db_linear *W) {
    if (!W) return;
    free(W->data);
    free(W->row_scale);
    free(W->group_scale);
    memset(W, 0, sizeof *W);
}

size_t db_linear_bytes(const db_linear *W) {
    size_t b = (size_t)W->n_rows * element_row_bytes(W->precision, W->row_stride);
    if (W->row_scale) b += (size_t)W->n_rows * sizeof(float);
    if (W->group_scale) b += (size_t)W->n_rows * (size_t)q4_groups(W) * sizeof(uint16_t);
    return b;
}

float db_linear_get(const db_linear *W, int n, int k) {
    size_t off = (size_t)n * (size_t)W->row_stride + (size_t)k;
    switch (W->precision) {
    case DB_PREC_FP32:
    case DB_PREC_TF32:
        return ((const float *)W->data)[off];
    case DB_PREC_FP16:
        return db_f16_bits_to_f32(((const uint16_t *)W->data)[off]);
    case DB_PREC_BF16:
        return db_bf16_bits_to_f32(((const uint16_t *)W->data)[off]);
    case DB_PREC_FP8:
        return db_e4m3_to_f32(((const uint8_t *)W->data)[off]) * W->row_scale[n];
    case DB_PREC_INT8:
        return (float)((const int8_t *)W->data)[off] * W->row_scale[n];
    case DB_PREC_INT4: {
        const uint8_t *row = (const uint8_t *)W->data + (size_t)n * (size_t)(W->row_stride / 2);
        uint16_t sb = W->group_scale[(size_t)n * (size_t)q4_groups(W) + (size_t)(k / DB_Q4_GROUP)];
        return (float)db_q4_get(row, k) * db_bf16_bits_to_f32(sb);
    }
    default:
        return 0.0f;
    }
}

void db_linear_dequant_row(const db_linear *W, int n, float *out) {
    if (W->precision == DB_PREC_FP32 || W->precision == DB_PREC_TF32) {
        memcpy(out, (const float *)W->data + (size_t)n * (size_t)W->row_stride,
               (size_t)W->n_cols * sizeof(float));
        return;
    }
    for (int k = 0; k < W->n_cols; k++)
        out[k] = db_linear_get(W, n, k);
}

db_num_type db_precision_act_type(db_precision p) {
    switch (p) {
    case DB_PREC_TF32:
        return DB_NUM_TF32;
    case DB_PREC_FP16:
        return DB_NUM_F16;
    case DB_PREC_BF16:
    case DB_PREC_FP8:
    case DB_PREC_INT8:
    case DB_PREC_INT4:
        return DB_NUM_BF16;
    default:
        return DB_NUM_F32;
    }
}

void db_round_buffer_to_precision(float *x, size_t n, db_precision p) {
    db_num_type t = db_precision_act_type(p);
    if (t != DB_NUM_F32) db_lin_round_avx2(x, n, t);
}
