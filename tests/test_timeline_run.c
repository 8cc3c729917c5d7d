/* timeline.json from a real run (harness/run.h on the sim backend, virtual clock): the file parses
 * (jansson), every request's spans are in time order and never overlap, the step spans are exactly
 * the recorder's steps (so they tile the clock as the steps do), prefill spans add up to each
 * prompt and decode spans to the output tokens after the first, preemptions appear as instants,
 * and a capped timeline holds nothing after the point where it was closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "metrics.h"
#include "metrics_timeline.h"
#include "model.h"
#include "run.h"
#include "timeline.h"

enum { N_REQ = 24, PROMPT = 64, OUTPUT = 200 };

typedef struct ran {
    db_metrics *m;
    db_timeline *tl;
    db_run_stats st;
    json_t *root;
} ran;

/* tiny (bf16) on the sim h100-sxm with a 1024-token KV cache: 24 requests of 64 + 200 tokens at
 * t = 0, up to 16 at once. 16 x 264 tokens do not fit in 1024, so decode growth preempts. */
static void run_tiny(ran *r, size_t max_events) {
    memset(r, 0, sizeof *r);
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = 1024;
    o.sim_device = "h100-sxm";
    db_engine *e = NULL;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) fail_msg("open: %s", err.msg);
    db_schedule s = {.n = N_REQ, .mode = DB_ARRIVAL_OPEN};
    s.items = calloc(N_REQ, sizeof *s.items);
    for (int i = 0; i < N_REQ; i++)
        s.items[i] = (db_schedule_item){0.0, PROMPT, OUTPUT};
    db_metrics_config mc = {0};
    char msg[256];
    assert_int_equal(db_metrics_create(&mc, &r->m, msg, sizeof msg), 0);
    assert_int_equal(db_timeline_create(max_events, &r->tl, msg, sizeof msg), 0);
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.clock = DB_CLOCK_VIRTUAL;
    ro.sched.max_batch = 16;
    ro.sched.max_batch_tokens = 256;
    ro.sched.prefill_chunk = 48; /* prompts of 64 take two chunks */
    ro.timeline = r->tl;
    if (db_run(e, &s, &ro, r->m, &r->st, &err) != DB_OK) fail_msg("run: %s", err.msg);
    char dir[] = "/tmp/db_tlrun_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/timeline.json", dir);
    db_timeline_info info = {.clock = "virtual"};
    if (db_timeline_write(path, r->m, r->tl, &info, msg, sizeof msg)) fail_msg("%s", msg);
    json_error_t je;
    r->root = json_load_file(path, 0, &je);
    if (!r->root) fail_msg("timeline.json does not parse: line %d: %s", je.line, je.text);
    unlink(path);
    rmdir(dir);
    free(s.items);
    db_engine_close(e);
}

static void ran_free(ran *r) {
    json_decref(r->root);
    db_timeline_free(r->tl);
    db_metrics_free(r->m);
}

/* ts / dur are microseconds with 3 decimals: back to integer ns. */
static int64_t ns_of(json_t *e, const char *key) {
    return llround(json_number_value(json_object_get(e, key)) * 1000.0);
}

static const char *str_of(json_t *e, const char *key) {
    const char *s = json_string_value(json_object_get(e, key));
    return s ? s : "";
}

static int64_t int_of(json_t *e, const char *key) {
    return json_integer_value(json_object_get(e, key));
}

static json_t *events_of(const ran *r) {
    return json_object_get(r->root, "traceEvents");
}

static void every_request_track_is_in_time_order_and_never_overlaps(void **state) {
    (void)state;
    ran r;
    run_tiny(&r, 0);
    int64_t last_end[N_REQ + 1];
    for (int i = 0; i <= N_REQ; i++)
        last_end[i] = -1;
    size_t i, spans = 0;
    json_t *e;
    json_array_foreach(events_of(&r), i, e) {
        if (int_of(e, "pid") != 2 || strcmp(str_of(e, "ph"), "X")) continue;
        int64_t tid = int_of(e, "tid");
        assert_true(tid >= 1 && tid <= N_REQ);
        int64_t ts = ns_of(e, "ts"), dur = ns_of(e, "dur");
        assert_true(dur >= 0);
        if (ts < last_end[tid])
            fail_msg("request track %lld: '%s' at %lld ns starts before the previous span's end "
                     "%lld ns",
                     (long long)tid, str_of(e, "name"), (long long)ts, (long long)last_end[tid]);
        last_end[tid] = ts + dur;
        spans++;
    }
    assert_true(spans >= 3 * N_REQ); /* queued (all but the first few), prefill x2, decode */
    ran_free(&r);
}

