/* engine.c — the engine API (engine.h): options, backend choice, KV capacity, sequences and steps.
 *
 * KV capacity, in this order: kv_tokens (rounded up to whole blocks); kv_bytes (whole blocks that fit);
 * the backend's default_kv_bytes (sim: 90% of device memory minus the weights); otherwise
 * DB_ENGINE_DEFAULT_KV_SEQS sequences of max_seq_len tokens, at most DB_ENGINE_DEFAULT_KV_MAX_BYTES of
 * KV. A default never exceeds DB_ENGINE_DEFAULT_KV_MAX_SEQS full-length sequences.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "checkpoint.h"
#ifdef DECODEBENCH_HAVE_CUDA
#include "cuda_cupti.h"
#endif
#include "kv_cache.h"
#include "model.h"

enum {
    DB_ENGINE_DEFAULT_BLOCK_SIZE = 16,
    DB_ENGINE_DEFAULT_KV_SEQS = 8,
    DB_ENGINE_DEFAULT_KV_MAX_SEQS = 1024,
};
#define DB_ENGINE_DEFAULT_KV_MAX_BYTES (4.0 * 1024 * 1024 * 1024)

struct db_engine {
    db_engine_opts opts; /* as opened: backend resolved, defaults filled, strings owned below */
    char *checkpoint_path;
    char *sim_device;
    const db_backend_ops *ops;
    void *state;
    db_kv_cache *kv;
    int scratch_cap; /* step scratch, grown to the largest batch seen */
    int *seq_ids;
    int *n_new;
    db_backend_seq_view *views;
    int kernel_trace; /* this engine started the process's CUPTI kernel trace */
};

void db_engine_opts_default(db_engine_opts *o) {
    memset(o, 0, sizeof *o);
    o->backend = DB_BACKEND_AUTO;
    o->precision = DB_PREC_FP32;
    o->kv_dtype = DB_KV_FP32;
    o->kv_block_size = DB_ENGINE_DEFAULT_BLOCK_SIZE;
    o->seed = 1;
    o->cuda_graphs = 1;
    o->sim_step_overhead_s = -1.0;
}

/* ---- options -------------------------------------------------------------------------------------- */

/* The checkpoint's header must describe the model (which may keep only its first layers). */
static db_status check_checkpoint(const db_engine_opts *o, db_error *err) {
    db_model_config f;
    db_status st = db_checkpoint_read_config(o->checkpoint_path, &f, err);
    if (st != DB_OK) return st;
    const db_model_config *m = &o->model;
    if (m->dim != f.dim || m->hidden_dim != f.hidden_dim || m->n_heads != f.n_heads ||
        m->n_kv_heads != f.n_kv_heads || m->vocab_size != f.vocab_size ||
        m->max_seq_len != f.max_seq_len || m->n_layers > f.n_layers ||
        !m->shared_classifier != !f.shared_classifier)
        return db_error_set(err, DB_ERR_INVALID,
                            "checkpoint %s (dim %d, hidden_dim %d, %d layers, %d/%d heads, vocab "
                            "%d, seq_len %d) does not match model '%s' (dim %d, hidden_dim %d, %d "
                            "layers, %d/%d heads, vocab %d, max_seq_len %d)",
                            o->checkpoint_path, f.dim, f.hidden_dim, f.n_layers, f.n_heads,
                            f.n_kv_heads, f.vocab_size, f.max_seq_len, m->name, m->dim,
                            m->hidden_dim, m->n_layers, m->n_heads, m->n_kv_heads, m->vocab_size,
                            m->max_seq_len);
    return DB_OK;
}

