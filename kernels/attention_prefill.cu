/* attention_prefill.cu — causal attention for prefill chunks (contract in attention.cuh).
 *
 * Block (tile, KV head x head chunk) of 4 warps. The block's rows are the (token, query head) pairs
 * of its tile's tokens and of up to 16 query heads sharing the KV head, at most 16 rows; each warp
 * owns 4 rows. K and V stream through shared memory in tiles of 32 keys (dequantised to fp32, K
 * rows padded by one float so that lane j reading key j hits distinct banks). Per row and key tile:
 * lane j scores key j, the warp takes the tile's maximum, rescales its running sum and accumulators
 * (online softmax), and adds the tile's weighted values with lanes over head dimensions. Shared
 * memory: (32 (hs + 1) + 32 hs + 16 hs) floats: 41 KB at head size 128, 82 KB at 256 (the launcher
 * raises the kernel's limit above 48 KB when needed).
 */
#include "attention.cuh"
#include "cuda_common.cuh"

#define PF_WARPS 4
#define PF_ROWS 16 /* (token, head) rows per block */
#define PF_RPW 4   /* rows per warp */
#define PF_KT 32   /* keys per tile */
#define PF_DPL 8   /* head dimensions per lane: head size <= 256 */

static __host__ __device__ int pf_heads(int group) {
    return group < PF_ROWS ? group : PF_ROWS;
}

/* Keys [kt, kt + 32) of KV head g into Ks (32, hs + 1) and Vs (32, hs); keys at or past kend are 0.
 */
__device__ __forceinline__ void pf_load_tile(const db_cuda_kv_layer &kv, const int *bt, int g,
                                             int kt, int kend, float *Ks, float *Vs) {
    int hs = kv.head_size;
    for (int idx = threadIdx.x; idx < PF_KT * hs; idx += blockDim.x) {
        int j = idx / hs, d = idx % hs, p = kt + j;
        float kx = 0.0f, vx = 0.0f;
        if (p < kend) {
            int64_t slot = (int64_t)bt[p / kv.block_size] * kv.block_size + p % kv.block_size;
            size_t base = db_dev_kv_index(kv, slot, g);
            float ks = 1.0f, vs = 1.0f;
            if (kv.type == DB_NUM_E4M3) ks = kv.k_scale[base / hs], vs = kv.v_scale[base / hs];
            kx = db_dev_kv_get(kv.k, kv.type, base + d, ks);
            vx = db_dev_kv_get(kv.v, kv.type, base + d, vs);
        }
        Ks[j * (hs + 1) + d] = kx;
        Vs[j * hs + d] = vx;
    }
}

