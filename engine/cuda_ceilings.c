/* cuda_ceilings.c — measured copy bandwidth and GEMM peaks of the GPU (contract in
 * cuda_ceilings.h). */
#include "cuda_ceilings.h"

#include <stdio.h>
#include <stdlib.h>

#include "cuda_check.h"
#include "cuda_weights.h"
#include "weights.cuh"

typedef db_status (*run_fn)(void *ctx, cudaStream_t s, db_error *err);

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* warmup untimed runs, then reps runs each between two events; median/min/max into c. */
static db_status time_runs(run_fn fn, void *ctx, cudaStream_t s, int warmup, int reps,
                           db_cuda_ceiling *c, db_error *err) {
    cudaEvent_t e0 = NULL, e1 = NULL;
    double *t = calloc((size_t)reps, sizeof *t);
    db_status st = t ? DB_OK : db_error_set(err, DB_ERR_NOMEM, "ceilings: out of host memory");
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaEventCreate(&e0));
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaEventCreate(&e1));
    for (int i = 0; st == DB_OK && i < warmup; i++)
        st = fn(ctx, s, err);
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaStreamSynchronize(s));
    for (int i = 0; st == DB_OK && i < reps; i++) {
        float ms = 0.0f;
        if ((st = DB_CUDA_CHECK(err, cudaEventRecord(e0, s))) || (st = fn(ctx, s, err)) ||
            (st = DB_CUDA_CHECK(err, cudaEventRecord(e1, s))) ||
            (st = DB_CUDA_CHECK(err, cudaEventSynchronize(e1))) ||
            (st = DB_CUDA_CHECK(err, cudaEventElapsedTime(&ms, e0, e1))))
            break;
        t[i] = ms * 1e-3;
    }
    if (st == DB_OK) {
        qsort(t, (size_t)reps, sizeof *t, cmp_double);
        c->median_s = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
        c->min_s = t[0], c->max_s = t[reps - 1], c->reps = reps;
        c->rate = c->median_s > 0.0 ? c->work / c->median_s : 0.0;
        c->available = 1;
    }
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    free(t);
    return st;
}

/* ---- copy
 * ---------------------------------------------------------------------------------------- */

typedef struct copy_ctx {
    void *src, *dst;
    size_t bytes;
} copy_ctx;

static db_status run_copy(void *ctx, cudaStream_t s, db_error *err) {
    copy_ctx *c = ctx;
    return DB_CUDA_CHECK(err,
                         cudaMemcpyAsync(c->dst, c->src, c->bytes, cudaMemcpyDeviceToDevice, s));
}

static db_status measure_copy(const db_cuda_ceilings_opts *o, size_t bytes, cudaStream_t s,
                              db_cuda_ceiling *out, db_error *err) {
    copy_ctx c = {NULL, NULL, bytes / 4 * 4};
    db_status st = DB_CUDA_CHECK(err, cudaMalloc(&c.src, c.bytes));
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaMalloc(&c.dst, c.bytes));
    if (st == DB_OK)
        st = DB_CUDA_CHECK(
            err,
            db_cuda_gain_fill(c.src, (int)(c.bytes / 4 < 0x7FFFFFFF ? c.bytes / 4 : 0x7FFFFFFF),
                              o->seed, 0.5f, s));
    out->work = 2.0 * (double)c.bytes;
    snprintf(out->method, sizeof out->method,
             "cudaMemcpyAsync device to device, %zu MiB, bytes read + written", c.bytes >> 20);
    if (st == DB_OK) st = time_runs(run_copy, &c, s, o->warmup, o->reps, out, err);
    cudaFree(c.src);
    cudaFree(c.dst);
    return st;
}

/* ---- GEMMs
 * --------------------------------------------------------------------------------------- */

typedef struct gemm_ctx {
    db_peak_type type;
    int n;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    db_cuda_matrix a, b;
    void *c, *ws;
    size_t ws_bytes;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
} gemm_ctx;

