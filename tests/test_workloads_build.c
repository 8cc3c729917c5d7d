/* The workload entry point: request counts, trace reuse, time scaling and cut-offs, closed loop,
 * the context clamp, seeding, the native dump and its replay, and the errors for bad combinations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

static char dir[64];
static char created[32][128];
static int n_created;

static const char *tmp_path(const char *name) {
    assert_true(n_created < 32);
    snprintf(created[n_created], sizeof created[0], "%s/%s", dir, name);
    return created[n_created++];
}

static const char *write_file(const char *name, const char *content) {
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return p;
}

static char *slurp(const char *p) {
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static void build_ok(const db_workload_spec *spec, db_schedule *s, db_workload_info *info) {
    char err[512] = "";
    int rc = db_workload_build_info(spec, s, info, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

static void build_fails(const db_workload_spec *spec, const char *expected) {
    char err[512] = "";
    db_schedule s;
    assert_int_equal(db_workload_build(spec, &s, err, sizeof err), -1);
    assert_string_equal(err, expected);
    assert_null(s.items);
    assert_int_equal(s.n, 0);
}

static const char *native3(void) {
    return write_file("three.csv",
                      "arrival_s,prompt_tokens,output_tokens\n0,11,21\n1,12,22\n3,13,23\n");
}

/* ---- the native dump ------------------------------------------------------------------------- */

static void dump_writes_the_native_csv(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:10",
                             .output_len = "fixed:5",
                             .arrival = "constant:2",
                             .requests = 3,
                             .seed = 1};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    char err[256];
    const char *p = tmp_path("dump1.csv");
    assert_int_equal(db_schedule_dump(&s, p, err, sizeof err), 0);
    char *text = slurp(p);
    assert_string_equal(text, "arrival_s,prompt_tokens,output_tokens\n0.500000000,10,5\n"
                              "1.000000000,10,5\n1.500000000,10,5\n");
    free(text);
    db_schedule_free(&s);
}

static void same_seed_and_flags_give_the_same_bytes_and_another_seed_does_not(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "mix:0.7*lognormal:1000:600:1:8000,0.3*fixed:64",
                             .output_len = "zipf:1.1:1024",
                             .arrival = "gamma:8:2",
                             .requests = 2000,
                             .seed = 42};
    const char *paths[3] = {tmp_path("a.csv"), tmp_path("b.csv"), tmp_path("c.csv")};
    char err[256];
    for (int i = 0; i < 3; i++) {
        db_schedule s;
        spec.seed = i == 2 ? 43 : 42;
        build_ok(&spec, &s, NULL);
        assert_int_equal(db_schedule_dump(&s, paths[i], err, sizeof err), 0);
        db_schedule_free(&s);
    }
    char *a = slurp(paths[0]), *b = slurp(paths[1]), *c = slurp(paths[2]);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    free(a);
    free(b);
    free(c);
}

/* A dump read back as a native trace with `trace` arrivals is the same schedule, and dumps to the
 * same bytes. */
static void a_dump_replays_to_the_same_schedule(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "lognormal:800:400",
                             .output_len = "uniform:1:300",
                             .arrival = "poisson:7.3",
                             .requests = 5000,
                             .seed = 9};
    db_schedule s, r;
    build_ok(&spec, &s, NULL);
    char err[256];
    const char *p1 = tmp_path("replay1.csv"), *p2 = tmp_path("replay2.csv");
    assert_int_equal(db_schedule_dump(&s, p1, err, sizeof err), 0);
    db_workload_spec again = {.trace = p1, .arrival = "trace", .seed = 1};
    build_ok(&again, &r, NULL);
    assert_int_equal(r.n, s.n);
    for (size_t i = 0; i < s.n; i++) {
        assert_true(fabs(r.items[i].arrival_s - s.items[i].arrival_s) <= 0.5e-9);
        assert_int_equal(r.items[i].prompt_tokens, s.items[i].prompt_tokens);
        assert_int_equal(r.items[i].output_tokens, s.items[i].output_tokens);
    }
    assert_int_equal(db_schedule_dump(&r, p2, err, sizeof err), 0);
    char *a = slurp(p1), *b = slurp(p2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    db_schedule_free(&s);
    db_schedule_free(&r);
}

static void dump_to_an_unwritable_place_is_an_error(void **state) {
    (void)state;
    db_schedule s = {0};
    char err[256], expected[256];
    snprintf(expected, sizeof expected,
             "%s/no/such/dir/x.csv.tmp.%ld: cannot write: No such file or directory", dir,
             (long)getpid());
    char p[128];
    snprintf(p, sizeof p, "%s/no/such/dir/x.csv", dir);
    assert_int_equal(db_schedule_dump(&s, p, err, sizeof err), -1);
    assert_string_equal(err, expected);
}

/* ---- traces ---------------------------------------------------------------------------------- */

