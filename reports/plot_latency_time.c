/* plot_latency_time.c — latency over run time from latency.hlog (plot_latency_time.h). */
#include "plot_latency_time.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "latency_files.h"
#include "plot.h"

const char *db_lt_tag(int i) {
    return i >= 0 && i < DB_LT_TAGS ? db_latency_tag(db_hlog_metrics[i]) : "";
}

static int tag_index(const char *tag) {
    for (int i = 0; tag && i < DB_LT_TAGS; i++)
        if (!strcmp(tag, db_lt_tag(i))) return i;
    return -1;
}

static int add_point(db_lt_series *s, const db_lt_point *p) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        db_lt_point *pts = realloc(s->pts, cap * sizeof *pts);
        if (!pts) return -1;
        s->pts = pts;
        s->cap = cap;
    }
    s->pts[s->n++] = *p;
    return 0;
}

static FILE *open_log(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    return f;
}

/* Seconds to add to a line's start to get the time after StartTime (after the first interval's
 * start when the log has no StartTime). */
static double time_offset(const db_hdr_log_reader *r, const db_hdr_log_interval *iv) {
    return r->has_start_time ? r->base_time_s - r->start_time_s : -iv->start_s;
}

/* Pass 1: one point per interval and known tag with values. 0, or -1 with err. */
static int read_points(db_latency_time *lt, char *err, size_t errlen) {
    FILE *f = open_log(lt->path, err, errlen);
    if (!f) return -1;
    db_hdr_log_reader r;
    db_hdr_log_reader_open(&r, f, lt->path);
    db_hdr_log_interval iv;
    double offset = NAN;
    int rc;
    while ((rc = db_hdr_log_reader_next(&r, &iv, err, errlen)) == 1) {
        int k = tag_index(iv.tag);
        if (k >= 0 && iv.hist.total_count > 0) {
            if (isnan(offset)) {
                offset = time_offset(&r, &iv);
                lt->interval_s = iv.length_s;
            }
            db_lt_point p = {.t_s = iv.start_s + offset,
                             .length_s = iv.length_s,
                             .count = iv.hist.total_count,
                             .p50_ns = db_hdr_value_at_percentile(&iv.hist, 50.0),
                             .p99_ns = db_hdr_value_at_percentile(&iv.hist, 99.0)};
            if (add_point(&lt->tag[k], &p)) {
                snprintf(err, errlen, "reading '%s': out of memory", lt->path);
                rc = -1;
            }
        }
        db_hdr_close(&iv.hist);
        if (rc < 0) break;
    }
    db_hdr_log_reader_close(&r);
    fclose(f);
    return rc < 0 ? -1 : 0;
}

