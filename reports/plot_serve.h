/* plot_serve.h — the serve-sweep charts and their data: one point per run (a load: a Poisson rate
 * or a closed-loop concurrency) grouped into series (precision and KV dtype).
 *   pareto   output tokens/s of the device against output tokens/s per user (1000 / mean TPOT):
 *            each series' points labelled by load, its Pareto frontier (no other point of the
 *            series is better on both axes) drawn as a line.
 *   goodput  request throughput and goodput (requests/s, left axis) and SLO attainment (%, right
 *            axis) against the offered rate; capacity-search runs drawn as separate markers.
 * Files as plot.h: OUT/plots/NAME.{gp,dat}, OUT/NAME.{png,svg}.
 *
 * What it must not do: know the engine, the sweep runner or the CSV layout; print.
 */
#ifndef DB_PLOT_SERVE_H
#define DB_PLOT_SERVE_H

#include <stddef.h>

typedef struct db_serve_pt {
    char series[64];    /* e.g. "bf16 kv bf16" */
    int search;         /* 1: a capacity-search run */
    double rate;        /* requests/s offered, or 0 */
    double concurrency; /* requests in flight, or 0 */
    double per_user;    /* output tokens/s per user */
    double output_tps;  /* output tokens/s */
    double request_tps; /* requests/s completed */
    double goodput;     /* requests/s meeting the SLO; NAN without one */
    double attainment;  /* 0..1; NAN without an SLO */
    double p99_ttft_ms, p99_tpot_ms;
} db_serve_pt;

typedef struct db_serve_report {
    char title[256];
    char slo[128]; /* the SLO text, "" without */
    db_serve_pt *pts;
    size_t n, cap;
} db_serve_report;

/* 0, or -1 when memory runs out. */
int db_serve_report_add(db_serve_report *r, const db_serve_pt *p);
void db_serve_report_free(db_serve_report *r);

/* 1 when point i of r is on its series' Pareto frontier: no other sweep point of the series is at
 * least as good on both per-user and device throughput and better on one (capacity-search runs
 * take no part: they are neither drawn on the Pareto chart nor compared). */
int db_serve_pareto_optimal(const db_serve_report *r, size_t i);

/* Each 0, or -1 with err (nothing to draw, a write or gnuplot failure). */
int db_plot_pareto(const db_serve_report *r, const char *out_dir, const char *term, char *err,
                   size_t errlen);
int db_plot_goodput(const db_serve_report *r, const char *out_dir, const char *term, char *err,
                    size_t errlen);

#endif