static db_status check_opts(const db_engine_opts *o, db_error *err) {
    if ((unsigned)o->backend > DB_BACKEND_SIM)
        return db_error_set(err, DB_ERR_INVALID, "backend: unknown value %d", (int)o->backend);
    db_status st = db_model_validate(&o->model, err);
    if (st != DB_OK) return st;
    if ((unsigned)o->precision >= DB_PREC_COUNT)
        return db_error_set(err, DB_ERR_INVALID, "precision: unknown value %d", (int)o->precision);
    if ((unsigned)o->kv_dtype >= DB_KV_COUNT)
        return db_error_set(err, DB_ERR_INVALID, "kv_dtype: unknown value %d", (int)o->kv_dtype);
    if (o->kv_tokens < 0 || o->kv_bytes < 0)
        return db_error_set(err, DB_ERR_INVALID,
                            "kv_tokens and kv_bytes must be >= 0, got %lld and %lld",
                            (long long)o->kv_tokens, (long long)o->kv_bytes);
    if (o->kv_tokens > 0 && o->kv_bytes > 0)
        return db_error_set(err, DB_ERR_INVALID,
                            "kv_tokens (%lld) and kv_bytes (%lld) are both set: give one",
                            (long long)o->kv_tokens, (long long)o->kv_bytes);
    if (o->kv_block_size < 0 || o->kv_block_size > DB_KV_MAX_BLOCK_SIZE)
        return db_error_set(err, DB_ERR_INVALID,
                            "kv_block_size must be 1..%d tokens (0: %d), got %d",
                            DB_KV_MAX_BLOCK_SIZE, DB_ENGINE_DEFAULT_BLOCK_SIZE, o->kv_block_size);
    if (o->threads < 0 || o->threads > 4096)
        return db_error_set(err, DB_ERR_INVALID, "threads must be 0..4096 (0: all cores), got %d",
                            o->threads);
    if (o->cuda_device < 0)
        return db_error_set(err, DB_ERR_INVALID, "cuda_device must be >= 0, got %d",
                            o->cuda_device);
    if (!isfinite(o->sim_step_overhead_s) || o->sim_step_overhead_s > 10.0)
        return db_error_set(err, DB_ERR_INVALID,
                            "sim_step_overhead_s must be a number of seconds <= 10 (< 0: the "
                            "device default), got %g",
                            o->sim_step_overhead_s);
    if (!isfinite(o->temperature) || o->temperature < 0.0f)
        return db_error_set(err, DB_ERR_INVALID, "temperature must be >= 0 (0: greedy), got %g",
                            (double)o->temperature);
    if (o->top_k < 0 || o->top_k > o->model.vocab_size)
        return db_error_set(err, DB_ERR_INVALID, "top_k must be 0..%d (the vocabulary), got %d",
                            o->model.vocab_size, o->top_k);
    return o->checkpoint_path ? check_checkpoint(o, err) : DB_OK;
}

static db_status pick_backend(db_backend_kind want, const db_backend_ops **ops,
                              db_backend_kind *got, db_error *err) {
    switch (want) {
    case DB_BACKEND_SIM:
        *ops = &db_backend_sim, *got = DB_BACKEND_SIM;
        return DB_OK;
    case DB_BACKEND_CPU:
        *ops = &db_backend_cpu, *got = DB_BACKEND_CPU;
        return DB_OK;
#ifdef DECODEBENCH_HAVE_CUDA
    case DB_BACKEND_CUDA:
        *ops = &db_backend_cuda, *got = DB_BACKEND_CUDA;
        return DB_OK;
    case DB_BACKEND_AUTO:
        if (db_cuda_device_count() > 0) {
            *ops = &db_backend_cuda, *got = DB_BACKEND_CUDA;
        } else {
            *ops = &db_backend_cpu, *got = DB_BACKEND_CPU;
        }
        return DB_OK;
#else
    case DB_BACKEND_CUDA:
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "backend cuda: this decodebench was built without CUDA");
    case DB_BACKEND_AUTO:
        *ops = &db_backend_cpu, *got = DB_BACKEND_CPU;
        return DB_OK;
#endif
    }
    return db_error_set(err, DB_ERR_INVALID, "backend: unknown value %d", (int)want);
}

