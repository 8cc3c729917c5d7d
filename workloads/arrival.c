#include "arrival.h"

#include "parse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONCURRENCY 1000000

static const char *const expected_all =
    "poisson:RATE, gamma:RATE:CV, constant:RATE, concurrency:N[:THINK], offline, trace[:SCALE] or "
    "ramp:R0:R1";

typedef struct pctx {
    const char *flag, *spec;
    char *err;
    size_t errlen;
} pctx;

static int positive(const pctx *c, const char *name, const char *unit, const char *s, double *v) {
    if (db_parse_double(s, v) || !(*v > 0))
        return db_errf(c->err, c->errlen, "%s %s: %s: expected a positive number%s, got '%s'",
                       c->flag, c->spec, name, unit, s);
    return 0;
}

static int non_negative(const pctx *c, const char *name, const char *s, double *v) {
    if (db_parse_double(s, v) || !(*v >= 0))
        return db_errf(c->err, c->errlen,
                       "%s %s: %s: expected a non-negative number (requests/s), got '%s'", c->flag,
                       c->spec, name, s);
    return 0;
}

static int shape(const pctx *c, int n, int lo, int hi, const char *form) {
    if (n < lo || n > hi)
        return db_errf(c->err, c->errlen, "%s %s: expected %s", c->flag, c->spec, form);
    return 0;
}

static int parse_concurrency(const pctx *c, char **f, int n, db_arrival_spec *out) {
    int64_t k;
    if (shape(c, n, 2, 3, "concurrency:N[:THINK]")) return -1;
    if (db_parse_int64(f[1], &k) || k < 1 || k > MAX_CONCURRENCY)
        return db_errf(c->err, c->errlen, "%s %s: N: expected an integer in 1..%d, got '%s'",
                       c->flag, c->spec, MAX_CONCURRENCY, f[1]);
    out->concurrency = (int)k;
    if (n == 3 && db_parse_duration_s(f[2], &out->think_s))
        return db_errf(
            c->err, c->errlen,
            "%s %s: THINK: expected a non-negative time such as 0.5, 500ms or 2s, got '%s'",
            c->flag, c->spec, f[2]);
    return 0;
}

static int parse_fields(const pctx *c, char **f, int n, db_arrival_spec *out) {
    const char *k = f[0];
    const char *per_s = " (requests/s)";
    if (strcmp(k, "poisson") == 0 || strcmp(k, "constant") == 0) {
        out->kind = k[0] == 'p' ? DB_ARRIVAL_POISSON : DB_ARRIVAL_CONSTANT;
        return shape(c, n, 2, 2, k[0] == 'p' ? "poisson:RATE" : "constant:RATE") ||
               positive(c, "RATE", per_s, f[1], &out->rate);
    }
    if (strcmp(k, "gamma") == 0) {
        out->kind = DB_ARRIVAL_GAMMA;
        return shape(c, n, 3, 3, "gamma:RATE:CV") || positive(c, "RATE", per_s, f[1], &out->rate) ||
               positive(c, "CV", "", f[2], &out->cv);
    }
    if (strcmp(k, "concurrency") == 0) {
        out->kind = DB_ARRIVAL_CONCURRENCY;
        return parse_concurrency(c, f, n, out);
    }
    if (strcmp(k, "offline") == 0) {
        out->kind = DB_ARRIVAL_OFFLINE;
        return shape(c, n, 1, 1, "offline (no parameters)");
    }
    if (strcmp(k, "trace") == 0) {
        out->kind = DB_ARRIVAL_TRACE;
        out->scale = 1.0;
        return shape(c, n, 1, 2, "trace[:SCALE]") ||
               (n == 2 && positive(c, "SCALE", " (2 = twice as fast)", f[1], &out->scale));
    }
    if (strcmp(k, "ramp") == 0) {
        out->kind = DB_ARRIVAL_RAMP;
        if (shape(c, n, 3, 3, "ramp:R0:R1") || non_negative(c, "R0", f[1], &out->rate) ||
            non_negative(c, "R1", f[2], &out->rate_end))
            return -1;
        if (out->rate == 0 && out->rate_end == 0)
            return db_errf(c->err, c->errlen, "%s %s: expected R0 or R1 to be positive", c->flag,
                           c->spec);
        return 0;
    }
    return db_errf(c->err, c->errlen, "%s %s: unknown arrival process '%s' (expected %s)", c->flag,
                   c->spec, k, expected_all);
}

