/* timeline.h — timeline.json: the run as a Chrome trace / Perfetto JSON file (the "JSON Object
 * Format" of the Trace Event Format: {"traceEvents": [...], "displayTimeUnit": "ms", "otherData":
 * {...}}), readable by ui.perfetto.dev and chrome://tracing.
 *
 * Tracks (pid / tid):
 *   pid 1 "engine"    tid 1 "steps": one complete ("X") event per engine step named prefill, decode
 *                     or mixed, args {step, batch, prefill_tokens, decode_tokens, kv_blocks,
 *                     kv_blocks_total, host_overhead_us, device_us, flops, bytes}; and one counter
 *                     ("C") sample "engine" per step with the batch size and KV blocks in use.
 *   pid 2 "requests"  one track per request (tid = arrival order + 1, named "req ID: P+O tok"):
 *                     its queued / prefill / decode spans and preempted / failed instants
 *                     (harness/metrics_timeline.h).
 *   pid 3 "gpu"       one track per CUDA stream: each traced kernel, args {step, op}.
 * ts and dur are microseconds on the run clock, written with 3 decimals (exact to the ns).
 * otherData: generator, clock, command_line, max_events, counted_events, truncated_at_s (null
 * when the timeline covers the whole run), steps, requests, kernels.
 *
 * Must not: know the engine, the scheduler or the load generator; it writes what the recorder and
 * the timeline hold.
 */
#ifndef DB_REPORTS_TIMELINE_H
#define DB_REPORTS_TIMELINE_H

#include <stddef.h>

#include "metrics.h"
#include "metrics_timeline.h"

/* Facts the timeline does not hold. */
typedef struct db_timeline_info {
    const char *clock;        /* "virtual" or "real"; NULL = "" */
    const char *command_line; /* NULL = "" */
} db_timeline_info;

/* Writes path atomically (reports/atomic_file.h). The steps come from m (those with an index below
 * db_timeline_steps_kept), everything else from tl, which must be finished. Returns 0, or -1 with
 * err naming the path and the reason. */
int db_timeline_write(const char *path, const db_metrics *m, const db_timeline *tl,
                      const db_timeline_info *info, char *err, size_t errlen);

#endif
