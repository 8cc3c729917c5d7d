/* gemv.cu — int8 / int4 weight-only GEMV (contract in gemv.cuh). One warp per output row, 4 rows
 * per block. Each lane loads 16 weight bytes at a time (16 int8 or 32 int4 elements: coalesced
 * 512-byte warp loads along the row) and the matching bf16 activations of every batch row
 * (L1/L2-resident); the lanes' partial sums meet in a warp reduction. MAXB (1, 4, 16) bounds the
 * batch rows kept in registers. */
#include "cuda_common.cuh"
#include "gemv.cuh"

#define GEMV_WARPS 4
#define GEMV_MAX_BATCH 16

__device__ __forceinline__ float bf16_lo(uint32_t u) {
    return __uint_as_float(u << 16);
}
__device__ __forceinline__ float bf16_hi(uint32_t u) {
    return __uint_as_float(u & 0xFFFF0000u);
}

/* sum_{j < 8} w[j] * x[j] for 8 bf16 activations packed in a uint4. */
__device__ __forceinline__ float dot8(const float *w, uint4 xv) {
    return w[0] * bf16_lo(xv.x) + w[1] * bf16_hi(xv.x) + w[2] * bf16_lo(xv.y) +
           w[3] * bf16_hi(xv.y) + w[4] * bf16_lo(xv.z) + w[5] * bf16_hi(xv.z) +
           w[6] * bf16_lo(xv.w) + w[7] * bf16_hi(xv.w);
}

template <int MAXB>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
    gemv_i8_kernel(db_cuda_matrix W, const uint16_t *x, int ldx, int B, float *y, int ldy) {
    int lane = threadIdx.x & 31, n = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (n >= W.n_rows) return;
    const int8_t *wr = (const int8_t *)W.data + (size_t)n * (size_t)W.row_stride;
    float acc[MAXB];
#pragma unroll
    for (int b = 0; b < MAXB; b++)
        acc[b] = 0.0f;
    for (int k0 = lane * 16; k0 < W.n_cols; k0 += 32 * 16) { /* row_stride and ldx cover k0 + 16 */
        int4 wv = *(const int4 *)(wr + k0);
        const int8_t *wb = (const int8_t *)&wv;
        float w[16];
#pragma unroll
        for (int j = 0; j < 16; j++)
            w[j] = (float)wb[j];
#pragma unroll
        for (int b = 0; b < MAXB; b++) {
            if (b >= B) break;
            const uint4 *xp = (const uint4 *)(x + (size_t)b * ldx + k0);
            acc[b] += dot8(w, __ldg(xp)) + dot8(w + 8, __ldg(xp + 1));
        }
    }
#pragma unroll
    for (int b = 0; b < MAXB; b++) {
        if (b >= B) break;
        float v = db_warp_sum(acc[b]);
        if (lane == 0) y[(size_t)b * ldy + n] = v * W.row_scale[n];
    }
}

/* 32 int4 elements k0 .. k0+31 (16 bytes) of a row against activations xb (bf16 row, ldx columns).
 */
__device__ __forceinline__ float q4_chunk(const uint8_t *bytes, const uint16_t *xb, int k0,
                                          int ldx) {
    float w[32];
#pragma unroll
    for (int j = 0; j < 16; j++) {
        w[2 * j] = (float)((int)(bytes[j] & 0x0Fu) - DB_Q4_ZERO);
        w[2 * j + 1] = (float)((int)(bytes[j] >> 4) - DB_Q4_ZERO);
    }
    if (k0 + 32 <= ldx) {
        const uint4 *xp = (const uint4 *)(xb + k0);
        return dot8(w, __ldg(xp)) + dot8(w + 8, __ldg(xp + 1)) + dot8(w + 16, __ldg(xp + 2)) +
               dot8(w + 24, __ldg(xp + 3));
    }
    float s = 0.0f; /* the row's last chunk runs past ldx: its padding nibbles are zeros */
    for (int j = 0; j < 32 && k0 + j < ldx; j++)
        s += w[j] * db_bf16_bits_to_f32(xb[k0 + j]);
    return s;
}

template <int MAXB>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
    gemv_i4_kernel(db_cuda_matrix W, const uint16_t *x, int ldx, int B, float *y, int ldy) {
    int lane = threadIdx.x & 31, n = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (n >= W.n_rows) return;
    const uint8_t *wr = (const uint8_t *)W.data + (size_t)n * (size_t)(W.row_stride / 2);
    const uint16_t *gs = W.group_scale + (size_t)n * (size_t)(W.row_stride / DB_Q4_GROUP);
    float acc[MAXB];
#pragma unroll
    for (int b = 0; b < MAXB; b++)
        acc[b] = 0.0f;
    for (int k0 = lane * 32; k0 < W.n_cols; k0 += 32 * 32) {
        uint4 wv = *(const uint4 *)(wr + k0 / 2);
        float s = db_bf16_bits_to_f32(gs[k0 / DB_Q4_GROUP]);
#pragma unroll
        for (int b = 0; b < MAXB; b++) {
            if (b >= B) break;
            acc[b] += s * q4_chunk((const uint8_t *)&wv, x + (size_t)b * ldx, k0, ldx);
        }
    }
#pragma unroll
    for (int b = 0; b < MAXB; b++) {
        if (b >= B) break;
        float v = db_warp_sum(acc[b]);
        if (lane == 0) y[(size_t)b * ldy + n] = v;
    }
}

template <int MAXB>
static void launch(const db_cuda_matrix &W, const uint16_t *x, int ldx, int B, float *y, int ldy,
                   cudaStream_t st) {
    unsigned blocks = (unsigned)((W.n_rows + GEMV_WARPS - 1) / GEMV_WARPS);
    if (W.fmt == DB_WFMT_I8)
        DB_LAUNCH(gemv_i8_kernel<MAXB>, blocks, GEMV_WARPS * 32, 0, st, W, x, ldx, B, y, ldy);
    else
        DB_LAUNCH(gemv_i4_kernel<MAXB>, blocks, GEMV_WARPS * 32, 0, st, W, x, ldx, B, y, ldy);
}

extern "C" int db_cuda_gemv_max_batch(void) {
    return GEMV_MAX_BATCH;
}

extern "C" cudaError_t db_cuda_gemv_q(db_cuda_matrix W, const uint16_t *x, int ldx, int B, float *y,
                                      int ldy, cudaStream_t stream) {
    if (B <= 0) return cudaSuccess;
    if ((W.fmt != DB_WFMT_I8 && W.fmt != DB_WFMT_I4) || B > GEMV_MAX_BATCH || ldx < W.n_cols ||
        ldx % DB_CUDA_ROW_ALIGN || ldy < W.n_rows)
        return cudaErrorInvalidValue;
    if (B == 1)
        launch<1>(W, x, ldx, B, y, ldy, stream);
    else if (B <= 4)
        launch<4>(W, x, ldx, B, y, ldy, stream);
    else
        launch<16>(W, x, ldx, B, y, ldy, stream);
    return cudaGetLastError();
}
