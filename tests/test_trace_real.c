/* The published traces in $DB_SHARED_DIR/traces read to the figures their README states. Skipped
 * (exit 77) when the directory is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "trace.h"

static char dir[4096];

static void read_trace(const char *name, db_trace *t) {
    char path[4200], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = db_trace_read(path, DB_TRACE_AUTO, t, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

/* "rounds to" at the precision a figure is published with: |x - published| <= half a unit. */
static void assert_rounds_to(double x, double published, double unit) {
    if (!(fabs(x - published) <= unit / 2))
        fprintf(stderr, "got %.6f, published %g\n", x, published);
    assert_true(fabs(x - published) <= unit / 2);
}

static void azure_conv_has_19366_requests_in_the_azure_format(void **state) {
    (void)state;
    db_trace t;
    read_trace("AzureLLMInferenceTrace_conv.csv", &t);
    assert_int_equal(t.n, 19366); /* README: 19,366 rows */
    assert_int_equal(t.format, DB_TRACE_AZURE);
    assert_int_equal(t.failed + t.zero_length, 0);
    db_trace_free(&t);
}

/* Rows 1 and 2 are 18:15:46.6805900 and 18:15:50.9951690: 4.3145790 s apart, to the 100 ns the file
 * records; the last row, 19:14:08.4025270 (no trailing newline), is 3501.7219370 s after the first.
 */
static void azure_conv_times_are_exact_and_relative_to_the_first_request(void **state) {
    (void)state;
    db_trace t;
    read_trace("AzureLLMInferenceTrace_conv.csv", &t);
    assert_int_equal(t.arrival_ns[0], 0);
    assert_int_equal(t.arrival_ns[1], 4314579000LL);
    assert_int_equal(t.arrival_ns[t.n - 1], 3501721937000LL);
    assert_int_equal(t.prompt_tokens[t.n - 1], 197); /* last line: ...,197,183 */
    assert_int_equal(t.output_tokens[t.n - 1], 183);
    db_trace_free(&t);
}

/* README: 58.4 min, mean 5.53 req/s, inter-arrival CV 1.09, peak 16 arrivals in one second. */
static void azure_conv_arrivals_match_the_published_figures(void **state) {
    (void)state;
    db_trace t;
    db_trace_summary s;
    read_trace("AzureLLMInferenceTrace_conv.csv", &t);
    assert_int_equal(db_trace_summarize(&t, &s), 0);
    assert_rounds_to(s.duration_s / 60.0, 58.4, 0.1);
    assert_rounds_to(s.mean_rate, 5.53, 0.01);
    assert_rounds_to(s.interarrival_cv, 1.09, 0.01);
    assert_int_equal(s.peak_per_second, 16);
    db_trace_free(&t);
}

/* README: prompt mean 1155 / p50 1020 / p99 4142 / max 14050; output mean 211 / p50 129 / p99 601 /
 * max 1000. */
static void azure_conv_lengths_match_the_published_figures(void **state) {
    (void)state;
    db_trace t;
    db_trace_summary s;
    read_trace("AzureLLMInferenceTrace_conv.csv", &t);
    assert_int_equal(db_trace_summarize(&t, &s), 0);
    assert_rounds_to(s.prompt_mean, 1155, 1);
    assert_int_equal(s.prompt_p50, 1020);
    assert_int_equal(s.prompt_p99, 4142);
    assert_int_equal(s.prompt_max, 14050);
    assert_rounds_to(s.output_mean, 211, 1);
    assert_int_equal(s.output_p50, 129);
    assert_int_equal(s.output_p99, 601);
    assert_int_equal(s.output_max, 1000);
    db_trace_free(&t);
}

/* README: 400 rows, 17 failed (0 request and 0 response tokens). Means of the 383 kept rows
 * (208189 / 383 and 110612 / 383) and the span (5 s to 37274 s) counted with Python's csv module.
 */
