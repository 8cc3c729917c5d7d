/* cuda_gemm.h — y = x W^T on the device for every precision scheme (the CUDA backend's linear
 * layers).
 *
 * What it is for: y (T, N) fp32 = x (T, K) W^T, x a block of GEMM-input rows
 * (kernels/cuda_types.cuh) of the scheme's activation type, computed as engine/linear.h defines
 * each scheme: fp32       cuBLAS, fp32 inputs, fp32 compute (no TF32); tf32       cuBLAS,
 * tf32-rounded fp32 inputs, CUBLAS_COMPUTE_32F_FAST_TF32; fp16/bf16  cuBLAS, 16-bit inputs, fp32
 * accumulation and output; fp8        cuBLASLt e4m3 x e4m3 -> fp32 (TN layout, every dimension
 * padded to 16; needs compute capability 8.9+), then the epilogue y = d * (weight row scale * token
 * scale); int8/int4  T <= db_cuda_gemv_max_batch(): the weight-only GEMV kernels
 * (kernels/gemv.cuh); larger T: tiles of rows dequantised to bf16 (int8: q exactly, its row scale
 * applied by an epilogue; int4: bf16(q * group scale)) and a cuBLAS bf16 GEMM per tile. The output
 * is not rounded: consumers round GEMM outputs to the activation type as they read them. Everything
 * is enqueued on the context's stream and may be captured in a CUDA graph: workspaces are
 * preallocated (db_cuda_gemm_reserve) and cuBLASLt plans are cached, so no call allocates or
 * synchronises.
 * What it must not do: allocate inside db_cuda_gemm_run, synchronise, print, or exit.
 */
#ifndef DB_CUDA_GEMM_H
#define DB_CUDA_GEMM_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "cuda_types.cuh"
#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DB_CUDA_LT_PLANS 32

typedef struct db_cuda_lt_plan {
    int m, n, k; /* 0: unused */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, d;
    cublasLtMatmulAlgo_t algo;
    cudaDataType d_type; /* CUDA_R_32F, or CUDA_R_16BF where cuBLASLt has no fp32-output kernel */
} db_cuda_lt_plan;

typedef struct db_cuda_gemm {
    cudaStream_t stream;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    void *blas_ws, *lt_ws; /* cuBLAS and cuBLASLt workspaces */
    size_t ws_bytes;
    int cc_major, cc_minor;
    uint16_t *dequant; /* int8/int4 tiles in bf16 */
    size_t dequant_elems;
    float *fp8_out; /* fp8 GEMM results before the epilogue */
    size_t fp8_out_elems;
    uint64_t generation; /* bumped when a scratch buffer moves (captured graphs must be redone) */
    db_cuda_lt_plan plans[DB_CUDA_LT_PLANS];
    int next_plan;
} db_cuda_gemm;

db_status db_cuda_gemm_create(db_cuda_gemm *g, cudaStream_t stream, int device, db_error *err);
void db_cuda_gemm_destroy(db_cuda_gemm *g);

/* Scratch for y = x W^T with up to `rows` activation rows on W (grows; never shrinks). */
db_status db_cuda_gemm_reserve(db_cuda_gemm *g, const db_cuda_matrix *W, int rows, db_error *err);

/* y (T, N; row stride N) = x W^T. x.ld must be W's row_stride for fp8 and a multiple of 16 >= K
 * otherwise; for fp8, x holds at least T rounded up to 16 rows. */
db_status db_cuda_gemm_run(db_cuda_gemm *g, const db_cuda_matrix *W, db_cuda_act x, int T, float *y,
                           db_error *err);

/* Rows of x the GEMM reads: T, or T rounded up to 16 for fp8. */
static inline int db_cuda_gemm_rows(const db_cuda_matrix *W, int T) {
    return W->fmt == DB_WFMT_E4M3
               ? (T + DB_CUDA_ROW_ALIGN - 1) / DB_CUDA_ROW_ALIGN * DB_CUDA_ROW_ALIGN
               : T;
}

#ifdef __cplusplus
}
#endif
#endif
