/* cuda_runtime.h (tests/emu) — the device side of CUDA C++ that the kernels (the kernels/ .cu files
 * through kernels/cuda_common.cuh) use, for compiling them as C++20 with the host compiler and
 * running them on the CPU under the SIMT emulator of tests/emu/simt.cpp (the emulated GPU tests,
 * label "emu").
 *
 * What it does: the qualifiers (__global__, __device__, ... expand to nothing, __shared__ to
 * `static`: one object per kernel, which is per block because blocks run one at a time), the
 * built-in vector types with CUDA's alignment, threadIdx/blockIdx/blockDim/gridDim as thread-local
 * variables of the emulator's threads, __syncthreads, the 32-bit warp shuffles, __ldg, atomicMin,
 * cudaFuncSetAttribute, and db_emu_launch (what DB_LAUNCH of kernels/cuda_common.cuh calls when
 * DB_CUDA_EMULATED is defined).
 * What it does NOT model: CUDA's math intrinsics and their ulps (expf, sincosf, sqrtf are the
 * host's libm), FMA contraction (built with -ffp-contract=off), independent thread scheduling
 * within a warp (warps meet only at shuffles), warp shuffles with a partial mask or width,
 * __shared__ memory's initial garbage (static storage starts as zeros and keeps the previous
 * block's values), memory fences, texture/surface/cooperative features. Never part of a real
 * CUDA build.
 */
#ifndef DB_TESTS_EMU_CUDA_RUNTIME_H
#define DB_TESTS_EMU_CUDA_RUNTIME_H

#ifndef __cplusplus
#error "tests/emu/cuda_runtime.h is the device side of the emulator: C++ only"
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
struct alignas(16) int4 {
    int x, y, z, w;
};

static inline float2 make_float2(float x, float y) {
    return float2{x, y};
}

/* Set by the emulator for each of its threads (simt.cpp). */
extern thread_local uint3 threadIdx, blockIdx;
extern thread_local dim3 blockDim, gridDim;

static inline int min(int a, int b) {
    return a < b ? a : b;
}

static inline float __uint_as_float(unsigned u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round-to-nearest add and multiply: with -ffp-contract=off the host's own operations. */
static inline float __fadd_rn(float a, float b) {
    return a + b;
}
static inline float __fmul_rn(float a, float b) {
    return a * b;
}

template <class T> static inline T __ldg(const T *p) {
    return *p;
}

/* ---- block and warp synchronisation (simt.cpp) ---------------------------------------------- */

void __syncthreads();
/* The 32-bit value `bits` of lane `src_lane` of the caller's warp, exchanged through the warp's
 * barrier. Every lane of a full warp must call it with mask 0xFFFFFFFF; anything else aborts with
 * a message (on a GPU it is undefined behaviour). */
uint32_t db_emu_shfl(unsigned mask, uint32_t bits, unsigned src_lane);
unsigned db_emu_lane();

template <class T> static inline T db_emu_shfl_value(unsigned mask, T v, unsigned src_lane) {
    static_assert(sizeof(T) == 4, "the emulator shuffles 32-bit values only");
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    b = db_emu_shfl(mask, b, src_lane);
    memcpy(&v, &b, sizeof v);
    return v;
}

template <class T> static inline T __shfl_sync(unsigned mask, T v, int src_lane) {
    return db_emu_shfl_value(mask, v, (unsigned)src_lane & 31u);
}

template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
    return db_emu_shfl_value(mask, v, (db_emu_lane() ^ (unsigned)lane_mask) & 31u);
}

unsigned long long atomicMin(unsigned long long *address, unsigned long long value);

/* ---- launches (simt.cpp) ----------------------------------------------------------------------
 */

/* Runs body once per thread of every block of the grid (see simt.cpp for the order), after the
 * checks a GPU makes at launch; a failed check becomes the next cudaGetLastError. kernel
 * identifies the function for its cudaFuncSetAttribute limit. */
void db_emu_run(const void *kernel, dim3 grid, dim3 block, size_t dynamic_smem,
                void (*body)(void *), void *body_ctx);
/* The running block's dynamic shared memory (DB_DYNAMIC_SHARED). */
void *db_emu_dynamic_shared();
cudaError_t db_emu_set_max_dynamic_shared(const void *kernel, int bytes);

/* The GPU's launch checks (cudaErrorInvalidConfiguration / cudaErrorInvalidValue), and the error
 * the next cudaGetLastError returns. */
cudaError_t db_emu_check_launch(const void *kernel, dim3 grid, dim3 block, size_t dynamic_smem);
void db_emu_set_launch_error(cudaError_t e);
/* A stream operation (tests/emu/runtime.cpp): runs op now, or records it while `stream` captures
 * a graph (op must then own copies of everything it reads at replay); fails without running it
 * where the real runtime refuses the operation during a capture. */
cudaError_t db_emu_submit(cudaStream_t stream, std::function<cudaError_t()> op);

/* The launch checks happen at once (a capture records only a valid launch); the kernel runs now,
 * or, while the stream captures, at each replay of the graph. body is stored by value: the
 * emulated build's DB_LAUNCH (tests/emu/emu_launch.h) captures the arguments by copy, as a
 * launch's parameters are copied on a GPU. */
template <class K, class Body>
static inline void db_emu_launch(K *kernel, dim3 grid, dim3 block, size_t dynamic_smem,
                                 cudaStream_t stream, Body body) {
    const void *k = reinterpret_cast<const void *>(kernel);
    cudaError_t e = db_emu_check_launch(k, grid, block, dynamic_smem);
    if (e == cudaSuccess)
        e = db_emu_submit(stream, [k, grid, block, dynamic_smem, body]() mutable {
            db_emu_run(
                k, grid, block, dynamic_smem, [](void *b) { (*static_cast<Body *>(b))(); }, &body);
            return cudaSuccess;
        });
    if (e != cudaSuccess) db_emu_set_launch_error(e);
}

template <class K>
static inline cudaError_t cudaFuncSetAttribute(K *kernel, enum cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
    return db_emu_set_max_dynamic_shared(reinterpret_cast<const void *>(kernel), value);
}

#endif