/* 7 requests from a 3-row trace with offline arrivals: rows 0 1 2 0 1 2 0; 4 of them wrapped. */
static void trace_lengths_are_reused_in_order_and_wrap_around(void **state) {
    (void)state;
    db_workload_spec spec = {.trace = native3(), .arrival = "offline", .requests = 7};
    db_schedule s;
    db_workload_info info;
    build_ok(&spec, &s, &info);
    assert_int_equal(s.n, 7);
    const int32_t prompts[7] = {11, 12, 13, 11, 12, 13, 11};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(s.items[i].prompt_tokens, prompts[i]);
        assert_int_equal(s.items[i].output_tokens, prompts[i] + 10);
        assert_true(s.items[i].arrival_s == 0.0);
    }
    assert_int_equal(info.wrapped, 4);
    assert_int_equal(info.trace_requests, 3);
    db_schedule_free(&s);
}

/* trace:2 replays twice as fast: 0, 1, 3 s become 0, 0.5, 1.5 s. */
static void trace_arrivals_are_time_scaled(void **state) {
    (void)state;
    db_workload_spec spec = {.trace = native3(), .arrival = "trace:2"};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 3);
    assert_true(s.items[1].arrival_s == 0.5);
    assert_true(s.items[2].arrival_s == 1.5);
    assert_int_equal(s.mode, DB_ARRIVAL_OPEN);
    db_schedule_free(&s);
}

/* --duration keeps the arrivals at or before S; --requests keeps the first N; neither wraps. */
static void trace_arrivals_stop_at_the_duration_or_the_request_count(void **state) {
    (void)state;
    db_workload_spec spec = {.trace = native3(), .arrival = "trace", .duration_s = 1.0};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 2);
    db_schedule_free(&s);
    spec.duration_s = 0;
    spec.requests = 100;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 3);
    db_schedule_free(&s);
}

static void a_spec_next_to_a_trace_replaces_that_side(void **state) {
    (void)state;
    db_workload_spec spec = {.trace = native3(), .output_len = "fixed:64"};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.items[2].prompt_tokens, 13);
    assert_int_equal(s.items[2].output_tokens, 64);
    assert_true(s.items[2].arrival_s == 3.0); /* no --arrival: a timed trace replays its times */
    assert_string_equal(s.description, "prompt trace, output fixed:64 (trace:three.csv), trace");
    db_schedule_free(&s);
}

/* The whole Azure conv trace replays: 19366 requests, the last at 3501.721937 s; at trace:2 it
 * takes half as long. */
static void the_azure_conv_trace_replays_whole(void **state) {
    (void)state;
    const char *shared = getenv("DB_SHARED_DIR");
    char p[4200];
    snprintf(p, sizeof p, "%s/traces/AzureLLMInferenceTrace_conv.csv", shared ? shared : ".");
    if (!shared || access(p, R_OK) != 0) skip();
    db_workload_spec spec = {.trace = p, .arrival = "trace"};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 19366);
    assert_true(s.items[s.n - 1].arrival_s == 3501.721937);
    assert_string_equal(s.description, "trace:AzureLLMInferenceTrace_conv.csv lengths, trace");
    db_schedule_free(&s);
    spec.arrival = "trace:2";
    build_ok(&spec, &s, NULL);
    assert_true(fabs(s.items[s.n - 1].arrival_s - 3501.721937 / 2) < 1e-9);
    db_schedule_free(&s);
}

static void a_lengths_only_trace_defaults_to_offline(void **state) {
    (void)state;
    db_workload_spec spec = {
        .trace = write_file("sg.csv", "num_prefill_tokens,num_decode_tokens\n5,6\n7,8\n")};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 2);
    assert_true(s.items[1].arrival_s == 0.0);
    db_schedule_free(&s);
}

/* ---- generated arrivals ---------------------------------------------------------------------- */

/* poisson:50 for 200 s: the count is Poisson with mean 10000, sd 100; 5-sigma band +-500. */
static void duration_bounds_generated_arrivals(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:1",
                             .output_len = "fixed:1",
                             .arrival = "poisson:50",
                             .duration_s = 200,
                             .seed = 3};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_true(fabs((double)s.n - 10000) <= 500);
    for (size_t i = 1; i < s.n; i++)
        assert_true(s.items[i].arrival_s >= s.items[i - 1].arrival_s);
    assert_true(s.items[s.n - 1].arrival_s <= 200);
    db_schedule_free(&s);
    spec.requests = 100; /* whichever comes first */
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 100);
    db_schedule_free(&s);
}

/* Without --duration a ramp spans T = 2N / (R0 + R1) = 1000 s for ramp:0:20 and N = 10000. The N-th
 * arrival is Lambda^-1 of a Gamma(N, 1) variate (mean N, sd 100); near T the rate is 20/s, so its
 * time has sd about 100 / 20 = 5 s: 5-sigma band +-25 s. */
