/* test_sim.c — device ceilings and the sim backend's time model (engine/devices.h, engine/sim.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "checkpoint_fixture.h"
#include "cost.h"
#include "devices.h"
#include "model.h"
#include "sim.h"

static db_device_ceilings device(const char *name) {
    db_device_ceilings c;
    assert_int_equal(db_device_preset(name, &c), 0);
    return c;
}

static db_model_config preset(const char *name) {
    db_model_config m;
    assert_int_equal(db_model_preset(name, &m), 0);
    return m;
}

static const int32_t tokens[1] = {0};

/* B decode items of llama2-7b at position pos, all wanting a next token. */
static db_sim_time decode_time(const db_device_ceilings *dev, db_precision p, int B, int pos,
                               db_cost *cost) {
    static db_work w[4096];
    for (int i = 0; i < B; i++)
        w[i] = (db_work){.seq_id = i, .pos = pos, .n_tokens = 1, .tokens = tokens, .want_next = 1};
    db_model_config m = preset("llama2-7b");
    db_cost c;
    db_cost_model(&m, p, DB_KV_BF16, w, B, cost ? cost : &c);
    db_sim_time t;
    db_sim_step_time(dev, p, cost ? cost : &c, DB_DEVICE_DEFAULT_STEP_OVERHEAD_S, &t);
    return t;
}

#define assert_near(x, want, rel) assert_true(fabs((x) - (want)) <= (rel)*fabs(want))

/* ---- ceilings --------------------------------------------------------------------------------- */

/* spec/roofline.md datasheet table: H100 SXM 3.35 TB/s, bf16 989.4 TFLOP/s, fp32 66.9 T. */
static void h100_preset_carries_the_datasheet_figures(void **state) {
    db_device_ceilings c = device("h100-sxm");
    assert_string_equal(c.source, "datasheet");
    assert_near(c.memory_bandwidth, 3.35e12, 1e-12);
    assert_near(c.peak_flops[DB_PEAK_BF16], 989.4e12, 1e-12);
    assert_near(c.peak_flops[DB_PEAK_FP32], 66.9e12, 1e-12);
    assert_near(c.peak_flops[DB_PEAK_FP8], 1978.9e12, 1e-12);
    assert_near(c.step_overhead_s, 30e-6, 1e-12);
}

/* Ridge AI* = peak / bandwidth; B* = AI* x w / 2. H100 bf16: 989.4 / 3.35 = 295.3 (spec: ~295);
 * int8 weight-only at the bf16 peak: 295.3 / 2 = 147.7 (~148); int4 (0.5 + 2/128 bytes): 76.1 (74-83);
 * fp32 on CUDA cores: 66.9 / 3.35 * 4 / 2 = 39.9 (~40); fp8: 1978.9 / 3.35 / 2 = 295.4 (~295). */
static void predicted_crossovers_match_the_spec(void **state) {
    db_device_ceilings c = device("h100-sxm");
    assert_near(db_device_ridge(&c, DB_PREC_BF16), 295.34, 1e-3);
    assert_near(db_device_crossover_batch(&c, DB_PREC_BF16), 295.34, 1e-3);
    assert_near(db_device_crossover_batch(&c, DB_PREC_INT8), 147.67, 1e-3);
    assert_near(db_device_crossover_batch(&c, DB_PREC_INT4), 76.13, 1e-3);
    assert_near(db_device_crossover_batch(&c, DB_PREC_FP32), 39.94, 1e-3);
    assert_near(db_device_crossover_batch(&c, DB_PREC_FP8), 295.36, 1e-3);
}

static void every_device_preset_resolves(void **state) {
    assert_int_equal(db_device_preset_count(), 4);
    for (int i = 0; i < db_device_preset_count(); i++) {
        db_device_ceilings c;
        db_error err;
        assert_int_equal(db_device_resolve(db_device_preset_name(i), &c, &err), DB_OK);
        assert_true(c.memory_bandwidth > 0 && c.memory_bytes > 0);
    }
    db_device_ceilings c;
    db_error err;
    assert_int_equal(db_device_resolve("h100", &c, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "h100-sxm, h200, a100-80g, l40s"));
}

