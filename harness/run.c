/* run.c — the run loop: arrivals -> scheduler -> engine step -> metrics events, on a real or
 * virtual clock. Semantics in run.h. */
#include "run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

typedef struct run_state {
    db_engine *e;
    const db_schedule *s;
    const db_run_opts *o;
    db_metrics *m;
    db_clock clock;
    db_loadgen lg;
    db_scheduler *sched;
    db_run_stats *stats;
    double *arrival_s;     /* (s->n) intended arrival of each issued request */
    int32_t *next_tokens;  /* (max_batch) */
    double *new_ttft;      /* (max_batch) */
    db_tl_item *tl_items;  /* (max_batch) when a timeline is kept */
    int64_t *tl_preempted; /* (max_batch) */
    int64_t output_tokens;
    double real_start_s;
    int64_t trace_zero_ns; /* kernel trace clock at run-clock 0 */
    bool profiling;        /* the profiler window is open */
} run_state;

void db_run_opts_default(db_run_opts *o) {
    memset(o, 0, sizeof *o);
    db_sched_opts_default(&o->sched);
    o->clock = DB_CLOCK_REAL;
}

int64_t db_run_ns(double s) {
    return (int64_t)llround(s * 1e9);
}

static db_status metrics_failed(const run_state *st, db_error *err) {
    return db_error_set(err, DB_ERR_INTERNAL, "metrics recorder: %s", db_metrics_error(st->m));
}

static db_status timeline_failed(const run_state *st, db_error *err) {
    return db_error_set(err, DB_ERR_INTERNAL, "timeline: %s", db_timeline_error(st->o->timeline));
}

/* The step's items and preemptions for the timeline (when one is kept). */
static db_status record_timeline(run_state *st, const db_sched_step *step, int64_t start_ns,
                                 int64_t end_ns, db_error *err) {
    db_timeline *tl = st->o->timeline;
    if (!tl) return DB_OK;
    for (int k = 0; k < step->n; k++)
        st->tl_items[k] = (db_tl_item){.req = step->req[k],
                                       .n_tokens = step->work[k].n_tokens,
                                       .pos = step->work[k].pos,
                                       .decode = k < step->n_decode,
                                       .emits = step->work[k].want_next != 0};
    for (int k = 0; k < step->n_preempted; k++)
        st->tl_preempted[k] = step->preempted[k];
    if (db_timeline_step(tl, st->stats->steps, start_ns, end_ns, st->tl_items, step->n,
                         st->tl_preempted, step->n_preempted))
        return timeline_failed(st, err);
    return DB_OK;
}

/* Issues every arrival due by now: records it and hands it to the scheduler (or fails it there). */
static db_status release_arrivals(run_state *st, double now, db_error *err) {
    size_t i;
    double arrival;
    while (db_loadgen_pop(&st->lg, now, &i, &arrival)) {
        const db_schedule_item *it = &st->s->items[i];
        st->arrival_s[i] = arrival;
        st->stats->issued++;
        if (db_metrics_request_arrived(st->m, (int64_t)i, db_run_ns(arrival), it->prompt_tokens,
                                       it->output_tokens))
            return metrics_failed(st, err);
        if (st->o->timeline && db_timeline_arrived(st->o->timeline, (int64_t)i, db_run_ns(arrival),
                                                   it->prompt_tokens, it->output_tokens))
            return timeline_failed(st, err);
        const char *reason = NULL;
        db_status rc =
            db_sched_submit(st->sched, (int)i, it->prompt_tokens, it->output_tokens, &reason, err);
        if (rc != DB_OK) return rc;
        if (reason) {
            st->stats->failed++;
            if (db_metrics_request_failed(st->m, (int64_t)i, db_run_ns(now), reason))
                return metrics_failed(st, err);
            if (st->o->timeline &&
                db_timeline_failed(st->o->timeline, (int64_t)i, db_run_ns(now), reason))
                return timeline_failed(st, err);
            db_loadgen_done(&st->lg, now);
        }
    }
    return DB_OK;
}

