/* cmd_report.c — `decodebench report DIR`: charts (gnuplot) and report.md from a sweep CSV and/or a
 * run directory (reports/plot.h, reports/report_md.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "plot.h"
#include "plot_latency_time.h"
#include "plot_serve.h"
#include "report_md.h"
#include "roofline.h"
#include "sweep_csv.h"

#define CMD "report"

static void print_help(FILE *f) {
    /* clang-format off */
    fprintf(f,
"Usage: decodebench report DIR [--sweep FILE.csv] [--run RUNDIR] [--out OUTDIR] [--quiet]\n"
"\n"
"Draws charts with gnuplot (PNG and SVG) and writes report.md from a step sweep and/or a run:\n"
"  sweep  DIR/sweep.csv, or --sweep FILE. Step rows: roofline.{png,svg} (ceilings per precision\n"
"         with their ridge points, the points coloured by precision and labelled by batch, the\n"
"         ceilings' source in the title), step_time.{png,svg} and throughput.{png,svg} against\n"
"         batch with the measured knee and the predicted crossover of each curve marked.\n"
"         Serve and search rows: pareto.{png,svg} (device output tok/s against tok/s per user,\n"
"         labelled by load, each series' frontier dashed) and goodput.{png,svg} (throughput,\n"
"         goodput and SLO attainment against the offered load)\n"
"  run    DIR when it holds summary.json, or --run RUNDIR: latency_cdf.{png,svg} (TTFT, TPOT and\n"
"         E2E by percentile on HdrHistogram's 1/(1-p) axis), latency_time.{png,svg} (p50 and p99\n"
"         of TTFT and ITL and p99 of E2E per latency.hlog interval against run time; not drawn\n"
"         for a log of one interval per latency) and the latency and throughput tables, with\n"
"         the p99 of each third of the run and the worst interval\n"
"The gnuplot scripts and data go to OUTDIR/plots/ (rerun them with gnuplot to restyle a chart).\n"
"\n"
"  --sweep FILE.csv   the sweep CSV                         (default DIR/sweep.csv if present)\n"
"  --run RUNDIR       a run output directory                (default DIR if it has summary.json)\n"
"  --out OUTDIR       where charts and report.md go (created) (default DIR)\n"
"  --quiet            print nothing but errors\n"
"\n"
"Exit codes: 0 written, 1 gnuplot missing or failed (report.md is still written), 2 usage error or\n"
"unreadable input (a missing or malformed latency.hlog is named with its line; report.md is still\n"
"written, without the latency-over-time part).\n");
    /* clang-format on */
}

static int exists(const char *path) {
    return access(path, F_OK) == 0;
}

static double cell_num(const db_csv_table *t, size_t row, const char *col) {
    int c = db_csv_table_col(t, col);
    const char *s = c >= 0 ? db_csv_table_cell(t, row, (size_t)c) : "";
    char *end;
    double v = strtod(s, &end);
    return *s && !*end ? v : NAN;
}

static const char *cell(const db_csv_table *t, size_t row, const char *col) {
    int c = db_csv_table_col(t, col);
    return c >= 0 ? db_csv_table_cell(t, row, (size_t)c) : "";
}

/* 1 when column col takes more than one value over the rows. */
static int varies(const db_csv_table *t, const char *col) {
    for (size_t i = 1; i < t->nrows; i++)
        if (strcmp(cell(t, i, col), cell(t, 0, col)) != 0) return 1;
    return 0;
}

/* A serve or search row as a chart point. */
static int load_serve_row(const db_csv_table *t, size_t i, db_serve_report *s) {
    db_serve_pt p = {.search = !strcmp(cell(t, i, "mode"), "search"),
                     .rate = cell_num(t, i, "rate"),
                     .concurrency = cell_num(t, i, "concurrency"),
                     .per_user = cell_num(t, i, "output_tokens_per_s_per_user"),
                     .output_tps = cell_num(t, i, "output_throughput"),
                     .request_tps = cell_num(t, i, "request_throughput"),
                     .goodput = cell_num(t, i, "request_goodput"),
                     .attainment = cell_num(t, i, "slo_attainment"),
                     .p99_ttft_ms = cell_num(t, i, "p99_ttft_ms"),
                     .p99_tpot_ms = cell_num(t, i, "p99_tpot_ms")};
    if (!isfinite(p.rate)) p.rate = 0;
    if (!isfinite(p.concurrency)) p.concurrency = 0;
    snprintf(p.series, sizeof p.series, "%s kv %s", cell(t, i, "precision"),
             cell(t, i, "kv_dtype"));
    if (!s->slo[0]) snprintf(s->slo, sizeof s->slo, "%s", cell(t, i, "slo"));
    return db_serve_report_add(s, &p);
}

