/* metrics.h — the run's metrics recorder. The scheduler feeds it request and step events; after
 * db_metrics_finish it answers with HDR latency histograms, counters, throughput, goodput and SLO
 * attainment over the measurement window, one record per request and the step log (for reports/).
 *
 * Time: every time is an int64 count of nanoseconds on the run's clock (0 = the run's start; the
 * virtual clock under the sim backend). Request ids are the caller's (e.g. the schedule index):
 * unique,
 * >= 0 and dense (memory grows with the largest id). Arrivals are recorded in non-decreasing
 * arrival time (the order the load generator issues them); "the first N requests" means the first N
 * recorded.
 *
 * Definitions (README "Metrics"): latencies start at the request's INTENDED arrival. queue = first
 * scheduled - arrival; TTFT = first token - arrival; E2E = last token - arrival; TPOT = (E2E -
 * TTFT) / (N - 1) for N > 1 output tokens; ITL = every gap between consecutive tokens
 * (token-weighted); when one event emits k tokens at time t, the first of them gets the gap since
 * the previous token and the other k - 1 get a gap of 0, so each request contributes N - 1 ITLs
 * summing to E2E - TTFT; normalised latency = E2E / N. Only completed requests that arrived in the
 * window enter histograms and token counters.
 *
 * Interval histograms (config interval_ns > 0): the same samples are also recorded per interval
 * of the run clock, intervals counted from the window start, each sample in the interval in which
 * its value became known (was observed): queue at the first scheduling, TTFT at the first token,
 * each ITL at the token that ends the gap, TPOT, E2E and normalised latency at the last token.
 * Summed over the intervals, each kind's histogram equals the window histogram.
 *
 * Must not: print, exit, read a clock, or know the engine, the scheduler or any output format.
 */
#ifndef DB_METRICS_H
#define DB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hdr.h"

/* Histogram layout for every latency: 1 ns .. 1 h, 3 significant figures. */
#define DB_METRICS_HDR_LOWEST INT64_C(1)
#define DB_METRICS_HDR_HIGHEST INT64_C(3600000000000)
#define DB_METRICS_HDR_SIG_FIGS 3
#define DB_METRICS_PEAK_BUCKET_NS INT64_C(1000000000) /* peak throughput bucket: 1 s */

typedef enum db_latency {
    DB_LAT_TTFT = 0,
    DB_LAT_TPOT,
    DB_LAT_ITL,
    DB_LAT_E2E,
    DB_LAT_QUEUE,
    DB_LAT_NORM, /* normalised latency: E2E / output tokens (ns per token) */
    DB_LAT_COUNT
} db_latency;

/* "ttft", "tpot", "itl", "e2e", "queue", "norm" (lower case, used in flags and file names). */
const char *db_latency_name(db_latency k);
/* "TTFT", "TPOT", "ITL", "E2E", "QUEUE", "NORM" (the .hlog tags). */
const char *db_latency_tag(db_latency k);

typedef struct db_slo_set db_slo_set; /* slo.h */

typedef struct db_metrics_config {
    int64_t warmup_ns;       /* requests arriving before this time are excluded (0 = none) */
    int64_t warmup_requests; /* the first N requests to arrive are excluded (0 = none); with both,
                                the later of the two ends the warmup */
    int64_t cooldown_ns;     /* requests arriving after (last arrival - cooldown_ns) are excluded */
    const db_slo_set *slo;   /* objectives for goodput and attainment; NULL = none (copied) */
    double peak_flops;       /* device peak FLOP/s for MFU; 0 = unknown (MFU not reported) */
    double peak_bytes_per_s; /* device peak memory bandwidth for MBU; 0 = unknown */
    int64_t interval_ns;     /* > 0: keep interval histograms of this length (see above); 0 = none */
    int64_t max_intervals;   /* > 0: when the span [window start, span end] needs more intervals
                                than this, interval_ns is multiplied by the smallest factor of 1, 2,
                                5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600 (then multiples of
                                3600) that brings the count within it; 0 = interval_ns exactly */
} db_metrics_config;

/* One engine step (one iteration of continuous batching). */
typedef struct db_step_event {
    int64_t index;           /* step number, 0-based */
    int64_t start_ns;        /* run clock */
    int64_t duration_ns;     /* wall (cpu/cuda) or modelled (sim) step time */
    int32_t batch_size;      /* sequences in the step */
    int32_t prefill_tokens;  /* prompt tokens processed */
    int32_t decode_tokens;   /* decode tokens processed */
    int32_t kv_blocks_used;  /* after the step */
    int32_t kv_blocks_total; /* capacity */
    double host_overhead_s;  /* host time outside device work */
    double device_s;         /* device time */
    double flops;            /* analytic FLOPs of the step (db_engine_cost) */
    double bytes;            /* analytic bytes moved */
} db_step_event;

