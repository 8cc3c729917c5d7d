/* The gate as a whole, on samples built in memory: which metrics get a row (rules, defaults, exact
 * fields, detection, the sim backend, ignores), per-point comparison of sweeps, the overall verdict
 * and exit code, the fingerprint check, and the three output formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "gate_output.h"
#include "rng.h"
#include "test_gate_util.h"

/* n runs of one configuration: output_throughput ~ tput (CV 1%), p99_ttft_ms ~ ttft (CV 1%), and
 * total_output_tokens = tokens in every run. */
static void add_runs(db_gate_samples *s, const char *key, size_t n, double tput, double ttft,
                     double tokens, uint64_t seed) {
    db_rng r;
    db_rng_seed(&r, seed);
    double a[64], b[64];
    gate_lognormal(&r, tput, 0.01, a, n);
    gate_lognormal(&r, ttft, 0.01, b, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(db_gate_samples_add(s, key, "output_throughput", a[i]), 0);
        assert_int_equal(db_gate_samples_add(s, key, "p99_ttft_ms", b[i]), 0);
        assert_int_equal(db_gate_samples_add(s, key, "total_output_tokens", tokens), 0);
    }
    s->n_sources += n;
}

static void add_env(db_gate_samples *s, const char *source, const char *backend,
                    const char *commit) {
    db_gate_env *e = realloc(s->envs, (s->n_envs + 1) * sizeof *e);
    assert_non_null(e);
    s->envs = e;
    e = &s->envs[s->n_envs++];
    memset(e, 0, sizeof *e);
    e->source = strdup(source);
    e->keys = calloc(3, sizeof *e->keys);
    e->values = calloc(3, sizeof *e->values);
    const char *k[3] = {"backend", "git_commit", "precision"}, *v[3] = {backend, commit, "bf16"};
    for (int i = 0; i < 3; i++)
        e->keys[i] = strdup(k[i]), e->values[i] = strdup(v[i]);
    e->n = e->cap = 3;
}

static const db_gate_row *find_row(const db_gate_report *r, const char *point, const char *metric) {
    for (size_t i = 0; i < r->n_rows; i++)
        if (!strcmp(r->rows[i].point, point) && !strcmp(r->rows[i].metric, metric))
            return &r->rows[i];
    return NULL;
}

static db_gate_report evaluate(const db_gate_samples *b, const db_gate_samples *c,
                               const db_gate_config *cfg) {
    db_gate_report r;
    char msg[256];
    assert_int_equal(db_gate_evaluate(b, c, cfg, &r, msg, sizeof msg), 0);
    return r;
}

/* ---- rows and verdicts ----------------------------------------------------------------------- */

static void default_rules_apply_to_the_metrics_present(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 10, 1000, 50, 4096, 1);
    add_runs(&c, "", 10, 1000, 50, 4096, 2);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    const db_gate_row *t = find_row(&r, "", "output_throughput");
    assert_non_null(t);
    assert_float_equal(t->rule.threshold, -0.05, 1e-15);
    assert_int_equal(t->res.verdict, DB_GATE_PASS);
    assert_non_null(find_row(&r, "", "p99_ttft_ms"));
    assert_null(find_row(&r, "", "median_tpot_ms")); /* a default for a metric not reported */
    /* the constant token count is detected as deterministic and compared exactly */
    const db_gate_row *k = find_row(&r, "", "total_output_tokens");
    assert_non_null(k);
    assert_int_equal(k->res.method, DB_GATE_EXACT);
    assert_int_equal(r.overall, DB_GATE_PASS);
    assert_int_equal(db_gate_exit_code(r.overall), 0);
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

static void one_regressed_metric_makes_the_overall_verdict_a_regression(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 10, 1000, 50, 4096, 1);
    add_runs(&c, "", 10, 1000, 65, 4096, 2); /* p99 TTFT +30% */
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    assert_int_equal(find_row(&r, "", "p99_ttft_ms")->res.verdict, DB_GATE_REGRESSION);
    assert_int_equal(r.overall, DB_GATE_REGRESSION);
    assert_int_equal(db_gate_exit_code(r.overall), 1);
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

static void a_changed_token_count_is_caught_without_noise(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 5, 1000, 50, 4096, 1);
    add_runs(&c, "", 5, 1000, 50, 4097, 2);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    const db_gate_row *k = find_row(&r, "", "total_output_tokens");
    assert_int_equal(k->res.verdict, DB_GATE_CHANGED);
    assert_non_null(strstr(k->res.note, "4096 -> 4097"));
    assert_int_equal(db_gate_exit_code(r.overall), 1);
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

static void two_runs_a_side_are_inconclusive_overall(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 2, 1000, 50, 4096, 1);
    add_runs(&c, "", 2, 1000, 50, 4096, 2);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    assert_int_equal(find_row(&r, "", "output_throughput")->res.verdict, DB_GATE_INCONCLUSIVE);
    assert_null(find_row(&r, "", "total_output_tokens")); /* 2 < detect_min: not detected */
    assert_int_equal(r.overall, DB_GATE_INCONCLUSIVE);
    assert_int_equal(db_gate_exit_code(r.overall), 3);
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

