/* bench_gpu_gemm.c — the linear layers of one decoder layer at a large decode batch (default 256)
 * on the CUDA backend's GEMM paths (engine/cuda_gemm.h), against the GEMM peak and copy bandwidth
 * measured in the same run.
 *
 *   bench_gpu_gemm [--model llama2-7b] [--batch 256] [--reps 20] [--device 0]
 *
 * Matrices of the model's layer: wq|wk|wv, wo, w1|w3, w2 (synthetic, on the device). Per scheme
 * (bf16, fp16, int8, int4, fp8 on 8.9+), the four GEMMs are timed one by one (the L2 cache flushed
 * by a 256 MiB write before each run; median of --reps) and summed. FLOPs 2 B N K; bytes = weights
 * at the scheme's storage + activations (B (N + K) x activation bytes). Floor = max(bytes / copy
 * bandwidth, FLOPs / peak), peak = the measured cuBLAS peak of the compute type the path runs on
 * (bf16 for the weight-only int8 / int4 dequantise + bf16 GEMM path, fp8 for fp8). RESULT lines:
 * gemm_b<B>_<scheme>_ms, gemm_b<B>_<scheme>_frac_peak (achieved FLOP/s over the peak),
 * gemm_b<B>_<scheme>_over_floor (time over the floor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu_common.h"
#include "model.h"

#ifdef DECODEBENCH_HAVE_CUDA
#include "cost.h"
#include "cpu_weights.h"
#include "cuda_ceilings.h"
#include "cuda_gemm.h"
#include "cuda_weights.h"
#include "quant.cuh"
#include "weights.cuh"

typedef struct gemm_run {
    db_cuda_gemm *g;
    db_cuda_matrix *W;
    db_cuda_act x;
    int T;
    float *y;
} gemm_run;

static db_status run_one(void *ctx, db_error *err) {
    gemm_run *r = ctx;
    return db_cuda_gemm_run(r->g, r->W, r->x, r->T, r->y, err);
}

static int ld16(int n) {
    return (n + 15) / 16 * 16;
}

/* Median seconds of the layer's four GEMMs (summed) under scheme p at batch T. */
static db_status layer_time(db_cuda_gemm *g, const db_model_config *m, db_precision p, int T,
                            int reps, void *flush, size_t flush_bytes, double *seconds,
                            double *flops, double *bytes, db_error *err) {
    int d = m->dim, h = m->hidden_dim, kv = db_model_kv_dim(m);
    const int shape[4][2] = {{d + 2 * kv, d}, {d, d}, {2 * h, d}, {d, h}};
    db_num_type t = db_cuda_precision_act_in(p);
    size_t eb = t == DB_NUM_E4M3 ? 1 : (t == DB_NUM_F16 || t == DB_NUM_BF16) ? 2 : 4;
    int kmax = ld16(h > d ? h : d), nmax = 2 * h > d + 2 * kv ? 2 * h : d + 2 * kv;
    float *xf = NULL, *y = NULL;
    db_cuda_act x = {NULL, NULL, 0, t};
    db_status st;
    *seconds = *flops = *bytes = 0.0;
    if ((st = DB_CUDA_CHECK(err, cudaMalloc((void **)&xf, (size_t)T * kmax * 4))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc(&x.data, (size_t)ld16(T) * kmax * eb))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&x.scale, (size_t)ld16(T) * 4))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc((void **)&y, (size_t)T * nmax * 4))) ||
        (st = DB_CUDA_CHECK(err,
                            cudaMemsetAsync(x.data, 0, (size_t)ld16(T) * kmax * eb, g->stream))))
        goto done;
    for (int i = 0; st == DB_OK && i < 4; i++) {
        int N = shape[i][0], K = shape[i][1];
        db_cuda_matrix W;
        double s = 0.0;
        if ((st = db_cuda_matrix_alloc(&W, N, K, p, err))) break;
        x.ld = ld16(K);
        gemm_run r = {g, &W, x, T, y};
        if (!(st = db_cuda_matrix_synth(&W, 0, N, 11, (uint32_t)i, db_synth_matrix_scale(K),
                                        g->stream, err)) &&
            !(st = DB_CUDA_CHECK(
                  err, db_cuda_gain_fill(xf, T * K, 21 + (uint64_t)i, 0.5f, g->stream))) &&
            !(st = DB_CUDA_CHECK(err, db_cuda_act_prepare(xf, K, T, K, x, g->stream))) &&
            !(st = db_cuda_gemm_reserve(g, &W, T, err)))
            st = bench_time(run_one, &r, g->stream, 3, reps, flush, flush_bytes, &s, err);
        *seconds += s;
        *flops += 2.0 * T * N * K;
        *bytes += db_cost_linear_weight_bytes(N, K, p) + (double)T * (N + K) * db_cost_act_bytes(p);
        db_cuda_matrix_free(&W);
    }
