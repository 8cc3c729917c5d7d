/* test_gpu_common.h — helpers of the GPU tests (tests/test_gpu_*.c): the skip rule, device buffers
 * that start poisoned, seeded random inputs and the error norm.
 *
 * Skip rule: a GPU test exits 77 (CTest "skipped") with a line saying why when the build has no
 * CUDA backend or no CUDA device answers (gpu_test_skip_reason). Buffers the kernels write start as
 * 0xFF bytes (NaN in fp32, fp16 and bf16; NaN in e4m3), so an element a kernel forgets to write
 * fails the comparison. Inputs are seeded uniforms, never zeros. Error norm: rel = max_i |a_i -
 * ref_i| / max_i |ref_i|; a NaN anywhere makes it infinite. Include after <cmocka.h>.
 */
#ifndef DB_TEST_GPU_COMMON_H
#define DB_TEST_GPU_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "synth.h"

/* NULL when the GPU tests can run; else why not. */
static inline const char *gpu_test_skip_reason(void) {
#ifdef DECODEBENCH_HAVE_CUDA
    return db_cuda_device_count() > 0 ? NULL : "no CUDA device answers (cudaGetDeviceCount)";
#else
    return "this build has no CUDA backend (configured with DECODEBENCH_CUDA=OFF or without nvcc)";
#endif
}

/* Prints why and returns 1 when the GPU tests cannot run here (callers exit 77: skipped). */
static inline int gpu_test_skipped(void) {
    const char *why = gpu_test_skip_reason();
    if (why) printf("skipped: %s\n", why);
    return why != NULL;
}

/* A seeded uniform in (-1, 1) (element i of stream `stream`). */
static inline float test_uniform(uint64_t seed, uint32_t stream, uint64_t i) {
    return db_synth_uniform(seed, 0xE0000000u + stream, i);
}

static inline void fill_uniform(float *x, size_t n, uint64_t seed, uint32_t stream, float scale) {
    for (size_t i = 0; i < n; i++)
        x[i] = scale * test_uniform(seed, stream, i);
}

static inline double rel_err(const float *a, const float *ref, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)ref[i]);
        if (d != d) return INFINITY;
        num = d > num ? d : num;
        den = fabs((double)ref[i]) > den ? fabs((double)ref[i]) : den;
    }
    return den > 0.0 ? num / den : num;
}

#ifdef DECODEBENCH_HAVE_CUDA
#include <cuda_runtime_api.h>

#define GPU_OK(call)                                                                               \
    do {                                                                                           \
        cudaError_t gpu_e_ = (call);                                                               \
        if (gpu_e_ != cudaSuccess)                                                                 \
            fail_msg("%s:%d: %s failed: %s", __FILE__, __LINE__, #call,                            \
                     cudaGetErrorString(gpu_e_));                                                  \
    } while (0)

/* Device memory of `bytes`, every byte 0xFF. */
static inline void *dev_poisoned(size_t bytes) {
    void *p = NULL;
    GPU_OK(cudaMalloc(&p, bytes ? bytes : 16));
    GPU_OK(cudaMemset(p, 0xFF, bytes ? bytes : 16));
    return p;
}

static inline void *dev_upload(const void *host, size_t bytes) {
    void *p = dev_poisoned(bytes);
    GPU_OK(cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice));
    return p;
}

/* Waits for the device, then copies back (a kernel error surfaces here). */
static inline void dev_download(void *host, const void *dev, size_t bytes) {
    GPU_OK(cudaDeviceSynchronize());
    GPU_OK(cudaMemcpy(host, dev, bytes, cudaMemcpyDeviceToHost));
}

static inline float *dev_upload_floats(const float *host, size_t n) {
    return (float *)dev_upload(host, n * sizeof(float));
}
#endif

#endif