/* ---- KV capacity ---------------------------------------------------------------------------------- */

static int64_t clamp_blocks(double blocks, double max_blocks) {
    if (blocks > max_blocks) blocks = max_blocks;
    if (blocks > DB_KV_MAX_BLOCKS) blocks = DB_KV_MAX_BLOCKS;
    return blocks < 1 ? 1 : (int64_t)blocks;
}

static db_status kv_blocks(const db_engine_opts *o, const db_backend_ops *ops, int64_t *blocks,
                           db_error *err) {
    int bs = o->kv_block_size;
    double per_token = db_kv_bytes_per_token(&o->model, o->kv_dtype), per_block = per_token * bs;
    if (o->kv_tokens > 0) {
        *blocks = (o->kv_tokens + bs - 1) / bs;
        if (*blocks > DB_KV_MAX_BLOCKS)
            return db_error_set(err, DB_ERR_INVALID,
                                "kv_tokens %lld needs %lld blocks of %d; the most is %d",
                                (long long)o->kv_tokens, (long long)*blocks, bs, DB_KV_MAX_BLOCKS);
        return DB_OK;
    }
    if (o->kv_bytes > 0) {
        double b = floor((double)o->kv_bytes / per_block);
        if (b < 1 || b > DB_KV_MAX_BLOCKS)
            return db_error_set(err, DB_ERR_INVALID,
                                "kv_bytes %lld holds %.0f blocks of %d tokens (%.0f bytes each on "
                                "%s, KV %s); expected 1..%d",
                                (long long)o->kv_bytes, b, bs, per_block, o->model.name,
                                db_kv_dtype_name(o->kv_dtype), DB_KV_MAX_BLOCKS);
        *blocks = (int64_t)b;
        return DB_OK;
    }
    double max_blocks = ceil((double)DB_ENGINE_DEFAULT_KV_MAX_SEQS * o->model.max_seq_len / bs);
    int64_t offered = 0;
    if (ops->default_kv_bytes) {
        db_status st = ops->default_kv_bytes(o, &offered, err);
        if (st != DB_OK) return st;
    }
    if (offered > 0) {
        *blocks = clamp_blocks(floor((double)offered / per_block), max_blocks);
        return DB_OK;
    }
    double tokens = (double)DB_ENGINE_DEFAULT_KV_SEQS * o->model.max_seq_len;
    if (tokens * per_token > DB_ENGINE_DEFAULT_KV_MAX_BYTES)
        tokens = floor(DB_ENGINE_DEFAULT_KV_MAX_BYTES / per_token);
    *blocks = clamp_blocks(ceil(tokens / bs), max_blocks);
    return DB_OK;
}

/* ---- work-item check shared by the backends (backend.h) ------------------------------------------ */

db_status db_backend_check_item(const db_model_config *m, int block_size, int64_t total_blocks,
                                const db_work *w, const db_backend_seq_view *sv, int i,
                                db_error *err) {
    int bs = block_size;
    if (w->n_tokens < 1 || !w->tokens)
        return db_error_set(err, DB_ERR_INVALID, "work item %d: needs at least one token (got %d)",
                            i, w->n_tokens);
    if (w->pos < 0 || w->pos > m->max_seq_len - w->n_tokens)
        return db_error_set(err, DB_ERR_INVALID,
                            "work item %d: positions %d..%lld are outside the model's 0..%d", i,
                            w->pos, (long long)w->pos + w->n_tokens - 1, m->max_seq_len - 1);
    int64_t need = ((int64_t)w->pos + w->n_tokens + bs - 1) / bs;
    if (!sv || sv->n_blocks < need || (need > 0 && !sv->blocks))
        return db_error_set(
            err, DB_ERR_INVALID,
            "work item %d: its block table has %d blocks, positions up to %d need %lld", i,
            sv ? sv->n_blocks : 0, w->pos + w->n_tokens - 1, (long long)need);
    for (int64_t j = 0; j < need; j++)
        if (sv->blocks[j] < 0 || sv->blocks[j] >= total_blocks)
            return db_error_set(err, DB_ERR_INVALID,
                                "work item %d: block %lld of its table is %d, outside 0..%lld", i,
                                (long long)j, sv->blocks[j], (long long)total_blocks - 1);
    for (int t = 0; t < w->n_tokens; t++)
        if (w->tokens[t] < 0 || w->tokens[t] >= m->vocab_size)
            return db_error_set(err, DB_ERR_INVALID,
                                "work item %d: token %d is %d, outside the vocabulary 0..%d", i, t,
                                (int)w->tokens[t], m->vocab_size - 1);
    return DB_OK;
}

