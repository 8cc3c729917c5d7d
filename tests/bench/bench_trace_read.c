/* Reading and replaying a whole trace: prints the median wall time of reading it (db_trace_read)
 * and of building its replay schedule (db_workload_build with `trace` arrivals), and rows per
 * second.
 *
 * Usage: bench_trace_read [TRACE] [REPEATS]
 *   TRACE defaults to $DB_SHARED_DIR/traces/AzureLLMInferenceTrace_conv.csv, REPEATS to 20.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trace.h"
#include "workload.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    char def[4096];
    const char *shared = getenv("DB_SHARED_DIR");
    snprintf(def, sizeof def, "%s/traces/AzureLLMInferenceTrace_conv.csv",
             shared ? shared : "../shared");
    const char *path = argc > 1 ? argv[1] : def;
    int repeats = argc > 2 ? atoi(argv[2]) : 20;
    if (repeats < 1) repeats = 1;
    double *read_s = calloc((size_t)repeats, sizeof *read_s);
    double *build_s = calloc((size_t)repeats, sizeof *build_s);
    if (!read_s || !build_s) return 1;
    char err[512];
    size_t rows = 0;
    for (int i = 0; i < repeats; i++) {
        db_trace t;
        double t0 = now_s();
        if (db_trace_read(path, DB_TRACE_AUTO, &t, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        read_s[i] = now_s() - t0;
        rows = t.n;
        db_trace_free(&t);
        db_workload_spec spec = {.trace = path, .arrival = "trace"};
        db_schedule s;
        t0 = now_s();
        if (db_workload_build(&spec, &s, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        build_s[i] = now_s() - t0;
        db_schedule_free(&s);
    }
    qsort(read_s, (size_t)repeats, sizeof *read_s, cmp_double);
    qsort(build_s, (size_t)repeats, sizeof *build_s, cmp_double);
    double r = read_s[repeats / 2], b = build_s[repeats / 2];
    printf("trace %s: %zu rows\n", path, rows);
    printf("read  (median of %d): %.2f ms  (%.2f M rows/s)\n", repeats, r * 1e3, rows / r / 1e6);
    printf("build (median of %d): %.2f ms  (trace arrivals, whole trace)\n", repeats, b * 1e3);
    free(read_s);
    free(build_s);
    return 0;
}
