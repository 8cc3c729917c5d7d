/* test_reports_plot.c — roofline arithmetic and report curves (reports/roofline.h), the gnuplot
 * charts (reports/plot.h: scripts, data, PNG and SVG images) and report.md (reports/report_md.h).
 * Chart tests are skipped when gnuplot is not installed. */
#include <math.h>
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

#include "plot.h"
#include "plot_serve.h"
#include "report_md.h"
#include "roofline.h"
#include "test_reports_util.h"

static char dir[256];
static char err[1024];

static int setup(void **state) {
    return reports_dir_make(dir, sizeof dir, "test_reports_plot");
}

static int teardown(void **state) {
    return reports_dir_remove(dir);
}

/* spec/roofline.md: attainable = min(peak, AI x BW). H100 bf16: 3350 GB/s, 989.4 TFLOP/s. At AI
 * 100: 100 x 3.35 TB/s = 335 TFLOP/s; at AI 1000 the 989.4 peak; ridge = 989.4e12 / 3.35e12 =
 * 295.34. */
static void attainable_is_the_lower_of_peak_and_bandwidth_line(void **state) {
    assert_true(fabs(db_rl_attainable(100, 3350, 989.4) - 335.0) < 1e-9);
    assert_true(db_rl_attainable(1000, 3350, 989.4) == 989.4);
    assert_true(fabs(db_rl_ridge(3350, 989.4) - 295.3432835820896) < 1e-9);
    assert_true(db_rl_ridge(0, 989.4) == 0);
}

static void curve_points_stay_sorted_by_batch(void **state) {
    db_rl_report r = {0};
    db_rl_curve *c = db_rl_curve_get(&r, "bf16", "bf16", 128, "bf16 kv bf16 ctx 128");
    double batches[] = {64, 1, 16, 4};
    for (int i = 0; i < 4; i++) {
        db_rl_point p = {.batch = batches[i]};
        assert_int_equal(db_rl_curve_add(c, &p), 0);
    }
    assert_true(c->pts[0].batch == 1 && c->pts[3].batch == 64);
    assert_true(isnan(c->measured) && isnan(c->predicted));
    assert_ptr_equal(db_rl_curve_get(&r, "bf16", "bf16", 128, "bf16 kv bf16 ctx 128"), c);
    assert_int_equal(r.n_curves, 1);
    db_rl_report_free(&r);
}

static void a_precision_keeps_its_first_peak(void **state) {
    db_rl_ceilings c = {0};
    db_rl_ceilings_add(&c, "bf16", 989.4);
    db_rl_ceilings_add(&c, "bf16", 1.0);
    db_rl_ceilings_add(&c, "int8", NAN); /* unknown: not recorded */
    assert_int_equal(c.n_peak, 1);
    assert_true(c.peak[0].peak_tflops == 989.4);
}

/* Two curves on h100-sxm datasheet ceilings: t = max(4.5 ms, B x 13 us) and its tokens/s. */
static void sample_report(db_rl_report *r, const char *source) {
    memset(r, 0, sizeof *r);
    snprintf(r->title, sizeof r->title, "llama3-8b, sim backend");
    snprintf(r->ceil.device, sizeof r->ceil.device, "H100 SXM 80GB");
    snprintf(r->ceil.source, sizeof r->ceil.source, "%s", source);
    r->ceil.bandwidth_gbps = 3350;
    db_rl_ceilings_add(&r->ceil, "bf16", 989.4);
    db_rl_ceilings_add(&r->ceil, "int8", 989.4);
    const char *prec[] = {"bf16", "int8"};
    for (int k = 0; k < 2; k++) {
        char label[64];
        snprintf(label, sizeof label, "%s kv bf16 ctx 128", prec[k]);
        db_rl_curve *c = db_rl_curve_get(r, prec[k], "bf16", 128, label);
        c->predicted = k ? 174.3 : 348.3;
        c->measured = k ? 174.2 : 348.4;
        c->ridge_batch = k ? 147.7 : 295.3;
        for (double B = 1; B <= 2048; B *= 2) {
            double ms = fmax(4.5 / (k + 1), B * 0.013);
            db_rl_point p = {.batch = B,
                             .step_ms = ms,
                             .tokens_per_s = B / ms * 1e3,
                             .ai = 2 * B / (2 - k),
                             .achieved_tflops = 3.3 * B * (k + 1),
                             .mfu = NAN,
                             .mbu = NAN};
            db_rl_curve_add(c, &p);
        }
    }
}

static int file_starts_with(const char *path, const char *magic, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[16] = {0};
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    return got == n && memcmp(buf, magic, n) == 0;
}

/* PNG and SVG images, the script and its data: the ceilings' source is in the title and in the key,
 * the ridge point (295 FLOP/byte) is labelled, points carry their batch. */
