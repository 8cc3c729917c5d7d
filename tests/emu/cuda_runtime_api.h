/* cuda_runtime_api.h (tests/emu) — the part of the CUDA runtime API that the kernels' host
 * launchers (the kernels/ .cu files), engine/cuda_weights.c and the GPU tests call, implemented on
 * host memory by tests/emu/simt.cpp, so the CUDA kernels can be compiled as C++ and run on the CPU
 * (the emulated GPU tests, CTest label "emu").
 *
 * What it is for: the C-callable declarations (C17 and C++) with the real runtime's names and
 * error codes. "Device" memory is host memory (cudaMalloc is an aligned malloc, copies are
 * memcpy), every call is synchronous, streams are accepted and ignored.
 * What it does NOT model: separate address spaces (a kernel reading host memory works here), the
 * asynchrony of streams, events, graphs, sticky (context-corrupting) errors, more than one device,
 * any device query beyond db_cuda_device_count. Never part of a real CUDA build.
 */
#ifndef DB_TESTS_EMU_CUDA_RUNTIME_API_H
#define DB_TESTS_EMU_CUDA_RUNTIME_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The real runtime's values (driver_types.h). */
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
} cudaError_t;

typedef struct CUstream_st *cudaStream_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

cudaError_t cudaMalloc(void **ptr, size_t bytes);
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMemset(void *ptr, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
/* The last launch error (then reset to cudaSuccess), as the real runtime's non-sticky errors. */
cudaError_t cudaGetLastError(void);
cudaError_t cudaPeekAtLastError(void);
const char *cudaGetErrorName(cudaError_t e);
const char *cudaGetErrorString(cudaError_t e);
int db_cuda_device_count(void); /* engine/backend.h: the emulated device, always 1 */

#ifdef __cplusplus
}
#endif
#endif