int db_arrival_parse(const char *spec, const char *flag, db_arrival_spec *out, char *err,
                     size_t errlen) {
    memset(out, 0, sizeof *out);
    pctx c = {
        .flag = flag ? flag : "arrival", .spec = spec ? spec : "", .err = err, .errlen = errlen};
    if (!spec || !*spec)
        return db_errf(err, errlen, "%s: expected an arrival process (%s), got an empty string",
                       c.flag, expected_all);
    char buf[256];
    if (strlen(spec) >= sizeof buf)
        return db_errf(err, errlen, "%s: expected an arrival process (%s), got a %zu-byte string",
                       c.flag, expected_all, strlen(spec));
    strcpy(buf, spec);
    char *f[4] = {buf, NULL, NULL, NULL};
    int n = 1; /* fields in spec; only the first four are split out (no form has more than three) */
    for (char *p = strchr(buf, ':'); p; p = strchr(p + 1, ':')) {
        if (n < 4) f[n] = p + 1;
        n++;
    }
    for (int i = 1; i < 4 && i < n; i++)
        f[i][-1] = 0;
    return parse_fields(&c, f, n, out) ? -1 : 0;
}

int db_arrival_is_generated(const db_arrival_spec *spec) {
    return spec->kind == DB_ARRIVAL_POISSON || spec->kind == DB_ARRIVAL_GAMMA ||
           spec->kind == DB_ARRIVAL_CONSTANT || spec->kind == DB_ARRIVAL_RAMP;
}

void db_arrival_gen_init(db_arrival_gen *g, const db_arrival_spec *spec, uint64_t seed,
                         double ramp_s) {
    memset(g, 0, sizeof *g);
    g->spec = *spec;
    g->ramp_s = ramp_s > 0 ? ramp_s : 1.0;
    db_rng_seed(&g->rng, seed);
}

/* Maps a time u of the unit-rate Poisson process through the inverse of the ramp's integrated rate
 * Lambda(t) = R0 t + (R1 - R0) t^2 / (2T) for t <= T, Lambda(T) + R1 (t - T) after: an exact
 * non-homogeneous Poisson process (Cinlar's time-change theorem). Returns -1 when u lies beyond
 * everything the process can reach (R1 = 0 and u > Lambda(T)). */
static double ramp_inverse(const db_arrival_gen *g, double u) {
    const double r0 = g->spec.rate, r1 = g->spec.rate_end, T = g->ramp_s;
    const double lambda_T = 0.5 * (r0 + r1) * T;
    if (u > lambda_T) return r1 > 0 ? T + (u - lambda_T) / r1 : -1.0;
    const double a = (r1 - r0) / (2.0 * T); /* Lambda(t) = a t^2 + r0 t */
    if (a == 0) return u / r0;
    /* Root of a t^2 + r0 t - u = 0 in [0, T], written to avoid cancellation; the discriminant is
     * r0^2 + 4 a u >= r1^2 >= 0 for u <= Lambda(T), also when a < 0. */
    double disc = r0 * r0 + 4.0 * a * u;
    double t = 2.0 * u / (r0 + sqrt(disc > 0 ? disc : 0));
    return t < T ? t : T;
}

int db_arrival_next(db_arrival_gen *g, double *t) {
    const db_arrival_spec *s = &g->spec;
    switch (s->kind) {
    case DB_ARRIVAL_POISSON:
        g->t += db_rng_exponential(&g->rng) / s->rate;
        break;
    case DB_ARRIVAL_GAMMA: {
        const double k = 1.0 / (s->cv * s->cv); /* shape; scale 1 / (k rate) gives mean 1 / rate */
        g->t += db_rng_gamma(&g->rng, k) / (k * s->rate);
        break;
    }
    case DB_ARRIVAL_CONSTANT:
        g->t = (double)(g->count + 1) / s->rate; /* from the count, so no drift accumulates */
        break;
    case DB_ARRIVAL_RAMP: {
        g->unit_t += db_rng_exponential(&g->rng);
        double next = ramp_inverse(g, g->unit_t);
        if (next < 0) return 1;
        g->t = next > g->t ? next : g->t;
        break;
    }
    default:
        return 1;
    }
    g->count++;
    *t = g->t;
    return 0;
}
