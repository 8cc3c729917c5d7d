/* latency_files.h — the HDR histograms of a run as files other tools read: latency.hlog (interval
 * log 1.3, tags TTFT, TPOT, ITL, E2E, QUEUE, values in ns) and one percentile table per metric,
 * NAME.hgrm (values in ms) for ttft, tpot, itl, e2e, queue, norm.
 * latency.hlog is a time series when the recorder kept interval histograms (config interval_ns):
 * one line per interval and metric that has a sample in it (intervals without one are left out),
 * start relative to BaseTime = run time 0, length = the interval's (the last one ends at the span
 * end); otherwise one interval per metric covering the window (start = window start, length =
 * duration), written even when empty. Must not: know the engine or scheduler; it writes db_metrics
 * histograms through harness/hdr.h.
 */
#ifndef DB_LATENCY_FILES_H
#define DB_LATENCY_FILES_H

#include <stddef.h>
#include <stdio.h>

#include "metrics.h"

/* The latencies latency.hlog holds, in file order. */
#define DB_HLOG_METRICS 5
extern const db_latency db_hlog_metrics[DB_HLOG_METRICS];

/* Write the interval log to f. start_epoch_s: wall-clock time of run time 0 (StartTime and BaseTime
 * header; timestamps are relative to it). 0, or -1 when a write failed. */
int db_latency_hlog(FILE *f, const db_metrics *m, double start_epoch_s);
int db_latency_hlog_write(const char *path, const db_metrics *m, double start_epoch_s, char *err,
                          size_t errlen);
/* Write the .hgrm table of latency k (ms) to path atomically. 0, or -1 with err naming the path. */
int db_latency_hgrm_write(const char *path, const db_metrics *m, db_latency k, char *err,
                          size_t errlen);

#endif
