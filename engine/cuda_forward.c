/* cuda_forward.c — the kernels of one step of the CUDA backend (db_cuda_forward) and the activation
 * buffers they use (db_cuda_acts_reserve). Per layer, as engine/cpu.c computes it:
 *   xin = rmsnorm(x += round(proj of the previous layer's w2), rms_att)   (fused; none at layer 0)
 *   qkv = xin Wqkv^T; round + RoPE in place; K, V into the cache
 *   att = attention over the cache (decode rows: split-KV kernel; prefill chunks: tiled kernel)
 *   proj = act(att) Wo^T;  xin = rmsnorm(x += round(proj), rms_ffn)
 *   h13 = xin W13^T;  xin = act(silu(round(gate)) * round(up));  proj = xin W2^T
 * then x += round(proj), the final RMSNorm, the LM-head rows gathered, logits, argmax. */
#include <stdlib.h>
#include <string.h>

#include "argmax.cuh"
#include "attention.cuh"
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_cupti.h"
#include "embedding.cuh"
#include "kv_cache.cuh"
#include "quant.cuh"
#include "rmsnorm.cuh"
#include "rope.cuh"
#include "swiglu.cuh"

static int ld16(int n) {
    return (n + DB_CUDA_ROW_ALIGN - 1) / DB_CUDA_ROW_ALIGN * DB_CUDA_ROW_ALIGN;
}

static size_t act_bytes(db_num_type t) {
    return t == DB_NUM_E4M3 ? 1 : (t == DB_NUM_F16 || t == DB_NUM_BF16) ? 2 : 4;
}

/* ---- activation buffers
 * ------------------------------------------------------------------------------ */

static void free_token_buffers(db_cuda_acts *a) {
    void *bufs[] = {a->x, a->qkv, a->att, a->proj, a->h13, a->xin, a->xin_scale};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        cudaFree(bufs[i]);
    a->x = a->qkv = a->att = a->proj = a->h13 = a->xin_scale = NULL;
    a->xin = NULL;
    a->cap_tokens = 0;
}

static void free_lm_buffers(db_cuda_acts *a) {
    cudaFree(a->lmin);
    cudaFree(a->lmin_scale);
    cudaFree(a->logits);
    cudaFree(a->next);
    cudaFreeHost(a->h_next);
    a->lmin = NULL;
    a->lmin_scale = a->logits = NULL;
    a->next = a->h_next = NULL;
    a->cap_lm = 0;
}

void db_cuda_acts_free(db_cuda_acts *a) {
    free_token_buffers(a);
    free_lm_buffers(a);
    cudaFree(a->partial);
    cudaFree(a->meta);
    cudaFreeHost(a->h_meta);
    cudaFreeHost(a->h_logits);
    memset(a, 0, sizeof *a);
}

static db_status dmalloc(void **p, size_t bytes, db_error *err) {
    return DB_CUDA_CHECK(err, cudaMalloc(p, bytes ? bytes : 16));
}

static db_status grow_tokens(db_cuda_backend *b, int T, db_error *err) {
    db_cuda_acts *a = &b->a;
    const db_model_config *m = &b->config;
    size_t t = (size_t)T, d = (size_t)m->dim, kv = (size_t)db_model_kv_dim(m),
           h = (size_t)m->hidden_dim;
    size_t rows16 = (size_t)ld16(T),
           kmax = (size_t)ld16(m->dim > m->hidden_dim ? m->dim : m->hidden_dim);
    free_token_buffers(a);
    b->generation++;
    db_status st;
    if ((st = dmalloc((void **)&a->x, t * d * 4, err)) ||
        (st = dmalloc((void **)&a->qkv, t * (d + 2 * kv) * 4, err)) ||
        (st = dmalloc((void **)&a->att, t * d * 4, err)) ||
        (st = dmalloc((void **)&a->proj, t * d * 4, err)) ||
        (st = dmalloc((void **)&a->h13, t * 2 * h * 4, err)) ||
        (st = dmalloc(&a->xin, rows16 * kmax * act_bytes(b->act_in), err)) ||
        (st = dmalloc((void **)&a->xin_scale, rows16 * 4, err)) ||
        (st = DB_CUDA_CHECK(
             err, cudaMemsetAsync(a->xin, 0, rows16 * kmax * act_bytes(b->act_in), b->stream)))) {
        free_token_buffers(a);
        return st;
    }
    a->cap_tokens = T;
    return DB_OK;
}

