/* cpu_attention.h — causal GQA attention of a step's tokens over the paged KV cache (CPU backend).
 *
 * What it is for: for each token t of the step at position pos[t] of its sequence and each query
 * head h, out[t, h] = sum_{p <= pos[t]} softmax_p(q[t, h] . k_p / sqrt(head_size)) v_p, where k_p
 * and v_p are read (dequantised) from the cache through the sequence's block table and belong to KV
 * head h / (n_heads / n_kv_heads). One task per (token, KV head) pair, claimed by the pool's
 * threads in order; each task is computed by one thread in a fixed order, so results do not depend
 * on threads. What it must not do: write the cache, allocate, print, or exit.
 */
#ifndef DB_CPU_ATTENTION_H
#define DB_CPU_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "cpu_kv.h"
#include "threadpool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct db_cpu_attention_args {
    const db_cpu_kv *kv;
    int layer;
    int n_heads;
    int T;
    const float *q;      /* (T, n_heads * head_size) */
    float *out;          /* (T, n_heads * head_size) */
    const int *tok_pos;  /* (T) */
    const int *tok_item; /* (T) work item of the token; seqs[item] is its block table */
    const db_backend_seq_view *seqs;
    float *scratch;        /* (pool size, scratch_stride) floats: one slot per pool worker */
    size_t scratch_stride; /* >= db_cpu_attention_scratch_floats(...) */
} db_cpu_attention_args;

/* Floats of scratch one thread needs for contexts up to max_ctx positions. */
size_t db_cpu_attention_scratch_floats(int n_heads, int n_kv_heads, int head_size, int max_ctx);

void db_cpu_attention(db_threadpool *pool, const db_cpu_attention_args *args);

#ifdef __cplusplus
}
#endif
#endif
