/* cuda_step.c — one step of the CUDA backend: validation (as engine/cpu.c validates), the step's
 * metadata (token ids, positions, KV slots, block tables, attention row lists, LM-head rows) packed
 * into one pinned buffer and uploaded in one copy, the forward pass eagerly or from a CUDA graph,
 * and the results.
 *
 * Metadata layout (bytes, in this order): slot int64 (T) | token id int32 (T) | position (T) |
 * block-table start (T) | decode rows (n_dec) | prefill tiles (2 n_tiles) | LM-head rows (n_lm) |
 * block tables (cap_bt). An eager step packs exactly what it needs. A graph bucket of B rows has
 * the fixed layout T = n_lm = B, no decode-row list (rows 0 .. B-1), no tiles, and cap_bt =
 * min(total blocks, B * max blocks per sequence), so every replay finds its data at the addresses
 * captured; rows n .. B-1 are padding (token 0, position -1, slot -1).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.cuh"
#include "cpu_sample.h"
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_cupti.h"

typedef struct meta_layout {
    int T, n_dec, n_tiles, n_lm;
    int64_t n_bt, cap_bt;
    size_t off_slot, off_id, off_pos, off_bts, off_dec, off_tiles, off_lm, off_bt, used, total;
} meta_layout;

typedef struct step_info {
    int T, n_want, n_dec, n_tiles, max_ctx, max_dec_ctx, all_decode, all_prefill;
    int64_t n_bt;
} step_info;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void layout_init(meta_layout *L, int T, int n_dec, int n_tiles, int n_lm, int64_t n_bt,
                        int64_t cap_bt) {
    size_t o = 0;
    L->T = T, L->n_dec = n_dec, L->n_tiles = n_tiles, L->n_lm = n_lm, L->n_bt = n_bt,
    L->cap_bt = cap_bt;
    L->off_slot = o, o += 8 * (size_t)T;
    L->off_id = o, o += 4 * (size_t)T;
    L->off_pos = o, o += 4 * (size_t)T;
    L->off_bts = o, o += 4 * (size_t)T;
    L->off_dec = o, o += 4 * (size_t)n_dec;
    L->off_tiles = o, o += 8 * (size_t)n_tiles;
    L->off_lm = o, o += 4 * (size_t)n_lm;
    L->off_bt = o;
    L->used = o + 4 * (size_t)n_bt;
    L->total = o + 4 * (size_t)cap_bt;
}

static int64_t blocks_needed(const db_cuda_backend *b, const db_work *w) {
    return ((int64_t)w->pos + w->n_tokens + b->block_size - 1) / b->block_size;
}

/* ---- validation
 * ------------------------------------------------------------------------------------ */

static db_status check_step(const db_cuda_backend *b, const db_work *work,
                            const db_backend_seq_view *seqs, int n, step_info *si, db_error *err) {
    memset(si, 0, sizeof *si);
    si->all_decode = si->all_prefill = 1;
    int tt = db_cuda_attention_prefill_tile_tokens(b->config.n_heads, b->config.n_kv_heads);
    int64_t tokens = 0;
    for (int i = 0; i < n; i++) {
        const db_work *w = &work[i];
        db_status st = db_backend_check_item(&b->config, b->block_size, b->total_blocks, w,
                                             seqs ? &seqs[i] : NULL, i, err);
        if (st != DB_OK) return st;
        tokens += w->n_tokens;
        si->n_want += w->want_next != 0;
        si->n_bt += blocks_needed(b, w);
        int ctx = w->pos + w->n_tokens;
        if (ctx > si->max_ctx) si->max_ctx = ctx;
        if (w->n_tokens == 1) {
            si->n_dec++;
            if (ctx > si->max_dec_ctx) si->max_dec_ctx = ctx;
        } else {
            si->n_tiles += (w->n_tokens + tt - 1) / tt;
        }
        int decode_token = w->n_tokens == 1 && w->pos > 0;
        si->all_decode &= w->n_tokens == 1;
        si->all_prefill &= !decode_token;
    }
    if (tokens > INT_MAX / 4 || si->n_dec > 65535)
        return db_error_set(err, DB_ERR_INVALID,
                            "step: %lld tokens (%d decode items) in one step is too many",
                            (long long)tokens, si->n_dec);
    si->T = (int)tokens;
    return DB_OK;
}

