/* test_reports.c — the run output directory: summary.json parses back (jansson) with the numbers of
 * a hand-built run, CSV row counts and quoting (libcsv), latency.hlog reads back through the db_hdr
 * reader with the same totals, one .hgrm per metric, atomic writes leave no temporary file,
 * unwritable paths give an error naming the path, and the terminal summary.
 *
 * The hand-built run (times in ms on the run clock):
 *   request 0: arrives 0, scheduled 10, preempted at 50 (then recomputed), tokens at 100, 120, 140,
 *              160, 180, finishes 180 (50 prompt)
 *   request 1: arrives 20, fails at 30 with the reason "kv, exhausted" (a comma, to test quoting)
 *   two engine steps; SLO ttft:150ms,tpot:25ms (request 0 meets both).
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <csv.h>
#include <jansson.h>

#include "atomic_file.h"
#include "hdr.h"
#include "metrics_kv.h"
#include "run_report.h"
#include "slo.h"
#include "summary_json.h"

#define MS(x) ((int64_t)(x)*INT64_C(1000000))
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s = %.12g, expected %.12g", #a, a_, b_);         \
    } while (0)

typedef struct fixture {
    char dir[64];  /* a fresh temporary directory */
    char out[128]; /* dir/run: the run's output directory */
    db_metrics *m;
    db_kv_list env;
    db_run_info info;
} fixture;

static void ok(db_metrics *m, int rc) {
    if (rc != 0) fail_msg("recorder refused an event: %s", db_metrics_error(m));
}

static db_metrics *hand_built_run(void) {
    db_slo_set slo;
    char err[256];
    assert_int_equal(db_slo_parse("ttft:150ms,tpot:25ms", &slo, err, sizeof err), 0);
    db_metrics *m = NULL;
    assert_int_equal(db_metrics_create(&(db_metrics_config){.slo = &slo}, &m, err, sizeof err), 0);
    ok(m, db_metrics_request_arrived(m, 0, 0, 50, 5));
    ok(m, db_metrics_request_scheduled(m, 0, MS(10)));
    ok(m, db_metrics_request_arrived(m, 1, MS(20), 4000, 5));
    ok(m, db_metrics_request_preempted(m, 0, MS(50)));
    ok(m, db_metrics_request_failed(m, 1, MS(30), "kv, exhausted"));
    for (int i = 0; i < 5; i++)
        ok(m, db_metrics_tokens_emitted(m, 0, MS(100 + 20 * i), 1));
    ok(m, db_metrics_request_finished(m, 0, MS(180)));
    db_step_event s0 = {0, MS(10), MS(90), 1, 50, 0, 4, 64, 0.001, 0.089, 5e9, 2e9};
    db_step_event s1 = {1, MS(100), MS(20), 1, 0, 1, 4, 64, 0.001, 0.019, 1e8, 2e9};
    ok(m, db_metrics_step(m, &s0));
    ok(m, db_metrics_step(m, &s1));
    ok(m, db_metrics_finish(m, MS(180)));
    return m;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/db_test_reports_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->out, sizeof f->out, "%s/run", f->dir);
    f->m = hand_built_run();
    db_kv_set(&f->env, "hostname", "bench-01");
    db_kv_set_int(&f->env, "cpu_cores", 2);
    db_kv_set(&f->env, "backend", "sim");
    f->info = (db_run_info){"decodebench run --backend sim", true, 1700000000.0, &f->env};
    *state = f;
    return 0;
}

