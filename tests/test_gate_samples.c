/* Where the gate's samples come from: summary.json files and run directories, long-format sweep
 * CSVs read with --key, and the baseline file (--save) round trip; bad inputs get messages that
 * name the file and the line, row, column or field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate_samples.h"

static char dir[64];

static int make_dir(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/db_gate_samples_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to dir/name and returns the path (static buffer per call site use). */
static const char *write_file(const char *name, const char *text) {
    static char path[4][256];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static const double *values(const db_gate_samples *s, const char *key, const char *metric,
                            size_t *n) {
    const db_gate_series *ser = db_gate_point_series(db_gate_samples_point(s, key), metric);
    assert_non_null(ser);
    *n = ser->n;
    return ser->v;
}

static const char summary_a[] =
    "{\"schema_version\": 1, \"complete\": true, \"command_line\": \"run --backend sim --seed "
    "3\",\n"
    " \"output_throughput\": 1234.5, \"completed\": 64, \"mean_ttft_ms\": null, \"date\": \"x\",\n"
    " \"engine\": {\"total_flops\": 2.5e12, \"steps\": 100},\n"
    " \"environment\": {\"backend\": \"sim\", \"seed\": 3, \"git_commit\": \"abc\"}}\n";

/* ---- summary.json ---------------------------------------------------------------------------- */

static void summary_numbers_become_metrics_and_nested_objects_are_dotted(void **state) {
    (void)state;
    db_gate_samples s = {0};
    char msg[512];
    assert_int_equal(
        db_gate_samples_load(&s, write_file("a.json", summary_a), NULL, msg, sizeof msg), 0);
    size_t n;
    assert_float_equal(values(&s, "", "output_throughput", &n)[0], 1234.5, 0);
    assert_float_equal(values(&s, "", "completed", &n)[0], 64, 0);
    assert_float_equal(values(&s, "", "engine.total_flops", &n)[0], 2.5e12, 0);
    /* null, text and the environment are not metrics */
    assert_null(db_gate_point_series(db_gate_samples_point(&s, ""), "mean_ttft_ms"));
    assert_null(db_gate_point_series(db_gate_samples_point(&s, ""), "date"));
    assert_null(db_gate_point_series(db_gate_samples_point(&s, ""), "environment.seed"));
    assert_int_equal(s.n_envs, 1);
    assert_string_equal(db_gate_env_get(&s.envs[0], "backend"), "sim");
    assert_string_equal(db_gate_env_get(&s.envs[0], "seed"), "3");
    assert_string_equal(s.command_line, "run --backend sim --seed 3");
    db_gate_samples_free(&s);
}

static void each_summary_adds_one_sample_per_metric(void **state) {
    (void)state;
    db_gate_samples s = {0};
    char msg[512];
    const char *p = write_file("a.json", summary_a);
    const char *q = write_file("b.json", "{\"output_throughput\": 1200, \"completed\": 64}");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), 0);
    assert_int_equal(db_gate_samples_load(&s, q, NULL, msg, sizeof msg), 0);
    size_t n;
    const double *v = values(&s, "", "output_throughput", &n);
    assert_int_equal(n, 2);
    assert_float_equal(v[1], 1200, 0);
    assert_int_equal(s.n_sources, 2);
    assert_int_equal(s.n_envs, 1); /* the second had no environment */
    db_gate_samples_free(&s);
}

static void a_run_directory_is_read_through_its_summary(void **state) {
    (void)state;
    char run[256], msg[512];
    snprintf(run, sizeof run, "%s/run1", dir);
    assert_int_equal(mkdir(run, 0777), 0);
    write_file("run1/summary.json", summary_a);
    db_gate_samples s = {0};
    assert_int_equal(db_gate_samples_load(&s, run, NULL, msg, sizeof msg), 0);
    size_t n;
    values(&s, "", "output_throughput", &n);
    assert_int_equal(n, 1);
    db_gate_samples_free(&s);
    snprintf(run, sizeof run, "%s/empty", dir);
    assert_int_equal(mkdir(run, 0777), 0);
    assert_int_equal(db_gate_samples_load(&s, run, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "summary.json"));
    db_gate_samples_free(&s);
}

