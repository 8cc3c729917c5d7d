/* rope.cuh — rotary position embedding of the fused QKV GEMM output (C ABI of kernels/rope.cu).
 *
 * What it is for: the step after the QKV GEMM, in place on each token row of qkv (T, ld) laid out
 * as [q (q_dim) | k (kv_dim) | v (kv_dim)]:
 *   1. every element is rounded to the scheme's activation type (as the CPU rounds GEMM outputs);
 *   2. q and k are rotated as llama2.c does: the pair (i, i+1) of each head (i even) by the angle
 *      pos[t] * freq[i / 2], freq (head_size / 2) from the host (db_cpu_rope_freq,
 * engine/cpu_ops.h). A negative pos (a padding row of a CUDA graph bucket) is treated as position
 * 0. What it must not do: write the KV cache (kv_cache.cuh does) or touch other rows.
 */
#ifndef DB_KERNELS_ROPE_CUH
#define DB_KERNELS_ROPE_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_rope(float *qkv, int ld, const int *pos, int T, int q_dim, int kv_dim,
                         int head_size, const float *freq, db_num_type round, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
