/* cpu_kv.h — the CPU backend's storage of the paged KV cache: K and V of every layer, indexed by
 * physical block id, in the KV dtype (fp32, fp16, bf16 or fp8 e4m3).
 *
 * What it is for: writing the K/V rows of new positions with the dtype's rounding (kernels/numerics.h)
 * and reading them back dequantised, given a sequence's block table.
 * What it must not do: decide which blocks a sequence owns (engine/kv_cache.c does), run attention,
 * print, or exit.
 *
 * Layout: K and V each (n_layers, total_blocks, block_size, kv_dim); position p of a sequence lives in
 * block blocks[p / block_size], slot p % block_size.
 * fp8: each (token, kv head) row of head_size elements has its own fp32 scale s = max|x| / 448
 * (per-token-per-head), stored beside the cache in (n_layers, total_blocks, block_size, n_kv_heads);
 * element = e4m3(x / s), read back as e4m3 * s. A zero row has scale 0 and reads back as zeros.
 */
#ifndef DB_CPU_KV_H
#define DB_CPU_KV_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

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

/* Reads head `head` of token row `row` dequantised into out (head_size); `which` 0 = K, 1 = V.
 * For fp32 storage it may return a pointer into the cache instead of copying; use the result. */
const float *db_cpu_kv_read_head(const db_cpu_kv *kv, int which, size_t row, int head, float *out);

#ifdef __cplusplus
}
#endif
#endif