static void roofline_chart_labels_datasheet_ceilings(void **state) {
    char term[16];
    if (!have_gnuplot(term)) skip();
    db_rl_report r;
    sample_report(&r, "datasheet");
    if (db_plot_roofline(&r, dir, term, err, sizeof err) != 0) fail_msg("%s", err);
    char p[512];
    snprintf(p, sizeof p, "%s/roofline.png", dir);
    assert_true(file_starts_with(p, "\x89PNG", 4));
    snprintf(p, sizeof p, "%s/roofline.svg", dir);
    assert_true(file_contains(p, "<svg"));
    snprintf(p, sizeof p, "%s/plots/roofline.gp", dir);
    assert_true(file_contains(p, "datasheet ceilings, 3350 GB/s"));
    assert_true(file_contains(p, "bf16, int8 peak 989.4 TFLOP/s (datasheet)"));
    snprintf(p, sizeof p, "%s/plots/roofline.dat", dir);
    assert_true(file_contains(p, "\"bf16, int8 ridge 295\""));
    assert_true(file_contains(p, "\"B=16\""));
    db_rl_report_free(&r);
}

/* The knee (solid) and the prediction (dashed) are drawn at their batches. */
static void step_time_chart_marks_knee_and_prediction(void **state) {
    char term[16];
    if (!have_gnuplot(term)) skip();
    db_rl_report r;
    sample_report(&r, "measured");
    if (db_plot_step_time(&r, dir, term, err, sizeof err) != 0) fail_msg("%s", err);
    if (db_plot_throughput(&r, dir, term, err, sizeof err) != 0) fail_msg("%s", err);
    char p[512];
    snprintf(p, sizeof p, "%s/plots/step_time.gp", dir);
    assert_true(
        file_contains(p, "set arrow from 348.4, graph 0 to 348.4, graph 1 nohead lt 1 dt 1"));
    assert_true(
        file_contains(p, "set arrow from 348.3, graph 0 to 348.3, graph 1 nohead lt 1 dt 2"));
    assert_true(file_contains(p, "bf16 kv bf16 ctx 128: knee 348.4, predicted 348.3"));
    snprintf(p, sizeof p, "%s/throughput.png", dir);
    assert_true(file_starts_with(p, "\x89PNG", 4));
    db_rl_report_free(&r);
}

/* An .hgrm in HdrHistogram's layout: rows whose 1/(1-p) is finite are plotted; the p = 1 row and
 * the footer are not. */
static void latency_chart_reads_hgrm_rows(void **state) {
    char term[16];
    if (!have_gnuplot(term)) skip();
    char p[512];
    snprintf(p, sizeof p, "%s/ttft.hgrm", dir);
    FILE *f = fopen(p, "w");
    fputs("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"
          "       4.090 0.000000000000          1           1.00\n"
          "       4.420 0.500000000000        101           2.00\n"
          "       7.307 0.900000000000        180          10.00\n"
          "       8.376 0.990625000000        200         106.67\n"
          "       8.376 1.000000000000        200\n"
          "#[Mean    =        5.261, StdDeviation   =        1.279]\n",
          f);
    fclose(f);
    if (db_plot_latency_cdf(dir, dir, term, err, sizeof err) != 0) fail_msg("%s", err);
    snprintf(p, sizeof p, "%s/plots/latency_cdf.dat", dir);
    assert_true(file_contains(p, "8.376 106.67\n\n"));
    snprintf(p, sizeof p, "%s/plots/latency_cdf.gp", dir);
    assert_true(file_contains(p, "'99%%' 100"));
    assert_true(file_contains(p, "xrange [1:1000]"));
    snprintf(p, sizeof p, "%s/latency_cdf.png", dir);
    assert_true(file_starts_with(p, "\x89PNG", 4));
}

static void latency_chart_without_hgrm_files_is_an_error(void **state) {
    char term[16] = "png";
    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    mkdir(empty, 0755);
    assert_int_equal(db_plot_latency_cdf(empty, dir, term, err, sizeof err), -1);
    assert_non_null(strstr(err, "no ttft.hgrm, tpot.hgrm or e2e.hgrm"));
}

/* report.md: the ceilings' source, the crossover table with the ratio 348.4 / 348.3 = 1.00, the
 * embedded charts. */
