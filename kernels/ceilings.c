/* ceilings.c — memory-bandwidth and SGEMM microbenchmarks (ceilings.h). */
#include "ceilings.h"

#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define PAGE_BYTES 4096u
#define SLICE_ALIGN_FLOATS 1024u /* thread slices start on 4 KiB boundaries */
#define MAX_THREADS 1024

double db_ceil_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double db_ceil_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int db_ceil_time(db_ceil_fn fn, void *ctx, int warmup, int reps, db_ceil_timing *out) {
    if (warmup < 0 || reps < 1 || reps > DB_CEIL_MAX_REPS) return -1;
    for (int i = 0; i < warmup; i++) {
        int rc = fn(ctx);
        if (rc) return rc;
    }
    double t[DB_CEIL_MAX_REPS];
    for (int r = 0; r < reps; r++) {
        double t0 = db_ceil_now_s();
        int rc = fn(ctx);
        t[r] = db_ceil_now_s() - t0;
        if (rc) return rc;
    }
    out->reps = reps;
    out->median_s = db_ceil_median(t, reps); /* sorted from here on */
    out->min_s = t[0];
    out->max_s = t[reps - 1];
    return 0;
}

const char *db_ceil_bw_kind_name(db_ceil_bw_kind k) {
    return k == DB_CEIL_COPY ? "copy" : k == DB_CEIL_READ ? "read" : "?";
}

static int online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* ---- bandwidth: a team of threads that start every run together --------------------------------
 */

typedef struct bw_team {
    db_ceil_bw_kind kind;
    float *src; /* (n) */
    float *dst; /* (n) copy only */
    size_t n;
    int nt;      /* slices: the caller's thread plus nt - 1 workers */
    int workers; /* workers actually running */
    pthread_mutex_t mu;
    pthread_cond_t go, finished;
    uint64_t generation; /* incremented to start a run */
    int n_done;          /* workers done with the current run */
    int quit;
    double *sums; /* (nt * 8): one 64-byte line per thread, so the sums share no cache line */
} bw_team;

typedef struct bw_arg {
    bw_team *team;
    int idx;
} bw_arg;

static double read_sum(const float *src, size_t n) {
#if defined(__AVX2__)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(src + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(src + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(src + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(src + i + 24));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    double s = 0;
    for (int j = 0; j < 8; j++)
        s += lanes[j];
#else
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            a[j] += src[i + j];
    double s = 0;
    for (int j = 0; j < 8; j++)
        s += a[j];
#endif
    for (; i < n; i++)
        s += src[i];
    return s;
}

static void bw_slice(bw_team *t, int idx) {
    size_t units = (t->n + SLICE_ALIGN_FLOATS - 1) / SLICE_ALIGN_FLOATS;
    size_t per = units / (size_t)t->nt, extra = units % (size_t)t->nt, u = (size_t)idx;
    size_t b = (u * per + (u < extra ? u : extra)) * SLICE_ALIGN_FLOATS;
    size_t e = b + (per + (u < extra)) * SLICE_ALIGN_FLOATS;
    if (e > t->n) e = t->n;
    if (b >= e) return;
    if (t->kind == DB_CEIL_COPY)
        memcpy(t->dst + b, t->src + b, (e - b) * sizeof(float));
    else
        t->sums[8 * idx] += read_sum(t->src + b, e - b);
}

static void *bw_worker(void *p) {
    bw_arg *a = p;
    bw_team *t = a->team;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        while (t->generation == seen && !t->quit)
            pthread_cond_wait(&t->go, &t->mu);
        seen = t->generation;
        int quit = t->quit;
        pthread_mutex_unlock(&t->mu);
        if (quit) return NULL;
        bw_slice(t, a->idx);
        pthread_mutex_lock(&t->mu);
        if (++t->n_done == t->workers) pthread_cond_signal(&t->finished);
        pthread_mutex_unlock(&t->mu);
    }
}

