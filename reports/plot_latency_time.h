/* plot_latency_time.h — latency over run time from a run's latency.hlog (HdrHistogram interval log,
 * harness/hdr.h reader): per interval and tag (TTFT, TPOT, ITL, E2E, QUEUE) the interval's p50 and
 * p99, the p99 of each third of the run (the intervals' histograms added up) and the worst
 * interval, and the chart latency_time.{png,svg}: p50 and p99 of TTFT and ITL and p99 of E2E
 * against the interval start, log latency axis (plot.h conventions: script and data in
 * OUT/plots/).
 *
 * Every percentile is db_hdr_value_at_percentile of an interval's histogram or of a sum of them
 * (db_hdr_add); none is averaged or interpolated. What it must not do: print, know the engine, the
 * metrics recorder or the run command; it reads the file it is given.
 */
#ifndef DB_PLOT_LATENCY_TIME_H
#define DB_PLOT_LATENCY_TIME_H

#include <stddef.h>
#include <stdint.h>

/* latency.hlog's tags in file order: TTFT, TPOT, ITL, E2E, QUEUE (latency_files.h). */
#define DB_LT_TAGS 5

/* One interval of one tag that holds values. */
typedef struct db_lt_point {
    double t_s;      /* interval start, s after the log's StartTime (decodebench: run clock) */
    double length_s; /* interval length, s */
    int64_t count;   /* values in the interval */
    int64_t p50_ns, p99_ns; /* db_hdr_value_at_percentile(interval, 50 / 99) */
} db_lt_point;

typedef struct db_lt_series {
    db_lt_point *pts; /* (n) in time order */
    size_t n, cap;
    size_t worst; /* index in pts of the highest p99 (the earliest of equals); n = none */
    int64_t third_p99_ns[3]; /* p99 of the values of the intervals whose midpoint lies in the first,
                                middle, last third of the span; -1 when that third has none */
    int64_t third_count[3];  /* values in each third */
} db_lt_series;

typedef struct db_latency_time {
    char path[1024];
    db_lt_series tag[DB_LT_TAGS]; /* in db_lt_tag order */
    double t0_s, t1_s;            /* span: the earliest interval start, the latest interval end */
    double interval_s;            /* length of the first interval read */
    size_t n_intervals;           /* distinct interval starts that hold a value of any tag */
} db_latency_time;

/* Tag name of series i ("TTFT", ...). */
const char *db_lt_tag(int i);

/* Reads path into *lt (zeroed first; free it with db_latency_time_free whatever the result). Lines
 * with another tag or none are skipped. 0, or -1 with err: "cannot open 'P': reason" or the
 * reader's "P:LINE: what was expected". */
int db_latency_time_read(const char *path, db_latency_time *lt, char *err, size_t errlen);
void db_latency_time_free(db_latency_time *lt);

/* NULL when the chart can be drawn (TTFT, ITL or E2E has two intervals or more), else why not (a
 * sentence for report.md). */
const char *db_latency_time_no_chart(const db_latency_time *lt);

/* Writes OUT/plots/latency_time.{gp,dat} and OUT/latency_time.{png,svg}. The data file has one
 * block per tag with values, "start_s length_s count p50_ms p99_ms" (ms exact to the ns). 0, or -1
 * with err (nothing to draw, a file could not be written, gnuplot failed). */
int db_plot_latency_time(const db_latency_time *lt, const char *out_dir, const char *term,
                         char *err, size_t errlen);

#endif
