/* cpu_kv.c — KV-cache storage in the KV dtype (layout and fp8 scales in cpu_kv.h). */
#include "cpu_kv.h"

#include <stdlib.h>
#include <string.h>

#include "numerics.h"

static size_t dtype_bytes(db_kv_dtype t) {
    switch (t) {
    case DB_KV_FP16:
    case DB_KV_BF16:
        return 2;
    case DB_KV_FP8:
        return 1;
    default:
        return 4;
    }
}

db_status db_cpu_kv_create(db_cpu_kv *kv, const db_model_config *m, db_kv_dtype dtype,
                           int64_t total_blocks, int block_size, db_error *err) {
    memset(kv, 0, sizeof *kv);
    if ((unsigned)dtype >= DB_KV_COUNT)
        return db_error_set(err, DB_ERR_INVALID, "cpu backend: unknown KV dtype %d", (int)dtype);
    if (total_blocks < 1 || block_size < 1)
        return db_error_set(err, DB_ERR_INVALID,
                            "cpu backend: KV cache of %lld blocks of %d tokens",
                            (long long)total_blocks, block_size);
    kv->dtype = dtype;
    kv->n_layers = m->n_layers;
    kv->total_blocks = total_blocks;
    kv->block_size = block_size;
    kv->kv_dim = db_model_kv_dim(m);
    kv->n_kv_heads = m->n_kv_heads;
    kv->head_size = db_model_head_size(m);
    kv->elem_bytes = dtype_bytes(dtype);
    for (int b = 0; b < 256; b++)
        kv->e4m3[b] = db_e4m3_to_f32((uint8_t)b);
    size_t rows = (size_t)m->n_layers * (size_t)total_blocks * (size_t)block_size;
    size_t bytes = rows * (size_t)kv->kv_dim * kv->elem_bytes;
    kv->k = calloc(1, bytes);
    kv->v = calloc(1, bytes);
    if (dtype == DB_KV_FP8) {
        kv->k_scale = calloc(rows * (size_t)kv->n_kv_heads, sizeof(float));
        kv->v_scale = calloc(rows * (size_t)kv->n_kv_heads, sizeof(float));
    }
    if (!kv->k || !kv->v || (dtype == DB_KV_FP8 && (!kv->k_scale || !kv->v_scale))) {
        db_cpu_kv_destroy(kv);
        return db_error_set(
            err, DB_ERR_NOMEM,
            "cpu backend: cannot allocate the KV cache (2 x %zu bytes for %lld blocks "
            "of %d tokens)",
            bytes, (long long)total_blocks, block_size);
    }
    return DB_OK;
}

void db_cpu_kv_destroy(db_cpu_kv *kv) {
    free(kv->k);
    free(kv->v);
    free(kv->k_scale);
    free(kv->v_scale);
    memset(kv, 0, sizeof *kv);
}

size_t db_cpu_kv_bytes(const db_cpu_kv *kv) {
    size_t rows = (size_t)kv->n_layers * (size_t)kv->total_blocks * (size_t)kv->block_size;
    size_t b = 2 * rows * (size_t)kv->kv_dim * kv->elem_bytes;
    if (kv->dtype == DB_KV_FP8) b += 2 * rows * (size_t)kv->n_kv_heads * sizeof(float);
    return b;
}

/* One row of kv_dim values into storage of the dtype (scales: n_kv_heads, fp8 only). */
static void store_row(const db_cpu_kv *kv, void *base, float *scales, size_t row, const float *x) {
    size_t off = row * (size_t)kv->kv_dim;
    int n = kv->kv_dim;
    switch (kv->dtype) {
    case DB_KV_FP32:
        memcpy((float *)base + off, x, (size_t)n * sizeof(float));
        break;
    case DB_KV_FP16:
        for (int i = 0; i < n; i++)
            ((uint16_t *)base)[off + (size_t)i] = db_f32_to_f16_bits(x[i]);
        break;
    case DB_KV_BF16:
        for (int i = 0; i < n; i++)
            ((uint16_t *)base)[off + (size_t)i] = db_f32_to_bf16_bits(x[i]);
        break;
    case DB_KV_FP8:
        for (int h = 0; h < kv->n_kv_heads; h++) {
            const float *xh = x + (size_t)h * (size_t)kv->head_size;
            float amax = 0.0f;
            for (int i = 0; i < kv->head_size; i++)
                amax = fmaxf(amax, fabsf(xh[i]));
            float s = db_e4m3_scale(amax);
            uint8_t *dst = (uint8_t *)base + off + (size_t)h * (size_t)kv->head_size;
            for (int i = 0; i < kv->head_size; i++)
                dst[i] = db_e4m3_quantize(xh[i], s);
            scales[row * (size_t)kv->n_kv_heads + (size_t)h] = s;
        }
        break;
    default:
        break;
    }
}

void db_cpu_kv_write(db_cpu_kv *kv, size_t row, const float *k, const float *v) {
    store_row(kv, kv->k, kv->k_scale, row, k);
    store_row(kv, kv->v, kv->v_scale, row, v);
}