/* ---- open / close --------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s, int *failed) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *failed = 1;
    return d;
}

/* Starts the CUPTI kernel trace before the backend does any CUDA work (kv sizing, open). */
static db_status start_kernel_trace(const db_engine_opts *o, db_error *err) {
#ifdef DECODEBENCH_HAVE_CUDA
    if (o->backend != DB_BACKEND_CUDA)
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "kernel trace: needs the cuda backend (the %s backend runs no kernels)",
                            db_backend_name(o->backend));
    if (db_cuda_device_count() <= 0) /* CUPTI would fail with an unknown error */
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "kernel trace: no CUDA device is present (cudaGetDeviceCount found none)");
    return db_cupti_start(err);
#else
    return db_error_set(err, DB_ERR_UNSUPPORTED,
                        "kernel trace: this decodebench was built without CUDA (no CUPTI)");
#endif
}

static void stop_kernel_trace(void) {
#ifdef DECODEBENCH_HAVE_CUDA
    db_cupti_stop();
#endif
}

void db_engine_close(db_engine *e) {
    if (!e) return;
    if (e->ops && e->state) e->ops->close(e->state);
    if (e->kernel_trace) stop_kernel_trace();
    db_kv_cache_destroy(e->kv);
    free(e->seq_ids);
    free(e->n_new);
    free(e->views);
    free(e->checkpoint_path);
    free(e->sim_device);
    free(e);
}

db_status db_engine_open(const db_engine_opts *opts, db_engine **out, db_error *err) {
    *out = NULL;
    db_engine_opts o = *opts;
    if (o.kv_block_size == 0) o.kv_block_size = DB_ENGINE_DEFAULT_BLOCK_SIZE;
    db_status st = check_opts(&o, err);
    const db_backend_ops *ops = NULL;
    if (st == DB_OK) st = pick_backend(opts->backend, &ops, &o.backend, err);
    if (st == DB_OK && o.kernel_trace) st = start_kernel_trace(&o, err);
    if (st != DB_OK) return st;
    int64_t blocks = 0;
    st = kv_blocks(&o, ops, &blocks, err);
    if (st != DB_OK) {
        if (o.kernel_trace) stop_kernel_trace();
        return st;
    }
    o.kv_tokens = blocks * o.kv_block_size; /* what was opened, reproducible from these options */
    o.kv_bytes = 0;
    db_engine *e = calloc(1, sizeof *e);
    int failed = !e;
    if (e) {
        e->checkpoint_path = dup_or_null(o.checkpoint_path, &failed);
        e->sim_device = dup_or_null(o.sim_device, &failed);
    }
    if (e) e->kernel_trace = o.kernel_trace != 0; /* closing e stops the trace from here on */
    if (failed) {
        if (e)
            db_engine_close(e);
        else if (o.kernel_trace)
            stop_kernel_trace();
        return db_error_set(err, DB_ERR_NOMEM, "engine: out of memory");
    }
    o.checkpoint_path = e->checkpoint_path;
    o.sim_device = e->sim_device;
    e->opts = o;
    st = db_kv_cache_create(blocks, o.kv_block_size, &e->kv, err);
    if (st == DB_OK) st = ops->open(&e->opts, blocks, &e->state, err);
    if (st != DB_OK) {
        db_engine_close(e);
        return st;
    }
    e->ops = ops;
    *out = e;
    return DB_OK;
}

