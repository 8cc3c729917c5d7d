/* bench_cpu_ceilings.c — this machine's memory-bandwidth and fp32 GEMM ceilings, the yardsticks of
 * the CPU linear-layer benchmarks.
 *
 *   bench_cpu_ceilings [--mib N] [--threads T] [--reps R] [--gemm-sizes 2048,4096]
 *
 * Bandwidth over buffers far larger than L3 (default 1024 MiB each), split across T threads
 * (default: all CPUs) of the engine's thread pool; the median of R timed repeats after one warm-up:
 *   copy (memcpy)     glibc memcpy per thread share; bytes = read + written (2 x size), as STREAM
 * counts. copy (nt stores)  AVX2 loads + non-temporal stores (no write-allocate traffic); same byte
 * count. read (sum)        AVX2 sum of the floats of one buffer; bytes = size. (A GEMV reads like
 * this.) fp32 GEMM: OpenBLAS cblas_sgemm, n x n x n, its own T threads, 2 n^3 FLOPs, the median of
 * R.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "threadpool.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef enum { K_MEMCPY, K_NT_COPY, K_READ } kernel_kind;

typedef struct bw_job {
    kernel_kind kind;
    float *src, *dst;
    size_t n_floats;
    double sums[64];
} bw_job;

static void nt_copy(float *dst, const float *src, size_t n) {
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

static double read_sum(const float *src, size_t n) {
#if defined(__AVX2__)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(src + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(src + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(src + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(src + i + 24));
    }
    float t[8];
    _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    double s = 0;
    for (int j = 0; j < 8; j++)
        s += t[j];
    for (; i < n; i++)
        s += src[i];
    return s;
#else
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += src[i];
    return s;
#endif
}

static void bw_thread(void *arg, int t, int nt) {
    bw_job *j = arg;
    int64_t b, e;
    db_threadpool_split((int64_t)j->n_floats, 1024, t, nt, &b, &e);
    size_t n = (size_t)(e - b);
    switch (j->kind) {
    case K_MEMCPY:
        memcpy(j->dst + b, j->src + b, n * sizeof(float));
        break;
    case K_NT_COPY:
        nt_copy(j->dst + b, j->src + b, n);
        break;
    case K_READ:
        j->sums[t] = read_sum(j->src + b, n);
        break;
    }
}

static double bandwidth(db_threadpool *pool, bw_job *j, int reps) {
    double t[64];
    db_threadpool_run(pool, bw_thread, j); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        db_threadpool_run(pool, bw_thread, j);
        t[r] = now_s() - t0;
    }
    double bytes = (double)j->n_floats * sizeof(float) * (j->kind == K_READ ? 1.0 : 2.0);
    return bytes / median(t, reps) / 1e9;
}

static double gemm_gflops(int n, int reps) {
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float)),
          *c = malloc(nn * sizeof(float));
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(i % 7) * 0.25f - 0.75f;
        b[i] = (float)(i % 5) * 0.5f - 1.0f;
    }
    double t[64];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        t[r] = now_s() - t0;
    }
    free(a), free(b), free(c);
    return 2.0 * (double)n * (double)n * (double)n / median(t, reps) / 1e9;
}

int main(int argc, char **argv) {
    size_t mib = 1024;
    int threads = 0, reps = 7;
    char sizes[256] = "2048,4096";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gemm-sizes") && i + 1 < argc)
            snprintf(sizes, sizeof sizes, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--mib N] [--threads T] [--reps R] [--gemm-sizes a,b]\n",
                    argv[0]);
            return 2;
        }
    }
    if (mib < 1 || reps < 1 || reps > 64) {
        fprintf(stderr, "bench_cpu_ceilings: --mib must be >= 1 and --reps in 1..64\n");
        return 2;
    }
    db_threadpool *pool;
    db_error err;
    if (db_threadpool_create(threads, &pool, &err)) {
        fprintf(stderr, "bench_cpu_ceilings: %s\n", err.msg);
        return 1;
    }
    int nt = db_threadpool_size(pool);
    size_t n = mib * 1024 * 1024 / sizeof(float);
    float *src = aligned_alloc(64, n * sizeof(float)), *dst = aligned_alloc(64, n * sizeof(float));
    if (!src || !dst) {
        fprintf(stderr, "bench_cpu_ceilings: cannot allocate 2 x %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        src[i] = dst[i] = (float)(i & 1023);
    printf("# buffers %zu MiB, %d threads, median of %d after 1 warm-up\n", mib, nt, reps);
    printf("%-28s %12s\n", "ceiling", "value");
    const char *names[] = {"copy (memcpy) GB/s", "copy (nt stores) GB/s", "read (sum) GB/s"};
    for (int k = 0; k < 3; k++) {
        bw_job j = {.kind = (kernel_kind)k, .src = src, .dst = dst, .n_floats = n};
        printf("%-28s %12.2f\n", names[k], bandwidth(pool, &j, reps));
    }
    free(src);
    free(dst);
    openblas_set_num_threads(nt);
    for (char *s = strtok(sizes, ","); s; s = strtok(NULL, ",")) {
        int g = atoi(s);
        if (g < 1) continue;
        char label[64];
        snprintf(label, sizeof label, "sgemm %d^3 GFLOP/s", g);
        printf("%-28s %12.1f\n", label, gemm_gflops(g, reps < 5 ? reps : 5));
    }
    db_threadpool_destroy(pool);
    return 0;
}
