/* bench_cpu_ceilings.c — prints this machine's memory-bandwidth and fp32 GEMM ceilings
 * (kernels/cpu_ceilings.h), the yardsticks of the CPU linear-layer benchmarks.
 *
 *   bench_cpu_ceilings [--mib N] [--threads T] [--reps R] [--gemm-sizes 2048,4096]
 *
 * Bandwidth over two buffers of N MiB (default 1024, far beyond L3) on T threads (default: online
 * CPUs), GEMM n^3 for each listed size with OpenBLAS on T threads; each the median of R (default 7)
 * timed repeats after one warm-up (at most 5 repeats for a GEMM).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_ceilings.h"

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--mib N] [--threads T] [--reps R] [--gemm-sizes a,b,...]\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    long mib = 1024, threads = 0, reps = 7;
    char sizes[256] = "2048,4096";
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (i + 1 >= argc) return usage(argv[0]);
        if (!strcmp(argv[i], "--gemm-sizes")) {
            snprintf(sizes, sizeof sizes, "%s", argv[++i]);
            continue;
        }
        long v = strtol(argv[i + 1], &end, 10);
        if (!end || *end) {
            fprintf(stderr, "bench_cpu_ceilings: %s expects an integer, got '%s'\n", argv[i],
                    argv[i + 1]);
            return 2;
        }
        if (!strcmp(argv[i], "--mib"))
            mib = v;
        else if (!strcmp(argv[i], "--threads"))
            threads = v;
        else if (!strcmp(argv[i], "--reps"))
            reps = v;
        else
            return usage(argv[0]);
        i++;
    }
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (mib < 1 || reps < 1 || reps > 64 || threads < 1 || threads > 256) {
        fprintf(stderr, "bench_cpu_ceilings: --mib >= 1, --reps 1..64, --threads 1..256\n");
        return 2;
    }
    printf("# 2 x %ld MiB buffers (huge pages requested), %ld threads, median of %ld after a "
           "warm-up\n",
           mib, threads, reps);
    printf("%-26s %10s\n", "ceiling", "value");
    const char *labels[DB_BW_COUNT] = {"copy (memcpy) GB/s", "copy (nt stores) GB/s",
                                       "read (sum) GB/s"};
    for (int k = 0; k < DB_BW_COUNT; k++) {
        double gbps;
        if (db_cpu_bandwidth((db_bw_kernel)k, (size_t)mib << 20, (int)threads, (int)reps, &gbps)) {
            fprintf(stderr, "bench_cpu_ceilings: cannot allocate 2 x %ld MiB\n", mib);
            return 1;
        }
        printf("%-26s %10.2f\n", labels[k], gbps);
        fflush(stdout);
    }
    for (char *s = strtok(sizes, ","); s; s = strtok(NULL, ",")) {
        int n = atoi(s);
        double gflops;
        if (n < 1 || db_cpu_sgemm_gflops(n, (int)threads, reps < 5 ? (int)reps : 5, &gflops)) {
            fprintf(stderr, "bench_cpu_ceilings: GEMM size '%s' failed\n", s);
            return 1;
        }
        printf("sgemm %-5d^3 GFLOP/s      %10.1f\n", n, gflops);
        fflush(stdout);
    }
    return 0;
}
