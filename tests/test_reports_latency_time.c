/* test_reports_latency_time.c — latency over run time from latency.hlog
 * (reports/plot_latency_time.h): per-interval p50/p99, the p99 of each third of the run, the worst
 * interval, the chart's data file, the single-interval and unreadable cases, and report.md's
 * "Latency over time" part (reports/report_md.h). Chart tests are skipped without gnuplot.
 *
 * Expected values follow the HDR rules of harness/hdr.h with the recorder's layout (lowest 1 ns,
 * 3 significant digits: 2048 sub-buckets, so a value v in [1024·2^b, 2048·2^b) shares an index of
 * width 2^b, and a percentile reports the highest value of that index, floor(v/2^b)·2^b + 2^b-1):
 *   2 ms   = 2,000,000 ns:   b = 10, 1953·1024 + 1023   = 2,000,895 ns   -> 2.000895 ms
 *   3 ms   = 3,000,000 ns:   b = 11, 1464·2048 + 2047   = 3,000,319 ns   -> 3.000319 ms
 *   4 ms   = 4,000,000 ns:   b = 11, 1953·2048 + 2047   = 4,001,791 ns   -> 4.001791 ms
 *   40 ms  = 40,000,000 ns:  b = 15, 1220·32768 + 32767 = 40,009,727 ns  -> 40.009727 ms
 *   50 ms  = 50,000,000 ns:  b = 15, 1525·32768 + 32767 = 50,003,967 ns  -> 50.003967 ms
 *   100 ms = 100,000,000 ns: b = 16, 1525·65536 + 65535 = 100,007,935 ns -> 100.007935 ms
 * and value at percentile p = the ceil(p/100 · count)-th smallest value (Java's rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hdr.h"
#include "plot.h"
#include "plot_latency_time.h"
#include "report_md.h"
#include "test_reports_util.h"

static char dir[256];
static char err[1024];

static int setup(void **state) {
    return reports_dir_make(dir, sizeof dir, "test_reports_latency_time");
}

static int teardown(void **state) {
    return reports_dir_remove(dir);
}

#define MS INT64_C(1000000)
#define START 1000.0 /* StartTime = BaseTime of the hand-written logs (epoch s) */

/* One interval line: tag, start (s after StartTime), 1 s long, the (value ns, count) pairs. */
static void interval(db_hdr_log_writer *w, const char *tag, double t, int n, ...) {
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, INT64_C(3600000000000), 3), DB_HDR_OK);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        int64_t v = va_arg(ap, int64_t), count = va_arg(ap, int64_t);
        assert_true(db_hdr_record_n(&h, v, count));
    }
    va_end(ap);
    assert_int_equal(db_hdr_log_write_interval(w, tag, START + t, 1.0, &h), DB_HDR_OK);
    db_hdr_close(&h);
}

/* A new log at path: header with StartTime = BaseTime = START. */
static FILE *open_log(const char *path, db_hdr_log_writer *w) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(db_hdr_log_writer_open(w, f, START, START), DB_HDR_OK);
    return f;
}

/* Four 1 s intervals, the one at 7 s holding nothing (no line), as the run writes them:
 *   5 s: TTFT 98 x 2 ms + 2 x 40 ms; ITL 50 x 4 ms
 *   6 s: TTFT 100 x 3 ms;            ITL 50 x 4 ms
 *   8 s: TTFT 1 x 100 ms
 *   10 s: TTFT 4 x 50 ms
 * Span 5 s .. 11 s, thirds of 2 s; by midpoint 5.5 and 6.5 s fall in the first, 8.5 s in the
 * middle, 10.5 s in the last. */
static void write_sample(const char *path) {
    db_hdr_log_writer w;
    FILE *f = open_log(path, &w);
    interval(&w, "TTFT", 5, 2, 2 * MS, INT64_C(98), 40 * MS, INT64_C(2));
    interval(&w, "ITL", 5, 1, 4 * MS, INT64_C(50));
    interval(&w, "TTFT", 6, 1, 3 * MS, INT64_C(100));
    interval(&w, "ITL", 6, 1, 4 * MS, INT64_C(50));
    interval(&w, "TTFT", 8, 1, 100 * MS, INT64_C(1));
    interval(&w, "TTFT", 10, 1, 50 * MS, INT64_C(4));
    fclose(f);
}

