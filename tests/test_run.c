/* The run loop (harness/run.h) on the sim backend and the virtual clock: what it hands the metrics
 * recorder (tokens at step ends, intended arrivals, failures with reasons, step events),
 * closed-loop concurrency, the --duration stop for issuing, idle jumps, and stopping at a step
 * boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "metrics.h"
#include "model.h"
#include "run.h"

static db_engine *open_tiny(int64_t kv_tokens) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = kv_tokens;
    o.sim_device = "h100-sxm";
    o.sim_step_overhead_s = -1.0;
    db_engine *e = NULL;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) fail_msg("open: %s", err.msg);
    return e;
}

typedef struct fixture {
    db_schedule s;
    db_run_opts ro;
    db_metrics *m;
    db_engine *e;
    db_run_stats st;
} fixture;

static void fx_init(fixture *f, size_t n, db_arrival_mode mode) {
    memset(f, 0, sizeof *f);
    f->s.items = calloc(n, sizeof *f->s.items);
    f->s.n = n;
    f->s.mode = mode;
    db_run_opts_default(&f->ro);
    f->ro.clock = DB_CLOCK_VIRTUAL;
    f->ro.sched.max_batch = 8;
    f->ro.sched.max_batch_tokens = 256;
    f->ro.sched.prefill_chunk = 128;
    db_metrics_config mc = {0};
    char msg[256];
    assert_int_equal(db_metrics_create(&mc, &f->m, msg, sizeof msg), 0);
    f->e = open_tiny(8192);
}

static void fx_run(fixture *f) {
    db_error err;
    if (db_run(f->e, &f->s, &f->ro, f->m, &f->st, &err) != DB_OK) fail_msg("run: %s", err.msg);
}

static void fx_free(fixture *f) {
    db_metrics_free(f->m);
    db_engine_close(f->e);
    free(f->s.items);
}

static const db_request_record *rec(const fixture *f, size_t i) {
    return db_metrics_request_at(f->m, i);
}

/* One request (64 + 4) alone: 4 steps (a prefill, three decodes). Its first token is stamped at the
 * END of step 0 and its last at the end of step 3; first scheduled at the start of step 0. */
static void tokens_are_stamped_at_the_end_of_their_step(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 1, DB_ARRIVAL_OPEN);
    f.s.items[0] = (db_schedule_item){0.0, 64, 4};
    fx_run(&f);
    assert_int_equal(db_metrics_step_count(f.m), 4);
    const db_step_event *s0 = db_metrics_step_at(f.m, 0), *s3 = db_metrics_step_at(f.m, 3);
    const db_request_record *r = rec(&f, 0);
    assert_int_equal(r->first_scheduled_ns, s0->start_ns);
    assert_int_equal(r->first_token_ns, s0->start_ns + s0->duration_ns);
    assert_int_equal(r->last_token_ns, s3->start_ns + s3->duration_ns);
    assert_int_equal(r->output_tokens, 4);
    assert_int_equal(r->status, DB_REQ_COMPLETED);
    fx_free(&f);
}

/* A request arriving at 100 s after one at 0 finds the engine idle: the virtual clock jumps to 100
 * s, where it is first scheduled, so its queue time is 0 and the idle time is 100 s minus the first
 * request's service. */
static void the_virtual_clock_jumps_to_the_next_arrival_when_idle(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 2, DB_ARRIVAL_OPEN);
    f.s.items[0] = (db_schedule_item){0.0, 32, 2};
    f.s.items[1] = (db_schedule_item){100.0, 32, 2};
    fx_run(&f);
    assert_int_equal(rec(&f, 1)->first_scheduled_ns, INT64_C(100000000000));
    assert_int_equal(db_request_latency_ns(rec(&f, 1), DB_LAT_QUEUE), 0);
    double busy0 = (double)(rec(&f, 0)->end_ns) * 1e-9;
    assert_true(fabs(f.st.idle_s - (100.0 - busy0)) < 1e-9);
    fx_free(&f);
}

/* Every request arriving with 20 in flight: each is recorded with its intended arrival and finishes
 * with exactly its requested tokens. */
static void each_request_is_recorded_with_its_intended_arrival_and_exact_tokens(void **state) {
    (void)state;
    enum { N = 20 };
    fixture f;
    fx_init(&f, N, DB_ARRIVAL_OPEN);
    for (int i = 0; i < N; i++)
        f.s.items[i] = (db_schedule_item){i * 1e-4, 10 + 7 * i, 1 + 3 * i};
    fx_run(&f);
    assert_int_equal(f.st.completed, N);
    for (int i = 0; i < N; i++) {
        const db_request_record *r = rec(&f, (size_t)i);
        assert_int_equal(r->id, i);
        assert_int_equal(r->arrival_ns, llround(i * 1e-4 * 1e9));
        assert_int_equal(r->output_tokens, 1 + 3 * i);
        assert_int_equal(r->status, DB_REQ_COMPLETED);
    }
    fx_free(&f);
}

