/* cuda_weights.c — device weights of the CUDA backend (contract in cuda_weights.h). */
#include "cuda_weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cpu_weights.h" /* tensor ids and scales of the synthetic model */
#include "cuda_check.h"
#include "synth.h"
#include "weights.cuh"

#define DB_CUDA_STAGING_FLOATS ((size_t)16 << 20) /* checkpoint upload chunks: 64 MiB */

static int round_up(int x, int a) {
    return (x + a - 1) / a * a;
}

db_cuda_wfmt db_cuda_precision_wfmt(db_precision p) {
    switch (p) {
    case DB_PREC_FP16:
        return DB_WFMT_F16;
    case DB_PREC_BF16:
        return DB_WFMT_BF16;
    case DB_PREC_FP8:
        return DB_WFMT_E4M3;
    case DB_PREC_INT8:
        return DB_WFMT_I8;
    case DB_PREC_INT4:
        return DB_WFMT_I4;
    default:
        return DB_WFMT_F32;
    }
}

db_num_type db_cuda_precision_act_in(db_precision p) {
    switch (p) {
    case DB_PREC_TF32:
        return DB_NUM_TF32;
    case DB_PREC_FP16:
        return DB_NUM_F16;
    case DB_PREC_FP8:
        return DB_NUM_E4M3;
    case DB_PREC_BF16:
    case DB_PREC_INT8:
    case DB_PREC_INT4:
        return DB_NUM_BF16;
    default:
        return DB_NUM_F32;
    }
}

static void matrix_shape(db_cuda_matrix *W, int N, int K, db_precision p) {
    memset(W, 0, sizeof *W);
    W->n_rows = N;
    W->n_cols = K;
    W->fmt = db_cuda_precision_wfmt(p);
    W->tf32 = p == DB_PREC_TF32;
    W->row_stride = round_up(K, W->fmt == DB_WFMT_I4 ? DB_Q4_GROUP : DB_CUDA_ROW_ALIGN);
    W->n_rows_alloc = W->fmt == DB_WFMT_E4M3 ? round_up(N, DB_CUDA_ROW_ALIGN) : N;
}

static size_t data_bytes(const db_cuda_matrix *W) {
    size_t cells = (size_t)W->n_rows_alloc * (size_t)W->row_stride;
    switch (W->fmt) {
    case DB_WFMT_F16:
    case DB_WFMT_BF16:
        return cells * 2;
    case DB_WFMT_E4M3:
    case DB_WFMT_I8:
        return cells;
    case DB_WFMT_I4:
        return cells / 2;
    default:
        return cells * 4;
    }
}

static size_t scale_bytes(const db_cuda_matrix *W) {
    if (W->fmt == DB_WFMT_E4M3 || W->fmt == DB_WFMT_I8)
        return (size_t)W->n_rows_alloc * sizeof(float);
    if (W->fmt == DB_WFMT_I4)
        return (size_t)W->n_rows * (size_t)(W->row_stride / DB_Q4_GROUP) * sizeof(uint16_t);
    return 0;
}

size_t db_cuda_matrix_bytes(int N, int K, db_precision p) {
    db_cuda_matrix W;
    matrix_shape(&W, N, K, p);
    return data_bytes(&W) + scale_bytes(&W);
}

void db_cuda_matrix_free(db_cuda_matrix *W) {
    cudaFree(W->data);
    cudaFree(W->row_scale);
    cudaFree(W->group_scale);
    memset(W, 0, sizeof *W);
}

db_status db_cuda_matrix_alloc(db_cuda_matrix *W, int N, int K, db_precision p, db_error *err) {
    matrix_shape(W, N, K, p);
    size_t db = data_bytes(W), sb = scale_bytes(W);
    void *scales = NULL;
    db_status st = DB_CUDA_CHECK(err, cudaMalloc(&W->data, db));
    if (st == DB_OK && sb) st = DB_CUDA_CHECK(err, cudaMalloc(&scales, sb));
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaMemset(W->data, 0, db));
    if (st == DB_OK && sb) st = DB_CUDA_CHECK(err, cudaMemset(scales, 0, sb));
    /* cudaMemset runs on the legacy stream, which the backend's non-blocking stream does not wait
     * for: let the zeros land before any fill kernel can run. */
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaDeviceSynchronize());
    if (W->fmt == DB_WFMT_I4)
        W->group_scale = scales;
    else
        W->row_scale = scales;
    if (st != DB_OK) {
        db_cuda_matrix_free(W);
        if (err) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            db_error_set(err, st,
                         "cuda backend: cannot allocate a %d x %d %s matrix (%zu bytes): %s", N, K,
                         db_precision_name(p), db + sb, msg);
        }
    }
    return st;
}