db_backend_kind db_engine_backend(const db_engine *e) {
    return e->opts.backend;
}
const db_engine_opts *db_engine_get_opts(const db_engine *e) {
    return &e->opts;
}

const char *db_engine_device_name(const db_engine *e) {
    const char *name = e->ops->device_name ? e->ops->device_name(e->state) : NULL;
    return name ? name : e->ops->name;
}

/* ---- sequences ------------------------------------------------------------------------------------ */

int db_engine_kv_block_size(const db_engine *e) {
    return db_kv_cache_block_size(e->kv);
}
int64_t db_engine_kv_total_blocks(const db_engine *e) {
    return db_kv_cache_total_blocks(e->kv);
}
int64_t db_engine_kv_free_blocks(const db_engine *e) {
    return db_kv_cache_free_blocks(e->kv);
}

int64_t db_seq_blocks_needed(const db_engine *e, int seq_id, int n_new) {
    return db_kv_seq_blocks_needed(e->kv, seq_id, n_new);
}

db_status db_seq_alloc(db_engine *e, int *seq_id, db_error *err) {
    return db_kv_seq_new(e->kv, seq_id, err);
}

db_status db_seq_free(db_engine *e, int seq_id, db_error *err) {
    return db_kv_seq_release(e->kv, seq_id, err);
}

int db_seq_len(const db_engine *e, int seq_id) {
    return db_kv_seq_tokens(e->kv, seq_id);
}

db_status db_engine_kv_check(const db_engine *e, db_error *err) {
    return db_kv_cache_check(e->kv, err);
}

/* ---- steps ---------------------------------------------------------------------------------------- */

static db_status check_item(const db_engine *e, const db_work *w, int i, db_error *err) {
    const db_model_config *m = &e->opts.model;
    int len = db_kv_seq_tokens(e->kv, w->seq_id);
    if (len < 0)
        return db_error_set(err, DB_ERR_INVALID, "work[%d]: unknown sequence %d", i, w->seq_id);
    if (w->pos != len)
        return db_error_set(err, DB_ERR_INVALID,
                            "work[%d]: sequence %d holds %d tokens, so pos must be %d, got %d", i,
                            w->seq_id, len, len, w->pos);
    if (w->n_tokens < 1)
        return db_error_set(err, DB_ERR_INVALID, "work[%d]: n_tokens must be >= 1, got %d", i,
                            w->n_tokens);
    if ((int64_t)w->pos + w->n_tokens > m->max_seq_len)
        return db_error_set(err, DB_ERR_INVALID,
                            "work[%d]: positions %d..%lld exceed max_seq_len %d of model '%s'", i,
                            w->pos, (long long)w->pos + w->n_tokens - 1, m->max_seq_len, m->name);
    if (!w->tokens) return db_error_set(err, DB_ERR_INVALID, "work[%d]: tokens is NULL", i);
    for (int t = 0; t < w->n_tokens; t++)
        if (w->tokens[t] < 0 || w->tokens[t] >= m->vocab_size)
            return db_error_set(err, DB_ERR_INVALID,
                                "work[%d]: token %d (index %d) is outside the vocabulary [0, %d)",
                                i, (int)w->tokens[t], t, m->vocab_size);
    return DB_OK;
}

static db_status grow_scratch(db_engine *e, int n, db_error *err) {
    if (n <= e->scratch_cap) return DB_OK;
    int *ids = realloc(e->seq_ids, (size_t)n * sizeof *ids);
    if (ids) e->seq_ids = ids;
    int *nn = realloc(e->n_new, (size_t)n * sizeof *nn);
    if (nn) e->n_new = nn;
    db_backend_seq_view *v = realloc(e->views, (size_t)n * sizeof *v);
    if (v) e->views = v;
    if (!ids || !nn || !v)
        return db_error_set(err, DB_ERR_NOMEM, "engine: out of memory for a step of %d items", n);
    e->scratch_cap = n;
    return DB_OK;
}