/* What --repeat writes: DIR/run-01, DIR/run-02, ...; the directory stands for all of them. */
static void a_directory_of_run_directories_is_every_run_in_name_order(void **state) {
    (void)state;
    char path[256], msg[512];
    snprintf(path, sizeof path, "%s/runs", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    const char *names[] = {"run-02", "run-01", "notes"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/runs/%s", dir, names[i]);
        assert_int_equal(mkdir(path, 0777), 0);
    }
    write_file("runs/run-01/summary.json", "{\"output_throughput\": 100}");
    write_file("runs/run-02/summary.json", "{\"output_throughput\": 200}");
    snprintf(path, sizeof path, "%s/runs", dir);
    db_gate_samples s = {0};
    assert_int_equal(db_gate_samples_load(&s, path, NULL, msg, sizeof msg), 0);
    size_t n;
    const double *v = values(&s, "", "output_throughput", &n);
    assert_int_equal(n, 2); /* "notes" holds no summary.json: skipped */
    assert_float_equal(v[0], 100, 0);
    assert_float_equal(v[1], 200, 0);
    db_gate_samples_free(&s);
}

static void an_interrupted_run_is_refused(void **state) {
    (void)state;
    db_gate_samples s = {0};
    char msg[512];
    const char *p = write_file("c.json", "{\"complete\": false, \"output_throughput\": 5}");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "c.json"));
    assert_non_null(strstr(msg, "interrupted"));
    db_gate_samples_free(&s);
}

static void invalid_json_names_the_line_and_column(void **state) {
    (void)state;
    db_gate_samples s = {0};
    char msg[512];
    const char *p = write_file("bad.json", "{\n  \"output_throughput\": 12,\n  oops\n}");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "bad.json:3:"));
    p = write_file("arr.json", "[1, 2]");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "JSON object"));
    p = write_file("none.json", "{\"name\": \"x\"}");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "no numeric fields"));
    assert_int_equal(db_gate_samples_load(&s, "/nonexistent/x.json", NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "/nonexistent/x.json"));
    db_gate_samples_free(&s);
}

/* ---- sweep CSV ------------------------------------------------------------------------------- */

static const char sweep[] = "batch,precision,backend,output_throughput,p99_ttft_ms\n"
                            "1,bf16,sim,100.5,20\n"
                            "8,bf16,sim,700,25\n"
                            "8,bf16,sim,710,\n"
                            "1,int4,sim,150,NA\n";

static void csv_rows_become_points_keyed_by_the_key_columns(void **state) {
    (void)state;
    const char *keys[] = {"batch", "precision"};
    db_gate_load_opts o = {keys, 2};
    db_gate_samples s = {0};
    char msg[512];
    assert_int_equal(db_gate_samples_load(&s, write_file("s.csv", sweep), &o, msg, sizeof msg), 0);
    assert_int_equal(s.n_points, 3);
    size_t n;
    const double *v = values(&s, "batch=8,precision=bf16", "output_throughput", &n);
    assert_int_equal(n, 2); /* a repeated key is a second sample */
    assert_float_equal(v[1], 710, 0);
    values(&s, "batch=8,precision=bf16", "p99_ttft_ms", &n);
    assert_int_equal(n, 1); /* the empty cell is missing, not zero */
    const db_gate_point *p = db_gate_samples_point(&s, "batch=1,precision=int4");
    assert_null(db_gate_point_series(p, "p99_ttft_ms")); /* NA */
    assert_null(db_gate_point_series(p, "backend"));     /* text column: not a metric */
    assert_null(db_gate_point_series(p, "batch"));       /* key column: not a metric */
    db_gate_samples_free(&s);
}

static void csv_without_key_or_with_an_unknown_key_is_refused(void **state) {
    (void)state;
    const char *p = write_file("s.csv", sweep);
    db_gate_samples s = {0};
    char msg[512];
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "--key"));
    const char *keys[] = {"batch", "nope"};
    db_gate_load_opts o = {keys, 2};
    assert_int_equal(db_gate_samples_load(&s, p, &o, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "'nope'"));
    db_gate_samples_free(&s);
}

