/* crossover.c — the measured knee of step time versus batch by a two-line fit (crossover.h). */
#include "crossover.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNEE_MIN_POINTS 5
#define KNEE_MIN_SIDE 2
#define KNEE_MIN_RMS_ONE 0.02 /* one line must miss by more than 2% RMS for a knee to exist */
#define KNEE_MAX_RATIO 0.25   /* and two lines must cut its squared error to a quarter or less */
#define KNEE_MAX_RMS_BALANCE 0.10 /* a balance point needs one line within 10% RMS */

/* ---- knee ----------------------------------------------------------------------------------- */

typedef struct pt {
    double x, y;
} pt;

static int cmp_pt(const void *a, const void *b) {
    double x = ((const pt *)a)->x, y = ((const pt *)b)->x;
    return (x > y) - (x < y);
}

/* Least squares of y = a + b x over p[lo, hi) with weights 1/y^2; returns the weighted SSE (the sum
 * of squared relative residuals). */
static double fit_line(const pt *p, int lo, int hi, double *a, double *b) {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = lo; i < hi; i++) {
        double w = 1.0 / (p[i].y * p[i].y);
        sw += w;
        sx += w * p[i].x;
        sy += w * p[i].y;
        sxx += w * p[i].x * p[i].x;
        sxy += w * p[i].x * p[i].y;
    }
    double den = sw * sxx - sx * sx;
    if (den > 0) {
        *b = (sw * sxy - sx * sy) / den;
        *a = (sy - *b * sx) / sw;
    } else { /* every x equal: a flat line through the weighted mean */
        *b = 0;
        *a = sy / sw;
    }
    double sse = 0;
    for (int i = lo; i < hi; i++) {
        double r = (p[i].y - *a - *b * p[i].x) / p[i].y;
        sse += r * r;
    }
    return sse;
}

static int distinct_x(const pt *p, int n) {
    int d = n > 0;
    for (int i = 1; i < n; i++)
        d += p[i].x != p[i - 1].x;
    return d;
}

static void no_knee(db_knee *out, const char *why) {
    out->found = 0;
    out->batch = NAN;
    snprintf(out->why, sizeof out->why, "%s", why);
}

/* Least squares of y = b x (through the origin) over p[lo, hi) with weights 1/y^2; returns the
 * weighted SSE. */
static double fit_origin(const pt *p, int lo, int hi, double *b) {
    double sxx = 0, sxy = 0;
    for (int i = lo; i < hi; i++) {
        double w = 1.0 / (p[i].y * p[i].y);
        sxx += w * p[i].x * p[i].x;
        sxy += w * p[i].x * p[i].y;
    }
    *b = sxy / sxx;
    double sse = 0;
    for (int i = lo; i < hi; i++) {
        double r = (p[i].y - *b * p[i].x) / p[i].y;
        sse += r * r;
    }
    return sse;
}

/* The best split of sorted points: fills a1 b1 a2 b2 split; returns the two-line SSE. */
static double best_split(const pt *p, int n, db_knee *out) {
    double best = INFINITY;
    for (int k = KNEE_MIN_SIDE; k <= n - KNEE_MIN_SIDE; k++) {
        if (p[k].x == p[k - 1].x) continue; /* never split points of one batch */
        double a1, b1, a2 = 0, b2;
        double s = fit_line(p, 0, k, &a1, &b1) + fit_origin(p, k, n, &b2);
        if (s < best) {
            best = s;
            out->a1 = a1, out->b1 = b1, out->a2 = a2, out->b2 = b2, out->split = k;
        }
    }
    return best;
}