typedef enum db_request_status {
    DB_REQ_IN_FLIGHT = 0, /* arrived, not finished or failed (an interrupted run) */
    DB_REQ_COMPLETED,
    DB_REQ_FAILED,
} db_request_status;

/* Everything known about one request; times are -1 when the event never happened. */
typedef struct db_request_record {
    int64_t id;
    int64_t arrival_ns; /* intended arrival */
    int32_t prompt_tokens;
    int32_t requested_output_tokens;
    int32_t output_tokens; /* tokens emitted */
    int64_t first_scheduled_ns;
    int64_t first_token_ns;
    int64_t last_token_ns;
    int64_t end_ns;     /* finished or failed */
    int64_t max_itl_ns; /* largest gap between consecutive tokens; -1 with fewer than 2 tokens */
    int32_t preemptions; /* times the request was preempted (its KV freed, to be recomputed) */
    db_request_status status;
    const char *failure_reason; /* NULL unless failed; owned by the recorder */
    bool in_window;             /* arrived inside the measurement window (valid after finish) */
    bool meets_slo; /* completed and meets every per-request objective (true with none given) */
} db_request_record;

/* The request's latency of kind k in ns, or -1 when it has none (no token yet, TPOT of a 1-token
 * request, never scheduled). ITL gives max_itl_ns. Defined for any status. */
int64_t db_request_latency_ns(const db_request_record *r, db_latency k);

typedef struct db_latency_stats {
    int64_t count;
    double mean_ns;   /* exact, from the recorded values */
    double stddev_ns; /* exact, population form */
    /* from the HDR histogram: highest equivalent value (<= 0.1% above the true value) */
    int64_t min_ns, p50_ns, p90_ns, p95_ns, p99_ns, p999_ns, max_ns;
} db_latency_stats;

typedef struct db_failure_count {
    const char *reason; /* owned by the recorder */
    int64_t count;
} db_failure_count;

/* An aggregate objective (e.g. p99 TTFT <= 300 ms) checked against the window histogram. */
typedef struct db_slo_check {
    db_latency metric;
    double percentile;    /* 0..100, or -1 for the mean */
    int64_t threshold_ns; /* objective: value <= threshold */
    int64_t value_ns;     /* measured; -1 when the histogram is empty */
    bool pass;            /* false when empty */
} db_slo_check;

/* Steps that started inside the measurement span [window_start, span_end). */
typedef struct db_engine_summary {
    int64_t steps;
    double mean_step_s;
    double mean_batch_size;
    double mean_host_overhead_s;
    double mean_device_s;
    int64_t prefill_tokens, decode_tokens;
    double total_flops, total_bytes;
    double achieved_flops_per_s; /* total FLOPs / total step time */
    double achieved_bytes_per_s; /* total bytes / total step time */
    double arithmetic_intensity; /* total FLOPs / total bytes (FLOP/byte) */
    double mfu;                  /* achieved FLOP/s / peak; -1 when no peak was given */
    double mbu;                  /* achieved bytes/s / peak bandwidth; -1 when none was given */
    double peak_kv_utilisation;  /* max kv_blocks_used / kv_blocks_total; 0 with no capacity */
} db_engine_summary;

typedef struct db_metrics_summary {
    /* window: a request counts when window_start_ns <= arrival <= window_end_ns */
    int64_t window_start_ns, window_end_ns;
    int64_t
        span_end_ns;   /* last completion/failure of a counted request (run end if any in flight) */
    double duration_s; /* (span_end - window_start) in seconds: the throughput denominator */
    int64_t arrived;   /* every request that arrived during the run */
    int64_t excluded_warmup, excluded_cooldown;
    int64_t counted;   /* arrived in the window = completed + failed + in_flight */
    int64_t completed; /* counted and completed */
    int64_t failed;    /* counted and failed (reasons in failures[]) */
    int64_t in_flight; /* counted and neither (interrupted run) */
    int64_t total_input_tokens, total_output_tokens; /* of completed counted requests */
    double request_throughput, output_throughput, total_token_throughput; /* per s of duration */
    double
        peak_output_throughput; /* max output tokens in a full 1 s bucket of the span; -1 if none */
    int64_t peak_buckets;       /* full 1 s buckets in the span */
    double mean_concurrency; /* Little's law: sum of E2E of completed counted requests / duration */
    int64_t
        out_of_range; /* latency values above 1 h that no histogram could hold (still in mean) */
    db_latency_stats latency[DB_LAT_COUNT];
    /* goodput (has_slo: the config gave per-request objectives) */
    bool has_slo;
    int64_t good_requests;      /* completed counted requests meeting every per-request objective */
    int64_t good_output_tokens; /* their output tokens */
    double request_goodput;     /* good_requests / duration */
    double output_token_goodput; /* good_output_tokens / duration */
    double slo_attainment;       /* good / (completed + failed); -1 when that is 0 */
    int64_t met[DB_LAT_COUNT];   /* per objective: completed counted requests meeting it */
    const db_slo_check *checks;  /* aggregate objectives, in spec order */
    size_t n_checks;
    const db_failure_count *failures; /* counted failed requests by reason, most frequent first */
    size_t n_failures;
    int64_t failed_outside_window; /* failures of requests outside the window (not in failures[]) */
    db_engine_summary engine;
} db_metrics_summary;