db_status db_cuda_matrix_synth(db_cuda_matrix *W, int row0, int rows, uint64_t seed,
                               uint32_t tensor_id, float scale, cudaStream_t s, db_error *err) {
    db_cuda_fill_src src = {NULL, db_synth_key(seed, tensor_id), scale, 0};
    return DB_CUDA_CHECK(err, db_cuda_matrix_fill(*W, row0, rows, src, NULL, s));
}

size_t db_cuda_weights_bytes_estimate(const db_model_config *m, db_precision p) {
    int d = m->dim, h = m->hidden_dim, q = m->n_heads * db_model_head_size(m),
        kv = db_model_kv_dim(m);
    size_t layer = db_cuda_matrix_bytes(q + 2 * kv, d, p) + db_cuda_matrix_bytes(d, q, p) +
                   db_cuda_matrix_bytes(2 * h, d, p) + db_cuda_matrix_bytes(d, h, p) +
                   2 * (size_t)d * sizeof(float);
    size_t total = (size_t)m->n_layers * layer + db_cuda_matrix_bytes(m->vocab_size, d, p) +
                   (size_t)d * sizeof(float);
    if (!m->shared_classifier) total += db_cuda_matrix_bytes(m->vocab_size, d, p);
    return total;
}

void db_cuda_weights_free(db_cuda_weights *w) {
    db_cuda_matrix_free(&w->embedding);
    db_cuda_matrix_free(&w->classifier);
    cudaFree(w->rms_final);
    for (int l = 0; w->layers && l < w->config.n_layers; l++) {
        db_cuda_layer *L = &w->layers[l];
        cudaFree(L->rms_att);
        cudaFree(L->rms_ffn);
        db_cuda_matrix_free(&L->wqkv);
        db_cuda_matrix_free(&L->wo);
        db_cuda_matrix_free(&L->w13);
        db_cuda_matrix_free(&L->w2);
    }
    free(w->layers);
    memset(w, 0, sizeof *w);
}

static db_status alloc_gain(float **g, int d, db_error *err) {
    return DB_CUDA_CHECK(err, cudaMalloc((void **)g, (size_t)d * sizeof(float)));
}

/* Every buffer of the model, allocated and zeroed; values come after. */
static db_status alloc_all(db_cuda_weights *w, const db_model_config *m, db_precision p,
                           db_error *err) {
    memset(w, 0, sizeof *w);
    w->config = *m;
    w->precision = p;
    int d = m->dim, h = m->hidden_dim, q = m->n_heads * db_model_head_size(m),
        kv = db_model_kv_dim(m);
    w->layers = calloc((size_t)m->n_layers, sizeof *w->layers);
    if (!w->layers)
        return db_error_set(err, DB_ERR_NOMEM, "cuda backend: out of host memory for %d layers",
                            m->n_layers);
    db_status st = db_cuda_matrix_alloc(&w->embedding, m->vocab_size, d, p, err);
    if (st == DB_OK) st = alloc_gain(&w->rms_final, d, err);
    if (st == DB_OK && !m->shared_classifier)
        st = db_cuda_matrix_alloc(&w->classifier, m->vocab_size, d, p, err);
    for (int l = 0; st == DB_OK && l < m->n_layers; l++) {
        db_cuda_layer *L = &w->layers[l];
        if ((st = alloc_gain(&L->rms_att, d, err)) || (st = alloc_gain(&L->rms_ffn, d, err)) ||
            (st = db_cuda_matrix_alloc(&L->wqkv, q + 2 * kv, d, p, err)) ||
            (st = db_cuda_matrix_alloc(&L->wo, d, q, p, err)) ||
            (st = db_cuda_matrix_alloc(&L->w13, 2 * h, d, p, err)) ||
            (st = db_cuda_matrix_alloc(&L->w2, d, h, p, err)))
            break;
    }
    w->bytes = db_cuda_weights_bytes_estimate(m, p);
    return st;
}

/* ---- synthetic
 * ------------------------------------------------------------------------------------ */

static db_status synth_gain(float *g, int d, uint64_t seed, uint32_t id, cudaStream_t s,
                            db_error *err) {
    return DB_CUDA_CHECK(err,
                         db_cuda_gain_fill(g, d, db_synth_key(seed, id), DB_SYNTH_GAIN_SPREAD, s));
}

