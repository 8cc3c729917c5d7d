/* The timeline recorder (harness/metrics_timeline.h) and its writer (reports/timeline.h) on
 * hand-built steps: which spans a request gets (queued, prefill chunks, one decode span per run of
 * consecutive steps, requeued and recompute after a preemption, failure instants), the event cap,
 * the Trace Event Format fields of timeline.json (ph, ts/dur in microseconds, pid/tid, metadata),
 * and errors for events that contradict the sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_timeline.h"
#include "timeline.h"

static db_timeline *new_tl(size_t max_events) {
    db_timeline *tl = NULL;
    char err[128];
    assert_int_equal(db_timeline_create(max_events, &tl, err, sizeof err), 0);
    return tl;
}

static db_tl_item prefill(int64_t req, int32_t n, int32_t pos, bool last) {
    return (db_tl_item){.req = req, .n_tokens = n, .pos = pos, .decode = false, .emits = last};
}

static db_tl_item decode(int64_t req, int32_t pos) {
    return (db_tl_item){.req = req, .n_tokens = 1, .pos = pos, .decode = true, .emits = true};
}

/* Step k runs [10 + 10k, 20 + 10k) us: back to back, tiling the clock from 10 us. */
static int64_t t0(int64_t k) {
    return 10000 + 10000 * k;
}

static void step(db_timeline *tl, int64_t k, const db_tl_item *items, int n, const int64_t *pre,
                 int n_pre) {
    if (db_timeline_step(tl, k, t0(k), t0(k + 1), items, n, pre, n_pre))
        fail_msg("step %lld: %s", (long long)k, db_timeline_error(tl));
}

static const db_tl_event *ev(const db_timeline *tl, size_t i) {
    assert_true(i < db_timeline_event_count(tl));
    return db_timeline_event_at(tl, i);
}

/* Request 0 (prompt 96 in chunks of 64 + 32, 4 output tokens) arriving at 0: queued 0..10 us, two
 * prefill spans (one per step, with their tokens and positions), then ONE decode span over the
 * three decode steps (the first token came from the last prefill chunk: 4 - 1 = 3 decode tokens).
 */
static void a_request_gets_queued_prefill_chunks_and_one_decode_span(void **state) {
    (void)state;
    db_timeline *tl = new_tl(0);
    assert_int_equal(db_timeline_arrived(tl, 0, 0, 96, 4), 0);
    db_tl_item a = prefill(0, 64, 0, false), b = prefill(0, 32, 64, true);
    step(tl, 0, &a, 1, NULL, 0);
    step(tl, 1, &b, 1, NULL, 0);
    for (int k = 2; k <= 4; k++) {
        db_tl_item d = decode(0, 94 + k);
        step(tl, k, &d, 1, NULL, 0);
    }
    assert_int_equal(db_timeline_finish(tl, t0(5)), 0);
    assert_int_equal(db_timeline_event_count(tl), 4);
    assert_int_equal(ev(tl, 0)->kind, DB_TL_QUEUED);
    assert_int_equal(ev(tl, 0)->start_ns, 0);
    assert_int_equal(ev(tl, 0)->end_ns, t0(0));
    assert_int_equal(ev(tl, 1)->kind, DB_TL_PREFILL);
    assert_int_equal(ev(tl, 1)->tokens, 64);
    assert_int_equal(ev(tl, 2)->tokens, 32);
    assert_int_equal(ev(tl, 2)->pos, 64);
    const db_tl_event *d = ev(tl, 3);
    assert_int_equal(d->kind, DB_TL_DECODE);
    assert_int_equal(d->first_step, 2);
    assert_int_equal(d->last_step, 4);
    assert_int_equal(d->tokens, 3);
    assert_int_equal(d->start_ns, t0(2));
    assert_int_equal(d->end_ns, t0(5));
    assert_false(d->truncated);
    assert_int_equal(db_timeline_request_at(tl, 0)->generated, 4);
    db_timeline_free(tl);
}

/* Preempted before step 2: the decode run of steps 0..1 ends, a "preempted" instant and a requeued
 * span start at step 2's start, the KV rebuild is a recompute chunk, and decoding resumes in a new
 * span: two decode spans for one preemption. */
