/* report_md.h — report.md: a markdown page that embeds the charts (plot.h, plot_serve.h) and holds
 * the key tables: the ceilings in use and their source, the predicted and measured crossover of
 * every curve with the formulas, the points of each curve, the serve runs (throughput, goodput,
 * attainment, per-user speed, the Pareto-optimal loads marked) and capacity-search runs, and for a
 * run directory the latency percentiles and throughput from its summary.json and, from its
 * latency.hlog (plot_latency_time.h), the p99 of each third of the run and the worst interval.
 *
 * What it must not do: draw charts, run anything, or know the engine or the sweep runner.
 */
#ifndef DB_REPORT_MD_H
#define DB_REPORT_MD_H

#include <stddef.h>

#include "plot_latency_time.h"
#include "plot_serve.h"
#include "roofline.h"

typedef struct db_report_md_input {
    const char *sweep_path;       /* the sweep CSV, or NULL */
    const db_rl_report *sweep;    /* its step curves, or NULL */
    const db_serve_report *serve; /* its serve and search runs, or NULL */
    const char *run_dir;          /* a run output directory (summary.json, *.hgrm), or NULL */
    int roofline, step_time, throughput, latency_cdf; /* 1: that chart was drawn */
    int pareto, goodput;                              /* the serve charts */
    const char *plot_note; /* why charts are missing (gnuplot not found, ...), or NULL */
    const db_latency_time *latency_time; /* the run's latency.hlog as read, or NULL */
    const char *latency_time_error;      /* why latency.hlog could not be read, or NULL */
    int latency_time_chart;              /* 1: latency_time was drawn */
} db_report_md_input;

/* Writes the page to path atomically. 0, or -1 with err (a summary.json that cannot be read or
 * parsed is named there). */
int db_report_md_write(const char *path, const db_report_md_input *in, char *err, size_t errlen);

#endif
