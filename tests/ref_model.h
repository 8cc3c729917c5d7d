/* ref_model.h — a naive float64 Llama forward pass for tests, one token at a time, as llama2.c's
 * run.c.
 *
 * What it is for: the independent reference the CPU backend's fp32 logits are checked against. It
 * reads the synthetic weights straight from kernels/synth.h following the contract written in
 * engine/cpu_weights.h (tensor ids 0 embedding, 1 final gain, 2 classifier, 16 + 16*layer + kind;
 * matrices sqrt(3/K) * u, wq and wk 2 sqrt(3/K) * u, embedding sqrt(3/dim) * u, gains 1 + 0.125 *
 * u, all formed in fp32), then does every operation in double with plain loops and a contiguous KV
 * cache. What it must not do: share code with the backend (no engine/cpu*.c, no linear.h), or be
 * fast.
 */
#ifndef DB_TESTS_REF_MODEL_H
#define DB_TESTS_REF_MODEL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "synth.h"

typedef struct ref_model {
    db_model_config c;
    int head_size, kv_dim;
    double *emb;       /* (V, d) */
    double *rms_att;   /* (L, d) */
    double *wq;        /* (L, d, d) */
    double *wk;        /* (L, kv, d) */
    double *wv;        /* (L, kv, d) */
    double *wo;        /* (L, d, d) */
    double *rms_ffn;   /* (L, d) */
    double *w1;        /* (L, h, d) */
    double *w2;        /* (L, d, h) */
    double *w3;        /* (L, h, d) */
    double *rms_final; /* (d) */
    double *wcls;      /* (V, d); NULL when shared (use emb) */
    double *key_cache; /* (L, max_seq_len, kv) */
    double *val_cache; /* (L, max_seq_len, kv) */
    double *x, *xb, *xb2, *q, *k, *v, *hb, *hb2, *att, *logits;
} ref_model;

static inline double *ref_alloc(size_t n) {
    double *p = calloc(n, sizeof(double));
    if (!p) abort();
    return p;
}

/* out[i] = (double)(scale * u(tensor, i)) for i < n, the product formed in fp32. */
static inline void ref_fill(double *out, size_t n, uint64_t seed, uint32_t tensor, float scale,
                            float offset) {
    for (size_t i = 0; i < n; i++)
        out[i] = (double)(offset + scale * db_synth_uniform(seed, tensor, i));
}

static inline void ref_fill_matrix(double *out, int N, int K, uint64_t seed, uint32_t tensor,
                                   float gain) {
    ref_fill(out, (size_t)N * (size_t)K, seed, tensor, gain * sqrtf(3.0f / (float)K), 0.0f);
}

static inline void ref_model_synth(ref_model *r, const db_model_config *c, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->c = *c;
    int d = c->dim, h = c->hidden_dim, L = c->n_layers, V = c->vocab_size;
    r->head_size = d / c->n_heads;
    r->kv_dim = c->n_kv_heads * r->head_size;
    int kv = r->kv_dim;
    size_t ld = (size_t)L * d;
    r->emb = ref_alloc((size_t)V * d);
    ref_fill_matrix(r->emb, V, d, seed, 0, 1.0f);
    r->rms_att = ref_alloc(ld), r->rms_ffn = ref_alloc(ld);
    r->wq = ref_alloc(ld * d), r->wk = ref_alloc(ld * kv), r->wv = ref_alloc(ld * kv);
    r->wo = ref_alloc(ld * d), r->w1 = ref_alloc(ld * h), r->w2 = ref_alloc(ld * h),
    r->w3 = ref_alloc(ld * h);
    for (int l = 0; l < L; l++) {
        uint32_t base = 16u + 16u * (uint32_t)l;
        ref_fill(r->rms_att + (size_t)l * d, (size_t)d, seed, base + 0, 0.125f, 1.0f);
        ref_fill_matrix(r->wq + (size_t)l * d * d, d, d, seed, base + 1, 2.0f);
        ref_fill_matrix(r->wk + (size_t)l * kv * d, kv, d, seed, base + 2, 2.0f);
        ref_fill_matrix(r->wv + (size_t)l * kv * d, kv, d, seed, base + 3, 1.0f);
        ref_fill_matrix(r->wo + (size_t)l * d * d, d, d, seed, base + 4, 1.0f);
        ref_fill(r->rms_ffn + (size_t)l * d, (size_t)d, seed, base + 5, 0.125f, 1.0f);
        ref_fill_matrix(r->w1 + (size_t)l * h * d, h, d, seed, base + 6, 1.0f);
        ref_fill_matrix(r->w2 + (size_t)l * d * h, d, h, seed, base + 7, 1.0f);
        ref_fill_matrix(r->w3 + (size_t)l * h * d, h, d, seed, base + 8, 1.0f);
    }
    r->rms_final = ref_alloc((size_t)d);
    ref_fill(r->rms_final, (size_t)d, seed, 1, 0.125f, 1.0f);
    if (!c->shared_classifier) {
        r->wcls = ref_alloc((size_t)V * d);
        ref_fill_matrix(r->wcls, V, d, seed, 2, 1.0f);
    }
    size_t cache = (size_t)L * (size_t)c->max_seq_len * kv;
    r->key_cache = ref_alloc(cache), r->val_cache = ref_alloc(cache);
    r->x = ref_alloc((size_t)d), r->xb = ref_alloc((size_t)d), r->xb2 = ref_alloc((size_t)d);
    r->q = ref_alloc((size_t)d), r->k = ref_alloc((size_t)kv), r->v = ref_alloc((size_t)kv);
    r->hb = ref_alloc((size_t)h), r->hb2 = ref_alloc((size_t)h);
    r->att = ref_alloc((size_t)c->max_seq_len), r->logits = ref_alloc((size_t)V);
}

