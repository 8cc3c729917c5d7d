/* cuda_backend.c — the CUDA backend's open/close, KV-cache storage, default KV size and vtable
 * (db_backend_cuda). The step is in cuda_step.c, the kernels it runs in cuda_forward.c. */
#include "cuda_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.cuh"
#include "cpu_ops.h" /* db_cpu_rope_freq: the same frequencies as the CPU */
#include "cuda_check.h"
#include "cuda_info.h" /* db_cuda_profiler */
#include "linear.h"    /* db_precision_act_type */
#include "model.h"

#define DB_CUDA_MARGIN_BYTES ((int64_t)1 << 30) /* kept free beside weights and KV: 1 GiB + 5 % */

/* ---- device and options
 * ---------------------------------------------------------------------------- */

static db_status check_device(int ordinal, db_error *err) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n < 1) {
        (void)cudaGetLastError();
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "backend cuda: no CUDA device is present (cudaGetDeviceCount: %s)",
                            e != cudaSuccess ? cudaGetErrorString(e)
                                             : "the driver reports 0 devices");
    }
    if (ordinal < 0 || ordinal >= n)
        return db_error_set(err, DB_ERR_INVALID,
                            "cuda_device %d: this machine has %d CUDA device%s (0..%d)", ordinal, n,
                            n == 1 ? "" : "s", n - 1);
    return DB_OK;
}

static db_status check_opts(const db_engine_opts *o, int64_t total_blocks, db_error *err) {
    db_status st = db_model_validate(&o->model, err);
    if (st != DB_OK) return st;
    if ((unsigned)o->precision >= DB_PREC_COUNT || (unsigned)o->kv_dtype >= DB_KV_COUNT)
        return db_error_set(err, DB_ERR_INVALID,
                            "cuda backend: unknown precision %d or KV dtype %d", (int)o->precision,
                            (int)o->kv_dtype);
    int hs = db_model_head_size(&o->model);
    if (hs > DB_CUDA_ATTN_MAX_HEAD)
        return db_error_set(
            err, DB_ERR_UNSUPPORTED,
            "cuda backend: head size %d of model '%s' is above the %d the attention kernels "
            "support",
            hs, o->model.name, DB_CUDA_ATTN_MAX_HEAD);
    if (o->kv_block_size < 0 || total_blocks < 1)
        return db_error_set(
            err, DB_ERR_INVALID,
            "cuda backend: a KV cache needs at least one block of at least one token (got %lld "
            "blocks of %d tokens)",
            (long long)total_blocks, o->kv_block_size);
    if (!(o->temperature >= 0.0f) || o->top_k < 0)
        return db_error_set(err, DB_ERR_INVALID,
                            "cuda backend: temperature must be >= 0 and top_k >= 0 (got %g, %d)",
                            (double)o->temperature, o->top_k);
    return check_device(o->cuda_device, err);
}

static db_num_type kv_type(db_kv_dtype k) {
    switch (k) {
    case DB_KV_FP16:
        return DB_NUM_F16;
    case DB_KV_BF16:
        return DB_NUM_BF16;
    case DB_KV_FP8:
        return DB_NUM_E4M3;
    default:
        return DB_NUM_F32;
    }
}

static size_t kv_elem_bytes(db_kv_dtype k) {
    return k == DB_KV_FP8 ? 1 : (k == DB_KV_FP32 ? 4 : 2);
}

/* KV storage for total_blocks blocks: bytes of elements (K and V) and of fp8 scales. */
static size_t kv_bytes(const db_model_config *m, db_kv_dtype k, int64_t total_blocks, int bs,
                       size_t *scale_bytes) {
    size_t rows = (size_t)m->n_layers * (size_t)total_blocks * (size_t)bs * (size_t)m->n_kv_heads;
    *scale_bytes = k == DB_KV_FP8 ? 2 * rows * sizeof(float) : 0;
    return 2 * rows * (size_t)db_model_head_size(m) * kv_elem_bytes(k);
}

static db_status init_device(db_cuda_backend *b, db_error *err) {
    int dev = b->device;
    struct cudaDeviceProp prop;
    db_status st;
    if ((st = DB_CUDA_CHECK(err, cudaSetDevice(dev))) ||
        (st = DB_CUDA_CHECK(err, cudaGetDeviceProperties(&prop, dev))))
        return st;
    b->sm_count = prop.multiProcessorCount;
    b->cc_major = prop.major, b->cc_minor = prop.minor;
    snprintf(b->device_name, sizeof b->device_name, "%s (cc %d.%d, %d SMs)", prop.name, prop.major,
             prop.minor, prop.multiProcessorCount);
    if (b->opts.precision == DB_PREC_FP8 && prop.major * 10 + prop.minor < 89)
        return db_error_set(
            err, DB_ERR_UNSUPPORTED,
            "cuda backend: precision fp8 (e4m3 W8A8) needs compute capability 8.9 or newer; %s "
            "has %d.%d",
            prop.name, prop.major, prop.minor);
    if ((st = DB_CUDA_CHECK(err, cudaStreamCreateWithFlags(&b->stream, cudaStreamNonBlocking))) ||
        (st = DB_CUDA_CHECK(err, cudaEventCreate(&b->ev_start))) ||
        (st = DB_CUDA_CHECK(err, cudaEventCreate(&b->ev_end))))
        return st;
    return db_cuda_gemm_create(&b->gemm, b->stream, dev, err);
}

