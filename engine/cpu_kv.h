/* cpu_kv.h — the CPU backend's storage of the paged KV cache: K and V of every layer, indexed by
 * physical block id, in the KV dtype (fp32, fp16, bf16 or fp8 e4m3).
 *
 * What it is for: writing the K/V rows of new positions with the dtype's rounding
 * (kernels/numerics.h) and reading them back dequantised, given a sequence's block table. What it
 * must not do: decide which blocks a sequence owns (engine/kv_cache.c does), run attention, print,
 * or exit.
 *
 * Layout: K and V each (n_layers, total_blocks, block_size, kv_dim); position p of a sequence lives
 * in block blocks[p / block_size], slot p % block_size. fp8: each (token, kv head) row of head_size
 * elements has its own fp32 scale s = max|x| / 448 (per-token-per-head), stored beside the cache in
 * (n_layers, total_blocks, block_size, n_kv_heads); element = e4m3(x / s), read back as e4m3 * s. A
 * zero row has scale 0 and reads back as zeros.
 */
#ifndef DB_CPU_KV_H
#define DB_CPU_KV_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "numerics.h"

#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct db_cpu_kv {
    db_kv_dtype dtype;
    int n_layers;
    int64_t total_blocks;
    int block_size;
    int kv_dim;
    int n_kv_heads;
    int head_size;
    size_t elem_bytes; /* 4, 2, 2 or 1 */
    void *k;           /* (n_layers, total_blocks, block_size, kv_dim) of the dtype */
    void *v;           /* (n_layers, total_blocks, block_size, kv_dim) of the dtype */
    float *k_scale;    /* fp8 only: (n_layers, total_blocks, block_size, n_kv_heads) */
    float *v_scale;    /* fp8 only: (n_layers, total_blocks, block_size, n_kv_heads) */
    float e4m3[256];   /* fp8 only: db_e4m3_to_f32 of every byte (an exact table for reading) */
} db_cpu_kv;

/* Storage for total_blocks blocks of the model's shape. DB_ERR_NOMEM names the bytes asked for. */
db_status db_cpu_kv_create(db_cpu_kv *kv, const db_model_config *m, db_kv_dtype dtype,
                           int64_t total_blocks, int block_size, db_error *err);
void db_cpu_kv_destroy(db_cpu_kv *kv);

/* Bytes held (elements and fp8 scales). */
size_t db_cpu_kv_bytes(const db_cpu_kv *kv);

/* Index of (layer, block, slot) as a token row: multiply by kv_dim for elements, n_kv_heads for
 * scales. */
static inline size_t db_cpu_kv_row(const db_cpu_kv *kv, int layer, int32_t block, int slot) {
    return ((size_t)layer * (size_t)kv->total_blocks + (size_t)block) * (size_t)kv->block_size +
           (size_t)slot;
}

/* Stores k (kv_dim) and v (kv_dim) as token row `row` (db_cpu_kv_row) in the dtype. */
void db_cpu_kv_write(db_cpu_kv *kv, size_t row, const float *k, const float *v);

/* fp16 bits (n) to fp32 (exact): F16C when the target has it, else numerics.h. */
static inline void db_cpu_kv_f16_to_f32(const uint16_t *src, float *out, int n) {
    int i = 0;
#if defined(__F16C__) && defined(__AVX__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(
            out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(src + i))));
#endif
    for (; i < n; i++)
        out[i] = db_f16_bits_to_f32(src[i]);
}

/* Reads head `head` of token row `row` dequantised into out (head_size); `which` 0 = K, 1 = V.
 * For fp32 storage it returns a pointer into the cache instead of copying; use the result. */
static inline const float *db_cpu_kv_read_head(const db_cpu_kv *kv, int which, size_t row, int head,
                                               float *restrict out) {
    const void *base = which ? kv->v : kv->k;
    size_t off = row * (size_t)kv->kv_dim + (size_t)head * (size_t)kv->head_size;
    int n = kv->head_size;
    switch (kv->dtype) {
    case DB_KV_FP32:
        return (const float *)base + off;
    case DB_KV_FP16:
        db_cpu_kv_f16_to_f32((const uint16_t *)base + off, out, n);
        return out;
    case DB_KV_BF16: {
        const uint16_t *src = (const uint16_t *)base + off;
        for (int i = 0; i < n; i++)
            out[i] = db_bf16_bits_to_f32(src[i]);
        return out;
    }
    case DB_KV_FP8: {
        const uint8_t *src = (const uint8_t *)base + off;
        float s = (which ? kv->v_scale : kv->k_scale)[row * (size_t)kv->n_kv_heads + (size_t)head];
        for (int i = 0; i < n; i++)
            out[i] = kv->e4m3[src[i]] * s;
        return out;
    }
    default:
        return out;
    }
}

#ifdef __cplusplus
}
#endif
#endif
