/* cuda_gemm.c — the CUDA backend's GEMM paths per precision scheme (contract in cuda_gemm.h). */
#include "cuda_gemm.h"

#include <string.h>

#include "cuda_check.h"
#include "gemv.cuh"
#include "quant.cuh"

#define DB_CUDA_WS_BYTES ((size_t)32 << 20) /* per library; cuBLAS asks >= 32 MiB on Hopper */
#define DB_CUDA_DEQUANT_MAX                                                                        \
    ((size_t)32 << 20) /* bf16 elements of one dequantised tile (64 MiB)                           \
                        */

static size_t round16(size_t x) {
    return (x + DB_CUDA_ROW_ALIGN - 1) / DB_CUDA_ROW_ALIGN * DB_CUDA_ROW_ALIGN;
}

void db_cuda_gemm_destroy(db_cuda_gemm *g) {
    for (int i = 0; i < DB_CUDA_LT_PLANS; i++) {
        db_cuda_lt_plan *p = &g->plans[i];
        if (p->a) cublasLtMatrixLayoutDestroy(p->a);
        if (p->b) cublasLtMatrixLayoutDestroy(p->b);
        if (p->d) cublasLtMatrixLayoutDestroy(p->d);
        if (p->desc) cublasLtMatmulDescDestroy(p->desc);
    }
    if (g->blas) cublasDestroy(g->blas);
    if (g->lt) cublasLtDestroy(g->lt);
    cudaFree(g->blas_ws);
    cudaFree(g->lt_ws);
    cudaFree(g->dequant);
    cudaFree(g->fp8_out);
    memset(g, 0, sizeof *g);
}

db_status db_cuda_gemm_create(db_cuda_gemm *g, cudaStream_t stream, int device, db_error *err) {
    memset(g, 0, sizeof *g);
    g->stream = stream;
    g->ws_bytes = DB_CUDA_WS_BYTES;
    db_status st;
    if ((st = DB_CUDA_CHECK(err, cudaDeviceGetAttribute(
                                     &g->cc_major, cudaDevAttrComputeCapabilityMajor, device))) ||
        (st = DB_CUDA_CHECK(err, cudaDeviceGetAttribute(
                                     &g->cc_minor, cudaDevAttrComputeCapabilityMinor, device))) ||
        (st = DB_CUBLAS_CHECK(err, cublasCreate(&g->blas))) ||
        (st = DB_CUBLAS_CHECK(err, cublasSetStream(g->blas, stream))) ||
        (st = DB_CUBLAS_CHECK(err, cublasSetMathMode(g->blas, CUBLAS_DEFAULT_MATH))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc(&g->blas_ws, g->ws_bytes))) ||
        (st = DB_CUDA_CHECK(err, cudaMalloc(&g->lt_ws, g->ws_bytes))) ||
        (st = DB_CUBLAS_CHECK(err, cublasSetWorkspace(g->blas, g->blas_ws, g->ws_bytes))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtCreate(&g->lt)))) {
        db_cuda_gemm_destroy(g);
        return st;
    }
    return DB_OK;
}

/* Grows *buf to hold need elements of elem bytes (contents not kept). */
static db_status grow(db_cuda_gemm *g, void **buf, size_t *have, size_t need, size_t elem,
                      db_error *err) {
    if (need <= *have) return DB_OK;
    cudaFree(*buf);
    *buf = NULL;
    *have = 0;
    g->generation++;
    DB_CUDA_TRY(err, cudaMalloc(buf, need * elem));
    *have = need;
    return DB_OK;
}

db_status db_cuda_gemm_reserve(db_cuda_gemm *g, const db_cuda_matrix *W, int rows, db_error *err) {
    if (W->fmt == DB_WFMT_E4M3)
        return grow(g, (void **)&g->fp8_out, &g->fp8_out_elems,
                    round16((size_t)rows) * (size_t)W->n_rows_alloc, sizeof(float), err);
    if ((W->fmt == DB_WFMT_I8 || W->fmt == DB_WFMT_I4) && rows > db_cuda_gemv_max_batch()) {
        size_t ld = round16((size_t)W->n_cols), need = (size_t)W->n_rows * ld;
        if (need > DB_CUDA_DEQUANT_MAX)
            need = DB_CUDA_DEQUANT_MAX > ld ? DB_CUDA_DEQUANT_MAX / ld * ld : ld;
        return grow(g, (void **)&g->dequant, &g->dequant_elems, need, sizeof(uint16_t), err);
    }
    return DB_OK;
}

/* ---- cuBLAS (fp32, tf32, fp16, bf16, and the dequantised int8/int4 tiles)
 * ------------------------------ */

static db_status gemm_ex(db_cuda_gemm *g, int N, int T, int K, const void *w, cudaDataType wt,
                         int ldw, const void *x, int ldx, float *y, int ldy, cublasComputeType_t ct,
                         db_error *err) {
    const float one = 1.0f, zero = 0.0f;
    /* column-major view: y^T (N, T) = W (stored K x N, transposed) * x^T (K, T) */
    return DB_CUBLAS_CHECK(err, cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, T, K, &one, w,
                                             wt, ldw, x, wt, ldx, &zero, y, CUDA_R_32F, ldy, ct,
                                             CUBLAS_GEMM_DEFAULT));
}

