/* rmsnorm.cu — fused residual add + RMSNorm + GEMM-input conversion (contract in rmsnorm.cuh).
 * One block of 256 threads per row; the row is read from global memory (L1/L2-resident) up to three
 * times: the sum of squares, the e4m3 row maximum (fp8 only), the stores. */
#include "cuda_common.cuh"
#include "rmsnorm.cuh"

#define DB_RMSNORM_THREADS 256

__global__ void __launch_bounds__(DB_RMSNORM_THREADS)
    rmsnorm_kernel(float *x, const float *residual, db_num_type residual_round, const float *gain,
                   int dim, float eps, db_cuda_act out) {
    int r = blockIdx.x;
    float *xr = x + (size_t)r * (size_t)dim;
    const float *res = residual ? residual + (size_t)r * (size_t)dim : NULL;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float v = xr[i];
        if (res) {
            v += db_round_to_type(res[i], residual_round);
            xr[i] = v; /* read back below by this same thread only */
        }
        ss += v * v;
    }
    ss = db_block_reduce(ss, 0);
    float inv = 1.0f / sqrtf(ss / (float)dim + eps); /* llama2.c: ss /= d; ss += eps; 1/sqrtf */
    float scale = 0.0f;
    if (out.type == DB_NUM_E4M3) {
        float amax = 0.0f;
        for (int i = threadIdx.x; i < dim; i += blockDim.x)
            amax = fmaxf(amax, fabsf(gain[i] * (inv * xr[i])));
        amax = db_block_reduce(amax, 1);
        scale = db_e4m3_scale(amax);
        if (threadIdx.x == 0) out.scale[r] = scale;
    }
    for (int i = threadIdx.x; i < out.ld; i += blockDim.x)
        db_dev_act_store(out, r, i, i < dim ? gain[i] * (inv * xr[i]) : 0.0f, scale);
}

extern "C" cudaError_t db_cuda_rmsnorm(float *x, const float *residual, db_num_type residual_round,
                                       const float *gain, int rows, int dim, float eps,
                                       db_cuda_act out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (dim <= 0 || out.ld < dim) return cudaErrorInvalidValue;
    DB_LAUNCH(rmsnorm_kernel, rows, DB_RMSNORM_THREADS, 0, stream, x, residual, residual_round,
              gain, dim, eps, out);
    return cudaGetLastError();
}