/* Weights and KV must fit in what the device has free, with the margin. */
static db_status check_memory(const db_cuda_backend *b, int64_t total_blocks, db_error *err) {
    size_t free_b = 0, total_b = 0, sb = 0;
    DB_CUDA_TRY(err, cudaMemGetInfo(&free_b, &total_b));
    double w = (double)db_cuda_weights_bytes_estimate(&b->config, b->opts.precision);
    double kv = (double)kv_bytes(&b->config, b->opts.kv_dtype, total_blocks, b->block_size, &sb) +
                (double)sb;
    if (w + kv > (double)free_b)
        return db_error_set(
            err, DB_ERR_NOMEM,
            "cuda backend: model '%s' in %s needs %.2f GB of weights and %.2f GB of KV cache "
            "(%lld blocks of %d tokens, KV %s); %s has %.2f GB free",
            b->config.name, db_precision_name(b->opts.precision), w / 1e9, kv / 1e9,
            (long long)total_blocks, b->block_size, db_kv_dtype_name(b->opts.kv_dtype),
            b->device_name, (double)free_b / 1e9);
    return DB_OK;
}

static db_status alloc_kv(db_cuda_backend *b, db_error *err) {
    const db_model_config *m = &b->config;
    size_t sb = 0, eb = kv_bytes(m, b->opts.kv_dtype, b->total_blocks, b->block_size, &sb);
    db_status st;
    b->kv = calloc((size_t)m->n_layers, sizeof *b->kv);
    if (!b->kv) return db_error_set(err, DB_ERR_NOMEM, "cuda backend: out of host memory");
    if ((st = DB_CUDA_CHECK(err, cudaMalloc(&b->kv_k, eb / 2))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc(&b->kv_v, eb / 2))) ||
        (st = DB_CUDA_CHECK(err, cudaMemset(b->kv_k, 0, eb / 2))) ||
        (st = DB_CUDA_CHECK(err, cudaMemset(b->kv_v, 0, eb / 2))))
        return st;
    if (sb && ((st = DB_CUDA_CHECK(err, cudaMalloc((void **)&b->kv_k_scale, sb / 2))) ||
               (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&b->kv_v_scale, sb / 2))) ||
               (st = DB_CUDA_CHECK(err, cudaMemset(b->kv_k_scale, 0, sb / 2))) ||
               (st = DB_CUDA_CHECK(err, cudaMemset(b->kv_v_scale, 0, sb / 2)))))
        return st;
    size_t layer_rows = (size_t)b->total_blocks * (size_t)b->block_size * (size_t)m->n_kv_heads;
    size_t layer_bytes =
        layer_rows * (size_t)db_model_head_size(m) * kv_elem_bytes(b->opts.kv_dtype);
    for (int l = 0; l < m->n_layers; l++) {
        db_cuda_kv_layer *k = &b->kv[l];
        k->k = (char *)b->kv_k + (size_t)l * layer_bytes;
        k->v = (char *)b->kv_v + (size_t)l * layer_bytes;
        k->k_scale = sb ? b->kv_k_scale + (size_t)l * layer_rows : NULL;
        k->v_scale = sb ? b->kv_v_scale + (size_t)l * layer_rows : NULL;
        k->type = kv_type(b->opts.kv_dtype);
        k->n_kv_heads = m->n_kv_heads;
        k->head_size = db_model_head_size(m);
        k->block_size = b->block_size;
    }
    return DB_OK;
}

static db_status upload_rope(db_cuda_backend *b, db_error *err) {
    int hs = db_model_head_size(&b->config);
    float *f = malloc((size_t)(hs / 2) * sizeof(float));
    if (!f) return db_error_set(err, DB_ERR_NOMEM, "cuda backend: out of host memory");
    db_cpu_rope_freq(f, hs, b->config.rope_theta);
    db_status st =
        DB_CUDA_CHECK(err, cudaMalloc((void **)&b->rope_freq, (size_t)(hs / 2) * sizeof(float)));
    if (st == DB_OK)
        st = DB_CUDA_CHECK(err, cudaMemcpy(b->rope_freq, f, (size_t)(hs / 2) * sizeof(float),
                                           cudaMemcpyHostToDevice));
    free(f);
    return st;
}

/* ---- open / close
 * ---------------------------------------------------------------------------------- */