static db_status synth_layer(db_cuda_layer *L, const db_model_config *m, int l, uint64_t seed,
                             cudaStream_t s, db_error *err) {
    int d = m->dim, h = m->hidden_dim, q = m->n_heads * db_model_head_size(m),
        kv = db_model_kv_dim(m);
    float sd = db_synth_matrix_scale(d), sq = db_synth_matrix_scale(q),
          sh = db_synth_matrix_scale(h);
    float sqk = DB_SYNTH_QK_GAIN * sd; /* wq and wk: engine/cpu_weights.c's synth_qk */
    db_status st;
    if ((st = synth_gain(L->rms_att, d, seed, db_synth_layer_tensor(l, DB_LT_RMS_ATT), s, err)) ||
        (st = synth_gain(L->rms_ffn, d, seed, db_synth_layer_tensor(l, DB_LT_RMS_FFN), s, err)) ||
        (st = db_cuda_matrix_synth(&L->wqkv, 0, q, seed, db_synth_layer_tensor(l, DB_LT_WQ), sqk, s,
                                   err)) ||
        (st = db_cuda_matrix_synth(&L->wqkv, q, kv, seed, db_synth_layer_tensor(l, DB_LT_WK), sqk,
                                   s, err)) ||
        (st = db_cuda_matrix_synth(&L->wqkv, q + kv, kv, seed, db_synth_layer_tensor(l, DB_LT_WV),
                                   sd, s, err)) ||
        (st = db_cuda_matrix_synth(&L->wo, 0, d, seed, db_synth_layer_tensor(l, DB_LT_WO), sq, s,
                                   err)) ||
        (st = db_cuda_matrix_synth(&L->w13, 0, h, seed, db_synth_layer_tensor(l, DB_LT_W1), sd, s,
                                   err)) ||
        (st = db_cuda_matrix_synth(&L->w13, h, h, seed, db_synth_layer_tensor(l, DB_LT_W3), sd, s,
                                   err)) ||
        (st = db_cuda_matrix_synth(&L->w2, 0, d, seed, db_synth_layer_tensor(l, DB_LT_W2), sh, s,
                                   err)))
        return st;
    return DB_OK;
}

db_status db_cuda_weights_synth(db_cuda_weights *w, const db_model_config *m, db_precision p,
                                uint64_t seed, cudaStream_t s, db_error *err) {
    db_status st = alloc_all(w, m, p, err);
    if (st == DB_OK)
        st = db_cuda_matrix_synth(&w->embedding, 0, m->vocab_size, seed, DB_TENSOR_TOKEN_EMBEDDING,
                                  db_synth_matrix_scale(m->dim), s, err);
    if (st == DB_OK) st = synth_gain(w->rms_final, m->dim, seed, DB_TENSOR_RMS_FINAL, s, err);
    if (st == DB_OK && !m->shared_classifier)
        st = db_cuda_matrix_synth(&w->classifier, 0, m->vocab_size, seed, DB_TENSOR_CLASSIFIER,
                                  db_synth_matrix_scale(m->dim), s, err);
    for (int l = 0; st == DB_OK && l < m->n_layers; l++)
        st = synth_layer(&w->layers[l], m, l, seed, s, err);
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaStreamSynchronize(s));
    if (st != DB_OK) db_cuda_weights_free(w);
    return st;
}

/* ---- llama2.c checkpoint
 * ---------------------------------------------------------------------------- */

typedef struct upload_ctx {
    const char *path;
    float *staging;          /* device, DB_CUDA_STAGING_FLOATS */
    unsigned long long *bad; /* device: first non-finite flat index of the current tensor */
    cudaStream_t s;
} upload_ctx;

/* rows x K fp32 values from the mapping into rows [row0, row0 + rows) of W, in staging-sized
 * chunks; then the tensor's first non-finite value, if any, becomes an error naming it. */
static db_status upload_matrix(upload_ctx *u, db_cuda_matrix *W, int row0, const float *src,
                               int rows, const char *what, int layer, db_error *err) {
    int K = W->n_cols;
    size_t chunk = DB_CUDA_STAGING_FLOATS / (size_t)K;
    unsigned long long none = ~0ull, bad = ~0ull;
    DB_CUDA_TRY(err, cudaMemcpyAsync(u->bad, &none, sizeof none, cudaMemcpyHostToDevice, u->s));
    for (size_t r = 0; r < (size_t)rows; r += chunk) {
        size_t n = (size_t)rows - r < chunk ? (size_t)rows - r : chunk;
        DB_CUDA_TRY(err,
                    cudaMemcpyAsync(u->staging, src + r * (size_t)K, n * (size_t)K * sizeof(float),
                                    cudaMemcpyHostToDevice, u->s));
        db_cuda_fill_src fs = {u->staging, 0, 0.0f, (int64_t)r};
        DB_CUDA_TRY(err, db_cuda_matrix_fill(*W, row0 + (int)r, (int)n, fs, u->bad, u->s));
    }
    DB_CUDA_TRY(err, cudaMemcpyAsync(&bad, u->bad, sizeof bad, cudaMemcpyDeviceToHost, u->s));
    DB_CUDA_TRY(err, cudaStreamSynchronize(u->s));
    if (bad == ~0ull) return DB_OK;
    char where[32] = "";
    if (layer >= 0) snprintf(where, sizeof where, " of layer %d", layer);
    return db_error_set(err, DB_ERR_INVALID,
                        "%s: %s%s: weight at row %llu, column %llu is %g (expected a finite value)",
                        u->path, what, where, bad / (unsigned long long)K,
                        bad % (unsigned long long)K, (double)src[bad]);
}