static db_status run_gemm(void *ctx, cudaStream_t s, db_error *err) {
    gemm_ctx *g = ctx;
    int n = g->n;
    const float one = 1.0f, zero = 0.0f;
    const int32_t ione = 1, izero = 0;
    switch (g->type) {
    case DB_PEAK_FP32:
    case DB_PEAK_TF32:
        return DB_CUBLAS_CHECK(
            err, cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, g->a.data,
                              CUDA_R_32F, n, g->b.data, CUDA_R_32F, n, &zero, g->c, CUDA_R_32F, n,
                              g->type == DB_PEAK_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                      : CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT));
    case DB_PEAK_FP16:
    case DB_PEAK_BF16: {
        cudaDataType t = g->type == DB_PEAK_FP16 ? CUDA_R_16F : CUDA_R_16BF;
        return DB_CUBLAS_CHECK(err, cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one,
                                                 g->a.data, t, n, g->b.data, t, n, &zero, g->c, t,
                                                 n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
    case DB_PEAK_INT8:
        return DB_CUBLAS_CHECK(err, cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &ione,
                                                 g->a.data, CUDA_R_8I, n, g->b.data, CUDA_R_8I, n,
                                                 &izero, g->c, CUDA_R_32I, n, CUBLAS_COMPUTE_32I,
                                                 CUBLAS_GEMM_DEFAULT));
    case DB_PEAK_FP8:
        return DB_CUBLAS_CHECK(err, cublasLtMatmul(g->lt, g->desc, &one, g->a.data, g->la,
                                                   g->b.data, g->lb, &zero, g->c, g->lc, g->c,
                                                   g->lc, &g->algo, g->ws, g->ws_bytes, s));
    default:
        return DB_OK;
    }
}

static db_status fp8_plan(gemm_ctx *g, db_error *err) {
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    uint64_t n = (uint64_t)g->n, ws = g->ws_bytes;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    db_status st;
    if ((st = DB_CUBLAS_CHECK(
             err, cublasLtMatmulDescCreate(&g->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatmulDescSetAttribute(
                                       g->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatmulDescSetAttribute(
                                       g->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb))) ||
        (st = DB_CUBLAS_CHECK(
             err, cublasLtMatrixLayoutCreate(&g->la, CUDA_R_8F_E4M3, n, n, (int64_t)n))) ||
        (st = DB_CUBLAS_CHECK(
             err, cublasLtMatrixLayoutCreate(&g->lb, CUDA_R_8F_E4M3, n, n, (int64_t)n))) ||
        (st = DB_CUBLAS_CHECK(err,
                              cublasLtMatrixLayoutCreate(&g->lc, CUDA_R_16BF, n, n, (int64_t)n))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatmulPreferenceCreate(&pref))) ||
        (st = DB_CUBLAS_CHECK(
             err, cublasLtMatmulPreferenceSetAttribute(
                      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws))) ||
        (st = DB_CUBLAS_CHECK(err,
                              cublasLtMatmulAlgoGetHeuristic(g->lt, g->desc, g->la, g->lb, g->lc,
                                                             g->lc, pref, 1, &res, &found)))) {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        return st;
    }
    cublasLtMatmulPreferenceDestroy(pref);
    if (found < 1)
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "ceilings: cuBLASLt has no e4m3 GEMM for n = %d", g->n);
    g->algo = res.algo;
    return DB_OK;
}

/* The operands and plan of one type (the handles and workspace stay). */
static void gemm_free_operands(gemm_ctx *g) {
    if (g->la) cublasLtMatrixLayoutDestroy(g->la);
    if (g->lb) cublasLtMatrixLayoutDestroy(g->lb);
    if (g->lc) cublasLtMatrixLayoutDestroy(g->lc);
    if (g->desc) cublasLtMatmulDescDestroy(g->desc);
    db_cuda_matrix_free(&g->a);
    db_cuda_matrix_free(&g->b);
    cudaFree(g->c);
    g->la = g->lb = g->lc = NULL;
    g->desc = NULL;
    g->c = NULL;
}

static const db_precision operand_precision[DB_PEAK_COUNT] = {
    DB_PREC_FP32, DB_PREC_TF32, DB_PREC_FP16, DB_PREC_BF16, DB_PREC_FP8, DB_PREC_INT8};
static const size_t out_bytes[DB_PEAK_COUNT] = {4, 4, 2, 2, 2, 4};