static void path_in(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
}

/* 5 s: p50 = 50th of 100 = 2 ms -> 2,000,895 ns; p99 = 99th of 100 = the first 40 ms value ->
 * 40,009,727 ns. 6 s: every value 3 ms -> 3,000,319 ns. Times are relative to StartTime. */
static void each_interval_gets_its_own_p50_and_p99(void **state) {
    char p[512];
    path_in(p, sizeof p, "sample.hlog");
    write_sample(p);
    db_latency_time lt;
    if (db_latency_time_read(p, &lt, err, sizeof err)) fail_msg("%s", err);
    const db_lt_series *ttft = &lt.tag[0];
    assert_string_equal(db_lt_tag(0), "TTFT");
    assert_int_equal(ttft->n, 4);
    assert_true(ttft->pts[0].t_s == 5.0 && ttft->pts[0].length_s == 1.0);
    assert_int_equal(ttft->pts[0].count, 100);
    assert_int_equal(ttft->pts[0].p50_ns, 2000895);
    assert_int_equal(ttft->pts[0].p99_ns, 40009727);
    assert_int_equal(ttft->pts[1].p50_ns, 3000319);
    assert_int_equal(ttft->pts[1].p99_ns, 3000319);
    assert_true(ttft->pts[3].t_s == 10.0);
    assert_int_equal(lt.tag[2].n, 2); /* ITL */
    assert_int_equal(lt.tag[3].n, 0); /* E2E: no line */
    assert_int_equal(lt.n_intervals, 4);
    assert_true(lt.t0_s == 5.0 && lt.t1_s == 11.0 && lt.interval_s == 1.0);
    assert_null(db_latency_time_no_chart(&lt));
    db_latency_time_free(&lt);
}

/* First third: 5 s + 6 s added = 200 values (98 x 2, 100 x 3, 2 x 40 ms); p99 = the 198th = 3 ms ->
 * 3,000,319 ns, although one of its intervals alone has p99 40 ms (so neither the max nor the mean
 * of the intervals' p99s). Middle: the 100 ms value alone; last: 50 ms -> 50,003,967 ns. The worst
 * interval is 8 s (100,007,935 ns, 1 value). */
static void thirds_add_the_interval_histograms(void **state) {
    char p[512];
    path_in(p, sizeof p, "sample.hlog");
    write_sample(p);
    db_latency_time lt;
    if (db_latency_time_read(p, &lt, err, sizeof err)) fail_msg("%s", err);
    const db_lt_series *ttft = &lt.tag[0];
    assert_int_equal(ttft->third_p99_ns[0], 3000319);
    assert_int_equal(ttft->third_p99_ns[1], 100007935);
    assert_int_equal(ttft->third_p99_ns[2], 50003967);
    assert_int_equal(ttft->third_count[0], 200);
    assert_int_equal(ttft->third_count[1], 1);
    assert_int_equal(ttft->third_count[2], 4);
    assert_int_equal(ttft->worst, 2);
    assert_true(ttft->pts[ttft->worst].t_s == 8.0);
    const db_lt_series *itl = &lt.tag[2];
    assert_int_equal(itl->third_p99_ns[0], 4001791);
    assert_int_equal(itl->third_p99_ns[1], -1);
    assert_int_equal(itl->third_p99_ns[2], -1);
    db_latency_time_free(&lt);
}

/* The data file holds exactly "start length values p50_ms p99_ms" per interval, a blank line where
 * an interval has no value (7 s, 9 s), two between tags; the script draws TTFT and ITL p50/p99. */