/* Remove every file in dir (one level; the tests create no deeper trees), then dir. */
static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_dir(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown(void **state) {
    fixture *f = *state;
    remove_dir(f->dir);
    db_metrics_free(f->m);
    db_kv_free(&f->env);
    free(f);
    return 0;
}

static void write_run(fixture *f) {
    char err[512] = "";
    if (db_report_write_run(f->out, f->m, &f->info, err, sizeof err) != 0) fail_msg("%s", err);
}

static json_t *load_summary(const fixture *f) {
    char path[256];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/summary.json", f->out);
    json_t *o = json_load_file(path, 0, &jerr);
    if (!o) fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
    return o;
}

static double num(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("summary field '%s' is missing or not a number", key);
    return json_number_value(v);
}

static void summary_json_parses_back_with_the_hand_built_numbers(void **state) {
    fixture *f = *state;
    write_run(f);
    json_t *o = load_summary(f);
    assert_int_equal(json_integer_value(json_object_get(o, "schema_version")), 1);
    assert_true(json_is_true(json_object_get(o, "complete")));
    assert_string_equal(json_string_value(json_object_get(o, "command_line")),
                        "decodebench run --backend sim");
    /* window 0 .. last counted end (the finish at 180 ms) */
    assert_near(num(o, "duration"), 0.18, 1e-12);
    assert_int_equal(num(o, "completed"), 1);
    assert_int_equal(num(o, "failed"), 1);
    assert_int_equal(num(o, "total_input_tokens"), 50); /* the failed request's 4000 do not count */
    assert_int_equal(num(o, "total_output_tokens"), 5);
    assert_near(num(o, "request_throughput"), 1 / 0.18, 1e-9);
    assert_near(num(o, "output_throughput"), 5 / 0.18, 1e-9);
    assert_near(num(o, "total_token_throughput"), 55 / 0.18, 1e-9);
    /* TTFT 100, TPOT (180 - 100) / 4 = 20, four ITLs of 20, E2E 180, queue 10, norm 180 / 5 = 36 */
    assert_near(num(o, "mean_ttft_ms"), 100, 1e-9);
    assert_near(num(o, "median_ttft_ms"), 100.007935, 1e-9); /* HDR highest equivalent of 1e8 ns */
    assert_near(num(o, "p99.9_ttft_ms"), 100.007935, 1e-9);
    assert_near(num(o, "std_ttft_ms"), 0, 0);
    assert_near(num(o, "mean_tpot_ms"), 20, 1e-9);
    assert_near(num(o, "mean_itl_ms"), 20, 1e-9);
    assert_int_equal(num(o, "itl_count"), 4);
    assert_near(num(o, "mean_e2el_ms"), 180, 1e-9);
    assert_near(num(o, "mean_queue_ms"), 10, 1e-9);
    assert_near(num(o, "mean_norm_latency_ms"), 36, 1e-9);
    /* 1 good request over 0.18 s; attainment 1 good of 1 completed + 1 failed */
    assert_near(num(o, "request_goodput"), 1 / 0.18, 1e-9);
    json_t *slo = json_object_get(o, "slo");
    assert_string_equal(json_string_value(json_object_get(slo, "spec")), "ttft:150ms,tpot:25ms");
    assert_near(num(slo, "attainment"), 0.5, 1e-12);
    assert_int_equal(num(json_object_get(o, "failed_reasons"), "kv, exhausted"), 1);
    assert_true(json_is_null(json_object_get(o, "max_output_tokens_per_s"))); /* span < 1 s */
    assert_near(num(o, "mean_concurrency"), 1.0, 1e-12);
    json_decref(o);
}

static void summary_json_holds_window_engine_and_environment(void **state) {
    fixture *f = *state;
    write_run(f);
    json_t *o = load_summary(f);
    json_t *w = json_object_get(o, "window");
    assert_near(num(w, "start_s"), 0, 0);
    assert_near(num(w, "end_s"), 0.02, 1e-12); /* last arrival 20 ms, no cooldown */
    assert_int_equal(num(w, "counted"), 2);
    json_t *e = json_object_get(o, "engine");
    assert_int_equal(num(e, "steps"), 2);
    /* (5e9 + 1e8) FLOP over (90 + 20) ms = 4.636e10 FLOP/s; 4e9 B / 0.11 s; intensity 5.1e9 / 4e9
     */
    assert_near(num(e, "achieved_flops_per_s"), 5.1e9 / 0.11, 1);
    assert_near(num(e, "achieved_bytes_per_s"), 4e9 / 0.11, 1);
    assert_near(num(e, "arithmetic_intensity"), 1.275, 1e-12);
    assert_true(json_is_null(json_object_get(e, "mfu"))); /* no peak given */
    json_t *env = json_object_get(o, "environment");
    assert_string_equal(json_string_value(json_object_get(env, "hostname")), "bench-01");
    assert_int_equal(json_integer_value(json_object_get(env, "cpu_cores")), 2); /* a JSON integer */
    /* keys keep the order they were set in */
    const char *first = json_object_iter_key(json_object_iter(env));
    assert_string_equal(first, "hostname");
    json_decref(o);
}

static void an_interrupted_run_is_marked_incomplete(void **state) {
    fixture *f = *state;
    f->info.complete = false;
    write_run(f);
    json_t *o = load_summary(f);
    assert_true(json_is_false(json_object_get(o, "complete")));
    json_decref(o);
}

/* Count rows and the fields of each row with libcsv; return the number of rows. */
typedef struct csv_count {
    size_t rows, fields_in_row, header_fields;
    bool ragged;
    char last_field[128], prev_field[128]; /* the last two fields read */
    char fields[4][24][48];                /* the first 4 rows, 24 fields each (truncated) */
} csv_count;

static void on_field(void *s, size_t len, void *data) {
    csv_count *c = data;
    if (c->rows < 4 && c->fields_in_row < 24)
        snprintf(c->fields[c->rows][c->fields_in_row], sizeof c->fields[0][0], "%.*s", (int)len,
                 (const char *)s);
    c->fields_in_row++;
    memcpy(c->prev_field, c->last_field, sizeof c->prev_field);
    snprintf(c->last_field, sizeof c->last_field, "%.*s", (int)len, (const char *)s);
}

static void on_row(int term, void *data) {
    csv_count *c = data;
    if (c->rows == 0)
        c->header_fields = c->fields_in_row;
    else if (c->fields_in_row != c->header_fields)
        c->ragged = true;
    c->rows++;
    c->fields_in_row = 0;
}

static csv_count parse_csv(const fixture *f, const char *name) {
    char path[256], buf[4096];
    snprintf(path, sizeof path, "%s/%s", f->out, name);
    FILE *in = fopen(path, "rb");
    if (!in) fail_msg("cannot open %s", path);
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_APPEND_NULL);
    csv_count c = {0};
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (csv_parse(&p, buf, n, on_field, on_row, &c) != n)
            fail_msg("%s: %s", path, csv_strerror(csv_error(&p)));
    csv_fini(&p, on_field, on_row, &c);
    csv_free(&p);
    fclose(in);
    return c;
}

