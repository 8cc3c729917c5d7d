/* cpu.h — the CPU reference backend (db_backend_cpu in backend.h): state and the batched forward
 * pass.
 *
 * What it is for: running one continuous-batching step of a Llama-style decoder exactly as
 * llama2.c's run.c does per token, but batched over every token of the step (prefill chunks and
 * decode tokens together), in fp32 after each precision scheme's rounding, reading and writing the
 * paged KV cache through the block tables engine.c hands over. What it must not do: allocate or
 * free KV blocks (engine.c owns the block tables), print, or exit.
 *
 * Numerics of a scheme (weights and GEMM inputs are rounded by engine/linear.h):
 *   - every GEMM output (q, k, v, wo, w1, w3, w2) is rounded to the scheme's activation type
 *     (db_precision_act_type: fp32 none, tf32, fp16, bf16 for bf16/fp8/int8/int4), as a GPU storing
 *     activations in that type does; the residual stream, RMSNorm sums, RoPE, softmax and the
 *     attention sums are fp32; logits are fp32 (not rounded, so argmax ties stay rare);
 *   - K and V are stored in the KV dtype (cpu_kv.h) and attention reads every position, including
 * the ones written in the same step, back from the cache, so a token's result does not depend on
 * whether its context was written in this step or an earlier one.
 */
#ifndef DB_CPU_H
#define DB_CPU_H

#include <stdint.h>

#include "backend.h"
#include "cpu_kv.h"
#include "cpu_weights.h"
#include "threadpool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activations of one step, grown on demand. T = tokens in the step, d = dim, q = n_heads *
 * head_size, kv = kv_dim, h = hidden_dim, n = work items, V = vocab. */
typedef struct db_cpu_run_state {
    int cap_tokens;
    float *x;        /* (T, d) residual stream */
    float *xb;       /* (T, d) RMSNorm output (a GEMM input) */
    float *q;        /* (T, q) queries, RoPE applied */
    float *k;        /* (T, kv) keys of the new positions, RoPE applied */
    float *v;        /* (T, kv) values of the new positions */
    float *att;      /* (T, q) attention output per head */
    float *proj;     /* (T, d) output of wo or w2 before the residual add */
    float *h1;       /* (T, h) gate, then silu(gate) * up */
    float *h3;       /* (T, h) up */
    int32_t *tok_id; /* (T) token ids */
    int *tok_pos;    /* (T) position of each token in its sequence */
    int *tok_item;   /* (T) work item of each token */
    int cap_items;
    float *last;        /* (n, d) final-normed last rows of the items that want a next token */
    float *logits;      /* (n, V) */
    int *want_item;     /* (n) work item of each row of last/logits */
    int *sample_idx;    /* (V) sampling scratch; only with temperature > 0 */
    int cap_ctx;        /* attention scratch covers contexts up to this many positions */
    float *att_scratch; /* (threads, att_scratch_stride) */
    size_t att_scratch_stride;
} db_cpu_run_state;

typedef struct db_cpu_backend {
    db_engine_opts opts; /* checkpoint_path and sim_device are not kept (set to NULL) */
    db_model_config config;
    db_cpu_weights w;
    db_cpu_kv kv;
    db_threadpool *pool;
    float *rope_freq; /* (head_size / 2): theta^(-2j / head_size) as llama2.c computes it */
    db_cpu_run_state s;
    char device[160];
} db_cpu_backend;

/* Opens a CPU backend directly (what db_backend_cpu.open does). */
db_status db_cpu_open(const db_engine_opts *o, int64_t total_blocks, db_cpu_backend **out,
                      db_error *err);
void db_cpu_close(db_cpu_backend *b);

/* One step (what db_backend_cpu.step does): validates work against the block tables, runs the
 * forward pass and fills res->next_tokens (and res->logits rows of want_next items when non-NULL).
 */
db_status db_cpu_step(db_cpu_backend *b, const db_work *work, const db_backend_seq_view *seqs,
                      int n, db_step_result *res, db_error *err);

#ifdef __cplusplus
}
#endif
#endif
