/* Trace readers on small files written by the test: each format, detection and forcing, the
 * skip-and-count rules, and one exact message per kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

static char dir[64];
static char path[128];
static char created[64][128]; /* every file written, removed by teardown */
static int file_no;

/* Writes content to a fresh file in the test's temporary directory; its name is left in `path`. */
static const char *write_file(const char *name, const char *content) {
    assert_true(file_no < 64);
    snprintf(path, sizeof path, "%s/%d_%s", dir, file_no + 1, name);
    strcpy(created[file_no++], path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static void read_ok(const char *name, const char *content, db_trace_format fmt, db_trace *t) {
    char err[512] = "";
    int rc = db_trace_read(write_file(name, content), fmt, t, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
}

/* Reads content and expects the error "PATH" + suffix, word for word. */
static void read_fails(const char *name, const char *content, db_trace_format fmt,
                       const char *suffix) {
    char err[512] = "", expected[700];
    db_trace t;
    assert_int_equal(db_trace_read(write_file(name, content), fmt, &t, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "%s%s", path, suffix);
    assert_string_equal(err, expected);
    assert_null(t.prompt_tokens);
    assert_int_equal(t.n, 0);
}

/* ---- formats --------------------------------------------------------------------------------- */

/* The 2024 week-long traces: 6 fractional digits and a +00:00 offset. 00:00:00.013530 is 3.6 ms
 * after 00:00:00.009930; 00:00:01.000000 is 990.07 ms after it. */
static void azure_2024_rows_are_read_with_exact_relative_times(void **state) {
    (void)state;
    db_trace t;
    read_ok("azure2024.csv",
            "TIMESTAMP,ContextTokens,GeneratedTokens\n"
            "2024-05-10 00:00:00.009930+00:00,4808,10\n"
            "2024-05-10 00:00:00.013530+00:00,3180,8\n"
            "2024-05-10 00:00:01.000000+00:00,110,27\n",
            DB_TRACE_AUTO, &t);
    assert_int_equal(t.format, DB_TRACE_AZURE);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.arrival_ns[0], 0);
    assert_int_equal(t.arrival_ns[1], 3600000);
    assert_int_equal(t.arrival_ns[2], 990070000);
    assert_int_equal(t.prompt_tokens[0], 4808);
    assert_int_equal(t.output_tokens[2], 27);
    db_trace_free(&t);
}

/* Mooncake: ms since the trace start, many requests on one timestamp; times are made relative to
 * the first request (3000 ms here); hash_ids are ignored. */
static void mooncake_jsonl_is_read_relative_to_the_first_request(void **state) {
    (void)state;
    db_trace t;
    read_ok(
        "mooncake.jsonl",
        "{\"timestamp\": 3000, \"input_length\": 6955, \"output_length\": 52, \"hash_ids\": [46, "
        "47]}\n"
        "{\"timestamp\": 3000, \"input_length\": 6472, \"output_length\": 26, \"hash_ids\": [46]}\n"
        "\n"
        "{\"timestamp\": 6052, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": []}",
        DB_TRACE_AUTO, &t);
    assert_int_equal(t.format, DB_TRACE_MOONCAKE);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.arrival_ns[0], 0);
    assert_int_equal(t.arrival_ns[1], 0);
    assert_int_equal(t.arrival_ns[2], 3052000000LL);
    assert_int_equal(t.prompt_tokens[1], 6472);
    assert_int_equal(t.output_tokens[2], 5);
    db_trace_free(&t);
}

/* Native: arrival_s is seconds after the run start and is kept as written (not shifted to 0). */
static void native_csv_keeps_its_times_as_written(void **state) {
    (void)state;
    db_trace t;
    read_ok("native.csv",
            "arrival_s,prompt_tokens,output_tokens\n0.250000000,10,5\n1.5,20,6\n1.5,30,7\n",
            DB_TRACE_AUTO, &t);
    assert_int_equal(t.format, DB_TRACE_NATIVE);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.arrival_ns[0], 250000000);
    assert_int_equal(t.arrival_ns[1], 1500000000);
    assert_int_equal(t.arrival_ns[2], 1500000000);
    db_trace_free(&t);
}

