/* cpu_ceilings.c — streaming bandwidth and GEMM throughput microbenchmarks (see cpu_ceilings.h). */
#include "cpu_ceilings.h"

#include "ceilings.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)
#define MAX_THREADS 256
#define MAX_REPS 64

static float *alloc_huge(size_t bytes) {
    size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    float *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

const char *db_bw_kernel_name(db_bw_kernel k) {
    static const char *const names[DB_BW_COUNT] = {"copy_memcpy", "copy_nt", "read"};
    return (unsigned)k < DB_BW_COUNT ? names[k] : "?";
}

static void copy_nt(float *dst, const float *src, size_t n) {
#if defined(__AVX2__)
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 4; j++)
            _mm256_stream_ps(dst + i + 8 * j, _mm256_loadu_ps(src + i + 8 * j));
    _mm_sfence();
    memcpy(dst + i, src + i, (n - i) * sizeof(float));
#else
    memcpy(dst, src, n * sizeof(float));
#endif
}

static float read_sum(const float *src, size_t n) {
    size_t i = 0;
    float total = 0.0f;
#if defined(__AVX2__)
    __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 4; j++)
            a[j] = _mm256_add_ps(a[j], _mm256_loadu_ps(src + i + 8 * j));
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
    for (int j = 0; j < 8; j++)
        total += lanes[j];
#endif
    for (; i < n; i++)
        total += src[i];
    return total;
}

typedef struct bw_share {
    db_bw_kernel kind;
    float *src, *dst; /* this thread's share */
    size_t n;
    volatile float sink;
} bw_share;

static void *bw_thread(void *arg) {
    bw_share *s = arg;
    switch (s->kind) {
    case DB_BW_COPY_MEMCPY:
        memcpy(s->dst, s->src, s->n * sizeof(float));
        break;
    case DB_BW_COPY_NT:
        copy_nt(s->dst, s->src, s->n);
        break;
    default:
        s->sink = read_sum(s->src, s->n);
        break;
    }
    return NULL;
}

/* One timed run: threads - 1 new pthreads plus the caller, each on its share. */
static double bw_run(bw_share *shares, int threads) {
    pthread_t tid[MAX_THREADS];
    double t0 = db_ceil_now_s();
    int started = 0;
    for (int t = 1; t < threads; t++)
        if (!pthread_create(&tid[started], NULL, bw_thread, &shares[t]))
            started++;
        else
            bw_thread(&shares[t]);
    bw_thread(&shares[0]);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    return db_ceil_now_s() - t0;
}

int db_cpu_bandwidth(db_bw_kernel k, size_t bytes, int threads, int reps, double *gbps) {
    *gbps = 0;
    if ((unsigned)k >= DB_BW_COUNT || threads < 1 || threads > MAX_THREADS || reps < 1 ||
        reps > MAX_REPS || bytes < 4096)
        return -1;
    size_t n = bytes / sizeof(float);
    float *src = alloc_huge(n * sizeof(float)), *dst = alloc_huge(n * sizeof(float));
    if (!src || !dst) {
        free(src);
        free(dst);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        src[i] = dst[i] = (float)(i & 1023);
    bw_share shares[MAX_THREADS];
    size_t per = (n / (size_t)threads + 1023) / 1024 * 1024; /* 4 KiB-aligned shares */
    for (int t = 0; t < threads; t++) {
        size_t b = (size_t)t * per < n ? (size_t)t * per : n;
        size_t e = b + per < n ? b + per : n;
        shares[t] = (bw_share){.kind = k, .src = src + b, .dst = dst + b, .n = e - b};
    }
    double times[MAX_REPS];
    bw_run(shares, threads); /* warm-up */
    for (int r = 0; r < reps; r++)
        times[r] = bw_run(shares, threads);
    double moved = (double)(n * sizeof(float)) * (k == DB_BW_READ ? 1.0 : 2.0);
    *gbps = moved / db_ceil_median(times, reps) / 1e9;
    free(src);
    free(dst);
    return 0;
}

int db_cpu_sgemm_gflops(int n, int threads, int reps, double *gflops) {
    *gflops = 0;
    if (n < 1 || n > 32768 || threads < 1 || reps < 1 || reps > MAX_REPS) return -1;
    size_t nn = (size_t)n * (size_t)n;
    float *a = alloc_huge(nn * sizeof(float)), *b = alloc_huge(nn * sizeof(float)),
          *c = alloc_huge(nn * sizeof(float));
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(i % 7) * 0.25f - 0.75f;
        b[i] = (float)(i % 5) * 0.5f - 1.0f;
        c[i] = 0.0f;
    }
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(threads);
    double times[MAX_REPS];
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
        double t0 = db_ceil_now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        if (r >= 0) times[r] = db_ceil_now_s() - t0;
    }
    openblas_set_num_threads(saved);
    *gflops = 2.0 * (double)n * (double)n * (double)n / db_ceil_median(times, reps) / 1e9;
    free(a);
    free(b);
    free(c);
    return 0;
}
