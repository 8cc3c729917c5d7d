/* loadgen.h — the load generator: turns a db_schedule into request arrivals on the run clock.
 *
 * Open loop: item i arrives at its intended time items[i].arrival_s, whether or not the system
 * keeps up (latencies are measured from that time, so waiting is counted). Closed loop:
 * `concurrency` requests are kept in flight; the first `concurrency` items arrive at 0 and each
 * time a request ends (finished or failed) at t, the next item arrives at t + think_s. The arrival
 * (issue) time is that intended time.
 * Items are issued in index order, and arrival times never decrease.
 * Must not: know the engine or the scheduler, read a clock, print or exit.
 */
#ifndef DB_LOADGEN_H
#define DB_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "schedule.h"

typedef struct db_loadgen {
    const db_schedule *sched; /* borrowed */
    size_t next;              /* next item to issue */
    /* closed loop: intended issue times of free slots, a FIFO ring (times never decrease) */
    double *slot_ready; /* (concurrency) */
    size_t ready_head, ready_len, slots;
    double stop_s; /* no item is issued with an intended arrival after this time (INFINITY: none) */
} db_loadgen;

/* Checks the schedule (n >= 1; open: arrival times finite, >= 0 and non-decreasing; closed:
 * concurrency >= 1, think_s >= 0) and prepares to issue it. */
db_status db_loadgen_init(db_loadgen *lg, const db_schedule *s, db_error *err);
void db_loadgen_free(db_loadgen *lg);

/* The intended time of the next arrival, or INFINITY when none is known yet (closed loop with every
 * slot busy) or none is left. */
double db_loadgen_next_time(const db_loadgen *lg);

/* Issues the next item if its intended arrival is <= now_s: sets *index and *arrival_s, returns
 * true. */
bool db_loadgen_pop(db_loadgen *lg, double now_s, size_t *index, double *arrival_s);

/* A request ended at t_s (finished or failed). Closed loop: its slot issues the next item at
 * t_s + think_s. Open loop: no effect. */
void db_loadgen_done(db_loadgen *lg, double t_s);

/* From now on, issue no item whose intended arrival is after t_s. */
void db_loadgen_stop_at(db_loadgen *lg, double t_s);

/* Every item has been issued, or the next one would arrive after the stop time. */
bool db_loadgen_exhausted(const db_loadgen *lg);

#endif
