/* sweep_grid.h — the points of a sweep: value lists and ranges given on the command line, the grid
 * they span, the order points run in, and sharding.
 *
 * Integer lists (--batch, --context, --concurrency): items separated by commas, each one of
 *   N          one value
 *   LO..HI     LO, LO+1, ..., HI
 *   LO..HI+S   LO, LO+S, LO+2S, ... <= HI   (S >= 1; e.g. 1..64+8 = 1, 9, ..., 57)
 *   LO..HIxF   LO, LO*F, LO*F^2, ... <= HI  (whole F >= 2; e.g. 1..512x2 = 1, 2, 4, ..., 512)
 *
 * Values keep the order given; a value given twice is an error, as are empty items, LO > HI,
 * values outside the flag's range and more than DB_SWEEP_MAX_VALUES values.
 *
 * Number lists (--rate): the same forms with decimal numbers; LO..HIxF needs F > 1 and LO > 0,
 * LO..HI+S needs S > 0; the values are LO + i*S or LO * F^i (computed, not accumulated), up to HI
 * (HI itself counts when within 1e-9 of it).
 *
 * Name lists (--precision, --kv-dtype): comma-separated names, each once.
 *
 * Grid order, step mode: precision (outermost), KV dtype, context, then batch (innermost). Serve
 * mode: precision, KV dtype, then the load (innermost): every rate, then every concurrency. A
 * point's index is its position in that order over the whole grid. --shard I/N (0 <= I < N) runs
 * the points whose index modulo N is I.
 *
 * What it must not do: print or exit (errors come back as messages naming the flag and the item).
 */
#ifndef DB_SWEEP_GRID_H
#define DB_SWEEP_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define DB_SWEEP_MAX_VALUES 10000

/* Parses an integer list into a malloc'ed array (*out, *n). Returns 0, or -1 with err naming flag,
 * the item and what was expected. */
int db_sweep_parse_ints(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t **out,
                        int *n, char *err, size_t errlen);

/* Parses a number list into a malloc'ed array (*out, *n); values must lie in [lo, hi]. */
int db_sweep_parse_numbers(const char *flag, const char *text, double lo, double hi, double **out,
                           int *n, char *err, size_t errlen);

int db_sweep_parse_precisions(const char *flag, const char *text, db_precision *out, int *n,
                              char *err, size_t errlen);
int db_sweep_parse_kv_dtypes(const char *flag, const char *text, db_kv_dtype *out, int *n,
                             char *err, size_t errlen);

/* "I/N" with 0 <= I < N <= 100000. */
int db_sweep_parse_shard(const char *text, int *index, int *count, char *err, size_t errlen);

typedef struct db_sweep_grid {
    db_precision precisions[DB_PREC_COUNT];
    int n_precisions;
    db_kv_dtype kv_dtypes[DB_KV_COUNT];
    int n_kv_dtypes;
    int64_t *contexts; /* (n_contexts), owned */
    int n_contexts;
    int64_t *batches; /* (n_batches), owned */
    int n_batches;
    int serve;     /* 1: serve mode (loads instead of contexts x batches) */
    double *rates; /* (n_rates) serve: Poisson arrival rates, requests/s; owned */
    int n_rates;
    int64_t *concurrencies; /* (n_concurrencies) serve: closed-loop requests in flight; owned */
    int n_concurrencies;
} db_sweep_grid;

typedef struct db_sweep_point {
    size_t index; /* in grid order */
    db_precision precision;
    db_kv_dtype kv_dtype;
    int64_t context;     /* step mode */
    int64_t batch;       /* step mode */
    double rate;         /* serve mode: requests/s, or 0 */
    int64_t concurrency; /* serve mode: requests in flight, or 0 */
} db_sweep_point;

size_t db_sweep_grid_size(const db_sweep_grid *g);
/* The point at index (< db_sweep_grid_size). */
void db_sweep_grid_point(const db_sweep_grid *g, size_t index, db_sweep_point *p);
void db_sweep_grid_free(db_sweep_grid *g);

#endif