static void a100_has_no_fp8_so_the_sim_refuses_fp8(void **state) {
    db_device_ceilings c = device("a100-80g");
    db_error err;
    assert_int_equal(db_sim_check_device(&c, DB_PREC_FP8, &err), DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "no fp8 peak"));
    assert_int_equal(db_sim_check_device(&c, DB_PREC_INT8, &err), DB_OK);
}

static void ceilings_json_round_trips(void **state) {
    char *dir = fixture_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/ceilings.json", dir);
    db_device_ceilings c = device("h100-sxm"), back;
    snprintf(c.name, sizeof c.name, "NVIDIA H100 80GB HBM3");
    snprintf(c.source, sizeof c.source, "measured");
    c.memory_bandwidth = 3.0e12;
    c.peak_flops[DB_PEAK_BF16] = 798e12;
    c.peak_flops[DB_PEAK_INT8] = 0; /* not measured: left out of the file */
    db_error err;
    assert_int_equal(db_device_write_json(path, &c, "{\"gpu\":\"H100\",\"driver\":\"550\"}", &err),
                     DB_OK);
    assert_int_equal(db_device_resolve(path, &back, &err), DB_OK);
    assert_string_equal(back.name, "NVIDIA H100 80GB HBM3");
    assert_string_equal(back.source, "measured");
    assert_near(back.memory_bandwidth, 3.0e12, 1e-9);
    assert_near(back.memory_bytes, 80e9, 1e-9);
    assert_near(back.peak_flops[DB_PEAK_BF16], 798e12, 1e-9);
    assert_true(back.peak_flops[DB_PEAK_INT8] == 0.0);
    assert_near(back.step_overhead_s, 30e-6, 1e-9);
    fixture_remove_dir(dir);
}

static db_status load_text(const char *text, db_device_ceilings *c, db_error *err) {
    char *dir = fixture_tempdir();
    if (!dir) return DB_ERR_IO;
    char path[512];
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    db_status st = db_device_load_json(path, c, err);
    fixture_remove_dir(dir);
    return st;
}

static void ceilings_json_names_every_bad_field(void **state) {
    db_device_ceilings c;
    db_error err;
    assert_int_equal(load_text("{\"device\":\"X\",\"source\":\"guessed\",\"peak_tflops\":"
                               "{\"bf16\":-1,\"bf61\":3},\"memory_GB\":\"80\"}",
                               &c, &err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'source' must be \"measured\" or \"datasheet\""));
    assert_non_null(strstr(err.msg, "missing required field 'memory_bandwidth_GBps'"));
    assert_non_null(strstr(err.msg, "'memory_GB' must be a number"));
    assert_non_null(strstr(err.msg, "unknown field 'peak_tflops.bf61'"));
    assert_non_null(strstr(err.msg, "'peak_tflops.bf16' must be between 0 and 1e9, got -1"));
    assert_int_equal(load_text("{\"device\":\"X\"", &c, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "line 1"));
    assert_int_equal(db_device_load_json("/nonexistent/c.json", &c, &err), DB_ERR_IO);
}

/* A ceilings file's optional per-scheme peaks ("scheme_peak_tflops", written by `decodebench
 * roofline`) are read back, written out, and every bad key or value is named. */
static void scheme_peaks_round_trip_and_bad_ones_are_named(void **state) {
    char *dir = fixture_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/ceilings.json", dir);
    db_device_ceilings c = device("h100-sxm"), back;
    c.scheme_peak_flops[DB_PREC_INT8] = 400e12;
    c.scheme_peak_flops[DB_PREC_INT4] = 250e12;
    db_error err;
    assert_int_equal(db_device_write_json(path, &c, NULL, &err), DB_OK);
    assert_int_equal(db_device_resolve(path, &back, &err), DB_OK);
    assert_near(back.scheme_peak_flops[DB_PREC_INT8], 400e12, 1e-9);
    assert_near(back.scheme_peak_flops[DB_PREC_INT4], 250e12, 1e-9);
    assert_true(back.scheme_peak_flops[DB_PREC_BF16] == 0.0); /* not given: none */
    fixture_remove_dir(dir);
    assert_int_equal(load_text("{\"device\":\"X\",\"source\":\"measured\","
                               "\"memory_bandwidth_GBps\":10,\"peak_tflops\":{\"bf16\":1},"
                               "\"scheme_peak_tflops\":{\"int5\":1,\"int4\":-2}}",
                               &c, &err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "'scheme_peak_tflops' has an unknown precision 'int5'"));
    assert_non_null(strstr(err.msg, "'scheme_peak_tflops.int4' must be a number >= 0"));
}