/* ---- metadata
 * ------------------------------------------------------------------------------------ */

static db_status reserve_meta(db_cuda_backend *b, size_t bytes, db_error *err) {
    db_cuda_acts *a = &b->a;
    if (bytes <= a->cap_meta) return DB_OK;
    size_t cap = bytes > a->cap_meta * 3 / 2 ? bytes : a->cap_meta * 3 / 2;
    cudaFree(a->meta);
    cudaFreeHost(a->h_meta);
    a->meta = a->h_meta = NULL;
    a->cap_meta = 0;
    b->generation++;
    DB_CUDA_TRY(err, cudaMalloc(&a->meta, cap));
    DB_CUDA_TRY(err, cudaMallocHost(&a->h_meta, cap));
    a->cap_meta = cap;
    return DB_OK;
}

static db_status reserve_host(db_cuda_backend *b, int n_lm, int want_logits, db_error *err) {
    if (n_lm > b->cap_want) {
        int *p = realloc(b->h_want_item, (size_t)n_lm * sizeof *p);
        if (!p)
            return db_error_set(err, DB_ERR_NOMEM, "cuda backend: out of host memory for %d rows",
                                n_lm);
        b->h_want_item = p;
        b->cap_want = n_lm;
    }
    size_t need = want_logits ? (size_t)n_lm * (size_t)b->config.vocab_size : 0;
    if (need > b->a.cap_h_logits) {
        cudaFreeHost(b->a.h_logits);
        b->a.h_logits = NULL;
        b->a.cap_h_logits = 0;
        DB_CUDA_TRY(err, cudaMallocHost((void **)&b->a.h_logits, need * sizeof(float)));
        b->a.cap_h_logits = need;
    }
    return DB_OK;
}

/* Token rows of the items (and padding rows up to L->T), their block tables; returns the row count.
 */
static void pack_tokens(db_cuda_backend *b, const db_work *work, const db_backend_seq_view *seqs,
                        int n, const meta_layout *L) {
    char *base = b->a.h_meta;
    int64_t *slot = (int64_t *)(void *)(base + L->off_slot);
    int32_t *id = (int32_t *)(void *)(base + L->off_id);
    int *pos = (int *)(void *)(base + L->off_pos), *bts = (int *)(void *)(base + L->off_bts);
    int32_t *bt = (int32_t *)(void *)(base + L->off_bt);
    int bs = b->block_size, t = 0, nb = 0;
    for (int i = 0; i < n; i++) {
        const db_work *w = &work[i];
        int need = (int)blocks_needed(b, w);
        memcpy(bt + nb, seqs[i].blocks, (size_t)need * sizeof *bt);
        for (int j = 0; j < w->n_tokens; j++, t++) {
            int p = w->pos + j;
            id[t] = w->tokens[j];
            pos[t] = p;
            slot[t] = (int64_t)seqs[i].blocks[p / bs] * bs + p % bs;
            bts[t] = nb;
        }
        nb += need;
    }
    for (; t < L->T; t++)
        id[t] = 0, pos[t] = -1, slot[t] = -1, bts[t] = 0;
}

/* Decode rows, prefill tiles and LM-head rows of an eager step. */
static void pack_lists(db_cuda_backend *b, const db_work *work, int n, const meta_layout *L) {
    char *base = b->a.h_meta;
    int *dec = (int *)(void *)(base + L->off_dec), *tiles = (int *)(void *)(base + L->off_tiles);
    int *lm = (int *)(void *)(base + L->off_lm);
    int tt = db_cuda_attention_prefill_tile_tokens(b->config.n_heads, b->config.n_kv_heads);
    int t = 0, nd = 0, nt = 0, nl = 0;
    for (int i = 0; i < n; i++) {
        const db_work *w = &work[i];
        if (w->n_tokens == 1)
            dec[nd++] = t;
        else
            for (int j = 0; j < w->n_tokens; j += tt, nt++)
                tiles[2 * nt] = t + j,
                          tiles[2 * nt + 1] = w->n_tokens - j < tt ? w->n_tokens - j : tt;
        t += w->n_tokens;
        if (w->want_next) b->h_want_item[nl] = i, lm[nl++] = t - 1;
    }
}

