/* bench_metrics.c — the metrics recorder's cost on the run's hot path: ns per token event (the call
 * the run loop makes for every emitted token), ns per arrival/finish pair, the time
 * db_metrics_finish takes, and the peak resident memory.
 *
 *   bench_metrics [--requests N] [--tokens T] [--concurrency C] [--cooldown-s S]
 *
 * A synthetic run: N requests (default 100000) arrive 10 ms apart; C of them (default 64) are in
 * flight at once, each emitting T tokens (default 256) one per 20 ms step, so every step emits C
 * tokens. With a cooldown the last S seconds of arrivals are held until decided (the recorder's
 * worst case). The arrival + finish figure includes folding the request's tokens into the
 * histograms at its finish.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "metrics.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long long arg(int argc, char **argv, const char *name, long long dflt) {
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return atoll(argv[i + 1]);
    return dflt;
}

static void check(db_metrics *m, int rc) {
    if (rc != 0) {
        fprintf(stderr, "bench_metrics: %s\n", db_metrics_error(m));
        exit(1);
    }
}

int main(int argc, char **argv) {
    long long n = arg(argc, argv, "--requests", 100000), t = arg(argc, argv, "--tokens", 256);
    long long c = arg(argc, argv, "--concurrency", 64), cool = arg(argc, argv, "--cooldown-s", 0);
    if (n < 1 || t < 1 || c < 1 || c > n || cool < 0) {
        fprintf(stderr, "bench_metrics: bad arguments\n");
        return 2;
    }
    db_metrics *m;
    char err[256];
    db_metrics_config cfg = {.cooldown_ns = cool * INT64_C(1000000000)};
    if (db_metrics_create(&cfg, &m, err, sizeof err)) {
        fprintf(stderr, "bench_metrics: %s\n", err);
        return 1;
    }
    const int64_t gap = 10000000, step = 20000000; /* 10 ms between arrivals, 20 ms per step */
    double token_s = 0, other_s = 0;
    long long events = 0;
    /* wave w: requests w*c .. w*c+c-1 arrive, then emit t tokens each, then finish */
    for (long long first = 0; first < n; first += c) {
        long long last = first + c < n ? first + c : n;
        double a = now_s();
        for (long long i = first; i < last; i++)
            check(m, db_metrics_request_arrived(m, i, i * gap, 100, (int32_t)t));
        int64_t start = (last - 1) * gap;
        other_s += now_s() - a;
        a = now_s();
        for (long long k = 0; k < t; k++)
            for (long long i = first; i < last; i++)
                check(m, db_metrics_tokens_emitted(m, i, start + (k + 1) * step, 1));
        token_s += now_s() - a;
        events += (last - first) * t;
        a = now_s();
        for (long long i = first; i < last; i++)
            check(m, db_metrics_request_finished(m, i, start + t * step));
        other_s += now_s() - a;
    }
    double a = now_s();
    int64_t end = ((n - 1) * gap) + t * step;
    check(m, db_metrics_finish(m, end));
    double finish_s = now_s() - a;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const db_metrics_summary *s = db_metrics_summary_get(m);
    printf("requests %lld x %lld tokens, concurrency %lld, cooldown %lld s\n", n, t, c, cool);
    printf("token event:          %8.1f ns (%lld events)\n", token_s / (double)events * 1e9,
           events);
    printf("arrival + finish:     %8.1f ns per request\n", other_s / (double)n * 1e9);
    printf("finish():             %8.3f ms\n", finish_s * 1e3);
    printf("peak RSS:             %8.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    printf("check: completed %lld, ITL samples %lld\n", (long long)s->completed,
           (long long)s->latency[DB_LAT_ITL].count);
    db_metrics_free(m);
    return 0;
}
