/* cpu.c — the CPU reference backend: open/close, step validation and the batched Llama forward pass
 * (numerics in cpu.h). */
#include "cpu.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu_attention.h"
#include "cpu_ops.h"
#include "cpu_sample.h"
#include "linear.h"
#include "model.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "AMD EPYC, 2 threads" from /proc/cpuinfo's first "model name" (just "cpu" where there is none).
 */
static void describe_device(db_cpu_backend *b) {
    char model[128] = "cpu", line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(model, sizeof model, "%s", colon);
        break;
    }
    if (f) fclose(f);
    int n = db_threadpool_size(b->pool);
    snprintf(b->device, sizeof b->device, "%s, %d thread%s", model, n, n == 1 ? "" : "s");
}

static db_status check_opts(const db_engine_opts *o, int64_t total_blocks, db_error *err) {
    db_status st = db_model_validate(&o->model, err);
    if (st != DB_OK) return st;
    if ((unsigned)o->precision >= DB_PREC_COUNT)
        return db_error_set(err, DB_ERR_INVALID, "cpu backend: unknown precision %d",
                            (int)o->precision);
    if ((unsigned)o->kv_dtype >= DB_KV_COUNT)
        return db_error_set(err, DB_ERR_INVALID, "cpu backend: unknown KV dtype %d",
                            (int)o->kv_dtype);
    if (o->kv_block_size < 0 || total_blocks < 1)
        return db_error_set(
            err, DB_ERR_INVALID,
            "cpu backend: a KV cache needs at least one block of at least one token "
            "(got %lld blocks of %d tokens)",
            (long long)total_blocks, o->kv_block_size);
    if (!(o->temperature >= 0.0f) || o->top_k < 0)
        return db_error_set(err, DB_ERR_INVALID,
                            "cpu backend: temperature must be >= 0 and top_k >= 0 (got %g and %d)",
                            (double)o->temperature, o->top_k);
    return DB_OK;
}

db_status db_cpu_open(const db_engine_opts *o, int64_t total_blocks, db_cpu_backend **out,
                      db_error *err) {
    *out = NULL;
    db_status st = check_opts(o, total_blocks, err);
    if (st != DB_OK) return st;
    db_cpu_backend *b = calloc(1, sizeof *b);
    if (!b) return db_error_set(err, DB_ERR_NOMEM, "cpu backend: out of memory");
    b->opts = *o;
    b->opts.checkpoint_path = NULL;
    b->opts.sim_device = NULL;
    if (b->opts.kv_block_size == 0) b->opts.kv_block_size = 16;
    b->config = o->model;
    int hs = db_model_head_size(&b->config);
    b->rope_freq = malloc((size_t)(hs / 2) * sizeof(float));
    if (!b->rope_freq) st = db_error_set(err, DB_ERR_NOMEM, "cpu backend: out of memory");
    if (st == DB_OK) {
        db_cpu_rope_freq(b->rope_freq, hs, b->config.rope_theta);
        st = o->checkpoint_path
                 ? db_cpu_weights_load(&b->w, &b->config, o->precision, o->checkpoint_path, err)
                 : db_cpu_weights_synth(&b->w, &b->config, o->precision, o->seed, err);
    }
    if (st == DB_OK)
        st = db_cpu_kv_create(&b->kv, &b->config, o->kv_dtype, total_blocks, b->opts.kv_block_size,
                              err);
    if (st == DB_OK) st = db_threadpool_create(o->threads, &b->pool, err);
    if (st != DB_OK) {
        db_cpu_close(b);
        return st;
    }
    describe_device(b);
    *out = b;
    return DB_OK;
}

