/* argmax.cu — row-wise argmax (contract in argmax.cuh). One block per row; each thread keeps its
 * best (value, index), then the block merges them with the same order: larger value, or equal value
 * and lower index; index -1 (nothing seen but NaNs) loses to everything. */
#include "argmax.cuh"
#include "cuda_common.cuh"

#define DB_ARGMAX_THREADS 256

__device__ __forceinline__ void argmax_merge(float &v, int &i, float ov, int oi) {
    if (oi >= 0 && (i < 0 || ov > v || (ov == v && oi < i))) v = ov, i = oi;
}

__global__ void __launch_bounds__(DB_ARGMAX_THREADS)
    argmax_kernel(const float *logits, int n, int32_t *out) {
    __shared__ float sv[DB_ARGMAX_THREADS / 32];
    __shared__ int si[DB_ARGMAX_THREADS / 32];
    const float *row = logits + (size_t)blockIdx.x * (size_t)n;
    float v = 0.0f;
    int i = -1;
    for (int k = threadIdx.x; k < n; k += blockDim.x) {
        float x = row[k];
        if (x == x) argmax_merge(v, i, x, k);
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(DB_FULL_MASK, v, o);
        int oi = __shfl_xor_sync(DB_FULL_MASK, i, o);
        argmax_merge(v, i, ov, oi);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) sv[warp] = v, si[warp] = i;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); w++)
            argmax_merge(v, i, sv[w], si[w]);
        out[blockIdx.x] = i < 0 ? 0 : i;
    }
}

extern "C" cudaError_t db_cuda_argmax(const float *logits, int rows, int n, int32_t *out,
                                      cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (n <= 0) return cudaErrorInvalidValue;
    DB_LAUNCH(argmax_kernel, rows, DB_ARGMAX_THREADS, 0, stream, logits, n, out);
    return cudaGetLastError();
}