/* Every run on the sim backend: all metrics compare exactly, so a 0.1% throughput change is caught
 * from a single run a side; ignored fields stay out. */
static void sim_runs_are_compared_exactly(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    assert_int_equal(db_gate_samples_add(&b, "", "output_throughput", 1000.0), 0);
    assert_int_equal(db_gate_samples_add(&b, "", "engine.total_flops", 5e12), 0);
    assert_int_equal(db_gate_samples_add(&b, "", "start_epoch_s", 1.7e9), 0);
    assert_int_equal(db_gate_samples_add(&c, "", "output_throughput", 999.0), 0);
    assert_int_equal(db_gate_samples_add(&c, "", "engine.total_flops", 5e12), 0);
    assert_int_equal(db_gate_samples_add(&c, "", "start_epoch_s", 1.8e9), 0);
    add_env(&b, "base.json", "sim", "aaa");
    add_env(&c, "cur.json", "sim", "bbb");
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    assert_true(r.exact_all);
    assert_int_equal(find_row(&r, "", "output_throughput")->res.verdict, DB_GATE_CHANGED);
    assert_int_equal(find_row(&r, "", "engine.total_flops")->res.verdict, DB_GATE_PASS);
    assert_null(find_row(&r, "", "start_epoch_s"));
    db_gate_report_free(&r);
    cfg.auto_exact_sim = 0; /* statistically, one run a side decides nothing */
    r = evaluate(&b, &c, &cfg);
    assert_int_equal(find_row(&r, "", "output_throughput")->res.verdict, DB_GATE_INCONCLUSIVE);
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

static void caller_rules_replace_defaults_and_off_removes_them(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 10, 1000, 50, 4096, 1);
    add_runs(&c, "", 10, 960, 65, 4096, 2); /* -4% throughput, +30% TTFT */
    db_gate_rule rules[2];
    char msg[128];
    assert_int_equal(db_gate_rule_parse("output_throughput:-2%", &rules[0], msg, sizeof msg), 0);
    assert_int_equal(db_gate_rule_parse("p99_ttft_ms:off", &rules[1], msg, sizeof msg), 0);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    cfg.rules = rules;
    cfg.n_rules = 2;
    db_gate_report r = evaluate(&b, &c, &cfg);
    assert_int_equal(find_row(&r, "", "output_throughput")->res.verdict, DB_GATE_REGRESSION);
    assert_null(find_row(&r, "", "p99_ttft_ms"));
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

static void a_rule_for_an_unknown_metric_is_an_error(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 3, 1000, 50, 4096, 1);
    add_runs(&c, "", 3, 1000, 50, 4096, 2);
    db_gate_rule rule;
    char msg[256];
    assert_int_equal(db_gate_rule_parse("output_thruput:-5%", &rule, msg, sizeof msg), 0);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    cfg.rules = &rule;
    cfg.n_rules = 1;
    db_gate_report r;
    assert_int_equal(db_gate_evaluate(&b, &c, &cfg, &r, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "output_thruput"));
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

/* Sweeps: each point on its own; a point missing from the current results is INCONCLUSIVE, an extra
 * one is a note. */
static void sweep_points_are_compared_point_by_point(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "batch=1", 10, 100, 10, 64, 1);
    add_runs(&b, "batch=8", 10, 700, 20, 512, 2);
    add_runs(&c, "batch=1", 10, 100, 10, 64, 3);
    add_runs(&c, "batch=16", 10, 1200, 30, 1024, 4);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    assert_int_equal(find_row(&r, "batch=1", "output_throughput")->res.verdict, DB_GATE_PASS);
    const db_gate_row *m = find_row(&r, "batch=8", "(every metric)");
    assert_non_null(m);
    assert_int_equal(m->res.verdict, DB_GATE_INCONCLUSIVE);
    assert_int_equal(r.n_notes, 1);
    assert_non_null(strstr(r.notes[0], "batch=16"));
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

/* ---- fingerprint ----------------------------------------------------------------------------- */

static void a_fingerprint_mismatch_lists_the_differing_fields(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_env(&b, "base/summary.json", "cuda", "aaa");
    add_env(&c, "cur1/summary.json", "cuda", "bbb"); /* only the commit differs: fine */
    add_env(&c, "cur2/summary.json", "cpu", "ccc");
    const char *fields[] = {"backend", "precision", "device"};
    db_gate_mismatch mm[8];
    int checked;
    size_t n = db_gate_fingerprint_check(&b, &c, fields, 3, mm, 8, &checked);
    assert_true(checked);
    assert_int_equal(n, 1);
    assert_string_equal(mm[0].field, "backend");
    assert_string_equal(mm[0].expected, "cuda");
    assert_string_equal(mm[0].found, "cpu");
    assert_string_equal(mm[0].source, "cur2/summary.json");
    /* the default must-match list leaves the build commit out */
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    for (size_t i = 0; i < cfg.n_must_match; i++)
        assert_string_not_equal(cfg.must_match[i], "git_commit");
    const char *with_precision[] = {"precision"};
    free(c.envs[0].values[2]);
    c.envs[0].values[2] = strdup("int4");
    n = db_gate_fingerprint_check(&b, &c, with_precision, 1, mm, 8, &checked);
    assert_int_equal(n, 1);
    assert_string_equal(mm[0].found, "int4");
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
}

static void without_an_environment_the_fingerprint_is_not_checked(void **state) {
    (void)state;
    db_gate_samples b = {0}, c = {0};
    add_env(&c, "cur/summary.json", "cuda", "bbb");
    const char *fields[] = {"backend"};
    db_gate_mismatch mm[2];
    int checked;
    assert_int_equal(db_gate_fingerprint_check(&b, &c, fields, 1, mm, 2, &checked), 0);
    assert_false(checked);
    db_gate_samples_free(&c);
}

/* ---- outputs --------------------------------------------------------------------------------- */

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Renders a report with one regression (TTFT), one inconclusive (throughput, 2 runs a side would
 * not do: use a separate point) and one exact pass. */
static char *render(int (*fn)(FILE *, const db_gate_report *, const db_gate_context *)) {
    db_gate_samples b = {0}, c = {0};
    add_runs(&b, "", 10, 1000, 50, 4096, 1);
    add_runs(&c, "", 10, 1000, 65, 4096, 2);
    add_runs(&b, "a|b<c>", 2, 1000, 50, 4096, 3);
    add_runs(&c, "a|b<c>", 2, 1000, 50, 4096, 4);
    db_gate_config cfg;
    db_gate_config_default(&cfg);
    db_gate_report r = evaluate(&b, &c, &cfg);
    db_gate_context ctx = {"base & co", "cur \"x\"", &cfg.params, NULL, 0, 0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(f, &r, &ctx), 0);
    fclose(f);
    db_gate_report_free(&r);
    db_gate_samples_free(&b);
    db_gate_samples_free(&c);
    return buf;
}

static void
junit_has_a_testcase_per_metric_failure_for_regression_skipped_for_inconclusive(void **state) {
    (void)state;
    char *x = render(db_gate_write_junit);
    /* rows: point "": throughput PASS, p99 TTFT REGRESSION, tokens exact PASS;
     * point "a|b<c>": throughput and TTFT INCONCLUSIVE (2 runs a side) */
    assert_int_equal(count(x, "<testcase "), 5);
    assert_int_equal(count(x, "<failure "), 1);
    assert_int_equal(count(x, "<skipped "), 2);
    assert_non_null(strstr(x, "tests=\"5\" failures=\"1\" errors=\"0\" skipped=\"2\""));
    assert_non_null(strstr(x, "a|b&lt;c&gt;"));  /* escaped point key */
    assert_non_null(strstr(x, "base &amp; co")); /* escaped property */
    assert_non_null(strstr(x, "cur &quot;x&quot;"));
    assert_null(strstr(x, "<c>"));
    free(x);
}

static void markdown_is_a_table_with_escaped_cells(void **state) {
    (void)state;
    char *m = render(db_gate_write_markdown);
    assert_non_null(strstr(m, "### decodebench gate: **REGRESSION**"));
    assert_non_null(strstr(m, "| point | metric | rule |"));
    assert_non_null(strstr(m, "a\\|b\\<c>")); /* a pipe would split the cell */
    assert_int_equal(count(m, "**REGRESSION** |"), 1);
    free(m);
}

static int print_table(FILE *f, const db_gate_report *r, const db_gate_context *ctx) {
    db_gate_print_table(f, r, ctx);
    return 0;
}

static void the_terminal_table_ends_with_the_overall_line_and_the_run_count(void **state) {
    (void)state;
    char *t = render(print_table);
    assert_non_null(strstr(t, "Overall: REGRESSION (exit 1)"));
    assert_non_null(strstr(t, "need ~4 runs a side")); /* 2 + 2 cannot decide; 4 + 4 can */
    /* the identical token count (exact, no rule) is counted, not listed */
    assert_null(strstr(t, "total_output_tokens"));
    assert_non_null(strstr(t, "(1 more metrics compared exactly: identical)"));
    free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_rules_apply_to_the_metrics_present),
        cmocka_unit_test(one_regressed_metric_makes_the_overall_verdict_a_regression),
        cmocka_unit_test(a_changed_token_count_is_caught_without_noise),
        cmocka_unit_test(two_runs_a_side_are_inconclusive_overall),
        cmocka_unit_test(sim_runs_are_compared_exactly),
        cmocka_unit_test(caller_rules_replace_defaults_and_off_removes_them),
        cmocka_unit_test(a_rule_for_an_unknown_metric_is_an_error),
        cmocka_unit_test(sweep_points_are_compared_point_by_point),
        cmocka_unit_test(a_fingerprint_mismatch_lists_the_differing_fields),
        cmocka_unit_test(without_an_environment_the_fingerprint_is_not_checked),
        cmocka_unit_test(
            junit_has_a_testcase_per_metric_failure_for_regression_skipped_for_inconclusive),
        cmocka_unit_test(markdown_is_a_table_with_escaped_cells),
        cmocka_unit_test(the_terminal_table_ends_with_the_overall_line_and_the_run_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
