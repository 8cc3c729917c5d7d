/* attention_decode.cu — split-KV (flash-decoding) attention for decode rows (contract in
 * attention.cuh).
 *
 * Block (split, KV head x head chunk, row) of 4 warps. Each warp takes 4 keys at a time from the
 * split's range: the lanes hold pairs of head dimensions (lane + 32 i), so a key row is read with
 * coalesced 2-element loads, each query head's dot product is a warp all-reduce, and the online
 * softmax state (max m, sum l, weighted values acc) of every query head of the chunk stays in
 * registers. The 4 warps' states are merged through shared memory; with one split the block writes
 * the output, otherwise its (m, l, acc) go to `partial` for decode_merge_kernel.
 * Template parameters: HG query heads per block (1, 2, 4, 8), PPL dimension pairs per lane (1, 2,
 * 4: head sizes up to 64, 128, 256).
 */
#include "attention.cuh"
#include "cuda_common.cuh"

#define DEC_WARPS 4
#define DEC_U 4 /* keys per warp per iteration */

struct dec_ctx {
    int row, ri, g, h0, nh, hs, npairs, k0, k1;
    const int *bt;
};

/* The rows/heads/keys a block covers. */
template <int HG>
__device__ __forceinline__ dec_ctx dec_setup(const db_cuda_attn &a, const int *rows, int n_splits) {
    dec_ctx c;
    c.ri = blockIdx.z;
    c.row = rows ? rows[c.ri] : c.ri;
    c.hs = a.kv.head_size;
    c.npairs = c.hs >> 1;
    int group = a.n_heads / a.kv.n_kv_heads, chunks = (group + HG - 1) / HG;
    c.g = blockIdx.y / chunks;
    c.h0 = c.g * group + (blockIdx.y % chunks) * HG;
    c.nh = min(HG, c.g * group + group - c.h0);
    int pos = a.tok_pos[c.row], ctx = pos < 0 ? 0 : pos + 1;
    int len = ((ctx + n_splits - 1) / n_splits + 15) & ~15;
    c.k0 = blockIdx.x * len;
    c.k1 = min(ctx, c.k0 + len);
    c.bt = a.bt + (ctx > 0 ? a.tok_bt[c.row] : 0);
    return c;
}

/* Index of key position p's row for KV head g, and its fp8 scale (1 for other types). */
__device__ __forceinline__ size_t dec_key(const db_cuda_kv_layer &kv, const int *bt, int p, int g,
                                          const float *scales, float *scale) {
    int64_t slot = (int64_t)bt[p / kv.block_size] * kv.block_size + p % kv.block_size;
    size_t idx = db_dev_kv_index(kv, slot, g);
    *scale = kv.type == DB_NUM_E4M3 ? scales[idx / (size_t)kv.head_size] : 1.0f;
    return idx;
}

template <int HG, int PPL>
__device__ __forceinline__ void dec_write(const db_cuda_attn &a, const dec_ctx &c, int n_splits,
                                          float *partial, float2 (&acc)[HG][PPL], float (&m)[HG],
                                          float (&l)[HG]) {
    DB_DYNAMIC_SHARED(float, sm); /* (DEC_WARPS, HG, hs + 2): acc, m, l */
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, stride = c.hs + 2;
    float *mine = sm + (size_t)warp * HG * stride;
#pragma unroll
    for (int h = 0; h < HG; h++) {
#pragma unroll
        for (int i = 0; i < PPL; i++) {
            int j = lane + 32 * i;
            if (j < c.npairs) {
                mine[h * stride + 2 * j] = acc[h][i].x;
                mine[h * stride + 2 * j + 1] = acc[h][i].y;
            }
        }
        if (lane == 0) mine[h * stride + c.hs] = m[h], mine[h * stride + c.hs + 1] = l[h];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < c.nh * c.hs; idx += blockDim.x) {
        int h = idx / c.hs, d = idx % c.hs;
        float M = -INFINITY, A = 0.0f, L = 0.0f;
        for (int w = 0; w < DEC_WARPS; w++)
            M = fmaxf(M, sm[(w * HG + h) * stride + c.hs]);
        for (int w = 0; M != -INFINITY && w < DEC_WARPS; w++) {
            const float *st = sm + (w * HG + h) * stride;
            if (st[c.hs] == -INFINITY) continue;
            float e = expf(st[c.hs] - M);
            A += st[d] * e;
            L += st[c.hs + 1] * e;
        }
        if (n_splits == 1) {
            a.out[(size_t)c.row * a.ld_out + (size_t)(c.h0 + h) * c.hs + d] =
                L > 0.0f ? A / L : 0.0f;
        } else {
            float *pp =
                partial + (((size_t)c.ri * a.n_heads + c.h0 + h) * n_splits + blockIdx.x) * stride;
            pp[d] = A;
            if (d == 0) pp[c.hs] = M, pp[c.hs + 1] = L;
        }
    }
}