static db_status measure_gemm(const db_cuda_ceilings_opts *o, gemm_ctx *g, db_peak_type t,
                              cudaStream_t s, db_cuda_ceiling *out, db_error *err) {
    int n = g->n;
    g->type = t;
    out->work = 2.0 * (double)n * n * n;
    snprintf(out->method, sizeof out->method, "%s GEMM %d x %d x %d, %s, seeded random operands",
             db_peak_type_name(t), n, n, n,
             t == DB_PEAK_FP8 ? "cuBLASLt e4m3 -> bf16" : "cublasGemmEx");
    db_status st = db_cuda_matrix_alloc(&g->a, n, n, operand_precision[t], err);
    if (st == DB_OK) st = db_cuda_matrix_alloc(&g->b, n, n, operand_precision[t], err);
    if (st == DB_OK) st = db_cuda_matrix_synth(&g->a, 0, n, o->seed, 1, 1.0f, s, err);
    if (st == DB_OK) st = db_cuda_matrix_synth(&g->b, 0, n, o->seed, 2, 1.0f, s, err);
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaMalloc(&g->c, (size_t)n * n * out_bytes[t]));
    if (st == DB_OK && t == DB_PEAK_FP8) st = fp8_plan(g, err);
    if (st == DB_OK) st = time_runs(run_gemm, g, s, o->warmup, o->reps, out, err);
    if (st == DB_ERR_UNSUPPORTED) { /* the device lacks it: not a failure of the measurement */
        snprintf(out->method, sizeof out->method, "not available: %.170s", err ? err->msg : "");
        out->available = 0;
        st = DB_OK;
    }
    gemm_free_operands(g);
    return st;
}

static db_status measure_gemms(const db_cuda_ceilings_opts *o, int cc, cudaStream_t s,
                               db_cuda_ceilings *out, db_error *err) {
    gemm_ctx g;
    memset(&g, 0, sizeof g);
    g.n = o->gemm_n;
    g.ws_bytes = (size_t)32 << 20;
    db_status st;
    if ((st = DB_CUBLAS_CHECK(err, cublasCreate(&g.blas))) ||
        (st = DB_CUBLAS_CHECK(err, cublasSetStream(g.blas, s))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc(&g.ws, g.ws_bytes))) ||
        (st = DB_CUBLAS_CHECK(err, cublasSetWorkspace(g.blas, g.ws, g.ws_bytes))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtCreate(&g.lt))))
        goto done;
    for (int t = 0; st == DB_OK && t < DB_PEAK_COUNT; t++) {
        if (t == DB_PEAK_FP8 && cc < 89) {
            snprintf(out->gemm[t].method, sizeof out->gemm[t].method,
                     "not available: fp8 needs compute capability 8.9+, the device has %d.%d",
                     cc / 10, cc % 10);
            continue;
        }
        st = measure_gemm(o, &g, (db_peak_type)t, s, &out->gemm[t], err);
    }
done:
    gemm_free_operands(&g);
    if (g.blas) cublasDestroy(g.blas);
    if (g.lt) cublasLtDestroy(g.lt);
    cudaFree(g.ws);
    return st;
}

db_status db_cuda_measure_ceilings(const db_cuda_ceilings_opts *oin, db_cuda_ceilings *out,
                                   db_error *err) {
    memset(out, 0, sizeof *out);
    db_cuda_ceilings_opts o = *oin;
    if (o.warmup <= 0) o.warmup = 3;
    if (o.reps <= 0) o.reps = 20;
    if (o.copy_bytes == 0) o.copy_bytes = (size_t)1 << 30;
    if (o.gemm_n == 0) o.gemm_n = 8192;
    if (o.gemm_n > 0 && o.gemm_n % 16)
        return db_error_set(err, DB_ERR_INVALID,
                            "CUDA ceilings: gemm_n must be a multiple of 16 (cuBLASLt fp8 operands "
                            "and the padded operand rows), got %d",
                            o.gemm_n);
    int n_dev = 0;
    if (cudaGetDeviceCount(&n_dev) != cudaSuccess || n_dev < 1) {
        (void)cudaGetLastError();
        return db_error_set(err, DB_ERR_UNSUPPORTED, "CUDA ceilings: no CUDA device is present");
    }
    if (o.device < 0 || o.device >= n_dev)
        return db_error_set(err, DB_ERR_INVALID, "CUDA ceilings: device %d, this machine has %d",
                            o.device, n_dev);
    struct cudaDeviceProp prop;
    cudaStream_t s = NULL;
    db_status st;
    if ((st = DB_CUDA_CHECK(err, cudaSetDevice(o.device))) ||
        (st = DB_CUDA_CHECK(err, cudaGetDeviceProperties(&prop, o.device))) ||
        (st = DB_CUDA_CHECK(err, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking))))
        return st;
    snprintf(out->device, sizeof out->device, "%s", prop.name);
    if (o.copy_bytes != (size_t)-1) st = measure_copy(&o, o.copy_bytes, s, &out->copy, err);
    if (st == DB_OK && o.gemm_n > 0)
        st = measure_gemms(&o, prop.major * 10 + prop.minor, s, out, err);
    cudaStreamDestroy(s);
    return st;
}
