/* run.h — one benchmark run as a library call: issues a schedule's requests on a clock (loadgen),
 * batches them into engine steps (scheduler), runs the steps and feeds every request and step event
 * to the metrics recorder. Used by `decodebench run`, by tests and by sweeps.
 *
 * Times given to the recorder are on the run clock (0 = start): arrival = the INTENDED arrival from
 * the schedule; first scheduled = start of the first step the request is in; preempted = start of
 * the step whose planning preempted it; tokens = END of the step that produced them; finished = end
 * of its last step; failed = when the scheduler refused it.
 * The host overhead of a step is the real (CLOCK_MONOTONIC) time the harness spent scheduling
 * before it and recording after it; the device time is the engine's.
 *
 * Must not: print (progress goes through the callback), exit, install signal handlers or write
 * files.
 */
#ifndef DB_RUN_H
#define DB_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "engine.h"
#include "metrics.h"
#include "metrics_timeline.h"
#include "schedule.h"
#include "scheduler.h"

/* What the progress callback sees after each step (and once at the end). */
typedef struct db_run_progress {
    double now_s;          /* run clock */
    double elapsed_real_s; /* real time since the run started */
    size_t total;          /* requests in the schedule */
    size_t issued, completed, failed, in_flight;
    int64_t output_tokens; /* emitted so far */
    /* (n_new_ttft) TTFTs of the requests whose first token came in this step */
    const double *new_ttft_s;
    int n_new_ttft;
    bool final; /* the last call of the run */
} db_run_progress;

typedef void (*db_run_progress_fn)(void *ctx, const db_run_progress *p);

/* A kernel from the engine's kernel trace with its times on the run clock (ns). Non-zero stops
 * the run with an error. */
typedef int (*db_run_kernel_fn)(void *ctx, const db_kernel_record *k, int64_t start_ns,
                                int64_t end_ns);
/* A step as recorded, with the analytic cost it was given (per op class). */
typedef void (*db_run_step_fn)(void *ctx, const db_step_event *ev, const db_cost *cost);

typedef struct db_run_opts {
    db_sched_opts sched;
    db_clock_kind clock;         /* DB_CLOCK_VIRTUAL for the sim backend, else real */
    volatile sig_atomic_t *stop; /* set (e.g. by a signal handler) to stop at the next step
                                    boundary; NULL: never */
    double issue_until_s;        /* > 0: no request is issued with an intended arrival after
                                    this run-clock time; those in flight still finish */
    db_run_progress_fn progress; /* optional, called after every step */
    void *progress_ctx;
    db_timeline *timeline; /* optional: fed every arrival, failure and step (each step's items and
                              preemptions) and finished at the run's end, like the recorder */
    /* Device profiler window: with profile_end_step > profile_first_step, the engine's profiler
     * is started just before step profile_first_step and stopped just after step
     * profile_end_step - 1 (or at the run's end if that step never runs). */
    int64_t profile_first_step, profile_end_step;
    /* Kernel trace (the engine was opened with kernel_trace): after every step and at the end, the
     * records completed so far go to on_kernel (and, with a timeline, into it). */
    db_run_kernel_fn on_kernel;
    void *kernel_ctx;
    db_run_step_fn on_step; /* optional, after each step is recorded */
    void *step_ctx;
} db_run_opts;

/* Defaults: db_sched_opts_default, the real clock, no stop flag, no progress, no timeline. */
void db_run_opts_default(db_run_opts *o);

typedef struct db_run_stats {
    int64_t steps;
    int64_t preemptions;
    size_t issued, completed, failed, in_flight;
    int64_t prefill_tokens, decode_tokens; /* processed by the engine (recomputation included) */
    double end_s;                          /* run clock when the run ended */
    double wall_s;                         /* real time the run took */
    double step_s;                         /* sum of step times (run clock) */
    double device_s;                       /* sum of the engine's device times */
    double host_overhead_s;                /* sum of per-step harness overhead (real clock) */
    double idle_s;    /* run-clock time spent waiting for arrivals with nothing to run */
    bool interrupted; /* the stop flag ended the run early */
    db_clock_kind clock;
    int64_t profiled_steps;   /* steps run inside the profiler window */
    bool profiler_started;    /* the window was opened (it is always closed again) */
    int64_t kernels;          /* kernel records delivered */
    uint64_t kernels_dropped; /* records CUPTI dropped for lack of buffer space */
} db_run_stats;

/* Runs schedule s on engine e, recording into m (created by the caller, not yet finished). On
 * return (success, interruption or a failed step) the recorder has been finished at the run's end
 * time, so whatever was measured can be reported; stats is filled in every case. Returns DB_OK when
 * the run completed or was interrupted (stats->interrupted), else the error (engine step failed,
 * recorder refused an event, out of memory) with err filled. */
db_status db_run(db_engine *e, const db_schedule *s, const db_run_opts *o, db_metrics *m,
                 db_run_stats *stats, db_error *err);

/* Seconds on the run clock to the recorder's integer nanoseconds (rounded to nearest). */
int64_t db_run_ns(double s);

#endif