/* With a measured int8 peak of 400 TFLOP/s the sim prices int8's GEMMs at it, not at the bf16 peak
 * (989.4 on h100-sxm) the datasheet mapping gives; attention (bf16 peak) and norm (fp32) and every
 * other scheme are priced as before. llama2-7b int8 at batch 2048: the MLP is compute-bound either
 * way, so its time is flops / peak, 989.4 / 400 = 2.4735 times longer. */
static void the_sim_prices_a_scheme_at_its_own_measured_peak(void **state) {
    db_device_ceilings sheet = device("h100-sxm"), meas = sheet;
    meas.scheme_peak_flops[DB_PREC_INT8] = 400e12;
    db_cost cost;
    db_sim_time a = decode_time(&sheet, DB_PREC_INT8, 2048, 100, &cost);
    db_sim_time b = decode_time(&meas, DB_PREC_INT8, 2048, 100, NULL);
    assert_false(a.memory_bound[DB_OP_MLP]);
    assert_near(a.op_seconds[DB_OP_MLP], cost.flops[DB_OP_MLP] / 989.4e12, 1e-12);
    assert_near(b.op_seconds[DB_OP_MLP], cost.flops[DB_OP_MLP] / 400e12, 1e-12);
    assert_near(b.op_seconds[DB_OP_MLP] / a.op_seconds[DB_OP_MLP], 989.4 / 400, 1e-12);
    assert_near(b.op_seconds[DB_OP_ATTN], a.op_seconds[DB_OP_ATTN], 1e-15);
    assert_near(b.op_seconds[DB_OP_NORM], a.op_seconds[DB_OP_NORM], 1e-15);
    db_sim_time c = decode_time(&sheet, DB_PREC_BF16, 2048, 100, NULL);
    db_sim_time d = decode_time(&meas, DB_PREC_BF16, 2048, 100, NULL);
    assert_true(c.step_seconds == d.step_seconds); /* bf16 has no scheme peak of its own */
    /* the ridge follows the scheme's peak: 400e12 / 3.35e12 = 119.4 FLOP/byte */
    assert_near(db_device_ridge(&meas, DB_PREC_INT8), 400.0 / 3.35, 1e-12);
    assert_near(db_device_ridge(&sheet, DB_PREC_INT8), 989.4 / 3.35, 1e-12);
}

/* A scheme peak stands in for a missing GEMM peak: ceilings with bf16 (fp8's attention) and fp32
 * (norm) peaks but no fp8 entry refuse fp8, naming the missing peak; with an fp8 scheme peak they
 * accept it. */
static void a_scheme_peak_satisfies_the_sims_device_check(void **state) {
    db_device_ceilings c = {.memory_bandwidth = 1e12};
    snprintf(c.name, sizeof c.name, "X");
    c.peak_flops[DB_PEAK_BF16] = 100e12;
    c.peak_flops[DB_PEAK_FP32] = 10e12;
    db_error err;
    assert_int_equal(db_sim_check_device(&c, DB_PREC_FP8, &err), DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "sim device X has no fp8 peak, which precision fp8 needs for"));
    c.scheme_peak_flops[DB_PREC_FP8] = 150e12;
    assert_int_equal(db_sim_check_device(&c, DB_PREC_FP8, &err), DB_OK);
}

/* ---- the time model --------------------------------------------------------------------------- */

/* llama2-7b bf16, batch 1 at context 0 on H100 SXM: every op is memory-bound; the step reads the
 * weights once, 13,215,227,904 bytes (test_cost.c), plus ~12 MB of activations and KV:
 * 13.215e9 / 3.35e12 = 3.945 ms + 30 us overhead = 3.975 ms (3.978 ms with the activations). */
