/* kv_cache.cuh — writing the new tokens' K and V into the paged KV cache (C ABI of
 * kernels/kv_cache.cu).
 *
 * What it is for: token t's k (kv_dim) and v (kv_dim) rows, read at k + t*ld and v + t*ld, stored
 * into physical slot slot[t] (= block * block_size + offset) of one layer in the cache's type, with
 * the CPU backend's conversions (engine/cpu_kv.c): fp16 / bf16 round to nearest even; fp8 e4m3 with
 * one scale per (token, head) s = max|x_head| / 448, element = e4m3(x / s). Layout in
 * cuda_types.cuh. A negative slot (a padding row of a CUDA graph bucket) writes nothing. What it
 * must not do: decide slots (the host maps positions through the block tables).
 */
#ifndef DB_KERNELS_KV_CACHE_CUH
#define DB_KERNELS_KV_CACHE_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_kv_write(db_cuda_kv_layer kv, const float *k, const float *v, int ld,
                             const int64_t *slot, int T, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
