#include "lengths.h"

#include "csvread.h"
#include "parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LEN_MAX 2147483647LL
#define MIX_MAX_PARTS 16

typedef enum {
    LEN_FIXED,
    LEN_UNIFORM,
    LEN_NORMAL,
    LEN_LOGNORMAL,
    LEN_ZIPF,
    LEN_EMPIRICAL,
    LEN_MIX
} len_kind;

/* Rejection-inversion sampler for the Zipf distribution on 1..n (W. Hormann and G. Derflinger,
 * "Rejection-inversion to generate variates from monotone discrete distributions", 1996; the form
 * used by Apache Commons RNG). O(1) per sample for any exponent s > 0 and any n. */
typedef struct zipf {
    double s;
    int64_t n;
    double h_integral_x1; /* H(1.5) - 1 */
    double h_integral_n;  /* H(n + 0.5) */
    double s_param;       /* 2 - H^-1(H(2.5) - h(2)) */
} zipf;

struct db_length_source {
    len_kind kind;
    int64_t lo, hi; /* clamps (fixed: lo = hi = N; uniform: the range) */
    double a, b;    /* normal: mean, sd of the lengths; lognormal: mu, sigma of their log */
    zipf z;
    int32_t *values; /* (n_values) empirical */
    size_t n_values, skipped;
    db_length_source **parts; /* (n_parts) mixture components */
    double *cum;              /* (n_parts) cumulative weights */
    size_t n_parts;
};

typedef struct pctx {
    const char *flag, *spec; /* for messages */
    char *err;
    size_t errlen;
} pctx;

/* ---- zipf ------------------------------------------------------------------------------------ */

static double helper1(double x) { /* log1p(x) / x */
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}
static double helper2(double x) { /* expm1(x) / x */
    return fabs(x) > 1e-8 ? expm1(x) / x
                          : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}
static double zipf_h(const zipf *z, double x) {
    return exp(-z->s * log(x));
}
static double zipf_h_integral(const zipf *z, double x) { /* (x^(1-s) - 1) / (1 - s) */
    double lx = log(x);
    return helper2((1.0 - z->s) * lx) * lx;
}
static double zipf_h_integral_inv(const zipf *z, double x) {
    double t = x * (1.0 - z->s);
    if (t < -1.0) t = -1.0;
    return exp(helper1(t) * x);
}

static void zipf_init(zipf *z, double s, int64_t n) {
    z->s = s;
    z->n = n;
    z->h_integral_x1 = zipf_h_integral(z, 1.5) - 1.0;
    z->h_integral_n = zipf_h_integral(z, (double)n + 0.5);
    z->s_param = 2.0 - zipf_h_integral_inv(z, zipf_h_integral(z, 2.5) - zipf_h(z, 2.0));
}

static int64_t zipf_sample(const zipf *z, db_rng *rng) {
    for (;;) {
        double u = z->h_integral_n + db_rng_uniform(rng) * (z->h_integral_x1 - z->h_integral_n);
        double x = zipf_h_integral_inv(z, u);
        double kf = floor(x + 0.5);
        int64_t k = kf < 1.0 ? 1 : kf > (double)z->n ? z->n : (int64_t)kf;
        if ((double)k - x <= z->s_param ||
            u >= zipf_h_integral(z, (double)k + 0.5) - zipf_h(z, (double)k))
            return k;
    }
}

/* ---- field parsing --------------------------------------------------------------------------- */

static int positive(const pctx *c, const char *name, const char *s, double *v) {
    if (db_parse_double(s, v) || !(*v > 0))
        return db_errf(c->err, c->errlen, "%s %s: %s: expected a positive number, got '%s'",
                       c->flag, c->spec, name, s);
    return 0;
}
static int non_negative(const pctx *c, const char *name, const char *s, double *v) {
    if (db_parse_double(s, v) || !(*v >= 0))
        return db_errf(c->err, c->errlen, "%s %s: %s: expected a non-negative number, got '%s'",
                       c->flag, c->spec, name, s);
    return 0;
}
static int length(const pctx *c, const char *name, const char *s, int64_t *v) {
    if (db_parse_int64(s, v) || *v < 1 || *v > LEN_MAX)
        return db_errf(c->err, c->errlen, "%s %s: %s: expected an integer in 1..%lld, got '%s'",
                       c->flag, c->spec, name, LEN_MAX, s);
    return 0;
}
static int ordered(const pctx *c, int64_t lo, int64_t hi) {
    if (lo > hi)
        return db_errf(c->err, c->errlen, "%s %s: expected LO <= HI, got LO %lld and HI %lld",
                       c->flag, c->spec, (long long)lo, (long long)hi);
    return 0;
}

