/* cuda_weights.h — the model's weights on the device for the CUDA backend: matrices in a precision
 * scheme's storage (kernels/cuda_types.cuh), generated on the device from the seed or uploaded from
 * a llama2.c checkpoint and quantised there.
 *
 * What it is for: the same model the CPU backend builds (engine/cpu_weights.h: tensor ids, scales,
 * quantisation), bit for bit, without generating it on the host. Two fusions change only the
 * layout: wq|wk|wv are one (q + 2 kv, d) matrix and w1|w3 one (2 h, d) matrix (gate rows, then up
 * rows); each part keeps its own tensor id, scale and per-row quantisation, so every stored value
 * is the CPU's. What it must not do: run the forward pass, know about the KV cache, print, or exit.
 */
#ifndef DB_CUDA_WEIGHTS_H
#define DB_CUDA_WEIGHTS_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_types.cuh"
#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* d = dim, q = n_heads * head_size (= d), kv = kv_dim, h = hidden_dim. */
typedef struct db_cuda_layer {
    float *rms_att;      /* (d) */
    db_cuda_matrix wqkv; /* (q + 2 kv, d): wq rows, wk rows, wv rows */
    db_cuda_matrix wo;   /* (d, q) */
    float *rms_ffn;      /* (d) */
    db_cuda_matrix w13;  /* (2 h, d): w1 (gate) rows, then w3 (up) rows */
    db_cuda_matrix w2;   /* (d, h) */
} db_cuda_layer;

typedef struct db_cuda_weights {
    db_model_config config;
    db_precision precision;
    db_cuda_matrix embedding;  /* (V, d) in the scheme's storage; also the LM head when shared */
    db_cuda_layer *layers;     /* host array of n_layers */
    float *rms_final;          /* (d) */
    db_cuda_matrix classifier; /* (V, d); data NULL when the classifier is shared */
    size_t bytes;              /* device bytes held */
} db_cuda_weights;

static inline const db_cuda_matrix *db_cuda_weights_lm_head(const db_cuda_weights *w) {
    return w->config.shared_classifier ? &w->embedding : &w->classifier;
}

/* The storage format and the GEMM-input (activation) type of a scheme: fp32 F32/F32, tf32 F32 (tf32
 * values)/TF32, fp16 F16/F16, bf16 BF16/BF16, fp8 E4M3/E4M3, int8 I8/BF16, int4 I4/BF16. */
db_cuda_wfmt db_cuda_precision_wfmt(db_precision p);
db_num_type db_cuda_precision_act_in(db_precision p);

/* Device bytes of an N x K matrix of scheme p with its padding and scales. */
size_t db_cuda_matrix_bytes(int N, int K, db_precision p);
/* Allocates and zero-fills (int4: the data is written whole by the fill) an N x K matrix. */
db_status db_cuda_matrix_alloc(db_cuda_matrix *W, int N, int K, db_precision p, db_error *err);
void db_cuda_matrix_free(db_cuda_matrix *W);
/* Synthetic rows [row0, row0 + rows) of W from tensor `tensor_id` rows 0 .. rows-1, scale `scale`.
 */
db_status db_cuda_matrix_synth(db_cuda_matrix *W, int row0, int rows, uint64_t seed,
                               uint32_t tensor_id, float scale, cudaStream_t s, db_error *err);

/* Device bytes every weight of the model needs under scheme p (for sizing the KV cache). */
size_t db_cuda_weights_bytes_estimate(const db_model_config *m, db_precision p);

/* Seeded synthetic weights (engine/cpu_weights.h's contract), generated on the device. */
db_status db_cuda_weights_synth(db_cuda_weights *w, const db_model_config *m, db_precision p,
                                uint64_t seed, cudaStream_t s, db_error *err);
/* A llama2.c checkpoint's tensors uploaded and quantised on the device; m must match the file's
 * shape (it may keep fewer layers). Non-finite values are refused with the tensor, row and column.
 */
db_status db_cuda_weights_load(db_cuda_weights *w, const db_model_config *m, db_precision p,
                               const char *checkpoint_path, cudaStream_t s, db_error *err);
/* Frees everything; safe on a zeroed or partly built w. */
void db_cuda_weights_free(db_cuda_weights *w);

#ifdef __cplusplus
}
#endif
#endif