static void a_preemption_splits_the_decode_span_and_adds_requeued_and_recompute(void **state) {
    (void)state;
    db_timeline *tl = new_tl(0);
    assert_int_equal(db_timeline_arrived(tl, 7, 0, 16, 8), 0);
    assert_int_equal(db_timeline_arrived(tl, 8, 0, 16, 8), 0);
    db_tl_item s0[2] = {prefill(7, 16, 0, true), prefill(8, 16, 0, true)};
    step(tl, 0, s0, 2, NULL, 0);
    db_tl_item s1[2] = {decode(7, 16), decode(8, 16)};
    step(tl, 1, s1, 2, NULL, 0);
    int64_t victim = 8;
    db_tl_item s2 = decode(7, 17);
    step(tl, 2, &s2, 1, &victim, 1);
    db_tl_item s3[2] = {decode(7, 18), prefill(8, 18, 0, true)}; /* 16 prompt + 2 generated */
    step(tl, 3, s3, 2, NULL, 0);
    db_tl_item s4[2] = {decode(7, 19), decode(8, 18)};
    step(tl, 4, s4, 2, NULL, 0);
    assert_int_equal(db_timeline_finish(tl, t0(5)), 0);
    /* request 8's events (slot 1), after request 7's three (queued, prefill, decode): queued,
     * prefill, decode [1], preempted, requeued [2, 3), recompute [3], decode [4] */
    assert_int_equal(db_timeline_event_count(tl), 3 + 7);
    const db_tl_kind want[7] = {DB_TL_QUEUED,   DB_TL_PREFILL,   DB_TL_DECODE, DB_TL_PREEMPTED,
                                DB_TL_REQUEUED, DB_TL_RECOMPUTE, DB_TL_DECODE};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(ev(tl, 3 + (size_t)i)->req, 8);
        assert_int_equal(ev(tl, 3 + (size_t)i)->kind, want[i]);
    }
    assert_int_equal(ev(tl, 5)->last_step, 1);
    assert_int_equal(ev(tl, 6)->start_ns, t0(2));
    assert_int_equal(ev(tl, 7)->start_ns, t0(2));
    assert_int_equal(ev(tl, 7)->end_ns, t0(3));
    assert_int_equal(ev(tl, 8)->tokens, 18);
    assert_int_equal(ev(tl, 9)->first_step, 4);
    assert_int_equal(db_timeline_request_at(tl, 1)->preemptions, 1);
    /* request 7 was never preempted: one decode span over steps 1..4 */
    assert_int_equal(ev(tl, 2)->first_step, 1);
    assert_int_equal(ev(tl, 2)->last_step, 4);
    db_timeline_free(tl);
}

/* A request refused at arrival: its queue span ends where it failed, then a failed instant with
 * the reason. */
static void a_failed_request_ends_with_a_failed_instant_and_its_reason(void **state) {
    (void)state;
    db_timeline *tl = new_tl(0);
    assert_int_equal(db_timeline_arrived(tl, 0, 1000, 600, 10), 0);
    assert_int_equal(db_timeline_failed(tl, 0, 5000, "prompt \"too\" long"), 0);
    assert_int_equal(db_timeline_finish(tl, 5000), 0);
    assert_int_equal(db_timeline_event_count(tl), 2);
    assert_int_equal(ev(tl, 0)->kind, DB_TL_QUEUED);
    assert_int_equal(ev(tl, 0)->end_ns, 5000);
    assert_int_equal(ev(tl, 1)->kind, DB_TL_FAILED);
    assert_string_equal(db_timeline_request_at(tl, 0)->failure, "prompt \"too\" long");
    db_timeline_free(tl);
}

/* A run that ends with a request still queued (interrupted): its queue span is closed at the end
 * and marked truncated. */
static void a_request_still_queued_at_the_end_gets_a_truncated_span(void **state) {
    (void)state;
    db_timeline *tl = new_tl(0);
    assert_int_equal(db_timeline_arrived(tl, 0, 0, 8, 2), 0);
    assert_int_equal(db_timeline_finish(tl, 3000), 0);
    assert_int_equal(db_timeline_event_count(tl), 1);
    assert_true(ev(tl, 0)->truncated);
    assert_int_equal(ev(tl, 0)->end_ns, 3000);
    db_timeline_free(tl);
}