static void csv_ragged_or_malformed_rows_are_named(void **state) {
    (void)state;
    const char *keys[] = {"batch"};
    db_gate_load_opts o = {keys, 1};
    db_gate_samples s = {0};
    char msg[512];
    const char *p = write_file("r.csv", "batch,tput\n1,10\n2,20,30\n");
    assert_int_equal(db_gate_samples_load(&s, p, &o, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "row 3 has 3 fields, the header has 2"));
    p = write_file("q.csv", "batch,tput\n1,\"10\n");
    assert_int_equal(db_gate_samples_load(&s, p, &o, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "malformed CSV"));
    p = write_file("d.csv", "batch,tput,tput\n1,2,3\n");
    assert_int_equal(db_gate_samples_load(&s, p, &o, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "duplicate"));
    p = write_file("h.csv", "batch,tput\n");
    assert_int_equal(db_gate_samples_load(&s, p, &o, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "at least one data row"));
    db_gate_samples_free(&s);
}

/* ---- baseline file --------------------------------------------------------------------------- */

static void a_saved_baseline_loads_back_with_every_sample_and_fingerprint(void **state) {
    (void)state;
    db_gate_samples s = {0}, back = {0};
    char msg[512];
    assert_int_equal(
        db_gate_samples_load(&s, write_file("a.json", summary_a), NULL, msg, sizeof msg), 0);
    assert_int_equal(db_gate_samples_add(&s, "", "output_throughput", 1.0 / 3.0), 0);
    json_t *o = db_gate_samples_to_json(&s);
    assert_non_null(o);
    char path[256];
    snprintf(path, sizeof path, "%s/base.json", dir);
    assert_int_equal(json_dump_file(o, path, JSON_REAL_PRECISION(17)), 0);
    json_decref(o);
    assert_int_equal(db_gate_samples_load(&back, path, NULL, msg, sizeof msg), 0);
    size_t n;
    const double *v = values(&back, "", "output_throughput", &n);
    assert_int_equal(n, 2);
    assert_true(v[1] == 1.0 / 3.0); /* 17 significant digits round-trip a double exactly */
    assert_int_equal(back.n_envs, 1);
    assert_string_equal(db_gate_env_get(&back.envs[0], "git_commit"), "abc");
    assert_string_equal(back.command_line, "run --backend sim --seed 3");
    db_gate_samples_free(&s);
    db_gate_samples_free(&back);
}

static void a_baseline_of_another_version_is_refused(void **state) {
    (void)state;
    db_gate_samples s = {0};
    char msg[512];
    const char *p = write_file(
        "v.json", "{\"format\": \"decodebench-gate-baseline\", \"version\": 9, \"points\": []}");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "version"));
    p = write_file("w.json", "{\"format\": \"decodebench-gate-baseline\", \"version\": 1, "
                             "\"points\": [{\"key\": \"\", \"metrics\": {\"x\": [1, \"a\"]}}]}");
    assert_int_equal(db_gate_samples_load(&s, p, NULL, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "points[0].metrics.x[1]"));
    db_gate_samples_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(summary_numbers_become_metrics_and_nested_objects_are_dotted),
        cmocka_unit_test(each_summary_adds_one_sample_per_metric),
        cmocka_unit_test(a_run_directory_is_read_through_its_summary),
        cmocka_unit_test(a_directory_of_run_directories_is_every_run_in_name_order),
        cmocka_unit_test(an_interrupted_run_is_refused),
        cmocka_unit_test(invalid_json_names_the_line_and_column),
        cmocka_unit_test(csv_rows_become_points_keyed_by_the_key_columns),
        cmocka_unit_test(csv_without_key_or_with_an_unknown_key_is_refused),
        cmocka_unit_test(csv_ragged_or_malformed_rows_are_named),
        cmocka_unit_test(a_saved_baseline_loads_back_with_every_sample_and_fingerprint),
        cmocka_unit_test(a_baseline_of_another_version_is_refused),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
