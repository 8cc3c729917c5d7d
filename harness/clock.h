/* clock.h — the run's time base: seconds since the run started, on either the real monotonic clock
 * or a virtual (simulated) clock that the sim backend's modelled step times advance.
 *
 * Real: now() reads CLOCK_MONOTONIC; sleep_until() sleeps to an ABSOLUTE deadline
 * (clock_nanosleep TIMER_ABSTIME), so sleeps never accumulate drift; advance() is a no-op because
 * the engine's work took real time by itself.
 * Virtual: now() returns the simulated time; sleep_until() jumps to the deadline at once; advance()
 * adds the engine's modelled step_seconds. Deterministic: nothing reads the wall clock.
 * Must not: know about requests, engines or metrics; print; exit.
 */
#ifndef DB_CLOCK_H
#define DB_CLOCK_H

#include <stdbool.h>

typedef enum db_clock_kind {
    DB_CLOCK_REAL = 0,
    DB_CLOCK_VIRTUAL = 1,
} db_clock_kind;

typedef struct db_clock {
    db_clock_kind kind;
    double origin_s;  /* real: CLOCK_MONOTONIC reading at start, seconds */
    double virtual_s; /* virtual: the simulated time since start */
} db_clock;

/* Starts the clock at 0 now. */
void db_clock_init(db_clock *c, db_clock_kind kind);

/* Seconds since db_clock_init. Never decreases. */
double db_clock_now(const db_clock *c);

/* Waits until now() >= t_s (no-op when t_s is already past, NaN or infinite). Real: returns false
 * when a signal interrupted the sleep before the deadline (the caller checks its stop flag and may
 * sleep again); true once the deadline was reached. Virtual: jumps to t_s and returns true. */
bool db_clock_sleep_until(db_clock *c, double t_s);

/* Virtual: moves time forward by dt_s (>= 0; negative or NaN is ignored). Real: no-op. */
void db_clock_advance(db_clock *c, double dt_s);

/* CLOCK_MONOTONIC in seconds, for measuring host-side work (scheduling, recording) under either
 * clock. */
double db_clock_monotonic_s(void);

const char *db_clock_kind_name(db_clock_kind k); /* "real" | "virtual" */

#endif
