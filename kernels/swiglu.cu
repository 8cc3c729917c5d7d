/* swiglu.cu — SwiGLU into the w2 GEMM input (contract in swiglu.cuh). One block per row; for fp8
 * the row is evaluated twice (its maximum, then the stores) rather than kept: hidden may be large.
 */
#include "cuda_common.cuh"
#include "swiglu.cuh"

#define DB_SWIGLU_THREADS 256

__device__ __forceinline__ float swiglu_value(const float *row, int hidden, int i,
                                              db_num_type round) {
    float g = db_round_to_type(row[i], round), u = db_round_to_type(row[hidden + i], round);
    return g * (1.0f / (1.0f + expf(-g))) * u;
}

__global__ void __launch_bounds__(DB_SWIGLU_THREADS)
    swiglu_kernel(const float *h13, int hidden, db_num_type round, db_cuda_act out) {
    int r = blockIdx.x;
    const float *row = h13 + (size_t)r * 2 * (size_t)hidden;
    float scale = 0.0f;
    if (out.type == DB_NUM_E4M3) {
        float amax = 0.0f;
        for (int i = threadIdx.x; i < hidden; i += blockDim.x)
            amax = fmaxf(amax, fabsf(swiglu_value(row, hidden, i, round)));
        amax = db_block_reduce(amax, 1);
        scale = db_e4m3_scale(amax);
        if (threadIdx.x == 0) out.scale[r] = scale;
    }
    for (int i = threadIdx.x; i < out.ld; i += blockDim.x)
        db_dev_act_store(out, r, i, i < hidden ? swiglu_value(row, hidden, i, round) : 0.0f, scale);
}

extern "C" cudaError_t db_cuda_swiglu(const float *h13, int hidden, db_num_type round, int rows,
                                      db_cuda_act out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (hidden <= 0 || out.ld < hidden) return cudaErrorInvalidValue;
    DB_LAUNCH(swiglu_kernel, rows, DB_SWIGLU_THREADS, 0, stream, h13, hidden, round, out);
    return cudaGetLastError();
}
