/* Overload is visible: with constant arrivals faster than the engine serves, TTFT grows linearly
 * with the request index, at a slope derived here from the sim's modelled step times; with arrivals
 * slower than service it stays flat. Sim backend (llama2-7b bf16 on h100-sxm), virtual clock,
 * deterministic.
 *
 * Derivation. max_batch 1, so requests are served one at a time, each alone, in arrival order.
 * Every request has the same lengths (P prompt, O output tokens) and starts on a fresh sequence at
 * position 0, so each is served by the same O steps: one prefill of P tokens (T_p, the first token
 * at its end) and O - 1 decode steps at positions P .. P+O-2. Its service time is S = T_p + sum of
 * those decode step times. Request i arrives at i*a (constant arrivals, the first at t = 0).
 *  - Overload, a < S: the engine is never idle (request i+1 has arrived, at (i+1)*a < (i+1)*S,
 * before request i ends at (i+1)*S), so request i starts at i*S and its first token comes at i*S +
 * T_p: TTFT_i = i*S + T_p - i*a = T_p + i*(S - a)     (slope S - a per request) queue_i = i*S - i*a
 * = i*(S - a)
 *  - Under load, a > S: request i finds the engine idle (request i-1 ended at (i-1)*a + S < i*a)
 * and starts at once: TTFT_i = T_p, queue_i = 0. Times reach the recorder as integer ns rounded
 * from the run clock, so each comparison allows 2 ns.
 */
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

enum { P = 512, O = 8, N = 40 };

static db_engine *open_7b(void) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset("llama2-7b", &o.model), 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = 16384;
    o.sim_device = "h100-sxm";
    o.sim_step_overhead_s = -1.0;
    db_engine *e = NULL;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) fail_msg("open: %s", err.msg);
    return e;
}

/* The modelled times of one request served alone: T_p (its prefill step) and S (all its steps). */
static void probe_service_time(double *t_prefill, double *service) {
    db_engine *e = open_7b();
    db_error err;
    int seq;
    assert_int_equal(db_seq_alloc(e, &seq, &err), DB_OK);
    static int32_t tokens[P];
    for (int i = 0; i < P; i++)
        tokens[i] = 3 + i;
    int32_t next[1];
    db_work w = {.seq_id = seq, .pos = 0, .n_tokens = P, .tokens = tokens, .want_next = 1};
    db_step_result res = {.next_tokens = next};
    assert_int_equal(db_engine_step(e, &w, 1, &res, &err), DB_OK);
    *t_prefill = *service = res.step_seconds;
    for (int k = 1; k < O; k++) {
        db_work d = {
            .seq_id = seq, .pos = P + k - 1, .n_tokens = 1, .tokens = tokens, .want_next = 1};
        assert_int_equal(db_engine_step(e, &d, 1, &res, &err), DB_OK);
        *service += res.step_seconds;
    }
    assert_true(*t_prefill > 0 && *service > *t_prefill);
    db_engine_close(e);
}

/* Runs N requests arriving every a seconds with max_batch 1; returns the finished recorder. */
static db_metrics *run_constant_arrivals(double a) {
    db_schedule s;
    memset(&s, 0, sizeof s);
    s.items = calloc(N, sizeof *s.items);
    s.n = N;
    s.mode = DB_ARRIVAL_OPEN;
    for (int i = 0; i < N; i++)
        s.items[i] = (db_schedule_item){i * a, P, O};
    db_metrics_config mc = {0};
    db_metrics *m = NULL;
    char msg[256];
    assert_int_equal(db_metrics_create(&mc, &m, msg, sizeof msg), 0);
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.clock = DB_CLOCK_VIRTUAL;
    ro.sched.max_batch = 1;
    ro.sched.max_batch_tokens = P;
    ro.sched.prefill_chunk = P;
    db_engine *e = open_7b();
    db_run_stats st;
    db_error err;
    if (db_run(e, &s, &ro, m, &st, &err) != DB_OK) fail_msg("run: %s", err.msg);
    assert_int_equal(st.completed, N);
    db_engine_close(e);
    free(s.items);
    return m;
}

static void ttft_grows_by_service_minus_gap_per_request_under_overload(void **state) {
    (void)state;
    double t_p, svc;
    probe_service_time(&t_p, &svc);
    double a = svc / 2; /* arrivals twice as fast as the engine serves */
    db_metrics *m = run_constant_arrivals(a);
    assert_int_equal(db_metrics_request_count(m), N);
    for (int i = 0; i < N; i++) {
        const db_request_record *r = db_metrics_request_at(m, (size_t)i);
        double want_ttft = t_p + i * (svc - a), want_queue = i * (svc - a);
        assert_true(llabs(db_request_latency_ns(r, DB_LAT_TTFT) - llround(want_ttft * 1e9)) <= 2);
        assert_true(llabs(db_request_latency_ns(r, DB_LAT_QUEUE) - llround(want_queue * 1e9)) <= 2);
    }
    /* the last request waited (N-1)(S-a): many service times, so the growth is not noise */
    assert_true((N - 1) * (svc - a) > 10 * svc);
    db_metrics_free(m);
}

static void ttft_stays_at_the_prefill_time_when_arrivals_are_slower_than_service(void **state) {
    (void)state;
    double t_p, svc;
    probe_service_time(&t_p, &svc);
    db_metrics *m = run_constant_arrivals(svc * 2);
    for (int i = 0; i < N; i++) {
        const db_request_record *r = db_metrics_request_at(m, (size_t)i);
        assert_true(llabs(db_request_latency_ns(r, DB_LAT_TTFT) - llround(t_p * 1e9)) <= 2);
        assert_true(llabs(db_request_latency_ns(r, DB_LAT_QUEUE)) <= 2);
    }
    db_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ttft_grows_by_service_minus_gap_per_request_under_overload),
        cmocka_unit_test(ttft_stays_at_the_prefill_time_when_arrivals_are_slower_than_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
