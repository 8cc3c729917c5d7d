/* gpu_facts.h — what the commands ask of the CUDA device before they run anything on it: whether
 * the cuda backend can run here (and, if not, why), which backend `--backend auto` means, and the
 * device's facts for an environment fingerprint (run's summary.json, roofline's ceilings.json).
 *
 * Answers in every build: engine/cuda_info.h says "built without CUDA" in a build without it, so
 * callers need no #ifdef. The datasheet preset matching a GPU's name is db_profile_preset_for_gpu
 * (profile.h). What it must not do: print, exit, or open an engine.
 */
#ifndef DB_GPU_FACTS_H
#define DB_GPU_FACTS_H

#include <stddef.h>

#include "cuda_info.h"
#include "engine.h"
#include "metrics_kv.h"

/* Facts of CUDA device `ordinal` into *info. 0 when it answers; -1 with why = "this decodebench was
 * built without CUDA", "no CUDA device is present" or CUDA's own message otherwise. */
int db_gpu_probe(int ordinal, db_cuda_device_info *info, char *why, size_t len);

/* `auto`: cuda when this build has it and a CUDA device answers, else cpu (as db_engine_open). */
db_backend_kind db_gpu_resolve_auto(void);

/* Appends the device's facts to l: gpu (db_cuda_device_describe's line), gpu_name, gpu_pci_bus_id,
 * gpu_compute_capability ("9.0"), gpu_sm_count, gpu_memory_bytes, gpu_l2_cache_bytes,
 * gpu_driver_version, gpu_runtime_version ("13.0"), gpu_sm_clock_mhz, gpu_memory_clock_mhz,
 * gpu_memory_bus_width_bits (integers where numbers). 0, or -1 when memory runs out. */
int db_gpu_add_facts(db_kv_list *l, const db_cuda_device_info *d);

#endif