static db_status upload_gain(upload_ctx *u, float *dst, const float *src, int d, const char *what,
                             int layer, db_error *err) {
    for (int i = 0; i < d; i++)
        if (!isfinite(src[i]))
            return db_error_set(err, DB_ERR_INVALID, "%s: %s of layer %d: element %d is not finite",
                                u->path, what, layer, i);
    return DB_CUDA_CHECK(
        err, cudaMemcpyAsync(dst, src, (size_t)d * sizeof(float), cudaMemcpyHostToDevice, u->s));
}

static db_status load_layer(upload_ctx *u, db_cuda_layer *L, const db_checkpoint *ck, int l,
                            db_error *err) {
    const db_model_config *m = &ck->config;
    size_t d = (size_t)m->dim, h = (size_t)m->hidden_dim, kv = (size_t)db_model_kv_dim(m),
           li = (size_t)l;
    int q = (int)d;
    db_status st;
    if ((st = upload_gain(u, L->rms_att, ck->rms_att + li * d, (int)d, "rms_att", l, err)) ||
        (st = upload_gain(u, L->rms_ffn, ck->rms_ffn + li * d, (int)d, "rms_ffn", l, err)) ||
        (st = upload_matrix(u, &L->wqkv, 0, ck->wq + li * d * d, q, "wq", l, err)) ||
        (st = upload_matrix(u, &L->wqkv, q, ck->wk + li * kv * d, (int)kv, "wk", l, err)) ||
        (st = upload_matrix(u, &L->wqkv, q + (int)kv, ck->wv + li * kv * d, (int)kv, "wv", l,
                            err)) ||
        (st = upload_matrix(u, &L->wo, 0, ck->wo + li * d * d, (int)d, "wo", l, err)) ||
        (st = upload_matrix(u, &L->w13, 0, ck->w1 + li * h * d, (int)h, "w1", l, err)) ||
        (st = upload_matrix(u, &L->w13, (int)h, ck->w3 + li * h * d, (int)h, "w3", l, err)) ||
        (st = upload_matrix(u, &L->w2, 0, ck->w2 + li * d * h, (int)d, "w2", l, err)))
        return st;
    return DB_OK;
}

static db_status load_tensors(upload_ctx *u, db_cuda_weights *w, const db_checkpoint *ck,
                              db_error *err) {
    const db_model_config *m = &w->config;
    db_status st = upload_matrix(u, &w->embedding, 0, ck->token_embedding, m->vocab_size,
                                 "token_embedding", -1, err);
    for (int l = 0; st == DB_OK && l < m->n_layers; l++)
        st = load_layer(u, &w->layers[l], ck, l, err);
    if (st == DB_OK) st = upload_gain(u, w->rms_final, ck->rms_final, m->dim, "rms_final", 0, err);
    if (st == DB_OK && !m->shared_classifier)
        st = upload_matrix(u, &w->classifier, 0, ck->wcls, m->vocab_size, "wcls", -1, err);
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaStreamSynchronize(u->s));
    return st;
}

db_status db_cuda_weights_load(db_cuda_weights *w, const db_model_config *m, db_precision p,
                               const char *checkpoint_path, cudaStream_t s, db_error *err) {
    memset(w, 0, sizeof *w);
    db_checkpoint ck;
    db_status st = db_checkpoint_open(checkpoint_path, &ck, err);
    if (st != DB_OK) return st;
    upload_ctx u = {checkpoint_path, NULL, NULL, s};
    st = db_checkpoint_check_shape(m, &ck.config, checkpoint_path, err);
    if (st == DB_OK) st = alloc_all(w, m, p, err);
    if (st == DB_OK)
        st = DB_CUDA_CHECK(err,
                           cudaMalloc((void **)&u.staging, DB_CUDA_STAGING_FLOATS * sizeof(float)));
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaMalloc((void **)&u.bad, sizeof *u.bad));
    if (st == DB_OK) st = load_tensors(&u, w, &ck, err);
    cudaStreamSynchronize(s); /* the staging buffer may still be read when a step failed */
    cudaFree(u.staging);
    cudaFree(u.bad);
    db_checkpoint_close(&ck);
    if (st != DB_OK) db_cuda_weights_free(w);
    return st;
}