static db_status grow_lm(db_cuda_backend *b, int L, db_error *err) {
    db_cuda_acts *a = &b->a;
    size_t l = (size_t)L, rows16 = (size_t)ld16(L), d16 = (size_t)ld16(b->config.dim);
    free_lm_buffers(a);
    b->generation++;
    db_status st;
    if ((st = dmalloc(&a->lmin, rows16 * d16 * act_bytes(b->act_in), err)) ||
        (st = dmalloc((void **)&a->lmin_scale, rows16 * 4, err)) ||
        (st = dmalloc((void **)&a->logits, l * (size_t)b->config.vocab_size * 4, err)) ||
        (st = dmalloc((void **)&a->next, l * 4, err)) ||
        (st = DB_CUDA_CHECK(err, cudaMallocHost((void **)&a->h_next, l * 4))) ||
        (st = DB_CUDA_CHECK(
             err, cudaMemsetAsync(a->lmin, 0, rows16 * d16 * act_bytes(b->act_in), b->stream)))) {
        free_lm_buffers(a);
        return st;
    }
    a->cap_lm = L;
    return DB_OK;
}

db_status db_cuda_acts_reserve(db_cuda_backend *b, int T, int L, db_error *err) {
    db_cuda_acts *a = &b->a;
    db_status st = DB_OK;
    if (T > a->cap_tokens)
        st = grow_tokens(b, T > a->cap_tokens * 3 / 2 ? T : a->cap_tokens * 3 / 2, err);
    if (st == DB_OK && L > a->cap_lm)
        st = grow_lm(b, L > a->cap_lm * 3 / 2 ? L : a->cap_lm * 3 / 2, err);
    if (st != DB_OK) return st;
    const db_cuda_layer *l0 = &b->w.layers[0];
    const db_cuda_matrix *mats[] = {&l0->wqkv, &l0->wo, &l0->w13, &l0->w2};
    for (size_t i = 0; st == DB_OK && i < sizeof mats / sizeof mats[0]; i++)
        st = db_cuda_gemm_reserve(&b->gemm, mats[i], a->cap_tokens, err);
    if (st == DB_OK)
        st = db_cuda_gemm_reserve(&b->gemm, db_cuda_weights_lm_head(&b->w), a->cap_lm, err);
    return st;
}

/* ---- the forward pass
 * ----------------------------------------------------------------------------- */

static db_cuda_act xin(const db_cuda_backend *b, int K) {
    db_cuda_act x = {b->a.xin, b->a.xin_scale, ld16(K), b->act_in};
    return x;
}

static db_status gemm(db_cuda_backend *b, const db_cuda_matrix *W, int K, int T, float *y,
                      db_error *err) {
    return db_cuda_gemm_run(&b->gemm, W, xin(b, K), T, y, err);
}

/* The kernel trace's op for an NVTX range (engine/cuda_cupti.h); a layer is not an op. */
static int cupti_op(db_nvtx_range r) {
    switch (r) {
    case DB_NVTX_EMBED:
        return DB_KERNEL_OP_EMBEDDING;
    case DB_NVTX_QKV:
        return DB_OP_QKV;
    case DB_NVTX_ATTN:
        return DB_OP_ATTN;
    case DB_NVTX_OUT:
        return DB_OP_OUT;
    case DB_NVTX_MLP:
        return DB_OP_MLP;
    case DB_NVTX_NORM:
        return DB_OP_NORM;
    case DB_NVTX_LMHEAD:
        return DB_OP_LMHEAD;
    default:
        return DB_KERNEL_OP_NONE;
    }
}

/* NVTX ranges only when the step runs eagerly; the kernel trace's tags always (also while a graph
 * is captured, so that its nodes carry their op). */
static void push(const db_cuda_backend *b, const db_cuda_plan *p, db_nvtx_range r,
                 int64_t payload) {
    if (p->nvtx_ops) db_nvtx_push(&b->nvtx, r, payload);
    db_cupti_range_begin(cupti_op(r));
}
static void pop(const db_cuda_backend *b, const db_cuda_plan *p) {
    if (p->nvtx_ops) db_nvtx_pop(&b->nvtx);
    db_cupti_range_end();
}

static db_status attention(db_cuda_backend *b, const db_cuda_plan *p, int l, db_error *err) {
    const db_model_config *m = &b->config;
    int q = m->dim, kv = db_model_kv_dim(m);
    db_cuda_attn at = {b->a.qkv,   q + 2 * kv, b->a.att, q,         b->kv[l],
                       p->tok_pos, p->tok_bt,  p->bt,    m->n_heads};
    DB_CUDA_TRY(err, db_cuda_attention_decode(&at, p->dec_rows, p->n_dec, p->n_splits, b->a.partial,
                                              b->stream));
    DB_CUDA_TRY(err, db_cuda_attention_prefill(&at, p->tiles, p->n_tiles, b->stream));
    return DB_OK;
}