__global__ void __launch_bounds__(PF_WARPS * 32) prefill_kernel(db_cuda_attn a, const int *tiles) {
    DB_DYNAMIC_SHARED(float, sm);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const db_cuda_kv_layer kv = a.kv;
    const int hs = kv.head_size, t0 = tiles[2 * blockIdx.x], nt = tiles[2 * blockIdx.x + 1];
    const int group = a.n_heads / kv.n_kv_heads, hg = pf_heads(group),
              chunks = (group + hg - 1) / hg;
    const int g = blockIdx.y / chunks, h0 = g * group + (blockIdx.y % chunks) * hg;
    const int nh = min(hg, g * group + group - h0), n_rows = nt * nh;
    const int kend = a.tok_pos[t0 + nt - 1] + 1;
    const int *bt = a.bt + a.tok_bt[t0];
    const float inv_sqrt = 1.0f / sqrtf((float)hs);
    float *Ks = sm, *Vs = Ks + PF_KT * (hs + 1), *Qs = Vs + PF_KT * hs;
    for (int idx = threadIdx.x; idx < n_rows * hs; idx += blockDim.x) {
        int r = idx / hs, d = idx % hs;
        Qs[idx] = a.q[(size_t)(t0 + r / nh) * a.ld_q + (size_t)(h0 + r % nh) * hs + d];
    }
    int rpos[PF_RPW];
    float m[PF_RPW], l[PF_RPW], acc[PF_RPW][PF_DPL];
#pragma unroll
    for (int i = 0; i < PF_RPW; i++) {
        int r = warp * PF_RPW + i;
        rpos[i] = r < n_rows ? a.tok_pos[t0 + r / nh] : -1;
        m[i] = -INFINITY, l[i] = 0.0f;
#pragma unroll
        for (int jd = 0; jd < PF_DPL; jd++)
            acc[i][jd] = 0.0f;
    }
    for (int kt = 0; kt < kend; kt += PF_KT) {
        __syncthreads(); /* Qs written / the previous tile consumed */
        pf_load_tile(kv, bt, g, kt, kend, Ks, Vs);
        __syncthreads();
#pragma unroll
        for (int i = 0; i < PF_RPW; i++) {
            if (rpos[i] < kt)
                continue; /* no visible key in this tile (or not a row): warp-uniform */
            const float *qr = Qs + (warp * PF_RPW + i) * hs;
            float s = -INFINITY;
            if (kt + lane <= rpos[i]) {
                float dot = 0.0f;
                for (int d = 0; d < hs; d++)
                    dot += qr[d] * Ks[lane * (hs + 1) + d];
                s = dot * inv_sqrt;
            }
            float mx = fmaxf(m[i], db_warp_max(s));
            float corr = expf(m[i] - mx), p = expf(s - mx);
            l[i] = l[i] * corr + db_warp_sum(p);
            int nk = min(PF_KT, rpos[i] + 1 - kt);
#pragma unroll
            for (int jd = 0; jd < PF_DPL; jd++)
                acc[i][jd] *= corr;
            for (int jj = 0; jj < nk; jj++) {
                float pk = __shfl_sync(DB_FULL_MASK, p, jj);
#pragma unroll
                for (int jd = 0; jd < PF_DPL; jd++)
                    if (lane + 32 * jd < hs) acc[i][jd] += pk * Vs[jj * hs + lane + 32 * jd];
            }
            m[i] = mx;
        }
    }
#pragma unroll
    for (int i = 0; i < PF_RPW; i++) {
        if (rpos[i] < 0) continue;
        int r = warp * PF_RPW + i;
        float *out = a.out + (size_t)(t0 + r / nh) * a.ld_out + (size_t)(h0 + r % nh) * hs;
#pragma unroll
        for (int jd = 0; jd < PF_DPL; jd++)
            if (lane + 32 * jd < hs) out[lane + 32 * jd] = l[i] > 0.0f ? acc[i][jd] / l[i] : 0.0f;
    }
}

extern "C" int db_cuda_attention_prefill_tile_tokens(int n_heads, int n_kv_heads) {
    if (n_kv_heads < 1 || n_heads < n_kv_heads) return 1;
    return PF_ROWS / pf_heads(n_heads / n_kv_heads);
}

extern "C" cudaError_t db_cuda_attention_prefill(const db_cuda_attn *a, const int *tiles,
                                                 int n_tiles, cudaStream_t stream) {
    if (n_tiles <= 0) return cudaSuccess;
    int hs = a->kv.head_size, kvh = a->kv.n_kv_heads;
    if (hs <= 0 || (hs & 1) || hs > DB_CUDA_ATTN_MAX_HEAD || kvh <= 0 || a->n_heads % kvh)
        return cudaErrorInvalidValue;
    int group = a->n_heads / kvh, hg = pf_heads(group), chunks = (group + hg - 1) / hg;
    if ((long long)kvh * chunks > 65535) return cudaErrorInvalidValue;
    size_t smem =
        ((size_t)PF_KT * (hs + 1) + (size_t)PF_KT * hs + (size_t)PF_ROWS * hs) * sizeof(float);
    if (smem > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(
            prefill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess) return e;
    }
    DB_LAUNCH(prefill_kernel, dim3((unsigned)n_tiles, (unsigned)(kvh * chunks)), PF_WARPS * 32,
              smem, stream, *a, tiles);
    return cudaGetLastError();
}