done:
    cudaFree(xf), cudaFree(x.data), cudaFree(x.scale), cudaFree(y);
    return st;
}
#endif

int main(int argc, char **argv) {
    const char *model = "llama2-7b";
    long batch = 256, reps = 20, device = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
            continue;
        }
        int r = bench_int_flag(argc, argv, &i, "--batch", &batch);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--reps", &reps);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--device", &device);
        if (r != 0 || batch < 1 || batch > 65536) {
            fprintf(stderr, "usage: %s [--model NAME] [--batch B] [--reps R] [--device D]\n",
                    argv[0]);
            return 2;
        }
    }
    int skip = bench_gpu_skip("bench_gpu_gemm");
    if (skip) return skip;
#ifdef DECODEBENCH_HAVE_CUDA
    db_model_config m;
    db_error err;
    if (db_model_resolve(model, &m, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_gemm: --model: %s\n", err.msg);
        return 2;
    }
    db_cuda_ceilings_opts co = {(int)device, (size_t)1 << 30, 8192, 3, 10, 1};
    db_cuda_ceilings ceil;
    cudaStream_t s = NULL;
    db_cuda_gemm g;
    void *flush = NULL;
    size_t flush_bytes = (size_t)256 << 20;
    if (db_cuda_measure_ceilings(&co, &ceil, &err) != DB_OK ||
        DB_CUDA_CHECK(&err, cudaSetDevice((int)device)) ||
        DB_CUDA_CHECK(&err, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)) ||
        db_cuda_gemm_create(&g, s, (int)device, &err) != DB_OK ||
        DB_CUDA_CHECK(&err, cudaMalloc(&flush, flush_bytes))) {
        fprintf(stderr, "bench_gpu_gemm: %s\n", err.msg);
        return 1;
    }
    const db_precision schemes[5] = {DB_PREC_BF16, DB_PREC_FP16, DB_PREC_INT8, DB_PREC_INT4,
                                     DB_PREC_FP8};
    printf("%s layer GEMMs at batch %ld on %s (copy %.1f GB/s, bf16 peak %.1f TFLOP/s)\n", m.name,
           batch, ceil.device, ceil.copy.rate / 1e9, ceil.gemm[DB_PEAK_BF16].rate / 1e12);
    printf("%-6s %10s %10s %10s %12s %10s %12s\n", "scheme", "ms", "TFLOP/s", "peak", "of peak",
           "floor ms", "over floor");
    for (int i = 0; i < 5; i++) {
        db_precision p = schemes[i];
        db_peak_type pt = p == DB_PREC_FP8    ? DB_PEAK_FP8
                          : p == DB_PREC_FP16 ? DB_PEAK_FP16
                                              : DB_PEAK_BF16;
        if (!ceil.gemm[pt].available) {
            printf("%-6s %s\n", db_precision_name(p), ceil.gemm[pt].method);
            continue;
        }
        double t, flops, bytes;
        if (layer_time(&g, &m, p, (int)batch, (int)reps, flush, flush_bytes, &t, &flops, &bytes,
                       &err) != DB_OK) {
            fprintf(stderr, "bench_gpu_gemm: %s: %s\n", db_precision_name(p), err.msg);
            return 1;
        }
        double peak = ceil.gemm[pt].rate, floor_s = bytes / ceil.copy.rate > flops / peak
                                                        ? bytes / ceil.copy.rate
                                                        : flops / peak;
        printf("%-6s %10.3f %10.1f %10.1f %11.1f%% %10.3f %12.2f\n", db_precision_name(p), t * 1e3,
               flops / t / 1e12, peak / 1e12, 100.0 * flops / t / peak, floor_s * 1e3, t / floor_s);
        char name[96];
        snprintf(name, sizeof name, "gemm_b%ld_%s_ms", batch, db_precision_name(p));
        bench_result(name, t * 1e3, "ms");
        snprintf(name, sizeof name, "gemm_b%ld_%s_frac_peak", batch, db_precision_name(p));
        bench_result(name, flops / t / peak, "fraction");
        snprintf(name, sizeof name, "gemm_b%ld_%s_over_floor", batch, db_precision_name(p));
        bench_result(name, t / floor_s, "x");
    }
    db_cuda_gemm_destroy(&g);
    cudaFree(flush);
    cudaStreamDestroy(s);
    return 0;
#else
    (void)model;
    return 77;
#endif
}
