/* cost.h — the analytic cost model behind db_cost_model / db_engine_cost (engine.h): FLOPs and bytes
 * moved per op class for one step of a mixed batch, and the byte sizes it is built from.
 *
 * What it is for: the sim backend's step time and every roofline point come from these counts, so they
 * are defined here once, in writing, and unit-tested against hand counts.
 * What it must not do: measure anything, depend on a backend, or change state.
 *
 * Notation: T new tokens in the step (all items), S items with want_next, L layers, d dim, kv kv_dim,
 * h hidden_dim, V vocab, hs head size. Weights are read once per step whatever the batch (one pass
 * over every layer). Each GEMM reads its input rows and writes its output rows once (QKV is one fused
 * GEMM, w1|w3 another); elementwise ops read and write their rows once. Definitions per class:
 *   qkv        2*T*d*(d+2kv) FLOPs; weights (d+2kv) x d; activations T*(d + d+2kv).
 *   attention  4*hs*ctx FLOPs per head per new token, ctx = keys it attends to (a token at position q
 *              attends to q+1 keys: causal inside a prefill chunk); KV write T*2kv; KV read (pos+n)*2kv
 *              per item (each sequence's whole cache, read once per step), in KV-dtype elements (fp8
 *              adds a 4-byte scale per token, KV head, K and V); activations T*(d + d) (Q in, output
 *              out). Softmax FLOPs are not counted.
 *   out_proj   2*T*d*d; weights d x d; activations T*2d.
 *   mlp        2*T*d*2h (w1|w3) + 2*T*h*d (w2) + 5*T*h (SwiGLU: silu 4, product 1); weights 3*h*d;
 *              activations T*(d+2h) + T*(h+d) + T*3h (SwiGLU reads 2h, writes h).
 *   norm       per layer: 2 RMSNorms (4*T*d FLOPs, T*2d activations and d weights each), 2 residual
 *              adds (T*d FLOPs, T*3d activations each), RoPE on q and k (6 FLOPs per pair:
 *              3*T*(d+kv); T*2*(d+kv) activations); then the final RMSNorm on the S rows that go to
 *              the LM head, and the embedding gather (T rows of d read as weights, written as
 *              activations).
 *   lm_head    only the S rows with want_next (what the backends compute): 2*S*V*d FLOPs; the
 *              classifier V x d (read when S > 0; a shared classifier is the embedding table, counted
 *              at the scheme's linear storage); activations S*(d+V) and the argmax reading S*V logits.
 * Every term is per layer and multiplied by L, except the final norm, the embedding and the LM head.
 * Bytes per element: linear weights, the token embedding and a classifier as the scheme stores them
 * (db_cost_linear_weight_bytes: fp8 and int8 add a 4-byte scale per row, int4 takes 66 bytes per
 * 128-element group; as engine/linear.h stores them); RMSNorm gains 4 bytes (fp32); activations 4
 * (fp32, tf32), 2 (fp16, bf16, and the bf16 activations of int8, int4), 1 (fp8: e4m3 GEMM inputs);
 * KV entries db_kv_dtype_bytes.
 * Sums: total_bytes = weight_bytes + kv_read_bytes + kv_write_bytes + act_bytes.
 * Items: a decode token is an item with n_tokens 1 at pos > 0; every other item is a prefill chunk.
 */
#ifndef DB_COST_H
#define DB_COST_H

#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes per activation element under a scheme: 4 (fp32, tf32), 1 (fp8), else 2 (bf16/fp16). */
double db_cost_act_bytes(db_precision p);
/* RMSNorm gains are kept in fp32 under every scheme. */
#define DB_COST_NORM_WEIGHT_BYTES 4.0
/* Storage of one (n_rows x n_cols) linear weight under a scheme, scales included (matches linear.h:
 * fp8/int8 n_rows*n_cols + 4*n_rows; int4 n_rows*ceil(n_cols/128)*66; else n_rows*n_cols*w). */
double db_cost_linear_weight_bytes(int64_t n_rows, int64_t n_cols, db_precision p);
/* Bytes of every weight of the model stored under the scheme (embedding, layers, final norm and the
 * classifier unless shared). fp32: 4 * db_model_param_count exactly. */
double db_cost_weight_bytes(const db_model_config *m, db_precision p);

#ifdef __cplusplus
}
#endif
#endif