static void sharegpt_stats_have_lengths_and_no_times(void **state) {
    (void)state;
    db_trace t;
    read_ok("sharegpt.csv",
            "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n74,918,992,0.08\n"
            "290,905,1195,0.32\n",
            DB_TRACE_AUTO, &t);
    assert_int_equal(t.format, DB_TRACE_SHAREGPT);
    assert_int_equal(t.n, 2);
    assert_null(t.arrival_ns);
    assert_int_equal(t.prompt_tokens[1], 290);
    db_trace_free(&t);
}

/* A header that fits two formats: detection takes the first in the documented order (sharegpt
 * before native); forcing native takes the native columns. */
static void a_forced_format_picks_its_own_columns(void **state) {
    (void)state;
    const char *both =
        "num_prefill_tokens,num_decode_tokens,arrival_s,prompt_tokens,output_tokens\n"
        "1,2,0.5,30,40\n";
    db_trace t;
    read_ok("both.csv", both, DB_TRACE_AUTO, &t);
    assert_int_equal(t.format, DB_TRACE_SHAREGPT);
    assert_int_equal(t.prompt_tokens[0], 1);
    db_trace_free(&t);
    read_ok("both.csv", both, DB_TRACE_NATIVE, &t);
    assert_int_equal(t.format, DB_TRACE_NATIVE);
    assert_int_equal(t.prompt_tokens[0], 30);
    assert_int_equal(t.arrival_ns[0], 500000000);
    db_trace_free(&t);
}

static void a_forced_format_that_does_not_fit_names_its_columns(void **state) {
    (void)state;
    read_fails("forced.csv", "arrival_s,prompt_tokens,output_tokens\n0,1,1\n", DB_TRACE_AZURE,
               ":1: expected the Azure header (columns TIMESTAMP, ContextTokens, GeneratedTokens), "
               "got 'arrival_s,prompt_tokens,output_tokens'");
}

/* BurstGPT: quoted fields, CRLF line ends and a byte-order mark are ordinary CSV. A row with 0/0 is
 * a failed request; a row with only one zero is a zero-length row: both skipped, counted apart. */
static void burstgpt_counts_failed_and_zero_length_rows_apart(void **state) {
    (void)state;
    db_trace t;
    read_ok("burst.csv",
            "\xEF\xBB\xBF"
            "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\r\n"
            "5,\"GPT-4, turbo\",472,18,490,Conversation log\r\n"
            "6,ChatGPT,0,0,0,Conversation log\r\n"
            "7,ChatGPT,12,0,12,API log\r\n"
            "9,ChatGPT,1,2,3,API log\r\n",
            DB_TRACE_AUTO, &t);
    assert_int_equal(t.format, DB_TRACE_BURSTGPT);
    assert_int_equal(t.rows, 4);
    assert_int_equal(t.failed, 1);
    assert_int_equal(t.zero_length, 1);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.arrival_ns[1], 4000000000LL);
    db_trace_free(&t);
}

static void azure_zero_lengths_are_skipped_and_counted(void **state) {
    (void)state;
    db_trace t;
    read_ok("azure0.csv",
            "TIMESTAMP,ContextTokens,GeneratedTokens\n"
            "2023-11-16 18:15:46.0000000,0,5\n"
            "2023-11-16 18:15:47.5000000,10,5\n",
            DB_TRACE_AUTO, &t);
    assert_int_equal(t.zero_length, 1);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.arrival_ns[0], 0); /* relative to the first kept request */
    db_trace_free(&t);
}

/* ---- bad input: each message names file, line, field and what was expected ------------------- */

static void a_non_integer_length_names_line_and_column(void **state) {
    (void)state;
    read_fails("abc.csv",
               "TIMESTAMP,ContextTokens,GeneratedTokens\n"
               "2023-11-16 18:15:46.0000000,10,5\n"
               "2023-11-16 18:15:47.0000000,abc,5\n",
               DB_TRACE_AUTO,
               ":3: column ContextTokens: expected a non-negative integer, got 'abc'");
}

static void a_negative_length_is_an_error(void **state) {
    (void)state;
    read_fails("neg.csv", "arrival_s,prompt_tokens,output_tokens\n0,10,-5\n", DB_TRACE_AUTO,
               ":2: column output_tokens: expected a non-negative integer, got '-5'");
}

