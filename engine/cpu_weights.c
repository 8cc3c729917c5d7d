/* cpu_weights.c — synthetic and checkpoint weights of the CPU backend (contract in cpu_weights.h).
 */
#include "cpu_weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "synth.h"

float db_synth_matrix_scale(int K) {
    return sqrtf(3.0f / (float)K);
}

static db_status alloc_floats(float **out, size_t n, const char *what, db_error *err) {
    *out = malloc(n * sizeof(float));
    if (*out) return DB_OK;
    db_error_set(err, DB_ERR_NOMEM, "cpu backend: cannot allocate %s (%zu floats)", what, n);
    return DB_ERR_NOMEM;
}

static db_status synth_gain(float **out, int dim, uint64_t seed, uint32_t tensor_id,
                            db_error *err) {
    db_status st = alloc_floats(out, (size_t)dim, "an RMSNorm gain", err);
    if (st != DB_OK) return st;
    uint64_t key = db_synth_key(seed, tensor_id);
    for (int i = 0; i < dim; i++)
        (*out)[i] = 1.0f + DB_SYNTH_GAIN_SPREAD *
                               db_synth_uniform_from_bits(db_synth_bits(key, (uint64_t)i));
    return DB_OK;
}

static db_status synth_matrix(db_linear *W, int N, int K, db_precision p, uint64_t seed,
                              uint32_t id, db_error *err) {
    return db_linear_init_synth(W, N, K, p, seed, id, db_synth_matrix_scale(K), err);
}

static db_status synth_qk(db_linear *W, int N, int K, db_precision p, uint64_t seed, uint32_t id,
                          db_error *err) {
    return db_linear_init_synth(W, N, K, p, seed, id, DB_SYNTH_QK_GAIN * db_synth_matrix_scale(K),
                                err);
}

static db_status synth_layer(db_cpu_layer *L, const db_model_config *m, int l, db_precision p,
                             uint64_t seed, db_error *err) {
    int d = m->dim, h = m->hidden_dim, q = m->n_heads * db_model_head_size(m),
        kv = db_model_kv_dim(m);
    db_status st;
    if ((st = synth_gain(&L->rms_att, d, seed, db_synth_layer_tensor(l, DB_LT_RMS_ATT), err)) ||
        (st = synth_qk(&L->wq, q, d, p, seed, db_synth_layer_tensor(l, DB_LT_WQ), err)) ||
        (st = synth_qk(&L->wk, kv, d, p, seed, db_synth_layer_tensor(l, DB_LT_WK), err)) ||
        (st = synth_matrix(&L->wv, kv, d, p, seed, db_synth_layer_tensor(l, DB_LT_WV), err)) ||
        (st = synth_matrix(&L->wo, d, q, p, seed, db_synth_layer_tensor(l, DB_LT_WO), err)) ||
        (st = synth_gain(&L->rms_ffn, d, seed, db_synth_layer_tensor(l, DB_LT_RMS_FFN), err)) ||
        (st = synth_matrix(&L->w1, h, d, p, seed, db_synth_layer_tensor(l, DB_LT_W1), err)) ||
        (st = synth_matrix(&L->w2, d, h, p, seed, db_synth_layer_tensor(l, DB_LT_W2), err)) ||
        (st = synth_matrix(&L->w3, h, d, p, seed, db_synth_layer_tensor(l, DB_LT_W3), err)))
        return st;
    return DB_OK;
}

static db_status alloc_layers(db_cpu_weights *w, const db_model_config *m, db_precision p,
                              db_error *err) {
    memset(w, 0, sizeof *w);
    w->config = *m;
    w->precision = p;
    w->layers = calloc((size_t)m->n_layers, sizeof *w->layers);
    if (!w->layers)
        return db_error_set(err, DB_ERR_NOMEM, "cpu backend: cannot allocate %d layers",
                            m->n_layers);
    return DB_OK;
}

db_status db_cpu_weights_synth(db_cpu_weights *w, const db_model_config *m, db_precision p,
                               uint64_t seed, db_error *err) {
    db_status st = alloc_layers(w, m, p, err);
    if (st == DB_OK)
        st = synth_matrix(&w->token_embedding, m->vocab_size, m->dim, p, seed,
                          DB_TENSOR_TOKEN_EMBEDDING, err);
    for (int l = 0; st == DB_OK && l < m->n_layers; l++)
        st = synth_layer(&w->layers[l], m, l, p, seed, err);
    if (st == DB_OK) st = synth_gain(&w->rms_final, m->dim, seed, DB_TENSOR_RMS_FINAL, err);
    if (st == DB_OK && !m->shared_classifier)
        st =
            synth_matrix(&w->classifier, m->vocab_size, m->dim, p, seed, DB_TENSOR_CLASSIFIER, err);
    if (st != DB_OK) db_cpu_weights_free(w);
    return st;
}

