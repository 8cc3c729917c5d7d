/* gate.h — the regression gate: compares a baseline sample set with a current one (gate_samples.h)
 * point by point and metric by metric under the rules (gate_rules.h), checks that the two were
 * measured in the same environment, and reduces the verdicts to one overall verdict and exit code.
 *
 * Which metrics get a row: every rule's metric (the defaults unless turned off, with the caller's
 * rules replacing defaults of the same name), plus every other metric present on both sides that is
 * compared exactly: listed as exact, or all of them (exact_all, or automatically when every run on
 * both sides has environment backend = sim, whose summaries are deterministic), or detected as
 * deterministic (every sample equal within each side, with at least detect_min samples a side).
 * Ignored metrics get no row unless a rule names them.
 *
 * Must not: read files, print, or run anything; it works on loaded samples (cmd_gate.c does I/O).
 */
#ifndef DB_GATE_H
#define DB_GATE_H

#include <stddef.h>

#include "gate_rules.h"
#include "gate_samples.h"

/* Exit codes of `decodebench gate`. */
enum {
    DB_GATE_EXIT_PASS = 0,         /* PASS or IMPROVEMENT everywhere */
    DB_GATE_EXIT_REGRESSION = 1,   /* a REGRESSION or a CHANGED deterministic metric */
    DB_GATE_EXIT_USAGE = 2,        /* bad flags or inputs, or a fingerprint mismatch */
    DB_GATE_EXIT_INCONCLUSIVE = 3, /* no regression shown, but something could not be decided */
};

typedef struct db_gate_config {
    const db_gate_rule
        *rules; /* (n_rules) the caller's rules: replace defaults of the same metric */
    size_t n_rules;
    int no_default_rules;
    db_gate_params params;
    const char *const *exact; /* (n_exact) metrics always compared exactly */
    size_t n_exact;
    int exact_all;      /* every metric present on both sides is compared exactly */
    int auto_exact_sim; /* exact_all when every environment on both sides has backend = sim */
    size_t detect_min;  /* deterministic detection: samples a side needed (0: no detection) */
    const char *const *ignore; /* (n_ignore) metrics never compared unless a rule names them */
    size_t n_ignore;
    const char *const *must_match; /* (n_must_match) fingerprint fields that must agree */
    size_t n_must_match;
} db_gate_config;

/* Defaults: no caller rules, confidence 0.95, 10000 resamples, percentile interval, seed 1,
 * auto_exact_sim on, detect_min 3, the default ignore and must-match lists below. */
void db_gate_config_default(db_gate_config *c);

/* Never compared by default: the summary schema version, the run's start time, host-side real-clock
 * overhead (it varies even on the deterministic sim backend) and a sweep row's index in its grid
 * (`point`). */
extern const char *const db_gate_default_ignore[];
extern const size_t db_gate_default_ignore_count;
/* Must match by default: what was run and how (backend, device, model and its shape, precision,
 * KV dtype, workload, arrival, seed, batching and KV settings, threads). Build commit, compiler,
 * host name and timestamps are informational. */
extern const char *const db_gate_default_must_match[];
extern const size_t db_gate_default_must_match_count;

typedef struct db_gate_row {
    char point[256]; /* "" for a single configuration */
    char metric[DB_GATE_NAME_MAX];
    db_gate_rule rule; /* the rule applied (for exact rows without a rule: off = 1) */
    int has_rule;
    db_gate_result res;
} db_gate_row;

typedef struct db_gate_mismatch {
    char field[128];
    char expected[256]; /* in the first baseline run ("(absent)" when missing) */
    char found[256];
    char source[512]; /* the input that differs */
} db_gate_mismatch;

typedef struct db_gate_report {
    db_gate_row *rows; /* (n_rows) baseline point order, rules first, then exact-only metrics */
    size_t n_rows, cap_rows;
    db_gate_verdict overall;
    int exact_all;      /* exact comparison was applied to everything (asked or sim detected) */
    char notes[8][512]; /* (n_notes) points or metrics present on one side only, etc. */
    size_t n_notes;
} db_gate_report;

/* Compares. Returns 0 with *out filled (free with db_gate_report_free), or -1 with a message when a
 * caller rule names a metric found on neither side or memory runs out. */
int db_gate_evaluate(const db_gate_samples *base, const db_gate_samples *cur,
                     const db_gate_config *c, db_gate_report *out, char *msg, size_t len);
void db_gate_report_free(db_gate_report *r);

/* The exit code for an overall verdict. */
int db_gate_exit_code(db_gate_verdict overall);

/* Fingerprint check: every environment on both sides against the first baseline one, over
 * fields[0..n). Fields missing from both are skipped. Returns the number of mismatches written to
 * out (at most max); *checked is 0 when either side recorded no environment at all. */
size_t db_gate_fingerprint_check(const db_gate_samples *base, const db_gate_samples *cur,
                                 const char *const *fields, size_t n, db_gate_mismatch *out,
                                 size_t max, int *checked);

#endif