/* Token, finish and first-token bookkeeping after a committed step that ended at t_end. */
static db_status record_outputs(run_state *st, const db_sched_step *step, double t_end, int *n_ttft,
                                db_error *err) {
    int64_t t_ns = db_run_ns(t_end);
    *n_ttft = 0;
    for (int k = 0; k < step->n_emitted; k++) {
        int r = step->emitted[k];
        if (db_metrics_tokens_emitted(st->m, r, t_ns, 1)) return metrics_failed(st, err);
        if (db_sched_request(st->sched, r)->generated == 1)
            st->new_ttft[(*n_ttft)++] = t_end - st->arrival_s[r];
    }
    st->output_tokens += step->n_emitted;
    for (int k = 0; k < step->n_finished; k++) {
        if (db_metrics_request_finished(st->m, step->finished[k], t_ns))
            return metrics_failed(st, err);
        st->stats->completed++;
        db_loadgen_done(&st->lg, t_end);
    }
    return DB_OK;
}

static void report_progress(run_state *st, int n_ttft, bool final) {
    if (!st->o->progress) return;
    db_run_stats *x = st->stats;
    db_run_progress p = {
        .now_s = db_clock_now(&st->clock),
        .elapsed_real_s = db_clock_monotonic_s() - st->real_start_s,
        .total = st->s->n,
        .issued = x->issued,
        .completed = x->completed,
        .failed = x->failed,
        .in_flight = x->issued - x->completed - x->failed,
        .output_tokens = st->output_tokens,
        .new_ttft_s = st->new_ttft,
        .n_new_ttft = n_ttft,
        .final = final,
    };
    st->o->progress(st->o->progress_ctx, &p);
}

/* One kernel record: onto the run clock, into the timeline, to the caller. */
static int take_kernel(void *ctx, const db_kernel_record *k) {
    run_state *st = ctx;
    int64_t start = k->start_ns - st->trace_zero_ns, end = k->end_ns - st->trace_zero_ns;
    st->stats->kernels++;
    if (st->o->timeline) {
        db_tl_kernel tk = {.name = k->name,
                           .start_ns = start,
                           .end_ns = end,
                           .stream = k->stream,
                           .step = k->step,
                           .op = db_kernel_op_name(k->op)};
        if (db_timeline_kernel(st->o->timeline, &tk)) return -1;
    }
    return st->o->on_kernel(st->o->kernel_ctx, k, start, end);
}

static db_status drain_kernels(run_state *st, int final, db_error *err) {
    if (!st->o->on_kernel) return DB_OK;
    db_status rc = db_engine_kernel_trace_drain(st->e, final, take_kernel, st, err);
    st->stats->kernels_dropped = db_engine_kernel_trace_dropped(st->e);
    if (st->o->timeline && *db_timeline_error(st->o->timeline)) return timeline_failed(st, err);
    return rc;
}

/* Opens the profiler window before step `index` / closes it after it, as the options say. */
static db_status profiler_edge(run_state *st, int64_t index, bool before, db_error *err) {
    const db_run_opts *o = st->o;
    if (o->profile_end_step <= o->profile_first_step) return DB_OK;
    if (before && index == o->profile_first_step && !st->profiling) {
        db_status rc = db_engine_profiler_start(st->e, err);
        if (rc != DB_OK) return rc;
        st->profiling = st->stats->profiler_started = true;
    }
    if (!before && st->profiling) {
        st->stats->profiled_steps++;
        if (index == o->profile_end_step - 1) {
            st->profiling = false;
            return db_engine_profiler_stop(st->e, err);
        }
    }
    return DB_OK;
}

/* Runs one planned, non-empty step: engine, clock, commit, metrics. host_t0: the real time when the
 * harness started working on this step (arrivals, planning); the host overhead is the real time
 * spent outside db_engine_step from then until the step's event is recorded. */
