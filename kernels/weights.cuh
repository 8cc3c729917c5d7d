/* weights.cuh — building weights on the device: seeded synthetic values or uploaded fp32 values,
 * stored in a precision scheme's format (C ABI of kernels/weights.cu).
 *
 * What it is for: the CUDA backend generates its synthetic model on the device, bit for bit the one
 * the CPU backend builds (engine/cpu_weights.h, engine/linear.c): element (r, k) of a synthetic
 * tensor is scale * db_synth_uniform_from_bits(db_synth_bits(key, r * K + k)) (kernels/synth.h)
 * with key = db_synth_key(seed, tensor_id), then rounded or quantised with kernels/numerics.h
 * exactly as engine/linear.c's store_row does (tf32/fp16/bf16 round to nearest even; fp8 and int8
 * per-row scales max|w|/448 and max|w|/127; int4 group-128 bf16 scales, nibble q + 8). A
 * checkpoint's fp32 tensors are uploaded and go through the same quantisation. What it must not do:
 * allocate (the host allocates and zero-fills the matrix, padding included).
 */
#ifndef DB_KERNELS_WEIGHTS_CUH
#define DB_KERNELS_WEIGHTS_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the values of the rows come from. */
typedef struct db_cuda_fill_src {
    const float *values; /* device fp32 (rows, K) row-major; NULL: synthetic */
    uint64_t key;        /* synthetic: db_synth_key(seed, tensor_id) */
    float scale;         /* synthetic: the tensor's scale */
    int64_t src_row0; /* tensor-local index of the first row (synthetic index and error report) */
} db_cuda_fill_src;

/* Rows [dst_row0, dst_row0 + rows) of W from source rows [0, rows). bad (device, may be NULL):
 * lowered with atomicMin to the tensor-local flat index (src_row0 + r) * K + k of any non-finite
 * value read from `values` (initialise it to ~0ull). */
cudaError_t db_cuda_matrix_fill(db_cuda_matrix W, int dst_row0, int rows, db_cuda_fill_src src,
                                unsigned long long *bad, cudaStream_t stream);

/* An RMSNorm gain g (n) = 1 + spread * db_synth_uniform_from_bits(db_synth_bits(key, i)). */
cudaError_t db_cuda_gain_fill(float *g, int n, uint64_t key, float spread, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
