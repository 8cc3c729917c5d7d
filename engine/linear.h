/* linear.h — weight matrices stored in a precision scheme, and the CPU's fast y = x W^T.
 *
 * What it is for: a weight matrix W of N rows (outputs) by K columns (inputs), row-major as in
 * llama2.c (y[n] = sum_k W[n*K + k] x[k]), held in the storage of a precision scheme (formats in
 * kernels/numerics.h), and the forward product for a batch of B activation rows, computed in fp32
 * after the scheme's rounding:
 *   - fp32: weights and activations as given.
 *   - tf32: weights and activations rounded to tf32 (emulates the GPU's tensor-core inputs).
 *   - fp16, bf16: weights stored in the type; activations rounded to it.
 *   - fp8 (W8A8): weights e4m3 with a per-row fp32 scale sw = max|w| / 448; each activation row
 *     quantised to e4m3 with a per-token scale sx = max|x| / 448; y = sw[n] sx[b] sum_k w8 x8.
 *   - int8 (weight-only): int8 with a per-row fp32 scale s; activations rounded to bf16;
 *     y = s[n] sum_k q x.
 *   - int4 (weight-only): groups of 128 along K with bf16 scales; activations rounded to bf16;
 *     y = sum_g s[n,g] sum_{k in g} q x. Any K works: the last group of a row may be partial and
 *     rows are padded with zeros to whole groups (storage N * ceil(K/128) * (64 + 2) bytes).
 * The output y is fp32 and not rounded (a caller holding activations in the scheme's type rounds
 * with db_round_to_precision). Accumulation order is unspecified (SIMD lanes, tasks, BLAS).
 * fp16 weights or activations of magnitude 65520 or more become ±inf, as they would on a GPU.
 *
 * Threading policy: OpenBLAS is set to one thread (openblas_set_num_threads(1)) the first time a
 * linear layer runs, and all parallelism comes from the db_threadpool: each task of rows of W runs
 * the GEMV kernels or one single-threaded cblas_sgemm, so the two never oversubscribe the cores.
 * db_linear_forward uses the pool's scratch slots, so one pool runs one forward at a time.
 * What it must not do: know about models, layers or the KV cache; print; exit.
 */
#ifndef DB_LINEAR_H
#define DB_LINEAR_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "numerics.h"
#include "threadpool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct db_linear {
    int n_rows; /* N: outputs */
    int n_cols; /* K: inputs */
    db_precision precision;
    int row_stride;   /* stored elements per row: K, or K rounded up to a multiple of 128 (int4) */
    void *data;       /* (N, row_stride): float for fp32/tf32, uint16_t bits for fp16/bf16,
                         uint8_t e4m3 for fp8, int8_t for int8, packed nibbles (row_stride/2
                         bytes per row, low nibble = even k) for int4 */
    float *row_scale; /* (N): fp8 and int8 per-row scale; NULL otherwise */
    uint16_t *group_scale; /* (N, row_stride / 128): int4 bf16 scale bits; NULL otherwise */
} db_linear;

/* W[n][k] = scale * db_synth_uniform(seed, tensor_id, n*K + k), then rounded / quantised into the
 * scheme (see the header comment). DB_ERR_INVALID for N, K < 1 or an unknown precision. */
db_status db_linear_init_synth(db_linear *W, int N, int K, db_precision precision, uint64_t seed,
                               uint32_t tensor_id, float scale, db_error *err);

/* From fp32 values w (N, K), e.g. a checkpoint tensor. DB_ERR_INVALID if any value is NaN or
 * infinite (the message gives its row and column). */
db_status db_linear_init_f32(db_linear *W, int N, int K, db_precision precision, const float *w,
                             db_error *err);

/* Frees the storage; W is zeroed. Safe on a zeroed or already-freed W. */
void db_linear_free(db_linear *W);

/* Bytes of storage: elements (with int4 row padding) plus scales. */
size_t db_linear_bytes(const db_linear *W);

/* The dequantised weight W[n][k] as the forward product uses it (scale applied). */
float db_linear_get(const db_linear *W, int n, int k);
/* Row n dequantised into out (K). */
void db_linear_dequant_row(const db_linear *W, int n, float *out);

/* y (B, N) = x (B, K) W^T with the scheme's rounding (header comment). x and y must not overlap.
 * pool may be NULL (single-threaded). DB_ERR_INVALID for B < 1; DB_ERR_NOMEM if scratch fails. */
db_status db_linear_forward(const db_linear *W, const float *x, float *y, int B,
                            db_threadpool *pool, db_error *err);

/* ---- activation rounding of a scheme ------------------------------------------------------- */

/* The type activations are held in between GEMMs under a scheme: fp32 -> f32, tf32 -> tf32,
 * fp16 -> f16, bf16 / int8 / int4 / fp8 -> bf16 (fp8 quantises to e4m3 only at a GEMM's input, per
 * token, inside db_linear_forward). */
db_num_type db_precision_act_type(db_precision p);

static inline float db_round_to_precision(float x, db_precision p) {
    return db_round_to_type(x, db_precision_act_type(p));
}

/* x[0..n) rounded in place to the scheme's activation type (vectorised). */
void db_round_buffer_to_precision(float *x, size_t n, db_precision p);

#ifdef __cplusplus
}
#endif
#endif