static void a_length_beyond_int32_is_an_error(void **state) {
    (void)state;
    read_fails(
        "big.csv", "arrival_s,prompt_tokens,output_tokens\n0,2147483648,5\n", DB_TRACE_AUTO,
        ":2: column prompt_tokens: expected an integer at most 2147483647, got '2147483648'");
}

static void a_bad_timestamp_says_what_a_time_looks_like(void **state) {
    (void)state;
    read_fails("ts.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16,1,1\n", DB_TRACE_AUTO,
               ":2: column TIMESTAMP: expected a time like 2023-11-16 18:15:46.6805900 or "
               "2024-05-10 00:00:00.009930+00:00, got '2023-11-16'");
}

static void a_bad_seconds_field_is_an_error(void **state) {
    (void)state;
    read_fails("sec.csv", "arrival_s,prompt_tokens,output_tokens\n-1,1,1\n", DB_TRACE_AUTO,
               ":2: column arrival_s: expected non-negative seconds, got '-1'");
}

/* Blank lines count: the short row is on line 4. */
static void a_short_row_is_an_error_on_its_own_line(void **state) {
    (void)state;
    read_fails("short.csv", "arrival_s,prompt_tokens,output_tokens\n\n0,1,1\n1,2\n", DB_TRACE_AUTO,
               ":4: expected 3 fields (as in the header), got 2");
}

static void times_that_go_backwards_are_an_error(void **state) {
    (void)state;
    read_fails("back.csv", "arrival_s,prompt_tokens,output_tokens\n0,1,1\n2,1,1\n1.5,1,1\n",
               DB_TRACE_AUTO,
               ":4: column arrival_s: expected times that never go backwards, got one earlier than "
               "line 3's");
}

