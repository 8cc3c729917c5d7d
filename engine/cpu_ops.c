/* cpu_ops.c — RMSNorm, RoPE, SwiGLU, residual add and rounding over the rows of a step. */
#include "cpu_ops.h"

#include <math.h>

#include "linear.h"

/* Below this many element operations a job runs on the calling thread (waking workers costs more).
 */
#define DB_CPU_PARALLEL_MIN 32768

typedef void (*range_fn)(void *ctx, size_t begin, size_t end);

typedef struct range_job {
    range_fn fn;
    void *ctx;
    size_t n;
    size_t align;
} range_job;

static void range_run(void *arg, int thread_idx, int n_threads) {
    const range_job *j = arg;
    int64_t b, e;
    db_threadpool_split((int64_t)j->n, (int64_t)j->align, thread_idx, n_threads, &b, &e);
    if (b < e) j->fn(j->ctx, (size_t)b, (size_t)e);
}

/* fn over [0, n) split into aligned ranges; `ops` is the work of one unit, to decide on threading.
 */
static void parallel_range(db_threadpool *pool, size_t n, size_t align, size_t ops, range_fn fn,
                           void *ctx) {
    if (n == 0) return;
    if (db_threadpool_size(pool) == 1 || n * ops < DB_CPU_PARALLEL_MIN) {
        fn(ctx, 0, n);
        return;
    }
    range_job j = {fn, ctx, n, align};
    db_threadpool_run(pool, range_run, &j);
}

/* ---- RMSNorm ------------------------------------------------------------------------------------
 */

typedef struct rmsnorm_ctx {
    float *out;
    const float *x, *g;
    int d;
    float eps;
} rmsnorm_ctx;

static void rmsnorm_rows(void *arg, size_t r0, size_t r1) {
    const rmsnorm_ctx *c = arg;
    for (size_t r = r0; r < r1; r++) {
        const float *x = c->x + r * (size_t)c->d;
        float *o = c->out + r * (size_t)c->d;
        float ss = 0.0f;
        for (int j = 0; j < c->d; j++)
            ss += x[j] * x[j];
        ss /= (float)c->d;
        ss += c->eps;
        ss = 1.0f / sqrtf(ss);
        for (int j = 0; j < c->d; j++)
            o[j] = c->g[j] * (ss * x[j]);
    }
}

void db_cpu_rmsnorm(db_threadpool *pool, float *out, const float *x, const float *g, int T, int d,
                    float eps) {
    rmsnorm_ctx c = {out, x, g, d, eps};
    parallel_range(pool, (size_t)T, 1, (size_t)d * 3, rmsnorm_rows, &c);
}

/* ---- RoPE ---------------------------------------------------------------------------------------
 */

void db_cpu_rope_freq(float *freq, int head_size, float theta) {
    for (int i = 0; i < head_size; i += 2)
        freq[i / 2] = 1.0f / powf(theta, (float)i / (float)head_size);
}

typedef struct rope_ctx {
    float *q, *k;
    const int *pos;
    int q_dim, kv_dim, head_size;
    const float *freq;
} rope_ctx;

static void rotate(float *vec, int i, float fcr, float fci) {
    float v0 = vec[i], v1 = vec[i + 1];
    vec[i] = v0 * fcr - v1 * fci;
    vec[i + 1] = v0 * fci + v1 * fcr;
}

static void rope_rows(void *arg, size_t r0, size_t r1) {
    const rope_ctx *c = arg;
    for (size_t t = r0; t < r1; t++) {
        float *q = c->q + t * (size_t)c->q_dim, *k = c->k + t * (size_t)c->kv_dim;
        for (int i = 0; i < c->head_size; i += 2) { /* one angle per pair index, all heads */
            float val = (float)c->pos[t] * c->freq[i / 2];
            float fcr = cosf(val), fci = sinf(val);
            for (int h = 0; h < c->q_dim; h += c->head_size)
                rotate(q, h + i, fcr, fci);
            for (int h = 0; h < c->kv_dim; h += c->head_size)
                rotate(k, h + i, fcr, fci);
        }
    }
}

void db_cpu_rope(db_threadpool *pool, float *q, float *k, const int *pos, int T, int q_dim,
                 int kv_dim, int head_size, const float *freq) {
    rope_ctx c = {q, k, pos, q_dim, kv_dim, head_size, freq};
    parallel_range(pool, (size_t)T, 1, (size_t)(q_dim + kv_dim) * 4, rope_rows, &c);
}

/* ---- SwiGLU, residual, rounding
 * ------------------------------------------------------------------ */

typedef struct pair_ctx {
    float *x;
    const float *y;
    db_precision p;
} pair_ctx;

static void swiglu_range(void *arg, size_t b, size_t e) {
    const pair_ctx *c = arg;
    for (size_t i = b; i < e; i++) {
        float g = c->x[i];
        c->x[i] = g * (1.0f / (1.0f + expf(-g))) * c->y[i];
    }
}

void db_cpu_swiglu(db_threadpool *pool, float *gate, const float *up, size_t n) {
    pair_ctx c = {gate, up, DB_PREC_FP32};
    parallel_range(pool, n, 16, 8, swiglu_range, &c);
}

static void add_range(void *arg, size_t b, size_t e) {
    const pair_ctx *c = arg;
    for (size_t i = b; i < e; i++)
        c->x[i] += c->y[i];
}

void db_cpu_add(db_threadpool *pool, float *x, const float *y, size_t n) {
    pair_ctx c = {x, y, DB_PREC_FP32};
    parallel_range(pool, n, 16, 1, add_range, &c);
}

static void round_range(void *arg, size_t b, size_t e) {
    const pair_ctx *c = arg;
    db_round_buffer_to_precision(c->x + b, e - b, c->p);
}

void db_cpu_round(db_threadpool *pool, float *x, size_t n, db_precision p) {
    if (db_precision_act_type(p) == DB_NUM_F32) return;
    pair_ctx c = {x, NULL, p};
    parallel_range(pool, n, 16, 4, round_range, &c);
}
