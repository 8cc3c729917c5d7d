/* summary_json.h — summary.json of a run (jansson): vLLM's benchmark field names where the meaning
 * is the same (duration, completed, request_throughput, mean_ttft_ms, p99_tpot_ms, request_goodput,
 * ...) plus our own (p95 / p99.9 / max, queue and normalised latency, window, SLOs, failures, peak
 * throughput, concurrency, engine step summary, environment, command line, complete,
 * schema_version). The schema is documented field by field in the README ("summary.json"). Must
 * not: know the engine or scheduler; it serialises db_metrics results and db_run_info.
 */
#ifndef DB_SUMMARY_JSON_H
#define DB_SUMMARY_JSON_H

#include <jansson.h>

#include "run_report.h"

/* The summary object (new reference), or NULL when memory runs out. m must be finished. */
json_t *db_summary_json(const db_metrics *m, const db_run_info *info);
/* Field-name stem of latency k in summary.json: "ttft_ms", "tpot_ms", "itl_ms", "e2el_ms",
 * "queue_ms", "norm_latency_ms". */
const char *db_summary_latency_field(db_latency k);
/* Write summary.json to path atomically. 0, or -1 with err naming the path. */
int db_summary_json_write(const char *path, const db_metrics *m, const db_run_info *info, char *err,
                          size_t errlen);

#endif