/* ---- llama2.c checkpoint ------------------------------------------------------------------------
 */

static db_status copy_gain(float **out, const float *src, int dim, db_error *err) {
    db_status st = alloc_floats(out, (size_t)dim, "an RMSNorm gain", err);
    if (st != DB_OK) return st;
    for (int i = 0; i < dim; i++)
        if (!isfinite(src[i]))
            return db_error_set(err, DB_ERR_INVALID,
                                "checkpoint: RMSNorm gain element %d is not finite", i);
    memcpy(*out, src, (size_t)dim * sizeof(float));
    return DB_OK;
}

static db_status load_layer(db_cpu_layer *L, const db_checkpoint *ck, int l, db_precision p,
                            db_error *err) {
    const db_model_config *m = &ck->config;
    size_t d = (size_t)m->dim, h = (size_t)m->hidden_dim, kv = (size_t)db_model_kv_dim(m);
    size_t li = (size_t)l;
    db_status st;
    if ((st = copy_gain(&L->rms_att, ck->rms_att + li * d, (int)d, err)) ||
        (st = db_linear_init_f32(&L->wq, (int)d, (int)d, p, ck->wq + li * d * d, err)) ||
        (st = db_linear_init_f32(&L->wk, (int)kv, (int)d, p, ck->wk + li * kv * d, err)) ||
        (st = db_linear_init_f32(&L->wv, (int)kv, (int)d, p, ck->wv + li * kv * d, err)) ||
        (st = db_linear_init_f32(&L->wo, (int)d, (int)d, p, ck->wo + li * d * d, err)) ||
        (st = copy_gain(&L->rms_ffn, ck->rms_ffn + li * d, (int)d, err)) ||
        (st = db_linear_init_f32(&L->w1, (int)h, (int)d, p, ck->w1 + li * h * d, err)) ||
        (st = db_linear_init_f32(&L->w2, (int)d, (int)h, p, ck->w2 + li * d * h, err)) ||
        (st = db_linear_init_f32(&L->w3, (int)h, (int)d, p, ck->w3 + li * h * d, err)))
        return st;
    return DB_OK;
}

db_status db_cpu_weights_load(db_cpu_weights *w, const db_model_config *m, db_precision p,
                              const char *checkpoint_path, db_error *err) {
    memset(w, 0, sizeof *w);
    db_checkpoint ck;
    db_status st = db_checkpoint_open(checkpoint_path, &ck, err);
    if (st != DB_OK) return st;
    st = db_checkpoint_check_shape(m, &ck.config, checkpoint_path, err);
    if (st == DB_OK) st = alloc_layers(w, m, p, err);
    if (st == DB_OK)
        st = db_linear_init_f32(&w->token_embedding, m->vocab_size, m->dim, p, ck.token_embedding,
                                err);
    for (int l = 0; st == DB_OK && l < m->n_layers; l++)
        st = load_layer(&w->layers[l], &ck, l, p, err);
    if (st == DB_OK) st = copy_gain(&w->rms_final, ck.rms_final, m->dim, err);
    if (st == DB_OK && !m->shared_classifier)
        st = db_linear_init_f32(&w->classifier, m->vocab_size, m->dim, p, ck.wcls, err);
    db_checkpoint_close(&ck);
    if (st != DB_OK) {
        db_status code = st;
        db_cpu_weights_free(w);
        if (err && !strstr(err->msg, checkpoint_path)) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            db_error_set(err, code, "%s: %s", checkpoint_path, msg);
        }
        return code;
    }
    return DB_OK;
}

void db_cpu_weights_free(db_cpu_weights *w) {
    db_linear_free(&w->token_embedding);
    for (int l = 0; w->layers && l < w->config.n_layers; l++) {
        db_cpu_layer *L = &w->layers[l];
        free(L->rms_att);
        free(L->rms_ffn);
        db_linear *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w1, &L->w2, &L->w3};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            db_linear_free(mats[i]);
    }
    free(w->layers);
    free(w->rms_final);
    db_linear_free(&w->classifier);
    memset(w, 0, sizeof *w);
}

size_t db_cpu_weights_bytes(const db_cpu_weights *w) {
    size_t d = (size_t)w->config.dim;
    size_t total =
        db_linear_bytes(&w->token_embedding) + db_linear_bytes(&w->classifier) + d * sizeof(float);
    for (int l = 0; w->layers && l < w->config.n_layers; l++) {
        const db_cpu_layer *L = &w->layers[l];
        total += 2 * d * sizeof(float) + db_linear_bytes(&L->wq) + db_linear_bytes(&L->wk) +
                 db_linear_bytes(&L->wv) + db_linear_bytes(&L->wo) + db_linear_bytes(&L->w1) +
                 db_linear_bytes(&L->w2) + db_linear_bytes(&L->w3);
    }
    return total;
}