/* The step spans are the recorder's steps, one for one and to the ns, so they tile the clock
 * exactly as the steps do (each starts where the previous ended, the run never idling here). */
static void step_spans_are_the_recorded_steps_and_tile_the_clock(void **state) {
    (void)state;
    ran r;
    run_tiny(&r, 0);
    size_t i, k = 0;
    json_t *e;
    int64_t prev_end = -1;
    json_array_foreach(events_of(&r), i, e) {
        if (int_of(e, "pid") != 1 || strcmp(str_of(e, "ph"), "X")) continue;
        const db_step_event *s = db_metrics_step_at(r.m, k);
        assert_non_null(s);
        assert_int_equal(ns_of(e, "ts"), s->start_ns);
        assert_int_equal(ns_of(e, "dur"), s->duration_ns);
        assert_int_equal(int_of(json_object_get(e, "args"), "step"), s->index);
        if (prev_end >= 0) assert_int_equal(ns_of(e, "ts"), prev_end);
        prev_end = s->start_ns + s->duration_ns;
        k++;
    }
    assert_int_equal(k, db_metrics_step_count(r.m));
    assert_int_equal(k, r.st.steps);
    ran_free(&r);
}

/* A request never preempted: its prefill spans carry 48 + 16 = 64 prompt tokens and its one decode
 * span the 199 tokens after the first (which the last prefill chunk produced). Each preemption is
 * an instant on the victim's track, as many as the run counted. */
static void spans_account_for_prompts_outputs_and_preemptions(void **state) {
    (void)state;
    ran r;
    run_tiny(&r, 0);
    assert_true(r.st.preemptions > 0);
    int64_t prefill[N_REQ + 1] = {0}, decode[N_REQ + 1] = {0}, decode_spans[N_REQ + 1] = {0},
                            preempted[N_REQ + 1] = {0}, total_preempted = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events_of(&r), i, e) {
        if (int_of(e, "pid") != 2) continue;
        int64_t tid = int_of(e, "tid");
        json_t *args = json_object_get(e, "args");
        if (!strcmp(str_of(e, "name"), "prefill")) prefill[tid] += int_of(args, "tokens");
        if (!strcmp(str_of(e, "name"), "decode")) {
            decode[tid] += int_of(args, "tokens");
            decode_spans[tid]++;
        }
        if (!strcmp(str_of(e, "name"), "preempted")) {
            preempted[tid]++;
            total_preempted++;
        }
    }
    assert_int_equal(total_preempted, r.st.preemptions);
    int checked = 0;
    for (int t = 1; t <= N_REQ; t++) {
        if (preempted[t]) continue;
        assert_int_equal(prefill[t], PROMPT);
        assert_int_equal(decode[t], OUTPUT - 1);
        assert_int_equal(decode_spans[t], 1);
        checked++;
    }
    assert_true(checked > 0);
    ran_free(&r);
}

/* Capped at 300 events, far fewer than the run makes: otherData.truncated_at_s gives where the
 * timeline was closed, no span ends after it, and fewer steps are shown than the run had. */
static void a_capped_timeline_holds_nothing_after_its_close(void **state) {
    (void)state;
    ran r;
    run_tiny(&r, 300);
    json_t *other = json_object_get(r.root, "otherData");
    json_t *cut = json_object_get(other, "truncated_at_s");
    assert_true(json_is_number(cut));
    int64_t cut_ns = llround(json_number_value(cut) * 1e9);
    assert_int_equal(cut_ns, db_timeline_truncated_at_ns(r.tl));
    assert_true(int_of(other, "steps") < r.st.steps);
    assert_true(int_of(other, "counted_events") <= 300);
    size_t i;
    json_t *e;
    json_array_foreach(events_of(&r), i, e) {
        if (strcmp(str_of(e, "ph"), "X")) continue;
        assert_true(ns_of(e, "ts") + ns_of(e, "dur") <= cut_ns);
    }
    ran_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_request_track_is_in_time_order_and_never_overlaps),
        cmocka_unit_test(step_spans_are_the_recorded_steps_and_tile_the_clock),
        cmocka_unit_test(spans_account_for_prompts_outputs_and_preemptions),
        cmocka_unit_test(a_capped_timeline_holds_nothing_after_its_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