static void batch_1_decode_on_h100_is_memory_bound(void **state) {
    db_device_ceilings c = device("h100-sxm");
    db_cost cost;
    db_sim_time t = decode_time(&c, DB_PREC_BF16, 1, 0, &cost);
    for (int k = 0; k < DB_OP_COUNT; k++)
        assert_true(t.memory_bound[k]);
    assert_near(t.device_seconds, cost.total_bytes / 3.35e12, 1e-12);
    assert_near(t.step_seconds, t.device_seconds + 30e-6, 1e-12);
    assert_near(t.step_seconds, 3.975e-3, 2e-3);
}

/* At batch 2048 the GEMMs are compute-bound; decode attention stays memory-bound (AI ~ 2 * (32/32) / 2
 * bytes = 1 FLOP/byte for llama2-7b's MHA with a bf16 cache, far below the ridge of 295). */
static void large_batch_gemms_are_compute_bound_attention_is_not(void **state) {
    db_device_ceilings c = device("h100-sxm");
    db_sim_time t = decode_time(&c, DB_PREC_BF16, 2048, 100, NULL);
    assert_false(t.memory_bound[DB_OP_QKV]);
    assert_false(t.memory_bound[DB_OP_OUT]);
    assert_false(t.memory_bound[DB_OP_MLP]);
    assert_false(t.memory_bound[DB_OP_LMHEAD]);
    assert_true(t.memory_bound[DB_OP_ATTN]);
}

static int knee(const db_device_ceilings *c, db_precision p, db_op_class k) {
    for (int B = 1; B <= 4096; B++)
        if (!decode_time(c, p, B, 0, NULL).memory_bound[k]) return B;
    return -1;
}

/* The knee of a decode GEMM (N x K weight, B rows) is the smallest B with 2BNK/peak > bytes/BW, bytes =
 * NK*w + B(N+K)*a. Without activation bytes it is B* = ridge * w / 2 = 295.3 for bf16 on H100; the
 * activation traffic moves it to B* / (1 - (N+K)*a*ridge / (2NK)). Hand values (d 4096, h 11008):
 * MLP (w1|w3 and w2 and SwiGLU: 6dh weights, 2*(2d+6h) activation bytes per row, 5h extra FLOPs) 353;
 * QKV (3d x d) 327; out_proj (d x d) 346; all within [B*, 1.2 B*]. */
static void gemm_knees_sit_just_above_the_predicted_crossover(void **state) {
    db_device_ceilings c = device("h100-sxm");
    double b_star = db_device_crossover_batch(&c, DB_PREC_BF16);
    assert_int_equal(knee(&c, DB_PREC_BF16, DB_OP_MLP), 353);
    assert_int_equal(knee(&c, DB_PREC_BF16, DB_OP_QKV), 327);
    assert_int_equal(knee(&c, DB_PREC_BF16, DB_OP_OUT), 346);
    for (int k = DB_OP_QKV; k <= DB_OP_MLP; k++) {
        if (k == DB_OP_ATTN) continue;
        int b = knee(&c, DB_PREC_BF16, (db_op_class)k);
        assert_true(b > b_star && b <= 1.2 * b_star);
    }
}

/* int8 weight-only halves the weight bytes at the same (bf16) peak, so its GEMM knee comes near half of
 * bf16's: B* = 147.7; the MLP knee must lie in [B*, 1.5 B*] (activations weigh twice as much relative
 * to the 1-byte weights). */
static void int8_knee_is_about_half_of_bf16(void **state) {
    db_device_ceilings c = device("h100-sxm");
    double b_star = db_device_crossover_batch(&c, DB_PREC_INT8);
    int b = knee(&c, DB_PREC_INT8, DB_OP_MLP);
    assert_true(b > b_star && b <= 1.5 * b_star);
    assert_true(b < knee(&c, DB_PREC_BF16, DB_OP_MLP));
}

/* Below the knee a step costs about the same at any batch (the weights dominate): batch 64 is within
 * 10% of batch 1; far above it, time grows in proportion to the batch. */
