/* weights.cu — synthetic or uploaded weights into a storage format (contract in weights.cuh). One
 * block per row; fp8/int8 take the row's maximum first, int4 one warp per 128-element group. */
#include "cuda_common.cuh"
#include "synth.h"
#include "weights.cuh"

#define DB_FILL_THREADS 256

__device__ __forceinline__ float fill_value(const db_cuda_fill_src &src, int r, int k, int K,
                                            unsigned long long *bad) {
    if (!src.values)
        return src.scale * db_synth_uniform_from_bits(db_synth_bits(
                               src.key, (uint64_t)(src.src_row0 + r) * (uint64_t)K + (uint64_t)k));
    float v = src.values[(size_t)r * (size_t)K + (size_t)k];
    if (!isfinite(v) && bad)
        atomicMin(bad, (unsigned long long)((src.src_row0 + r) * (int64_t)K + k));
    return v;
}

/* Max |value| of source row r (block-wide; every thread gets it). */
__device__ float fill_row_absmax(const db_cuda_fill_src &src, int r, int K,
                                 unsigned long long *bad) {
    float amax = 0.0f;
    for (int k = threadIdx.x; k < K; k += blockDim.x)
        amax = fmaxf(amax, fabsf(fill_value(src, r, k, K, bad)));
    return db_block_reduce(amax, 1);
}

/* int4: one warp per group of 128; each lane makes two bytes (four elements). */
__device__ void fill_row_q4(const db_cuda_matrix &W, int n, int r, const db_cuda_fill_src &src,
                            unsigned long long *bad) {
    int K = W.n_cols, G = W.row_stride / DB_Q4_GROUP, lane = threadIdx.x & 31;
    uint8_t *row = (uint8_t *)W.data + (size_t)n * (size_t)(W.row_stride / 2);
    for (int g = threadIdx.x >> 5; g < G; g += blockDim.x >> 5) {
        int k0 = g * DB_Q4_GROUP + lane * 4;
        float v[4], amax = 0.0f;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            v[j] = k0 + j < K ? fill_value(src, r, k0 + j, K, bad) : 0.0f;
            amax = fmaxf(amax, fabsf(v[j]));
        }
        uint16_t sb = db_q4_group_scale_bits(db_warp_max(amax));
        float s = db_bf16_bits_to_f32(sb);
        if (lane == 0) W.group_scale[(size_t)n * (size_t)G + (size_t)g] = sb;
#pragma unroll
        for (int b = 0; b < 2; b++) {
            int k = k0 + 2 * b;
            uint8_t lo = k < K ? db_q4_quantize(v[2 * b], s) : (uint8_t)DB_Q4_ZERO;
            uint8_t hi = k + 1 < K ? db_q4_quantize(v[2 * b + 1], s) : (uint8_t)DB_Q4_ZERO;
            row[k >> 1] = (uint8_t)(lo | (hi << 4));
        }
    }
}

__global__ void __launch_bounds__(DB_FILL_THREADS)
    matrix_fill_kernel(db_cuda_matrix W, int dst_row0, db_cuda_fill_src src,
                       unsigned long long *bad) {
    int r = blockIdx.x, n = dst_row0 + r, K = W.n_cols;
    size_t off = (size_t)n * (size_t)W.row_stride;
    if (W.fmt == DB_WFMT_I4) {
        fill_row_q4(W, n, r, src, bad);
        return;
    }
    float s = 0.0f;
    if (W.fmt == DB_WFMT_E4M3 || W.fmt == DB_WFMT_I8) {
        float amax = fill_row_absmax(src, r, K, bad);
        s = W.fmt == DB_WFMT_E4M3 ? db_e4m3_scale(amax) : db_q8_scale(amax);
        if (threadIdx.x == 0) W.row_scale[n] = s;
    }
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        float v = fill_value(src, r, k, K, bad);
        switch (W.fmt) {
        case DB_WFMT_F32:
            ((float *)W.data)[off + k] = W.tf32 ? db_round_tf32(v) : v;
            break;
        case DB_WFMT_F16:
            ((uint16_t *)W.data)[off + k] = db_f32_to_f16_bits(v);
            break;
        case DB_WFMT_BF16:
            ((uint16_t *)W.data)[off + k] = db_f32_to_bf16_bits(v);
            break;
        case DB_WFMT_E4M3:
            ((uint8_t *)W.data)[off + k] = db_e4m3_quantize(v, s);
            break;
        case DB_WFMT_I8:
            ((int8_t *)W.data)[off + k] = db_q8_quantize(v, s);
            break;
        default:
            break;
        }
    }
}

extern "C" cudaError_t db_cuda_matrix_fill(db_cuda_matrix W, int dst_row0, int rows,
                                           db_cuda_fill_src src, unsigned long long *bad,
                                           cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (dst_row0 < 0 || dst_row0 + rows > W.n_rows || W.n_cols <= 0) return cudaErrorInvalidValue;
    DB_LAUNCH(matrix_fill_kernel, rows, DB_FILL_THREADS, 0, stream, W, dst_row0, src, bad);
    return cudaGetLastError();
}

/* __fadd_rn / __fmul_rn: never contracted into an FMA, so the rounding is the host's. */
__global__ void gain_fill_kernel(float *g, int n, uint64_t key, float spread) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        g[i] = __fadd_rn(
            1.0f, __fmul_rn(spread, db_synth_uniform_from_bits(db_synth_bits(key, (uint64_t)i))));
}

extern "C" cudaError_t db_cuda_gain_fill(float *g, int n, uint64_t key, float spread,
                                         cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    DB_LAUNCH(gain_fill_kernel, (n + 255) / 256, 256, 0, stream, g, n, key, spread);
    return cudaGetLastError();
}