static void free_run_state(db_cpu_run_state *s) {
    float *bufs[] = {s->x,    s->xb, s->q,  s->k,    s->v,      s->att,
                     s->proj, s->h1, s->h3, s->last, s->logits, s->att_scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(s->tok_id);
    free(s->tok_pos);
    free(s->tok_item);
    free(s->want_item);
    free(s->sample_idx);
    memset(s, 0, sizeof *s);
}

void db_cpu_close(db_cpu_backend *b) {
    if (!b) return;
    db_threadpool_destroy(b->pool);
    db_cpu_kv_destroy(&b->kv);
    db_cpu_weights_free(&b->w);
    free_run_state(&b->s);
    free(b->rope_freq);
    free(b);
}

/* ---- run state ----------------------------------------------------------------------------------
 */

static int grow(void **p, size_t count, size_t elem) {
    void *q = realloc(*p, (count ? count : 1) * elem);
    if (!q) return -1;
    *p = q;
    return 0;
}

static db_status reserve_tokens(db_cpu_backend *b, int T, db_error *err) {
    db_cpu_run_state *s = &b->s;
    if (T <= s->cap_tokens) return DB_OK;
    size_t t = (size_t)T, d = (size_t)b->config.dim, kv = (size_t)db_model_kv_dim(&b->config),
           h = (size_t)b->config.hidden_dim;
    if (grow((void **)&s->x, t * d, 4) || grow((void **)&s->xb, t * d, 4) ||
        grow((void **)&s->q, t * d, 4) || grow((void **)&s->k, t * kv, 4) ||
        grow((void **)&s->v, t * kv, 4) || grow((void **)&s->att, t * d, 4) ||
        grow((void **)&s->proj, t * d, 4) || grow((void **)&s->h1, t * h, 4) ||
        grow((void **)&s->h3, t * h, 4) || grow((void **)&s->tok_id, t, sizeof(int32_t)) ||
        grow((void **)&s->tok_pos, t, sizeof(int)) || grow((void **)&s->tok_item, t, sizeof(int)))
        return db_error_set(err, DB_ERR_NOMEM,
                            "cpu backend: cannot allocate activations for %d tokens", T);
    s->cap_tokens = T;
    return DB_OK;
}

static db_status reserve_items(db_cpu_backend *b, int n, db_error *err) {
    db_cpu_run_state *s = &b->s;
    if (n <= s->cap_items) return DB_OK;
    size_t V = (size_t)b->config.vocab_size, d = (size_t)b->config.dim;
    if (grow((void **)&s->last, (size_t)n * d, 4) || grow((void **)&s->logits, (size_t)n * V, 4) ||
        grow((void **)&s->want_item, (size_t)n, sizeof(int)) ||
        (b->opts.temperature > 0.0f && !s->sample_idx &&
         grow((void **)&s->sample_idx, V, sizeof(int))))
        return db_error_set(err, DB_ERR_NOMEM,
                            "cpu backend: cannot allocate logits for %d sequences", n);
    s->cap_items = n;
    return DB_OK;
}

static db_status reserve_context(db_cpu_backend *b, int max_ctx, db_error *err) {
    db_cpu_run_state *s = &b->s;
    if (max_ctx <= s->cap_ctx) return DB_OK;
    const db_model_config *m = &b->config;
    size_t stride =
        db_cpu_attention_scratch_floats(m->n_heads, m->n_kv_heads, db_model_head_size(m), max_ctx);
    if (grow((void **)&s->att_scratch, stride * (size_t)db_threadpool_size(b->pool), sizeof(float)))
        return db_error_set(err, DB_ERR_NOMEM,
                            "cpu backend: cannot allocate attention scratch for %d positions",
                            max_ctx);
    s->att_scratch_stride = stride;
    s->cap_ctx = max_ctx;
    return DB_OK;
}

/* ---- step validation ----------------------------------------------------------------------------
 */


/* Checks every item; counts the step's tokens, the items wanting a next token and the longest
 * context. */
static db_status check_step(const db_cpu_backend *b, const db_work *work,
                            const db_backend_seq_view *seqs, int n, int *T, int *n_want,
                            int *max_ctx, db_error *err) {
    int64_t tokens = 0;
    *n_want = 0;
    *max_ctx = 1;
    for (int i = 0; i < n; i++) {
        db_status st = db_backend_check_item(&b->config, b->kv.block_size, b->kv.total_blocks,
                                             &work[i], seqs ? &seqs[i] : NULL, i, err);
        if (st != DB_OK) return st;
        tokens += work[i].n_tokens;
        *n_want += work[i].want_next != 0;
        if (work[i].pos + work[i].n_tokens > *max_ctx) *max_ctx = work[i].pos + work[i].n_tokens;
    }
    if (tokens > INT_MAX / 2)
        return db_error_set(err, DB_ERR_INVALID, "step: %lld tokens in one step is too many",
                            (long long)tokens);
    *T = (int)tokens;
    return DB_OK;
}

/* ---- forward pass -------------------------------------------------------------------------------
 */

/* y (T, N) = x (T, K) W^T, then rounded to the scheme's activation type. */
static db_status gemm(db_cpu_backend *b, const db_linear *W, const float *x, float *y, int T,
                      db_error *err) {
    db_status st = db_linear_forward(W, x, y, T, b->pool, err);
    if (st == DB_OK) db_cpu_round(b->pool, y, (size_t)T * (size_t)W->n_rows, b->w.precision);
    return st;
}

/* The step's tokens as rows: ids, positions, items, and their embeddings into x. */
static void gather_tokens(db_cpu_backend *b, const db_work *work, int n) {
    db_cpu_run_state *s = &b->s;
    size_t d = (size_t)b->config.dim;
    int t = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < work[i].n_tokens; j++, t++) {
            s->tok_id[t] = work[i].tokens[j];
            s->tok_pos[t] = work[i].pos + j;
            s->tok_item[t] = i;
            db_linear_dequant_row(&b->w.token_embedding, s->tok_id[t], s->x + (size_t)t * d);
        }
}

