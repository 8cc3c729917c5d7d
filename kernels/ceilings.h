/* ceilings.h — host microbenchmarks for the roofline's ceilings: sustained memory bandwidth (a
 * streaming copy and a read-only sum over buffers far larger than the last-level cache) and peak
 * fp32 FLOP/s (OpenBLAS SGEMM), each the median of repeated timed runs after warm-up; plus the
 * timing helper that other measurements (a backend's own GEMM paths) plug into.
 *
 * Byte counts: copy moves 2 x buffer bytes per run (read + written, as STREAM counts them; the
 * write-allocate traffic of ordinary stores is not counted); read moves 1 x buffer bytes.
 * FLOP counts: SGEMM of (m x k) by (k x n) is 2*m*n*k.
 * Buffers hold non-zero data (a pattern), never all zeros.
 *
 * What it must not do: know about models, engines, backends or the ceilings JSON; print; exit.
 */
#ifndef DB_CEILINGS_H
#define DB_CEILINGS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DB_CEIL_MAX_REPS 101

/* Timings of one measurement, seconds. */
typedef struct db_ceil_timing {
    double median_s, min_s, max_s;
    int reps;
} db_ceil_timing;

/* One run of the timed work; returns 0, or non-zero to abandon the measurement. */
typedef int (*db_ceil_fn)(void *ctx);

/* Runs fn warmup times untimed, then reps times (1..DB_CEIL_MAX_REPS) timed with CLOCK_MONOTONIC;
 * fills out. Returns 0, -1 for bad counts, or fn's non-zero status. */
int db_ceil_time(db_ceil_fn fn, void *ctx, int warmup, int reps, db_ceil_timing *out);

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean anything). */
double db_ceil_now_s(void);

/* Median of v[0..n) (n >= 1; the mean of the middle two for even n). Sorts v. */
double db_ceil_median(double *v, int n);

typedef enum db_ceil_bw_kind {
    DB_CEIL_COPY = 0, /* memcpy of a buffer into another: 2 x bytes per run */
    DB_CEIL_READ = 1, /* sum of the floats of a buffer: 1 x bytes per run */
} db_ceil_bw_kind;

const char *db_ceil_bw_kind_name(db_ceil_bw_kind k); /* "copy", "read" */

typedef struct db_ceil_result {
    double rate; /* bytes/s (bandwidth) or FLOP/s (GEMM), from the median time */
    double work; /* bytes or FLOPs of one run */
    db_ceil_timing t;
    int threads;
} db_ceil_result;

/* Bandwidth over buffers of buffer_bytes each (rounded down to whole 4 KiB pages; >= 1 MiB), split
 * across `threads` threads (the caller's plus threads - 1 it starts; <= 0: one per online CPU) that
 * start each run together. Returns 0, or -1 with a message in err (allocation, thread creation). */
int db_ceil_bandwidth(db_ceil_bw_kind kind, size_t buffer_bytes, int threads, int warmup, int reps,
                      db_ceil_result *out, char *err, size_t errlen);

/* cblas_sgemm C (m x n) = A (m x k) B (k x n), row-major, with OpenBLAS set to `threads` threads
 * (<= 0: one per online CPU) for the measurement and set back to its previous count afterwards.
 * Returns 0, or -1 with a message in err. */
int db_ceil_sgemm(int m, int n, int k, int threads, int warmup, int reps, db_ceil_result *out,
                  char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