db_status db_engine_step(db_engine *e, const db_work *work, int n, db_step_result *res,
                         db_error *err) {
    if (n < 1 || !work)
        return db_error_set(err, DB_ERR_INVALID, "a step needs at least one work item, got %d", n);
    if (!res || !res->next_tokens)
        return db_error_set(err, DB_ERR_INVALID,
                            "a step needs a result with next_tokens (length >= %d)", n);
    for (int i = 0; i < n; i++) {
        db_status st = check_item(e, &work[i], i, err);
        if (st != DB_OK) return st;
    }
    db_status st = grow_scratch(e, n, err);
    if (st != DB_OK) return st;
    for (int i = 0; i < n; i++)
        e->seq_ids[i] = work[i].seq_id, e->n_new[i] = work[i].n_tokens;
    st = db_kv_reserve(e->kv, e->seq_ids, e->n_new, n, err); /* all or nothing */
    if (st != DB_OK) return st;
    for (int i = 0; i < n; i++) {
        e->views[i].blocks = db_kv_seq_blocks(e->kv, work[i].seq_id, &e->views[i].n_blocks);
        res->next_tokens[i] = -1;
    }
    res->step_seconds = res->device_seconds = 0.0;
    st = e->ops->step(e->state, work, e->views, n, res, err);
    if (st != DB_OK) db_kv_unreserve(e->kv, e->seq_ids, e->n_new, n);
    return st;
}

void db_engine_cost(const db_engine *e, const db_work *work, int n, db_cost *out) {
    db_cost_model(&e->opts.model, e->opts.precision, e->opts.kv_dtype, work, n, out);
}

/* ---- profiling (engine.h) ---------------------------------------------------------------------- */

db_status db_engine_profiler_start(db_engine *e, db_error *err) {
    return e->ops->profiler ? e->ops->profiler(e->state, 1, err) : DB_OK;
}

db_status db_engine_profiler_stop(db_engine *e, db_error *err) {
    return e->ops->profiler ? e->ops->profiler(e->state, 0, err) : DB_OK;
}

int db_engine_has_device_profiler(const db_engine *e) {
    return e->ops->profiler != NULL;
}

const char *db_kernel_op_name(int op) {
    if (op >= 0 && op < DB_OP_COUNT) return db_op_class_name((db_op_class)op);
    return op == DB_KERNEL_OP_EMBEDDING ? "embedding" : "";
}

db_status db_engine_kernel_trace_drain(db_engine *e, int final, db_kernel_sink sink, void *ctx,
                                       db_error *err) {
    if (!e->kernel_trace)
        return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: not enabled at open");
#ifdef DECODEBENCH_HAVE_CUDA
    return db_cupti_drain(final, sink, ctx, err);
#else
    (void)final, (void)sink, (void)ctx;
    return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: built without CUDA");
#endif
}

db_status db_engine_kernel_trace_clock_ns(db_engine *e, int64_t *now_ns, db_error *err) {
    if (!e->kernel_trace)
        return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: not enabled at open");
#ifdef DECODEBENCH_HAVE_CUDA
    return db_cupti_now_ns(now_ns, err);
#else
    (void)now_ns;
    return db_error_set(err, DB_ERR_UNSUPPORTED, "kernel trace: built without CUDA");
#endif
}

uint64_t db_engine_kernel_trace_dropped(const db_engine *e) {
#ifdef DECODEBENCH_HAVE_CUDA
    return e->kernel_trace ? db_cupti_dropped() : 0;
#else
    (void)e;
    return 0;
#endif
}