static int by_time(const void *a, const void *b) {
    double x = ((const db_lt_point *)a)->t_s, y = ((const db_lt_point *)b)->t_s;
    return (x > y) - (x < y);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts each series, finds the span, the worst interval of each tag and the number of distinct
 * interval starts. 0, or -1 on out of memory. */
static int summarise_points(db_latency_time *lt) {
    size_t total = 0;
    lt->t0_s = INFINITY;
    lt->t1_s = -INFINITY;
    for (int k = 0; k < DB_LT_TAGS; k++) {
        db_lt_series *s = &lt->tag[k];
        if (s->n) qsort(s->pts, s->n, sizeof *s->pts, by_time);
        s->worst = s->n;
        for (size_t i = 0; i < s->n; i++) {
            const db_lt_point *p = &s->pts[i];
            lt->t0_s = fmin(lt->t0_s, p->t_s);
            lt->t1_s = fmax(lt->t1_s, p->t_s + p->length_s);
            if (s->worst == s->n || p->p99_ns > s->pts[s->worst].p99_ns) s->worst = i;
        }
        total += s->n;
    }
    lt->n_intervals = 0;
    if (!total) {
        lt->t0_s = lt->t1_s = 0;
        return 0;
    }
    double *starts = malloc(total * sizeof *starts);
    if (!starts) return -1;
    size_t n = 0;
    for (int k = 0; k < DB_LT_TAGS; k++)
        for (size_t i = 0; i < lt->tag[k].n; i++)
            starts[n++] = lt->tag[k].pts[i].t_s;
    qsort(starts, n, sizeof *starts, by_value);
    for (size_t i = 0; i < n; i++)
        lt->n_intervals += i == 0 || starts[i] != starts[i - 1];
    free(starts);
    return 0;
}

/* Which third of the span the interval [t, t + len) belongs to, by its midpoint. */
static int third_of(const db_latency_time *lt, double t, double len) {
    double span = lt->t1_s - lt->t0_s;
    if (!(span > 0)) return 0;
    int k = (int)floor(3.0 * (t + len / 2 - lt->t0_s) / span);
    return k < 0 ? 0 : k > 2 ? 2 : k;
}

/* Adds h into *sum (laid out like h on first use). 0, or -1 on out of memory. */
static int add_into(db_hdr *sum, const db_hdr *h) {
    if (!sum->counts && db_hdr_init(sum, h->lowest, h->highest, h->sig_figs) != DB_HDR_OK)
        return -1;
    db_hdr_add(sum, h);
    return 0;
}

/* Pass 2: the p99 of each third, from the sum of its intervals' histograms. 0, or -1 with err. */
static int read_thirds(db_latency_time *lt, char *err, size_t errlen) {
    FILE *f = open_log(lt->path, err, errlen);
    if (!f) return -1;
    db_hdr sums[DB_LT_TAGS][3];
    memset(sums, 0, sizeof sums);
    db_hdr_log_reader r;
    db_hdr_log_reader_open(&r, f, lt->path);
    db_hdr_log_interval iv;
    double offset = NAN;
    int rc;
    while ((rc = db_hdr_log_reader_next(&r, &iv, err, errlen)) == 1) {
        int k = tag_index(iv.tag);
        if (k >= 0 && iv.hist.total_count > 0) {
            if (isnan(offset)) offset = time_offset(&r, &iv);
            int third = third_of(lt, iv.start_s + offset, iv.length_s);
            if (add_into(&sums[k][third], &iv.hist)) {
                snprintf(err, errlen, "reading '%s': out of memory", lt->path);
                rc = -1;
            }
        }
        db_hdr_close(&iv.hist);
        if (rc < 0) break;
    }
    db_hdr_log_reader_close(&r);
    fclose(f);
    for (int k = 0; k < DB_LT_TAGS; k++)
        for (int t = 0; t < 3; t++) {
            db_hdr *h = &sums[k][t];
            lt->tag[k].third_count[t] = h->counts ? h->total_count : 0;
            lt->tag[k].third_p99_ns[t] =
                h->counts && h->total_count ? db_hdr_value_at_percentile(h, 99.0) : -1;
            db_hdr_close(h);
        }
    return rc < 0 ? -1 : 0;
}

int db_latency_time_read(const char *path, db_latency_time *lt, char *err, size_t errlen) {
    memset(lt, 0, sizeof *lt);
    if (snprintf(lt->path, sizeof lt->path, "%s", path) >= (int)sizeof lt->path) {
        snprintf(err, errlen, "path too long: '%.200s...'", path);
        return -1;
    }
    if (read_points(lt, err, errlen)) return -1;
    if (summarise_points(lt)) {
        snprintf(err, errlen, "reading '%s': out of memory", path);
        return -1;
    }
    return lt->n_intervals ? read_thirds(lt, err, errlen) : 0;
}

void db_latency_time_free(db_latency_time *lt) {
    for (int k = 0; k < DB_LT_TAGS; k++) {
        free(lt->tag[k].pts);
        memset(&lt->tag[k], 0, sizeof lt->tag[k]);
    }
}

/* The series drawn: TTFT, ITL and E2E (tag indexes); E2E's p50 is left out (it follows the output
 * lengths more than the load). */
enum { TAG_TTFT = 0, TAG_ITL = 2, TAG_E2E = 3 };
static const int drawn[] = {TAG_TTFT, TAG_ITL, TAG_E2E};

const char *db_latency_time_no_chart(const db_latency_time *lt) {
    if (lt->n_intervals == 0) return "latency.hlog holds no interval with values";
    for (size_t i = 0; i < sizeof drawn / sizeof drawn[0]; i++)
        if (lt->tag[drawn[i]].n >= 2) return NULL;
    return "latency.hlog holds a single interval per latency (a run written with "
           "`--hlog-interval window` or by an earlier decodebench, or shorter than one interval): "
           "there is no time series to draw";
}

/* An exact ns count as ms with 6 decimals. */
static void put_ms(FILE *f, int64_t ns) {
    fprintf(f, "%lld.%06lld", (long long)(ns / 1000000), (long long)(ns % 1000000));
}

/* One data block per tag with values; blocks[k] = its index, -1 for none. Blocks are separated by
 * two blank lines, a gap of an interval or more within a block by one. */
static void write_data(FILE *f, const db_latency_time *lt, int blocks[DB_LT_TAGS]) {
    int n_blocks = 0;
    for (int k = 0; k < DB_LT_TAGS; k++) {
        const db_lt_series *s = &lt->tag[k];
        blocks[k] = -1;
        if (!s->n) continue;
        if (n_blocks) fprintf(f, "\n\n");
        fprintf(f, "# %s (%s): interval start s, length s, values, p50 ms, p99 ms\n", db_lt_tag(k),
                lt->path);
        for (size_t i = 0; i < s->n; i++) {
            const db_lt_point *p = &s->pts[i];
            /* a blank line breaks the line across intervals without values of this tag */
            if (i && p->t_s >= s->pts[i - 1].t_s + 1.5 * s->pts[i - 1].length_s) fputc('\n', f);
            fprintf(f, "%.3f %.3f %lld ", p->t_s, p->length_s, (long long)p->count);
            put_ms(f, p->p50_ns);
            fputc(' ', f);
            put_ms(f, p->p99_ns);
            fputc('\n', f);
        }
        blocks[k] = n_blocks++;
    }
}

int db_plot_latency_time(const db_latency_time *lt, const char *out_dir, const char *term,
                         char *err, size_t errlen) {
    const char *why = db_latency_time_no_chart(lt);
    if (why) {
        snprintf(err, errlen, "%s: %s", lt->path, why);
        return -1;
    }
    db_plot_chart ch;
    if (db_plot_open(&ch, out_dir, "latency_time", err, errlen)) return -1;
    int blocks[DB_LT_TAGS];
    write_data(ch.dat, lt, blocks);
    FILE *g = ch.gp;
    size_t most = 0;
    for (int k = 0; k < DB_LT_TAGS; k++)
        most = lt->tag[k].n > most ? lt->tag[k].n : most;
    /* points mark each interval; beyond ~150 intervals they shrink to dots, which still show an
     * interval that stands alone between intervals without values */
    const char *style = most <= 150 ? "linespoints ps 0.6" : "linespoints ps 0.2";
    fprintf(g, "set logscale y\nset format y '%%g'\nset xrange [%.3f:%.3f]\n", lt->t0_s, lt->t1_s);
    fprintf(g, "set xlabel 'run time (s), interval start'\nset ylabel 'latency (ms)'\n");
    fprintf(g, "set key outside right top\n");
    db_plot_begin_outputs(&ch, term, 1200, 560);
    char title[1400];
    snprintf(title, sizeof title, "Latency over time: %s — p99 solid, p50 dashed, %.3g s intervals",
             lt->path, lt->interval_s);
    fprintf(g, "  set title ");
    db_plot_quote(&ch, title);
    fprintf(g, "\n  plot");
    static const int color[DB_LT_TAGS] = {1, 2, 4, 3, 5}; /* TTFT, TPOT, E2E as in latency_cdf */
    int first = 1;
    for (size_t i = 0; i < sizeof drawn / sizeof drawn[0]; i++) {
        int k = drawn[i];
        if (blocks[k] < 0) continue;
        for (int p50 = 0; p50 < 2; p50++) {
            if (p50 && k == TAG_E2E) continue;
            fprintf(g, "%s \\\n    datafile index %d using 1:%d with %s lt %d dt %d title '%s %s'",
                    first ? "" : ",", blocks[k], p50 ? 4 : 5, style, color[k], p50 ? 2 : 1,
                    db_lt_tag(k), p50 ? "p50" : "p99");
            first = 0;
        }
    }
    fprintf(g, "\n");
    db_plot_end_outputs(&ch);
    return db_plot_finish(&ch, err, errlen);
}
