/* cuda_info.c — device facts for the fingerprint and the profiler switch (cuda_info.h), and
 * db_cuda_device_count (backend.h). Compiled only with CUDA. */
#include "cuda_info.h"

#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>

#include "backend.h"
#include "cuda_check.h"

int db_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError(); /* no driver or no device: not an error here, just none */
        return 0;
    }
    return n;
}

static db_status attr(int *v, enum cudaDeviceAttr a, int dev, db_error *err) {
    *v = 0;
    return DB_CUDA_CHECK(err, cudaDeviceGetAttribute(v, a, dev));
}

db_status db_cuda_device_info_get(int ordinal, db_cuda_device_info *out, db_error *err) {
    memset(out, 0, sizeof *out);
    out->ordinal = ordinal;
    int n = db_cuda_device_count();
    if (n == 0) return db_error_set(err, DB_ERR_UNSUPPORTED, "no CUDA device is present");
    if (ordinal < 0 || ordinal >= n)
        return db_error_set(err, DB_ERR_INVALID, "CUDA device %d: this machine has %d (0..%d)",
                            ordinal, n, n - 1);
    db_status st;
    if ((st = DB_CUDA_CHECK(err, cudaSetDevice(ordinal))) ||
        (st = attr(&out->cc_major, cudaDevAttrComputeCapabilityMajor, ordinal, err)) ||
        (st = attr(&out->cc_minor, cudaDevAttrComputeCapabilityMinor, ordinal, err)) ||
        (st = attr(&out->sm_count, cudaDevAttrMultiProcessorCount, ordinal, err)) ||
        (st = attr(&out->l2_cache_bytes, cudaDevAttrL2CacheSize, ordinal, err)) ||
        (st = attr(&out->sm_clock_khz, cudaDevAttrClockRate, ordinal, err)) ||
        (st = attr(&out->memory_clock_khz, cudaDevAttrMemoryClockRate, ordinal, err)) ||
        (st = attr(&out->memory_bus_width_bits, cudaDevAttrGlobalMemoryBusWidth, ordinal, err)) ||
        (st = DB_CUDA_CHECK(err, cudaDriverGetVersion(&out->driver_version))) ||
        (st = DB_CUDA_CHECK(err, cudaRuntimeGetVersion(&out->runtime_version))))
        return st;
    struct cudaDeviceProp p;
    if ((st = DB_CUDA_CHECK(err, cudaGetDeviceProperties(&p, ordinal)))) return st;
    snprintf(out->name, sizeof out->name, "%s", p.name);
    out->total_memory = (int64_t)p.totalGlobalMem;
    snprintf(out->pci_bus_id, sizeof out->pci_bus_id, "%04x:%02x:%02x.0", (unsigned)p.pciDomainID,
             (unsigned)p.pciBusID, (unsigned)p.pciDeviceID);
    size_t free_b = 0, total_b = 0;
    if ((st = DB_CUDA_CHECK(err, cudaMemGetInfo(&free_b, &total_b)))) return st;
    out->free_memory = (int64_t)free_b;
    return DB_OK;
}

db_status db_cuda_profiler(int start, db_error *err) {
    return start ? DB_CUDA_CHECK(err, cudaProfilerStart()) : DB_CUDA_CHECK(err, cudaProfilerStop());
}
