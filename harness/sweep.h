/* sweep.h — a sweep as a library call: runs every point of a grid (sweep_grid.h) of one shard on a
 * backend, one engine per precision and KV dtype (reopened when a point needs a larger KV cache),
 * and hands each finished point to a callback as a row (sweep_csv.h writes it). Points that fail
 * (KV cache too small, out of memory, longer than the model's context) come back as rows with ok =
 * 0 and the reason; the sweep goes on.
 *
 * Mode `step` (sweep_step.h): per point, the median decode-step time of B sequences at a context,
 * its FLOPs and bytes from the cost model, and against the ceilings in use: achieved FLOP/s and
 * bytes/s, arithmetic intensity, MFU = achieved FLOP/s / the precision's peak, MBU = achieved
 * bytes/s / bandwidth, the modelled step time and the predicted crossovers (sweep_predict.h, at the
 * context of the middle timed step). The measured crossover needs every point of a curve, so rows
 * leave it NAN; sweep_csv.h fills it in afterwards.
 * Mode `serve` (sweep_serve.h): per point, a whole run at one load (a Poisson rate for issue_s
 * seconds, or a closed-loop concurrency for `requests` requests): throughput, goodput, SLO
 * attainment, latency percentiles, per-user decode speed, and the engine's mean step figures (MFU /
 * MBU against the ceilings in use). The engine is reopened when a run leaves KV blocks held.
 *
 * CPU memory guard (step mode): a point whose KV cache plus weights would exceed 80% of the memory
 * the kernel reports available (MemAvailable) fails with that reason instead of being allocated.
 *
 * What it must not do: print (progress goes through the callback), exit or write files.
 */
#ifndef DB_SWEEP_H
#define DB_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "sweep_ceilings.h"
#include "sweep_grid.h"
#include "sweep_predict.h"
#include "sweep_serve.h"

/* One point: its inputs, the ceilings it was priced against, and what it measured. */
typedef struct db_sweep_row {
    /* inputs (the point's identity) */
    size_t point; /* index in grid order (search: the probe number) */
    char mode[8]; /* "step" | "serve" | "search" */
    char backend[8];
    char device[160]; /* sim: the --device preset or file; cpu: the CPU model */
    char model[64];
    db_precision precision;
    db_kv_dtype kv_dtype;
    int64_t batch, context; /* step */
    int warmup_steps, steps, threads;
    uint64_t seed;
    double rate;         /* serve/search: requests/s (0 with a concurrency) */
    int64_t concurrency; /* serve: requests in flight (0 with a rate) */
    int64_t requests;    /* serve/search: requests per run (0: limited by issue_s) */
    double issue_s;      /* serve/search with a rate: seconds of arrivals (0: by count) */
    char prompt_len[64], output_len[64]; /* serve/search: length specs */
    char slo[128];                       /* serve/search: the --slo text ("" without) */
    /* ceilings in use ("none" and NANs when there are none) */
    char ceilings_source[16]; /* "measured" | "datasheet" | "none" */
    char ceilings_device[128];
    double bandwidth;  /* bytes/s */
    double peak_flops; /* FLOP/s of this precision (db_ceilings_peak) */
    double ridge;      /* FLOP/byte */
    /* outcome */
    int ok;
    char error[512];
    /* measurements (NAN when the point failed or the value is undefined) */
    double step_s, step_s_min, step_s_max;
    double tokens_per_s;         /* batch / step_s */
    db_cost cost;                /* mean of the timed steps */
    double arithmetic_intensity; /* FLOPs / bytes */
    double achieved_flops;       /* FLOPs / step_s */
    double achieved_bytes_per_s; /* bytes / step_s */
    double mfu, mbu;
    double model_step_s;          /* db_step_cost_time of the mean cost */
    db_crossover_prediction pred; /* at this precision, KV dtype and context */
    double measured_crossover;    /* filled by sweep_csv.h after the sweep; NAN here */
    db_serve_point_result serve;  /* serve/search rows */
} db_sweep_row;

typedef struct db_sweep_config {
    db_backend_kind backend;     /* cpu or sim */
    db_model_config model;       /* resolved shape */
    const char *model_label;     /* as given (preset, file) */
    const char *checkpoint;      /* llama2.c .bin, or NULL */
    const char *sim_device;      /* sim: preset or ceilings file */
    const char *device_label;    /* the row's device column */
    const db_ceilings *ceilings; /* in use; NULL: none (cpu without --ceilings) */
    db_sweep_grid grid;
    int warmup_steps, steps;
    int threads;
    uint64_t seed;
    int64_t kv_tokens;            /* > 0: every engine's KV capacity; 0: sized per point (cpu),
                                     the backend's default (sim) */
    int prefill_step_tokens;      /* <= 0: 4096 */
    int shard_index, shard_count; /* 0 / 1: every point */
    /* serve mode (grid.serve) */
    int64_t requests;      /* concurrency points: requests per run (>= 1) */
    int64_t rate_requests; /* rate points: at most this many requests; 0: issue_s limits them */
    double issue_s;        /* rate points: seconds of arrivals per run; 0: rate_requests limits */
    const char *prompt_len, *output_len;
    const db_slo_set *slo; /* NULL: none */
    const char *slo_text;  /* as given, for the rows */
    db_sched_opts sched;
} db_sweep_config;

typedef struct db_sweep_progress {
    size_t done, total; /* points finished / to run in this shard (after skips) */
    size_t failed;
    const db_sweep_row *current; /* the point about to run; NULL on the final call */
    double elapsed_s;            /* real time since the sweep started */
} db_sweep_progress;

typedef struct db_sweep_callbacks {
    /* 1: the point is already done (resume) and is skipped. inputs has only the input columns. */
    int (*skip)(void *ctx, const db_sweep_row *inputs);
    /* A finished point; non-zero stops the sweep (e.g. the CSV write failed). */
    int (*row)(void *ctx, const db_sweep_row *row);
    /* Before every point and once at the end (current = NULL). */
    void (*progress)(void *ctx, const db_sweep_progress *p);
    volatile sig_atomic_t *stop; /* set to stop before the next point; NULL: never */
    void *ctx;
} db_sweep_callbacks;

typedef struct db_sweep_stats {
    size_t in_shard, skipped, run, failed;
    int interrupted;
} db_sweep_stats;

/* The input columns of point p (as skip sees them). */
void db_sweep_row_inputs(const db_sweep_config *c, const db_sweep_point *p, db_sweep_row *row);

/* Runs one serve point (rate or concurrency as in p, seed given) on e and fills row (inputs
 * included, mode "serve"); e may be reopened through the caller afterwards when KV blocks are still
 * held (returns 1 in *dirty). DB_OK with row->ok = 0 and the reason when the run failed. */
void db_sweep_serve_row(const db_sweep_config *c, db_engine *e, const db_sweep_point *p,
                        uint64_t seed, db_sweep_row *row, int *dirty);

/* Opens an engine for precision p and KV dtype kv under c (sim device, threads, model, KV capacity
 * c->kv_tokens or the backend's default). */
db_status db_sweep_open_engine(const db_sweep_config *c, db_precision p, db_kv_dtype kv,
                               int64_t kv_tokens, db_engine **e, db_error *err);

/* Runs the sweep. DB_OK when every point ran (some may have failed: stats->failed) or the stop flag
 * ended it (stats->interrupted); an error when the row callback refused a row (err says so). */
db_status db_sweep_run(const db_sweep_config *c, const db_sweep_callbacks *cb,
                       db_sweep_stats *stats, db_error *err);

#endif
