/* arrival.h — when requests arrive: parses an arrival spec and generates the open-loop processes.
 *   poisson:RATE          exponential inter-arrival gaps, mean 1/RATE (RATE in requests/s)
 *   gamma:RATE:CV         gamma gaps with mean 1/RATE and coefficient of variation CV (CV > 1
 *                         is burstier than Poisson, CV = 1 has Poisson's, CV < 1 is smoother)
 *   constant:RATE         a request every 1/RATE s
 *   concurrency:N[:THINK] closed loop: N requests in flight, a slot reissues THINK after a request
 *                         finishes (THINK in seconds, or with a unit: 500ms, 2s; default 0)
 *   offline               every request at t = 0
 *   trace[:SCALE]         the trace's own times divided by SCALE (2 = twice as fast; default 1)
 *   ramp:R0:R1            Poisson whose rate goes linearly from R0 at t = 0 to R1 at t = T, then
 *                         stays R1 (T is chosen by the workload builder; see workload.h)
 * The renewal processes (poisson, gamma, constant) start at t = 0 and their first request comes one
 * gap after it, so a run of S seconds at RATE holds RATE * S requests on average.
 * Must not: know lengths, traces' contents, the engine or the harness; print.
 */
#ifndef DB_ARRIVAL_H
#define DB_ARRIVAL_H

#include "rng.h"

#include <stddef.h>
#include <stdint.h>

typedef enum db_arrival_kind {
    DB_ARRIVAL_POISSON,
    DB_ARRIVAL_GAMMA,
    DB_ARRIVAL_CONSTANT,
    DB_ARRIVAL_CONCURRENCY,
    DB_ARRIVAL_OFFLINE,
    DB_ARRIVAL_TRACE,
    DB_ARRIVAL_RAMP,
} db_arrival_kind;

typedef struct db_arrival_spec {
    db_arrival_kind kind;
    double rate;     /* poisson, gamma, constant: requests/s; ramp: R0 */
    double rate_end; /* ramp: R1 */
    double cv;       /* gamma */
    int concurrency; /* concurrency */
    double think_s;  /* concurrency */
    double scale;    /* trace: time speed-up */
} db_arrival_spec;

/* Parses spec; `flag` names the option in messages ("--arrival gamma:5: expected gamma:RATE:CV").
 * Returns 0, or -1 with err filled. */
int db_arrival_parse(const char *spec, const char *flag, db_arrival_spec *out, char *err,
                     size_t errlen);

/* True for the kinds db_arrival_next generates (poisson, gamma, constant, ramp). */
int db_arrival_is_generated(const db_arrival_spec *spec);

typedef struct db_arrival_gen {
    db_arrival_spec spec;
    db_rng rng;
    double t;       /* last arrival, s */
    double unit_t;  /* ramp: arrival time of the unit-rate process being mapped through the rate */
    double ramp_s;  /* ramp: T */
    uint64_t count; /* arrivals so far */
} db_arrival_gen;

/* Starts a generated process (db_arrival_is_generated) seeded with seed; ramp_s is the ramp's T
 * (> 0; ignored by the other kinds). */
void db_arrival_gen_init(db_arrival_gen *g, const db_arrival_spec *spec, uint64_t seed,
                         double ramp_s);

/* The next arrival time in seconds (non-decreasing). Returns 0, or 1 when the process has no more
 * arrivals (a ramp whose end rate is 0, past T). */
int db_arrival_next(db_arrival_gen *g, double *t);

#endif