static void requests_csv_has_a_header_and_one_row_per_request(void **state) {
    fixture *f = *state;
    write_run(f);
    csv_count c = parse_csv(f, "requests.csv");
    assert_int_equal(c.rows, 3); /* header + 2 requests */
    assert_int_equal(c.header_fields, 20);
    assert_false(c.ragged);
    /* the last row's failure reason (quoted because of its comma), then its preemption count */
    assert_string_equal(c.prev_field, "kv, exhausted");
    assert_string_equal(c.last_field, "0");
}

/* preemptions is appended after failure_reason (column 20), so readers of the first 19 columns by
 * position keep working; request 0 was preempted once, request 1 never. */
static void requests_csv_ends_with_each_requests_preemption_count(void **state) {
    fixture *f = *state;
    write_run(f);
    csv_count c = parse_csv(f, "requests.csv");
    assert_string_equal(c.fields[0][18], "failure_reason");
    assert_string_equal(c.fields[0][19], "preemptions");
    assert_string_equal(c.fields[1][0], "0");
    assert_string_equal(c.fields[1][19], "1");
    assert_string_equal(c.fields[2][0], "1");
    assert_string_equal(c.fields[2][19], "0");
}

static void steps_csv_has_a_header_and_one_row_per_step(void **state) {
    fixture *f = *state;
    write_run(f);
    csv_count c = parse_csv(f, "steps.csv");
    assert_int_equal(c.rows, 3); /* header + 2 steps */
    assert_int_equal(c.header_fields, 15);
    assert_false(c.ragged);
}

