/* Profiling plumbing (harness/profile.h, the engine's profiler API, the run's profiler window):
 * --profile-steps syntax, the nsys / ncu command lines, external profiler detection from the
 * environment, GPU-name presets, the window's step boundaries in a sim run, and the engine's
 * answers on a backend without a device profiler or kernels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "metrics.h"
#include "model.h"
#include "profile.h"
#include "run.h"

static db_step_window parse_ok(const char *text) {
    db_step_window w = {-1, -1};
    char err[200];
    if (db_profile_parse_steps(text, &w, err, sizeof err)) fail_msg("%s: %s", text, err);
    return w;
}

static void steps_a_colon_b_is_a_half_open_window(void **state) {
    (void)state;
    db_step_window w = parse_ok("10:20"); /* steps 10 .. 19 */
    assert_int_equal(w.first, 10);
    assert_int_equal(w.end, 20);
    w = parse_ok("0:1");
    assert_int_equal(w.first, 0);
    assert_int_equal(w.end, 1);
}

static void steps_a_colon_plus_n_counts_n_steps(void **state) {
    (void)state;
    db_step_window w = parse_ok("5:+3"); /* steps 5, 6, 7 */
    assert_int_equal(w.first, 5);
    assert_int_equal(w.end, 8);
}

static void malformed_or_empty_windows_are_refused_with_the_expected_form(void **state) {
    (void)state;
    const char *bad[] = {"20:10", "7:7", "5:+0", "a:b", "10", "-1:5", "10:20x", ":5", "5:", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        db_step_window w;
        char err[200] = "";
        if (db_profile_parse_steps(bad[i], &w, err, sizeof err) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strstr(err, bad[i]) != NULL);
    }
}

/* The argv as one space-joined string, for comparing with the documented command. */
static char *joined(const db_profile_spec *s) {
    db_profile_scratch scratch;
    char **argv = NULL;
    int n = db_profile_build_argv(s, &scratch, &argv);
    assert_true(n > 0);
    assert_null(argv[n]);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(argv[i]) + 1;
    char *out = calloc(len, 1);
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, " ");
        strcat(out, argv[i]);
    }
    free(argv);
    return out;
}

static char *run_flags[] = {"--backend", "cuda", "--model", "llama2-7b"};

/* nsys waits for cudaProfilerStart with --capture-range=cudaProfilerApi and stops collecting at
 * cudaProfilerStop with --capture-range-end=stop (Nsight Systems user guide, CLI profile
 * options); --cuda-graph-trace=node gives one row per graph kernel, as kernels.csv has. */
static void the_nsys_command_captures_the_profiler_api_window(void **state) {
    (void)state;
    db_profile_spec s = {.tool = DB_PROFILER_NSYS,
                         .tool_path = "nsys",
                         .report = "rep",
                         .window = {10, 20},
                         .decodebench = "/bin/decodebench",
                         .run_flags = run_flags,
                         .n_run_flags = 4};
    char *cmd = joined(&s);
    assert_string_equal(cmd, "nsys profile -t cuda,nvtx --capture-range=cudaProfilerApi "
                             "--capture-range-end=stop --cuda-graph-trace=node -o rep "
                             "/bin/decodebench run --backend cuda --model llama2-7b "
                             "--profile-steps 10:20");
    free(cmd);
}

/* ncu with --profile-from-start off profiles only between cudaProfilerStart/Stop; a push/pop
 * NVTX range is selected as DOMAIN@RANGE/ (trailing slash for push/pop ranges). Tool flags come
 * after ours and before the application. */
static void the_ncu_command_starts_off_and_filters_the_nvtx_phase(void **state) {
    (void)state;
    char *tool[] = {"--launch-count", "50"};
    db_profile_spec s = {.tool = DB_PROFILER_NCU,
                         .tool_path = "/opt/ncu",
                         .report = "k",
                         .phase = "decode",
                         .window = {10, 11},
                         .tool_flags = tool,
                         .n_tool_flags = 2,
                         .decodebench = "db",
                         .run_flags = run_flags,
                         .n_run_flags = 2};
    char *cmd = joined(&s);
    assert_string_equal(cmd, "/opt/ncu --profile-from-start off --clock-control none --nvtx "
                             "--nvtx-include decodebench@decode/ -o k --launch-count 50 db run "
                             "--backend cuda --profile-steps 10:11");
    free(cmd);
}