static void chart_data_holds_the_interval_percentiles(void **state) {
    char term[16];
    if (!have_gnuplot(term)) skip();
    char p[512];
    path_in(p, sizeof p, "sample.hlog");
    write_sample(p);
    db_latency_time lt;
    if (db_latency_time_read(p, &lt, err, sizeof err)) fail_msg("%s", err);
    if (db_plot_latency_time(&lt, dir, term, err, sizeof err)) fail_msg("%s", err);
    db_latency_time_free(&lt);
    path_in(p, sizeof p, "plots/latency_time.dat");
    assert_true(file_contains(p, "p99 ms\n"
                                 "5.000 1.000 100 2.000895 40.009727\n"
                                 "6.000 1.000 100 3.000319 3.000319\n"
                                 "\n"
                                 "8.000 1.000 1 100.007935 100.007935\n"
                                 "\n"
                                 "10.000 1.000 4 50.003967 50.003967\n"
                                 "\n\n# ITL"));
    assert_true(file_contains(p, "p99 ms\n"
                                 "5.000 1.000 50 4.001791 4.001791\n"
                                 "6.000 1.000 50 4.001791 4.001791\n"));
    path_in(p, sizeof p, "plots/latency_time.gp");
    assert_true(file_contains(p, "datafile index 0 using 1:5 with linespoints ps 0.6 lt 1 dt 1 "
                                 "title 'TTFT p99'"));
    assert_true(file_contains(p, "datafile index 1 using 1:4 with linespoints ps 0.6 lt 4 dt 2 "
                                 "title 'ITL p50'"));
    assert_false(file_contains(p, "E2E"));
    path_in(p, sizeof p, "latency_time.png");
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    char magic[4] = {0};
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "\x89PNG", 4);
}

/* `--hlog-interval window`: one interval per tag covering the window: no time series. */
static void single_interval_log_gets_no_chart(void **state) {
    char p[600], out[512];
    path_in(p, sizeof p, "window.hlog");
    db_hdr_log_writer w;
    FILE *f = open_log(p, &w);
    interval(&w, "TTFT", 0, 1, 3 * MS, INT64_C(10));
    interval(&w, "ITL", 0, 1, 4 * MS, INT64_C(10));
    interval(&w, "E2E", 0, 1, 100 * MS, INT64_C(10));
    fclose(f);
    db_latency_time lt;
    if (db_latency_time_read(p, &lt, err, sizeof err)) fail_msg("%s", err);
    const char *why = db_latency_time_no_chart(&lt);
    assert_non_null(why);
    assert_non_null(strstr(why, "single interval per latency"));
    path_in(out, sizeof out, "window_out");
    mkdir(out, 0755);
    assert_int_equal(db_plot_latency_time(&lt, out, "png", err, sizeof err), -1);
    assert_non_null(strstr(err, "window.hlog: latency.hlog holds a single interval"));
    snprintf(p, sizeof p, "%s/latency_time.png", out);
    assert_int_equal(access(p, F_OK), -1);
    db_latency_time_free(&lt);
}

static void read_error_names(const char *content, const char *expected) {
    char p[512];
    path_in(p, sizeof p, "bad.hlog");
    FILE *f = fopen(p, "w");
    fputs(content, f);
    fclose(f);
    db_latency_time lt;
    assert_int_equal(db_latency_time_read(p, &lt, err, sizeof err), -1);
    db_latency_time_free(&lt);
    if (!strstr(err, expected)) fail_msg("'%s' lacks '%s'", err, expected);
}

/* The reader's message: file, line, what was expected. */
static void corrupt_log_is_named_with_its_line(void **state) {
    read_error_names("#[Histogram log format version 1.3]\n"
                     "#[StartTime: 1000.000 (seconds since epoch)]\n"
                     "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                     "\"Interval_Compressed_Histogram\"\n"
                     "Tag=TTFT,5.000,1.000\n",
                     "bad.hlog:4: expected 4 comma-separated fields");
    read_error_names("Tag=TTFT,5.000,1.000,2.000,HISTFAAA!!!\n",
                     "bad.hlog:1: interval histogram: ");
}

