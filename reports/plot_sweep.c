/* plot_sweep.c — the roofline, step-time and throughput charts of a step sweep (plot.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot.h"

/* TFLOP/s, or GFLOP/s when every peak and point is below 1 TFLOP/s (a CPU). */
static double flops_scale(const db_rl_report *r, const char **unit) {
    double top = 0;
    for (int i = 0; i < r->ceil.n_peak; i++)
        top = fmax(top, r->ceil.peak[i].peak_tflops);
    for (size_t c = 0; c < r->n_curves; c++)
        for (size_t i = 0; i < r->curves[c].n; i++)
            top = fmax(top, r->curves[c].pts[i].achieved_tflops);
    *unit = top < 1.0 ? "GFLOP/s" : "TFLOP/s";
    return top < 1.0 ? 1e3 : 1.0;
}

/* Distinct precisions of the curves, in first-seen order. */
static int precisions(const db_rl_report *r, const char *out[16]) {
    int n = 0;
    for (size_t c = 0; c < r->n_curves; c++) {
        int seen = 0;
        for (int i = 0; i < n; i++)
            seen |= !strcmp(out[i], r->curves[c].precision);
        if (!seen && n < 16) out[n++] = r->curves[c].precision;
    }
    return n;
}

static const db_rl_ceiling *peak_of(const db_rl_report *r, const char *precision) {
    for (int i = 0; i < r->ceil.n_peak; i++)
        if (!strcmp(r->ceil.peak[i].precision, precision)) return &r->ceil.peak[i];
    return NULL;
}

/* Precisions whose peak equals prec[p]'s (one ceiling line for them all), joined by ", " into
 * names; returns 1 when prec[p] is the first of its group (draws the line), else 0. */
static int ceiling_group(const db_rl_report *r, const char **prec, int np, int p, char *names,
                         size_t len) {
    const db_rl_ceiling *c = peak_of(r, prec[p]);
    names[0] = '\0';
    if (!c) return 0;
    int first = 1;
    size_t used = 0;
    for (int q = 0; q < np; q++) {
        const db_rl_ceiling *o = peak_of(r, prec[q]);
        if (!o || fabs(o->peak_tflops - c->peak_tflops) > 1e-9 * c->peak_tflops) continue;
        if (q < p) first = 0;
        int w = snprintf(names + used, len - used, "%s%s", used ? ", " : "", prec[q]);
        if (w > 0 && (size_t)w < len - used) used += (size_t)w;
    }
    return first;
}

/* Batch labels: every point of a precision's first curve when it has at most 12, else the powers
 * of 4 (1, 4, 16, ...). */
static int labelled(const db_rl_curve *cv, double batch) {
    if (cv->n <= 12) return 1;
    double l = log2(batch) / 2;
    return batch >= 1 && l == floor(l);
}

/* Data blocks 0..n-1: the points of each precision (ai, performance, "label"); block n: the ridge
 * points (ai, peak, "label"), one per group of equal peaks. lo/hi: the x range, ylo: the smallest
 * performance. */
static void roofline_data(db_plot_chart *ch, const db_rl_report *r, const char **prec, int np,
                          double scale, double *lo, double *hi, double *ylo) {
    FILE *d = ch->dat;
    *lo = *ylo = INFINITY;
    *hi = 0;
    for (int p = 0; p < np; p++) {
        fprintf(d, "# %s: arithmetic intensity, performance, batch label\n", prec[p]);
        int first_curve = 1;
        for (size_t c = 0; c < r->n_curves; c++) {
            const db_rl_curve *cv = &r->curves[c];
            if (strcmp(cv->precision, prec[p]) != 0) continue;
            for (size_t i = 0; i < cv->n; i++) {
                const db_rl_point *pt = &cv->pts[i];
                if (!(pt->ai > 0) || !(pt->achieved_tflops > 0)) continue;
                char label[32] = "";
                if (first_curve && labelled(cv, pt->batch))
                    snprintf(label, sizeof label, "B=%.0f", pt->batch);
                fprintf(d, "%.6g %.6g \"%s\"\n", pt->ai, pt->achieved_tflops * scale, label);
                *lo = fmin(*lo, pt->ai);
                *hi = fmax(*hi, pt->ai);
                *ylo = fmin(*ylo, pt->achieved_tflops * scale);
            }
            first_curve = 0;
        }
        fprintf(d, "NaN NaN \"\"\n\n\n");
    }
    fprintf(d, "# ridge points: intensity, peak, label\n");
    for (int p = 0; p < np; p++) {
        char names[96];
        const db_rl_ceiling *c = peak_of(r, prec[p]);
        double ridge = c ? db_rl_ridge(r->ceil.bandwidth_gbps, c->peak_tflops) : 0;
        if (ridge > 0 && ceiling_group(r, prec, np, p, names, sizeof names)) {
            fprintf(d, "%.6g %.6g \"%s ridge %.3g\"\n", ridge, c->peak_tflops * scale, names,
                    ridge);
            *lo = fmin(*lo, ridge);
            *hi = fmax(*hi, ridge);
        }
    }
    fprintf(d, "NaN NaN \"\"\n");
}

