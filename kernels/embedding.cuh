/* embedding.cuh — the token-embedding gather (C ABI of kernels/embedding.cu).
 *
 * What it is for: x[t] (dim fp32) = row tokens[t] of the embedding table E (vocab, dim),
 * dequantised from the scheme's storage exactly as db_linear_dequant_row (engine/linear.h) reads
 * it. What it must not do: check token ids (the host validated them) or write other rows.
 */
#ifndef DB_KERNELS_EMBEDDING_CUH
#define DB_KERNELS_EMBEDDING_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_embedding(db_cuda_matrix E, const int32_t *tokens, int T, float *x,
                              cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
