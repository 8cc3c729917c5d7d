/* capacity.h — capacity search: the highest Poisson request rate whose SLO attainment meets a
 * target, for one precision and KV dtype, with serve runs (harness/sweep.h db_sweep_serve_row).
 *
 * Method: a rate meets the target when the run's SLO attainment (requests meeting every per-request
 * objective / (completed + failed)) is >= target. Attainment is assumed to fall as the rate grows.
 *   1. bracket: rate_lo must meet the target (else the capacity is below rate_lo: reported, no
 *      search); rate_hi must fail it, else it is doubled (at most 8 times) until one fails.
 *   2. bisect: the midpoint of [meets, fails] is run and replaces the bound it matches, until
 *      (fails - meets) <= tolerance x meets (a relative tolerance, default 5%) or max_probes runs.
 *   3. confirm: the boundary rate (the highest that met) is run `repeats` more times with seeds
 *      seed + 1 .. seed + repeats; the capacity's confidence is the share of those runs that
 *      meet the target, with their lowest and mean attainment (the bisection used seed only;
 *      other seeds draw other arrival and length samples: the share says how stable it is).
 * Every run is handed to the row callback as a row of mode "search" (point = probe number).
 *
 * What it must not do: print or exit.
 */
#ifndef DB_CAPACITY_H
#define DB_CAPACITY_H

#include "sweep.h"

typedef struct db_capacity_opts {
    db_precision precision;
    db_kv_dtype kv_dtype;
    double target;    /* SLO attainment to meet, in (0, 1] */
    double rate_lo;   /* > 0 */
    double rate_hi;   /* > rate_lo */
    double tolerance; /* relative width of the final bracket, > 0 (default 0.05) */
    int repeats;      /* runs at the boundary, >= 1 (default 3) */
    int max_probes;   /* bound on bracket + bisection runs (default 40) */
} db_capacity_opts;

typedef enum db_capacity_outcome {
    DB_CAPACITY_FOUND = 0,   /* rate is inside [rate, rate_fail] with the tolerance */
    DB_CAPACITY_BELOW_LO,    /* even rate_lo misses the target: capacity < rate_lo */
    DB_CAPACITY_ABOVE_HI,    /* no failing rate up to rate_hi x 256: capacity >= rate */
    DB_CAPACITY_NOT_NARROWED /* max_probes ran out before the tolerance was reached */
} db_capacity_outcome;

typedef struct db_capacity_result {
    db_capacity_outcome outcome;
    double rate;                      /* highest rate that met the target (NAN for BELOW_LO) */
    double rate_fail;                 /* lowest rate that missed it (NAN for ABOVE_HI) */
    double attainment;                /* at rate, in the bisection's run (seed) */
    int probes;                       /* bracket + bisection runs */
    int confirm_runs, confirm_met;    /* boundary runs, and how many met the target */
    double confirm_min, confirm_mean; /* their attainment */
    double goodput;                   /* request goodput at rate in that run (requests/s) */
} db_capacity_result;

void db_capacity_opts_default(db_capacity_opts *o);

/* Runs the search under c (c->grid is not used; c->slo must hold a per-request objective).
 * DB_ERR_INVALID for bad options or no per-request SLO; an engine error if no engine opens or a
 * run fails (the failing row is still handed to cb->row). */
db_status db_capacity_search(const db_sweep_config *c, const db_capacity_opts *o,
                             const db_sweep_callbacks *cb, db_capacity_result *out, db_error *err);

#endif
