/* bench_gpu_attention.c — split-KV decode attention at long context: one layer, batch 32, 8192 keys
 * per sequence, bf16 KV in blocks of 16 (permuted block ids), for the llama2-7b head shape (32
 * query / 32 KV heads of 128) and llama3-8b's (32 / 8, GQA 4); achieved bandwidth as a fraction of
 * the copy bandwidth measured in the same run.
 *
 *   bench_gpu_attention [--batch 32] [--ctx 8192] [--reps 20] [--device 0]
 *
 * Bytes per call = the KV read (batch x ctx x 2 x kv_dim x 2 bytes; queries and outputs are < 0.1
 * %). The split count is the backend's choice (db_cuda_attention_decode_splits); one split is shown
 * too. RESULT lines: copy_GBps, attn_<shape>_ms, attn_<shape>_frac_copy_bw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu_common.h"

#ifdef DECODEBENCH_HAVE_CUDA
#include "attention.cuh"
#include "cuda_ceilings.h"
#include "weights.cuh"
#include "synth.h"

typedef struct attn_ctx {
    db_cuda_attn a;
    int rows, splits;
    float *partial;
    cudaStream_t s;
} attn_ctx;

static db_status run_attn(void *ctx, db_error *err) {
    attn_ctx *c = ctx;
    return DB_CUDA_CHECK(
        err, db_cuda_attention_decode(&c->a, NULL, c->rows, c->splits, c->partial, c->s));
}

/* Random bf16 K or V for every cell: a bf16 "matrix" of (cells, head_size) filled on the device. */
static db_status fill_bf16(void *data, int64_t rows, int hs, uint32_t id, cudaStream_t s,
                           db_error *err) {
    db_cuda_matrix W = {(int)rows, hs, (int)rows, hs, DB_WFMT_BF16, 0, data, NULL, NULL};
    db_cuda_fill_src src = {NULL, db_synth_key(5, id), 1.0f, 0};
    return DB_CUDA_CHECK(err, db_cuda_matrix_fill(W, 0, (int)rows, src, NULL, s));
}

/* One shape: returns the median seconds with the backend's split count and with one split. */
static db_status shape(int B, int ctx, int H, int KVH, int hs, int sm, int reps, double *t_split,
                       double *t_one, int *splits, db_error *err) {
    const int bs = 16;
    int64_t blocks_per_seq = (ctx + bs - 1) / bs, total = (int64_t)B * blocks_per_seq,
            cells = total * KVH * bs;
    attn_ctx c;
    memset(&c, 0, sizeof c);
    DB_CUDA_TRY(err, cudaStreamCreateWithFlags(&c.s, cudaStreamNonBlocking));
    void *k = NULL, *v = NULL;
    float *q = NULL, *out = NULL;
    int *pos = NULL, *bts = NULL, *bt = NULL;
    int *h_pos = malloc((size_t)B * sizeof(int)), *h_bts = malloc((size_t)B * sizeof(int));
    int *h_bt = malloc((size_t)total * sizeof(int));
    for (int b = 0; b < B; b++)
        h_pos[b] = ctx - 1, h_bts[b] = (int)(b * blocks_per_seq);
    for (int64_t i = 0; i < total; i++)
        h_bt[i] = (int)((i * 7919) % total); /* a permutation unless 7919 | total */
    db_status st;
    if ((st = DB_CUDA_CHECK(err, cudaMalloc(&k, (size_t)cells * hs * 2))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc(&v, (size_t)cells * hs * 2))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&q, (size_t)B * H * hs * 4))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&out, (size_t)B * H * hs * 4))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&pos, (size_t)B * 4))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&bts, (size_t)B * 4))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&bt, (size_t)total * 4))) ||
        (st = fill_bf16(k, cells, hs, 1, c.s, err)) ||
        (st = fill_bf16(v, cells, hs, 2, c.s, err)) ||
        (st = DB_CUDA_CHECK(err, db_cuda_gain_fill(q, B * H * hs, 9, 0.5f, c.s))) ||
        (st = DB_CUDA_CHECK(err, cudaMemcpy(pos, h_pos, (size_t)B * 4, cudaMemcpyHostToDevice))) ||
        (st = DB_CUDA_CHECK(err, cudaMemcpy(bts, h_bts, (size_t)B * 4, cudaMemcpyHostToDevice))) ||
        (st =
             DB_CUDA_CHECK(err, cudaMemcpy(bt, h_bt, (size_t)total * 4, cudaMemcpyHostToDevice))) ||
        (st = DB_CUDA_CHECK(err,
                            cudaDeviceSynchronize()))) /* legacy-stream copies before c.s runs */
        goto done;
    c.a = (db_cuda_attn){q,   H * hs, out, H * hs, {k, v, NULL, NULL, DB_NUM_BF16, KVH, hs, bs},
                         pos, bts,    bt,  H};
    c.rows = B;
    c.splits = *splits = db_cuda_attention_decode_splits(B, H, KVH, sm, ctx);
    if ((st = DB_CUDA_CHECK(
             err,
             cudaMalloc((void **)&c.partial,
                        db_cuda_attention_decode_partial_floats(B, H, hs, c.splits) * 4 + 4))) ||
        (st = bench_time(run_attn, &c, c.s, 3, reps, NULL, 0, t_split, err)))
        goto done;
    c.splits = 1;
    st = bench_time(run_attn, &c, c.s, 3, reps, NULL, 0, t_one, err);
