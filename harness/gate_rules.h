/* gate_rules.h — what the regression gate decides for one metric: the rule (which direction is bad
 * and by how much a change may go before it counts), the verdict from repeated samples (a bootstrap
 * interval of the ratio of medians plus a Mann-Whitney test, both at the stated confidence) or from
 * an exact comparison for deterministic metrics, and how many samples would decide an undecided
 * case.
 *
 * Must not: read files, print, or know where samples come from (gate_samples.h) or how verdicts are
 * shown (gate_output.h). Pure functions of their arguments.
 */
#ifndef DB_GATE_RULES_H
#define DB_GATE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "gate_stats.h"

typedef enum db_gate_verdict {
    DB_GATE_PASS = 0,     /* no regression beyond the threshold, at the stated confidence */
    DB_GATE_IMPROVEMENT,  /* better by more than the threshold's mirror image */
    DB_GATE_INCONCLUSIVE, /* too few samples or too noisy to decide */
    DB_GATE_REGRESSION,   /* worse than the threshold, at the stated confidence */
    DB_GATE_CHANGED,      /* a deterministic metric differs at all (counts as a regression) */
} db_gate_verdict;

const char *db_gate_verdict_name(db_gate_verdict v); /* "PASS", "REGRESSION", ... */

/* ---- rules ----------------------------------------------------------------------------------- */

#define DB_GATE_NAME_MAX 96

typedef struct db_gate_rule {
    char metric[DB_GATE_NAME_MAX];
    double
        threshold; /* signed fraction; its sign is the bad direction: -0.05 = a drop of more than
                    * 5% is a regression (throughput), +0.10 = a rise of more than 10% (latency) */
    int bad_up;    /* 1 when an increase is bad (threshold > 0 or "+0%") */
    int off;       /* 1: "METRIC:off", removes a default rule */
} db_gate_rule;

/* Parses "METRIC:+10%", "METRIC:-5%", "METRIC:-0.5%", "METRIC:-0%" (any significant drop) or
 * "METRIC:off". The sign is required (it says which direction is bad); the magnitude is a percent
 * below 100. On error returns -1 and writes a message to msg. */
int db_gate_rule_parse(const char *spec, db_gate_rule *out, char *msg, size_t msg_len);

/* Formats a rule's threshold as "-5%" / "+10%". */
void db_gate_rule_format(const db_gate_rule *r, char *buf, size_t len);

/* The default rules (throughput -5%, goodput -5%, median and p99 latencies +10%); *n receives the
 * count. The array is static and read-only. */
const db_gate_rule *db_gate_default_rules(size_t *n);

/* ---- one metric's verdict -------------------------------------------------------------------- */

typedef struct db_gate_params {
    double confidence; /* c in (0, 1), e.g. 0.95 */
    int resamples;     /* bootstrap replicates, e.g. 10000 */
    db_ci_method ci;   /* percentile (default) or BCa */
    uint64_t seed;     /* bootstrap seed (mixed with the metric name) */
} db_gate_params;

typedef enum db_gate_method {
    DB_GATE_STATISTICAL = 0, /* bootstrap CI of the ratio of medians + Mann-Whitney */
    DB_GATE_EXACT = 1,       /* deterministic: any difference is a change */
} db_gate_method;

typedef struct db_gate_result {
    db_gate_verdict verdict;
    db_gate_method method;
    size_t n_base, n_cur;
    double base_median, cur_median;
    double ratio;        /* cur_median / base_median (NAN when undefined) */
    double ci_lo, ci_hi; /* confidence interval of the ratio (statistical method) */
    double p_bad;        /* one-sided Mann-Whitney p: current worse than baseline x (1 + t) */
    double p_good;       /* one-sided Mann-Whitney p: current better than baseline x (1 + t) */
    double p_value;      /* the one-sided p of the test behind the verdict: REGRESSION p_bad,
                          * PASS p_good, IMPROVEMENT against the mirror 1 / (1 + t),
                          * INCONCLUSIVE min(p_bad, p_good) */
    int mwu_exact;       /* the Mann-Whitney p-values come from the exact distribution */
    double need_base, need_cur; /* INCONCLUSIVE: samples that would decide (INFINITY: cannot say;
                                 * 0: more samples would not help, e.g. data missing) */
    char note[200]; /* why, in words: "CI [0.91, 1.02] straddles 0.95", "changed 12 -> 13" */
} db_gate_result;

/* Statistical verdict for samples base[0..nb) and cur[0..nc) under rule r (see the decision rule in
 * gate_rules.c and the README). The metric name seeds the bootstrap stream so verdicts do not
 * depend on the order metrics are evaluated in. Returns -1 only when memory runs out. */
int db_gate_judge(const db_gate_rule *r, const double *base, size_t nb, const double *cur,
                  size_t nc, const db_gate_params *p, db_gate_result *out);

/* Exact verdict for a deterministic metric: PASS when every sample on both sides has the same
 * value, CHANGED otherwise (the note shows the values). */
void db_gate_judge_exact(const double *base, size_t nb, const double *cur, size_t nc,
                         db_gate_result *out);

/* 1 when both sides hold at least `min_n` samples each and all of them are equal within each side
 * (the detection of a deterministic metric). */
int db_gate_looks_deterministic(const double *base, size_t nb, const double *cur, size_t nc,
                                size_t min_n);

#endif