static void a_ramp_without_duration_spans_the_expected_time_of_n_requests(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:1",
                             .output_len = "fixed:1",
                             .arrival = "ramp:0:20",
                             .requests = 10000,
                             .seed = 4};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.n, 10000);
    assert_true(fabs(s.items[s.n - 1].arrival_s - 1000) <= 25);
    db_schedule_free(&s);
}

static void concurrency_makes_a_closed_loop_schedule(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:100",
                             .output_len = "fixed:10",
                             .arrival = "concurrency:16:250ms",
                             .requests = 64};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_int_equal(s.mode, DB_ARRIVAL_CLOSED);
    assert_int_equal(s.concurrency, 16);
    assert_true(s.think_s == 0.25);
    assert_int_equal(s.n, 64);
    for (size_t i = 0; i < s.n; i++)
        assert_true(s.items[i].arrival_s == 0.0);
    db_schedule_free(&s);
}

/* Changing the arrival process leaves the lengths as they were (independent streams). */
static void lengths_do_not_depend_on_the_arrival_process(void **state) {
    (void)state;
    db_workload_spec a = {.prompt_len = "lognormal:500:200",
                          .output_len = "uniform:1:100",
                          .arrival = "poisson:5",
                          .requests = 500,
                          .seed = 77};
    db_workload_spec b = a;
    b.arrival = "gamma:1:4";
    db_schedule sa, sb;
    build_ok(&a, &sa, NULL);
    build_ok(&b, &sb, NULL);
    for (size_t i = 0; i < sa.n; i++) {
        assert_int_equal(sa.items[i].prompt_tokens, sb.items[i].prompt_tokens);
        assert_int_equal(sa.items[i].output_tokens, sb.items[i].output_tokens);
    }
    assert_true(sa.items[10].arrival_s != sb.items[10].arrival_s);
    db_schedule_free(&sa);
    db_schedule_free(&sb);
}

/* max 4096: 5000 + 1000 becomes 4095 + 1 (prompt first to max - 1, then output to what is left);
 * 3000 + 2000 becomes 3000 + 1096. */
static void the_context_clamp_shortens_prompt_then_output(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:5000",
                             .output_len = "fixed:1000",
                             .arrival = "offline",
                             .requests = 3,
                             .max_total_tokens = 4096};
    db_schedule s;
    db_workload_info info;
    build_ok(&spec, &s, &info);
    assert_int_equal(s.items[0].prompt_tokens, 4095);
    assert_int_equal(s.items[0].output_tokens, 1);
    assert_int_equal(info.clamped, 3);
    db_schedule_free(&s);
    spec.prompt_len = "fixed:3000";
    spec.output_len = "fixed:2000";
    build_ok(&spec, &s, &info);
    assert_int_equal(s.items[0].prompt_tokens, 3000);
    assert_int_equal(s.items[0].output_tokens, 1096);
    db_schedule_free(&s);
    spec.output_len = "fixed:1000"; /* 4000 fits: untouched */
    build_ok(&spec, &s, &info);
    assert_int_equal(s.items[0].output_tokens, 1000);
    assert_int_equal(info.clamped, 0);
    db_schedule_free(&s);
}

/* max 256, scale mode: 1155 + 211 (the Azure conv means) becomes round(1155 * 256 / 1366) = 216
 * + min(211, 256 - 216) = 40, keeping the ratio; 5000 + 1 becomes round(5000 * 256 / 5001) = 256,
 * kept at max - 1 = 255, + 1. */
static void the_scale_fit_keeps_the_prompt_output_ratio(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:1155",
                             .output_len = "fixed:211",
                             .arrival = "offline",
                             .requests = 2,
                             .max_total_tokens = 256,
                             .fit_mode = DB_FIT_SCALE};
    db_schedule s;
    db_workload_info info;
    build_ok(&spec, &s, &info);
    assert_int_equal(s.items[0].prompt_tokens, 216);
    assert_int_equal(s.items[0].output_tokens, 40);
    assert_int_equal(info.clamped, 2);
    db_schedule_free(&s);
    spec.prompt_len = "fixed:5000";
    spec.output_len = "fixed:1";
    build_ok(&spec, &s, &info);
    assert_int_equal(s.items[0].prompt_tokens, 255);
    assert_int_equal(s.items[0].output_tokens, 1);
    db_schedule_free(&s);
}

static void the_description_names_lengths_and_arrivals(void **state) {
    (void)state;
    db_workload_spec spec = {.prompt_len = "fixed:10",
                             .output_len = "fixed:5",
                             .arrival = "poisson:5",
                             .requests = 2,
                             .seed = 12};
    db_schedule s;
    build_ok(&spec, &s, NULL);
    assert_string_equal(s.description, "prompt fixed:10, output fixed:5, poisson:5");
    assert_int_equal(s.seed, 12);
    db_schedule_free(&s);
}

