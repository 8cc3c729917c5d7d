/* cmd_run_args.h — the flags of `decodebench run`: parsing with messages that name the flag, the
 * help text with every default, and their translation into the options of the engine, the workload
 * builder, the metrics recorder, the run loop and the run's recorded settings. Used only by
 * cmd_run.c.
 *
 * Must not: run anything, open files other than the model/SLO inputs it validates, or exit().
 */
#ifndef DB_CMD_RUN_ARGS_H
#define DB_CMD_RUN_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "metrics.h"
#include "metrics_kv.h"
#include "profile.h"
#include "run.h"
#include "schedule.h"
#include "slo.h"
#include "workload.h"

/* Defaults of a run given no workload flags (README "decodebench run"). */
#define DB_RUN_DEFAULT_MODEL "llama2c-15m"
#define DB_RUN_DEFAULT_PROMPT_LEN "uniform:32:128"
#define DB_RUN_DEFAULT_OUTPUT_LEN "uniform:16:64"
#define DB_RUN_DEFAULT_ARRIVAL "concurrency:8"
#define DB_RUN_DEFAULT_REQUESTS 64
#define DB_RUN_DEFAULT_SIM_DEVICE "h100-sxm"
/* latency.hlog without --hlog-interval: 1 s intervals, widened (metrics.h max_intervals) so that a
 * run has at most 1000 of them (an hour-long replay gets 5 s intervals, as jHiccup writes). */
#define DB_RUN_DEFAULT_HLOG_INTERVAL_NS INT64_C(1000000000)
#define DB_RUN_DEFAULT_HLOG_MAX_INTERVALS 1000

typedef struct run_args {
    /* engine */
    db_backend_kind backend;  /* as given (auto resolved into `resolved`) */
    db_backend_kind resolved; /* cpu, cuda or sim */
    const char *model;
    long long layers; /* 0: all */
    db_precision precision;
    db_kv_dtype kv_dtype;
    const char *device; /* sim preset or ceilings JSON */
    long long threads;
    long long kv_tokens;
    int64_t kv_mem;
    /* workload */
    const char *workload; /* trace FILE / trace:FILE, or NULL for synthetic lengths */
    const char *prompt_len, *output_len, *arrival;
    db_trace_format trace_format;
    long long requests;
    double duration_s;
    uint64_t seed;
    bool clamp_context;   /* --clamp-context / --fit-context */
    db_fit_mode fit_mode; /* DB_FIT_CUT (default) or DB_FIT_SCALE */
    /* measurement */
    double warmup_s;
    long long warmup_requests;
    double cooldown_s;
    const char *slo_text;
    bool hlog_interval_given;  /* --hlog-interval (exactly as given, never widened) */
    int64_t hlog_interval_ns;  /* given: the length; 0 = 'window' (one interval per metric) */
    /* scheduling */
    db_sched_opts sched;
    /* output */
    const char *out;
    const char *dump_schedule;
    bool quiet;
    /* profiling */
    bool timeline;                 /* write timeline.json (--timeline on|off) */
    long long timeline_max_events; /* 0: DB_TIMELINE_DEFAULT_MAX_EVENTS */
    db_step_window profile_window; /* --profile-steps; end = 0: none */
    const char *profile_steps;     /* as given */
    bool kernel_trace;             /* --kernel-trace */
    const char *ceilings;          /* --ceilings PRESET|FILE.json (cpu, cuda: MFU/MBU, kernel
                                      breakdown) */
} run_args;

/* Parses argv (argv[0] = "run"). Returns true when the run should go ahead (a, slo and model
 * filled); false with *exit_code set: 0 after --help, 2 after a usage error (already printed). */
bool run_args_parse(int argc, char **argv, run_args *a, db_slo_set *slo, db_model_config *model,
                    int *exit_code);
void run_args_print_help(FILE *f);

void run_args_workload_spec(const run_args *a, const db_model_config *model, db_workload_spec *w);
void run_args_engine_opts(const run_args *a, const db_model_config *model, db_engine_opts *o);
void run_args_metrics_config(const run_args *a, const db_engine *e, const db_slo_set *slo,
                             db_metrics_config *mc);
void run_args_run_opts(const run_args *a, const db_engine *e, db_run_opts *ro);
/* The ceilings MFU and MBU (and the kernel breakdown) are priced with: sim its --device; cuda
 * --ceilings, else the datasheet preset matching the GPU's name (db_profile_preset_for_gpu), else
 * NULL; cpu --ceilings or NULL. A preset name or a ceilings JSON path. */
const char *run_args_ceilings(const run_args *a, const db_engine *e);
/* The run's settings and engine facts for summary.json (environment fingerprint included). */
void run_args_facts(const run_args *a, const db_engine *e, const db_schedule *s,
                    const db_workload_info *wi, const db_run_stats *st, db_kv_list *facts);

#endif
