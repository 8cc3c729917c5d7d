/* report_md.c — report.md (report_md.h). */
#include "report_md.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"

/* A number with `digits` significant digits, or "—" for an undefined one. */
static const char *fmt(char *buf, size_t len, double v, int digits) {
    if (!isfinite(v))
        snprintf(buf, len, "—");
    else
        snprintf(buf, len, "%.*g", digits, v);
    return buf;
}

/* A ratio with 3 decimals, or "—". */
static const char *ratio(char *buf, size_t len, double v) {
    if (!isfinite(v))
        snprintf(buf, len, "—");
    else
        snprintf(buf, len, "%.3f", v);
    return buf;
}

static void ceilings_section(FILE *f, const db_rl_report *r) {
    const db_rl_ceilings *c = &r->ceil;
    fprintf(f, "## Ceilings\n\n");
    if (!c->source[0]) {
        fprintf(f, "The sweep was run without ceilings (no `--ceilings`): MFU, MBU and the "
                   "predicted crossover are not available. Measure them with `decodebench "
                   "roofline`.\n\n");
        return;
    }
    fprintf(f, "%s — **%s** ceilings%s. Memory bandwidth %.4g GB/s.\n\n", c->device, c->source,
            !strcmp(c->source, "datasheet") ? " (datasheet figures, not measured)" : "",
            c->bandwidth_gbps);
    fprintf(f, "| precision | peak TFLOP/s | ridge point (FLOP/byte) |\n|---|---|---|\n");
    char a[32], b[32];
    for (int i = 0; i < c->n_peak; i++)
        fprintf(f, "| %s | %s | %s |\n", c->peak[i].precision,
                fmt(a, sizeof a, c->peak[i].peak_tflops, 5),
                fmt(b, sizeof b, db_rl_ridge(c->bandwidth_gbps, c->peak[i].peak_tflops), 4));
    fprintf(f, "\n");
}

static void crossover_section(FILE *f, const db_rl_report *r) {
    fprintf(f, "## Arithmetic-intensity crossover\n\n");
    fprintf(f,
            "- **predicted**: where the step-time model's memory-bound line meets its "
            "compute-bound line. Per op class k, from the cost model at this context: "
            "mem_k(B) = bytes_k(B) / BW, comp_k(B) = flops_k(B) / peak_k; t(B) = Σ_k max(mem_k, "
            "comp_k) + overhead. At small B each class takes its larger branch at B = 0, at large "
            "B its steeper branch: t_mem(B) = S0 + S1·B and t_compute(B) = L0 + L1·B, and "
            "B* = (S0 − L0) / (L1 − S1). Without activation or KV traffic this is "
            "B* = ridge × bytes-per-weight / 2.\n"
            "- **measured**: the knee of step time vs batch. *hinge*: a line a + b·B through the "
            "small-batch points and a line c·B through the origin through the large-batch points, "
            "both fitted by least squares on relative error, the split chosen to minimise the "
            "total; the knee is their intersection a / (c − b) (a backend that overlaps memory "
            "traffic with compute: time = max). *balance*: where no slope change shows, a / b of "
            "one line a + b·B, where the time of the sequences equals the fixed time per step (a "
            "backend that does not overlap them: time = memory + compute).\n"
            "- **ridge × w / 2**: the simple formula (spec/roofline.md).\n"
            "- **whole-step**: the batch where the whole step's arithmetic intensity reaches the "
            "ridge (Σ mem = Σ comp); KV traffic grows with context and pushes it out or removes "
            "it.\n\n");
    fprintf(f, "| curve | predicted B* | measured knee | measured / predicted | ridge × w / 2 | "
               "whole-step |\n|---|---|---|---|---|---|\n");
    char a[32], b[32], c[32], d[32], e[32], m[64];
    for (size_t i = 0; i < r->n_curves; i++) {
        const db_rl_curve *cv = &r->curves[i];
        fmt(b, sizeof b, cv->measured, 4);
        if (isfinite(cv->measured) && cv->measured_method[0])
            snprintf(m, sizeof m, "%s (%s)", b, cv->measured_method);
        else
            snprintf(m, sizeof m, "%s", b);
        fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", cv->label,
                fmt(a, sizeof a, cv->predicted, 4), m,
                ratio(c, sizeof c, cv->measured / cv->predicted),
                fmt(d, sizeof d, cv->ridge_batch, 4), fmt(e, sizeof e, cv->ai_ridge, 4));
    }
    fprintf(f, "\n(— = none: no knee in the data, or no crossover in the model.)\n\n");
}