static void an_unterminated_quote_is_malformed_csv(void **state) {
    (void)state;
    char err[512];
    db_trace t;
    assert_int_equal(
        db_trace_read(write_file("quote.csv", "arrival_s,prompt_tokens,output_tokens\n0,\"1,1\n"),
                      DB_TRACE_AUTO, &t, err, sizeof err),
        -1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s:2: malformed CSV at end of file", path);
    assert_memory_equal(err, expected, strlen(expected));
}

static void an_unknown_header_lists_the_known_ones(void **state) {
    (void)state;
    read_fails("unknown.csv", "a,b,c\n1,2,3\n", DB_TRACE_AUTO,
               ":1: unrecognised trace header 'a,b,c' (expected Azure "
               "TIMESTAMP,ContextTokens,GeneratedTokens; BurstGPT Timestamp,...,Request "
               "tokens,Response tokens; ShareGPT num_prefill_tokens,num_decode_tokens; native "
               "arrival_s,prompt_tokens,output_tokens; or Mooncake JSON Lines)");
}

static void an_empty_file_is_an_error(void **state) {
    (void)state;
    read_fails("empty.csv", "", DB_TRACE_AUTO,
               ": empty file (expected a trace: a CSV with a header line, or JSON Lines)");
    read_fails("blank.csv", " \n\n", DB_TRACE_AUTO,
               ": empty file (expected a trace: a CSV with a header line, or JSON Lines)");
}

static void a_header_without_rows_is_an_error(void **state) {
    (void)state;
    read_fails("header.csv", "arrival_s,prompt_tokens,output_tokens\n", DB_TRACE_AUTO,
               ": no requests (expected data rows)");
}

static void a_trace_whose_rows_are_all_skipped_is_an_error(void **state) {
    (void)state;
    read_fails("allzero.csv",
               "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
               "1,ChatGPT,0,0,0,API log\n2,ChatGPT,0,0,0,API log\n3,ChatGPT,5,0,5,API log\n",
               DB_TRACE_AUTO,
               ": no usable requests: all 3 rows were skipped (2 failed, 1 with a zero length)");
}

static void a_missing_file_is_an_error(void **state) {
    (void)state;
    char err[512], expected[256];
    db_trace t;
    snprintf(path, sizeof path, "%s/does-not-exist.csv", dir);
    assert_int_equal(db_trace_read(path, DB_TRACE_AUTO, &t, err, sizeof err), -1);
    snprintf(expected, sizeof expected, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, expected);
}

static void mooncake_invalid_json_names_the_line(void **state) {
    (void)state;
    char err[512];
    db_trace t;
    assert_int_equal(
        db_trace_read(write_file("bad.jsonl",
                                 "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n"
                                 "{\"timestamp\": 1, \"input_length\": 1,\n"),
                      DB_TRACE_AUTO, &t, err, sizeof err),
        -1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s:2: invalid JSON at column", path);
    assert_memory_equal(err, expected, strlen(expected));
}

static void mooncake_missing_and_mistyped_fields_are_errors(void **state) {
    (void)state;
    read_fails("missing.jsonl", "{\"timestamp\": 0, \"input_length\": 1}\n", DB_TRACE_AUTO,
               ":1: field output_length: expected a non-negative integer, got nothing");
    read_fails(
        "string.jsonl", "{\"timestamp\": 0, \"input_length\": \"12\", \"output_length\": 1}\n",
        DB_TRACE_AUTO, ":1: field input_length: expected a non-negative integer, got '\"12\"'");
    read_fails("time.jsonl", "{\"timestamp\": -3, \"input_length\": 1, \"output_length\": 1}\n",
               DB_TRACE_AUTO, ":1: field timestamp: expected non-negative milliseconds, got '-3'");
    read_fails("array.jsonl", "[1, 2]\n", DB_TRACE_MOONCAKE,
               ":1: expected a JSON object, got '[1,2]'");
}

static void format_names_round_trip_and_unknown_names_are_errors(void **state) {
    (void)state;
    db_trace_format f;
    char err[256];
    for (int i = DB_TRACE_AUTO; i <= DB_TRACE_NATIVE; i++) {
        assert_int_equal(
            db_trace_format_parse(db_trace_format_name((db_trace_format)i), &f, err, sizeof err),
            0);
        assert_int_equal(f, i);
    }
    assert_int_equal(db_trace_format_parse("azure2023", &f, err, sizeof err), -1);
    assert_string_equal(err, "trace format 'azure2023': expected auto, azure, burstgpt, mooncake, "
                             "sharegpt or native");
}

static int setup(void **state) {
    (void)state;
    strcpy(dir, "/tmp/db_test_trace_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < file_no; i++)
        unlink(created[i]);
    return rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(azure_2024_rows_are_read_with_exact_relative_times),
        cmocka_unit_test(mooncake_jsonl_is_read_relative_to_the_first_request),
        cmocka_unit_test(native_csv_keeps_its_times_as_written),
        cmocka_unit_test(sharegpt_stats_have_lengths_and_no_times),
        cmocka_unit_test(a_forced_format_picks_its_own_columns),
        cmocka_unit_test(a_forced_format_that_does_not_fit_names_its_columns),
        cmocka_unit_test(burstgpt_counts_failed_and_zero_length_rows_apart),
        cmocka_unit_test(azure_zero_lengths_are_skipped_and_counted),
        cmocka_unit_test(a_non_integer_length_names_line_and_column),
        cmocka_unit_test(a_negative_length_is_an_error),
        cmocka_unit_test(a_length_beyond_int32_is_an_error),
        cmocka_unit_test(a_bad_timestamp_says_what_a_time_looks_like),
        cmocka_unit_test(a_bad_seconds_field_is_an_error),
        cmocka_unit_test(a_short_row_is_an_error_on_its_own_line),
        cmocka_unit_test(times_that_go_backwards_are_an_error),
        cmocka_unit_test(an_unterminated_quote_is_malformed_csv),
        cmocka_unit_test(an_unknown_header_lists_the_known_ones),
        cmocka_unit_test(an_empty_file_is_an_error),
        cmocka_unit_test(a_header_without_rows_is_an_error),
        cmocka_unit_test(a_trace_whose_rows_are_all_skipped_is_an_error),
        cmocka_unit_test(a_missing_file_is_an_error),
        cmocka_unit_test(mooncake_invalid_json_names_the_line),
        cmocka_unit_test(mooncake_missing_and_mistyped_fields_are_errors),
        cmocka_unit_test(format_names_round_trip_and_unknown_names_are_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