static db_cuda_plan plan_from(const db_cuda_backend *b, const meta_layout *L, int dec_list,
                              int nvtx_ops) {
    const char *d = b->a.meta;
    db_cuda_plan p;
    memset(&p, 0, sizeof p);
    p.T = L->T;
    p.tok_slot = (const int64_t *)(const void *)(d + L->off_slot);
    p.tok_id = (const int32_t *)(const void *)(d + L->off_id);
    p.tok_pos = (const int *)(const void *)(d + L->off_pos);
    p.tok_bt = (const int *)(const void *)(d + L->off_bts);
    p.bt = (const int *)(const void *)(d + L->off_bt);
    p.dec_rows = dec_list ? (const int *)(const void *)(d + L->off_dec) : NULL;
    p.n_tiles = L->n_tiles;
    p.tiles = (const int *)(const void *)(d + L->off_tiles);
    p.n_lm = L->n_lm;
    p.lm_rows = (const int *)(const void *)(d + L->off_lm);
    p.nvtx_ops = nvtx_ops;
    return p;
}

static db_status reserve_partial(db_cuda_backend *b, const db_cuda_plan *p, db_error *err) {
    const db_model_config *m = &b->config;
    size_t need = db_cuda_attention_decode_partial_floats(p->n_dec, m->n_heads,
                                                          db_model_head_size(m), p->n_splits);
    if (need <= b->a.cap_partial) return DB_OK;
    cudaFree(b->a.partial);
    b->a.partial = NULL;
    b->a.cap_partial = 0;
    b->generation++;
    DB_CUDA_TRY(err, cudaMalloc((void **)&b->a.partial, need * sizeof(float)));
    b->a.cap_partial = need;
    return DB_OK;
}

/* ---- running a step
 * ------------------------------------------------------------------------------ */

/* Upload, forward (eager, or the graph g), next tokens and (want_logits) n_copy rows of logits
 * back. */
static db_status enqueue(db_cuda_backend *b, const meta_layout *L, const db_cuda_plan *p,
                        const db_cuda_graph *g, int n_copy, int want_logits, db_error *err) {
    cudaStream_t s = b->stream;
    DB_CUDA_TRY(err, cudaEventRecord(b->ev_start, s));
    DB_CUDA_TRY(err, cudaMemcpyAsync(b->a.meta, b->a.h_meta, L->used, cudaMemcpyHostToDevice, s));
    db_status st;
    if (g && g->exec) {
        db_nvtx_push(&b->nvtx, DB_NVTX_GRAPH, L->T);
        st = DB_CUDA_CHECK(err, cudaGraphLaunch(g->exec, s));
        db_nvtx_pop(&b->nvtx);
    } else {
        st = db_cuda_forward(b, p, err);
    }
    if (st != DB_OK) return st;
    if (n_copy > 0)
        DB_CUDA_TRY(err, cudaMemcpyAsync(b->a.h_next, b->a.next, (size_t)n_copy * sizeof(int32_t),
                                         cudaMemcpyDeviceToHost, s));
    if (n_copy > 0 && want_logits)
        DB_CUDA_TRY(err,
                    cudaMemcpyAsync(b->a.h_logits, b->a.logits,
                                    (size_t)n_copy * (size_t)b->config.vocab_size * sizeof(float),
                                    cudaMemcpyDeviceToHost, s));
    DB_CUDA_TRY(err, cudaEventRecord(b->ev_end, s));
    return DB_CUDA_CHECK(err, cudaEventSynchronize(b->ev_end));
}

/* enqueue, and on failure wait for what was already enqueued (the metadata upload reads h_meta,
 * which the next step packs again) before returning the error. */
static db_status launch(db_cuda_backend *b, const meta_layout *L, const db_cuda_plan *p,
                        const db_cuda_graph *g, int n_copy, int want_logits, db_error *err) {
    db_status st = enqueue(b, L, p, g, n_copy, want_logits, err);
    if (st != DB_OK) {
        (void)cudaStreamSynchronize(b->stream);
        (void)cudaGetLastError();
    }
    return st;
}

