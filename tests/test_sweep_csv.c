/* test_sweep_csv.c — the sweep CSV: row round trip through libcsv, undefined values, point keys,
 * header checks, malformed files and the measured-crossover pass (harness/sweep_csv.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <unistd.h>

#include <cmocka.h>

#include "crossover.h"
#include "sweep_csv.h"

static char path[256];
static char err[512];

static int setup(void **state) {
    snprintf(path, sizeof path, "/tmp/db_test_sweep_csv_%d.csv", (int)getpid());
    return 0;
}

static int teardown(void **state) {
    unlink(path);
    return 0;
}

static db_sweep_row sample_row(int64_t batch, double step_s) {
    db_sweep_row r;
    memset(&r, 0, sizeof r);
    r.point = 3;
    snprintf(r.mode, sizeof r.mode, "step");
    snprintf(r.backend, sizeof r.backend, "sim");
    snprintf(r.device, sizeof r.device, "h100-sxm");
    snprintf(r.model, sizeof r.model, "llama2-7b");
    r.precision = DB_PREC_BF16;
    r.kv_dtype = DB_KV_FP8;
    r.batch = batch;
    r.context = 128;
    r.warmup_steps = 2;
    r.steps = 5;
    r.seed = 1;
    snprintf(r.ceilings_source, sizeof r.ceilings_source, "datasheet");
    snprintf(r.ceilings_device, sizeof r.ceilings_device, "H100 SXM 80GB");
    r.bandwidth = 3.35e12;
    r.peak_flops = 989.4e12;
    r.ridge = 989.4 / 3.35;
    r.ok = 1;
    r.step_s = step_s;
    r.step_s_min = r.step_s_max = step_s;
    r.tokens_per_s = batch / step_s;
    r.cost.total_flops = 2e10 * batch;
    r.cost.total_bytes = 1.3e10;
    r.arithmetic_intensity = r.cost.total_flops / r.cost.total_bytes;
    r.achieved_flops = r.achieved_bytes_per_s = r.mfu = r.mbu = 1;
    r.model_step_s = step_s;
    r.pred = (db_crossover_prediction){350, NAN, 295.3, 0, 0, 0, 0};
    r.measured_crossover = NAN;
    return r;
}

static void write_rows(const db_sweep_row *rows, int n) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(db_sweep_write_header(f), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(db_sweep_write_row(f, &rows[i]), 0);
    fclose(f);
}

static const char *cell(const db_csv_table *t, size_t row, const char *col) {
    int c = db_csv_table_col(t, col);
    assert_true(c >= 0);
    return db_csv_table_cell(t, row, (size_t)c);
}

/* A failed row's error text holds a comma, a quote and a newline: csv_fwrite quotes it and the
 * reader gives it back unchanged; its undefined numbers are empty fields. */
static void rows_round_trip_with_quoted_text_and_empty_numbers(void **state) {
    db_sweep_row rows[2] = {sample_row(8, 4e-3), sample_row(16, 4.1e-3)};
    rows[1].ok = 0;
    snprintf(rows[1].error, sizeof rows[1].error, "KV cache too small: \"big\", sorry\nreally");
    rows[1].step_s = NAN;
    write_rows(rows, 2);
    db_csv_table t;
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), 0);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.ncols, db_sweep_column_count());
    assert_int_equal(db_sweep_check_header(&t, path, err, sizeof err), 0);
    assert_string_equal(cell(&t, 0, "precision"), "bf16");
    assert_string_equal(cell(&t, 0, "kv_dtype"), "fp8");
    assert_string_equal(cell(&t, 0, "step_ms"), "4");           /* 4e-3 s in ms */
    assert_string_equal(cell(&t, 0, "bandwidth_GBps"), "3350"); /* 3.35e12 B/s */
    assert_string_equal(cell(&t, 0, "peak_tflops"), "989.4");   /* 989.4e12 FLOP/s */
    assert_string_equal(cell(&t, 0, "ai_ridge_batch"), "");     /* NAN: none */
    assert_string_equal(cell(&t, 0, "measured_crossover_batch"), "");
    assert_string_equal(cell(&t, 0, "measured_crossover_method"), "");
    assert_string_equal(cell(&t, 0, "status"), "ok");
    assert_string_equal(cell(&t, 1, "status"), "failed");
    assert_string_equal(cell(&t, 1, "error"), "KV cache too small: \"big\", sorry\nreally");
    assert_string_equal(cell(&t, 1, "step_ms"), "");
    assert_string_equal(cell(&t, 1, "flops"), "");
    db_csv_table_free(&t);
}

