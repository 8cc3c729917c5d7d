/* embedding.cu — token-embedding gather (contract in embedding.cuh). One block per token. */
#include "cuda_common.cuh"
#include "embedding.cuh"

#define DB_EMBED_THREADS 256

__global__ void __launch_bounds__(DB_EMBED_THREADS)
    embedding_kernel(db_cuda_matrix E, const int32_t *tokens, float *x) {
    int t = blockIdx.x, tok = tokens[t], dim = E.n_cols;
    float *out = x + (size_t)t * (size_t)dim;
    for (int k = threadIdx.x; k < dim; k += blockDim.x)
        out[k] = db_dev_weight(E, tok, k);
}

extern "C" cudaError_t db_cuda_embedding(db_cuda_matrix E, const int32_t *tokens, int T, float *x,
                                         cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    DB_LAUNCH(embedding_kernel, T, DB_EMBED_THREADS, 0, stream, E, tokens, x);
    return cudaGetLastError();
}
