/* cuda_info.h — what the CUDA device is, for the environment fingerprint of a run: name, compute
 * capability, multiprocessors, memory, driver and runtime versions, clocks; plus the profiler range
 * switch (cudaProfilerStart/Stop) for `--profile-steps`.
 *
 * What it is for: one call that answers in every build. With CUDA (DECODEBENCH_HAVE_CUDA) it asks
 * the runtime (clocks through cudaDeviceGetAttribute: CUDA 13 removed the cudaDeviceProp clock
 * fields); without CUDA the inline versions below answer DB_ERR_UNSUPPORTED "built without CUDA"
 * and leave the struct zeroed, so callers need no #ifdef. What it must not do: print, exit, or
 * create more than the device's primary context.
 */
#ifndef DB_CUDA_INFO_H
#define DB_CUDA_INFO_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct db_cuda_device_info {
    int ordinal;
    char name[256];         /* e.g. "NVIDIA H100 80GB HBM3" */
    char pci_bus_id[32];    /* e.g. "0000:18:00.0" */
    int cc_major, cc_minor; /* compute capability */
    int sm_count;           /* multiprocessors */
    int64_t total_memory;   /* bytes */
    int64_t free_memory;    /* bytes, when asked */
    int l2_cache_bytes;
    int driver_version;        /* e.g. 13000 for 13.0 (cudaDriverGetVersion) */
    int runtime_version;       /* cudaRuntimeGetVersion */
    int sm_clock_khz;          /* peak SM clock (cudaDevAttrClockRate) */
    int memory_clock_khz;      /* peak memory clock (cudaDevAttrMemoryClockRate) */
    int memory_bus_width_bits; /* cudaDevAttrGlobalMemoryBusWidth */
} db_cuda_device_info;

/* "NVIDIA H100 80GB HBM3 (cc 9.0, 132 SMs, 79.2 GiB, driver 13.0, runtime 13.0, SM 1980 MHz,
 * memory 2619 MHz x 5120 bit)" into buf. */
static inline void db_cuda_device_describe(const db_cuda_device_info *d, char *buf, size_t len) {
    snprintf(
        buf, len,
        "%s (cc %d.%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d, SM %d MHz, memory %d MHz "
        "x %d bit)",
        d->name, d->cc_major, d->cc_minor, d->sm_count,
        (double)d->total_memory / (1024.0 * 1024.0 * 1024.0), d->driver_version / 1000,
        d->driver_version % 1000 / 10, d->runtime_version / 1000, d->runtime_version % 1000 / 10,
        d->sm_clock_khz / 1000, d->memory_clock_khz / 1000, d->memory_bus_width_bits);
}

#ifdef DECODEBENCH_HAVE_CUDA
/* Facts of device `ordinal`. DB_ERR_UNSUPPORTED when no CUDA device answers (no driver, no device),
 * DB_ERR_INVALID for an ordinal past the last device. */
db_status db_cuda_device_info_get(int ordinal, db_cuda_device_info *out, db_error *err);
/* cudaProfilerStart (start != 0) or cudaProfilerStop on the current device. */
db_status db_cuda_profiler(int start, db_error *err);
#else
static inline db_status db_cuda_device_info_get(int ordinal, db_cuda_device_info *out,
                                                db_error *err) {
    memset(out, 0, sizeof *out);
    out->ordinal = ordinal;
    return db_error_set(err, DB_ERR_UNSUPPORTED, "CUDA device info: built without CUDA");
}
static inline db_status db_cuda_profiler(int start, db_error *err) {
    (void)start;
    return db_error_set(err, DB_ERR_UNSUPPORTED, "CUDA profiler: built without CUDA");
}
#endif

#ifdef __cplusplus
}
#endif
#endif