int db_plot_roofline(const db_rl_report *r, const char *out_dir, const char *term, char *err,
                     size_t errlen) {
    const char *prec[16], *unit;
    int np = precisions(r, prec);
    if (np == 0) {
        snprintf(err, errlen, "roofline: no points to draw");
        return -1;
    }
    db_plot_chart ch;
    if (db_plot_open(&ch, out_dir, "roofline", err, errlen)) return -1;
    double scale = flops_scale(r, &unit), lo, hi, ylo, top = 0;
    roofline_data(&ch, r, prec, np, scale, &lo, &hi, &ylo);
    for (int i = 0; i < r->ceil.n_peak; i++)
        top = fmax(top, r->ceil.peak[i].peak_tflops * scale);
    for (size_t c = 0; c < r->n_curves; c++)
        for (size_t i = 0; i < r->curves[c].n; i++)
            top = fmax(top, r->curves[c].pts[i].achieved_tflops * scale);
    FILE *g = ch.gp;
    int has_ceil = r->ceil.source[0] && r->ceil.bandwidth_gbps > 0;
    fprintf(g, "bw = %.10g  # %s per FLOP/byte\n", r->ceil.bandwidth_gbps * scale / 1e3, unit);
    fprintf(g, "set samples 800\nset logscale xy\nset xrange [%.6g:%.6g]\n", lo / 4, hi * 4);
    fprintf(g, "set yrange [%.6g:%.6g]\n", ylo / 3, top * 2.5);
    fprintf(g, "set xlabel 'arithmetic intensity (FLOP/byte)'\nset ylabel 'performance (%s)'\n",
            unit);
    fprintf(g, "set key top left box opaque\n");
    fprintf(g, "set title ");
    char title[512];
    char ceil_text[96] = "no ceilings given";
    if (has_ceil)
        snprintf(ceil_text, sizeof ceil_text, "%s ceilings, %.4g GB/s", r->ceil.source,
                 r->ceil.bandwidth_gbps);
    snprintf(title, sizeof title, "Roofline: %s on %s (%s)", r->title,
             r->ceil.device[0] ? r->ceil.device : "unknown device", ceil_text);
    db_plot_quote(&ch, title);
    fprintf(g, "\n");
    db_plot_begin_outputs(&ch, term, 1200, 800);
    fprintf(g, "  plot \\\n");
    static const char *const offsets[] = {"offset 0.5,0.6 left", "offset 0.5,-0.7 left",
                                          "offset -0.5,0.6 right"};
    for (int p = 0; p < np && has_ceil; p++) {
        const db_rl_ceiling *c = peak_of(r, prec[p]);
        char names[96];
        if (!ceiling_group(r, prec, np, p, names, sizeof names)) continue;
        fprintf(g,
                "    (x * bw < %.10g ? x * bw : %.10g) with lines lt %d dt 2 lw 2 "
                "title '%s peak %.4g %s (%s)', \\\n",
                c->peak_tflops * scale, c->peak_tflops * scale, db_plot_precision_color(prec[p]),
                names, c->peak_tflops * scale, unit, r->ceil.source);
    }
    for (int p = 0; p < np; p++) {
        int lt = db_plot_precision_color(prec[p]);
        static const int types[] = {7, 5, 9, 11, 13, 15, 4, 6};
        fprintf(g,
                "    datafile index %d using 1:2 with points lt %d pt %d ps 1.3 title '%s points', "
                "\\\n",
                p, lt, types[(lt - 1) % 8], prec[p]);
        fprintf(g,
                "    datafile index %d using 1:2:3 with labels %s font ',8' tc lt %d notitle, \\\n",
                p, offsets[p % 3], lt);
    }
    fprintf(g,
            "    datafile index %d using 1:2 with points pt 6 ps 2.2 lc rgb 'black' "
            "title 'ridge points', \\\n",
            np);
    fprintf(g, "    datafile index %d using 1:2:3 with labels offset 0,1.3 font ',9' notitle\n",
            np);
    db_plot_end_outputs(&ch);
    return db_plot_finish(&ch, err, errlen);
}