done:
    cudaFree(k), cudaFree(v), cudaFree(q), cudaFree(out), cudaFree(pos), cudaFree(bts),
        cudaFree(bt), cudaFree(c.partial);
    cudaStreamDestroy(c.s);
    free(h_pos), free(h_bts), free(h_bt);
    return st;
}
#endif

int main(int argc, char **argv) {
    long batch = 32, ctx = 8192, reps = 20, device = 0;
    for (int i = 1; i < argc; i++) {
        int r = bench_int_flag(argc, argv, &i, "--batch", &batch);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--ctx", &ctx);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--reps", &reps);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--device", &device);
        if (r != 0 || batch < 1 || batch > 65535 || ctx < 1) {
            fprintf(stderr, "usage: %s [--batch B] [--ctx C] [--reps R] [--device D]\n", argv[0]);
            return 2;
        }
    }
    int skip = bench_gpu_skip("bench_gpu_attention");
    if (skip) return skip;
#ifdef DECODEBENCH_HAVE_CUDA
    db_error err;
    db_cuda_ceilings_opts co = {(int)device, (size_t)1 << 30, -1, 3, 20, 1};
    db_cuda_ceilings ceil;
    if (db_cuda_measure_ceilings(&co, &ceil, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_attention: copy bandwidth: %s\n", err.msg);
        return 1;
    }
    int sm = 0;
    cudaDeviceGetAttribute(&sm, cudaDevAttrMultiProcessorCount, (int)device);
    const struct {
        const char *name;
        int H, KVH, hs;
    } shapes[2] = {{"llama2_7b", 32, 32, 128}, {"llama3_8b", 32, 8, 128}};
    printf("decode attention, batch %ld, %ld keys each, bf16 KV, on %s (copy %.1f GB/s)\n", batch,
           ctx, ceil.device, ceil.copy.rate / 1e9);
    printf("%-10s %8s %10s %10s %12s %12s %12s\n", "shape", "splits", "GB/call", "ms", "of copy bw",
           "1 split ms", "of copy bw");
    for (int i = 0; i < 2; i++) {
        double t = 0, t1 = 0,
               bytes = (double)batch * ctx * 2.0 * shapes[i].KVH * shapes[i].hs * 2.0;
        int splits = 0;
        if (shape((int)batch, (int)ctx, shapes[i].H, shapes[i].KVH, shapes[i].hs, sm, (int)reps, &t,
                  &t1, &splits, &err) != DB_OK) {
            fprintf(stderr, "bench_gpu_attention: %s: %s\n", shapes[i].name, err.msg);
            return 1;
        }
        double f = bytes / t / ceil.copy.rate, f1 = bytes / t1 / ceil.copy.rate;
        printf("%-10s %8d %10.3f %10.3f %11.1f%% %12.3f %11.1f%%\n", shapes[i].name, splits,
               bytes / 1e9, t * 1e3, 100 * f, t1 * 1e3, 100 * f1);
        char name[96];
        snprintf(name, sizeof name, "attn_%s_ms", shapes[i].name);
        bench_result(name, t * 1e3, "ms");
        snprintf(name, sizeof name, "attn_%s_frac_copy_bw", shapes[i].name);
        bench_result(name, f, "fraction");
    }
    bench_result("copy_GBps", ceil.copy.rate / 1e9, "GB/s");
    return 0;
#else
    return 77;
#endif
}