static void hlog_reads_back_through_the_hdr_reader_with_the_same_totals(void **state) {
    fixture *f = *state;
    write_run(f);
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/latency.hlog", f->out);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, in, path), DB_HDR_OK);
    static const char *const tags[] = {"TTFT", "TPOT", "ITL", "E2E", "QUEUE"};
    static const db_latency kinds[] = {DB_LAT_TTFT, DB_LAT_TPOT, DB_LAT_ITL, DB_LAT_E2E,
                                       DB_LAT_QUEUE};
    db_hdr_log_interval iv;
    for (int i = 0; i < 5; i++) {
        int rc = db_hdr_log_reader_next(&r, &iv, err, sizeof err);
        if (rc != 1) fail_msg("interval %d: %d %s", i, rc, err);
        assert_string_equal(iv.tag, tags[i]);
        const db_hdr *mine = db_metrics_histogram(f->m, kinds[i]);
        assert_int_equal(iv.hist.total_count, mine->total_count); /* 1, 1, 4, 1, 1 */
        assert_int_equal(db_hdr_max(&iv.hist), db_hdr_max(mine));
        assert_near(iv.start_s, 0, 1e-9);     /* window start, relative to the BaseTime */
        assert_near(iv.length_s, 0.18, 1e-9); /* the duration */
        db_hdr_close(&iv.hist);
    }
    assert_near(r.start_time_s, 1700000000.0, 1e-3);
    assert_int_equal(db_hdr_log_reader_next(&r, &iv, err, sizeof err), 0);
    db_hdr_log_reader_close(&r);
    fclose(in);
}

/* The ecosystem peer: hdr-histogram-js reads latency.hlog (tests/hdr_interop.js prints, per
 * interval, "TAG start_ms end_ms total p0 p50 p90 p99 p99.9 p100 mean stddev"). Skipped without
 * node or the module (ci/setup installs them). */
static void hlog_reads_back_in_hdr_histogram_js(void **state) {
    fixture *f = *state;
    const char *src = getenv("DB_SOURCE_DIR"), *modules = getenv("DB_NODE_MODULES");
    char probe[512], cmd[1024], line[512];
    if (!src || !modules) skip();
    snprintf(probe, sizeof probe, "%s/hdr-histogram-js/package.json", modules);
    if (access(probe, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) skip();
    write_run(f);
    snprintf(cmd, sizeof cmd,
             "DB_NODE_MODULES='%s' node '%s/tests/hdr_interop.js' hlog '%s/latency.hlog'", modules,
             src, f->out);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    /* start 1700000000.000 s + window start 0 -> 1700000000000 ms; end = start + 180 ms */
    static const char *const expected[] = {
        "TTFT 1700000000000 1700000000180 1 99942400 100007935 100007935 100007935 100007935",
        "TPOT 1700000000000 1700000000180 1 19988480 20004863",
        "ITL 1700000000000 1700000000180 4 19988480 20004863",
        "E2E 1700000000000 1700000000180 1 179961856 180092927",
        "QUEUE 1700000000000 1700000000180 1 9994240 10002431"};
    int n = 0;
    while (fgets(line, sizeof line, p) && n < 5) {
        if (strncmp(line, expected[n], strlen(expected[n])) != 0)
            fail_msg("hdr-histogram-js line %d: '%s', expected it to start '%s'", n, line,
                     expected[n]);
        n++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, 5);
}

static void every_metric_gets_an_hgrm_in_ms(void **state) {
    fixture *f = *state;
    write_run(f);
    static const char *const names[] = {"ttft", "tpot", "itl", "e2e", "queue", "norm"};
    char path[256], line[256], last[256] = "";
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s.hgrm", f->out, names[i]);
        FILE *in = fopen(path, "r");
        if (!in) fail_msg("missing %s", path);
        char first_row[256] = "";
        while (fgets(line, sizeof line, in)) {
            if (!first_row[0] && strstr(line, "0.000000000000"))
                snprintf(first_row, 256, "%s", line);
            snprintf(last, sizeof last, "%s", line);
        }
        fclose(in);
        if (i == 0) /* TTFT 100 ms at 3 digits: 100.008 ms (100007935 ns / 1e6) */
            assert_non_null(strstr(first_row, "100.008"));
    }
    assert_non_null(strstr(last, "SubBuckets"));
}