static inline void ref_model_free(ref_model *r) {
    double *all[] = {r->emb,       r->rms_att,   r->wq, r->wk,  r->wv,        r->wo,
                     r->rms_ffn,   r->w1,        r->w2, r->w3,  r->rms_final, r->wcls,
                     r->key_cache, r->val_cache, r->x,  r->xb,  r->xb2,       r->q,
                     r->k,         r->v,         r->hb, r->hb2, r->att,       r->logits};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    memset(r, 0, sizeof *r);
}

static inline void ref_rmsnorm(double *o, const double *x, const double *g, int n, double eps) {
    double ss = 0.0;
    for (int j = 0; j < n; j++)
        ss += x[j] * x[j];
    double inv = 1.0 / sqrt(ss / n + eps);
    for (int j = 0; j < n; j++)
        o[j] = g[j] * (inv * x[j]);
}

/* out (N) = W (N, K) x (K). */
static inline void ref_matmul(double *out, const double *x, const double *W, int N, int K) {
    for (int i = 0; i < N; i++) {
        double s = 0.0;
        for (int j = 0; j < K; j++)
            s += W[(size_t)i * K + j] * x[j];
        out[i] = s;
    }
}

/* Rotates adjacent pairs (i, i+1) of each head of vec (n) by pos * theta^(-(i % hs) / hs). */
static inline void ref_rope(double *vec, int n, int hs, int pos, double theta) {
    for (int i = 0; i < n; i += 2) {
        double ang = pos * pow(theta, -(double)(i % hs) / hs);
        double c = cos(ang), s = sin(ang), v0 = vec[i], v1 = vec[i + 1];
        vec[i] = v0 * c - v1 * s;
        vec[i + 1] = v0 * s + v1 * c;
    }
}

/* Attention of the query heads of one token at `pos` over positions 0..pos of layer l into xb. */
static inline void ref_attention(ref_model *r, int l, int pos) {
    const db_model_config *c = &r->c;
    int hs = r->head_size, kv = r->kv_dim, group = c->n_heads / c->n_kv_heads;
    size_t loff = (size_t)l * c->max_seq_len * kv;
    for (int h = 0; h < c->n_heads; h++) {
        const double *q = r->q + (size_t)h * hs;
        int g = h / group;
        double mx = -INFINITY, sum = 0.0;
        for (int t = 0; t <= pos; t++) {
            const double *k = r->key_cache + loff + (size_t)t * kv + (size_t)g * hs;
            double s = 0.0;
            for (int i = 0; i < hs; i++)
                s += q[i] * k[i];
            r->att[t] = s / sqrt((double)hs);
            mx = fmax(mx, r->att[t]);
        }
        for (int t = 0; t <= pos; t++)
            sum += (r->att[t] = exp(r->att[t] - mx));
        double *o = r->xb + (size_t)h * hs;
        for (int i = 0; i < hs; i++)
            o[i] = 0.0;
        for (int t = 0; t <= pos; t++) {
            const double *v = r->val_cache + loff + (size_t)t * kv + (size_t)g * hs;
            for (int i = 0; i < hs; i++)
                o[i] += r->att[t] / sum * v[i];
        }
    }
}

/* The logits (V) after feeding `token` at position `pos` (positions must be fed in order from 0).
 */
static inline const double *ref_model_forward(ref_model *r, int token, int pos) {
    const db_model_config *c = &r->c;
    int d = c->dim, h = c->hidden_dim, kv = r->kv_dim, hs = r->head_size;
    memcpy(r->x, r->emb + (size_t)token * d, (size_t)d * sizeof(double));
    for (int l = 0; l < c->n_layers; l++) {
        size_t ld = (size_t)l * d;
        ref_rmsnorm(r->xb, r->x, r->rms_att + ld, d, c->norm_eps);
        ref_matmul(r->q, r->xb, r->wq + ld * d, d, d);
        ref_matmul(r->k, r->xb, r->wk + ld * kv, kv, d);
        ref_matmul(r->v, r->xb, r->wv + ld * kv, kv, d);
        ref_rope(r->q, d, hs, pos, c->rope_theta);
        ref_rope(r->k, kv, hs, pos, c->rope_theta);
        size_t off = ((size_t)l * c->max_seq_len + pos) * kv;
        memcpy(r->key_cache + off, r->k, (size_t)kv * sizeof(double));
        memcpy(r->val_cache + off, r->v, (size_t)kv * sizeof(double));
        ref_attention(r, l, pos);
        ref_matmul(r->xb2, r->xb, r->wo + ld * d, d, d);
        for (int i = 0; i < d; i++)
            r->x[i] += r->xb2[i];
        ref_rmsnorm(r->xb, r->x, r->rms_ffn + ld, d, c->norm_eps);
        ref_matmul(r->hb, r->xb, r->w1 + ld * h, h, d);
        ref_matmul(r->hb2, r->xb, r->w3 + ld * h, h, d);
        for (int i = 0; i < h; i++)
            r->hb[i] = r->hb[i] / (1.0 + exp(-r->hb[i])) * r->hb2[i];
        ref_matmul(r->xb, r->hb, r->w2 + ld * h, d, h);
        for (int i = 0; i < d; i++)
            r->x[i] += r->xb[i];
    }
    ref_rmsnorm(r->xb, r->x, r->rms_final, d, c->norm_eps);
    ref_matmul(r->logits, r->xb, r->wcls ? r->wcls : r->emb, c->vocab_size, d);
    return r->logits;
}

#endif
