/* sweep_serve.h — one point of a `serve` sweep: a full run (harness/run.h) of a synthetic workload
 * at one load (a Poisson arrival rate or a closed-loop concurrency) on an open engine, summarised
 * into the numbers a capacity planner compares: throughput, goodput and SLO attainment, latency
 * percentiles, and the engine's step figures.
 *
 * Definitions (the metrics recorder's, harness/metrics.h): throughput and goodput per second of the
 * measurement duration; SLO attainment = requests meeting every per-request objective / (completed
 * + failed); output tokens/s per user = 1000 / mean TPOT (ms): the decode speed one request sees;
 * output tokens/s (the whole device) = output_throughput. The sim backend runs on the virtual
 * clock, the others on the real one.
 *
 * What it must not do: print, exit or write files.
 */
#ifndef DB_SWEEP_SERVE_H
#define DB_SWEEP_SERVE_H

#include <stdint.h>

#include "engine.h"
#include "scheduler.h"
#include "slo.h"

typedef struct db_serve_point_opts {
    double rate;         /* > 0: Poisson arrivals at this many requests/s */
    int64_t concurrency; /* > 0 (rate 0): this many requests in flight, closed loop */
    int64_t requests;    /* requests in the schedule; 0: limited by issue_s only */
    double issue_s;      /* rate only: > 0 issues arrivals for this long (stopping at requests
                            too when that is > 0) */
    const char *prompt_len, *output_len; /* length specs (workloads/lengths.h) */
    uint64_t seed;                       /* lengths, arrivals, prompt tokens */
    const db_slo_set *slo;               /* per-request objectives for goodput; NULL: none */
    db_sched_opts sched;
    double peak_flops, peak_bytes_per_s; /* for MFU / MBU; 0: unknown */
} db_serve_point_opts;

typedef struct db_serve_point_result {
    int64_t completed, failed;
    double duration_s;
    double request_throughput, output_throughput; /* per s */
    double output_tokens_per_s_per_user;          /* 1000 / mean TPOT ms; NAN without TPOT */
    double request_goodput, output_token_goodput; /* NAN without a per-request SLO */
    double slo_attainment;                        /* 0..1; NAN without a per-request SLO */
    double mean_ttft_ms, p50_ttft_ms, p99_ttft_ms;
    double mean_tpot_ms, p50_tpot_ms, p99_tpot_ms;
    double p50_e2el_ms, p99_e2el_ms;
    double mean_step_s, mean_batch;
    double arithmetic_intensity, achieved_flops, achieved_bytes_per_s; /* of the steps */
    double mfu, mbu;                                                   /* NAN without peaks */
} db_serve_point_result;

/* Builds the schedule, runs it on e and summarises it. DB_ERR_INVALID for a bad length spec (the
 * message names it); otherwise the run's errors. */
db_status db_serve_point_run(db_engine *e, const db_serve_point_opts *o, db_serve_point_result *out,
                             db_error *err);

#endif
