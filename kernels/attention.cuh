/* attention.cuh — causal GQA attention of a step's tokens over the paged KV cache (C ABI of
 * kernels/attention_decode.cu and kernels/attention_prefill.cu).
 *
 * What it is for: for token row t at position pos[t] of its sequence and query head h,
 *   out[t, h] = sum_{p <= pos[t]} softmax_p(q[t, h] . k_p / sqrt(head_size)) v_p
 * with k_p, v_p read (dequantised) from the cache through the sequence's block table, KV head
 * h / (n_heads / n_kv_heads) — the function engine/cpu_attention.h computes. The cache already
 * holds the step's own tokens (kv_cache.cuh runs first). A row with pos < 0 (a CUDA graph padding
 * row) gets zeros. decode   flash-decoding: each (row, KV head, split) block runs an online softmax
 * over its share of the keys (the context divided into n_splits equal parts), keeping every query
 * head of the GQA group (up to 8 per block) against one read of K and V; a second kernel merges the
 * splits' (max, sum, weighted values). With n_splits 1 the merge is skipped. prefill  for chunks of
 * consecutive tokens of one sequence: each block takes a tile of (token, query head) rows sharing a
 * KV head, streams 32-key tiles of K and V through shared memory once for all of them, and runs the
 * online softmax per row with the causal mask. Limits: head_size even and <= DB_CUDA_ATTN_MAX_HEAD
 * (256); n_heads divisible by n_kv_heads. What it must not do: write the cache, or any output row
 * it was not given.
 */
#ifndef DB_KERNELS_ATTENTION_CUH
#define DB_KERNELS_ATTENTION_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

#define DB_CUDA_ATTN_MAX_HEAD 256
#define DB_CUDA_ATTN_MAX_SPLITS 64

typedef struct db_cuda_attn {
    const float *q; /* (T, ld_q): query heads of each token at columns 0 .. n_heads*head_size */
    int ld_q;
    float *out; /* (T, ld_out) */
    int ld_out;
    db_cuda_kv_layer kv;
    const int *tok_pos; /* (T): position of each token; < 0: padding row */
    const int *tok_bt;  /* (T): where the token's block table starts in bt */
    const int *bt;      /* block ids of every sequence's table, in position order */
    int n_heads;
} db_cuda_attn;

/* Decode attention of rows[0 .. n_rows) (rows NULL: token rows 0 .. n_rows-1). partial: scratch of
 * db_cuda_attention_decode_partial_floats(n_rows, n_heads, head_size, n_splits) floats (unused when
 * n_splits is 1). n_rows <= 65535, 1 <= n_splits <= DB_CUDA_ATTN_MAX_SPLITS. */
cudaError_t db_cuda_attention_decode(const db_cuda_attn *a, const int *rows, int n_rows,
                                     int n_splits, float *partial, cudaStream_t stream);
size_t db_cuda_attention_decode_partial_floats(int n_rows, int n_heads, int head_size,
                                               int n_splits);
/* A split count that gives about four blocks per multiprocessor for n_rows rows, at most one split
 * per 64 keys of max_ctx. */
int db_cuda_attention_decode_splits(int n_rows, int n_heads, int n_kv_heads, int sm_count,
                                    int max_ctx);

/* Prefill attention. tiles (2 * n_tiles ints): tile i covers token rows tiles[2i] .. tiles[2i] +
 * tiles[2i+1] - 1, consecutive positions of one sequence, at most
 * db_cuda_attention_prefill_tile_tokens(n_heads, n_kv_heads) tokens. */
cudaError_t db_cuda_attention_prefill(const db_cuda_attn *a, const int *tiles, int n_tiles,
                                      cudaStream_t stream);
int db_cuda_attention_prefill_tile_tokens(int n_heads, int n_kv_heads);

#ifdef __cplusplus
}
#endif
#endif