template <int HG, int PPL>
__global__ void __launch_bounds__(DEC_WARPS * 32)
    decode_split_kernel(db_cuda_attn a, const int *rows, int n_splits, float *partial) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const dec_ctx c = dec_setup<HG>(a, rows, n_splits);
    const db_cuda_kv_layer kv = a.kv;
    const float inv_sqrt = 1.0f / sqrtf((float)c.hs);
    float2 q[HG][PPL], acc[HG][PPL];
    float m[HG], l[HG];
#pragma unroll
    for (int h = 0; h < HG; h++) {
        m[h] = -INFINITY, l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < PPL; i++) {
            int j = lane + 32 * i;
            acc[h][i] = make_float2(0.0f, 0.0f);
            q[h][i] = h < c.nh && j < c.npairs
                          ? *(const float2 *)(a.q + (size_t)c.row * a.ld_q +
                                              (size_t)(c.h0 + h) * c.hs + 2 * j)
                          : make_float2(0.0f, 0.0f);
        }
    }
    for (int base = c.k0 + warp * DEC_U; base < c.k1; base += DEC_WARPS * DEC_U) {
        size_t idx[DEC_U];
        float ks[DEC_U], vs[DEC_U], s[DEC_U][HG];
#pragma unroll
        for (int u = 0; u < DEC_U; u++)
            ks[u] = vs[u] = 1.0f;
        float2 x[DEC_U][PPL];
#pragma unroll
        for (int u = 0; u < DEC_U; u++) { /* K rows of up to 4 keys, all loads in flight */
            int p = base + u;
            idx[u] = p < c.k1 ? dec_key(kv, c.bt, p, c.g, kv.k_scale, &ks[u]) : 0;
            if (p < c.k1 && kv.type == DB_NUM_E4M3) vs[u] = kv.v_scale[idx[u] / (size_t)c.hs];
#pragma unroll
            for (int i = 0; i < PPL; i++) {
                int j = lane + 32 * i;
                x[u][i] = p < c.k1 && j < c.npairs
                              ? db_dev_kv_get2(kv.k, kv.type, idx[u] + 2 * j, ks[u])
                              : make_float2(0.0f, 0.0f);
            }
        }
#pragma unroll
        for (int u = 0; u < DEC_U; u++)
#pragma unroll
            for (int h = 0; h < HG; h++) {
                float d = 0.0f;
#pragma unroll
                for (int i = 0; i < PPL; i++)
                    d += q[h][i].x * x[u][i].x + q[h][i].y * x[u][i].y;
                d = db_warp_sum(d);
                s[u][h] = base + u < c.k1 ? d * inv_sqrt : -INFINITY;
            }
#pragma unroll
        for (int u = 0; u < DEC_U; u++) /* V rows of the same keys */
#pragma unroll
            for (int i = 0; i < PPL; i++) {
                int j = lane + 32 * i;
                x[u][i] = base + u < c.k1 && j < c.npairs
                              ? db_dev_kv_get2(kv.v, kv.type, idx[u] + 2 * j,
                                               kv.type == DB_NUM_E4M3 ? vs[u] : 1.0f)
                              : make_float2(0.0f, 0.0f);
            }
#pragma unroll
        for (int h = 0; h < HG; h++) { /* online softmax; every lane holds the same scores */
            float mx = m[h];
#pragma unroll
            for (int u = 0; u < DEC_U; u++)
                mx = fmaxf(mx, s[u][h]);
            if (mx == -INFINITY) continue;
            float corr = expf(m[h] - mx);
            l[h] *= corr;
#pragma unroll
            for (int i = 0; i < PPL; i++)
                acc[h][i].x *= corr, acc[h][i].y *= corr;
#pragma unroll
            for (int u = 0; u < DEC_U; u++) {
                float p = expf(s[u][h] - mx);
                l[h] += p;
#pragma unroll
                for (int i = 0; i < PPL; i++)
                    acc[h][i].x += p * x[u][i].x, acc[h][i].y += p * x[u][i].y;
            }
            m[h] = mx;
        }
    }
    dec_write<HG, PPL>(a, c, n_splits, partial, acc, m, l);
}