/* ---- bad combinations ------------------------------------------------------------------------ */

static void missing_or_incompatible_inputs_are_errors(void **state) {
    (void)state;
    db_workload_spec spec = {.output_len = "fixed:5", .arrival = "poisson:5", .requests = 5};
    build_fails(&spec,
                "--prompt-len: expected a length distribution (e.g. lognormal:1000:500:1:4096) "
                "or a trace (--trace FILE)");
    spec.prompt_len = "fixed:5";
    spec.requests = 0;
    build_fails(&spec,
                "--arrival poisson:5: expected --requests N or --duration S to bound the schedule");
    spec.arrival = "offline";
    build_fails(
        &spec, "--arrival offline: expected --requests N (or a trace to take one request per row); "
               "--duration does not bound an offline or closed-loop schedule");
    spec.arrival = "trace:2";
    spec.requests = 10;
    build_fails(&spec,
                "--arrival trace:2: expected a trace with arrival times (--trace FILE in the "
                "azure, burstgpt, mooncake or native format)");
    spec.trace = write_file("sg2.csv", "num_prefill_tokens,num_decode_tokens\n5,6\n");
    build_fails(&spec,
                "--arrival trace:2: expected a trace with arrival times (--trace FILE in the "
                "azure, burstgpt, mooncake or native format); this trace has lengths only");
    spec.trace = NULL;
    spec.arrival = "poisson:5";
    spec.requests = -1;
    build_fails(&spec, "--requests: expected an integer in 0..50000000, got -1");
    spec.requests = 5;
    spec.max_total_tokens = 1;
    build_fails(&spec,
                "max total tokens: expected 0 (no clamp) or an integer in 2..2147483647, got 1");
    spec.max_total_tokens = 0;
    spec.arrival = "poisson:1e12";
    spec.requests = 0;
    spec.duration_s = 3600;
    build_fails(&spec,
                "--arrival poisson:1e12 with --duration 3600: expected about 3600000000000000 "
                "requests, more than the 50000000 one schedule may hold");
    spec.arrival = "constant:3e-308"; /* the 6th arrival, 6 / 3e-308 s, exceeds DBL_MAX */
    spec.duration_s = 0;
    spec.requests = 6;
    build_fails(&spec, "--arrival constant:3e-308: arrival times overflow; expected a rate (or "
                       "SCALE) that keeps them finite");
    spec.requests = 0;
    spec.arrival = "constant:1";
    spec.duration_s = 0.5;
    build_fails(&spec, "--arrival constant:1 with --duration 0.5: no request arrives in that time");
}

static void trace_errors_come_through_with_file_and_line(void **state) {
    (void)state;
    const char *p = write_file("bad.csv", "arrival_s,prompt_tokens,output_tokens\n0,1,x\n");
    db_workload_spec spec = {.trace = p, .arrival = "trace"};
    char expected[300];
    snprintf(expected, sizeof expected,
             "%s:2: column output_tokens: expected a non-negative integer, got 'x'", p);
    build_fails(&spec, expected);
    spec.trace = "trace:";
    build_fails(&spec, "--trace: expected trace:FILE or FILE");
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/db_test_build_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < n_created; i++)
        unlink(created[i]);
    return rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dump_writes_the_native_csv),
        cmocka_unit_test(same_seed_and_flags_give_the_same_bytes_and_another_seed_does_not),
        cmocka_unit_test(a_dump_replays_to_the_same_schedule),
        cmocka_unit_test(dump_to_an_unwritable_place_is_an_error),
        cmocka_unit_test(trace_lengths_are_reused_in_order_and_wrap_around),
        cmocka_unit_test(trace_arrivals_are_time_scaled),
        cmocka_unit_test(trace_arrivals_stop_at_the_duration_or_the_request_count),
        cmocka_unit_test(a_spec_next_to_a_trace_replaces_that_side),
        cmocka_unit_test(the_azure_conv_trace_replays_whole),
        cmocka_unit_test(a_lengths_only_trace_defaults_to_offline),
        cmocka_unit_test(duration_bounds_generated_arrivals),
        cmocka_unit_test(a_ramp_without_duration_spans_the_expected_time_of_n_requests),
        cmocka_unit_test(concurrency_makes_a_closed_loop_schedule),
        cmocka_unit_test(lengths_do_not_depend_on_the_arrival_process),
        cmocka_unit_test(the_context_clamp_shortens_prompt_then_output),
        cmocka_unit_test(the_scale_fit_keeps_the_prompt_output_ratio),
        cmocka_unit_test(the_description_names_lengths_and_arrivals),
        cmocka_unit_test(missing_or_incompatible_inputs_are_errors),
        cmocka_unit_test(trace_errors_come_through_with_file_and_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
