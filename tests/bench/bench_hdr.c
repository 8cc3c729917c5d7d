/* tests/bench/bench_hdr.c — HDR histogram speed: median ns per operation over many runs.
 * Layout as decodebench records latencies: ns, L=1, H=1 hour, 3 significant digits.
 * Usage: bench_hdr [RUNS] [VALUES]   (defaults 31 runs of 1<<20 values) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../harness/hdr.h"

#define ONE_HOUR_NS 3600000000000LL

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct result {
    double median, min, max;
} result;

static result summarize(double *per_op, int runs) {
    qsort(per_op, (size_t)runs, sizeof *per_op, cmp_double);
    result r = {per_op[runs / 2], per_op[0], per_op[runs - 1]};
    return r;
}

static void report(const char *what, result r) {
    printf("%-34s median %10.2f ns   (min %.2f, max %.2f)\n", what, r.median, r.min, r.max);
}

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Latency-like values: log-uniform between 1 us and 10 s, in ns (shape: (n)). */
static int64_t *make_values(size_t n) {
    int64_t *v = malloc(n * sizeof *v);
    uint64_t rng = 12345;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(rng_next(&rng) >> 11) / 9007199254740992.0;
        v[i] = (int64_t)exp(log(1e3) + u * (log(1e10) - log(1e3)));
    }
    return v;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 31;
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : (size_t)1 << 20;
    if (runs < 1 || n < 1) {
        fprintf(stderr, "usage: bench_hdr [RUNS>=1] [VALUES>=1]\n");
        return 2;
    }
    int64_t *values = make_values(n);
    double *per_op = malloc((size_t)runs * sizeof *per_op);
    db_hdr h, other;
    if (db_hdr_init(&h, 1, ONE_HOUR_NS, 3) != DB_HDR_OK ||
        db_hdr_init(&other, 1, ONE_HOUR_NS, 3) != DB_HDR_OK)
        return 1;
    printf("bench_hdr: L=1 H=%lld s=3 (counts_len %d), %zu values x %d runs\n",
           (long long)ONE_HOUR_NS, h.counts_len, n, runs);
    int64_t sink = 0;

    for (int r = 0; r < runs; r++) { /* record: random latencies */
        db_hdr_reset(&h);
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            db_hdr_record(&h, values[i]);
        per_op[r] = (now_ns() - t0) / (double)n;
        sink += h.total_count;
    }
    report("record (random 1us..10s)", summarize(per_op, runs));

    for (int r = 0; r < runs; r++) { /* record_n with counts */
        db_hdr_reset(&h);
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            db_hdr_record_n(&h, values[i], 3);
        per_op[r] = (now_ns() - t0) / (double)n;
        sink += h.total_count;
    }
    report("record_n (random, count 3)", summarize(per_op, runs));

    const double ps[] = {50.0, 90.0, 99.0, 99.9, 99.99, 100.0};
    const int calls = 2000;
    for (int r = 0; r < runs; r++) { /* h holds n random values from the last run */
        double t0 = now_ns();
        for (int i = 0; i < calls; i++)
            sink += db_hdr_value_at_percentile(&h, ps[i % 6]);
        per_op[r] = (now_ns() - t0) / calls;
    }
    report("value_at_percentile (p50..p100)", summarize(per_op, runs));

    for (int r = 0; r < runs; r++) {
        double t0 = now_ns();
        for (int i = 0; i < 200; i++)
            sink += (int64_t)db_hdr_mean(&h);
        per_op[r] = (now_ns() - t0) / 200;
    }
    report("mean", summarize(per_op, runs));

    for (int r = 0; r < runs; r++) {
        db_hdr_reset(&other);
        double t0 = now_ns();
        for (int i = 0; i < 200; i++)
            sink += db_hdr_add(&other, &h);
        per_op[r] = (now_ns() - t0) / 200;
    }
    report("add (same layout)", summarize(per_op, runs));

    for (int r = 0; r < runs; r++) {
        double t0 = now_ns();
        char *b64 = NULL;
        for (int i = 0; i < 20; i++) {
            free(b64);
            db_hdr_encode_base64(&h, &b64);
        }
        per_op[r] = (now_ns() - t0) / 20;
        sink += (int64_t)strlen(b64);
        free(b64);
    }
    report("encode_base64 (full histogram)", summarize(per_op, runs));

    char *b64;
    db_hdr_encode_base64(&h, &b64);
    for (int r = 0; r < runs; r++) {
        double t0 = now_ns();
        for (int i = 0; i < 20; i++) {
            db_hdr back;
            char msg[256];
            if (db_hdr_decode_base64(b64, strlen(b64), &back, msg, sizeof msg) != DB_HDR_OK)
                return 1;
            sink += back.total_count;
            db_hdr_close(&back);
        }
        per_op[r] = (now_ns() - t0) / 20;
    }
    printf("(encoded size %zu base64 characters)\n", strlen(b64));
    report("decode_base64 (full histogram)", summarize(per_op, runs));
    free(b64);

    printf("checksum %lld\n", (long long)sink);
    db_hdr_close(&h);
    db_hdr_close(&other);
    free(values);
    free(per_op);
    return 0;
}
