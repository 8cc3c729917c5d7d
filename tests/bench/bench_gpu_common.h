/* bench_gpu_common.h — helpers of the GPU benchmarks (tests/bench/bench_gpu_*.c): the skip rule,
 * event timing with the median of repeats (optionally flushing the L2 cache before each timed run),
 * flag parsing and the RESULT lines ci/gpu-check collects.
 *
 * Output: a table for people, then one line per headline figure, `RESULT <name> <value> <unit>`.
 * Exit codes: 0 measured, 77 skipped (no CUDA in the build or no device), 1 failed, 2 bad flags.
 */
#ifndef DB_BENCH_GPU_COMMON_H
#define DB_BENCH_GPU_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "engine.h"

/* 0 when the benchmark can run, else 77 after saying why. */
static inline int bench_gpu_skip(const char *prog) {
#ifdef DECODEBENCH_HAVE_CUDA
    if (db_cuda_device_count() > 0) return 0;
    printf("%s: skipped: no CUDA device answers\n", prog);
#else
    printf("%s: skipped: this build has no CUDA backend\n", prog);
#endif
    return 77;
}

static inline void bench_result(const char *name, double value, const char *unit) {
    printf("RESULT %s %.6g %s\n", name, value, unit);
}

/* "--flag N" integer flags: 0 when argv[*i] is `flag` and the value parsed into *out (i advanced);
 * 1 when it is another flag; -1 (message printed) for a missing or bad value. */
static inline int bench_int_flag(int argc, char **argv, int *i, const char *flag, long *out) {
    if (strcmp(argv[*i], flag)) return 1;
    char *end = NULL;
    if (*i + 1 >= argc || (*out = strtol(argv[*i + 1], &end, 10), !end || *end || *out < 0)) {
        fprintf(stderr, "%s expects a non-negative integer\n", flag);
        return -1;
    }
    ++*i;
    return 0;
}

#ifdef DECODEBENCH_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_check.h"

typedef db_status (*bench_fn)(void *ctx, db_error *err);

static int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of reps runs of fn (after warmup runs), each timed alone between two events on
 * stream s; flush (device, flush_bytes, may be NULL) is overwritten before each run to empty the
 * L2. */
static inline db_status bench_time(bench_fn fn, void *ctx, cudaStream_t s, int warmup, int reps,
                                   void *flush, size_t flush_bytes, double *median_s,
                                   db_error *err) {
    cudaEvent_t e0, e1;
    double t[256];
    if (reps < 1) reps = 1;
    if (reps > 256) reps = 256;
    DB_CUDA_TRY(err, cudaEventCreate(&e0));
    DB_CUDA_TRY(err, cudaEventCreate(&e1));
    db_status st = DB_OK;
    for (int i = 0; st == DB_OK && i < warmup + reps; i++) {
        float ms = 0.0f;
        if (flush && (st = DB_CUDA_CHECK(err, cudaMemsetAsync(flush, i & 0xFF, flush_bytes, s))))
            break;
        if ((st = DB_CUDA_CHECK(err, cudaEventRecord(e0, s))) || (st = fn(ctx, err)) ||
            (st = DB_CUDA_CHECK(err, cudaEventRecord(e1, s))) ||
            (st = DB_CUDA_CHECK(err, cudaEventSynchronize(e1))) ||
            (st = DB_CUDA_CHECK(err, cudaEventElapsedTime(&ms, e0, e1))))
            break;
        if (i >= warmup) t[i - warmup] = ms * 1e-3;
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    if (st != DB_OK) return st;
    qsort(t, (size_t)reps, sizeof t[0], bench_cmp);
    *median_s = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    return DB_OK;
}
#endif

#endif
