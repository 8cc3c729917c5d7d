/* quant.cu — activation preparation, row gather, weight dequantisation and GEMM epilogues (contract
 * in quant.cuh). */
#include "cuda_common.cuh"
#include "quant.cuh"

#define DB_QUANT_THREADS 256

__global__ void __launch_bounds__(DB_QUANT_THREADS)
    act_prepare_kernel(const float *x, int ldx, int K, db_cuda_act out) {
    int r = blockIdx.x;
    const float *row = x + (size_t)r * (size_t)ldx;
    float scale = 0.0f;
    if (out.type == DB_NUM_E4M3) {
        float amax = 0.0f;
        for (int k = threadIdx.x; k < K; k += blockDim.x)
            amax = fmaxf(amax, fabsf(row[k]));
        amax = db_block_reduce(amax, 1);
        scale = db_e4m3_scale(amax);
        if (threadIdx.x == 0) out.scale[r] = scale;
    }
    for (int k = threadIdx.x; k < out.ld; k += blockDim.x)
        db_dev_act_store(out, r, k, k < K ? row[k] : 0.0f, scale);
}

extern "C" cudaError_t db_cuda_act_prepare(const float *x, int ldx, int rows, int K,
                                           db_cuda_act out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (K <= 0 || ldx < K || out.ld < K) return cudaErrorInvalidValue;
    DB_LAUNCH(act_prepare_kernel, rows, DB_QUANT_THREADS, 0, stream, x, ldx, K, out);
    return cudaGetLastError();
}

__global__ void act_gather_kernel(db_cuda_act src, const int *rows, db_cuda_act dst, int words) {
    int r = blockIdx.x, from = rows[r];
    const uint32_t *s = (const uint32_t *)src.data + (size_t)from * (size_t)words;
    uint32_t *d = (uint32_t *)dst.data + (size_t)r * (size_t)words;
    for (int i = threadIdx.x; i < words; i += blockDim.x)
        d[i] = s[i];
    if (threadIdx.x == 0 && src.type == DB_NUM_E4M3) dst.scale[r] = src.scale[from];
}

extern "C" cudaError_t db_cuda_act_gather(db_cuda_act src, const int *rows, int n, db_cuda_act dst,
                                          cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    size_t bytes = (size_t)src.ld * (size_t)db_act_elem_bytes(src.type);
    if (src.ld != dst.ld || src.type != dst.type || bytes % 4) return cudaErrorInvalidValue;
    DB_LAUNCH(act_gather_kernel, n, 128, 0, stream, src, rows, dst, (int)(bytes / 4));
    return cudaGetLastError();
}

__global__ void __launch_bounds__(DB_QUANT_THREADS)
    dequant_bf16_kernel(db_cuda_matrix W, int row0, uint16_t *out, int ldo) {
    int r = blockIdx.x, n = row0 + r;
    uint16_t *o = out + (size_t)r * (size_t)ldo;
    for (int k = threadIdx.x; k < ldo; k += blockDim.x) {
        float v = 0.0f;
        if (k < W.n_cols)
            v = W.fmt == DB_WFMT_I8 ? (float)((const int8_t *)W.data)[(size_t)n * W.row_stride + k]
                                    : db_dev_weight(W, n, k);
        o[k] = db_f32_to_bf16_bits(v);
    }
}

extern "C" cudaError_t db_cuda_dequant_bf16(db_cuda_matrix W, int row0, int rows, uint16_t *out,
                                            int ldo, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    if (row0 < 0 || row0 + rows > W.n_rows || ldo < W.n_cols) return cudaErrorInvalidValue;
    DB_LAUNCH(dequant_bf16_kernel, rows, DB_QUANT_THREADS, 0, stream, W, row0, out, ldo);
    return cudaGetLastError();
}

__device__ __forceinline__ float epilogue_in(const float *d, size_t i) {
    return d[i];
}
__device__ __forceinline__ float epilogue_in(const uint16_t *d, size_t i) {
    return db_bf16_bits_to_f32(d[i]);
}

template <typename D>
__global__ void gemm_epilogue_kernel(const D *d, int ldd, const float *wscale, const float *xscale,
                                     int T, int N, float *y, int ldy) {
    int n = blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= N) return;
    float sw = wscale[n];
    for (int t = blockIdx.y; t < T; t += gridDim.y) {
        float s = xscale ? sw * xscale[t] : sw;
        y[(size_t)t * ldy + n] = epilogue_in(d, (size_t)t * ldd + n) * s;
    }
}

template <typename D>
static cudaError_t epilogue(const D *d, int ldd, const float *wscale, const float *xscale, int T,
                            int N, float *y, int ldy, cudaStream_t stream) {
    if (T <= 0 || N <= 0) return cudaSuccess;
    if (ldd < N || ldy < N) return cudaErrorInvalidValue;
    dim3 grid((unsigned)((N + 255) / 256), (unsigned)(T < 65535 ? T : 65535));
    DB_LAUNCH(gemm_epilogue_kernel<D>, grid, 256, 0, stream, d, ldd, wscale, xscale, T, N, y, ldy);
    return cudaGetLastError();
}

extern "C" cudaError_t db_cuda_gemm_epilogue(const float *d, int ldd, const float *wscale,
                                             const float *xscale, int T, int N, float *y, int ldy,
                                             cudaStream_t stream) {
    return epilogue(d, ldd, wscale, xscale, T, N, y, ldy, stream);
}

extern "C" cudaError_t db_cuda_gemm_epilogue_bf16(const uint16_t *d, int ldd, const float *wscale,
                                                  const float *xscale, int T, int N, float *y,
                                                  int ldy, cudaStream_t stream) {
    return epilogue(d, ldd, wscale, xscale, T, N, y, ldy, stream);
}
