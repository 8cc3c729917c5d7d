/* bench_run_cpu_overhead — the harness's own cost on the CPU backend: for a real-clock run of
 * llama2c-15m (fp32, synthetic weights), the host time per step spent outside db_engine_step
 * (arrivals, scheduling, token bookkeeping, metrics recording, the analytic cost of the step) as a
 * fraction of the step time.
 *
 * Usage: bench_run_cpu_overhead [REQUESTS] [CONCURRENCY] [THREADS]
 *   defaults: 48 requests, closed loop of 8, prompts uniform:32:128, outputs uniform:32:96, all
 * cores. Scheduler: continuous, max_batch 16, max_batch_tokens 512, prefill_chunk 256.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "engine.h"
#include "metrics.h"
#include "model.h"
#include "run.h"
#include "workload.h"

int main(int argc, char **argv) {
    long requests = argc > 1 ? atol(argv[1]) : 48, conc = argc > 2 ? atol(argv[2]) : 8;
    int threads = argc > 3 ? atoi(argv[3]) : 0;
    if (requests < 1 || conc < 1 || threads < 0) {
        fprintf(stderr, "usage: bench_run_cpu_overhead [REQUESTS] [CONCURRENCY] [THREADS]\n");
        return 2;
    }
    char arrival[64];
    snprintf(arrival, sizeof arrival, "concurrency:%ld", conc);
    db_workload_spec w = {.prompt_len = "uniform:32:128",
                          .output_len = "uniform:32:96",
                          .arrival = arrival,
                          .requests = requests,
                          .seed = 1};
    db_schedule s;
    char msg[512];
    if (db_workload_build(&w, &s, msg, sizeof msg)) {
        fprintf(stderr, "bench_run_cpu_overhead: %s\n", msg);
        return 1;
    }
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_CPU;
    db_model_preset("llama2c-15m", &o.model);
    o.threads = threads;
    db_engine *e = NULL;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) {
        fprintf(stderr, "bench_run_cpu_overhead: %s\n", err.msg);
        return 1;
    }
    db_metrics_config mc = {0};
    db_metrics *m = NULL;
    if (db_metrics_create(&mc, &m, msg, sizeof msg)) return 1;
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.sched.max_batch = 16;
    ro.sched.max_batch_tokens = 512;
    ro.sched.prefill_chunk = 256;
    db_run_stats st;
    if (db_run(e, &s, &ro, m, &st, &err) != DB_OK) {
        fprintf(stderr, "bench_run_cpu_overhead: run failed: %s\n", err.msg);
        return 1;
    }
    double worst = 0;
    for (size_t i = 0; i < db_metrics_step_count(m); i++) {
        const db_step_event *ev = db_metrics_step_at(m, i);
        double f = ev->host_overhead_s / ((double)ev->duration_ns * 1e-9);
        if (f > worst) worst = f;
    }
    const db_metrics_summary *sum = db_metrics_summary_get(m);
    printf("cpu: %s, llama2c-15m fp32, %ld requests, concurrency %ld\n", db_engine_device_name(e),
           requests, conc);
    printf("run: %.2f s wall, %lld steps, mean batch %.1f, %.1f output tok/s\n", st.wall_s,
           (long long)st.steps, sum->engine.mean_batch_size, sum->output_throughput);
    printf("step time: mean %.3f ms; harness overhead: mean %.2f us per step\n",
           st.step_s / (double)st.steps * 1e3, st.host_overhead_s / (double)st.steps * 1e6);
    printf("harness overhead / step time: %.3f%% overall, %.3f%% worst step\n",
           100.0 * st.host_overhead_s / st.step_s, 100.0 * worst);
    db_metrics_free(m);
    db_engine_close(e);
    db_schedule_free(&s);
    return 0;
}