static void an_output_in_the_tool_flags_and_a_window_in_the_run_flags_are_kept(void **state) {
    (void)state;
    char *tool[] = {"--output=mine"};
    char *run[] = {"--profile-steps", "3:+2"};
    db_profile_spec s = {.tool = DB_PROFILER_NSYS,
                         .tool_path = "nsys",
                         .report = "ours",
                         .window = {10, 20},
                         .tool_flags = tool,
                         .n_tool_flags = 1,
                         .decodebench = "db",
                         .run_flags = run,
                         .n_run_flags = 2};
    char *cmd = joined(&s);
    assert_null(strstr(cmd, "ours"));
    assert_null(strstr(cmd, "10:20"));
    assert_non_null(strstr(cmd, "--output=mine db run --profile-steps 3:+2"));
    free(cmd);
}

static void default_windows_are_ten_steps_for_nsys_and_one_for_ncu(void **state) {
    (void)state;
    db_step_window a = db_profile_default_window(DB_PROFILER_NSYS);
    db_step_window b = db_profile_default_window(DB_PROFILER_NCU);
    assert_int_equal(a.end - a.first, 10);
    assert_int_equal(b.end - b.first, 1);
}

/* The variables GROMACS checks (gpu_utils.cu): nsys sets NSYS_PROFILING_SESSION_ID, ncu
 * NV_NSIGHT_INJECTION_TRANSPORT_TYPE, nvprof NVPROF_ID in the processes they profile. */
static void an_external_profiler_is_recognised_by_its_environment_variable(void **state) {
    (void)state;
    unsetenv("NSYS_PROFILING_SESSION_ID");
    unsetenv("NV_NSIGHT_INJECTION_TRANSPORT_TYPE");
    unsetenv("NVPROF_ID");
    const char *var = "x";
    assert_null(db_profile_external_tool(&var));
    assert_null(var);
    setenv("NV_NSIGHT_INJECTION_TRANSPORT_TYPE", "2", 1);
    assert_string_equal(db_profile_external_tool(&var), "ncu");
    assert_string_equal(var, "NV_NSIGHT_INJECTION_TRANSPORT_TYPE");
    unsetenv("NV_NSIGHT_INJECTION_TRANSPORT_TYPE");
    setenv("NSYS_PROFILING_SESSION_ID", "17", 1);
    assert_string_equal(db_profile_external_tool(NULL), "nsys");
    unsetenv("NSYS_PROFILING_SESSION_ID");
}

/* Names as cudaGetDeviceProperties reports them. */
static void gpu_names_map_to_datasheet_presets_only_when_they_match(void **state) {
    (void)state;
    assert_string_equal(db_profile_preset_for_gpu("NVIDIA H100 80GB HBM3"), "h100-sxm");
    assert_null(db_profile_preset_for_gpu("NVIDIA H100 PCIe"));
    assert_string_equal(db_profile_preset_for_gpu("NVIDIA H200"), "h200");
    assert_string_equal(db_profile_preset_for_gpu("NVIDIA A100-SXM4-80GB"), "a100-80g");
    assert_null(db_profile_preset_for_gpu("NVIDIA A100-SXM4-40GB"));
    assert_string_equal(db_profile_preset_for_gpu("NVIDIA L40S"), "l40s");
    assert_null(db_profile_preset_for_gpu("NVIDIA GeForce RTX 4090"));
}

/* ---- the engine and the run loop ---------------------------------------------------------------
 */

static db_engine *open_sim(int kernel_trace, db_error *err, db_status *st) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = 4096;
    o.sim_device = "h100-sxm";
    o.kernel_trace = kernel_trace;
    db_engine *e = NULL;
    *st = db_engine_open(&o, &e, err);
    return e;
}