static void destroy_graph(db_cuda_graph *g) {
    if (g->exec) cudaGraphExecDestroy(g->exec);
    memset(g, 0, sizeof *g);
}

/* Records the forward pass of a bucket's plan into g (nothing runs while capturing). */
static db_status capture(db_cuda_backend *b, const db_cuda_plan *plan, db_cuda_graph *g,
                         db_error *err) {
    cudaGraph_t graph = NULL;
    db_cuda_plan p = *plan;
    p.nvtx_ops = 0;
    DB_CUDA_TRY(err, cudaStreamBeginCapture(b->stream, cudaStreamCaptureModeThreadLocal));
    db_status st = db_cuda_forward(b, &p, err);
    cudaError_t e = cudaStreamEndCapture(b->stream, &graph);
    if (st == DB_OK) st = DB_CUDA_CHECK(err, e);
    if (st == DB_OK) st = DB_CUDA_CHECK(err, cudaGraphInstantiate(&g->exec, graph, 0));
    if (graph) cudaGraphDestroy(graph);
    if (st != DB_OK) {
        destroy_graph(g);
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return db_error_set(
            err, st,
            "cuda backend: capturing the decode step of batch bucket %d in a CUDA graph failed "
            "(run with CUDA graphs off to avoid it): %s",
            p.T, msg);
    }
    g->generation = db_cuda_generation(b);
    return DB_OK;
}

static int log2i(int v) {
    int k = 0;
    while ((1 << k) < v)
        k++;
    return k;
}

/* A decode-only step through the graph of its bucket (captured after the bucket's first, eager,
 * run). */
static db_status step_graph(db_cuda_backend *b, const db_work *work,
                            const db_backend_seq_view *seqs, int n, const step_info *si,
                            int want_logits, db_error *err) {
    const db_model_config *m = &b->config;
    int k = log2i(n), bucket = 1 << k;
    int64_t cap_bt = (int64_t)bucket * b->max_blocks_per_seq;
    if (cap_bt > b->total_blocks) cap_bt = b->total_blocks;
    if (si->n_bt > cap_bt)
        return db_error_set(
            err, DB_ERR_INVALID,
            "step: the block tables of %d items hold %lld blocks, more than the pool's %lld", n,
            (long long)si->n_bt, (long long)b->total_blocks);
    meta_layout L;
    layout_init(&L, bucket, 0, 0, bucket, si->n_bt, cap_bt);
    db_status st;
    if ((st = db_cuda_acts_reserve(b, bucket, bucket, err)) ||
        (st = reserve_meta(b, L.total, err)) || (st = reserve_host(b, bucket, want_logits, err)))
        return st;
    pack_tokens(b, work, seqs, n, &L);
    int *lm = (int *)(void *)((char *)b->a.h_meta + L.off_lm);
    for (int r = 0; r < bucket; r++)
        lm[r] = r, b->h_want_item[r] = r;
    db_cuda_plan p = plan_from(b, &L, 0, 1);
    p.n_dec = bucket;
    p.n_splits = db_cuda_attention_decode_splits(bucket, m->n_heads, m->n_kv_heads, b->sm_count,
                                                 m->max_seq_len);
    if ((st = reserve_partial(b, &p, err))) return st;
    db_cuda_graph *g = &b->graphs[k];
    if (g->exec && g->generation != db_cuda_generation(b)) destroy_graph(g);
    int first = !g->exec;
    st = launch(b, &L, &p, first ? NULL : g, n, want_logits, err);
    if (st == DB_OK && first) st = capture(b, &p, g, err);
    return st;
}

/* Any step, run eagerly with exactly its rows. */
static db_status step_eager(db_cuda_backend *b, const db_work *work,
                            const db_backend_seq_view *seqs, int n, const step_info *si,
                            int want_logits, db_error *err) {
    const db_model_config *m = &b->config;
    meta_layout L;
    layout_init(&L, si->T, si->n_dec, si->n_tiles, si->n_want, si->n_bt, si->n_bt);
    db_status st;
    if ((st = db_cuda_acts_reserve(b, si->T, si->n_want, err)) ||
        (st = reserve_meta(b, L.total, err)) ||
        (st = reserve_host(b, si->n_want, want_logits, err)))
        return st;
    pack_tokens(b, work, seqs, n, &L);
    pack_lists(b, work, n, &L);
    db_cuda_plan p = plan_from(b, &L, 1, 1);
    p.n_dec = si->n_dec;
    p.n_splits = db_cuda_attention_decode_splits(si->n_dec, m->n_heads, m->n_kv_heads, b->sm_count,
                                                 si->max_dec_ctx);
    if ((st = reserve_partial(b, &p, err))) return st;
    return launch(b, &L, &p, NULL, si->n_want, want_logits, err);
}

