/* slo.h — service-level objectives from `--slo ttft:200ms,tpot:50ms,e2e:10s,p99_ttft:300ms`.
 * A plain `METRIC:DURATION` is a per-request objective (a request meets it when its value <=
 * DURATION; goodput counts requests meeting every one); `pNN_METRIC:DURATION` or
 * `mean_METRIC:DURATION` is an aggregate objective checked against the window histogram. Metrics:
 * ttft, tpot, itl (a request's largest gap between tokens), e2e (alias e2el), queue, norm (E2E /
 * output tokens). Units: ns, us, ms, s. Must not: print, exit, or know requests or histograms
 * (harness/metrics applies the objectives).
 */
#ifndef DB_SLO_H
#define DB_SLO_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

#define DB_SLO_MAX_AGGREGATES 16

typedef struct db_slo_aggregate {
    db_latency metric;
    double percentile;    /* 0 < p <= 100, or -1 for the mean */
    int64_t threshold_ns; /* objective: value <= threshold */
} db_slo_aggregate;

struct db_slo_set {
    int64_t per_request_ns[DB_LAT_COUNT]; /* -1 = no objective for that metric */
    db_slo_aggregate aggregates[DB_SLO_MAX_AGGREGATES];
    size_t n_aggregates;
};

/* An empty set (no objectives). */
void db_slo_init(db_slo_set *s);
/* Parse a comma-separated list of objectives into *s. Returns 0, or -1 with a message in err naming
 * the offending item and what was expected; *s is then empty. Empty text or an empty item, an
 * unknown metric, a missing or bad duration or unit, a non-positive duration, or a metric given
 * twice are errors. */
int db_slo_parse(const char *text, db_slo_set *s, char *err, size_t errlen);
/* A duration with a unit (ns, us, ms, s), e.g. "200ms", "1.5s", "250us"; > 0 and <= 1 h. Returns 0,
 * or -1 with a message in err (which quotes text). */
int db_slo_parse_duration(const char *text, int64_t *ns, char *err, size_t errlen);
/* True when s holds at least one per-request objective. */
int db_slo_has_per_request(const db_slo_set *s);
/* Canonical text of s ("ttft:200ms,tpot:50ms,p99_ttft:300ms"), or "" when empty. Returns the length
 * snprintf would have written. */
int db_slo_format(const db_slo_set *s, char *buf, size_t len);
/* Canonical label of one aggregate objective: "p99_ttft", "p99.9_e2e", "mean_tpot". */
int db_slo_aggregate_label(const db_slo_aggregate *a, char *buf, size_t len);

#endif