/* Splits s in place at ':' into at most max fields; returns the count, or max + 1 if there are
 * more. */
static int split(char *s, char **f, int max) {
    int n = 0;
    for (char *p = s;;) {
        if (n == max) return max + 1;
        f[n++] = p;
        char *colon = strchr(p, ':');
        if (!colon) return n;
        *colon = 0;
        p = colon + 1;
    }
}

/* ---- parametric kinds ------------------------------------------------------------------------ */

static int parse_clamps(const pctx *c, char **f, int n, db_length_source *src) {
    src->lo = 1;
    src->hi = LEN_MAX;
    if (n == 5 && (length(c, "LO", f[3], &src->lo) || length(c, "HI", f[4], &src->hi) ||
                   ordered(c, src->lo, src->hi)))
        return -1;
    return 0;
}

static int parse_parametric(const pctx *c, char *body, db_length_source *src) {
    char *f[6];
    int n = split(body, f, 5);
    const char *kind = f[0];
    if (strcmp(kind, "fixed") == 0) {
        src->kind = LEN_FIXED;
        if (n != 2) return db_errf(c->err, c->errlen, "%s %s: expected fixed:N", c->flag, c->spec);
        if (length(c, "N", f[1], &src->lo)) return -1;
        src->hi = src->lo;
    } else if (strcmp(kind, "uniform") == 0) {
        src->kind = LEN_UNIFORM;
        if (n != 3)
            return db_errf(c->err, c->errlen, "%s %s: expected uniform:LO:HI", c->flag, c->spec);
        if (length(c, "LO", f[1], &src->lo) || length(c, "HI", f[2], &src->hi) ||
            ordered(c, src->lo, src->hi))
            return -1;
    } else if (strcmp(kind, "normal") == 0 || strcmp(kind, "lognormal") == 0) {
        int logn = kind[0] == 'l';
        src->kind = logn ? LEN_LOGNORMAL : LEN_NORMAL;
        if (n != 3 && n != 5)
            return db_errf(c->err, c->errlen, "%s %s: expected %s:MEAN:SD[:LO:HI]", c->flag,
                           c->spec, kind);
        double mean, sd;
        if (positive(c, "MEAN", f[1], &mean) || non_negative(c, "SD", f[2], &sd) ||
            parse_clamps(c, f, n, src))
            return -1;
        if (logn) {
            double cv = sd / mean;
            src->b = sqrt(log1p(cv * cv));
            src->a = log(mean) - 0.5 * src->b * src->b;
        } else {
            src->a = mean;
            src->b = sd;
        }
    } else if (strcmp(kind, "zipf") == 0) {
        src->kind = LEN_ZIPF;
        if (n != 3)
            return db_errf(c->err, c->errlen, "%s %s: expected zipf:S:MAX", c->flag, c->spec);
        double s;
        int64_t max;
        if (positive(c, "S", f[1], &s) || length(c, "MAX", f[2], &max)) return -1;
        zipf_init(&src->z, s, max);
    } else {
        return db_errf(c->err, c->errlen,
                       "%s %s: unknown length distribution '%s' (expected fixed:N, uniform:LO:HI, "
                       "normal:MEAN:SD[:LO:HI], lognormal:MEAN:SD[:LO:HI], zipf:S:MAX, "
                       "empirical:FILE[:COLUMN] or mix:W1*SPEC1,W2*SPEC2,...)",
                       c->flag, c->spec, kind);
    }
    return 0;
}

/* ---- empirical ------------------------------------------------------------------------------- */

typedef struct column_reader {
    const char *path;
    const char *name; /* column by name, or NULL */
    size_t index;     /* 0-based column when name is NULL; resolved from the header otherwise */
    int started;      /* the first record was seen */
    char label[80];   /* "column NAME" or "column K" for messages */
    int32_t *values;
    size_t n, cap, skipped;
} column_reader;

/* The first record is a header when a column is asked for by name, or when its field in the chosen
 * column is not an integer. */