/* The key of a row read back equals the key of the struct; batch distinguishes points, not curves.
 */
static void keys_identify_points_and_curves(void **state) {
    db_sweep_row rows[2] = {sample_row(8, 4e-3), sample_row(16, 4.1e-3)};
    write_rows(rows, 2);
    db_csv_table t;
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), 0);
    char *k0 = db_sweep_table_key(&t, 0, 0), *k1 = db_sweep_table_key(&t, 1, 0);
    char *s0 = db_sweep_row_key(&rows[0]);
    char *c0 = db_sweep_table_key(&t, 0, 1), *c1 = db_sweep_table_key(&t, 1, 1);
    assert_string_equal(k0, s0);
    assert_string_not_equal(k0, k1);
    assert_string_equal(c0, c1);
    free(k0), free(k1), free(s0), free(c0), free(c1);
    db_csv_table_free(&t);
}

static void foreign_header_is_named(void **state) {
    FILE *f = fopen(path, "w");
    fputs("point,mode,backend,dvice\n1,step,sim,x\n", f);
    fclose(f);
    db_csv_table t;
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), 0);
    assert_int_equal(db_sweep_check_header(&t, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "column 4 is 'dvice', expected 'device'"));
    db_csv_table_free(&t);
}

static void short_row_is_an_error_naming_the_line(void **state) {
    FILE *f = fopen(path, "w");
    fputs("a,b,c\n1,2,3\n4,5\n", f);
    fclose(f);
    db_csv_table t;
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 3 has 2 fields, the header has 3"));
}

static void missing_and_empty_files(void **state) {
    db_csv_table t;
    unlink(path);
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), 1);
    FILE *f = fopen(path, "w");
    fclose(f);
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty file"));
}

/* Step time max(10 ms, 0.1 ms x B) over B = 10..300: finalize writes the knee, 100, into every
 * row of the curve and rewrites the file. */
static void finalize_writes_the_measured_knee_into_the_file(void **state) {
    db_sweep_row rows[30];
    for (int i = 0; i < 30; i++) {
        int64_t B = 10 * (i + 1);
        rows[i] = sample_row(B, fmax(10e-3, 0.1e-3 * (double)B));
        rows[i].point = (size_t)i;
    }
    write_rows(rows, 30);
    db_csv_table t;
    assert_int_equal(db_sweep_csv_finalize(path, db_knee_fill_groups, &t, err, sizeof err), 0);
    db_csv_table_free(&t);
    assert_int_equal(db_csv_table_read(path, &t, err, sizeof err), 0);
    assert_true(fabs(atof(cell(&t, 0, "measured_crossover_batch")) - 100.0) < 1e-6);
    assert_true(fabs(atof(cell(&t, 29, "measured_crossover_batch")) - 100.0) < 1e-6);
    assert_string_equal(cell(&t, 0, "measured_crossover_method"), "hinge");
    db_csv_table_free(&t);
}

static int write_nothing_then_fail(FILE *f, void *ctx) {
    fputs("partial", f);
    return -1;
}

/* A failed atomic write leaves the old file untouched and no temporary file behind. */
static void failed_atomic_write_keeps_the_old_file(void **state) {
    FILE *f = fopen(path, "w");
    fputs("old\n", f);
    fclose(f);
    db_error e;
    assert_int_equal(db_write_atomic(path, write_nothing_then_fail, NULL, &e), DB_ERR_IO);
    assert_non_null(strstr(e.msg, path));
    f = fopen(path, "r");
    char buf[16] = {0};
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "old\n");
    char pattern[300];
    snprintf(pattern, sizeof pattern, "/tmp/.db_test_sweep_csv_%d.csv.tmp.*", (int)getpid());
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
    assert_int_equal(db_write_atomic("/nonexistent-dir/x.csv", write_nothing_then_fail, NULL, &e),
                     DB_ERR_IO);
    assert_non_null(strstr(e.msg, "/nonexistent-dir/x.csv"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_round_trip_with_quoted_text_and_empty_numbers),
        cmocka_unit_test(keys_identify_points_and_curves),
        cmocka_unit_test(foreign_header_is_named),
        cmocka_unit_test(short_row_is_an_error_naming_the_line),
        cmocka_unit_test(missing_and_empty_files),
        cmocka_unit_test(finalize_writes_the_measured_knee_into_the_file),
        cmocka_unit_test(failed_atomic_write_keeps_the_old_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