static void the_sim_backend_has_no_device_profiler_and_start_stop_do_nothing(void **state) {
    (void)state;
    db_error err;
    db_status st;
    db_engine *e = open_sim(0, &err, &st);
    assert_int_equal(st, DB_OK);
    assert_int_equal(db_engine_has_device_profiler(e), 0);
    assert_int_equal(db_engine_profiler_start(e, &err), DB_OK);
    assert_int_equal(db_engine_profiler_stop(e, &err), DB_OK);
    assert_int_equal(db_engine_kernel_trace_drain(e, 1, NULL, NULL, &err), DB_ERR_UNSUPPORTED);
    assert_int_equal(db_engine_kernel_trace_dropped(e), 0);
    db_engine_close(e);
}

static void a_kernel_trace_on_the_sim_backend_is_refused_at_open(void **state) {
    (void)state;
    db_error err;
    db_status st;
    db_engine *e = open_sim(1, &err, &st);
    assert_null(e);
    assert_int_equal(st, DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "kernel trace"));
}

/* 8 requests of 16 + 8 tokens at t = 0, max batch 8: one prefill step, then 7 decode steps (8
 * steps in all). Window 3:6 covers steps 3, 4, 5. */
static int64_t run_with_window(int64_t first, int64_t end, bool *started) {
    db_error err;
    db_status st;
    db_engine *e = open_sim(0, &err, &st);
    assert_int_equal(st, DB_OK);
    db_schedule s = {.n = 8, .mode = DB_ARRIVAL_OPEN};
    s.items = calloc(8, sizeof *s.items);
    for (int i = 0; i < 8; i++)
        s.items[i] = (db_schedule_item){0.0, 16, 8};
    db_metrics *m = NULL;
    db_metrics_config mc = {0};
    char msg[128];
    assert_int_equal(db_metrics_create(&mc, &m, msg, sizeof msg), 0);
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.clock = DB_CLOCK_VIRTUAL;
    ro.sched.max_batch = 8;
    ro.profile_first_step = first;
    ro.profile_end_step = end;
    db_run_stats stats;
    if (db_run(e, &s, &ro, m, &stats, &err) != DB_OK) fail_msg("run: %s", err.msg);
    assert_int_equal(stats.steps, 8);
    *started = stats.profiler_started;
    db_metrics_free(m);
    free(s.items);
    db_engine_close(e);
    return stats.profiled_steps;
}

static void the_profiler_window_covers_exactly_steps_a_to_b_minus_1(void **state) {
    (void)state;
    bool started = false;
    assert_int_equal(run_with_window(3, 6, &started), 3);
    assert_true(started);
    /* a window past the run's 8 steps never opens; one running past its end closes at the end */
    assert_int_equal(run_with_window(20, 30, &started), 0);
    assert_false(started);
    assert_int_equal(run_with_window(6, 100, &started), 2);
    assert_true(started);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steps_a_colon_b_is_a_half_open_window),
        cmocka_unit_test(steps_a_colon_plus_n_counts_n_steps),
        cmocka_unit_test(malformed_or_empty_windows_are_refused_with_the_expected_form),
        cmocka_unit_test(the_nsys_command_captures_the_profiler_api_window),
        cmocka_unit_test(the_ncu_command_starts_off_and_filters_the_nvtx_phase),
        cmocka_unit_test(an_output_in_the_tool_flags_and_a_window_in_the_run_flags_are_kept),
        cmocka_unit_test(default_windows_are_ten_steps_for_nsys_and_one_for_ncu),
        cmocka_unit_test(an_external_profiler_is_recognised_by_its_environment_variable),
        cmocka_unit_test(gpu_names_map_to_datasheet_presets_only_when_they_match),
        cmocka_unit_test(the_sim_backend_has_no_device_profiler_and_start_stop_do_nothing),
        cmocka_unit_test(a_kernel_trace_on_the_sim_backend_is_refused_at_open),
        cmocka_unit_test(the_profiler_window_covers_exactly_steps_a_to_b_minus_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