static db_status run_step(run_state *st, db_sched_step *step, double host_t0, db_error *err) {
    db_run_stats *x = st->stats;
    double start = db_clock_now(&st->clock);
    int64_t start_ns = db_run_ns(start);
    for (int k = 0; k < step->n_first; k++)
        if (db_metrics_request_scheduled(st->m, step->first_scheduled[k], start_ns))
            return metrics_failed(st, err);
    for (int k = 0; k < step->n_preempted; k++) /* preempted while this step was planned */
        if (db_metrics_request_preempted(st->m, step->preempted[k], start_ns))
            return metrics_failed(st, err);
    db_cost cost;
    db_engine_cost(st->e, step->work, step->n, &cost);
    db_status rc = profiler_edge(st, x->steps, true, err);
    if (rc != DB_OK) return rc;
    double h0 = db_clock_monotonic_s();
    db_step_result res = {.next_tokens = st->next_tokens};
    rc = db_engine_step(st->e, step->work, step->n, &res, err);
    double h1 = db_clock_monotonic_s();
    if (rc != DB_OK) return rc;
    int64_t kv_used = db_sched_kv_blocks_used(st->sched);
    db_clock_advance(&st->clock, res.step_seconds);
    double end = db_clock_now(&st->clock);
    if ((rc = db_sched_commit(st->sched, &res, err)) != DB_OK) return rc;
    int n_ttft = 0;
    if ((rc = record_outputs(st, step, end, &n_ttft, err)) != DB_OK) return rc;
    if ((rc = record_timeline(st, step, start_ns, db_run_ns(end), err)) != DB_OK) return rc;
    if ((rc = profiler_edge(st, x->steps, false, err)) != DB_OK) return rc;
    if ((rc = drain_kernels(st, 0, err)) != DB_OK) return rc; /* counted as host overhead */
    double h2 = db_clock_monotonic_s();
    db_step_event ev = {
        .index = x->steps,
        .start_ns = start_ns,
        .duration_ns = db_run_ns(end) - start_ns, /* start + duration = the tokens' time */
        .batch_size = step->n,
        .prefill_tokens = step->prefill_tokens,
        .decode_tokens = step->decode_tokens,
        .kv_blocks_used = (int32_t)kv_used,
        .kv_blocks_total = (int32_t)db_engine_kv_total_blocks(st->e),
        .host_overhead_s = (h0 - host_t0) + (h2 - h1),
        .device_s = res.device_seconds,
        .flops = cost.total_flops,
        .bytes = cost.total_bytes,
    };
    if (db_metrics_step(st->m, &ev)) return metrics_failed(st, err);
    if (st->o->on_step) st->o->on_step(st->o->step_ctx, &ev, &cost);
    x->steps++;
    x->prefill_tokens += step->prefill_tokens;
    x->decode_tokens += step->decode_tokens;
    x->step_s += end - start;
    x->device_s += res.device_seconds;
    x->host_overhead_s += ev.host_overhead_s;
    report_progress(st, n_ttft, false);
    return DB_OK;
}

static db_status run_alloc(run_state *st, db_error *err) {
    size_t mb = (size_t)st->o->sched.max_batch;
    st->arrival_s = calloc(st->s->n, sizeof *st->arrival_s);
    st->next_tokens = calloc(mb, sizeof *st->next_tokens);
    st->new_ttft = calloc(mb, sizeof *st->new_ttft);
    if (st->o->timeline) {
        st->tl_items = calloc(mb, sizeof *st->tl_items);
        st->tl_preempted = calloc(mb, sizeof *st->tl_preempted);
    }
    if (!st->arrival_s || !st->next_tokens || !st->new_ttft ||
        (st->o->timeline && (!st->tl_items || !st->tl_preempted)))
        return db_error_set(err, DB_ERR_NOMEM, "out of memory for a run of %zu requests", st->s->n);
    db_status rc = db_loadgen_init(&st->lg, st->s, err);
    if (rc != DB_OK) return rc;
    if (st->o->issue_until_s > 0) db_loadgen_stop_at(&st->lg, st->o->issue_until_s);
    return db_sched_create(st->e, &st->o->sched, st->s->n, &st->sched, err);
}