static db_status gemm_dequant(db_cuda_gemm *g, const db_cuda_matrix *W, db_cuda_act x, int T,
                              float *y, db_error *err) {
    int N = W->n_rows, K = W->n_cols, ldq = (int)round16((size_t)K);
    if (!g->dequant || g->dequant_elems < (size_t)ldq)
        return db_error_set(err, DB_ERR_INTERNAL, "cuda gemm: dequantisation scratch not reserved");
    int tile = (int)(g->dequant_elems / (size_t)ldq);
    for (int r0 = 0; r0 < N; r0 += tile) {
        int rows = N - r0 < tile ? N - r0 : tile;
        DB_CUDA_TRY(err, db_cuda_dequant_bf16(*W, r0, rows, g->dequant, ldq, g->stream));
        db_status st = gemm_ex(g, rows, T, K, g->dequant, CUDA_R_16BF, ldq, x.data, x.ld, y + r0, N,
                               CUBLAS_COMPUTE_32F, err);
        if (st != DB_OK) return st;
    }
    if (W->fmt == DB_WFMT_I8)
        DB_CUDA_TRY(err, db_cuda_gemm_epilogue(y, N, W->row_scale, NULL, T, N, y, N, g->stream));
    return DB_OK;
}

/* ---- cuBLASLt fp8
 * ---------------------------------------------------------------------------------- */

/* p->d as an (m x n) matrix of type t and the best algorithm for it; *found = 0 when cuBLASLt has
 * none for this type. */
static db_status lt_try_output(db_cuda_gemm *g, db_cuda_lt_plan *p, cudaDataType t, int *found,
                               db_error *err) {
    uint64_t ws = g->ws_bytes;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t res;
    *found = 0;
    if (p->d) cublasLtMatrixLayoutDestroy(p->d);
    p->d = NULL;
    p->d_type = t;
    db_status st;
    if ((st = DB_CUBLAS_CHECK(
             err, cublasLtMatrixLayoutCreate(&p->d, t, (uint64_t)p->m, (uint64_t)p->n, p->m))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatmulPreferenceCreate(&pref))) ||
        (st = DB_CUBLAS_CHECK(
             err, cublasLtMatmulPreferenceSetAttribute(
                      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws)))) {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        return st;
    }
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(g->lt, p->desc, p->a, p->b, p->d, p->d, pref,
                                                       1, &res, found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (hs == CUBLAS_STATUS_NOT_SUPPORTED)
        *found = 0; /* no kernel for this combination */
    else if ((st = DB_CUBLAS_CHECK(err, hs)))
        return st;
    if (*found > 0) p->algo = res.algo;
    return DB_OK;
}

/* e4m3 x e4m3 with fp32 output; if cuBLASLt has no algorithm for that, bf16 output (the epilogue
 * then reads bf16: one more rounding, of 2^-9, before the scales). */
