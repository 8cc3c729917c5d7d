/* run_report.c — the run's output directory and terminal summary (run_report.h). */
#include "run_report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "latency_files.h"
#include "run_csv.h"
#include "slo.h"
#include "summary_json.h"

/* Create dir unless it exists as a directory. 0, or -1 with err naming dir. */
static int make_dir(const char *dir, char *err, size_t errlen) {
    struct stat st;
    if (mkdir(dir, 0755) == 0) return 0;
    int e = errno;
    if (e == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    snprintf(err, errlen, "cannot create output directory '%s': %s", dir,
             e == EEXIST ? "a file of that name exists" : strerror(e));
    return -1;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int db_report_write_run(const char *dir, const db_metrics *m, const db_run_info *info, char *err,
                        size_t errlen) {
    if (!db_metrics_summary_get(m)) {
        snprintf(err, errlen, "cannot write '%s': the metrics recorder was not finished", dir);
        return -1;
    }
    if (make_dir(dir, err, errlen) != 0) return -1;
    enum { N_FILES = 4 + DB_LAT_COUNT };
    static const char *const names[N_FILES] = {"summary.json", "requests.csv", "steps.csv",
                                               "latency.hlog"};
    int rc = 0;
    for (int i = 0; i < N_FILES && rc == 0; i++) {
        char hgrm[32];
        const char *name = names[i];
        if (i >= 4) {
            snprintf(hgrm, sizeof hgrm, "%s.hgrm", db_latency_name((db_latency)(i - 4)));
            name = hgrm;
        }
        char *path = join(dir, name);
        if (!path) {
            snprintf(err, errlen, "cannot write '%s/%s': out of memory", dir, name);
            return -1;
        }
        switch (i) {
        case 0:
            rc = db_summary_json_write(path, m, info, err, errlen);
            break;
        case 1:
            rc = db_requests_csv_write(path, m, err, errlen);
            break;
        case 2:
            rc = db_steps_csv_write(path, m, err, errlen);
            break;
        case 3:
            rc = db_latency_hlog_write(path, m, info->start_epoch_s, err, errlen);
            break;
        default:
            rc = db_latency_hgrm_write(path, m, (db_latency)(i - 4), err, errlen);
            break;
        }
        free(path);
    }
    return rc;
}

/* ---- terminal summary -------------------------------------------------------------------------
 */

#define WIDTH 50

/* title centred in WIDTH columns, padded with fill (vLLM's "{s:{c}^{n}}"). */
static void centred(FILE *f, const char *title, char fill) {
    int n = (int)strlen(title), left = (WIDTH - n) / 2, right = WIDTH - n - left;
    for (int i = 0; i < left; i++)
        fputc(fill, f);
    fputs(title, f);
    for (int i = 0; i < right; i++)
        fputc(fill, f);
    fputc('\n', f);
}

static void line_i(FILE *f, const char *label, long long v) {
    fprintf(f, "%-40s %lld\n", label, v);
}

static void line_f(FILE *f, const char *label, double v) {
    fprintf(f, "%-40s %.2f\n", label, v);
}

static void line_s(FILE *f, const char *label, const char *v) {
    fprintf(f, "%-40s %s\n", label, v);
}

static void latency_block(FILE *f, const db_metrics_summary *s, db_latency k, const char *title,
                          const char *abbr) {
    const db_latency_stats *st = &s->latency[k];
    char label[64];
    centred(f, title, '-');
    if (st->count == 0) {
        snprintf(label, sizeof label, "%s (ms):", abbr);
        line_s(f, label, "n/a (no samples)");
        return;
    }
    const struct {
        const char *name;
        double ns;
    } rows[] = {{"Mean", st->mean_ns},
                {"Median", (double)st->p50_ns},
                {"P99", (double)st->p99_ns},
                {"Max", (double)st->max_ns}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(label, sizeof label, "%s %s (ms):", rows[i].name, abbr);
        line_f(f, label, rows[i].ns / 1e6);
    }
}

static void goodput_lines(FILE *f, const db_metrics *m, const db_metrics_summary *s) {
    char text[256], label[96], value[64], agg[48];
    if (s->has_slo) {
        db_slo_format(db_metrics_config_get(m)->slo, text, sizeof text);
        line_s(f, "SLO:", text);
        line_f(f, "Request goodput (req/s):", s->request_goodput);
        if (s->slo_attainment >= 0) line_f(f, "SLO attainment (%):", 100 * s->slo_attainment);
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        const db_slo_check *c = &s->checks[i];
        db_slo_aggregate a = {c->metric, c->percentile, c->threshold_ns};
        db_slo_aggregate_label(&a, agg, sizeof agg);
        snprintf(label, sizeof label, "SLO %s <= %.2f ms:", agg, (double)c->threshold_ns / 1e6);
        if (c->value_ns < 0)
            snprintf(value, sizeof value, "FAIL (no samples)");
        else
            snprintf(value, sizeof value, "%s (%.2f ms)", c->pass ? "pass" : "FAIL",
                     (double)c->value_ns / 1e6);
        line_s(f, label, value);
    }
}

static void engine_lines(FILE *f, const db_engine_summary *e) {
    if (e->steps == 0) return;
    centred(f, "Engine steps", '-');
    line_i(f, "Steps:", e->steps);
    line_f(f, "Mean step time (ms):", e->mean_step_s * 1e3);
    line_f(f, "Mean batch size:", e->mean_batch_size);
    line_f(f, "Mean host overhead (ms):", e->mean_host_overhead_s * 1e3);
    line_f(f, "Achieved TFLOP/s:", e->achieved_flops_per_s / 1e12);
    line_f(f, "Achieved GB/s:", e->achieved_bytes_per_s / 1e9);
    line_f(f, "Arithmetic intensity (FLOP/B):", e->arithmetic_intensity);
    if (e->mfu >= 0) line_f(f, "MFU (%):", 100 * e->mfu);
    if (e->mbu >= 0) line_f(f, "MBU (%):", 100 * e->mbu);
}

void db_report_print_summary(FILE *f, const db_metrics *m, const db_run_info *info) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    if (!s) return;
    centred(f, " Serving Benchmark Result ", '=');
    line_i(f, "Successful requests:", s->completed);
    if (s->failed) line_i(f, "Failed requests:", s->failed);
    if (s->in_flight) line_i(f, "Unfinished requests:", s->in_flight);
    line_f(f, "Benchmark duration (s):", s->duration_s);
    line_i(f, "Total input tokens:", s->total_input_tokens);
    line_i(f, "Total generated tokens:", s->total_output_tokens);
    line_f(f, "Request throughput (req/s):", s->request_throughput);
    line_f(f, "Output token throughput (tok/s):", s->output_throughput);
    if (s->peak_buckets > 0)
        line_f(f, "Peak output token throughput (tok/s):", s->peak_output_throughput);
    line_f(f, "Total Token throughput (tok/s):", s->total_token_throughput);
    line_f(f, "Mean concurrency:", s->mean_concurrency);
    goodput_lines(f, m, s);
    latency_block(f, s, DB_LAT_TTFT, "Time to First Token", "TTFT");
    latency_block(f, s, DB_LAT_TPOT, "Time per Output Token (excl. 1st token)", "TPOT");
    latency_block(f, s, DB_LAT_ITL, "Inter-token Latency", "ITL");
    latency_block(f, s, DB_LAT_E2E, "End-to-end Latency", "E2EL");
    latency_block(f, s, DB_LAT_QUEUE, "Queue Time", "Queue");
    engine_lines(f, &s->engine);
    centred(f, "", '=');
    fprintf(f, "Window: arrivals %.3f s .. %.3f s, %lld of %lld requests counted",
            (double)s->window_start_ns * 1e-9, (double)s->window_end_ns * 1e-9,
            (long long)s->counted, (long long)s->arrived);
    if (s->excluded_warmup || s->excluded_cooldown)
        fprintf(f, " (%lld warmup, %lld cooldown excluded)", (long long)s->excluded_warmup,
                (long long)s->excluded_cooldown);
    fprintf(f, "\n");
    for (size_t i = 0; i < s->n_failures && i < 3; i++)
        fprintf(f, "Failed: %lld x %s\n", (long long)s->failures[i].count, s->failures[i].reason);
    if (info && !info->complete)
        fprintf(f, "INCOMPLETE: the run was stopped early; figures cover what was measured.\n");
}

/* ---- command line -----------------------------------------------------------------------------
 */

static bool plain_arg(const char *a) {
    if (!*a) return false;
    for (const char *p = a; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=,+@%-", *p))
            return false;
    return true;
}

char *db_run_command_line(int argc, char *const *argv) {
    size_t cap = 1;
    for (int i = 0; i < argc; i++)
        cap += 4 * strlen(argv[i]) + 3;
    char *out = malloc(cap), *p = out;
    if (!out) return NULL;
    for (int i = 0; i < argc; i++) {
        if (i) *p++ = ' ';
        if (plain_arg(argv[i])) {
            p = stpcpy(p, argv[i]);
            continue;
        }
        *p++ = '\'';
        for (const char *q = argv[i]; *q; q++) {
            if (*q == '\'')
                p = stpcpy(p, "'\\''");
            else
                *p++ = *q;
        }
        *p++ = '\'';
    }
    *p = '\0';
    return out;
}
