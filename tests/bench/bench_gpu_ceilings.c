/* bench_gpu_ceilings.c — the GPU's roofline ceilings in one run: device-to-device copy bandwidth
 * (bytes read + written) and the cuBLAS / cuBLASLt GEMM peak of fp32, tf32, fp16, bf16, fp8 and
 * int8 (engine/cuda_ceilings.h), with the device's fingerprint (engine/cuda_info.h).
 *
 *   bench_gpu_ceilings [--n 8192] [--copy-mib 1024] [--reps 20] [--device 0]
 *
 * RESULT lines: copy_GBps, peak_<type>_TFLOPs for each available type, ridge_bf16 (FLOP per byte).
 */
#include <stdio.h>
#include <string.h>

#include "bench_gpu_common.h"
#include "cuda_ceilings.h"
#include "cuda_info.h"

int main(int argc, char **argv) {
    long n = 8192, mib = 1024, reps = 20, device = 0;
    for (int i = 1; i < argc; i++) {
        int r = bench_int_flag(argc, argv, &i, "--n", &n);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--copy-mib", &mib);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--reps", &reps);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--device", &device);
        if (r != 0) {
            fprintf(stderr, "usage: %s [--n N] [--copy-mib M] [--reps R] [--device D]\n", argv[0]);
            return 2;
        }
    }
    int skip = bench_gpu_skip("bench_gpu_ceilings");
    if (skip) return skip;
    db_error err;
    db_cuda_device_info info;
    char desc[512];
    if (db_cuda_device_info_get((int)device, &info, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_ceilings: %s\n", err.msg);
        return 1;
    }
    db_cuda_device_describe(&info, desc, sizeof desc);
    printf("device: %s\n", desc);
    db_cuda_ceilings_opts o = {(int)device, (size_t)mib << 20, (int)n, 3, (int)reps, 1};
    db_cuda_ceilings c;
    if (db_cuda_measure_ceilings(&o, &c, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_ceilings: %s\n", err.msg);
        return 1;
    }
    printf("%-10s %14s %12s %12s %12s  %s\n", "ceiling", "value", "median ms", "min ms", "max ms",
           "method");
    printf("%-10s %10.1f GB/s %12.3f %12.3f %12.3f  %s\n", "copy", c.copy.rate / 1e9,
           c.copy.median_s * 1e3, c.copy.min_s * 1e3, c.copy.max_s * 1e3, c.copy.method);
    for (int t = 0; t < DB_PEAK_COUNT; t++) {
        const db_cuda_ceiling *g = &c.gemm[t];
        if (!g->available) {
            printf("%-10s %14s %12s %12s %12s  %s\n", db_peak_type_name((db_peak_type)t), "-", "-",
                   "-", "-", g->method);
            continue;
        }
        printf("%-10s %8.1f TFLOP/s %12.3f %12.3f %12.3f  %s\n", db_peak_type_name((db_peak_type)t),
               g->rate / 1e12, g->median_s * 1e3, g->min_s * 1e3, g->max_s * 1e3, g->method);
    }
    bench_result("copy_GBps", c.copy.rate / 1e9, "GB/s");
    for (int t = 0; t < DB_PEAK_COUNT; t++) {
        char name[64];
        snprintf(name, sizeof name, "peak_%s_TFLOPs", db_peak_type_name((db_peak_type)t));
        if (c.gemm[t].available) bench_result(name, c.gemm[t].rate / 1e12, "TFLOP/s");
    }
    if (c.gemm[DB_PEAK_BF16].available && c.copy.rate > 0)
        bench_result("ridge_bf16", c.gemm[DB_PEAK_BF16].rate / c.copy.rate, "FLOP/B");
    return 0;
}