static void missing_log_is_named(void **state) {
    char p[512];
    path_in(p, sizeof p, "none/latency.hlog");
    db_latency_time lt;
    assert_int_equal(db_latency_time_read(p, &lt, err, sizeof err), -1);
    db_latency_time_free(&lt);
    assert_non_null(strstr(err, "cannot open '"));
    assert_non_null(strstr(err, "none/latency.hlog': No such file or directory"));
}

/* A run directory with an empty summary.json (its tables then show "—"). */
static void write_run_dir(char *run, size_t len) {
    snprintf(run, len, "%s/run", dir);
    mkdir(run, 0755);
    char p[600];
    snprintf(p, sizeof p, "%s/summary.json", run);
    FILE *f = fopen(p, "w");
    fputs("{}\n", f);
    fclose(f);
}

/* TTFT row: thirds 3.000319, 100.007935, 50.003967 ms at 4 digits; last / first = 50,003,967 /
 * 3,000,319 = 16.666 (3 decimals); the worst interval: 100.007935 ms, starting at 8 s, 1 value. */
static void report_page_shows_thirds_and_worst_interval(void **state) {
    char run[300], p[512], md[512];
    write_run_dir(run, sizeof run);
    path_in(p, sizeof p, "sample.hlog");
    write_sample(p);
    db_latency_time lt;
    if (db_latency_time_read(p, &lt, err, sizeof err)) fail_msg("%s", err);
    path_in(md, sizeof md, "report_lt.md");
    db_report_md_input in = {.run_dir = run, .latency_time = &lt, .latency_time_chart = 1};
    assert_int_equal(db_report_md_write(md, &in, err, sizeof err), 0);
    db_latency_time_free(&lt);
    assert_true(file_contains(md, "### Latency over time\n\nFrom latency.hlog: 4 intervals of 1 s "
                                  "with values, run time 5.000–11.000 s."));
    assert_true(file_contains(md, "| TTFT | 3 | 100 | 50 | 16.666 | 100 | 8.000 | 1 |\n"));
    assert_true(file_contains(md, "| ITL | 4.002 | — | — | — | 4.002 | 5.000 | 50 |\n"));
    assert_false(file_contains(md, "| E2E |"));
    assert_true(file_contains(md, "![latency over time](latency_time.png)"));
}

static void report_page_says_why_there_is_no_time_series(void **state) {
    char run[300], p[512], md[512];
    write_run_dir(run, sizeof run);
    path_in(p, sizeof p, "one.hlog");
    db_hdr_log_writer w;
    FILE *f = open_log(p, &w);
    interval(&w, "TTFT", 0, 1, 3 * MS, INT64_C(10));
    fclose(f);
    db_latency_time lt;
    if (db_latency_time_read(p, &lt, err, sizeof err)) fail_msg("%s", err);
    path_in(md, sizeof md, "report_one.md");
    db_report_md_input in = {.run_dir = run, .latency_time = &lt};
    assert_int_equal(db_report_md_write(md, &in, err, sizeof err), 0);
    db_latency_time_free(&lt);
    assert_true(file_contains(md, "> No latency-over-time chart or table: latency.hlog holds a "
                                  "single interval per latency"));
    assert_false(file_contains(md, "| TTFT |"));
    db_report_md_input bad = {.run_dir = run, .latency_time_error = "x/latency.hlog:4: expected 4"};
    assert_int_equal(db_report_md_write(md, &bad, err, sizeof err), 0);
    assert_true(file_contains(md, "> Not available: x/latency.hlog:4: expected 4"));
    assert_true(file_contains(md, "| latency (ms) | mean |")); /* the rest is still there */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_interval_gets_its_own_p50_and_p99),
        cmocka_unit_test(thirds_add_the_interval_histograms),
        cmocka_unit_test(chart_data_holds_the_interval_percentiles),
        cmocka_unit_test(single_interval_log_gets_no_chart),
        cmocka_unit_test(corrupt_log_is_named_with_its_line),
        cmocka_unit_test(missing_log_is_named),
        cmocka_unit_test(report_page_shows_thirds_and_worst_interval),
        cmocka_unit_test(report_page_says_why_there_is_no_time_series),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