/* The report's curves and ceilings from the sweep rows. 0, or -1 on out of memory. */
static int load_curves(const db_csv_table *t, db_rl_report *r, db_serve_report *s) {
    int mixed = varies(t, "model") || varies(t, "backend") || varies(t, "device");
    if (t->nrows)
        snprintf(s->title, sizeof s->title, "%s, %s backend",
                 mixed ? "several models/devices" : cell(t, 0, "model"), cell(t, 0, "backend"));
    if (t->nrows)
        snprintf(r->title, sizeof r->title, "%s, %s backend%s",
                 mixed ? "several models/devices" : cell(t, 0, "model"), cell(t, 0, "backend"),
                 mixed ? " (and others)" : "");
    for (size_t i = 0; i < t->nrows; i++) {
        if (strcmp(cell(t, i, "status"), "ok") != 0) {
            r->failed++;
            continue;
        }
        if (strcmp(cell(t, i, "mode"), "step") != 0) {
            if (load_serve_row(t, i, s)) return -1;
            continue;
        }
        const char *src = cell(t, i, "ceilings_source");
        if (strcmp(src, "none") != 0 && *src && !r->ceil.source[0]) {
            snprintf(r->ceil.source, sizeof r->ceil.source, "%s", src);
            snprintf(r->ceil.device, sizeof r->ceil.device, "%s", cell(t, i, "ceilings_device"));
            r->ceil.bandwidth_gbps = cell_num(t, i, "bandwidth_GBps");
        }
        if (!r->ceil.device[0])
            snprintf(r->ceil.device, sizeof r->ceil.device, "%s", cell(t, i, "device"));
        db_rl_ceilings_add(&r->ceil, cell(t, i, "precision"), cell_num(t, i, "peak_tflops"));
        char label[96];
        snprintf(label, sizeof label, "%s kv %s ctx %s%s%s", cell(t, i, "precision"),
                 cell(t, i, "kv_dtype"), cell(t, i, "context"), mixed ? " " : "",
                 mixed ? cell(t, i, "model") : "");
        db_rl_curve *c = db_rl_curve_get(r, cell(t, i, "precision"), cell(t, i, "kv_dtype"),
                                         cell_num(t, i, "context"), label);
        if (!c) return -1;
        c->predicted = cell_num(t, i, "predicted_crossover_batch");
        c->measured = cell_num(t, i, "measured_crossover_batch");
        snprintf(c->measured_method, sizeof c->measured_method, "%s",
                 cell(t, i, "measured_crossover_method"));
        c->ridge_batch = cell_num(t, i, "ridge_crossover_batch");
        c->ai_ridge = cell_num(t, i, "ai_ridge_batch");
        db_rl_point p = {.batch = cell_num(t, i, "batch"),
                         .step_ms = cell_num(t, i, "step_ms"),
                         .tokens_per_s = cell_num(t, i, "tokens_per_s"),
                         .ai = cell_num(t, i, "arithmetic_intensity"),
                         .achieved_tflops = cell_num(t, i, "achieved_tflops"),
                         .mfu = cell_num(t, i, "mfu"),
                         .mbu = cell_num(t, i, "mbu")};
        if (db_rl_curve_add(c, &p)) return -1;
    }
    return 0;
}

typedef struct report_args {
    const char *dir, *sweep, *run, *out;
    int quiet;
} report_args;

/* 0 go ahead, -1 help printed, else the usage exit code. */
static int parse_args(int argc, char **argv, report_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        const char **slot = !strcmp(f, "--sweep") ? &a->sweep
                            : !strcmp(f, "--run") ? &a->run
                            : !strcmp(f, "--out") ? &a->out
                                                  : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            print_help(stdout);
            return -1;
        } else if (!strcmp(f, "--quiet")) {
            a->quiet = 1;
        } else if (slot) {
            if (i + 1 >= argc) return db_cli_usage_error(CMD, "%s needs a value", f);
            *slot = argv[++i];
        } else if (!strncmp(f, "--", 2)) {
            return db_cli_usage_error(CMD, "unknown flag '%s'", f);
        } else if (a->dir) {
            return db_cli_usage_error(CMD, "one DIR expected, got '%s' and '%s'", a->dir, f);
        } else {
            a->dir = f;
        }
    }
    if (!a->dir && !a->out)
        return db_cli_usage_error(CMD, "expected DIR (a sweep or run directory) or --out");
    static char sweep[1100], summary[1100];
    if (a->dir && !a->sweep) {
        snprintf(sweep, sizeof sweep, "%s/sweep.csv", a->dir);
        if (exists(sweep)) a->sweep = sweep;
    }
    if (a->dir && !a->run) {
        snprintf(summary, sizeof summary, "%s/summary.json", a->dir);
        if (exists(summary)) a->run = a->dir;
    }
    if (!a->out) a->out = a->dir;
    if (!a->sweep && !a->run)
        return db_cli_usage_error(CMD,
                                  "nothing to report in '%s': no sweep.csv or summary.json "
                                  "(give --sweep FILE or --run RUNDIR)",
                                  a->dir ? a->dir : "");
    if (mkdir(a->out, 0755) != 0 && !exists(a->out))
        return db_cli_usage_error(CMD, "--out %s: cannot create the directory", a->out);
    return 0;
}

