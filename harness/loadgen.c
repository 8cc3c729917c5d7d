/* loadgen.c — open-loop (intended arrival times) and closed-loop (fixed concurrency) issuing. */
#include "loadgen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

db_status db_loadgen_init(db_loadgen *lg, const db_schedule *s, db_error *err) {
    memset(lg, 0, sizeof *lg);
    if (!s || s->n == 0 || !s->items)
        return db_error_set(err, DB_ERR_INVALID, "the schedule holds no requests");
    if (s->mode == DB_ARRIVAL_OPEN) {
        double prev = 0;
        for (size_t i = 0; i < s->n; i++) {
            double t = s->items[i].arrival_s;
            if (!isfinite(t) || t < prev)
                return db_error_set(
                    err, DB_ERR_INVALID, "schedule item %zu: arrival %g s is %s (previous %g s)", i,
                    t, isfinite(t) ? "earlier than the previous one" : "not finite", prev);
            prev = t;
        }
    } else if (s->mode == DB_ARRIVAL_CLOSED) {
        if (s->concurrency < 1)
            return db_error_set(err, DB_ERR_INVALID, "closed-loop concurrency must be >= 1, got %d",
                                s->concurrency);
        if (!(s->think_s >= 0) || !isfinite(s->think_s))
            return db_error_set(err, DB_ERR_INVALID, "closed-loop think time must be >= 0, got %g",
                                s->think_s);
        lg->slots = (size_t)s->concurrency;
        lg->slot_ready = malloc(lg->slots * sizeof *lg->slot_ready);
        if (!lg->slot_ready)
            return db_error_set(err, DB_ERR_NOMEM, "out of memory for %zu closed-loop slots",
                                lg->slots);
        for (size_t i = 0; i < lg->slots; i++)
            lg->slot_ready[i] = 0.0;
        lg->ready_len = lg->slots;
    } else {
        return db_error_set(err, DB_ERR_INVALID, "unknown arrival mode %d", (int)s->mode);
    }
    lg->sched = s;
    lg->stop_s = INFINITY;
    return DB_OK;
}

void db_loadgen_free(db_loadgen *lg) {
    free(lg->slot_ready);
    memset(lg, 0, sizeof *lg);
}

void db_loadgen_stop_at(db_loadgen *lg, double t_s) {
    lg->stop_s = t_s;
}

/* Intended time of the next item, ignoring the stop time; INFINITY when unknown or none left. */
static double candidate_time(const db_loadgen *lg) {
    if (lg->next >= lg->sched->n) return INFINITY;
    if (lg->sched->mode == DB_ARRIVAL_OPEN) return lg->sched->items[lg->next].arrival_s;
    return lg->ready_len > 0 ? lg->slot_ready[lg->ready_head] : INFINITY;
}

bool db_loadgen_exhausted(const db_loadgen *lg) {
    if (lg->next >= lg->sched->n) return true;
    double t = candidate_time(lg);
    return !isinf(t) && t > lg->stop_s;
}

double db_loadgen_next_time(const db_loadgen *lg) {
    double t = candidate_time(lg);
    return t > lg->stop_s ? INFINITY : t;
}

bool db_loadgen_pop(db_loadgen *lg, double now_s, size_t *index, double *arrival_s) {
    double t = db_loadgen_next_time(lg);
    if (!(t <= now_s)) return false;
    if (lg->sched->mode == DB_ARRIVAL_CLOSED) {
        lg->ready_head = (lg->ready_head + 1) % lg->slots;
        lg->ready_len--;
    }
    *index = lg->next++;
    *arrival_s = t;
    return true;
}

void db_loadgen_done(db_loadgen *lg, double t_s) {
    if (lg->sched->mode != DB_ARRIVAL_CLOSED || lg->ready_len >= lg->slots) return;
    double t = t_s + lg->sched->think_s;
    /* Ends are reported in time order, so the ring stays sorted; guard against a caller that does
     * not, so arrival times never go backwards. */
    if (lg->ready_len > 0) {
        double last = lg->slot_ready[(lg->ready_head + lg->ready_len - 1) % lg->slots];
        if (t < last) t = last;
    }
    lg->slot_ready[(lg->ready_head + lg->ready_len) % lg->slots] = t;
    lg->ready_len++;
}