typedef struct db_metrics db_metrics;

/* Create a recorder. Returns 0, or -1 with a message in err (bad config: negative warmup/cooldown,
 * negative peaks; out of memory). */
int db_metrics_create(const db_metrics_config *cfg, db_metrics **out, char *err, size_t errlen);
void db_metrics_free(db_metrics *m);

/* Events. Each returns 0, or -1 with db_metrics_error() naming the request/step and what was wrong:
 * unknown or duplicate id, a time before the request's arrival or previous event, tokens or events
 * after the request ended, count < 1, an event after db_metrics_finish. */
int db_metrics_request_arrived(db_metrics *m, int64_t id, int64_t arrival_ns, int32_t prompt_tokens,
                               int32_t requested_output_tokens);
/* First call sets the queue time; later calls (re-scheduling after preemption) are accepted and
 * ignored. */
int db_metrics_request_scheduled(db_metrics *m, int64_t id, int64_t t_ns);
/* The request, scheduled before, was preempted at t_ns (its KV cache freed; it will recompute). */
int db_metrics_request_preempted(db_metrics *m, int64_t id, int64_t t_ns);
/* count >= 1 tokens became visible to the client at t_ns. */
int db_metrics_tokens_emitted(db_metrics *m, int64_t id, int64_t t_ns, int32_t count);
/* The request is done. A request finished without any token is recorded as failed ("finished
 * without output tokens"). */
int db_metrics_request_finished(db_metrics *m, int64_t id, int64_t t_ns);
int db_metrics_request_failed(db_metrics *m, int64_t id, int64_t t_ns, const char *reason);
int db_metrics_step(db_metrics *m, const db_step_event *step);

/* Close the run at end_ns (>= every event) and compute the summary. Once only. */
int db_metrics_finish(db_metrics *m, int64_t end_ns);

/* Message of the last failed call ("" if none). */
const char *db_metrics_error(const db_metrics *m);

/* ---- results (valid after db_metrics_finish, until db_metrics_free)
 * ------------------------------ */
const db_metrics_summary *db_metrics_summary_get(const db_metrics *m); /* NULL before finish */
const db_metrics_config *db_metrics_config_get(const db_metrics *m);   /* slo points to the copy */
/* Window histogram of kind k (values in ns). */
const db_hdr *db_metrics_histogram(const db_metrics *m, db_latency k);
/* Requests in the order they arrived. */
size_t db_metrics_request_count(const db_metrics *m);
const db_request_record *db_metrics_request_at(const db_metrics *m, size_t i);
/* Steps in the order recorded. */
size_t db_metrics_step_count(const db_metrics *m);
const db_step_event *db_metrics_step_at(const db_metrics *m, size_t i);

/* ---- interval histograms (config interval_ns > 0; valid after db_metrics_finish) ------------ */
typedef struct db_metrics_intervals {
    int64_t length_ns; /* interval_ns times the widening; 0 when no intervals are kept */
    int64_t widening;  /* the factor applied to interval_ns (1 = as configured) */
    int64_t count;     /* intervals tiling [window start, span end], >= 1 when kept: interval i
                          starts at window start + i x length_ns; the last one ends at the span end
                          (shorter when the span is not a multiple of the length; a sample at the
                          span end belongs to it) */
} db_metrics_intervals;
const db_metrics_intervals *db_metrics_intervals_get(const db_metrics *m);

/* Walks the intervals that hold a sample of any kind, in time order. */
typedef struct db_interval_cursor {
    int64_t index;               /* the current interval (after db_metrics_interval_next) */
    int64_t start_ns, length_ns; /* its bounds on the run clock */
    size_t pos_[DB_LAT_COUNT], end_[DB_LAT_COUNT]; /* private */
} db_interval_cursor;
void db_metrics_interval_begin(const db_metrics *m, db_interval_cursor *c);
/* Moves to the next interval holding a sample; false when there is none (or none are kept). */
bool db_metrics_interval_next(const db_metrics *m, db_interval_cursor *c);
/* Resets h (which must have the DB_METRICS_HDR_* layout) and records kind k's samples of the
 * cursor's interval into it. Returns their count (0: none). */
int64_t db_metrics_interval_histogram(const db_metrics *m, const db_interval_cursor *c,
                                      db_latency k, db_hdr *h);

#endif
