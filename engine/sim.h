/* sim.h — the sim backend's time model and token stream (the backend itself is db_backend_sim,
 * backend.h).
 *
 * What it is for: pricing a step on a device without running it. A step's time is
 *   step_seconds = overhead + device_seconds,  device_seconds = sum over op classes c of
 *                  max(flops[c] / peak(c), bytes[c] / memory_bandwidth)
 * with the FLOPs and bytes of db_cost_model (cost.h) and the peaks of the device (devices.h):
 * qkv, out_proj, mlp and lm_head at the scheme's GEMM peak (db_device_scheme_peak: the scheme's own
 * measured peak when the ceilings file gives one, else db_device_gemm_peak's entry), attention at
 * db_device_attention_peak, norm (elementwise) at the fp32 peak. Each op is assumed to overlap its own
 * compute and memory traffic perfectly and ops run one after another. The next token of an item is a
 * hash of (seed, seq_id, position of the new token) modulo the vocabulary: deterministic, so runs on the
 * virtual clock replay exactly.
 * What it must not do: any model arithmetic, read weights, or look at a wall clock.
 */
#ifndef DB_SIM_H
#define DB_SIM_H

#include <stdint.h>

#include "devices.h"
#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Share of device memory the default KV capacity may use together with the weights (as vLLM's
 * gpu_memory_utilization default). */
#define DB_SIM_MEMORY_UTILIZATION 0.9

typedef struct db_sim_time {
    double op_seconds[DB_OP_COUNT];
    int memory_bound[DB_OP_COUNT]; /* 1 when bytes / bandwidth >= flops / peak for the class */
    double device_seconds;         /* sum of op_seconds */
    double step_seconds;           /* device_seconds + overhead */
} db_sim_time;

/* DB_ERR_UNSUPPORTED when the device lacks a peak the scheme needs (e.g. fp8 on a100-80g); the
 * message names the device, the precision and the missing peak. */
db_status db_sim_check_device(const db_device_ceilings *dev, db_precision p, db_error *err);

void db_sim_step_time(const db_device_ceilings *dev, db_precision p, const db_cost *cost,
                      double overhead_s, db_sim_time *out);

/* The token the sim returns for the token at position pos of sequence seq_id: in [0, vocab). */
int32_t db_sim_next_token(uint64_t seed, int seq_id, int pos, int vocab);

/* KV bytes left by the weights in DB_SIM_MEMORY_UTILIZATION of the device memory; 0 when the device's
 * memory is unknown; DB_ERR_INVALID when the weights alone do not fit. */
db_status db_sim_kv_bytes_for(const db_device_ceilings *dev, const db_model_config *m,
                              db_precision p, int64_t *bytes, db_error *err);

#ifdef __cplusplus
}
#endif
#endif
