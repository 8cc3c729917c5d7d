/* kv_cache.cu — K/V rows into the paged cache (contract in kv_cache.cuh). One warp per (token, KV
 * head, K or V): the head's elements are strided over the lanes; fp8 takes the head's maximum
 * first. */
#include "cuda_common.cuh"
#include "kv_cache.cuh"

#define DB_KV_WARPS 4

__global__ void __launch_bounds__(DB_KV_WARPS * 32)
    kv_write_kernel(db_cuda_kv_layer kv, const float *k, const float *v, int ld,
                    const int64_t *slot) {
    int t = blockIdx.x, lane = threadIdx.x & 31;
    int task = blockIdx.y * DB_KV_WARPS + (threadIdx.x >> 5); /* (head, which) */
    int head = task >> 1, which = task & 1;
    int64_t s = slot[t];
    if (head >= kv.n_kv_heads || s < 0) return; /* whole warps leave together */
    int hs = kv.head_size;
    const float *src = (which ? v : k) + (size_t)t * (size_t)ld + (size_t)head * (size_t)hs;
    void *dst = which ? kv.v : kv.k;
    size_t base = db_dev_kv_index(kv, s, head);
    float scale = 0.0f;
    if (kv.type == DB_NUM_E4M3) {
        float amax = 0.0f;
        for (int i = lane; i < hs; i += 32)
            amax = fmaxf(amax, fabsf(src[i]));
        scale = db_e4m3_scale(db_warp_max(amax));
        if (lane == 0) (which ? kv.v_scale : kv.k_scale)[base / (size_t)hs] = scale;
    }
    for (int i = lane; i < hs; i += 32) {
        float x = src[i];
        size_t o = base + (size_t)i;
        switch (kv.type) {
        case DB_NUM_F16:
            ((uint16_t *)dst)[o] = db_f32_to_f16_bits(x);
            break;
        case DB_NUM_BF16:
            ((uint16_t *)dst)[o] = db_f32_to_bf16_bits(x);
            break;
        case DB_NUM_E4M3:
            ((uint8_t *)dst)[o] = db_e4m3_quantize(x, scale);
            break;
        default:
            ((float *)dst)[o] = x;
            break;
        }
    }
}

extern "C" cudaError_t db_cuda_kv_write(db_cuda_kv_layer kv, const float *k, const float *v, int ld,
                                        const int64_t *slot, int T, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (kv.n_kv_heads <= 0 || kv.head_size <= 0 || kv.block_size <= 0 ||
        ld < kv.n_kv_heads * kv.head_size)
        return cudaErrorInvalidValue;
    dim3 grid((unsigned)T, (unsigned)((2 * kv.n_kv_heads + DB_KV_WARPS - 1) / DB_KV_WARPS));
    DB_LAUNCH(kv_write_kernel, grid, DB_KV_WARPS * 32, 0, stream, kv, k, v, ld, slot);
    return cudaGetLastError();
}