/* Cap 12 events. A request track costs 3 (two metadata events and its queue span), a step 2 (span
 * and counter) plus 1 per span it opens: arrival 3, step 0 (prefill span) 3, step 1 (opens the
 * decode span) 3, step 2 (extends it) 2: 11. Step 3 may open up to 1 span: 11 + 3 > 12, so the
 * timeline closes at step 3's start: 3 steps kept, the decode span ends at step 2 and is marked
 * truncated (3 of the request's 5 tokens were produced), and later events are ignored. */
static void the_event_cap_closes_the_timeline_at_a_step_boundary(void **state) {
    (void)state;
    db_timeline *tl = new_tl(12);
    assert_int_equal(db_timeline_arrived(tl, 0, 0, 8, 5), 0);
    db_tl_item p = prefill(0, 8, 0, true);
    step(tl, 0, &p, 1, NULL, 0);
    for (int k = 1; k <= 4; k++) {
        db_tl_item d = decode(0, 7 + k);
        step(tl, k, &d, 1, NULL, 0);
    }
    assert_int_equal(db_timeline_arrived(tl, 1, t0(5), 8, 5), 0);
    assert_int_equal(db_timeline_finish(tl, t0(5)), 0);
    assert_int_equal(db_timeline_truncated_at_ns(tl), t0(3));
    assert_int_equal(db_timeline_steps_kept(tl), 3);
    assert_int_equal(db_timeline_request_count(tl), 1);
    assert_int_equal(db_timeline_counted_events(tl), 11);
    const db_tl_event *d = ev(tl, 2);
    assert_int_equal(d->kind, DB_TL_DECODE);
    assert_int_equal(d->last_step, 2);
    assert_true(d->truncated);
    db_timeline_free(tl);
}

static void events_that_contradict_the_sequence_are_refused_with_a_message(void **state) {
    (void)state;
    db_timeline *tl = new_tl(0);
    assert_int_equal(db_timeline_arrived(tl, 3, 100, 8, 2), 0);
    assert_int_equal(db_timeline_arrived(tl, 3, 200, 8, 2), -1);
    assert_non_null(strstr(db_timeline_error(tl), "request 3: arrived twice"));
    assert_int_equal(db_timeline_arrived(tl, 4, 50, 8, 2), -1);
    assert_non_null(strstr(db_timeline_error(tl), "before the previous one"));
    db_tl_item x = prefill(9, 8, 0, true);
    assert_int_equal(db_timeline_step(tl, 0, 1000, 2000, &x, 1, NULL, 0), -1);
    assert_non_null(strstr(db_timeline_error(tl), "request 9 is not queued or running"));
    db_tl_item y = prefill(3, 8, 0, true);
    assert_int_equal(db_timeline_step(tl, 1, 1000, 2000, &y, 1, NULL, 0), -1);
    assert_non_null(strstr(db_timeline_error(tl), "expected step 0"));
    db_timeline_free(tl);
}

/* ---- the JSON file ----------------------------------------------------------------------------
 */

static json_t *write_and_load(const db_metrics *m, const db_timeline *tl) {
    char dir[] = "/tmp/db_timeline_XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/timeline.json", dir);
    db_timeline_info info = {.clock = "virtual", .command_line = "decodebench run 'a b'"};
    if (db_timeline_write(path, m, tl, &info, err, sizeof err)) fail_msg("%s", err);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) fail_msg("timeline.json does not parse: line %d: %s", je.line, je.text);
    unlink(path);
    rmdir(dir);
    return root;
}

static json_t *find_event(json_t *events, const char *name, const char *ph) {
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        if (!strcmp(json_string_value(json_object_get(e, "name")), name) &&
            !strcmp(json_string_value(json_object_get(e, "ph")), ph))
            return e;
    }
    return NULL;
}

/* One request (32 + 2) over two steps of 10 us starting at 10 us: the step span is an "X" event at
 * ts 10.000 us with dur 10.000 us on pid 1 / tid 1 with its arguments; the request's prefill is on
 * pid 2 / tid 1 (its track), named by a thread_name metadata event; the failure reason with quotes
 * survives as a JSON string; otherData says the clock and that nothing was truncated. */