/* Norm, QKV, RoPE, KV write, attention, out-projection of layer l. */
static db_status attention_block(db_cuda_backend *b, const db_cuda_plan *p, int l, db_error *err) {
    const db_model_config *m = &b->config;
    const db_cuda_layer *L = &b->w.layers[l];
    db_cuda_acts *a = &b->a;
    int d = m->dim, q = m->dim, kv = db_model_kv_dim(m), T = p->T, ldq = q + 2 * kv;
    cudaStream_t s = b->stream;
    db_status st;
    push(b, p, DB_NVTX_NORM, l);
    st = DB_CUDA_CHECK(err, db_cuda_rmsnorm(a->x, l ? a->proj : NULL, b->act_round, L->rms_att, T,
                                            d, m->norm_eps, xin(b, d), s));
    pop(b, p);
    if (st != DB_OK) return st;
    push(b, p, DB_NVTX_QKV, l);
    st = gemm(b, &L->wqkv, d, T, a->qkv, err);
    if (st == DB_OK)
        st = DB_CUDA_CHECK(err, db_cuda_rope(a->qkv, ldq, p->tok_pos, T, q, kv,
                                             db_model_head_size(m), b->rope_freq, b->act_round, s));
    if (st == DB_OK)
        st = DB_CUDA_CHECK(
            err, db_cuda_kv_write(b->kv[l], a->qkv + q, a->qkv + q + kv, ldq, p->tok_slot, T, s));
    pop(b, p);
    if (st != DB_OK) return st;
    push(b, p, DB_NVTX_ATTN, l);
    st = attention(b, p, l, err);
    pop(b, p);
    if (st != DB_OK) return st;
    push(b, p, DB_NVTX_OUT, l);
    st = DB_CUDA_CHECK(err, db_cuda_act_prepare(a->att, q, T, q, xin(b, q), s));
    if (st == DB_OK) st = gemm(b, &L->wo, q, T, a->proj, err);
    pop(b, p);
    return st;
}

/* Norm and SwiGLU MLP of layer l (its residual add is fused into the next norm). */
static db_status mlp_block(db_cuda_backend *b, const db_cuda_plan *p, int l, db_error *err) {
    const db_model_config *m = &b->config;
    const db_cuda_layer *L = &b->w.layers[l];
    db_cuda_acts *a = &b->a;
    int d = m->dim, h = m->hidden_dim, T = p->T;
    db_status st;
    push(b, p, DB_NVTX_NORM, l);
    st = DB_CUDA_CHECK(err, db_cuda_rmsnorm(a->x, a->proj, b->act_round, L->rms_ffn, T, d,
                                            m->norm_eps, xin(b, d), b->stream));
    pop(b, p);
    if (st != DB_OK) return st;
    push(b, p, DB_NVTX_MLP, l);
    st = gemm(b, &L->w13, d, T, a->h13, err);
    if (st == DB_OK)
        st = DB_CUDA_CHECK(err, db_cuda_swiglu(a->h13, h, b->act_round, T, xin(b, h), b->stream));
    if (st == DB_OK) st = gemm(b, &L->w2, h, T, a->proj, err);
    pop(b, p);
    return st;
}

static db_status lm_head(db_cuda_backend *b, const db_cuda_plan *p, db_error *err) {
    const db_model_config *m = &b->config;
    db_cuda_acts *a = &b->a;
    int d = m->dim;
    cudaStream_t s = b->stream;
    db_cuda_act lmin = {a->lmin, a->lmin_scale, ld16(d), b->act_in};
    DB_CUDA_TRY(err, db_cuda_rmsnorm(a->x, a->proj, b->act_round, b->w.rms_final, p->T, d,
                                     m->norm_eps, xin(b, d), s));
    DB_CUDA_TRY(err, db_cuda_act_gather(xin(b, d), p->lm_rows, p->n_lm, lmin, s));
    db_status st =
        db_cuda_gemm_run(&b->gemm, db_cuda_weights_lm_head(&b->w), lmin, p->n_lm, a->logits, err);
    if (st != DB_OK) return st;
    return DB_CUDA_CHECK(err, db_cuda_argmax(a->logits, p->n_lm, m->vocab_size, a->next, s));
}

db_status db_cuda_forward(db_cuda_backend *b, const db_cuda_plan *p, db_error *err) {
    push(b, p, DB_NVTX_EMBED, -1);
    db_status st =
        DB_CUDA_CHECK(err, db_cuda_embedding(b->w.embedding, p->tok_id, p->T, b->a.x, b->stream));
    pop(b, p);
    for (int l = 0; st == DB_OK && l < b->config.n_layers; l++) {
        push(b, p, DB_NVTX_LAYER, l);
        st = attention_block(b, p, l, err);
        if (st == DB_OK) st = mlp_block(b, p, l, err);
        pop(b, p);
    }
    if (st != DB_OK) return st;
    push(b, p, DB_NVTX_LMHEAD, -1);
    st = lm_head(b, p, err);
    pop(b, p);
    return st;
}
