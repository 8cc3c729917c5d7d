/* cpu_ceilings.h — host microbenchmarks for the CPU's roofline ceilings: streaming memory bandwidth
 * and fp32 GEMM throughput.
 *
 * What it is for: measuring, not assuming, the two numbers a CPU roofline needs, the same way the
 * linear-layer benchmarks are judged against them. Buffers are 2 MiB aligned and asked for
 * transparent huge pages (MADV_HUGEPAGE), as the engine's weight storage is, and first touched
 * before timing; each figure is the median of `reps` timed repeats after one warm-up, on `threads`
 * pthreads that each own a contiguous share.
 * What it must not do: print, exit, or depend on engine/ (it uses raw pthreads, not the engine's
 * pool). It changes OpenBLAS's thread count only inside db_cpu_sgemm_gflops, and restores it.
 */
#ifndef DB_KERNELS_CPU_CEILINGS_H
#define DB_KERNELS_CPU_CEILINGS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum db_bw_kernel {
    DB_BW_COPY_MEMCPY = 0, /* glibc memcpy; bytes = read + written (2 x size), as STREAM counts */
    DB_BW_COPY_NT,         /* AVX2 loads + non-temporal stores (plain copy without AVX2) */
    DB_BW_READ,            /* sum of the floats of one buffer; bytes = size (how a GEMV reads) */
    DB_BW_COUNT
} db_bw_kernel;

const char *db_bw_kernel_name(db_bw_kernel k); /* "copy_memcpy", "copy_nt", "read" */

/* Bandwidth in GB/s (1e9 bytes/s) of kernel k over buffers of `bytes` each (choose far larger than
 * the last-level cache), threads >= 1, 1 <= reps <= 64. Returns 0, or -1 if the buffers cannot be
 * allocated or an argument is out of range (then *gbps = 0). */
int db_cpu_bandwidth(db_bw_kernel k, size_t bytes, int threads, int reps, double *gbps);

/* fp32 GEMM throughput in GFLOP/s (2 n^3 FLOPs per call) of OpenBLAS cblas_sgemm, n x n x n,
 * OpenBLAS running `threads` threads, 1 <= reps <= 64. Returns 0, or -1 on allocation failure or
 * bad arguments (then *gflops = 0). */
int db_cpu_sgemm_gflops(int n, int threads, int reps, double *gflops);

#ifdef __cplusplus
}
#endif
#endif