static void step_time_is_flat_below_the_knee_and_linear_above(void **state) {
    db_device_ceilings c = device("h100-sxm");
    double t1 = decode_time(&c, DB_PREC_BF16, 1, 0, NULL).step_seconds;
    double t64 = decode_time(&c, DB_PREC_BF16, 64, 0, NULL).step_seconds;
    double t2048 = decode_time(&c, DB_PREC_BF16, 2048, 0, NULL).step_seconds;
    double t4096 = decode_time(&c, DB_PREC_BF16, 4096, 0, NULL).step_seconds;
    assert_true(t64 < 1.10 * t1);
    assert_true(t4096 > 1.8 * t2048 && t4096 < 2.05 * t2048);
}

/* ---- tokens and default KV -------------------------------------------------------------------- */

static void sim_tokens_are_a_deterministic_function_of_seed_sequence_and_position(void **state) {
    assert_int_equal(db_sim_next_token(7, 3, 100, 32000), db_sim_next_token(7, 3, 100, 32000));
    int differ_pos = 0, differ_seed = 0;
    for (int pos = 0; pos < 64; pos++) {
        int32_t t = db_sim_next_token(7, 3, pos, 32000);
        assert_true(t >= 0 && t < 32000);
        differ_pos += t != db_sim_next_token(7, 3, pos + 1, 32000);
        differ_seed += t != db_sim_next_token(8, 3, pos, 32000);
    }
    assert_true(differ_pos > 60 && differ_seed > 60);
}

/* H100 80 GB: 0.9 * 80e9 = 72e9 usable; llama2-7b bf16 weights 13,477,363,712 bytes (2 bytes per
 * parameter, norm gains in fp32), leaving 58,522,636,288 bytes of KV. */
static void default_kv_is_the_memory_left_by_the_weights(void **state) {
    db_device_ceilings c = device("h100-sxm");
    db_model_config m = preset("llama2-7b");
    int64_t bytes;
    db_error err;
    assert_true(db_cost_weight_bytes(&m, DB_PREC_BF16) == 13477363712.0);
    assert_int_equal(db_sim_kv_bytes_for(&c, &m, DB_PREC_BF16, &bytes, &err), DB_OK);
    assert_int_equal(bytes, 58522636288LL);
}

static void weights_larger_than_the_device_are_refused(void **state) {
    db_device_ceilings c = device("h100-sxm");
    db_model_config m = preset("llama3-70b");
    int64_t bytes;
    db_error err;
    assert_int_equal(db_sim_kv_bytes_for(&c, &m, DB_PREC_BF16, &bytes, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "kv_tokens or kv_bytes"));
    assert_int_equal(db_sim_kv_bytes_for(&c, &m, DB_PREC_INT4, &bytes, &err), DB_OK); /* ~37 GB */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(h100_preset_carries_the_datasheet_figures),
        cmocka_unit_test(predicted_crossovers_match_the_spec),
        cmocka_unit_test(every_device_preset_resolves),
        cmocka_unit_test(a100_has_no_fp8_so_the_sim_refuses_fp8),
        cmocka_unit_test(ceilings_json_round_trips),
        cmocka_unit_test(ceilings_json_names_every_bad_field),
        cmocka_unit_test(scheme_peaks_round_trip_and_bad_ones_are_named),
        cmocka_unit_test(the_sim_prices_a_scheme_at_its_own_measured_peak),
        cmocka_unit_test(a_scheme_peak_satisfies_the_sims_device_check),
        cmocka_unit_test(batch_1_decode_on_h100_is_memory_bound),
        cmocka_unit_test(large_batch_gemms_are_compute_bound_attention_is_not),
        cmocka_unit_test(gemm_knees_sit_just_above_the_predicted_crossover),
        cmocka_unit_test(int8_knee_is_about_half_of_bf16),
        cmocka_unit_test(step_time_is_flat_below_the_knee_and_linear_above),
        cmocka_unit_test(sim_tokens_are_a_deterministic_function_of_seed_sequence_and_position),
        cmocka_unit_test(default_kv_is_the_memory_left_by_the_weights),
        cmocka_unit_test(weights_larger_than_the_device_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
