/* cuda_ceilings.h — the GPU's measured roofline ceilings: device-to-device copy bandwidth and the
 * cuBLAS / cuBLASLt GEMM peak of each compute type (fp32, tf32, fp16, bf16, fp8, int8), in one run.
 *
 * What it is for: `decodebench roofline` on the cuda backend and the GPU benchmarks
 * (tests/bench/bench_gpu_*.c) price against ceilings measured on the device, not datasheet figures.
 *   copy  cudaMemcpyAsync device to device of `copy_bytes` (default 1 GiB), counted as bytes read +
 *         written (2 x copy_bytes per run);
 *   GEMM  C (n x n) = A (n x n) B (n x n), n = gemm_n (default 8192), 2 n^3 FLOPs, seeded random
 *         operands (never zeros) generated on the device: fp32 (fp32 compute), tf32 (fp32 operands,
 *         CUBLAS_COMPUTE_32F_FAST_TF32), fp16 and bf16 (16-bit in and out, fp32 accumulation), fp8
 *         (cuBLASLt e4m3 x e4m3 -> bf16, compute capability 8.9+), int8 (int8 x int8 -> int32).
 * Each figure is the median of `reps` runs timed with CUDA events after `warmup` untimed runs; the
 * operands (>= 128 MiB at n = 8192) exceed the L2 cache. A GEMM type the device lacks is marked not
 * available (rate 0) with the reason.
 * In a build without CUDA the inline version answers DB_ERR_UNSUPPORTED.
 * What it must not do: print, exit, or leave device memory allocated.
 */
#ifndef DB_CUDA_CEILINGS_H
#define DB_CUDA_CEILINGS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices.h" /* db_peak_type */
#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct db_cuda_ceiling {
    int available; /* 0: not measured (see method for why) */
    double rate;   /* bytes/s (copy) or FLOP/s (GEMM), from the median time */
    double work;   /* bytes or FLOPs of one run */
    double median_s, min_s, max_s;
    int reps;
    char method[192]; /* what was run */
} db_cuda_ceiling;

typedef struct db_cuda_ceilings {
    char device[256];
    db_cuda_ceiling copy;
    db_cuda_ceiling gemm[DB_PEAK_COUNT]; /* indexed by db_peak_type */
} db_cuda_ceilings;

typedef struct db_cuda_ceilings_opts {
    int device;
    size_t copy_bytes; /* 0: 1 GiB; (size_t)-1: skip the copy */
    int gemm_n;        /* 0: 8192; < 0: skip the GEMMs */
    int warmup;        /* 0: 3 */
    int reps;          /* 0: 20 */
    uint64_t seed;
} db_cuda_ceilings_opts;

#ifdef DECODEBENCH_HAVE_CUDA
db_status db_cuda_measure_ceilings(const db_cuda_ceilings_opts *o, db_cuda_ceilings *out,
                                   db_error *err);
#else
static inline db_status db_cuda_measure_ceilings(const db_cuda_ceilings_opts *o,
                                                 db_cuda_ceilings *out, db_error *err) {
    (void)o;
    memset(out, 0, sizeof *out);
    return db_error_set(err, DB_ERR_UNSUPPORTED, "CUDA ceilings: built without CUDA");
}
#endif

#ifdef __cplusplus
}
#endif
#endif
