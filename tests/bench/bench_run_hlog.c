/* bench_run_hlog — the cost of latency.hlog's interval histograms on the whole Azure LLM inference
 * conversation trace (19,366 requests, about an hour, the trace's arrival times) replayed against
 * llama2-7b bf16 on the sim backend (h100-sxm) with `decodebench run`'s default scheduler settings.
 * For each interval setting it prints the replay's wall time (recording included), the time to
 * write latency.hlog, the file's size and line count, and the peak interval-store size.
 *
 * Usage: bench_run_hlog [TRACE] [REPEATS]   (TRACE default $DB_SHARED_DIR/traces/...conv.csv;
 *        REPEATS per setting, default 3; the median is printed)
 * Settings: window (no interval histograms), 1 s widened to <= 1000 intervals (the CLI default),
 * 1 s exactly, 100 ms exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "latency_files.h"
#include "metrics.h"
#include "model.h"
#include "run.h"
#include "workload.h"

typedef struct setting {
    const char *name;
    int64_t interval_ns, max_intervals;
} setting;

static const setting settings[] = {
    {"window", 0, 0},
    {"1s, <= 1000 (default)", 1000000000, 1000},
    {"1s exactly", 1000000000, 0},
    {"100ms exactly", 100000000, 0},
};

static int open_engine(db_engine **e) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    if (db_model_preset("llama2-7b", &o.model)) return -1;
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.sim_device = "h100-sxm";
    o.sim_step_overhead_s = -1.0;
    db_error err;
    if (db_engine_open(&o, e, &err) != DB_OK) {
        fprintf(stderr, "bench_run_hlog: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One replay with setting st: run wall time and hlog write time (s), file size and lines. */
static int one(const db_schedule *s, const setting *st, double *run_s, double *write_s,
               long *bytes, long *lines) {
    db_engine *e = NULL;
    db_metrics *m = NULL;
    char msg[512], path[] = "/tmp/bench_run_hlog_XXXXXX";
    db_metrics_config mc = {.interval_ns = st->interval_ns, .max_intervals = st->max_intervals};
    if (open_engine(&e) || db_metrics_create(&mc, &m, msg, sizeof msg)) return -1;
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.clock = DB_CLOCK_VIRTUAL;
    db_run_stats rs;
    db_error err;
    if (db_run(e, s, &ro, m, &rs, &err) != DB_OK) {
        fprintf(stderr, "bench_run_hlog: run failed: %s\n", err.msg);
        return -1;
    }
    *run_s = rs.wall_s;
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    double t0 = db_clock_monotonic_s();
    if (db_latency_hlog_write(path, m, 1700000000.0, msg, sizeof msg)) {
        fprintf(stderr, "bench_run_hlog: %s\n", msg);
        return -1;
    }
    *write_s = db_clock_monotonic_s() - t0;
    struct stat sb;
    *bytes = stat(path, &sb) == 0 ? (long)sb.st_size : -1;
    FILE *f = fopen(path, "r");
    *lines = 0;
    for (int c; f && (c = fgetc(f)) != EOF;)
        *lines += c == '\n';
    if (f) fclose(f);
    unlink(path);
    const db_metrics_intervals *iv = db_metrics_intervals_get(m);
    if (iv->count > 0)
        printf("    %lld intervals of %.3f s\n", (long long)iv->count, (double)iv->length_ns * 1e-9);
    db_metrics_free(m);
    db_engine_close(e);
    return 0;
}

int main(int argc, char **argv) {
    char path[4096];
    const char *shared = getenv("DB_SHARED_DIR");
    if (argc > 1 && argv[1][0])
        snprintf(path, sizeof path, "%s", argv[1]);
    else
        snprintf(path, sizeof path, "%s/traces/AzureLLMInferenceTrace_conv.csv",
                 shared ? shared : "../shared");
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    if (repeats < 1 || repeats > 50) repeats = 3;
    db_workload_spec w = {.trace = path, .arrival = "trace", .seed = 1};
    db_schedule s;
    char msg[512];
    if (db_workload_build(&w, &s, msg, sizeof msg)) {
        fprintf(stderr, "bench_run_hlog: %s\n", msg);
        return 1;
    }
    printf("trace: %s, %zu requests\n", path, s.n);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        double run_s[50], write_s[50];
        long bytes = 0, lines = 0;
        printf("%s:\n", settings[i].name);
        for (int r = 0; r < repeats; r++)
            if (one(&s, &settings[i], &run_s[r], &write_s[r], &bytes, &lines)) return 1;
        qsort(run_s, (size_t)repeats, sizeof run_s[0], cmp_double);
        qsort(write_s, (size_t)repeats, sizeof write_s[0], cmp_double);
        printf("    replay %.3f s (median of %d), latency.hlog written in %.3f s, %ld bytes, "
               "%ld lines\n",
               run_s[repeats / 2], repeats, write_s[repeats / 2], bytes, lines);
    }
    db_schedule_free(&s);
    return 0;
}