/* next_tokens (argmax, or the CPU sampler on the copied logits) and logits rows of want_next items.
 */
static db_status finish(db_cuda_backend *b, const db_work *work, int n_rows, db_step_result *res,
                        db_error *err) {
    size_t V = (size_t)b->config.vocab_size;
    if (b->opts.temperature > 0.0f && !b->h_sample_idx) {
        b->h_sample_idx = malloc(V * sizeof(int));
        if (!b->h_sample_idx)
            return db_error_set(err, DB_ERR_NOMEM, "cuda backend: out of host memory");
    }
    for (int r = 0; r < n_rows; r++) {
        int i = b->h_want_item[r];
        const db_work *w = &work[i];
        if (!w->want_next) continue;
        const float *row = b->a.h_logits ? b->a.h_logits + (size_t)r * V : NULL;
        int next = b->a.h_next[r];
        if (b->opts.temperature > 0.0f) {
            double u = db_cpu_sample_uniform(b->opts.seed, w->seq_id, w->pos + w->n_tokens - 1);
            next =
                db_cpu_sample(row, (int)V, b->opts.temperature, b->opts.top_k, u, b->h_sample_idx);
        }
        res->next_tokens[i] = next;
        if (res->logits) memcpy(res->logits + (size_t)i * V, row, V * sizeof(float));
    }
    return DB_OK;
}

db_status db_cuda_step(db_cuda_backend *b, const db_work *work, const db_backend_seq_view *seqs,
                       int n, db_step_result *res, db_error *err) {
    double t0 = now_seconds();
    if (n < 0 || (n > 0 && (!work || !res || !res->next_tokens)))
        return db_error_set(err, DB_ERR_INVALID,
                            "step: needs work items and a next_tokens array (n = %d)", n);
    step_info si;
    db_status st = check_step(b, work, seqs, n, &si, err);
    if (st != DB_OK) return st;
    if (n > 0) {
        for (int i = 0; i < n; i++)
            res->next_tokens[i] = -1;
        DB_CUDA_TRY(err, cudaSetDevice(b->device));
        char text[96];
        snprintf(text, sizeof text, "step %lld: batch %d, %d tokens", (long long)b->step_index, n,
                 si.T);
        db_nvtx_push_text(&b->nvtx, text, b->step_index);
        db_nvtx_push(&b->nvtx,
                     si.all_prefill  ? DB_NVTX_PREFILL
                     : si.all_decode ? DB_NVTX_DECODE
                                     : DB_NVTX_MIXED,
                     si.T);
        db_cupti_step_begin(b->step_index); /* the kernel trace's tag of this step's launches */
        int want_logits = res->logits != NULL || b->opts.temperature > 0.0f;
        int graph = b->opts.cuda_graphs && si.all_decode && n <= DB_CUDA_GRAPH_MAX_BATCH;
        st = graph ? step_graph(b, work, seqs, n, &si, want_logits, err)
                   : step_eager(b, work, seqs, n, &si, want_logits, err);
        if (st == DB_OK) st = finish(b, work, graph ? n : si.n_want, res, err);
        db_cupti_step_end();
        db_nvtx_pop(&b->nvtx);
        db_nvtx_pop(&b->nvtx);
        b->step_index++;
    }
    if (st == DB_OK && res) {
        float ms = 0.0f;
        res->device_seconds = 0.0;
        if (n > 0 && cudaEventElapsedTime(&ms, b->ev_start, b->ev_end) == cudaSuccess)
            res->device_seconds = ms * 1e-3;
        (void)cudaGetLastError();
        res->step_seconds = now_seconds() - t0;
    }
    return st;
}