static void points_section(FILE *f, const db_rl_report *r) {
    fprintf(f, "## Points\n\n");
    char a[32], b[32], c[32], d[32], e[32], g[32];
    for (size_t i = 0; i < r->n_curves; i++) {
        const db_rl_curve *cv = &r->curves[i];
        fprintf(f,
                "### %s\n\n| batch | step ms | tokens/s | FLOP/byte | achieved TFLOP/s | MFU | "
                "MBU |\n|---|---|---|---|---|---|---|\n",
                cv->label);
        for (size_t k = 0; k < cv->n; k++) {
            const db_rl_point *p = &cv->pts[k];
            fprintf(f, "| %.0f | %s | %s | %s | %s | %s | %s |\n", p->batch,
                    fmt(a, sizeof a, p->step_ms, 4), fmt(b, sizeof b, p->tokens_per_s, 4),
                    fmt(c, sizeof c, p->ai, 4), fmt(d, sizeof d, p->achieved_tflops, 4),
                    fmt(e, sizeof e, p->mfu, 3), fmt(g, sizeof g, p->mbu, 3));
        }
        fprintf(f, "\n");
    }
    if (r->failed)
        fprintf(f, "%zu points failed and are not shown (see the CSV's `error`).\n\n", r->failed);
}

/* One table row of a serve or search run. */
static void serve_row(FILE *f, const db_serve_report *r, size_t i) {
    const db_serve_pt *p = &r->pts[i];
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32], load[48];
    if (p->rate > 0)
        snprintf(load, sizeof load, "%g req/s", p->rate);
    else
        snprintf(load, sizeof load, "%g in flight", p->concurrency);
    fprintf(f, "| %s | %s%s | %s | %s | %s | %s | %s | %s | %s |\n", p->series, load,
            db_serve_pareto_optimal(r, i) ? " ★" : "", fmt(a, sizeof a, p->request_tps, 4),
            fmt(b, sizeof b, p->output_tps, 4), fmt(c, sizeof c, p->per_user, 4),
            fmt(d, sizeof d, p->goodput, 4), fmt(e, sizeof e, 100 * p->attainment, 4),
            fmt(g, sizeof g, p->p99_ttft_ms, 4), fmt(h, sizeof h, p->p99_tpot_ms, 4));
}

static void serve_section(FILE *f, const db_serve_report *r, int pareto, int goodput) {
    static const char *const head =
        "| series | load | requests/s | output tok/s | tok/s per user | goodput req/s | "
        "SLO attainment % | p99 TTFT ms | p99 TPOT ms |\n|---|---|---|---|---|---|---|---|---|\n";
    size_t searches = 0;
    for (size_t i = 0; i < r->n; i++)
        searches += r->pts[i].search != 0;
    if (searches < r->n) {
        fprintf(f, "## Serve runs%s%s\n\n", r->slo[0] ? " — SLO " : "", r->slo);
        fprintf(f,
                "Output tokens/s per user = 1000 / mean TPOT (ms). ★ = on its series' Pareto "
                "frontier (no run of the series is faster per user and higher in total).\n\n%s",
                head);
        for (size_t i = 0; i < r->n; i++)
            if (!r->pts[i].search) serve_row(f, r, i);
        fprintf(f, "\n");
        if (pareto) fprintf(f, "![throughput vs per-user speed](pareto.png)\n\n");
    }
    if (goodput) fprintf(f, "![goodput and SLO attainment vs rate](goodput.png)\n\n");
    if (searches) {
        fprintf(f,
                "## Capacity-search runs%s%s\n\nEvery bracket, bisection and confirmation "
                "run, in the order they ran (the result is printed by `sweep --search`).\n\n%s",
                r->slo[0] ? " — SLO " : "", r->slo, head);
        for (size_t i = 0; i < r->n; i++)
            if (r->pts[i].search) serve_row(f, r, i);
        fprintf(f, "\n");
    }
}