static void report_page_holds_the_crossover_table(void **state) {
    db_rl_report r;
    sample_report(&r, "datasheet");
    char path[512];
    snprintf(path, sizeof path, "%s/report.md", dir);
    db_report_md_input in = {.sweep_path = "sweep.csv", .sweep = &r, .roofline = 1, .step_time = 1};
    assert_int_equal(db_report_md_write(path, &in, err, sizeof err), 0);
    assert_true(file_contains(path, "**datasheet** ceilings (datasheet figures, not measured)"));
    assert_true(
        file_contains(path, "| bf16 kv bf16 ctx 128 | 348.3 | 348.4 | 1.000 | 295.3 | — |"));
    assert_true(file_contains(path, "![roofline](roofline.png)"));
    assert_false(file_contains(path, "throughput.png"));
    db_rl_report_free(&r);
}

static void report_page_names_an_unreadable_summary(void **state) {
    char path[512];
    snprintf(path, sizeof path, "%s/report2.md", dir);
    db_report_md_input in = {.run_dir = "/nonexistent-run"};
    assert_int_equal(db_report_md_write(path, &in, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-run/summary.json"));
    assert_int_equal(access(path, F_OK), -1); /* nothing half-written */
}

/* Pareto by hand, series "a": (per user, total) = (100, 1000), (50, 3000), (40, 2000): the third is
 * beaten on both axes by the second; a search run of the same series takes no part even when it is
 * better on both; series "b" is judged apart. */
static db_serve_report pareto_sample(void) {
    db_serve_report r = {0};
    const double pts[][2] = {{100, 1000}, {50, 3000}, {40, 2000}};
    for (int i = 0; i < 3; i++) {
        db_serve_pt p = {.series = "a",
                         .concurrency = 1 << i,
                         .per_user = pts[i][0],
                         .output_tps = pts[i][1],
                         .request_tps = 1,
                         .goodput = NAN,
                         .attainment = NAN};
        db_serve_report_add(&r, &p);
    }
    db_serve_pt search = {.series = "a",
                          .search = 1,
                          .rate = 9,
                          .per_user = 1000,
                          .output_tps = 1e6,
                          .request_tps = 9,
                          .goodput = 9,
                          .attainment = 1};
    db_serve_pt other = {.series = "b",
                         .concurrency = 1,
                         .per_user = 10,
                         .output_tps = 10,
                         .request_tps = 1,
                         .goodput = NAN,
                         .attainment = NAN};
    db_serve_report_add(&r, &search);
    db_serve_report_add(&r, &other);
    return r;
}

static void pareto_frontier_by_hand(void **state) {
    db_serve_report r = pareto_sample();
    assert_true(db_serve_pareto_optimal(&r, 0));
    assert_true(db_serve_pareto_optimal(&r, 1));
    assert_false(db_serve_pareto_optimal(&r, 2));
    assert_false(db_serve_pareto_optimal(&r, 3)); /* a search run */
    assert_true(db_serve_pareto_optimal(&r, 4));  /* alone in its series */
    db_serve_report_free(&r);
}

/* The Pareto chart's frontier block holds the two optimal points by per-user speed; the goodput
 * chart needs rate points (here only the search run has one). */
static void serve_charts_are_drawn(void **state) {
    char term[16];
    if (!have_gnuplot(term)) skip();
    db_serve_report r = pareto_sample();
    snprintf(r.title, sizeof r.title, "test");
    if (db_plot_pareto(&r, dir, term, err, sizeof err) != 0) fail_msg("%s", err);
    if (db_plot_goodput(&r, dir, term, err, sizeof err) != 0) fail_msg("%s", err);
    char p[512];
    snprintf(p, sizeof p, "%s/plots/pareto.dat", dir);
    assert_true(file_contains(p, "# a: Pareto frontier\n50 3000\n100 1000\n"));
    snprintf(p, sizeof p, "%s/pareto.png", dir);
    assert_true(file_starts_with(p, "\x89PNG", 4));
    snprintf(p, sizeof p, "%s/goodput.svg", dir);
    assert_true(file_contains(p, "<svg"));
    db_serve_report_free(&r);
    db_serve_report none = {0};
    assert_int_equal(db_plot_goodput(&none, dir, term, err, sizeof err), -1);
    assert_non_null(strstr(err, "no rate points"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attainable_is_the_lower_of_peak_and_bandwidth_line),
        cmocka_unit_test(curve_points_stay_sorted_by_batch),
        cmocka_unit_test(a_precision_keeps_its_first_peak),
        cmocka_unit_test(roofline_chart_labels_datasheet_ceilings),
        cmocka_unit_test(step_time_chart_marks_knee_and_prediction),
        cmocka_unit_test(latency_chart_reads_hgrm_rows),
        cmocka_unit_test(latency_chart_without_hgrm_files_is_an_error),
        cmocka_unit_test(report_page_holds_the_crossover_table),
        cmocka_unit_test(report_page_names_an_unreadable_summary),
        cmocka_unit_test(pareto_frontier_by_hand),
        cmocka_unit_test(serve_charts_are_drawn),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