/* The files in dir, sorted, joined by spaces. */
static void list_dir(const char *dir, char *out, size_t len) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' || strstr(names[i]->d_name, ".tmp."))
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "",
                     names[i]->d_name);
        free(names[i]);
    }
    free(names);
}

static void a_run_directory_holds_exactly_the_output_files_and_no_temporaries(void **state) {
    fixture *f = *state;
    write_run(f);
    write_run(f); /* writing again replaces each file in place */
    char files[1024];
    list_dir(f->out, files, sizeof files);
    assert_string_equal(files, "e2e.hgrm itl.hgrm latency.hlog norm.hgrm queue.hgrm "
                               "requests.csv steps.csv summary.json tpot.hgrm ttft.hgrm");
}

static void read_file(const char *path, char *buf, size_t len) {
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    size_t n = fread(buf, 1, len - 1, in);
    buf[n] = '\0';
    fclose(in);
}

static void an_aborted_atomic_write_leaves_the_old_file_and_no_temporary(void **state) {
    fixture *f = *state;
    char path[256], err[256], buf[64], files[256];
    snprintf(path, sizeof path, "%s/data.txt", f->dir);
    db_atomic_file af;
    assert_int_equal(db_atomic_open(&af, path, err, sizeof err), 0);
    fputs("old\n", af.f);
    assert_int_equal(db_atomic_commit(&af, err, sizeof err), 0);
    assert_int_equal(db_atomic_open(&af, path, err, sizeof err), 0);
    fputs("new, half written", af.f);
    db_atomic_abort(&af);
    read_file(path, buf, sizeof buf);
    assert_string_equal(buf, "old\n");
    list_dir(f->dir, files, sizeof files);
    assert_string_equal(files, "data.txt");
}

