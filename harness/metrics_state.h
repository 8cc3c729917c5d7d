/* metrics_state.h — the recorder's private state, shared by metrics.c (event intake) and
 * metrics_fold.c (folding requests into histograms, and the summary). Not for use outside
 * db_metrics: everything here may change; metrics.h is the interface.
 */
#ifndef DB_METRICS_STATE_H
#define DB_METRICS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hdr.h"
#include "metrics.h"
#include "slo.h"

/* One token event of a request: count tokens became visible at t_ns. */
typedef struct db_emission {
    int64_t t_ns;
    int32_t count;
} db_emission;

typedef enum db_membership {
    DB_MEMBER_PENDING = 0,  /* could still fall in the cooldown */
    DB_MEMBER_IN,           /* arrived inside the window */
    DB_MEMBER_OUT_WARMUP,   /* excluded by warmup (time or request count) */
    DB_MEMBER_OUT_COOLDOWN, /* excluded by cooldown */
} db_membership;

typedef struct db_req_state {
    db_request_record rec;
    db_emission *em; /* (n_em) token events, kept until folded; never kept for warmup requests */
    size_t n_em, cap_em;
    db_membership member;
} db_req_state;

/* Interval samples of one latency kind: count values in HDR index `index` were observed in interval
 * `interval`. Appended unsorted; compacted (sorted by interval then index, duplicates merged) when
 * the buffer fills and at finish, so memory follows the distinct (interval, index) pairs. */
typedef struct db_interval_entry {
    uint32_t interval;
    int32_t index;
    int64_t count;
} db_interval_entry;

typedef struct db_interval_store {
    db_interval_entry *e; /* (n) */
    size_t n, cap;
} db_interval_store;

/* Running mean and sum of squared deviations (Welford), for exact mean and stddev. */
typedef struct db_welford {
    int64_t n;
    double mean, m2;
} db_welford;

typedef struct db_reason {
    char *reason;
    int64_t counted; /* failures of requests in the window */
    int64_t outside; /* failures of requests outside it */
} db_reason;

struct db_metrics {
    db_metrics_config cfg; /* cfg.slo points at slo */
    db_slo_set slo;
    db_req_state *reqs; /* (n_reqs) in arrival order */
    size_t n_reqs, cap_reqs;
    int64_t *slot_of_id; /* (n_ids) id -> index in reqs + 1; 0 = no such request */
    size_t n_ids;
    size_t first_undecided; /* every request before this index has a decided membership */
    int64_t max_arrival_ns; /* latest arrival (-1 before any) */
    int64_t max_event_ns;   /* latest time of any event */
    int64_t window_start_ns, window_end_ns;
    bool window_start_known;
    db_step_event *steps; /* (n_steps) */
    size_t n_steps, cap_steps;
    db_reason *reasons; /* (n_reasons) interned failure reasons */
    size_t n_reasons, cap_reasons;

    /* folded requests of the window */
    db_hdr hist[DB_LAT_COUNT];
    db_welford stats[DB_LAT_COUNT];
    int64_t *bucket_tokens; /* (n_buckets) output tokens per 1 s from window start */
    size_t n_buckets;
    int64_t completed, failed, input_tokens, output_tokens, out_of_range;
    int64_t good, good_tokens, met[DB_LAT_COUNT];
    double e2e_sum_s;         /* Little's law numerator */
    int64_t last_counted_end; /* latest end of a folded request; -1 if none */
    bool any_counted_end;
    db_interval_store interval[DB_LAT_COUNT]; /* when cfg.interval_ns > 0 */
    db_metrics_intervals intervals;           /* filled by db_metrics_finish */

    int64_t end_ns;
    bool finished;
    db_metrics_summary summary;
    db_slo_check checks[DB_SLO_MAX_AGGREGATES];
    db_failure_count *failure_view; /* (summary.n_failures) */
    char err[320];
};

int db_metrics_fail(db_metrics *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Grow *buf (element size sz, capacity *cap, new space zeroed) to hold need elements. 0 or -1. */
int db_metrics_grow(void **buf, size_t *cap, size_t need, size_t sz);
/* The recorder's copy of reason (one per distinct text), or NULL when out of memory. */
const char *db_metrics_intern_reason(db_metrics *m, const char *reason);
/* Record an ended request of the window: latencies, counters, buckets, SLOs; frees its emissions.
 */
int db_metrics_fold(db_metrics *m, db_req_state *r);
/* Account for an ended request outside the window (failure reasons); frees its emissions. */
int db_metrics_fold_excluded(db_metrics *m, db_req_state *r);
/* Note n samples of kind k, HDR index `index`, observed at t_ns (>= window start) for the interval
 * histograms. 0, or -1 with the recorder's message set (out of memory, interval index past 2^32). */
int db_metrics_interval_add(db_metrics *m, db_latency k, int32_t index, int64_t n, int64_t t_ns);
/* Choose the interval length and count from the span and put every sample in its final interval
 * (called by db_metrics_finish after the summary). 0 or -1 (out of memory). */
int db_metrics_intervals_close(db_metrics *m);
void db_metrics_intervals_free(db_metrics *m);
/* Fill m->summary from the folded state (called once by db_metrics_finish). */
int db_metrics_summarise(db_metrics *m);

#endif
