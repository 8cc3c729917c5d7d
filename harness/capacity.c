/* capacity.c — bisection for the highest rate meeting an SLO-attainment target (capacity.h). */
#include "capacity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DOUBLINGS 8

void db_capacity_opts_default(db_capacity_opts *o) {
    memset(o, 0, sizeof *o);
    o->target = 0.99;
    o->rate_lo = 1;
    o->rate_hi = 64;
    o->tolerance = 0.05;
    o->repeats = 3;
    o->max_probes = 40;
}

typedef struct search {
    const db_sweep_config *c;
    const db_capacity_opts *o;
    const db_sweep_callbacks *cb;
    db_engine *e;
    db_sweep_row *row;
    int probes; /* rows handed out so far */
} search;

/* One run at rate with seed: fills s->row and hands it to the callback. Returns 0 with *meets and
 * *attainment, or -1 with err (engine or callback failure). */
static int probe(search *s, double rate, uint64_t seed, int *meets, double *attainment,
                 db_error *err) {
    db_sweep_point p = {.index = (size_t)s->probes,
                        .precision = s->o->precision,
                        .kv_dtype = s->o->kv_dtype,
                        .rate = rate};
    int dirty = 0;
    if (!s->e &&
        db_sweep_open_engine(s->c, p.precision, p.kv_dtype, s->c->kv_tokens, &s->e, err) != DB_OK)
        return -1;
    db_sweep_serve_row(s->c, s->e, &p, seed, s->row, &dirty);
    snprintf(s->row->mode, sizeof s->row->mode, "search");
    s->probes++;
    if (dirty) {
        db_engine_close(s->e);
        s->e = NULL;
    }
    if (s->cb && s->cb->row && s->cb->row(s->cb->ctx, s->row) != 0) {
        db_error_set(err, DB_ERR_IO, "capacity search: the row of probe %d could not be written",
                     s->probes - 1);
        return -1;
    }
    if (!s->row->ok) {
        db_error_set(err, DB_ERR_INTERNAL, "capacity search: the run at %g requests/s failed: %s",
                     rate, s->row->error);
        return -1;
    }
    *attainment = s->row->serve.slo_attainment;
    *meets = *attainment >= s->o->target;
    return 0;
}

static db_status check_opts(const db_sweep_config *c, const db_capacity_opts *o, db_error *err) {
    if (!c->slo || !db_slo_has_per_request(c->slo))
        return db_error_set(err, DB_ERR_INVALID,
                            "capacity search needs a per-request SLO (--slo ttft:..,tpot:..)");
    if (!(o->target > 0 && o->target <= 1))
        return db_error_set(err, DB_ERR_INVALID, "target attainment must be in (0, 1], got %g",
                            o->target);
    if (!(o->rate_lo > 0 && o->rate_hi > o->rate_lo))
        return db_error_set(err, DB_ERR_INVALID, "rates must satisfy 0 < low < high, got %g and %g",
                            o->rate_lo, o->rate_hi);
    if (!(o->tolerance > 0) || o->repeats < 1 || o->max_probes < 2)
        return db_error_set(err, DB_ERR_INVALID,
                            "tolerance must be > 0, repeats >= 1, probes >= 2; got %g, %d, %d",
                            o->tolerance, o->repeats, o->max_probes);
    return DB_OK;
}

/* Steps 1 and 2 of the method: leaves the bracket in out->rate / out->rate_fail. */
static int bracket_and_bisect(search *s, db_capacity_result *out, db_error *err) {
    const db_capacity_opts *o = s->o;
    uint64_t seed = s->c->seed;
    int meets;
    double att;
    if (probe(s, o->rate_lo, seed, &meets, &att, err)) return -1;
    if (!meets) {
        out->outcome = DB_CAPACITY_BELOW_LO;
        out->rate_fail = o->rate_lo;
        return 0;
    }
    out->rate = o->rate_lo;
    out->attainment = att;
    out->goodput = s->row->serve.request_goodput;
    double hi = o->rate_hi;
    for (int k = 0;; k++) {
        if (probe(s, hi, seed, &meets, &att, err)) return -1;
        if (!meets) break;
        out->rate = hi;
        out->attainment = att;
        out->goodput = s->row->serve.request_goodput;
        if (k == MAX_DOUBLINGS || s->probes >= o->max_probes) {
            out->outcome = DB_CAPACITY_ABOVE_HI;
            return 0;
        }
        hi *= 2;
    }
    out->rate_fail = hi;
    while (out->rate_fail - out->rate > o->tolerance * out->rate) {
        if (s->probes >= o->max_probes) {
            out->outcome = DB_CAPACITY_NOT_NARROWED;
            return 0;
        }
        double mid = 0.5 * (out->rate + out->rate_fail);
        if (probe(s, mid, seed, &meets, &att, err)) return -1;
        if (meets) {
            out->rate = mid;
            out->attainment = att;
            out->goodput = s->row->serve.request_goodput;
        } else
            out->rate_fail = mid;
    }
    out->outcome = DB_CAPACITY_FOUND;
    return 0;
}

/* Step 3: repeated runs at the boundary rate with other seeds. */
static int confirm(search *s, db_capacity_result *out, db_error *err) {
    out->confirm_min = INFINITY;
    double sum = 0;
    for (int r = 1; r <= s->o->repeats; r++) {
        int meets;
        double att;
        if (probe(s, out->rate, s->c->seed + (uint64_t)r, &meets, &att, err)) return -1;
        out->confirm_runs++;
        out->confirm_met += meets;
        out->confirm_min = fmin(out->confirm_min, att);
        sum += att;
    }
    out->confirm_mean = sum / out->confirm_runs;
    return 0;
}

db_status db_capacity_search(const db_sweep_config *c, const db_capacity_opts *o,
                             const db_sweep_callbacks *cb, db_capacity_result *out, db_error *err) {
    memset(out, 0, sizeof *out);
    out->rate = out->rate_fail = out->attainment = out->goodput = NAN;
    out->confirm_min = out->confirm_mean = NAN;
    db_status st = check_opts(c, o, err);
    if (st) return st;
    search s = {.c = c, .o = o, .cb = cb, .row = malloc(sizeof(db_sweep_row))};
    if (!s.row) return db_error_set(err, DB_ERR_NOMEM, "capacity search: out of memory");
    int rc = bracket_and_bisect(&s, out, err);
    out->probes = s.probes;
    if (rc == 0 && isfinite(out->rate)) rc = confirm(&s, out, err);
    db_engine_close(s.e);
    free(s.row);
    return rc ? (err && err->code ? err->code : DB_ERR_INTERNAL) : DB_OK;
}
