/* plot_serve.c — Pareto and goodput charts of a serve sweep (plot_serve.h). */
#include "plot_serve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

int db_serve_report_add(db_serve_report *r, const db_serve_pt *p) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        db_serve_pt *n = realloc(r->pts, cap * sizeof *n);
        if (!n) return -1;
        r->pts = n;
        r->cap = cap;
    }
    r->pts[r->n++] = *p;
    return 0;
}

void db_serve_report_free(db_serve_report *r) {
    free(r->pts);
    memset(r, 0, sizeof *r);
}

int db_serve_pareto_optimal(const db_serve_report *r, size_t i) {
    const db_serve_pt *p = &r->pts[i];
    if (p->search || !(p->per_user > 0) || !(p->output_tps > 0)) return 0;
    for (size_t k = 0; k < r->n; k++) {
        const db_serve_pt *q = &r->pts[k];
        if (k == i || q->search || strcmp(q->series, p->series) != 0) continue;
        int ge = q->per_user >= p->per_user && q->output_tps >= p->output_tps;
        int gt = q->per_user > p->per_user || q->output_tps > p->output_tps;
        if (ge && gt) return 0;
    }
    return 1;
}

/* Distinct series names in first-seen order. */
static int series_list(const db_serve_report *r, const char *out[32]) {
    int n = 0;
    for (size_t i = 0; i < r->n; i++) {
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= !strcmp(out[k], r->pts[i].series);
        if (!seen && n < 32) out[n++] = r->pts[i].series;
    }
    return n;
}

static void load_label(const db_serve_pt *p, char *buf, size_t len) {
    if (p->rate > 0)
        snprintf(buf, len, "%g/s", p->rate);
    else
        snprintf(buf, len, "c=%g", p->concurrency);
}

typedef struct order {
    const db_serve_report *r;
    size_t i;
} order;

static int by_per_user(const void *a, const void *b) {
    const order *x = a, *y = b;
    double u = x->r->pts[x->i].per_user, v = y->r->pts[y->i].per_user;
    return (u > v) - (u < v);
}

static int by_rate(const void *a, const void *b) {
    const order *x = a, *y = b;
    double u = x->r->pts[x->i].rate, v = y->r->pts[y->i].rate;
    return (u > v) - (u < v);
}

/* Indices of the series' points that pass keep(), sorted by cmp. Returns the count. */
static size_t select_points(const db_serve_report *r, const char *series,
                            int (*keep)(const db_serve_report *, size_t),
                            int (*cmp)(const void *, const void *), order *out) {
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->pts[i].series, series) && keep(r, i)) out[m++] = (order){r, i};
    qsort(out, m, sizeof *out, cmp);
    return m;
}

static int keep_all(const db_serve_report *r, size_t i) {
    return !r->pts[i].search && r->pts[i].per_user > 0 && r->pts[i].output_tps > 0;
}

static int keep_frontier(const db_serve_report *r, size_t i) {
    return db_serve_pareto_optimal(r, i);
}

int db_plot_pareto(const db_serve_report *r, const char *out_dir, const char *term, char *err,
                   size_t errlen) {
    const char *series[32];
    int ns = series_list(r, series);
    order *idx = malloc((r->n ? r->n : 1) * sizeof *idx);
    if (ns == 0 || !idx) {
        free(idx);
        snprintf(err, errlen, "pareto: %s", ns == 0 ? "no serve points to draw" : "out of memory");
        return -1;
    }
    db_plot_chart ch;
    if (db_plot_open(&ch, out_dir, "pareto", err, errlen)) {
        free(idx);
        return -1;
    }
    FILE *d = ch.dat;
    for (int s = 0; s < ns; s++) { /* block 2s: every point; 2s + 1: the frontier */
        fprintf(d, "# %s: tokens/s per user, output tokens/s, load\n", series[s]);
        size_t m = select_points(r, series[s], keep_all, by_per_user, idx);
        for (size_t k = 0; k < m; k++) {
            char label[32];
            load_label(&r->pts[idx[k].i], label, sizeof label);
            fprintf(d, "%.6g %.6g \"%s\"\n", r->pts[idx[k].i].per_user, r->pts[idx[k].i].output_tps,
                    label);
        }
        fprintf(d, "NaN NaN \"\"\n\n\n# %s: Pareto frontier\n", series[s]);
        m = select_points(r, series[s], keep_frontier, by_per_user, idx);
        for (size_t k = 0; k < m; k++)
            fprintf(d, "%.6g %.6g\n", r->pts[idx[k].i].per_user, r->pts[idx[k].i].output_tps);
        fprintf(d, "NaN NaN\n\n\n");
    }
    free(idx);
    FILE *g = ch.gp;
    fprintf(g, "set logscale y\nset xlabel 'output tokens/s per user (1000 / mean TPOT ms)'\n");
    fprintf(g, "set ylabel 'output tokens/s (whole device)'\nset key top right box opaque\n");
    char title[400];
    snprintf(title, sizeof title,
             "Throughput vs per-user speed: %s (frontier: no point better on both)", r->title);
    fprintf(g, "set title ");
    db_plot_quote(&ch, title);
    fprintf(g, "\n");
    db_plot_begin_outputs(&ch, term, 1200, 800);
    fprintf(g, "  plot \\\n");
    for (int s = 0; s < ns; s++) {
        fprintf(g, "    datafile index %d using 1:2 with points lt %d pt 7 ps 1.3 title ", 2 * s,
                s + 1);
        db_plot_quote(&ch, series[s]);
        fprintf(g,
                ", \\\n    datafile index %d using 1:2:3 with labels offset 0.6,0.6 left "
                "font ',8' tc lt %d notitle, \\\n",
                2 * s, s + 1);
        fprintf(g, "    datafile index %d using 1:2 with lines lt %d dt 2 title '  frontier', \\\n",
                2 * s + 1, s + 1);
    }
    fprintf(g, "    NaN notitle\n");
    db_plot_end_outputs(&ch);
    return db_plot_finish(&ch, err, errlen);
}

