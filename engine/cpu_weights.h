/* cpu_weights.h — the model's weights on the host: the synthetic-weight contract (tensor ids,
 * scales) and building the weights in a precision scheme, from the seed or from a llama2.c
 * checkpoint.
 *
 * What it is for: one definition of the seeded synthetic model that every backend reproduces bit
 * for bit (the CUDA backend generates the same tensors on the device from these ids and scales),
 * and the CPU backend's copy of the weights, stored in the scheme (engine/linear.h). What it must
 * not do: run arithmetic of the forward pass, know about the KV cache, print, or exit.
 *
 * Synthetic model under seed s (u(t, i) = db_synth_uniform(s, t, i), kernels/synth.h; all in fp32):
 *   matrix W (N rows = outputs, K columns = inputs), tensor t: W[n][k] = c * u(t, n*K + k) with
 *     c = sqrtf(3.0f / K) (each weight has variance 1/K, so y = W x keeps the scale of x), except
 * wq and wk, whose c is 2.0f * sqrtf(3.0f / K) (DB_SYNTH_QK_GAIN): attention scores
 * q.k/sqrt(head_size) then have a standard deviation of about 4, so heads attend to a few positions
 * rather than averaging the whole context, and greedy decoding keeps wandering instead of settling
 * on one token (with gain 1, 2 of 192 tiny sequences of 500 tokens ended repeating one token);
 *   token embedding (vocab, dim), tensor 0: E[v][i] = sqrtf(3.0f / dim) * u(0, v*dim + i), as a
 * matrix with K = dim: with a shared classifier the current token's own logit gains only about one
 *     standard deviation of the others (with scale 1 it would win at once and repeat forever);
 *   RMSNorm gain g (dim), tensor t: g[i] = 1 + DB_SYNTH_GAIN_SPREAD * u(t, i).
 * Tensor ids: 0 token embedding, 1 final RMSNorm gain, 2 classifier (unshared only; a shared
 * classifier is the token embedding); layer l: 16 + 16*l + kind with kind 0 rms_att, 1 wq, 2 wk, 3
 * wv, 4 wo, 5 rms_ffn, 6 w1 (gate), 7 w2 (down), 8 w3 (up).
 */
#ifndef DB_CPU_WEIGHTS_H
#define DB_CPU_WEIGHTS_H

#include <stdint.h>

#include "engine.h"
#include "linear.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DB_TENSOR_TOKEN_EMBEDDING = 0,
    DB_TENSOR_RMS_FINAL = 1,
    DB_TENSOR_CLASSIFIER = 2,
    DB_TENSOR_LAYER_BASE = 16,
    DB_TENSOR_LAYER_STRIDE = 16,
};

/* Kinds of a layer's tensors (the last term of the layer tensor id). */
typedef enum db_layer_tensor {
    DB_LT_RMS_ATT = 0,
    DB_LT_WQ = 1,
    DB_LT_WK = 2,
    DB_LT_WV = 3,
    DB_LT_WO = 4,
    DB_LT_RMS_FFN = 5,
    DB_LT_W1 = 6,
    DB_LT_W2 = 7,
    DB_LT_W3 = 8,
} db_layer_tensor;

#define DB_SYNTH_QK_GAIN 2.0f
#define DB_SYNTH_GAIN_SPREAD 0.125f

static inline uint32_t db_synth_layer_tensor(int layer, db_layer_tensor kind) {
    return (uint32_t)(DB_TENSOR_LAYER_BASE + DB_TENSOR_LAYER_STRIDE * layer + (int)kind);
}

/* The scale c of a synthetic matrix with K input columns: sqrtf(3.0f / K). */
float db_synth_matrix_scale(int K);

/* One decoder layer. d = dim, q = n_heads * head_size (= d), kv = n_kv_heads * head_size,
 * h = hidden_dim. */
typedef struct db_cpu_layer {
    float *rms_att; /* (d) */
    db_linear wq;   /* (q, d) */
    db_linear wk;   /* (kv, d) */
    db_linear wv;   /* (kv, d) */
    db_linear wo;   /* (d, q) */
    float *rms_ffn; /* (d) */
    db_linear w1;   /* (h, d): gate */
    db_linear w2;   /* (d, h): down */
    db_linear w3;   /* (h, d): up */
} db_cpu_layer;

typedef struct db_cpu_weights {
    db_model_config config;
    db_precision precision;
    db_linear token_embedding; /* (vocab, d), in the scheme's storage; rows are read dequantised */
    db_cpu_layer *layers;      /* (n_layers) */
    float *rms_final;          /* (d) */
    db_linear classifier;      /* (vocab, d); unused (zeroed) when the classifier is shared */
} db_cpu_weights;

/* The LM head: the classifier, or the token embedding when shared. */
static inline const db_linear *db_cpu_weights_lm_head(const db_cpu_weights *w) {
    return w->config.shared_classifier ? &w->token_embedding : &w->classifier;
}

/* Seeded synthetic weights of shape m in precision p (contract in the header comment). */
db_status db_cpu_weights_synth(db_cpu_weights *w, const db_model_config *m, db_precision p,
                               uint64_t seed, db_error *err);

/* Weights of a llama2.c checkpoint quantised into p. The checkpoint's shape must equal m except
 * that m may keep only its first n_layers layers (--layers); shared_classifier follows the file. */
db_status db_cpu_weights_load(db_cpu_weights *w, const db_model_config *m, db_precision p,
                              const char *checkpoint_path, db_error *err);

/* Frees everything; w is zeroed. Safe on a zeroed or partly built w. */
void db_cpu_weights_free(db_cpu_weights *w);

/* Bytes of weight storage (scales included; a shared classifier counted once). */
size_t db_cpu_weights_bytes(const db_cpu_weights *w);

#ifdef __cplusplus
}
#endif
#endif
