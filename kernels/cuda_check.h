/* cuda_check.h — checked calls of the CUDA runtime, cuBLAS and cuBLASLt for the host side of the
 * CUDA backend: a failing call becomes a db_error (engine/engine.h) naming the source file, the
 * line, the call and the library's error name and text, and the enclosing function returns its
 * status.
 *
 * What it is for: the one way host code calls CUDA, so that every failure is reported with where it
 * happened and nothing ever exits or prints. For C host code (engine/cuda_*.c, tests, benchmarks)
 * that has engine.h's db_error in scope.
 * What it must not do: exit, print, or retry.
 *
 * Usage, in a function returning db_status with a `db_error *err` in scope:
 *   DB_CUDA_TRY(err, cudaMalloc(&p, bytes));
 *   DB_CUBLAS_TRY(err, cublasGemmEx(...));        (cuBLAS and cuBLASLt share cublasStatus_t)
 *   DB_CUDA_TRY(err, db_cuda_rmsnorm(...));       (kernel launchers return cudaError_t)
 * DB_CUDA_CHECK / DB_CUBLAS_CHECK only fill err and evaluate to the db_status (DB_OK on success),
 * for code that must clean up before returning. Out-of-memory errors map to DB_ERR_NOMEM,
 * everything else to DB_ERR_DEVICE.
 */
#ifndef DB_KERNELS_CUDA_CHECK_H
#define DB_KERNELS_CUDA_CHECK_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline db_status db_cuda_status(db_error *err, cudaError_t e, const char *call,
                                       const char *file, int line) {
    if (e == cudaSuccess) return DB_OK;
    (void)cudaGetLastError(); /* clear a sticky launch error so the next check is about its own call
                               */
    return db_error_set(err, e == cudaErrorMemoryAllocation ? DB_ERR_NOMEM : DB_ERR_DEVICE,
                        "%s:%d: %s failed: %s (%s)", file, line, call, cudaGetErrorName(e),
                        cudaGetErrorString(e));
}

static inline db_status db_cublas_status(db_error *err, cublasStatus_t s, const char *call,
                                         const char *file, int line) {
    if (s == CUBLAS_STATUS_SUCCESS) return DB_OK;
    /* NOT_SUPPORTED / ARCH_MISMATCH: this device or library lacks the operation (callers may treat
     * it as "not available" rather than as a failure of the device). */
    db_status st = s == CUBLAS_STATUS_ALLOC_FAILED ? DB_ERR_NOMEM
                   : s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_ARCH_MISMATCH
                       ? DB_ERR_UNSUPPORTED
                       : DB_ERR_DEVICE;
    return db_error_set(err, st, "%s:%d: %s failed: %s (%s)", file, line, call,
                        cublasGetStatusName(s), cublasGetStatusString(s));
}

#define DB_CUDA_CHECK(err, call) db_cuda_status((err), (call), #call, __FILE__, __LINE__)
#define DB_CUBLAS_CHECK(err, call) db_cublas_status((err), (call), #call, __FILE__, __LINE__)

#define DB_CUDA_TRY(err, call)                                                                     \
    do {                                                                                           \
        db_status db_try_st_ = DB_CUDA_CHECK(err, call);                                           \
        if (db_try_st_ != DB_OK) return db_try_st_;                                                \
    } while (0)

#define DB_CUBLAS_TRY(err, call)                                                                   \
    do {                                                                                           \
        db_status db_try_st_ = DB_CUBLAS_CHECK(err, call);                                         \
        if (db_try_st_ != DB_OK) return db_try_st_;                                                \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