static void run_release(run_state *st) {
    db_sched_free(st->sched);
    db_loadgen_free(&st->lg);
    free(st->arrival_s);
    free(st->next_tokens);
    free(st->new_ttft);
    free(st->tl_items);
    free(st->tl_preempted);
}

/* Nothing can run: wait for the next arrival. Returns DB_OK with *done set when no arrival is left.
 */
static db_status run_idle(run_state *st, bool *done, db_error *err) {
    *done = false;
    if (db_sched_queued(st->sched) > 0 || db_sched_running(st->sched) > 0)
        return db_error_set(err, DB_ERR_INTERNAL,
                            "the scheduler planned an empty step with %zu queued and %zu running",
                            db_sched_queued(st->sched), db_sched_running(st->sched));
    double next = db_loadgen_next_time(&st->lg);
    if (isinf(next)) {
        if (db_loadgen_exhausted(&st->lg)) {
            *done = true;
            return DB_OK;
        }
        return db_error_set(err, DB_ERR_INTERNAL,
                            "closed loop: no request in flight and no slot free");
    }
    double before = db_clock_now(&st->clock);
    db_clock_sleep_until(&st->clock,
                         next); /* a signal may cut it short: the loop checks the flag */
    st->stats->idle_s += db_clock_now(&st->clock) - before;
    return DB_OK;
}

static db_status run_loop(run_state *st, db_error *err) {
    const db_run_opts *o = st->o;
    for (;;) {
        if (o->stop && *o->stop) {
            st->stats->interrupted = true;
            return DB_OK;
        }
        double t0 = db_clock_monotonic_s();
        db_status rc = release_arrivals(st, db_clock_now(&st->clock), err);
        if (rc != DB_OK) return rc;
        db_sched_step *step = NULL;
        if ((rc = db_sched_plan(st->sched, &step, err)) != DB_OK) return rc;
        if (step->n == 0) {
            bool done = false;
            if ((rc = run_idle(st, &done, err)) != DB_OK || done) return rc;
            continue;
        }
        if ((rc = run_step(st, step, t0, err)) != DB_OK) return rc;
    }
}

db_status db_run(db_engine *e, const db_schedule *s, const db_run_opts *o, db_metrics *m,
                 db_run_stats *stats, db_error *err) {
    memset(stats, 0, sizeof *stats);
    stats->clock = o->clock;
    run_state st = {.e = e, .s = s, .o = o, .m = m, .stats = stats};
    db_clock_init(&st.clock, o->clock);
    st.real_start_s = db_clock_monotonic_s();
    db_status rc = DB_OK;
    if (o->on_kernel) rc = db_engine_kernel_trace_clock_ns(e, &st.trace_zero_ns, err);
    if (rc == DB_OK) rc = run_alloc(&st, err);
    if (rc == DB_OK) rc = run_loop(&st, err);
    stats->end_s = db_clock_now(&st.clock);
    stats->wall_s = db_clock_monotonic_s() - st.real_start_s;
    stats->in_flight = stats->issued - stats->completed - stats->failed;
    stats->preemptions = st.sched ? db_sched_preemptions(st.sched) : 0;
    report_progress(&st, 0, true);
    db_error err2;
    if (st.profiling && db_engine_profiler_stop(e, &err2) != DB_OK && rc == DB_OK) {
        *err = err2;
        rc = err2.code;
    }
    if (drain_kernels(&st, 1, &err2) != DB_OK && rc == DB_OK) {
        *err = err2;
        rc = err2.code;
    }
    if (db_metrics_finish(m, db_run_ns(stats->end_s)) && rc == DB_OK) rc = metrics_failed(&st, err);
    if (o->timeline && db_timeline_finish(o->timeline, db_run_ns(stats->end_s)) && rc == DB_OK)
        rc = timeline_failed(&st, err);
    run_release(&st);
    return rc;
}