static int column_header(column_reader *cr, size_t line, char **f, size_t nf, char *err,
                         size_t errlen) {
    int64_t v;
    cr->started = 1;
    if (cr->name) {
        for (size_t i = 0; i < nf; i++) {
            if (strcasecmp(f[i], cr->name) == 0) {
                cr->index = i;
                snprintf(cr->label, sizeof cr->label, "column %s", f[i]);
                return 1;
            }
        }
        return db_errf(err, errlen, "%s:%zu: expected a header with a column named '%s'", cr->path,
                       line, cr->name);
    }
    snprintf(cr->label, sizeof cr->label, "column %zu", cr->index + 1);
    if (cr->index >= nf)
        return db_errf(err, errlen, "%s:%zu: expected at least %zu fields, got %zu", cr->path, line,
                       cr->index + 1, nf);
    if (db_parse_int64(f[cr->index], &v) != 0) {
        snprintf(cr->label, sizeof cr->label, "column %s", f[cr->index]);
        return 1;
    }
    return 0;
}

static int column_row(void *ctx, size_t line, char **f, size_t nf, char *err, size_t errlen) {
    column_reader *cr = ctx;
    if (!cr->started) {
        int h = column_header(cr, line, f, nf, err, errlen);
        if (h) return h < 0 ? -1 : 0;
    }
    if (cr->index >= nf)
        return db_errf(err, errlen, "%s:%zu: expected at least %zu fields, got %zu", cr->path, line,
                       cr->index + 1, nf);
    int64_t v;
    const char *s = f[cr->index];
    if (db_parse_int64(s, &v) || v < 0)
        return db_errf(err, errlen, "%s:%zu: %s: expected a non-negative integer, got '%s'",
                       cr->path, line, cr->label, s);
    if (v > LEN_MAX)
        return db_errf(err, errlen, "%s:%zu: %s: expected an integer at most %lld, got '%s'",
                       cr->path, line, cr->label, LEN_MAX, s);
    if (v == 0) {
        cr->skipped++;
        return 0;
    }
    if (cr->n == cr->cap) {
        size_t cap = cr->cap ? 2 * cr->cap : 1024;
        int32_t *p = realloc(cr->values, cap * sizeof *p);
        if (!p) return db_errf(err, errlen, "%s:%zu: out of memory", cr->path, line);
        cr->values = p;
        cr->cap = cap;
    }
    cr->values[cr->n++] = (int32_t)v;
    return 0;
}

/* body is "FILE[:COLUMN]"; FILE may itself contain ':' when the whole body names a readable file.
 */
static int parse_empirical(const pctx *c, char *body, db_length_source *src) {
    src->kind = LEN_EMPIRICAL;
    if (!*body)
        return db_errf(c->err, c->errlen, "%s %s: expected empirical:FILE[:COLUMN]", c->flag,
                       c->spec);
    column_reader cr = {.path = body};
    char *colon = strrchr(body, ':');
    if (colon && access(body, R_OK) != 0) {
        *colon = 0;
        const char *col = colon + 1;
        int64_t idx;
        if (!*col || !*body)
            return db_errf(c->err, c->errlen, "%s %s: expected empirical:FILE[:COLUMN]", c->flag,
                           c->spec);
        if (db_parse_int64(col, &idx) == 0) {
            if (idx < 1 || idx > DB_CSV_MAX_FIELDS)
                return db_errf(
                    c->err, c->errlen,
                    "%s %s: COLUMN: expected a column name or an index in 1..%d, got '%s'", c->flag,
                    c->spec, DB_CSV_MAX_FIELDS, col);
            cr.index = (size_t)idx - 1;
        } else {
            cr.name = col;
        }
    }
    char msg[400];
    size_t records = 0;
    if (db_csv_read(body, column_row, &cr, &records, msg, sizeof msg)) {
        free(cr.values);
        return db_errf(c->err, c->errlen, "%s %s: %s", c->flag, c->spec, msg);
    }
    if (records == 0) {
        free(cr.values);
        return db_errf(c->err, c->errlen,
                       "%s %s: %s: empty file (expected a CSV column of lengths)", c->flag, c->spec,
                       body);
    }
    if (cr.n == 0) {
        free(cr.values);
        return db_errf(c->err, c->errlen, "%s %s: %s: %s has no positive values (%zu zeros)",
                       c->flag, c->spec, body, cr.label[0] ? cr.label : "the column", cr.skipped);
    }
    src->values = cr.values;
    src->n_values = cr.n;
    src->skipped = cr.skipped;
    return 0;
}

/* ---- mixtures, entry points ------------------------------------------------------------------ */

static int parse_one(const pctx *c, char *body, db_length_source *src) {
    if (strncmp(body, "empirical:", 10) == 0) return parse_empirical(c, body + 10, src);
    if (strcmp(body, "empirical") == 0) return parse_empirical(c, body + 9, src);
    return parse_parametric(c, body, src);
}

