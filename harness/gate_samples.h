/* gate_samples.h — the samples the regression gate compares, and where they come from. A sample set
 * holds points (one per configuration; a single run is the point with the empty key, a sweep has
 * one per row key), each with a series of values per metric (one value per run), plus the
 * environment fingerprint of every run and the first recorded command line.
 *
 * Inputs it reads (db_gate_samples_load detects which):
 *   - a run directory (its summary.json), or a directory of run directories (each one's
 *     summary.json, in name order, as `gate --repeat` and scripts write them);
 *   - a summary.json: every number is a metric, nested objects flattened with dots
 *     ("engine.total_flops"); null, text and booleans are not; "environment" is the fingerprint and
 *     "command_line" the command; a run marked "complete": false is refused;
 *   - a sweep CSV in long format (one row per point, a header row): the key columns named by the
 *     caller make the point key "col=value,col=value"; every other column whose cells are all
 * numbers (empty, null, NA, nan = missing) is a metric; rows with the same key are repeated
 * samples;
 *   - a baseline file written by db_gate_samples_to_json ("format": "decodebench-gate-baseline").
 * Several inputs add up: each run adds one value per metric.
 *
 * Must not: print, exit, decide verdicts (gate_rules.h) or compare fingerprints (gate.h).
 */
#ifndef DB_GATE_SAMPLES_H
#define DB_GATE_SAMPLES_H

#include <jansson.h>
#include <stddef.h>

#define DB_GATE_BASELINE_FORMAT "decodebench-gate-baseline"
#define DB_GATE_BASELINE_VERSION 1

typedef struct db_gate_series {
    char *metric;
    double *v; /* (n) one value per run */
    size_t n, cap;
} db_gate_series;

typedef struct db_gate_point {
    char *key; /* "" for a single configuration; "batch=8,precision=bf16" for a sweep row */
    db_gate_series *series; /* (n) in first-seen order */
    size_t n, cap;
} db_gate_point;

typedef struct db_gate_env {
    char *source;          /* the file it came from */
    char **keys, **values; /* (n) flattened fields as text, in file order */
    size_t n, cap;
} db_gate_env;

typedef struct db_gate_samples {
    db_gate_point *points; /* (n_points) in first-seen order */
    size_t n_points, cap_points;
    db_gate_env *envs; /* (n_envs) one per run that recorded an environment */
    size_t n_envs, cap_envs;
    char *command_line; /* the first recorded command line, or NULL */
    size_t n_sources;   /* inputs loaded */
} db_gate_samples;

typedef struct db_gate_load_opts {
    const char *const *key_columns; /* (n_keys) CSV input columns that identify a point */
    size_t n_keys;
} db_gate_load_opts;

/* A zeroed db_gate_samples is empty and valid; free releases everything it holds. */
void db_gate_samples_free(db_gate_samples *s);

/* Appends one value of `metric` at point `key`. 0, or -1 when memory runs out. */
int db_gate_samples_add(db_gate_samples *s, const char *key, const char *metric, double value);

/* Loads one input (see above) into s. 0, or -1 with a message naming the file (and the line, field
 * or column) and what was expected. */
int db_gate_samples_load(db_gate_samples *s, const char *path, const db_gate_load_opts *o,
                         char *msg, size_t len);

/* The CSV reader behind db_gate_samples_load (libcsv, strict quoting). */
int db_gate_samples_load_csv(db_gate_samples *s, const char *path, const db_gate_load_opts *o,
                             char *msg, size_t len);

/* Adds one run from an already-parsed summary object; `source` names it in messages. */
int db_gate_samples_add_summary(db_gate_samples *s, const json_t *summary, const char *source,
                                char *msg, size_t len);

/* The point with this key, or NULL; the series of a point, or NULL. */
const db_gate_point *db_gate_samples_point(const db_gate_samples *s, const char *key);
const db_gate_series *db_gate_point_series(const db_gate_point *p, const char *metric);

/* The value of a fingerprint field, or NULL. */
const char *db_gate_env_get(const db_gate_env *e, const char *key);

/* The baseline-file form of s (new reference; NULL when memory runs out). */
json_t *db_gate_samples_to_json(const db_gate_samples *s);

#endif
