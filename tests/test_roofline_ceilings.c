/* test_roofline_ceilings.c — the ceilings microbenchmarks (kernels/ceilings.h) and the ceilings a
 * roofline or sweep uses: measured on the CPU, from presets and files, written as ceilings JSON
 * that engine/devices.h reads back (harness/sweep_ceilings.h). Sizes are tiny: these tests check
 * what is counted and written, never how fast anything is. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ceilings.h"
#include "devices.h"
#include "sweep_ceilings.h"

#define assert_near(x, want, rel) assert_true(fabs((x) - (want)) <= (rel)*fabs(want))

static char path[256];

static int setup(void **state) {
    snprintf(path, sizeof path, "/tmp/db_test_roofline_%d.json", (int)getpid());
    return 0;
}

static int teardown(void **state) {
    unlink(path);
    return 0;
}

static void median_of_odd_and_even_counts(void **state) {
    double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
    assert_true(db_ceil_median(odd, 3) == 2.0);
    assert_true(db_ceil_median(even, 4) == 2.5);
}

static int count_runs(void *ctx) {
    (*(int *)ctx)++;
    return 0;
}

/* warmup 2 + reps 3 = 5 calls; reps 0 is refused before any call. */
static void timing_runs_warmup_then_reps(void **state) {
    int calls = 0;
    db_ceil_timing t;
    assert_int_equal(db_ceil_time(count_runs, &calls, 2, 3, &t), 0);
    assert_int_equal(calls, 5);
    assert_int_equal(t.reps, 3);
    assert_true(t.min_s <= t.median_s && t.median_s <= t.max_s);
    assert_int_equal(db_ceil_time(count_runs, &calls, 0, 0, &t), -1);
    assert_int_equal(calls, 5);
}

/* Copy of a 2 MiB buffer moves 4 MiB (read + written); read moves 2 MiB. */
static void copy_counts_read_plus_written_bytes(void **state) {
    db_ceil_result r;
    char err[256];
    assert_int_equal(db_ceil_bandwidth(DB_CEIL_COPY, 2u << 20, 2, 0, 1, &r, err, sizeof err), 0);
    assert_true(r.work == 4.0 * 1048576);
    assert_true(r.rate > 0);
    assert_int_equal(r.threads, 2);
    assert_int_equal(db_ceil_bandwidth(DB_CEIL_READ, 2u << 20, 3, 0, 1, &r, err, sizeof err), 0);
    assert_true(r.work == 2.0 * 1048576);
}

static void bandwidth_buffer_below_one_mib_is_refused(void **state) {
    db_ceil_result r;
    char err[256];
    assert_int_equal(db_ceil_bandwidth(DB_CEIL_READ, 1000, 1, 0, 1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "at least 1 MiB"));
}

/* SGEMM 16 x 32 x 8 = 2 * 16 * 32 * 8 = 8192 FLOPs per run. */
static void sgemm_counts_two_m_n_k_flops(void **state) {
    db_ceil_result r;
    char err[256];
    assert_int_equal(db_ceil_sgemm(16, 32, 8, 1, 0, 2, &r, err, sizeof err), 0);
    assert_true(r.work == 8192.0);
    assert_int_equal(db_ceil_sgemm(0, 32, 8, 1, 0, 2, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "1..65536"));
}

static db_ceilings_opts tiny_opts(void) {
    db_ceilings_opts o;
    db_ceilings_opts_default(&o);
    o.bandwidth_bytes = 1u << 20;
    o.gemm_n = 32;
    o.linear_n = 64;
    o.linear_k = 160; /* int4: a partial group of 32 after 128 */
    o.linear_batch = 16;
    o.threads = 2;
    o.warmup = 0;
    o.reps = 1;
    return o;
}

/* The CPU measurement: bandwidth, fp32 SGEMM and the five dequantising schemes, labelled measured;
 * the JSON's peak keys are fp32/fp16/bf16/fp8 (no int8: the CPU has no W8A8 int8 compute), and the
 * int8/int4 paths are kept per scheme. */
static void cpu_ceilings_are_measured_and_labelled(void **state) {
    db_ceilings_opts o = tiny_opts();
    db_ceilings c;
    db_error err;
    if (db_ceilings_measure(DB_BACKEND_CPU, &o, &c, &err) != DB_OK) fail_msg("%s", err.msg);
    assert_string_equal(c.dev.source, "measured");
    assert_int_equal(c.n_meas, 8); /* copy, read, sgemm, 5 linear paths */
    assert_string_equal(c.meas[0].name, "copy");
    assert_string_equal(c.meas[7].name, "linear int4");
    assert_true(c.dev.memory_bandwidth > 0);
    assert_true(c.dev.peak_flops[DB_PEAK_FP32] > 0);
    assert_true(c.dev.peak_flops[DB_PEAK_BF16] > 0);
    assert_true(c.dev.peak_flops[DB_PEAK_INT8] == 0);
    assert_true(c.dev.peak_flops[DB_PEAK_TF32] == 0);
    assert_true(c.scheme_peak[DB_PREC_INT4] > 0);
    assert_true(db_ceilings_peak(&c, DB_PREC_INT4) == c.scheme_peak[DB_PREC_INT4]);
    /* bandwidth is the larger of copy and read (GB/s in the records) */
    double best = fmax(c.meas[0].value, c.meas[1].value) * 1e9;
    assert_near(c.dev.memory_bandwidth, best, 1e-12);
}

