/* cublas_v2.h (tests/emu) — only cuBLAS's status type and its two name functions, so that
 * kernels/cuda_check.h (included by engine/cuda_weights.c) compiles in the emulated build
 * (tests/emu/simt.cpp runs the CUDA kernels on the CPU).
 *
 * What it does NOT model: any cuBLAS or cuBLASLt operation. GEMMs (engine/cuda_gemm.c) are not
 * emulated; code that calls one does not link here.
 */
#ifndef DB_TESTS_EMU_CUBLAS_V2_H
#define DB_TESTS_EMU_CUBLAS_V2_H

typedef enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;

static inline const char *cublasGetStatusName(cublasStatus_t s) {
    return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_(emulated)";
}

static inline const char *cublasGetStatusString(cublasStatus_t s) {
    return s == CUBLAS_STATUS_SUCCESS ? "success" : "cuBLAS is not emulated";
}

#endif