void db_cuda_close(db_cuda_backend *b) {
    if (!b) return;
    cudaSetDevice(b->device);
    if (b->stream) cudaStreamSynchronize(b->stream);
    for (int i = 0; i < DB_CUDA_GRAPH_BUCKETS; i++)
        if (b->graphs[i].exec) cudaGraphExecDestroy(b->graphs[i].exec);
    db_cuda_acts_free(&b->a);
    db_cuda_weights_free(&b->w);
    db_cuda_gemm_destroy(&b->gemm);
    cudaFree(b->kv_k);
    cudaFree(b->kv_v);
    cudaFree(b->kv_k_scale);
    cudaFree(b->kv_v_scale);
    cudaFree(b->rope_freq);
    if (b->ev_start) cudaEventDestroy(b->ev_start);
    if (b->ev_end) cudaEventDestroy(b->ev_end);
    if (b->stream) cudaStreamDestroy(b->stream);
    (void)cudaGetLastError();
    free(b->kv);
    free(b->h_want_item);
    free(b->h_sample_idx);
    free(b);
}

db_status db_cuda_open(const db_engine_opts *o, int64_t total_blocks, db_cuda_backend **out,
                       db_error *err) {
    *out = NULL;
    db_status st = check_opts(o, total_blocks, err);
    if (st != DB_OK) return st;
    db_cuda_backend *b = calloc(1, sizeof *b);
    if (!b) return db_error_set(err, DB_ERR_NOMEM, "cuda backend: out of host memory");
    b->opts = *o;
    b->opts.checkpoint_path = NULL;
    b->opts.sim_device = NULL;
    b->config = o->model;
    b->device = o->cuda_device;
    b->block_size = o->kv_block_size > 0 ? o->kv_block_size : 16;
    b->total_blocks = total_blocks;
    b->max_blocks_per_seq = (o->model.max_seq_len + b->block_size - 1) / b->block_size;
    b->act_round = db_precision_act_type(o->precision);
    b->act_in = db_cuda_precision_act_in(o->precision);
    st = init_device(b, err);
    if (st == DB_OK) st = check_memory(b, total_blocks, err);
    if (st == DB_OK)
        st = o->checkpoint_path
                 ? db_cuda_weights_load(&b->w, &b->config, o->precision, o->checkpoint_path,
                                        b->stream, err)
                 : db_cuda_weights_synth(&b->w, &b->config, o->precision, o->seed, b->stream, err);
    if (st == DB_OK) st = alloc_kv(b, err);
    if (st == DB_OK) st = upload_rope(b, err);
    /* The memsets and copies above ran on the legacy stream; the steps run on b->stream, which does
     * not wait for it. */
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaDeviceSynchronize());
    if (st != DB_OK) {
        db_cuda_close(b);
        return st;
    }
    db_nvtx_init(&b->nvtx);
    *out = b;
    return DB_OK;
}

/* ---- the vtable
 * ---------------------------------------------------------------------------------------- */

static db_status cuda_open(const db_engine_opts *o, int64_t total_blocks, void **state,
                           db_error *err) {
    db_cuda_backend *b = NULL;
    db_status st = db_cuda_open(o, total_blocks, &b, err);
    *state = b;
    return st;
}

static void cuda_close(void *state) {
    db_cuda_close(state);
}

/* The profiler window of `run --profile-steps`: cudaProfilerStart / cudaProfilerStop. */
static db_status cuda_profiler(void *state, int start, db_error *err) {
    (void)state;
    return db_cuda_profiler(start, err);
}

static db_status cuda_step(void *state, const db_work *work, const db_backend_seq_view *seqs, int n,
                           db_step_result *res, db_error *err) {
    return db_cuda_step(state, work, seqs, n, res, err);
}

static const char *cuda_device_name(void *state) {
    return ((db_cuda_backend *)state)->device_name;
}

/* Free device memory after the weights and a margin (1 GiB + 5 % of the device). */
static db_status cuda_default_kv_bytes(const db_engine_opts *o, int64_t *bytes, db_error *err) {
    *bytes = 0;
    db_status st = check_device(o->cuda_device, err);
    size_t free_b = 0, total_b = 0;
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaSetDevice(o->cuda_device));
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaMemGetInfo(&free_b, &total_b));
    if (st != DB_OK) return st;
    int64_t weights = (int64_t)db_cuda_weights_bytes_estimate(&o->model, o->precision);
    int64_t margin = DB_CUDA_MARGIN_BYTES + (int64_t)(total_b / 20);
    int64_t avail = (int64_t)free_b - weights - margin;
    if (avail <= 0)
        return db_error_set(
            err, DB_ERR_NOMEM,
            "cuda backend: model '%s' in %s needs %.2f GB of weights plus a %.2f GB working "
            "margin; the device has %.2f GB free, so no room is left for the KV cache",
            o->model.name, db_precision_name(o->precision), (double)weights / 1e9,
            (double)margin / 1e9, (double)free_b / 1e9);
    *bytes = avail;
    return DB_OK;
}

const db_backend_ops db_backend_cuda = {
    .name = "cuda",
    .open = cuda_open,
    .close = cuda_close,
    .step = cuda_step,
    .device_name = cuda_device_name,
    .default_kv_bytes = cuda_default_kv_bytes,
    .profiler = cuda_profiler,
};