/* Merges the splits of (row, head): out = sum_s A_s e^(m_s - M) / sum_s L_s e^(m_s - M). */
__global__ void decode_merge_kernel(db_cuda_attn a, const int *rows, int n_splits,
                                    const float *partial) {
    int ri = blockIdx.x, h = blockIdx.y, row = rows ? rows[ri] : ri, hs = a.kv.head_size,
        stride = hs + 2;
    const float *pp = partial + ((size_t)ri * a.n_heads + h) * n_splits * stride;
    float M = -INFINITY;
    for (int s = 0; s < n_splits; s++)
        M = fmaxf(M, pp[s * stride + hs]);
    for (int d = threadIdx.x; d < hs; d += blockDim.x) {
        float A = 0.0f, L = 0.0f;
        for (int s = 0; M != -INFINITY && s < n_splits; s++) {
            float ms = pp[s * stride + hs];
            if (ms == -INFINITY) continue;
            float e = expf(ms - M);
            A += pp[s * stride + d] * e;
            L += pp[s * stride + hs + 1] * e;
        }
        a.out[(size_t)row * a.ld_out + (size_t)h * hs + d] = L > 0.0f ? A / L : 0.0f;
    }
}

static int heads_per_block(int group) {
    if (group >= 8) return 8;
    int hg = 1;
    while (hg < group)
        hg <<= 1;
    return hg;
}

extern "C" size_t db_cuda_attention_decode_partial_floats(int n_rows, int n_heads, int head_size,
                                                          int n_splits) {
    return n_splits <= 1 ? 0 : (size_t)n_rows * n_heads * n_splits * (size_t)(head_size + 2);
}

extern "C" int db_cuda_attention_decode_splits(int n_rows, int n_heads, int n_kv_heads,
                                               int sm_count, int max_ctx) {
    if (n_rows < 1 || n_kv_heads < 1 || n_heads < n_kv_heads) return 1;
    int group = n_heads / n_kv_heads, hg = heads_per_block(group);
    long long blocks = (long long)n_rows * n_kv_heads * ((group + hg - 1) / hg);
    long long target = 4LL * (sm_count > 0 ? sm_count : 1);
    long long s = (target + blocks - 1) / blocks, cap = (max_ctx + 63) / 64;
    if (s > cap) s = cap;
    if (s > DB_CUDA_ATTN_MAX_SPLITS) s = DB_CUDA_ATTN_MAX_SPLITS;
    return s < 1 ? 1 : (int)s;
}

template <int HG>
static void launch_hg(int ppl, dim3 grid, size_t smem, cudaStream_t st, const db_cuda_attn &a,
                      const int *rows, int n_splits, float *partial) {
    if (ppl == 1)
        DB_LAUNCH((decode_split_kernel<HG, 1>), grid, DEC_WARPS * 32, smem, st, a, rows, n_splits,
                  partial);
    else if (ppl == 2)
        DB_LAUNCH((decode_split_kernel<HG, 2>), grid, DEC_WARPS * 32, smem, st, a, rows, n_splits,
                  partial);
    else
        DB_LAUNCH((decode_split_kernel<HG, 4>), grid, DEC_WARPS * 32, smem, st, a, rows, n_splits,
                  partial);
}

extern "C" cudaError_t db_cuda_attention_decode(const db_cuda_attn *a, const int *rows, int n_rows,
                                                int n_splits, float *partial, cudaStream_t stream) {
    if (n_rows <= 0) return cudaSuccess;
    int hs = a->kv.head_size, kvh = a->kv.n_kv_heads;
    if (hs <= 0 || (hs & 1) || hs > DB_CUDA_ATTN_MAX_HEAD || kvh <= 0 || a->n_heads % kvh ||
        n_rows > 65535 || n_splits < 1 || n_splits > DB_CUDA_ATTN_MAX_SPLITS ||
        (n_splits > 1 && !partial))
        return cudaErrorInvalidValue;
    int group = a->n_heads / kvh, hg = heads_per_block(group), chunks = (group + hg - 1) / hg;
    if ((long long)kvh * chunks > 65535) return cudaErrorInvalidValue;
    int npairs = hs / 2, ppl = npairs <= 32 ? 1 : npairs <= 64 ? 2 : 4;
    dim3 grid((unsigned)n_splits, (unsigned)(kvh * chunks), (unsigned)n_rows);
    size_t smem = (size_t)DEC_WARPS * hg * (hs + 2) * sizeof(float);
    switch (hg) {
    case 1:
        launch_hg<1>(ppl, grid, smem, stream, *a, rows, n_splits, partial);
        break;
    case 2:
        launch_hg<2>(ppl, grid, smem, stream, *a, rows, n_splits, partial);
        break;
    case 4:
        launch_hg<4>(ppl, grid, smem, stream, *a, rows, n_splits, partial);
        break;
    default:
        launch_hg<8>(ppl, grid, smem, stream, *a, rows, n_splits, partial);
        break;
    }
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess || n_splits == 1) return e;
    DB_LAUNCH(decode_merge_kernel, dim3((unsigned)n_rows, (unsigned)a->n_heads), 128, 0, stream, *a,
              rows, n_splits, partial);
    return cudaGetLastError();
}