/* Reads RUN/latency.hlog into *lt. 0, or -1 with the reason printed and kept in err. */
static int read_latency_time(const char *run, db_latency_time *lt, char *err, size_t errlen) {
    char path[1100];
    snprintf(path, sizeof path, "%s/latency.hlog", run);
    if (db_latency_time_read(path, lt, err, errlen) == 0) return 0;
    fprintf(stderr, "decodebench %s: %s\n", CMD, err);
    return -1;
}

/* Draws one chart; prints and counts a failure. */
static int draw(int rc, const char *what, const char *msg, int *failures) {
    if (rc == 0) return 1;
    fprintf(stderr, "decodebench %s: %s: %s\n", CMD, what, msg);
    (*failures)++;
    return 0;
}

/* Draws every chart the inputs allow with gnuplot's PNG terminal term; marks them in *in. */
static void draw_charts(const report_args *a, const char *term, const db_rl_report *rep,
                        const db_serve_report *srv, const db_latency_time *lt,
                        db_report_md_input *in, int *failures) {
    char err[1024];
    if (a->sweep && rep->n_curves) {
        in->roofline =
            draw(db_plot_roofline(rep, a->out, term, err, sizeof err), "roofline", err, failures);
        in->step_time =
            draw(db_plot_step_time(rep, a->out, term, err, sizeof err), "step time", err, failures);
        in->throughput = draw(db_plot_throughput(rep, a->out, term, err, sizeof err), "throughput",
                              err, failures);
    }
    if (srv->n) {
        in->pareto =
            draw(db_plot_pareto(srv, a->out, term, err, sizeof err), "pareto", err, failures);
        int any_rate = 0;
        for (size_t i = 0; i < srv->n; i++)
            any_rate |= srv->pts[i].rate > 0;
        if (any_rate)
            in->goodput =
                draw(db_plot_goodput(srv, a->out, term, err, sizeof err), "goodput", err, failures);
    }
    if (a->run)
        in->latency_cdf = draw(db_plot_latency_cdf(a->run, a->out, term, err, sizeof err),
                               "latency", err, failures);
    if (in->latency_time && !db_latency_time_no_chart(lt))
        in->latency_time_chart = draw(db_plot_latency_time(lt, a->out, term, err, sizeof err),
                                      "latency over time", err, failures);
}

int db_cmd_report(int argc, char **argv) {
    report_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? DB_EXIT_OK : rc;
    char err[1024], term[16];
    db_csv_table t = {0};
    db_rl_report rep = {0};
    db_serve_report srv = {0};
    if (a.sweep) {
        int r = db_csv_table_read(a.sweep, &t, err, sizeof err);
        if (r > 0) snprintf(err, sizeof err, "cannot read '%s': no such file", a.sweep);
        if (r || db_sweep_check_header(&t, a.sweep, err, sizeof err)) {
            db_csv_table_free(&t);
            return db_cli_usage_error(CMD, "%s", err);
        }
        if (load_curves(&t, &rep, &srv)) {
            fprintf(stderr, "decodebench %s: out of memory\n", CMD);
            db_csv_table_free(&t);
            db_rl_report_free(&rep);
            db_serve_report_free(&srv);
            return DB_EXIT_FAIL;
        }
    }
    db_report_md_input in = {.sweep_path = a.sweep,
                             .sweep = a.sweep ? &rep : NULL,
                             .serve = a.sweep ? &srv : NULL,
                             .run_dir = a.run};
    int failures = 0, bad_input = 0;
    db_latency_time lt = {0};
    char lt_err[1200];
    if (a.run) {
        bad_input = read_latency_time(a.run, &lt, lt_err, sizeof lt_err) != 0;
        in.latency_time = bad_input ? NULL : &lt;
        in.latency_time_error = bad_input ? lt_err : NULL;
    }
    if (db_plot_find_gnuplot(term, sizeof term, err, sizeof err) != 0) {
        fprintf(stderr, "decodebench %s: %s\n", CMD, err);
        in.plot_note = "gnuplot was not found";
        failures++;
    } else {
        draw_charts(&a, term, &rep, &srv, &lt, &in, &failures);
    }
    char md[1100];
    snprintf(md, sizeof md, "%s/report.md", a.out);
    int md_rc = db_report_md_write(md, &in, err, sizeof err);
    if (md_rc)
        fprintf(stderr, "decodebench %s: %s\n", CMD, err);
    else if (!a.quiet) {
        int charts = in.roofline + in.step_time + in.throughput + in.latency_cdf +
                     in.latency_time_chart + in.pareto + in.goodput;
        printf("wrote %s (%d chart%s)\n", md, charts, charts == 1 ? "" : "s");
    }
    db_latency_time_free(&lt);
    db_csv_table_free(&t);
    db_rl_report_free(&rep);
    db_serve_report_free(&srv);
    return md_rc || bad_input ? DB_EXIT_USAGE : failures ? DB_EXIT_FAIL : DB_EXIT_OK;
}