/* K and V of every token of the step into its sequence's blocks. */
static void write_kv(db_cpu_backend *b, int l, const db_backend_seq_view *seqs, int T) {
    db_cpu_run_state *s = &b->s;
    size_t kv_dim = (size_t)db_model_kv_dim(&b->config);
    int bs = b->kv.block_size;
    for (int t = 0; t < T; t++) {
        int p = s->tok_pos[t];
        size_t row = db_cpu_kv_row(&b->kv, l, seqs[s->tok_item[t]].blocks[p / bs], p % bs);
        db_cpu_kv_write(&b->kv, row, s->k + (size_t)t * kv_dim, s->v + (size_t)t * kv_dim);
    }
}

static db_status attention_block(db_cpu_backend *b, int l, const db_backend_seq_view *seqs, int T,
                                 db_error *err) {
    db_cpu_run_state *s = &b->s;
    const db_model_config *m = &b->config;
    const db_cpu_layer *L = &b->w.layers[l];
    int d = m->dim, kv_dim = db_model_kv_dim(m), hs = db_model_head_size(m);
    db_status st;
    db_cpu_rmsnorm(b->pool, s->xb, s->x, L->rms_att, T, d, m->norm_eps);
    if ((st = gemm(b, &L->wq, s->xb, s->q, T, err)) ||
        (st = gemm(b, &L->wk, s->xb, s->k, T, err)) || (st = gemm(b, &L->wv, s->xb, s->v, T, err)))
        return st;
    db_cpu_rope(b->pool, s->q, s->k, s->tok_pos, T, d, kv_dim, hs, b->rope_freq);
    write_kv(b, l, seqs, T);
    db_cpu_attention_args a = {&b->kv,
                               l,
                               m->n_heads,
                               T,
                               s->q,
                               s->att,
                               s->tok_pos,
                               s->tok_item,
                               seqs,
                               s->att_scratch,
                               s->att_scratch_stride};
    db_cpu_attention(b->pool, &a);
    if ((st = gemm(b, &L->wo, s->att, s->proj, T, err))) return st;
    db_cpu_add(b->pool, s->x, s->proj, (size_t)T * (size_t)d);
    return DB_OK;
}

static db_status mlp_block(db_cpu_backend *b, int l, int T, db_error *err) {
    db_cpu_run_state *s = &b->s;
    const db_model_config *m = &b->config;
    const db_cpu_layer *L = &b->w.layers[l];
    db_status st;
    db_cpu_rmsnorm(b->pool, s->xb, s->x, L->rms_ffn, T, m->dim, m->norm_eps);
    if ((st = gemm(b, &L->w1, s->xb, s->h1, T, err)) ||
        (st = gemm(b, &L->w3, s->xb, s->h3, T, err)))
        return st;
    db_cpu_swiglu(b->pool, s->h1, s->h3, (size_t)T * (size_t)m->hidden_dim);
    if ((st = gemm(b, &L->w2, s->h1, s->proj, T, err))) return st;
    db_cpu_add(b->pool, s->x, s->proj, (size_t)T * (size_t)m->dim);
    return DB_OK;
}

