/* sweep_ceilings.h — the ceilings a roofline or a sweep prices points against: measured on a
 * backend (what `decodebench roofline` runs), or taken from a datasheet preset or a ceilings JSON
 * file, and written back as a ceilings JSON file that engine/devices.h reads (so `--device
 * FILE.json` on the sim backend accepts it).
 *
 * Measurement plugs in per backend (db_ceilings_backends): cpu and cuda; a backend without one
 * answers DB_ERR_UNSUPPORTED. CUDA ceilings (engine/cuda_ceilings.h, device 0): memory_bandwidth =
 * device-to-device copy (bytes read + written), peaks = cuBLAS / cuBLASLt GEMMs of fp32, tf32,
 * fp16, bf16, fp8 (compute capability 8.9+) and int8, medians of CUDA-event-timed runs; the device
 * memory is the GPU's. CPU ceilings (kernels/ceilings.h for the microbenchmarks):
 *   memory_bandwidth  the larger of the streaming copy (bytes read + written) and the read-only
 *                     sum, over buffers far above the last-level cache (default 1 GiB each);
 *   fp32 peak         OpenBLAS SGEMM, n x n x n (default 2048), all threads;
 *   fp16, bf16, fp8   db_linear_forward of that scheme at batch B on an N x K matrix (default
 *                     512 on 4096 x 4096): the dequantising path the CPU backend runs, 2BNK FLOPs;
 *   int8, int4        the same, kept per scheme ("scheme_peak_tflops"): the JSON's "int8" key
 *                     means W8A8 int8 compute, which the CPU does not have (left out).
 * Each is the median of repeated timed runs after warm-up. Datasheet ceilings always carry source
 * "datasheet"; measured ones "measured".
 *
 * JSON written (devices.h's format plus fields its reader ignores):
 *   device, source, memory_bandwidth_GBps, memory_GB (host memory), peak_tflops {fp32, fp16, bf16,
 *   fp8}, scheme_peak_tflops {fp32, fp16, bf16, fp8, int8, int4}, measurements [{name, value, unit,
 *   median_s, min_s, max_s, reps, method}], fingerprint {the environment, as given}.
 *
 * What it must not do: print (measurements are reported through a callback), exit, or label a
 * datasheet figure as measured.
 */
#ifndef DB_SWEEP_CEILINGS_H
#define DB_SWEEP_CEILINGS_H

#include <stddef.h>

#include "devices.h"
#include "engine.h"
#include "metrics_kv.h"

#define DB_CEILINGS_MAX_MEASUREMENTS 16

/* One measured figure and how it was taken. */
typedef struct db_ceilings_measurement {
    char name[32];                 /* "copy", "read", "sgemm fp32", "linear bf16", ... */
    double value;                  /* in unit */
    char unit[16];                 /* "GB/s" or "TFLOP/s" */
    double median_s, min_s, max_s; /* per timed run */
    int reps;
    char method[200]; /* sizes, threads, byte or FLOP count per run */
} db_ceilings_measurement;

typedef struct db_ceilings {
    db_device_ceilings dev;            /* what devices.h and the sim read */
    double scheme_peak[DB_PREC_COUNT]; /* FLOP/s of each scheme's GEMM path as measured; 0: not
                                          measured (db_ceilings_peak falls back to dev) */
    db_ceilings_measurement meas[DB_CEILINGS_MAX_MEASUREMENTS];
    int n_meas;
    char origin[256]; /* the preset name or file it came from, or "measured: <backend>" */
} db_ceilings;

typedef struct db_ceilings_opts {
    size_t bandwidth_bytes; /* per buffer; default 1 GiB */
    int gemm_n;             /* SGEMM n x n x n; default 2048 */
    int linear_n, linear_k; /* dequantising paths: N x K weight; default 4096 x 4096 */
    int linear_batch;       /* B; default 512 */
    int threads;            /* <= 0: all online CPUs */
    int warmup;             /* untimed runs first; default 1 */
    int reps;               /* timed runs; default 7 (bandwidth) and 5 (GEMMs) when 0 */
    uint64_t seed;          /* synthetic weights and activations */
    /* Optional: called after each measurement (e.g. to print it). */
    void (*on_measurement)(void *ctx, const db_ceilings_measurement *m);
    void *ctx;
} db_ceilings_opts;

void db_ceilings_opts_default(db_ceilings_opts *o);

/* A backend's measurement. */
typedef db_status (*db_ceilings_measure_fn)(const db_ceilings_opts *o, db_ceilings *out,
                                            db_error *err);
typedef struct db_ceilings_backend {
    db_backend_kind kind;
    db_ceilings_measure_fn measure;
} db_ceilings_backend;

/* The backends that can measure their ceilings (terminated by a NULL measure). */
extern const db_ceilings_backend db_ceilings_backends[];

/* Measures the ceilings of backend b (cpu or cuda). DB_ERR_UNSUPPORTED naming the backend when it
 * has no measurement (sim: use a preset) or, for cuda, when no CUDA device answers or the build has
 * no CUDA ("the cuda backend: no CUDA device is present"). */
db_status db_ceilings_measure(db_backend_kind b, const db_ceilings_opts *o, db_ceilings *out,
                              db_error *err);

/* A datasheet preset (h100-sxm, ...) or a ceilings JSON file; a file's optional
 * "scheme_peak_tflops" object is read too (keys: precision names; numbers >= 0, TFLOP/s). */
db_status db_ceilings_resolve(const char *preset_or_path, db_ceilings *out, db_error *err);

/* Wraps a device's ceilings (no scheme peaks, no measurements). */
void db_ceilings_from_device(const db_device_ceilings *dev, const char *origin, db_ceilings *out);

/* Peak FLOP/s a precision scheme's GEMMs reach on these ceilings: the scheme's own measured peak
 * when there is one, else the device peak db_device_gemm_peak maps it to; 0 when not available. */
double db_ceilings_peak(const db_ceilings *c, db_precision p);
/* Ridge point AI* = db_ceilings_peak / bandwidth (FLOP per byte); 0 when unavailable. */
double db_ceilings_ridge(const db_ceilings *c, db_precision p);

/* The JSON text of c (malloc'ed, NULL when memory runs out); fingerprint may be NULL. */
char *db_ceilings_json(const db_ceilings *c, const db_kv_list *fingerprint);
/* Writes db_ceilings_json to path through a temporary file in the same directory and a rename. */
db_status db_ceilings_write(const char *path, const db_ceilings *c, const db_kv_list *fingerprint,
                            db_error *err);

#endif