/* tiny's context is 512 tokens: request 1 (500 + 100) is failed with the reason, the others
 * complete. */
static void a_request_that_can_never_run_is_recorded_as_failed_with_its_reason(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 3, DB_ARRIVAL_OPEN);
    f.s.items[0] = (db_schedule_item){0.0, 20, 5};
    f.s.items[1] = (db_schedule_item){0.0, 500, 100};
    f.s.items[2] = (db_schedule_item){0.0, 20, 5};
    fx_run(&f);
    assert_int_equal(f.st.failed, 1);
    assert_int_equal(f.st.completed, 2);
    assert_int_equal(rec(&f, 1)->status, DB_REQ_FAILED);
    assert_non_null(strstr(rec(&f, 1)->failure_reason, "max_seq_len"));
    fx_free(&f);
}

/* Four requests of 20 + 60 tokens in a 128-token KV cache (8 blocks of 16): each needs 5 blocks at
 * its end, 20 in all, so decode growth must preempt (tests/test_scheduler.c derives the same case).
 * Every preemption the scheduler makes reaches the request's record: the per-request counts add up
 * to the run's total, and every request still completes. */
static void every_preemption_is_counted_on_the_preempted_request(void **state) {
    (void)state;
    enum { N = 4 };
    fixture f;
    fx_init(&f, N, DB_ARRIVAL_OPEN);
    db_engine_close(f.e);
    f.e = open_tiny(128);
    f.ro.sched.max_batch = 4;
    f.ro.sched.max_batch_tokens = 64;
    f.ro.sched.prefill_chunk = 32;
    for (int i = 0; i < N; i++)
        f.s.items[i] = (db_schedule_item){0.0, 20, 60};
    fx_run(&f);
    assert_true(f.st.preemptions > 0);
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(rec(&f, (size_t)i)->status, DB_REQ_COMPLETED);
        sum += rec(&f, (size_t)i)->preemptions;
    }
    assert_int_equal(sum, f.st.preemptions);
    assert_int_equal(rec(&f, 0)->preemptions, 0); /* the oldest is never the newest running */
    fx_free(&f);
}

/* Closed loop, concurrency 3, think time 0: never more than 3 requests in flight; from the fourth
 * on, each request arrives exactly when an earlier one ended. */
static void a_closed_loop_keeps_concurrency_requests_in_flight(void **state) {
    (void)state;
    enum { N = 12 };
    fixture f;
    fx_init(&f, N, DB_ARRIVAL_CLOSED);
    f.s.concurrency = 3;
    for (int i = 0; i < N; i++)
        f.s.items[i] = (db_schedule_item){0.0, 16 + 5 * i, 3 + (i % 4)};
    fx_run(&f);
    assert_int_equal(f.st.completed, N);
    for (int i = 0; i < N; i++) {
        int64_t t = rec(&f, (size_t)i)->arrival_ns, in_flight = 0;
        for (int j = 0; j < N; j++)
            in_flight += rec(&f, (size_t)j)->arrival_ns <= t && rec(&f, (size_t)j)->end_ns > t;
        assert_true(in_flight <= 3);
        if (i < 3) {
            assert_int_equal(t, 0);
            continue;
        }
        bool matches_an_end = false;
        for (int j = 0; j < i; j++)
            matches_an_end |= rec(&f, (size_t)j)->end_ns == t;
        assert_true(matches_an_end);
    }
    fx_free(&f);
}

/* Closed loop, concurrency 1, identical requests of service time S: with issuing stopped at 2.5 S,
 * requests arrive at 0, S and 2S; the fourth (3S) is not issued. */
static void issuing_stops_at_the_stop_time_and_in_flight_requests_finish(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 100, DB_ARRIVAL_CLOSED);
    f.s.concurrency = 1;
    for (int i = 0; i < 100; i++)
        f.s.items[i] = (db_schedule_item){0.0, 32, 4};
    f.ro.issue_until_s = 1e-9; /* first, measure S with one request */
    fx_run(&f);
    double svc = (double)rec(&f, 0)->end_ns * 1e-9;
    fx_free(&f);
    fx_init(&f, 100, DB_ARRIVAL_CLOSED);
    f.s.concurrency = 1;
    for (int i = 0; i < 100; i++)
        f.s.items[i] = (db_schedule_item){0.0, 32, 4};
    f.ro.issue_until_s = 2.5 * svc;
    fx_run(&f);
    assert_int_equal(f.st.issued, 3);
    assert_int_equal(f.st.completed, 3);
    assert_false(f.st.interrupted);
    fx_free(&f);
}