static double num(json_t *root, const char *key) {
    json_t *v = json_object_get(root, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A p99 in ms, or "—" when there are no values (-1). */
static const char *p99_ms(char *buf, size_t len, int64_t ns) {
    return fmt(buf, len, ns < 0 ? NAN : (double)ns / 1e6, 4);
}

/* "Latency over time": the p99 of each third of the span and the worst interval, per latency. */
static void latency_time_section(FILE *f, const db_report_md_input *in) {
    const db_latency_time *lt = in->latency_time;
    if (!lt && !in->latency_time_error) return;
    fprintf(f, "### Latency over time\n\n");
    if (!lt) {
        fprintf(f, "> Not available: %s\n\n", in->latency_time_error);
        return;
    }
    const char *why = db_latency_time_no_chart(lt);
    if (why) {
        fprintf(f, "> No latency-over-time chart or table: %s.\n\n", why);
        return;
    }
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(f,
            "From latency.hlog: %zu intervals of %s s with values, run time %.3f–%.3f s. p99 of "
            "each third of that span (the histograms of the intervals whose midpoint lies in it, "
            "added), and the single interval with the highest p99. A last / first ratio well above "
            "1 is drift (queues building up), a first third above the others is warm-up.\n\n",
            lt->n_intervals, fmt(a, sizeof a, lt->interval_s, 4), lt->t0_s, lt->t1_s);
    fprintf(f, "| latency | p99 ms, first third | middle third | last third | last / first | "
               "worst interval p99 ms | its start s | its values |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < 4; k++) { /* TTFT, TPOT, ITL, E2E */
        const db_lt_series *s = &lt->tag[k];
        if (!s->n) continue;
        const db_lt_point *w = &s->pts[s->worst];
        double first = (double)s->third_p99_ns[0], last = (double)s->third_p99_ns[2];
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %.3f | %lld |\n", db_lt_tag(k),
                p99_ms(a, sizeof a, s->third_p99_ns[0]), p99_ms(b, sizeof b, s->third_p99_ns[1]),
                p99_ms(c, sizeof c, s->third_p99_ns[2]),
                ratio(d, sizeof d, first > 0 && last > 0 ? last / first : NAN),
                p99_ms(e, sizeof e, w->p99_ns), w->t_s, (long long)w->count);
    }
    fprintf(f, "\n");
    if (in->latency_time_chart) fprintf(f, "![latency over time](latency_time.png)\n\n");
}

static int run_section(FILE *f, const char *run_dir, int chart, char *err, size_t errlen) {
    char path[1100];
    snprintf(path, sizeof path, "%s/summary.json", run_dir);
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    if (!s) {
        snprintf(err, errlen, "cannot read '%s': %s (line %d)", path, je.text, je.line);
        return -1;
    }
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32];
    fprintf(f, "## Run: %s\n\n", run_dir);
    fprintf(f, "| completed | failed | duration s | requests/s | output tok/s | goodput req/s | "
               "SLO attainment |\n|---|---|---|---|---|---|---|\n");
    fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n\n",
            fmt(a, sizeof a, num(s, "completed"), 10), fmt(b, sizeof b, num(s, "failed"), 10),
            fmt(c, sizeof c, num(s, "duration"), 5),
            fmt(d, sizeof d, num(s, "request_throughput"), 5),
            fmt(e, sizeof e, num(s, "output_throughput"), 5),
            fmt(g, sizeof g, num(s, "request_goodput"), 5),
            fmt(h, sizeof h,
                num(json_object_get(s, "slo") ? json_object_get(s, "slo") : s, "attainment"), 4));
    static const char *const stems[] = {"ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"};
    static const char *const stats[] = {"mean_", "median_", "p90_", "p99_", "p99.9_", "max_"};
    fprintf(f, "| latency (ms) | mean | p50 | p90 | p99 | p99.9 | max |\n"
               "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < 4; i++) {
        fprintf(f, "| %s |", stems[i]);
        for (int k = 0; k < 6; k++) {
            char key[64];
            snprintf(key, sizeof key, "%s%s", stats[k], stems[i]);
            fprintf(f, " %s |", fmt(a, sizeof a, num(s, key), 5));
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
    if (chart) fprintf(f, "![latency by percentile](latency_cdf.png)\n\n");
    json_decref(s);
    return 0;
}

static int write_page(FILE *f, const db_report_md_input *in, char *err, size_t errlen) {
    fprintf(f, "# decodebench report\n\n");
    if (in->sweep_path) fprintf(f, "Sweep: `%s`", in->sweep_path);
    if (in->sweep_path && in->run_dir) fprintf(f, " · ");
    if (in->run_dir) fprintf(f, "Run: `%s`", in->run_dir);
    fprintf(f, "\n\n");
    if (in->plot_note) fprintf(f, "> Charts not drawn: %s\n\n", in->plot_note);
    const db_rl_report *r = in->sweep;
    if (r && r->n_curves) {
        fprintf(f, "%s\n\n", r->title);
        ceilings_section(f, r);
        crossover_section(f, r);
        if (in->roofline) fprintf(f, "![roofline](roofline.png)\n\n");
        if (in->step_time) fprintf(f, "![step time vs batch](step_time.png)\n\n");
        if (in->throughput) fprintf(f, "![throughput vs batch](throughput.png)\n\n");
        points_section(f, r);
    }
    if (in->serve && in->serve->n) serve_section(f, in->serve, in->pareto, in->goodput);
    if (in->run_dir && run_section(f, in->run_dir, in->latency_cdf, err, errlen)) return -1;
    if (in->run_dir) latency_time_section(f, in);
    return ferror(f) ? -1 : 0;
}

int db_report_md_write(const char *path, const db_report_md_input *in, char *err, size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen)) return -1;
    err[0] = '\0';
    if (write_page(af.f, in, err, errlen)) {
        db_atomic_abort(&af);
        if (!err[0]) snprintf(err, errlen, "cannot write '%s'", path);
        return -1;
    }
    return db_atomic_commit(&af, err, errlen);
}
