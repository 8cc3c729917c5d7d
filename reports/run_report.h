/* run_report.h — the output directory of one run: summary.json, requests.csv, steps.csv,
 * latency.hlog and one .hgrm per latency (ttft, tpot, itl, e2e, queue, norm), plus the terminal
 * summary. Every file is written to a temporary name in the same directory and renamed into place
 * (atomic_file.h). Must not: know the engine, scheduler or load generator; it writes what
 * harness/metrics.h holds and the facts the caller hands in (db_run_info).
 */
#ifndef DB_RUN_REPORT_H
#define DB_RUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "metrics.h"
#include "metrics_kv.h"

#define DB_SUMMARY_SCHEMA_VERSION 1

/* What the run command knows that the recorder does not. */
typedef struct db_run_info {
    const char *command_line; /* exact command line (db_run_command_line); NULL = "" */
    bool complete;            /* false when SIGINT/SIGTERM stopped the run early */
    double start_epoch_s; /* wall-clock seconds since the epoch at run time 0 (.hlog StartTime) */
    const db_kv_list *environment; /* fingerprint and run settings (harness/env.h); NULL = none */
} db_run_info;

/* Write every file of the run into dir (created if missing, parent must exist). Returns 0, or -1
 * with a message in err naming the path that failed and why; files already renamed into place stay.
 * m must be finished (db_metrics_finish). */
int db_report_write_run(const char *dir, const db_metrics *m, const db_run_info *info, char *err,
                        size_t errlen);

/* The five-second block for a terminal (vLLM's "Serving Benchmark Result" layout, aligned fields).
 */
void db_report_print_summary(FILE *f, const db_metrics *m, const db_run_info *info);

/* The command line as one string: arguments joined by spaces, each quoted for a POSIX shell when it
 * holds anything but [A-Za-z0-9_./:=,+@%-]. malloc'ed; NULL on allocation failure. */
char *db_run_command_line(int argc, char *const *argv);

#endif
