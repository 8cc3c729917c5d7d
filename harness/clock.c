/* clock.c — real (CLOCK_MONOTONIC, absolute-deadline sleeps) and virtual clocks. */
#include "clock.h"

#include <errno.h>
#include <math.h>
#include <time.h>

double db_clock_monotonic_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void db_clock_init(db_clock *c, db_clock_kind kind) {
    c->kind = kind;
    c->virtual_s = 0.0;
    c->origin_s = kind == DB_CLOCK_REAL ? db_clock_monotonic_s() : 0.0;
}

double db_clock_now(const db_clock *c) {
    if (c->kind == DB_CLOCK_VIRTUAL) return c->virtual_s;
    return db_clock_monotonic_s() - c->origin_s;
}

static struct timespec to_timespec(double s) {
    struct timespec ts;
    double whole = floor(s);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((s - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool db_clock_sleep_until(db_clock *c, double t_s) {
    if (!isfinite(t_s)) return true; /* no deadline to wait for */
    if (c->kind == DB_CLOCK_VIRTUAL) {
        if (t_s > c->virtual_s) c->virtual_s = t_s;
        return true;
    }
    if (t_s <= db_clock_now(c)) return true;
    struct timespec deadline = to_timespec(c->origin_s + t_s);
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    /* clock_nanosleep returns the error number; EINTR: a signal handler ran before the deadline. */
    return rc != EINTR;
}

void db_clock_advance(db_clock *c, double dt_s) {
    if (c->kind == DB_CLOCK_VIRTUAL && dt_s > 0) c->virtual_s += dt_s;
}

const char *db_clock_kind_name(db_clock_kind k) {
    return k == DB_CLOCK_VIRTUAL ? "virtual" : "real";
}