static int parse_mix(const pctx *c, char *body, db_length_source *src) {
    src->kind = LEN_MIX;
    src->parts = calloc(MIX_MAX_PARTS, sizeof *src->parts);
    src->cum = calloc(MIX_MAX_PARTS, sizeof *src->cum);
    if (!src->parts || !src->cum)
        return db_errf(c->err, c->errlen, "%s %s: out of memory", c->flag, c->spec);
    double total = 0;
    for (char *p = body, *next; p; p = next) {
        next = strchr(p, ',');
        if (next) *next++ = 0;
        char *star = strchr(p, '*');
        if (!star)
            return db_errf(c->err, c->errlen, "%s %s: component '%s': expected WEIGHT*SPEC",
                           c->flag, c->spec, p);
        *star = 0;
        double w;
        if (src->n_parts == MIX_MAX_PARTS)
            return db_errf(c->err, c->errlen, "%s %s: expected at most %d components", c->flag,
                           c->spec, MIX_MAX_PARTS);
        if (positive(c, "WEIGHT", p, &w)) return -1;
        if (strncmp(star + 1, "mix:", 4) == 0)
            return db_errf(c->err, c->errlen, "%s %s: a mix component cannot itself be a mix",
                           c->flag, c->spec);
        db_length_source *part = calloc(1, sizeof *part);
        if (!part) return db_errf(c->err, c->errlen, "%s %s: out of memory", c->flag, c->spec);
        src->parts[src->n_parts++] = part;
        if (parse_one(c, star + 1, part)) return -1;
        total += w;
        src->cum[src->n_parts - 1] = total;
    }
    return 0;
}

int db_length_source_parse(const char *spec, const char *flag, db_length_source **out, char *err,
                           size_t errlen) {
    *out = NULL;
    pctx c = {
        .flag = flag ? flag : "length", .spec = spec ? spec : "", .err = err, .errlen = errlen};
    if (!spec || !*spec)
        return db_errf(err, errlen,
                       "%s: expected a length distribution such as fixed:128 or "
                       "lognormal:1000:500, got an empty string",
                       c.flag);
    char *body = strdup(spec);
    db_length_source *src = calloc(1, sizeof *src);
    if (!body || !src) {
        free(body);
        free(src);
        return db_errf(err, errlen, "%s %s: out of memory", c.flag, spec);
    }
    int rc =
        strncmp(body, "mix:", 4) == 0 ? parse_mix(&c, body + 4, src) : parse_one(&c, body, src);
    free(body);
    if (rc) {
        db_length_source_free(src);
        return -1;
    }
    *out = src;
    return 0;
}

static int32_t clamp_round(double x, int64_t lo, int64_t hi) {
    if (!(x >= (double)lo)) return (int32_t)lo; /* also NaN */
    if (x > (double)hi) return (int32_t)hi;
    int64_t v = llround(x);
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

int32_t db_length_sample(const db_length_source *src, db_rng *rng) {
    switch (src->kind) {
    case LEN_FIXED:
        return (int32_t)src->lo;
    case LEN_UNIFORM:
        return (int32_t)(src->lo + (int64_t)db_rng_below(rng, (uint64_t)(src->hi - src->lo + 1)));
    case LEN_NORMAL:
        return clamp_round(src->a + src->b * db_rng_normal(rng), src->lo, src->hi);
    case LEN_LOGNORMAL:
        return clamp_round(exp(src->a + src->b * db_rng_normal(rng)), src->lo, src->hi);
    case LEN_ZIPF:
        return (int32_t)zipf_sample(&src->z, rng);
    case LEN_EMPIRICAL:
        return src->values[db_rng_below(rng, src->n_values)];
    case LEN_MIX: {
        double u = db_rng_uniform(rng) * src->cum[src->n_parts - 1];
        size_t i = 0;
        while (i + 1 < src->n_parts && u >= src->cum[i])
            i++;
        return db_length_sample(src->parts[i], rng);
    }
    }
    return 1;
}

size_t db_length_source_skipped(const db_length_source *src) {
    size_t n = src ? src->skipped : 0;
    for (size_t i = 0; src && i < src->n_parts; i++)
        n += db_length_source_skipped(src->parts[i]);
    return n;
}

void db_length_source_free(db_length_source *src) {
    if (!src) return;
    for (size_t i = 0; i < src->n_parts; i++)
        db_length_source_free(src->parts[i]);
    free(src->parts);
    free(src->cum);
    free(src->values);
    free(src);
}