typedef struct stopper {
    int steps;
    volatile sig_atomic_t stop;
} stopper;

/* A progress callback that raises the stop flag after the fifth step, as a signal handler would. */
static void stop_after_five_steps(void *ctx, const db_run_progress *p) {
    stopper *k = ctx;
    if (!p->final && ++k->steps == 5) k->stop = 1;
}

/* A stop flag raised during step 5 ends the run before step 6: five steps recorded, the recorder
 * finished, unfinished requests left in flight. */
static void the_stop_flag_ends_the_run_at_the_next_step_boundary(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 4, DB_ARRIVAL_OPEN);
    for (int i = 0; i < 4; i++)
        f.s.items[i] = (db_schedule_item){0.0, 40, 50};
    stopper k = {0, 0};
    f.ro.stop = &k.stop;
    f.ro.progress = stop_after_five_steps;
    f.ro.progress_ctx = &k;
    fx_run(&f);
    assert_true(f.st.interrupted);
    assert_int_equal(f.st.steps, 5);
    assert_int_equal(db_metrics_step_count(f.m), 5);
    const db_metrics_summary *sum = db_metrics_summary_get(f.m);
    assert_non_null(sum);
    assert_int_equal(sum->in_flight, 4);
    fx_free(&f);
}

/* On the sim, a step's time is its modelled device time plus the fixed overhead, so duration >=
 * device time; FLOPs and bytes come from db_engine_cost; KV use never exceeds the capacity. */
static void step_events_carry_time_cost_and_kv_use(void **state) {
    (void)state;
    fixture f;
    fx_init(&f, 6, DB_ARRIVAL_OPEN);
    for (int i = 0; i < 6; i++)
        f.s.items[i] = (db_schedule_item){0.0, 30 + 10 * i, 8};
    fx_run(&f);
    size_t n = db_metrics_step_count(f.m);
    assert_true(n > 0);
    assert_int_equal(n, f.st.steps);
    for (size_t i = 0; i < n; i++) {
        const db_step_event *s = db_metrics_step_at(f.m, i);
        assert_int_equal(s->index, (int64_t)i);
        assert_true(s->device_s > 0);
        assert_true((double)s->duration_ns >= s->device_s * 1e9 - 1);
        assert_true(s->host_overhead_s >= 0);
        assert_true(s->flops > 0 && s->bytes > 0);
        assert_true(s->kv_blocks_used >= 1 && s->kv_blocks_used <= s->kv_blocks_total);
        assert_true(s->batch_size >= 1 && s->batch_size <= 8);
    }
    fx_free(&f);
}

/* Sixty requests all at t = 0 keep the engine busy without a gap: each step starts exactly where
 * the previous one ended, in the recorder's integer nanoseconds too (a step's start + duration is
 * the time its tokens carry), and the run ends at the last step's end. */
static void back_to_back_steps_tile_the_run_clock_exactly(void **state) {
    (void)state;
    enum { N = 60 };
    fixture f;
    fx_init(&f, N, DB_ARRIVAL_OPEN);
    for (int i = 0; i < N; i++)
        f.s.items[i] = (db_schedule_item){0.0, 17 + 13 * i, 5 + 7 * (i % 9)};
    fx_run(&f);
    size_t n = db_metrics_step_count(f.m);
    assert_true(n > 100);
    for (size_t i = 0; i + 1 < n; i++) {
        const db_step_event *a = db_metrics_step_at(f.m, i), *b = db_metrics_step_at(f.m, i + 1);
        assert_int_equal(a->start_ns + a->duration_ns, b->start_ns);
    }
    const db_step_event *last = db_metrics_step_at(f.m, n - 1);
    assert_int_equal(db_run_ns(f.st.end_s), last->start_ns + last->duration_ns);
    fx_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_are_stamped_at_the_end_of_their_step),
        cmocka_unit_test(the_virtual_clock_jumps_to_the_next_arrival_when_idle),
        cmocka_unit_test(each_request_is_recorded_with_its_intended_arrival_and_exact_tokens),
        cmocka_unit_test(a_request_that_can_never_run_is_recorded_as_failed_with_its_reason),
        cmocka_unit_test(every_preemption_is_counted_on_the_preempted_request),
        cmocka_unit_test(a_closed_loop_keeps_concurrency_requests_in_flight),
        cmocka_unit_test(issuing_stops_at_the_stop_time_and_in_flight_requests_finish),
        cmocka_unit_test(the_stop_flag_ends_the_run_at_the_next_step_boundary),
        cmocka_unit_test(step_events_carry_time_cost_and_kv_use),
        cmocka_unit_test(back_to_back_steps_tile_the_run_clock_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
