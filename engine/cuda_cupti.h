/* cuda_cupti.h — the CUDA backend's kernel trace (CUPTI activity API) behind engine.h's
 * db_engine_kernel_trace_* calls. (The profiler window, cudaProfilerStart/Stop, is
 * db_cuda_profiler in cuda_info.h.)
 *
 * Kernel trace: started by db_engine_open before the backend does any CUDA work; CONCURRENT_KERNEL
 * records (CUpti_ActivityKernel10 in CUDA 13) and EXTERNAL_CORRELATION records are enabled. Each
 * record is tagged with the engine step and the op range it was launched in:
 *   - the backend brackets each step with db_cupti_step_begin/end and each of its NVTX ranges
 *     inside a step with db_cupti_range_begin/end (the same wrapper that pushes the NVTX range);
 *     a step and an op range push a CUPTI external correlation id (kind CUSTOM0) encoding
 *     (step, op), so every launch's correlation id maps to its (step, op);
 *   - a kernel run from a CUDA graph carries the correlation id of the cudaGraphLaunch (so its
 *     step) and its graph node id: nodes created while capturing inside an op range are mapped to
 *     that op (resource callback GRAPHNODE_CREATED), and nodes cloned at instantiation inherit
 *     their original's op (GRAPHNODE_CLONED), so graph kernels get per-node records with their op.
 * Records are collected by CUPTI's buffer callbacks and handed out by db_cupti_drain on the
 * caller's thread (flush of completed buffers after each step; forced flush after the last).
 * Records CUPTI had to drop for lack of buffer space are counted (db_cupti_dropped).
 *
 * CUPTI is process-wide and takes one subscriber: one kernel trace at a time per process, and none
 * while Nsight Systems / Nsight Compute are attached (the start fails with a message).
 * The step / op hooks assume the backend launches from one host thread.
 * Must not: print, exit, or call CUDA when no trace is running (the hooks are a branch then).
 * Plain C header: no CUDA or CUPTI types, so engine.c can include it.
 */
#ifndef DB_CUDA_CUPTI_H
#define DB_CUDA_CUPTI_H

#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

db_status db_cupti_start(db_error *err);
void db_cupti_stop(void);
int db_cupti_active(void);
db_status db_cupti_drain(int final, db_kernel_sink sink, void *ctx, db_error *err);
db_status db_cupti_now_ns(int64_t *now_ns, db_error *err);
uint64_t db_cupti_dropped(void);

/* Tags for the launches that follow (no-ops when no trace is running). Ranges nest inside a step:
 * op is a db_op_class or DB_KERNEL_OP_EMBEDDING for an op range, DB_KERNEL_OP_NONE for a range
 * that is not an op (a layer): it keeps the enclosing op. Up to DB_CUPTI_MAX_DEPTH deep. */
#define DB_CUPTI_MAX_DEPTH 16
void db_cupti_step_begin(int64_t step);
void db_cupti_step_end(void);
void db_cupti_range_begin(int op);
void db_cupti_range_end(void);

#ifdef __cplusplus
}
#endif
#endif