static db_status lt_plan_create(db_cuda_gemm *g, db_cuda_lt_plan *p, int m, int n, int k,
                                db_error *err) {
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    int found = 0;
    db_status st;
    p->m = m, p->n = n, p->k = k;
    if ((st = DB_CUBLAS_CHECK(
             err, cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatmulDescSetAttribute(
                                       p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatmulDescSetAttribute(
                                       p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatrixLayoutCreate(&p->a, CUDA_R_8F_E4M3, (uint64_t)k,
                                                              (uint64_t)m, k))) ||
        (st = DB_CUBLAS_CHECK(err, cublasLtMatrixLayoutCreate(&p->b, CUDA_R_8F_E4M3, (uint64_t)k,
                                                              (uint64_t)n, k))) ||
        (st = lt_try_output(g, p, CUDA_R_32F, &found, err)))
        return st;
    if (found < 1 && (st = lt_try_output(g, p, CUDA_R_16BF, &found, err))) return st;
    if (found < 1)
        return db_error_set(
            err, DB_ERR_UNSUPPORTED,
            "cuda gemm: cuBLASLt has no e4m3 x e4m3 -> fp32 or bf16 algorithm for m %d, n %d, k %d "
            "on compute capability %d.%d",
            m, n, k, g->cc_major, g->cc_minor);
    return DB_OK;
}

static db_status lt_plan(db_cuda_gemm *g, int m, int n, int k, db_cuda_lt_plan **out,
                         db_error *err) {
    for (int i = 0; i < DB_CUDA_LT_PLANS; i++)
        if (g->plans[i].m == m && g->plans[i].n == n && g->plans[i].k == k) {
            *out = &g->plans[i];
            return DB_OK;
        }
    db_cuda_lt_plan *p = &g->plans[g->next_plan];
    g->next_plan = (g->next_plan + 1) % DB_CUDA_LT_PLANS;
    if (p->a) cublasLtMatrixLayoutDestroy(p->a);
    if (p->b) cublasLtMatrixLayoutDestroy(p->b);
    if (p->d) cublasLtMatrixLayoutDestroy(p->d);
    if (p->desc) cublasLtMatmulDescDestroy(p->desc);
    memset(p, 0, sizeof *p);
    db_status st = lt_plan_create(g, p, m, n, k, err);
    if (st != DB_OK) {
        if (p->a) cublasLtMatrixLayoutDestroy(p->a);
        if (p->b) cublasLtMatrixLayoutDestroy(p->b);
        if (p->d) cublasLtMatrixLayoutDestroy(p->d);
        if (p->desc) cublasLtMatmulDescDestroy(p->desc);
        memset(p, 0, sizeof *p);
        return st;
    }
    *out = p;
    return DB_OK;
}

static db_status gemm_fp8(db_cuda_gemm *g, const db_cuda_matrix *W, db_cuda_act x, int T, float *y,
                          db_error *err) {
    if (g->cc_major * 10 + g->cc_minor < 89)
        return db_error_set(
            err, DB_ERR_UNSUPPORTED,
            "cuda gemm: fp8 (e4m3) GEMMs need compute capability 8.9 or newer, this device "
            "has %d.%d",
            g->cc_major, g->cc_minor);
    if (x.type != DB_NUM_E4M3 || x.ld != W->row_stride || !x.scale)
        return db_error_set(err, DB_ERR_INTERNAL,
                            "cuda gemm: fp8 input must be e4m3 rows of %d with scales",
                            W->row_stride);
    int m = W->n_rows_alloc, n = (int)round16((size_t)T), k = W->row_stride;
    if (!g->fp8_out || g->fp8_out_elems < (size_t)m * (size_t)n)
        return db_error_set(err, DB_ERR_INTERNAL, "cuda gemm: fp8 output scratch not reserved");
    db_cuda_lt_plan *p = NULL;
    db_status st = lt_plan(g, m, n, k, &p, err);
    if (st != DB_OK) return st;
    const float one = 1.0f, zero = 0.0f;
    DB_CUBLAS_TRY(err, cublasLtMatmul(g->lt, p->desc, &one, W->data, p->a, x.data, p->b, &zero,
                                      g->fp8_out, p->d, g->fp8_out, p->d, &p->algo, g->lt_ws,
                                      g->ws_bytes, g->stream));
    if (p->d_type == CUDA_R_16BF)
        return DB_CUDA_CHECK(err, db_cuda_gemm_epilogue_bf16((const uint16_t *)g->fp8_out, m,
                                                             W->row_scale, x.scale, T, W->n_rows, y,
                                                             W->n_rows, g->stream));
    return DB_CUDA_CHECK(err, db_cuda_gemm_epilogue(g->fp8_out, m, W->row_scale, x.scale, T,
                                                    W->n_rows, y, W->n_rows, g->stream));
}

/* ---- dispatch
 * ---------------------------------------------------------------------------------------- */

static int act_matches(const db_cuda_matrix *W, db_num_type t) {
    switch (W->fmt) {
    case DB_WFMT_F32:
        return t == (W->tf32 ? DB_NUM_TF32 : DB_NUM_F32);
    case DB_WFMT_F16:
        return t == DB_NUM_F16;
    case DB_WFMT_E4M3:
        return t == DB_NUM_E4M3;
    default:
        return t == DB_NUM_BF16; /* bf16, int8, int4 */
    }
}

db_status db_cuda_gemm_run(db_cuda_gemm *g, const db_cuda_matrix *W, db_cuda_act x, int T, float *y,
                           db_error *err) {
    if (T <= 0) return DB_OK;
    int N = W->n_rows, K = W->n_cols;
    if (!act_matches(W, x.type) || x.ld < K || x.ld % DB_CUDA_ROW_ALIGN)
        return db_error_set(
            err, DB_ERR_INTERNAL,
            "cuda gemm: input rows (type %d, ld %d) do not fit a %d x %d matrix of format %d",
            (int)x.type, x.ld, N, K, (int)W->fmt);
    switch (W->fmt) {
    case DB_WFMT_F32:
        return gemm_ex(g, N, T, K, W->data, CUDA_R_32F, W->row_stride, x.data, x.ld, y, N,
                       W->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, err);
    case DB_WFMT_F16:
        return gemm_ex(g, N, T, K, W->data, CUDA_R_16F, W->row_stride, x.data, x.ld, y, N,
                       CUBLAS_COMPUTE_32F, err);
    case DB_WFMT_BF16:
        return gemm_ex(g, N, T, K, W->data, CUDA_R_16BF, W->row_stride, x.data, x.ld, y, N,
                       CUBLAS_COMPUTE_32F, err);
    case DB_WFMT_E4M3:
        return gemm_fp8(g, W, x, T, y, err);
    case DB_WFMT_I8:
    case DB_WFMT_I4:
        if (T <= db_cuda_gemv_max_batch())
            return DB_CUDA_CHECK(
                err, db_cuda_gemv_q(*W, (const uint16_t *)x.data, x.ld, T, y, N, g->stream));
        return gemm_dequant(g, W, x, T, y, err);
    }
    return db_error_set(err, DB_ERR_INTERNAL, "cuda gemm: unknown weight format %d", (int)W->fmt);
}