static void burstgpt_slice_skips_and_counts_17_failed_rows(void **state) {
    (void)state;
    db_trace t;
    db_trace_summary s;
    read_trace("burstgpt_slice.csv", &t);
    assert_int_equal(t.format, DB_TRACE_BURSTGPT);
    assert_int_equal(t.rows, 400);
    assert_int_equal(t.failed, 17);
    assert_int_equal(t.zero_length, 0);
    assert_int_equal(t.n, 383);
    assert_int_equal(db_trace_summarize(&t, &s), 0);
    assert_true(fabs(s.prompt_mean - 208189.0 / 383) < 1e-9);
    assert_true(fabs(s.output_mean - 110612.0 / 383) < 1e-9);
    assert_int_equal(t.arrival_ns[t.n - 1], (37274LL - 5) * 1000000000LL);
    db_trace_free(&t);
}

/* README: the BurstGPT_3 layout (Session ID, Elapsed time columns; float timestamps), 400 rows, 1
 * failed. Sums 246941 and 68350 over the 399 kept rows; span 19440110.0 s to 19481563.0 s. */
static void burstgpt3_slice_reads_the_second_layout_with_1_failed_row(void **state) {
    (void)state;
    db_trace t;
    db_trace_summary s;
    read_trace("burstgpt3_slice.csv", &t);
    assert_int_equal(t.format, DB_TRACE_BURSTGPT);
    assert_int_equal(t.rows, 400);
    assert_int_equal(t.failed, 1);
    assert_int_equal(t.n, 399);
    assert_int_equal(db_trace_summarize(&t, &s), 0);
    assert_true(fabs(s.prompt_mean - 246941.0 / 399) < 1e-9);
    assert_true(fabs(s.output_mean - 68350.0 / 399) < 1e-9);
    assert_int_equal(t.arrival_ns[t.n - 1], (19481563LL - 19440110LL) * 1000000000LL);
    db_trace_free(&t);
}

/* README: 30,731 rows, no arrival times; prompt mean 2340 / p99 7434; output mean 439 / max 1024;
 * total <= 8192. */
static void sharegpt_stats_match_the_published_figures(void **state) {
    (void)state;
    db_trace t;
    db_trace_summary s;
    read_trace("sharegpt_8k_filtered_stats_llama2_tokenizer.csv", &t);
    assert_int_equal(t.format, DB_TRACE_SHAREGPT);
    assert_int_equal(t.n, 30731);
    assert_null(t.arrival_ns);
    assert_int_equal(db_trace_summarize(&t, &s), 0);
    assert_false(s.has_arrivals);
    assert_rounds_to(s.prompt_mean, 2340, 1);
    assert_int_equal(s.prompt_p99, 7434);
    assert_rounds_to(s.output_mean, 439, 1);
    assert_int_equal(s.output_max, 1024);
    for (size_t i = 0; i < t.n; i++)
        assert_true(t.prompt_tokens[i] + t.output_tokens[i] <= 8192);
    db_trace_free(&t);
}

int main(void) {
    const char *shared = getenv("DB_SHARED_DIR");
    if (!shared) {
        fprintf(stderr, "DB_SHARED_DIR is not set: skipping the real-trace tests\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "%s/traces", shared);
    if (access(dir, R_OK) != 0) {
        fprintf(stderr, "%s is not readable: skipping the real-trace tests\n", dir);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(azure_conv_has_19366_requests_in_the_azure_format),
        cmocka_unit_test(azure_conv_times_are_exact_and_relative_to_the_first_request),
        cmocka_unit_test(azure_conv_arrivals_match_the_published_figures),
        cmocka_unit_test(azure_conv_lengths_match_the_published_figures),
        cmocka_unit_test(burstgpt_slice_skips_and_counts_17_failed_rows),
        cmocka_unit_test(burstgpt3_slice_reads_the_second_layout_with_1_failed_row),
        cmocka_unit_test(sharegpt_stats_match_the_published_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
