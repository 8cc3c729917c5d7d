/* bench_run_sim_azure — replays the whole Azure LLM inference conversation trace (19,366 requests,
 * about an hour of traffic, the trace's own arrival times) against llama2-7b bf16 on the sim
 * backend (h100-sxm ceilings) on the virtual clock, and prints the wall time of the replay, the
 * harness's per-step overhead and the run's summary.
 *
 * Usage: bench_run_sim_azure [TRACE] [REPEATS]
 *   TRACE    default $DB_SHARED_DIR/traces/AzureLLMInferenceTrace_conv.csv (or
 * ../shared/traces/...) REPEATS  timed replays (default 3); the best and the median wall time are
 * printed Scheduler: continuous, max_batch 256, max_batch_tokens 8192, prefill_chunk 2048; KV: the
 * sim's default (90% of the device's memory less the weights).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "metrics.h"
#include "model.h"
#include "run.h"
#include "workload.h"

static int open_engine(db_engine **e) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    db_error err;
    if (db_model_preset("llama2-7b", &o.model)) return -1;
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.sim_device = "h100-sxm";
    o.sim_step_overhead_s = -1.0;
    if (db_engine_open(&o, e, &err) != DB_OK) {
        fprintf(stderr, "bench_run_sim_azure: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int replay(const db_schedule *s, db_metrics **m, db_run_stats *st, db_engine **keep) {
    db_engine *e = NULL;
    if (open_engine(&e)) return -1;
    db_metrics_config mc = {0};
    char msg[256];
    if (db_metrics_create(&mc, m, msg, sizeof msg)) {
        fprintf(stderr, "bench_run_sim_azure: %s\n", msg);
        return -1;
    }
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.clock = DB_CLOCK_VIRTUAL;
    ro.sched.max_batch = 256;
    ro.sched.max_batch_tokens = 8192;
    ro.sched.prefill_chunk = 2048;
    db_error err;
    if (db_run(e, s, &ro, *m, st, &err) != DB_OK) {
        fprintf(stderr, "bench_run_sim_azure: run failed: %s\n", err.msg);
        return -1;
    }
    *keep = e;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_summary(const db_metrics *m, const db_run_stats *st, const db_engine *e) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    printf("engine: %s, KV %lld blocks of %d tokens\n", db_engine_device_name(e),
           (long long)db_engine_kv_total_blocks(e), db_engine_kv_block_size(e));
    printf(
        "requests: %lld completed, %lld failed; run clock %.1f s; %lld steps; %lld preemptions\n",
        (long long)s->completed, (long long)s->failed, st->end_s, (long long)st->steps,
        (long long)st->preemptions);
    printf("throughput: %.2f req/s, %.1f output tok/s, %.1f total tok/s; mean concurrency %.1f\n",
           s->request_throughput, s->output_throughput, s->total_token_throughput,
           s->mean_concurrency);
    const db_latency k[4] = {DB_LAT_TTFT, DB_LAT_TPOT, DB_LAT_ITL, DB_LAT_E2E};
    for (int i = 0; i < 4; i++) {
        const db_latency_stats *l = &s->latency[k[i]];
        printf("%-5s ms: mean %8.2f  p50 %8.2f  p90 %8.2f  p99 %8.2f  max %9.2f\n",
               db_latency_tag(k[i]), l->mean_ns * 1e-6, (double)l->p50_ns * 1e-6,
               (double)l->p90_ns * 1e-6, (double)l->p99_ns * 1e-6, (double)l->max_ns * 1e-6);
    }
    printf("engine: mean batch %.1f, mean step %.3f ms, peak KV use %.1f%%\n",
           s->engine.mean_batch_size, s->engine.mean_step_s * 1e3,
           s->engine.peak_kv_utilisation * 100);
    for (size_t i = 0; i < s->n_failures; i++)
        printf("failed: %lld x %s\n", (long long)s->failures[i].count, s->failures[i].reason);
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
    if (repeats < 1 || repeats > 100) repeats = 3;
    db_workload_spec w = {.trace = path, .arrival = "trace", .seed = 1};
    db_schedule s;
    char msg[512];
    double t0 = db_clock_monotonic_s();
    if (db_workload_build(&w, &s, msg, sizeof msg)) {
        fprintf(stderr, "bench_run_sim_azure: %s\n", msg);
        return 1;
    }
    printf("trace: %s, %zu requests, read and built in %.3f s\n", path, s.n,
           db_clock_monotonic_s() - t0);
    double wall[100];
    for (int r = 0; r < repeats; r++) {
        db_metrics *m = NULL;
        db_run_stats st;
        db_engine *e = NULL;
        if (replay(&s, &m, &st, &e)) return 1;
        wall[r] = st.wall_s;
        printf("replay %d: wall %.3f s (%.2f us per step, harness overhead %.2f us per step)\n",
               r + 1, st.wall_s, st.wall_s / (double)st.steps * 1e6,
               st.host_overhead_s / (double)st.steps * 1e6);
        if (r == repeats - 1) print_summary(m, &st, e);
        db_metrics_free(m);
        db_engine_close(e);
    }
    qsort(wall, (size_t)repeats, sizeof wall[0], cmp_double);
    printf("wall time of the replay: best %.3f s, median %.3f s over %d runs\n", wall[0],
           wall[repeats / 2], repeats);
    db_schedule_free(&s);
    return 0;
}