int db_knee_fit(const double *batch, const double *t, int n, db_knee *out) {
    memset(out, 0, sizeof *out);
    no_knee(out, "");
    pt *p = n > 0 ? malloc((size_t)n * sizeof *p) : NULL;
    if (!p) {
        no_knee(out, n > 0 ? "out of memory" : "no points");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!(t[i] > 0) || !(batch[i] > 0) || !isfinite(t[i]) || !isfinite(batch[i])) {
            free(p);
            no_knee(out, "a point has a non-positive or non-finite batch or time");
            return -1;
        }
        p[i] = (pt){batch[i], t[i]};
    }
    qsort(p, (size_t)n, sizeof *p, cmp_pt);
    if (distinct_x(p, n) < KNEE_MIN_POINTS) {
        free(p);
        no_knee(out, "fewer than 5 distinct batch sizes");
        return -1;
    }
    double a, b;
    double sse_one = fit_line(p, 0, n, &a, &b);
    double sse_two = best_split(p, n, out);
    out->rms_one = sqrt(sse_one / n);
    out->rms_two = sqrt(sse_two / n);
    double x_min = p[0].x, x_max = p[n - 1].x;
    free(p);
    const char *why = NULL;
    double x = (out->a1 - out->a2) / (out->b2 - out->b1);
    if (!(out->rms_one > KNEE_MIN_RMS_ONE))
        why = "one straight line fits every point within 2% RMS";
    else if (!(sse_two <= KNEE_MAX_RATIO * sse_one))
        why = "two lines fit little better than one";
    else if (!(out->b2 > out->b1) || !(out->a1 > 0))
        why = "step time does not grow faster at large batch";
    else if (!(x >= x_min && x <= x_max))
        why = "the lines meet outside the batch range";
    if (!why) {
        out->found = 1;
        out->method = DB_KNEE_HINGE;
        out->batch = x;
        out->why[0] = '\0';
        return 0;
    }
    /* No slope change: the balance point of the one line a + b B, where the fixed time per step
     * equals the time of the sequences. */
    double xb = a / b;
    if (out->rms_one <= KNEE_MAX_RMS_BALANCE && a > 0 && b > 0 && xb >= x_min && xb <= x_max) {
        out->found = 1;
        out->method = DB_KNEE_BALANCE;
        out->batch = xb;
        out->a1 = a, out->b1 = b, out->a2 = 0, out->b2 = 0, out->split = n;
        out->why[0] = '\0';
        return 0;
    }
    char reason[96];
    snprintf(reason, sizeof reason, "%s; no balance point either", why);
    no_knee(out, reason);
    return 0;
}

const char *db_knee_method_name(db_knee_method m) {
    return m == DB_KNEE_HINGE ? "hinge" : m == DB_KNEE_BALANCE ? "balance" : "";
}

/* ---- groups -----------------------------------------------------------------------------------
 */

static int cmp_key_index(const void *a, const void *b, void *keys_arg) {
    const char *const *keys = keys_arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(keys[i], keys[j]);
    return c ? c : (i > j) - (i < j);
}

int db_knee_fill_groups(size_t n, const char *const *keys, const double *batch, const double *t,
                        const int *ok, double *knee, int *method) {
    for (size_t i = 0; i < n; i++) {
        knee[i] = NAN;
        if (method) method[i] = DB_KNEE_NONE;
    }
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    double *xb = malloc((n ? n : 1) * sizeof *xb), *yb = malloc((n ? n : 1) * sizeof *yb);
    if (!idx || !xb || !yb) {
        free(idx), free(xb), free(yb);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ok[i]) idx[m++] = i;
    qsort_r(idx, m, sizeof *idx, cmp_key_index, (void *)keys);
    for (size_t g = 0; g < m;) {
        size_t e = g;
        while (e < m && strcmp(keys[idx[e]], keys[idx[g]]) == 0)
            e++;
        int np = 0;
        for (size_t i = g; i < e; i++, np++) {
            xb[np] = batch[idx[i]];
            yb[np] = t[idx[i]];
        }
        db_knee k;
        if (db_knee_fit(xb, yb, np, &k) == 0 && k.found)
            for (size_t i = g; i < e; i++) {
                knee[idx[i]] = k.batch;
                if (method) method[idx[i]] = (int)k.method;
            }
        g = e;
    }
    free(idx), free(xb), free(yb);
    return 0;
}
