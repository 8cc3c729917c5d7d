/* roofline.c — roofline arithmetic and the curves of a report (roofline.h). */
#include "roofline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double db_rl_attainable(double ai, double bandwidth_gbps, double peak_tflops) {
    double mem = ai * bandwidth_gbps / 1e3; /* FLOP/byte x GB/s = GFLOP/s; / 1e3 = TFLOP/s */
    return mem < peak_tflops ? mem : peak_tflops;
}

double db_rl_ridge(double bandwidth_gbps, double peak_tflops) {
    return bandwidth_gbps > 0 && peak_tflops > 0 ? peak_tflops * 1e3 / bandwidth_gbps : 0.0;
}

db_rl_curve *db_rl_curve_get(db_rl_report *r, const char *precision, const char *kv_dtype,
                             double context, const char *label) {
    for (size_t i = 0; i < r->n_curves; i++) {
        db_rl_curve *c = &r->curves[i];
        if (!strcmp(c->precision, precision) && !strcmp(c->kv_dtype, kv_dtype) &&
            c->context == context && !strcmp(c->label, label))
            return c;
    }
    if (r->n_curves == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 8;
        db_rl_curve *n = realloc(r->curves, cap * sizeof *n);
        if (!n) return NULL;
        r->curves = n;
        r->cap = cap;
    }
    db_rl_curve *c = &r->curves[r->n_curves++];
    memset(c, 0, sizeof *c);
    snprintf(c->precision, sizeof c->precision, "%s", precision);
    snprintf(c->kv_dtype, sizeof c->kv_dtype, "%s", kv_dtype);
    snprintf(c->label, sizeof c->label, "%s", label);
    c->context = context;
    c->predicted = c->measured = c->ridge_batch = c->ai_ridge = NAN;
    return c;
}

int db_rl_curve_add(db_rl_curve *c, const db_rl_point *p) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        db_rl_point *n = realloc(c->pts, cap * sizeof *n);
        if (!n) return -1;
        c->pts = n;
        c->cap = cap;
    }
    size_t i = c->n++;
    while (i > 0 && c->pts[i - 1].batch > p->batch) {
        c->pts[i] = c->pts[i - 1];
        i--;
    }
    c->pts[i] = *p;
    return 0;
}

void db_rl_ceilings_add(db_rl_ceilings *c, const char *precision, double peak_tflops) {
    for (int i = 0; i < c->n_peak; i++)
        if (!strcmp(c->peak[i].precision, precision)) return;
    if (c->n_peak >= DB_RL_MAX_CEILINGS || !(peak_tflops > 0)) return;
    snprintf(c->peak[c->n_peak].precision, sizeof c->peak[0].precision, "%s", precision);
    c->peak[c->n_peak++].peak_tflops = peak_tflops;
}

void db_rl_report_free(db_rl_report *r) {
    for (size_t i = 0; i < r->n_curves; i++)
        free(r->curves[i].pts);
    free(r->curves);
    memset(r, 0, sizeof *r);
}
