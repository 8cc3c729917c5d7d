/* sweep_grid.c — value lists, ranges, the grid and shards (sweep_grid.h). */
#include "sweep_grid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole decimal integer at s[0..len); 0, or -1 when it is not one. */
static int parse_int(const char *s, size_t len, int64_t *out) {
    char buf[32];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == '+' || (buf[0] == '-' && len == 1)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

typedef struct list_ctx {
    const char *flag, *item;
    int item_len;
    int64_t lo, hi;
    int64_t *v;
    int n;
    char *err;
    size_t errlen;
} list_ctx;

static int add_value(list_ctx *c, int64_t x) {
    if (x < c->lo || x > c->hi) {
        snprintf(c->err, c->errlen, "%s: '%.*s' gives %lld, outside %lld..%lld", c->flag,
                 c->item_len, c->item, (long long)x, (long long)c->lo, (long long)c->hi);
        return -1;
    }
    for (int i = 0; i < c->n; i++)
        if (c->v[i] == x) {
            snprintf(c->err, c->errlen, "%s: %lld is given twice (item '%.*s')", c->flag,
                     (long long)x, c->item_len, c->item);
            return -1;
        }
    if (c->n >= DB_SWEEP_MAX_VALUES) {
        snprintf(c->err, c->errlen, "%s: more than %d values", c->flag, DB_SWEEP_MAX_VALUES);
        return -1;
    }
    c->v[c->n++] = x;
    return 0;
}

static int bad_item(list_ctx *c) {
    snprintf(c->err, c->errlen,
             "%s: bad item '%.*s': expected N, LO..HI, LO..HI+STEP or LO..HIxFACTOR with whole "
             "numbers (e.g. 1..512x2, 1..64+8)",
             c->flag, c->item_len, c->item);
    return -1;
}

/* One item s[0..len) of an integer list (ctx: a list_ctx): N, LO..HI, LO..HI+S or LO..HIxF. */
static int parse_item(void *ctx, const char *s, int len) {
    list_ctx *c = ctx;
    c->item = s;
    c->item_len = len;
    const char *end = s + len;
    const char *dots = NULL;
    for (const char *q = s; q + 1 < end; q++)
        if (q[0] == '.' && q[1] == '.') {
            dots = q;
            break;
        }
    int64_t a, b, step = 1;
    if (!dots) return parse_int(s, (size_t)(end - s), &a) ? bad_item(c) : add_value(c, a);
    const char *rest = dots + 2, *op = rest;
    while (op < end && *op != '+' && *op != 'x')
        op++;
    int geometric = op < end && *op == 'x';
    if (parse_int(s, (size_t)(dots - s), &a) || parse_int(rest, (size_t)(op - rest), &b) ||
        (op < end && parse_int(op + 1, (size_t)(end - op - 1), &step)))
        return bad_item(c);
    if (a > b) {
        snprintf(c->err, c->errlen, "%s: range '%.*s' runs backwards (%lld > %lld)", c->flag,
                 c->item_len, c->item, (long long)a, (long long)b);
        return -1;
    }
    if (geometric ? step < 2 || a < 1 : step < 1) {
        snprintf(c->err, c->errlen,
                 geometric ? "%s: range '%.*s' needs a whole factor >= 2 and a start >= 1"
                           : "%s: range '%.*s' needs a step >= 1",
                 c->flag, c->item_len, c->item);
        return -1;
    }
    for (int64_t x = a; x <= b;) {
        if (add_value(c, x)) return -1;
        if (geometric ? x > b / step : x > b - step) break;
        x = geometric ? x * step : x + step;
    }
    return 0;
}

/* The value buffer of a list flag (DB_SWEEP_MAX_VALUES elements of elem bytes); NULL with err filled
 * when text is empty (example: what a list looks like) or memory is short. */
static void *list_buffer(const char *flag, const char *text, const char *example, size_t elem,
                         char *err, size_t errlen) {
    if (!text || !*text) {
        snprintf(err, errlen, "%s: expected a list such as %s, got nothing", flag, example);
        return NULL;
    }
    void *v = malloc(DB_SWEEP_MAX_VALUES * elem);
    if (!v) snprintf(err, errlen, "%s: out of memory", flag);
    return v;
}

/* Calls item(ctx, s, len) on each comma-separated item of text; 0, or -1 with err filled (an empty
 * item here, anything else by item). */
static int each_item(const char *flag, const char *text, int (*item)(void *, const char *, int),
                     void *ctx, char *err, size_t errlen) {
    for (const char *s = text;;) {
        const char *comma = strchr(s, ',');
        int len = (int)(comma ? (size_t)(comma - s) : strlen(s));
        if (len == 0) {
            snprintf(err, errlen, "%s: empty item in '%s'", flag, text);
            return -1;
        }
        if (item(ctx, s, len)) return -1;
        if (!comma) return 0;
        s = comma + 1;
    }
}

int db_sweep_parse_ints(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t **out,
                        int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    list_ctx c = {.flag = flag, .lo = lo, .hi = hi, .err = err, .errlen = errlen};
    c.v = list_buffer(flag, text, "1,2,4 or 1..512x2", sizeof *c.v, err, errlen);
    if (!c.v) return -1;
    if (each_item(flag, text, parse_item, &c, err, errlen)) {
        free(c.v);
        return -1;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* A decimal number at s[0..len); 0, or -1. */
static int parse_num(const char *s, size_t len, double *out) {
    char buf[64];
    if (len == 0 || len >= sizeof buf || s[0] == '+') return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

typedef struct num_ctx {
    const char *flag, *item;
    int item_len;
    double lo, hi;
    double *v;
    int n;
    char *err;
    size_t errlen;
} num_ctx;

static int add_number(num_ctx *c, double x) {
    if (!(x >= c->lo && x <= c->hi)) {
        snprintf(c->err, c->errlen, "%s: '%.*s' gives %g, outside %g..%g", c->flag, c->item_len,
                 c->item, x, c->lo, c->hi);
        return -1;
    }
    for (int i = 0; i < c->n; i++)
        if (fabs(c->v[i] - x) <= 1e-12 * fabs(x)) {
            snprintf(c->err, c->errlen, "%s: %g is given twice (item '%.*s')", c->flag, x,
                     c->item_len, c->item);
            return -1;
        }
    if (c->n >= DB_SWEEP_MAX_VALUES) {
        snprintf(c->err, c->errlen, "%s: more than %d values", c->flag, DB_SWEEP_MAX_VALUES);
        return -1;
    }
    c->v[c->n++] = x;
    return 0;
}

/* One item s[0..len) of a number list (ctx: a num_ctx): N, LO..HI, LO..HI+S or LO..HIxF. */
static int parse_number_item(void *ctx, const char *s, int len) {
    num_ctx *c = ctx;
    c->item = s;
    c->item_len = len;
    const char *end = s + len, *dots = strstr(s, "..");
    double a, b, step = 1;
    if (dots && dots >= end) dots = NULL;
    if (!dots) {
        if (parse_num(s, (size_t)(end - s), &a) == 0) return add_number(c, a);
    } else {
        const char *rest = dots + 2, *op = rest;
        while (op < end && *op != '+' && *op != 'x')
            op++;
        int geometric = op < end && *op == 'x';
        if (parse_num(s, (size_t)(dots - s), &a) == 0 &&
            parse_num(rest, (size_t)(op - rest), &b) == 0 &&
            (op == end || parse_num(op + 1, (size_t)(end - op - 1), &step) == 0)) {
            if (a > b) {
                snprintf(c->err, c->errlen, "%s: range '%.*s' runs backwards (%g > %g)", c->flag,
                         c->item_len, c->item, a, b);
                return -1;
            }
            if (geometric ? !(step > 1) || !(a > 0) : !(step > 0)) {
                snprintf(c->err, c->errlen,
                         geometric ? "%s: range '%.*s' needs a factor > 1 and a start > 0"
                                   : "%s: range '%.*s' needs a step > 0",
                         c->flag, c->item_len, c->item);
                return -1;
            }
            for (int i = 0;; i++) {
                double x = geometric ? a * pow(step, i) : a + i * step;
                if (x > b * (1 + 1e-9)) break;
                if (add_number(c, x > b ? b : x)) return -1;
            }
            return 0;
        }
    }
    snprintf(c->err, c->errlen,
             "%s: bad item '%.*s': expected N, LO..HI, LO..HI+STEP or LO..HIxFACTOR (e.g. "
             "0.5..16x2, 1..10+0.5)",
             c->flag, c->item_len, c->item);
    return -1;
}

int db_sweep_parse_numbers(const char *flag, const char *text, double lo, double hi, double **out,
                           int *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    num_ctx c = {.flag = flag, .lo = lo, .hi = hi, .err = err, .errlen = errlen};
    c.v = list_buffer(flag, text, "1,2,4 or 0.5..16x2", sizeof *c.v, err, errlen);
    if (!c.v) return -1;
    if (each_item(flag, text, parse_number_item, &c, err, errlen)) {
        free(c.v);
        return -1;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* Splits a comma list of names; parse(name) gives the enum value or -1. */
static int parse_names(const char *flag, const char *text, int (*parse)(const char *, int *),
                       const char *expected, int *out, int max, int *n, char *err, size_t errlen) {
    *n = 0;
    if (!text || !*text) {
        snprintf(err, errlen, "%s: expected a list of %s, got nothing", flag, expected);
        return -1;
    }
    for (const char *s = text;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char name[32];
        int v;
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), s);
        if (len == 0 || len >= sizeof name || parse(name, &v) != 0) {
            snprintf(err, errlen, "%s: unknown value '%.*s'; expected %s", flag, (int)len, s,
                     expected);
            return -1;
        }
        for (int i = 0; i < *n; i++)
            if (out[i] == v) {
                snprintf(err, errlen, "%s: '%s' is given twice", flag, name);
                return -1;
            }
        if (*n >= max) return -1; /* unreachable: duplicates are refused */
        out[(*n)++] = v;
        if (!comma) return 0;
        s = comma + 1;
    }
}

static int prec_parse(const char *s, int *v) {
    db_precision p;
    if (db_precision_parse(s, &p)) return -1;
    *v = (int)p;
    return 0;
}

static int kv_parse(const char *s, int *v) {
    db_kv_dtype k;
    if (db_kv_dtype_parse(s, &k)) return -1;
    *v = (int)k;
    return 0;
}

int db_sweep_parse_precisions(const char *flag, const char *text, db_precision *out, int *n,
                              char *err, size_t errlen) {
    int v[DB_PREC_COUNT];
    if (parse_names(flag, text, prec_parse, "fp32, tf32, fp16, bf16, fp8, int8 or int4", v,
                    DB_PREC_COUNT, n, err, errlen))
        return -1;
    for (int i = 0; i < *n; i++)
        out[i] = (db_precision)v[i];
    return 0;
}

int db_sweep_parse_kv_dtypes(const char *flag, const char *text, db_kv_dtype *out, int *n,
                             char *err, size_t errlen) {
    int v[DB_KV_COUNT];
    if (parse_names(flag, text, kv_parse, "fp32, fp16, bf16 or fp8", v, DB_KV_COUNT, n, err,
                    errlen))
        return -1;
    for (int i = 0; i < *n; i++)
        out[i] = (db_kv_dtype)v[i];
    return 0;
}

int db_sweep_parse_shard(const char *text, int *index, int *count, char *err, size_t errlen) {
    const char *slash = text ? strchr(text, '/') : NULL;
    int64_t i, n;
    if (!slash || parse_int(text, (size_t)(slash - text), &i) ||
        parse_int(slash + 1, strlen(slash + 1), &n) || n < 1 || n > 100000 || i < 0 || i >= n) {
        snprintf(err, errlen,
                 "--shard expects I/N with 0 <= I < N <= 100000 (e.g. 0/4 .. 3/4), got '%s'",
                 text ? text : "");
        return -1;
    }
    *index = (int)i;
    *count = (int)n;
    return 0;
}

/* Points per precision and KV dtype. */
static size_t inner_points(const db_sweep_grid *g) {
    return g->serve ? (size_t)g->n_rates + (size_t)g->n_concurrencies
                    : (size_t)g->n_contexts * (size_t)g->n_batches;
}

size_t db_sweep_grid_size(const db_sweep_grid *g) {
    return (size_t)g->n_precisions * (size_t)g->n_kv_dtypes * inner_points(g);
}

void db_sweep_grid_point(const db_sweep_grid *g, size_t index, db_sweep_point *p) {
    size_t i = index;
    memset(p, 0, sizeof *p);
    p->index = index;
    if (g->serve) {
        size_t load = i % inner_points(g);
        if (load < (size_t)g->n_rates)
            p->rate = g->rates[load];
        else
            p->concurrency = g->concurrencies[load - (size_t)g->n_rates];
        i /= inner_points(g);
    } else {
        p->batch = g->batches[i % (size_t)g->n_batches];
        i /= (size_t)g->n_batches;
        p->context = g->contexts[i % (size_t)g->n_contexts];
        i /= (size_t)g->n_contexts;
    }
    p->kv_dtype = g->kv_dtypes[i % (size_t)g->n_kv_dtypes];
    i /= (size_t)g->n_kv_dtypes;
    p->precision = g->precisions[i];
}

void db_sweep_grid_free(db_sweep_grid *g) {
    free(g->contexts);
    free(g->batches);
    free(g->rates);
    free(g->concurrencies);
    g->contexts = g->batches = g->concurrencies = NULL;
    g->rates = NULL;
    g->n_contexts = g->n_batches = g->n_rates = g->n_concurrencies = 0;
}
