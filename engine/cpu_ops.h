/* cpu_ops.h — the CPU backend's row-wise operations over the tokens of a step: RMSNorm, RoPE,
 * SwiGLU, residual add and activation rounding, run on the thread pool.
 *
 * What it is for: the elementwise and per-row parts of llama2.c's forward(), batched over T token
 * rows and split across threads by rows (a small job runs on the calling thread alone). What it
 * must not do: run GEMMs (engine/linear.h does), touch the KV cache, print, or exit.
 */
#ifndef DB_CPU_OPS_H
#define DB_CPU_OPS_H

#include <stddef.h>

#include "engine.h"
#include "threadpool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (T, d) = g (d) * x / sqrt(mean(x^2) + eps) per row of x (T, d), as llama2.c's rmsnorm. */
void db_cpu_rmsnorm(db_threadpool *pool, float *out, const float *x, const float *g, int T, int d,
                    float eps);

/* RoPE in place on q (T, q_dim) and k (T, kv_dim), token t at position pos[t]: llama2.c's rotation
 * of adjacent pairs (i, i+1) of each head by the angle pos * freq[(i % head_size) / 2]. */
void db_cpu_rope(db_threadpool *pool, float *q, float *k, const int *pos, int T, int q_dim,
                 int kv_dim, int head_size, const float *freq);

/* freq (head_size / 2): freq[j] = 1 / theta^(2j / head_size), in fp32 as llama2.c computes it. */
void db_cpu_rope_freq(float *freq, int head_size, float theta);

/* gate (n) = silu(gate) * up, silu(x) = x / (1 + exp(-x)). */
void db_cpu_swiglu(db_threadpool *pool, float *gate, const float *up, size_t n);

/* x (n) += y (n). */
void db_cpu_add(db_threadpool *pool, float *x, const float *y, size_t n);

/* x (n) rounded in place to the activation type of scheme p (no-op for fp32). */
void db_cpu_round(db_threadpool *pool, float *x, size_t n, db_precision p);

#ifdef __cplusplus
}
#endif
#endif
