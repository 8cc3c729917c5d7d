/* gpu_facts.c — device probe, auto backend and fingerprint facts (gpu_facts.h). */
#include "gpu_facts.h"

#include <stdio.h>

#include "backend.h"

int db_gpu_probe(int ordinal, db_cuda_device_info *info, char *why, size_t len) {
    db_error err = {0};
    if (db_cuda_device_info_get(ordinal, info, &err) == DB_OK) return 0;
#ifdef DECODEBENCH_HAVE_CUDA
    snprintf(why, len, "%s", err.msg);
#else
    snprintf(why, len, "this decodebench was built without CUDA");
#endif
    return -1;
}

db_backend_kind db_gpu_resolve_auto(void) {
#ifdef DECODEBENCH_HAVE_CUDA
    return db_cuda_device_count() > 0 ? DB_BACKEND_CUDA : DB_BACKEND_CPU;
#else
    return DB_BACKEND_CPU;
#endif
}

int db_gpu_add_facts(db_kv_list *l, const db_cuda_device_info *d) {
    char line[512];
    db_cuda_device_describe(d, line, sizeof line);
    return db_kv_set(l, "gpu", line) | db_kv_set(l, "gpu_name", d->name) |
           db_kv_set(l, "gpu_pci_bus_id", d->pci_bus_id) |
           db_kv_setf(l, "gpu_compute_capability", "%d.%d", d->cc_major, d->cc_minor) |
           db_kv_set_int(l, "gpu_sm_count", d->sm_count) |
           db_kv_set_int(l, "gpu_memory_bytes", d->total_memory) |
           db_kv_set_int(l, "gpu_l2_cache_bytes", d->l2_cache_bytes) |
           db_kv_setf(l, "gpu_driver_version", "%d.%d", d->driver_version / 1000,
                      d->driver_version % 1000 / 10) |
           db_kv_setf(l, "gpu_runtime_version", "%d.%d", d->runtime_version / 1000,
                      d->runtime_version % 1000 / 10) |
           db_kv_set_int(l, "gpu_sm_clock_mhz", d->sm_clock_khz / 1000) |
           db_kv_set_int(l, "gpu_memory_clock_mhz", d->memory_clock_khz / 1000) |
           db_kv_set_int(l, "gpu_memory_bus_width_bits", d->memory_bus_width_bits);
}