/* One data block per curve: batch, step ms, tokens/s. */
static void curve_data(db_plot_chart *ch, const db_rl_report *r) {
    for (size_t c = 0; c < r->n_curves; c++) {
        fprintf(ch->dat, "# %s: batch, step_ms, tokens_per_s\n", r->curves[c].label);
        for (size_t i = 0; i < r->curves[c].n; i++) {
            const db_rl_point *p = &r->curves[c].pts[i];
            fprintf(ch->dat, "%.6g %.6g %.6g\n", p->batch, p->step_ms, p->tokens_per_s);
        }
        fprintf(ch->dat, "\n\n");
    }
}

/* Step time or throughput against batch with the knees marked. column: 2 or 3 of the data. */
static int batch_chart(const db_rl_report *r, const char *out_dir, const char *term,
                       const char *name, int column, const char *ylabel, char *err, size_t errlen) {
    if (r->n_curves == 0) {
        snprintf(err, errlen, "%s: no points to draw", name);
        return -1;
    }
    db_plot_chart ch;
    if (db_plot_open(&ch, out_dir, name, err, errlen)) return -1;
    curve_data(&ch, r);
    FILE *g = ch.gp;
    fprintf(g, "set logscale x 2\nset logscale y\nset xlabel 'batch size (sequences per step)'\n");
    fprintf(g, "set ylabel '%s'\nset key %s box opaque\n", ylabel,
            column == 2 ? "top left" : "bottom right");
    fprintf(g, "set title ");
    char title[512];
    snprintf(title, sizeof title,
             "%s: %s on %s (solid: measured knee, dashed: predicted crossover)",
             column == 2 ? "Decode step time" : "Decode throughput", r->title,
             r->ceil.device[0] ? r->ceil.device : "unknown device");
    db_plot_quote(&ch, title);
    fprintf(g, "\n");
    for (size_t c = 0; c < r->n_curves; c++) {
        const db_rl_curve *cv = &r->curves[c];
        if (isfinite(cv->measured))
            fprintf(g, "set arrow from %.6g, graph 0 to %.6g, graph 1 nohead lt %zu dt 1 lw 1.5\n",
                    cv->measured, cv->measured, c + 1);
        if (isfinite(cv->predicted))
            fprintf(g, "set arrow from %.6g, graph 0 to %.6g, graph 1 nohead lt %zu dt 2 lw 1.5\n",
                    cv->predicted, cv->predicted, c + 1);
    }
    db_plot_begin_outputs(&ch, term, 1200, 800);
    fprintf(g, "  plot \\\n");
    for (size_t c = 0; c < r->n_curves; c++) {
        const db_rl_curve *cv = &r->curves[c];
        char t[256], k[64] = "none", p[32] = "none";
        if (isfinite(cv->measured))
            snprintf(k, sizeof k, "%.1f%s%s%s", cv->measured, cv->measured_method[0] ? " (" : "",
                     cv->measured_method, cv->measured_method[0] ? ")" : "");
        if (isfinite(cv->predicted)) snprintf(p, sizeof p, "%.1f", cv->predicted);
        snprintf(t, sizeof t, "%s: knee %s, predicted %s", cv->label, k, p);
        fprintf(g, "    datafile index %zu using 1:%d with linespoints lt %zu title ", c, column,
                c + 1);
        db_plot_quote(&ch, t);
        fprintf(g, ", \\\n");
    }
    fprintf(g, "    NaN notitle\n");
    db_plot_end_outputs(&ch);
    return db_plot_finish(&ch, err, errlen);
}

int db_plot_step_time(const db_rl_report *r, const char *out_dir, const char *term, char *err,
                      size_t errlen) {
    return batch_chart(r, out_dir, term, "step_time", 2, "decode step time (ms)", err, errlen);
}

int db_plot_throughput(const db_rl_report *r, const char *out_dir, const char *term, char *err,
                       size_t errlen) {
    return batch_chart(r, out_dir, term, "throughput", 3, "decode throughput (tokens/s)", err,
                       errlen);
}