static int keep_rate_serve(const db_serve_report *r, size_t i) {
    return r->pts[i].rate > 0 && !r->pts[i].search;
}

static int keep_rate_search(const db_serve_report *r, size_t i) {
    return r->pts[i].rate > 0 && r->pts[i].search;
}

/* Block rows: rate, request/s, goodput, attainment %. */
static void rate_block(FILE *d, const db_serve_report *r, const order *idx, size_t m) {
    for (size_t k = 0; k < m; k++) {
        const db_serve_pt *p = &r->pts[idx[k].i];
        fprintf(d, "%.6g %.6g %.6g %.6g\n", p->rate, p->request_tps,
                isfinite(p->goodput) ? p->goodput : NAN,
                isfinite(p->attainment) ? 100 * p->attainment : NAN);
    }
    fprintf(d, "NaN NaN NaN NaN\n\n\n");
}

int db_plot_goodput(const db_serve_report *r, const char *out_dir, const char *term, char *err,
                    size_t errlen) {
    const char *series[32];
    int ns = series_list(r, series), any = 0;
    for (size_t i = 0; i < r->n; i++)
        any |= r->pts[i].rate > 0;
    order *idx = malloc((r->n ? r->n : 1) * sizeof *idx);
    if (!any || !idx) {
        free(idx);
        snprintf(err, errlen, "goodput: %s", !any ? "no rate points to draw" : "out of memory");
        return -1;
    }
    db_plot_chart ch;
    if (db_plot_open(&ch, out_dir, "goodput", err, errlen)) {
        free(idx);
        return -1;
    }
    size_t n_sweep[32], n_search[32];
    for (int s = 0; s < ns; s++) { /* block 2s: the sweep's rates; 2s + 1: search runs */
        fprintf(ch.dat, "# %s: rate, requests/s, goodput, attainment %%\n", series[s]);
        n_sweep[s] = select_points(r, series[s], keep_rate_serve, by_rate, idx);
        rate_block(ch.dat, r, idx, n_sweep[s]);
        fprintf(ch.dat, "# %s: capacity-search runs\n", series[s]);
        n_search[s] = select_points(r, series[s], keep_rate_search, by_rate, idx);
        rate_block(ch.dat, r, idx, n_search[s]);
    }
    free(idx);
    FILE *g = ch.gp;
    size_t sweep_points = 0;
    for (int k = 0; k < ns; k++)
        sweep_points += n_sweep[k];
    /* requests/s on a log axis when the sweep has rate points; search runs alone only use y2 */
    fprintf(g, "set logscale x\nset xlabel 'offered rate (requests/s)'\n");
    if (sweep_points)
        fprintf(g, "set logscale y\nset ylabel 'requests/s (log)'\n");
    else
        fprintf(g, "set yrange [0:1]\nset ylabel 'requests/s'\n");
    fprintf(g, "set y2label 'SLO attainment (%%)'\n");
    fprintf(g, "set y2range [0:105]\nset y2tics\nset ytics nomirror\nset bmargin 12\nset key "
               "outside below "
               "box\n");
    char title[600];
    snprintf(title, sizeof title, "Goodput and SLO attainment vs rate: %s (SLO %s)", r->title,
             r->slo[0] ? r->slo : "none");
    fprintf(g, "set title ");
    db_plot_quote(&ch, title);
    fprintf(g, "\n");
    db_plot_begin_outputs(&ch, term, 1200, 800);
    fprintf(g, "  plot \\\n");
    for (int s = 0; s < ns; s++) {
        char t[160];
        if (n_sweep[s]) {
            snprintf(t, sizeof t, "%s throughput", series[s]);
            fprintf(g, "    datafile index %d using 1:2 with linespoints lt %d dt 3 title ", 2 * s,
                    s + 1);
            db_plot_quote(&ch, t);
            snprintf(t, sizeof t, "%s goodput", series[s]);
            fprintf(g, ", \\\n    datafile index %d using 1:3 with linespoints lt %d pt 7 title ",
                    2 * s, s + 1);
            db_plot_quote(&ch, t);
            snprintf(t, sizeof t, "%s SLO attainment (right axis)", series[s]);
            fprintf(g,
                    ", \\\n    datafile index %d using 1:4 axes x1y2 with linespoints lt %d pt 5 "
                    "dt 2 title ",
                    2 * s, s + 1);
            db_plot_quote(&ch, t);
            fprintf(g, ", \\\n");
        }
        if (n_search[s]) {
            snprintf(t, sizeof t, "%s capacity-search runs: attainment (right axis)", series[s]);
            fprintf(g,
                    "    datafile index %d using 1:4 axes x1y2 with points lt %d pt 6 ps 1.5 "
                    "title ",
                    2 * s + 1, s + 1);
            db_plot_quote(&ch, t);
            fprintf(g, ", \\\n");
        }
    }
    fprintf(g, "    NaN notitle\n");
    db_plot_end_outputs(&ch);
    return db_plot_finish(&ch, err, errlen);
}
