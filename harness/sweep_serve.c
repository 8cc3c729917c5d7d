/* sweep_serve.c — one serve point: schedule, run, summary (sweep_serve.h). */
#include "sweep_serve.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "run.h"
#include "workload.h"

static double ms(int64_t ns, int64_t count) {
    return count > 0 ? (double)ns / 1e6 : NAN;
}

static void summarise(const db_metrics_summary *s, db_serve_point_result *out) {
    const db_latency_stats *ttft = &s->latency[DB_LAT_TTFT], *tpot = &s->latency[DB_LAT_TPOT],
                           *e2e = &s->latency[DB_LAT_E2E];
    out->completed = s->completed;
    out->failed = s->failed;
    out->duration_s = s->duration_s;
    out->request_throughput = s->request_throughput;
    out->output_throughput = s->output_throughput;
    out->mean_ttft_ms = ttft->count ? ttft->mean_ns / 1e6 : NAN;
    out->p50_ttft_ms = ms(ttft->p50_ns, ttft->count);
    out->p99_ttft_ms = ms(ttft->p99_ns, ttft->count);
    out->mean_tpot_ms = tpot->count ? tpot->mean_ns / 1e6 : NAN;
    out->p50_tpot_ms = ms(tpot->p50_ns, tpot->count);
    out->p99_tpot_ms = ms(tpot->p99_ns, tpot->count);
    out->p50_e2el_ms = ms(e2e->p50_ns, e2e->count);
    out->p99_e2el_ms = ms(e2e->p99_ns, e2e->count);
    out->output_tokens_per_s_per_user = out->mean_tpot_ms > 0 ? 1000.0 / out->mean_tpot_ms : NAN;
    out->request_goodput = s->has_slo ? s->request_goodput : NAN;
    out->output_token_goodput = s->has_slo ? s->output_token_goodput : NAN;
    out->slo_attainment = s->has_slo && s->slo_attainment >= 0 ? s->slo_attainment : NAN;
    const db_engine_summary *en = &s->engine;
    out->mean_step_s = en->steps ? en->mean_step_s : NAN;
    out->mean_batch = en->steps ? en->mean_batch_size : NAN;
    out->arithmetic_intensity = en->steps ? en->arithmetic_intensity : NAN;
    out->achieved_flops = en->steps ? en->achieved_flops_per_s : NAN;
    out->achieved_bytes_per_s = en->steps ? en->achieved_bytes_per_s : NAN;
    out->mfu = en->mfu >= 0 ? en->mfu : NAN;
    out->mbu = en->mbu >= 0 ? en->mbu : NAN;
}

db_status db_serve_point_run(db_engine *e, const db_serve_point_opts *o, db_serve_point_result *out,
                             db_error *err) {
    memset(out, 0, sizeof *out);
    char arrival[64], msg[512];
    if (o->rate > 0)
        snprintf(arrival, sizeof arrival, "poisson:%.17g", o->rate);
    else
        snprintf(arrival, sizeof arrival, "concurrency:%lld", (long long)o->concurrency);
    const db_model_config *m = &db_engine_get_opts(e)->model;
    db_workload_spec ws = {.prompt_len = o->prompt_len,
                           .output_len = o->output_len,
                           .arrival = arrival,
                           .requests = o->requests,
                           .duration_s = o->rate > 0 ? o->issue_s : 0,
                           .seed = o->seed,
                           .max_total_tokens = m->max_seq_len};
    db_schedule sched;
    if (db_workload_build(&ws, &sched, msg, sizeof msg) != 0)
        return db_error_set(err, DB_ERR_INVALID, "workload: %s", msg);
    db_metrics_config mc = {
        .slo = o->slo, .peak_flops = o->peak_flops, .peak_bytes_per_s = o->peak_bytes_per_s};
    db_metrics *met = NULL;
    if (db_metrics_create(&mc, &met, msg, sizeof msg) != 0) {
        db_schedule_free(&sched);
        return db_error_set(err, DB_ERR_NOMEM, "metrics: %s", msg);
    }
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.sched = o->sched;
    ro.sched.seed = o->seed;
    ro.clock = db_engine_backend(e) == DB_BACKEND_SIM ? DB_CLOCK_VIRTUAL : DB_CLOCK_REAL;
    db_run_stats stats;
    db_status st = db_run(e, &sched, &ro, met, &stats, err);
    if (st == DB_OK) {
        const db_metrics_summary *s = db_metrics_summary_get(met);
        if (s)
            summarise(s, out);
        else
            st = db_error_set(err, DB_ERR_INTERNAL, "the run ended without a summary");
    }
    db_metrics_free(met);
    db_schedule_free(&sched);
    return st;
}