/* Written, then read by engine/devices.h and by db_ceilings_resolve: the same figures. */
static void written_ceilings_read_back_through_devices_h(void **state) {
    db_ceilings_opts o = tiny_opts();
    db_ceilings c, back;
    db_error err;
    assert_int_equal(db_ceilings_measure(DB_BACKEND_CPU, &o, &c, &err), DB_OK);
    db_kv_list fp = {0};
    db_kv_set(&fp, "hostname", "test-host");
    db_kv_set_int(&fp, "cpu_cores", 2);
    if (db_ceilings_write(path, &c, &fp, &err) != DB_OK) fail_msg("%s", err.msg);
    db_kv_free(&fp);
    db_device_ceilings dev;
    if (db_device_load_json(path, &dev, &err) != DB_OK) fail_msg("%s", err.msg);
    assert_string_equal(dev.source, "measured");
    assert_near(dev.memory_bandwidth, c.dev.memory_bandwidth, 1e-9);
    assert_near(dev.peak_flops[DB_PEAK_BF16], c.dev.peak_flops[DB_PEAK_BF16], 1e-9);
    assert_int_equal(db_ceilings_resolve(path, &back, &err), DB_OK);
    assert_near(back.scheme_peak[DB_PREC_INT4], c.scheme_peak[DB_PREC_INT4], 1e-9);
    assert_near(back.scheme_peak[DB_PREC_INT8], c.scheme_peak[DB_PREC_INT8], 1e-9);
}

/* spec/roofline.md: H100 SXM bf16 989.4 TFLOP/s over 3.35 TB/s: ridge 295.34 FLOP/byte. int8
 * weight-only runs at the bf16 peak. */
static void preset_is_datasheet_and_int8_uses_the_bf16_peak(void **state) {
    db_ceilings c;
    db_error err;
    assert_int_equal(db_ceilings_resolve("h100-sxm", &c, &err), DB_OK);
    assert_string_equal(c.dev.source, "datasheet");
    assert_near(db_ceilings_ridge(&c, DB_PREC_BF16), 989.4 / 3.35, 1e-12);
    assert_near(db_ceilings_peak(&c, DB_PREC_INT8), 989.4e12, 1e-12);
    assert_int_equal(c.n_meas, 0);
}

static void write_text(const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void bad_scheme_peaks_are_named(void **state) {
    db_ceilings c;
    db_error err;
    write_text("{\"device\": \"x\", \"source\": \"measured\", \"memory_bandwidth_GBps\": 10,"
               " \"peak_tflops\": {\"fp32\": 0.1}, \"scheme_peak_tflops\": {\"int5\": 1}}");
    assert_int_equal(db_ceilings_resolve(path, &c, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown precision 'int5'"));
    write_text("{\"device\": \"x\", \"source\": \"measured\", \"memory_bandwidth_GBps\": 10,"
               " \"peak_tflops\": {\"fp32\": 0.1}, \"scheme_peak_tflops\": {\"int4\": -1}}");
    assert_int_equal(db_ceilings_resolve(path, &c, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'scheme_peak_tflops.int4' must be a number >= 0"));
}

static void sim_has_nothing_to_measure(void **state) {
    db_ceilings_opts o = tiny_opts();
    db_ceilings c;
    db_error err;
    assert_int_equal(db_ceilings_measure(DB_BACKEND_SIM, &o, &c, &err), DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "datasheet preset or a ceilings JSON"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(median_of_odd_and_even_counts),
        cmocka_unit_test(timing_runs_warmup_then_reps),
        cmocka_unit_test(copy_counts_read_plus_written_bytes),
        cmocka_unit_test(bandwidth_buffer_below_one_mib_is_refused),
        cmocka_unit_test(sgemm_counts_two_m_n_k_flops),
        cmocka_unit_test(cpu_ceilings_are_measured_and_labelled),
        cmocka_unit_test(written_ceilings_read_back_through_devices_h),
        cmocka_unit_test(preset_is_datasheet_and_int8_uses_the_bf16_peak),
        cmocka_unit_test(bad_scheme_peaks_are_named),
        cmocka_unit_test(sim_has_nothing_to_measure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