static void timeline_json_has_trace_event_format_fields(void **state) {
    (void)state;
    db_metrics *m = NULL;
    db_metrics_config mc = {0};
    char msg[128];
    assert_int_equal(db_metrics_create(&mc, &m, msg, sizeof msg), 0);
    db_timeline *tl = new_tl(0);
    assert_int_equal(db_timeline_arrived(tl, 0, 0, 32, 2), 0);
    assert_int_equal(db_timeline_arrived(tl, 1, 0, 900, 2), 0);
    assert_int_equal(db_timeline_failed(tl, 1, 0, "said \"no\""), 0);
    db_tl_item p = prefill(0, 32, 0, true), d = decode(0, 32);
    step(tl, 0, &p, 1, NULL, 0);
    step(tl, 1, &d, 1, NULL, 0);
    for (int k = 0; k < 2; k++) {
        db_step_event se = {.index = k,
                            .start_ns = t0(k),
                            .duration_ns = 10000,
                            .batch_size = 1,
                            .prefill_tokens = k == 0 ? 32 : 0,
                            .decode_tokens = k == 0 ? 0 : 1,
                            .kv_blocks_used = 3,
                            .kv_blocks_total = 10};
        assert_int_equal(db_metrics_step(m, &se), 0);
    }
    assert_int_equal(db_timeline_finish(tl, t0(2)), 0);
    assert_int_equal(db_metrics_finish(m, t0(2)), 0);
    json_t *root = write_and_load(m, tl);
    json_t *events = json_object_get(root, "traceEvents");
    json_t *s0 = find_event(events, "prefill", "X");
    assert_non_null(s0);
    assert_int_equal(json_integer_value(json_object_get(s0, "pid")), 1);
    assert_true(json_real_value(json_object_get(s0, "ts")) == 10.0);
    assert_true(json_real_value(json_object_get(s0, "dur")) == 10.0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s0, "args"), "batch")), 1);
    json_t *name = find_event(events, "thread_name", "M");
    assert_non_null(name);
    json_t *failed = find_event(events, "failed", "i");
    assert_non_null(failed);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(failed, "args"), "reason")),
        "said \"no\"");
    json_t *other = json_object_get(root, "otherData");
    assert_string_equal(json_string_value(json_object_get(other, "clock")), "virtual");
    assert_string_equal(json_string_value(json_object_get(other, "command_line")),
                        "decodebench run 'a b'");
    assert_true(json_is_null(json_object_get(other, "truncated_at_s")));
    json_decref(root);
    db_timeline_free(tl);
    db_metrics_free(m);
}

/* A traced kernel goes on pid 3 with one track per stream, named "stream N", and carries its step
 * and op class. */
static void kernels_go_on_one_track_per_stream(void **state) {
    (void)state;
    db_metrics *m = NULL;
    db_metrics_config mc = {0};
    char msg[128];
    assert_int_equal(db_metrics_create(&mc, &m, msg, sizeof msg), 0);
    db_timeline *tl = new_tl(0);
    db_tl_kernel k = {.name = "rmsnorm_kernel<float>",
                      .start_ns = 1500,
                      .end_ns = 2500,
                      .stream = 13,
                      .step = 0,
                      .op = "norm"};
    assert_int_equal(db_timeline_kernel(tl, &k), 0);
    assert_int_equal(db_timeline_finish(tl, 3000), 0);
    assert_int_equal(db_metrics_finish(m, 3000), 0);
    json_t *root = write_and_load(m, tl);
    json_t *events = json_object_get(root, "traceEvents");
    json_t *e = find_event(events, "rmsnorm_kernel<float>", "X");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "pid")), 3);
    assert_int_equal(json_integer_value(json_object_get(e, "tid")), 13);
    assert_true(json_real_value(json_object_get(e, "ts")) == 1.5);
    assert_true(json_real_value(json_object_get(e, "dur")) == 1.0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "args"), "op")),
                        "norm");
    json_decref(root);
    db_timeline_free(tl);
    db_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_request_gets_queued_prefill_chunks_and_one_decode_span),
        cmocka_unit_test(a_preemption_splits_the_decode_span_and_adds_requeued_and_recompute),
        cmocka_unit_test(a_failed_request_ends_with_a_failed_instant_and_its_reason),
        cmocka_unit_test(a_request_still_queued_at_the_end_gets_a_truncated_span),
        cmocka_unit_test(the_event_cap_closes_the_timeline_at_a_step_boundary),
        cmocka_unit_test(events_that_contradict_the_sequence_are_refused_with_a_message),
        cmocka_unit_test(timeline_json_has_trace_event_format_fields),
        cmocka_unit_test(kernels_go_on_one_track_per_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