/* Final RMSNorm and classifier for the last row of each item that wants a next token; then the
 * choice of the next token. */
static db_status lm_head(db_cpu_backend *b, const db_work *work, int n, int n_want,
                         db_step_result *res, db_error *err) {
    db_cpu_run_state *s = &b->s;
    const db_model_config *m = &b->config;
    size_t d = (size_t)m->dim, V = (size_t)m->vocab_size;
    int r = 0, t_end = 0;
    for (int i = 0; i < n; i++) {
        t_end += work[i].n_tokens;
        if (!work[i].want_next) continue;
        memcpy(s->xb + (size_t)r * d, s->x + (size_t)(t_end - 1) * d, d * sizeof(float));
        s->want_item[r++] = i;
    }
    for (int i = 0; i < n; i++)
        res->next_tokens[i] = -1;
    if (n_want == 0) return DB_OK;
    db_cpu_rmsnorm(b->pool, s->last, s->xb, b->w.rms_final, n_want, m->dim, m->norm_eps);
    db_status st =
        db_linear_forward(db_cpu_weights_lm_head(&b->w), s->last, s->logits, n_want, b->pool, err);
    if (st != DB_OK) return st;
    for (r = 0; r < n_want; r++) {
        const db_work *w = &work[s->want_item[r]];
        const float *row = s->logits + (size_t)r * V;
        int next = db_cpu_argmax(row, (int)V);
        if (b->opts.temperature > 0.0f) {
            double u = db_cpu_sample_uniform(b->opts.seed, w->seq_id, w->pos + w->n_tokens - 1);
            next = db_cpu_sample(row, (int)V, b->opts.temperature, b->opts.top_k, u, s->sample_idx);
        }
        res->next_tokens[s->want_item[r]] = next;
        if (res->logits) memcpy(res->logits + (size_t)s->want_item[r] * V, row, V * sizeof(float));
    }
    return DB_OK;
}

db_status db_cpu_step(db_cpu_backend *b, const db_work *work, const db_backend_seq_view *seqs,
                      int n, db_step_result *res, db_error *err) {
    double t0 = now_seconds();
    if (n < 0 || (n > 0 && (!work || !res || !res->next_tokens)))
        return db_error_set(err, DB_ERR_INVALID,
                            "step: needs work items and a next_tokens array (n = %d)", n);
    int T = 0, n_want = 0, max_ctx = 1;
    db_status st = check_step(b, work, seqs, n, &T, &n_want, &max_ctx, err);
    if (st == DB_OK && n > 0) {
        if ((st = reserve_tokens(b, T, err)) || (st = reserve_items(b, n_want, err)) ||
            (st = reserve_context(b, max_ctx, err)))
            return st;
        gather_tokens(b, work, n);
        for (int l = 0; st == DB_OK && l < b->config.n_layers; l++) {
            st = attention_block(b, l, seqs, T, err);
            if (st == DB_OK) st = mlp_block(b, l, T, err);
        }
        if (st == DB_OK) st = lm_head(b, work, n, n_want, res, err);
    }
    if (st == DB_OK && res) {
        res->step_seconds = now_seconds() - t0;
        res->device_seconds = res->step_seconds;
    }
    return st;
}

/* ---- the backend vtable -------------------------------------------------------------------------
 */

static db_status cpu_open(const db_engine_opts *o, int64_t total_blocks, void **state,
                          db_error *err) {
    db_cpu_backend *b = NULL;
    db_status st = db_cpu_open(o, total_blocks, &b, err);
    *state = b;
    return st;
}

static void cpu_close(void *state) {
    db_cpu_close(state);
}

static db_status cpu_step(void *state, const db_work *work, const db_backend_seq_view *seqs, int n,
                          db_step_result *res, db_error *err) {
    return db_cpu_step(state, work, seqs, n, res, err);
}

static const char *cpu_device_name(void *state) {
    return ((db_cpu_backend *)state)->device;
}

const db_backend_ops db_backend_cpu = {
    .name = "cpu",
    .open = cpu_open,
    .close = cpu_close,
    .step = cpu_step,
    .device_name = cpu_device_name,
};