static int bw_run(void *ctx) {
    bw_team *t = ctx;
    pthread_mutex_lock(&t->mu);
    t->n_done = 0;
    t->generation++;
    pthread_cond_broadcast(&t->go);
    pthread_mutex_unlock(&t->mu);
    bw_slice(t, 0);
    pthread_mutex_lock(&t->mu);
    while (t->n_done < t->workers)
        pthread_cond_wait(&t->finished, &t->mu);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

static int bw_alloc(bw_team *t, size_t bytes, char *err, size_t errlen) {
    t->n = bytes / sizeof(float);
    t->src = aligned_alloc(PAGE_BYTES, bytes);
    t->dst = t->kind == DB_CEIL_COPY ? aligned_alloc(PAGE_BYTES, bytes) : NULL;
    t->sums = calloc((size_t)t->nt * 8, sizeof(double));
    if (!t->src || (t->kind == DB_CEIL_COPY && !t->dst) || !t->sums) {
        snprintf(err, errlen, "cannot allocate %s buffers of %zu MiB",
                 t->kind == DB_CEIL_COPY ? "two" : "one", bytes >> 20);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) /* a non-zero pattern; also maps every page */
        t->src[i] = (float)(i & 1023) * 0.5f + 1.0f;
    if (t->dst) memset(t->dst, 0x3f, bytes);
    return 0;
}

int db_ceil_bandwidth(db_ceil_bw_kind kind, size_t buffer_bytes, int threads, int warmup, int reps,
                      db_ceil_result *out, char *err, size_t errlen) {
    buffer_bytes -= buffer_bytes % PAGE_BYTES;
    if (buffer_bytes < (1u << 20)) {
        snprintf(err, errlen, "bandwidth buffers must be at least 1 MiB, got %zu bytes",
                 buffer_bytes);
        return -1;
    }
    bw_team t = {.kind = kind, .nt = threads > 0 ? threads : online_cpus()};
    if (t.nt > MAX_THREADS) t.nt = MAX_THREADS;
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.go, NULL);
    pthread_cond_init(&t.finished, NULL);
    pthread_t tid[MAX_THREADS];
    bw_arg args[MAX_THREADS];
    int rc = bw_alloc(&t, buffer_bytes, err, errlen);
    for (int i = 1; i < t.nt && rc == 0; i++) {
        args[i] = (bw_arg){&t, i};
        int e = pthread_create(&tid[i], NULL, bw_worker, &args[i]);
        if (e) {
            snprintf(err, errlen, "cannot start bandwidth thread %d: %s", i, strerror(e));
            rc = -1;
        } else {
            t.workers++;
        }
    }
    if (rc == 0 && db_ceil_time(bw_run, &t, warmup, reps, &out->t) != 0) {
        snprintf(err, errlen, "bandwidth: reps must be 1..%d and warm-up >= 0, got %d and %d",
                 DB_CEIL_MAX_REPS, reps, warmup);
        rc = -1;
    }
    pthread_mutex_lock(&t.mu);
    t.quit = 1;
    pthread_cond_broadcast(&t.go);
    pthread_mutex_unlock(&t.mu);
    for (int i = 1; i <= t.workers; i++)
        pthread_join(tid[i], NULL);
    if (rc == 0) {
        out->threads = t.nt;
        out->work = (double)(t.n * sizeof(float)) * (kind == DB_CEIL_COPY ? 2.0 : 1.0);
        out->rate = out->work / out->t.median_s;
    }
    pthread_cond_destroy(&t.go);
    pthread_cond_destroy(&t.finished);
    pthread_mutex_destroy(&t.mu);
    free(t.src);
    free(t.dst);
    free(t.sums);
    return rc;
}

/* ---- SGEMM ----------------------------------------------------------------------------------- */

typedef struct sgemm_job {
    int m, n, k;
    float *a, *b, *c; /* (m, k), (k, n), (m, n) row-major */
} sgemm_job;

static int sgemm_run(void *ctx) {
    sgemm_job *j = ctx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->m, j->n, j->k, 1.0f, j->a, j->k, j->b,
                j->n, 0.0f, j->c, j->n);
    return 0;
}

int db_ceil_sgemm(int m, int n, int k, int threads, int warmup, int reps, db_ceil_result *out,
                  char *err, size_t errlen) {
    if (m < 1 || n < 1 || k < 1 || m > 65536 || n > 65536 || k > 65536) {
        snprintf(err, errlen, "sgemm sizes must be 1..65536, got %d x %d x %d", m, n, k);
        return -1;
    }
    sgemm_job j = {m, n, k, NULL, NULL, NULL};
    j.a = malloc((size_t)m * (size_t)k * sizeof(float));
    j.b = malloc((size_t)k * (size_t)n * sizeof(float));
    j.c = malloc((size_t)m * (size_t)n * sizeof(float));
    if (!j.a || !j.b || !j.c) {
        free(j.a), free(j.b), free(j.c);
        snprintf(err, errlen, "cannot allocate the %d x %d x %d sgemm operands", m, n, k);
        return -1;
    }
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++)
        j.a[i] = (float)(i % 7) * 0.25f - 0.75f;
    for (size_t i = 0; i < (size_t)k * (size_t)n; i++)
        j.b[i] = (float)(i % 5) * 0.5f - 0.9f;
    int before = openblas_get_num_threads();
    int nt = threads > 0 ? threads : online_cpus();
    openblas_set_num_threads(nt);
    int rc = db_ceil_time(sgemm_run, &j, warmup, reps, &out->t);
    openblas_set_num_threads(before);
    free(j.a), free(j.b), free(j.c);
    if (rc) {
        snprintf(err, errlen, "sgemm: reps must be 1..%d and warm-up >= 0, got %d and %d",
                 DB_CEIL_MAX_REPS, reps, warmup);
        return -1;
    }
    out->threads = nt;
    out->work = 2.0 * (double)m * (double)n * (double)k;
    out->rate = out->work / out->t.median_s;
    return 0;
}
