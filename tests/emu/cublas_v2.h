/* cublas_v2.h (tests/emu) — the part of cuBLAS that engine/cuda_gemm.c uses, run on the CPU for
 * the emulated GPU tests (tests/emu/cublas.cpp; kernels/cuda_check.h includes this header too).
 *
 * What it does: cublasCreate/Destroy/SetStream/SetWorkspace/SetMathMode and cublasGemmEx with
 * cuBLAS's column-major semantics (op, m, n, k, lda, ldb, ldc checked as cuBLAS checks them:
 * CUBLAS_STATUS_INVALID_VALUE) for the type combinations the engine uses: fp32 in/out with
 * COMPUTE_32F (no TF32) or COMPUTE_32F_FAST_TF32 (inputs rounded to TF32 first), fp16 or bf16 in
 * with fp32 out and COMPUTE_32F; anything else is CUBLAS_STATUS_NOT_SUPPORTED. The product is
 * OpenBLAS's sgemm on the inputs converted to fp32 (exact for fp16/bf16), reading only the
 * elements the operation reads, so AddressSanitizer sees a wrong leading dimension. The GEMM is
 * a stream operation: it runs at once, or is recorded while the handle's stream captures a graph.
 * What it does NOT model: cuBLAS's accumulation order, algorithms, math modes other than the
 * default, device pointer mode (alpha and beta are host floats), any other routine. Never part of
 * a real CUDA build.
 */
#ifndef DB_TESTS_EMU_CUBLAS_V2_H
#define DB_TESTS_EMU_CUBLAS_V2_H

#include <stddef.h>

#include "cuda_runtime_api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;

typedef struct db_emu_cublas *cublasHandle_t;

typedef enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;

typedef enum cudaDataType {
    CUDA_R_32F = 0,
    CUDA_R_16F = 2,
    CUDA_R_16BF = 14,
    CUDA_R_8F_E4M3 = 28,
} cudaDataType;

typedef enum cublasComputeType_t {
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
} cublasComputeType_t;

typedef enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0 } cublasMath_t;
typedef enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;

const char *cublasGetStatusName(cublasStatus_t s);
const char *cublasGetStatusString(cublasStatus_t s);

cublasStatus_t cublasCreate(cublasHandle_t *handle);
cublasStatus_t cublasDestroy(cublasHandle_t handle);
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void *workspace, size_t bytes);
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo);

#ifdef __cplusplus
}
#endif
#endif