static void a_stream_error_fails_the_commit_naming_the_path(void **state) {
    fixture *f = *state;
    char path[256], err[256] = "", files[256];
    snprintf(path, sizeof path, "%s/broken.txt", f->dir);
    db_atomic_file af;
    assert_int_equal(db_atomic_open(&af, path, err, sizeof err), 0);
    fputs("partial", af.f);
    (void)fgetc(
        af.f); /* reading a write-only stream sets its error flag, as a failed write would */
    assert_int_equal(db_atomic_commit(&af, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    list_dir(f->dir, files, sizeof files);
    assert_string_equal(files, ""); /* neither broken.txt nor its temporary */
}

static void
a_write_past_the_file_size_limit_fails_naming_the_file_and_leaves_no_temporary(void **state) {
    fixture *f = *state;
    char err[512] = "", files[1024];
    /* RLIMIT_FSIZE makes write() fail with EFBIG past 1000 bytes, as a full disk fails with ENOSPC;
     * summary.json (about 3.5 KB) is the first file written and cannot fit */
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 1000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = db_report_write_run(f->out, f->m, &f->info, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    if (!strstr(err, "/run/summary.json") || !strstr(err, "File too large"))
        fail_msg("message '%s' does not name summary.json and the reason", err);
    list_dir(f->out, files, sizeof files);
    assert_string_equal(files, "");
}

static void an_output_directory_under_a_regular_file_is_an_error_naming_the_path(void **state) {
    fixture *f = *state;
    char file[256], bad[300], err[512] = "";
    snprintf(file, sizeof file, "%s/file.txt", f->dir);
    FILE *t = fopen(file, "w");
    assert_non_null(t);
    fclose(t);
    snprintf(bad, sizeof bad, "%s/out", file);
    assert_int_equal(db_report_write_run(bad, f->m, &f->info, err, sizeof err), -1);
    if (!strstr(err, bad)) fail_msg("message '%s' does not name '%s'", err, bad);
    /* a single file written into a "directory" that is a regular file */
    snprintf(bad, sizeof bad, "%s/summary.json", file);
    assert_int_equal(db_summary_json_write(bad, f->m, &f->info, err, sizeof err), -1);
    if (!strstr(err, bad)) fail_msg("message '%s' does not name '%s'", err, bad);
}

static void an_output_directory_in_proc_is_an_error_naming_the_path(void **state) {
    fixture *f = *state;
    char err[512] = "";
    const char *bad = "/proc/decodebench-test-out";
    assert_int_equal(db_report_write_run(bad, f->m, &f->info, err, sizeof err), -1);
    assert_non_null(strstr(err, bad));
}

static void terminal_summary_is_a_vllm_style_block(void **state) {
    fixture *f = *state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    f->info.complete = false;
    db_report_print_summary(mem, f->m, &f->info);
    fclose(mem);
    assert_non_null(strstr(text, "============ Serving Benchmark Result ============\n"));
    /* labels padded to 40 columns, then the value */
    assert_non_null(strstr(text, "Successful requests:                     1\n"));
    assert_non_null(strstr(text, "Failed requests:                         1\n"));
    assert_non_null(strstr(text, "Benchmark duration (s):                  0.18"));
    assert_non_null(strstr(text, "Mean TTFT (ms):                          100.00"));
    assert_non_null(strstr(text, "Median TPOT (ms):                        20.00"));
    assert_non_null(strstr(text, "SLO attainment (%):                      50.00"));
    assert_non_null(strstr(text, "Failed: 1 x kv, exhausted"));
    assert_non_null(strstr(text, "INCOMPLETE"));
    free(text);
}

static void command_line_quotes_only_arguments_that_need_it(void **state) {
    char *const argv[] = {"decodebench", "run",       "--slo", "ttft:200ms,tpot:50ms",
                          "--note",      "it's here", ""};
    char *line = db_run_command_line(7, argv);
    assert_string_equal(line,
                        "decodebench run --slo ttft:200ms,tpot:50ms --note 'it'\\''s here' ''");
    free(line);
}

static void kv_list_keeps_order_and_replaces_in_place(void **state) {
    db_kv_list l = {0};
    assert_int_equal(db_kv_set(&l, "a", "1"), 0);
    assert_int_equal(db_kv_set_int(&l, "b", 2), 0);
    assert_int_equal(db_kv_setf(&l, "a", "%d%s", 3, "x"), 0);
    assert_int_equal(db_kv_set(&l, "", "empty key"), -1);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].key, "a");
    assert_string_equal(l.items[0].value, "3x");
    assert_int_equal(db_kv_find(&l, "b")->kind, DB_KV_INT);
    assert_int_equal(db_kv_find(&l, "b")->int_value, 2);
    assert_null(db_kv_find(&l, "c"));
    db_kv_free(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(summary_json_parses_back_with_the_hand_built_numbers),
        T(summary_json_holds_window_engine_and_environment),
        T(an_interrupted_run_is_marked_incomplete),
        T(requests_csv_has_a_header_and_one_row_per_request),
        T(requests_csv_ends_with_each_requests_preemption_count),
        T(steps_csv_has_a_header_and_one_row_per_step),
        T(hlog_reads_back_through_the_hdr_reader_with_the_same_totals),
        T(hlog_reads_back_in_hdr_histogram_js),
        T(every_metric_gets_an_hgrm_in_ms),
        T(a_run_directory_holds_exactly_the_output_files_and_no_temporaries),
        T(an_aborted_atomic_write_leaves_the_old_file_and_no_temporary),
        T(a_stream_error_fails_the_commit_naming_the_path),
        T(a_write_past_the_file_size_limit_fails_naming_the_file_and_leaves_no_temporary),
        T(an_output_directory_under_a_regular_file_is_an_error_naming_the_path),
        T(an_output_directory_in_proc_is_an_error_naming_the_path),
        T(terminal_summary_is_a_vllm_style_block),
        cmocka_unit_test(command_line_quotes_only_arguments_that_need_it),
        cmocka_unit_test(kv_list_keeps_order_and_replaces_in_place),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
