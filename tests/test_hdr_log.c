/* tests/test_hdr_log.c — .hlog interval logs (writer, reader, the jHiccup conformance fixtures from
 * spec/hdr.md) and the .hgrm percentile table. Fixtures are read from $DB_SHARED_DIR/fixtures/hdr/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../harness/hdr.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static FILE *open_fixture(const char *name) {
    const char *shared = getenv("DB_SHARED_DIR");
    if (!shared || !*shared)
        fail_msg("DB_SHARED_DIR is not set (CTest sets it; it holds fixtures/hdr/%s)", name);
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/hdr/%s", shared, name);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open fixture %s", path);
    return f;
}

typedef struct range_sum {
    double from_s, to_s; /* interval start (relative seconds) in [from, to] */
    int intervals;
    db_hdr hist; /* L=1, H=3.6e12 (the fixture's H), s=3 */
} range_sum;

/* Read every interval of `name` and add those starting in each range into its histogram. */
static void sum_fixture(const char *name, range_sum *ranges, int n_ranges) {
    for (int i = 0; i < n_ranges; i++) {
        ranges[i].intervals = 0;
        assert_int_equal(db_hdr_init(&ranges[i].hist, 1, 3600000000000LL, 3), DB_HDR_OK);
    }
    FILE *f = open_fixture(name);
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, f, name), DB_HDR_OK);
    db_hdr_log_interval iv;
    char msg[512];
    int rc;
    while ((rc = db_hdr_log_reader_next(&r, &iv, msg, sizeof msg)) == 1) {
        for (int i = 0; i < n_ranges; i++) {
            if (iv.start_s >= ranges[i].from_s && iv.start_s <= ranges[i].to_s) {
                ranges[i].intervals++;
                assert_int_equal(db_hdr_add(&ranges[i].hist, &iv.hist), 0);
            }
        }
        db_hdr_close(&iv.hist);
    }
    if (rc != 0) fail_msg("%s", msg);
    db_hdr_log_reader_close(&r);
    fclose(f);
}

/* spec/hdr.md, .hlog conformance: (intervals, total, p99.9, max) for all, [5, 20] s and [40, 60] s.
 */
static void check_fixture(const char *name) {
    range_sum ranges[3] = {{0, 1e9, 0, {0}}, {5, 20, 0, {0}}, {40, 60, 0, {0}}};
    sum_fixture(name, ranges, 3);
    const int intervals[3] = {62, 15, 20};
    const int64_t totals[3] = {48761, 11664, 15830};
    const int64_t p999[3] = {1745879039, 1536163839, 1779433471};
    const int64_t max[3] = {1796210687, 1544552447, 1796210687};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ranges[i].intervals, intervals[i]);
        assert_int_equal(ranges[i].hist.total_count, totals[i]);
        assert_int_equal(db_hdr_value_at_percentile(&ranges[i].hist, 99.9), p999[i]);
        assert_int_equal(db_hdr_max(&ranges[i].hist), max[i]);
        db_hdr_close(&ranges[i].hist);
    }
}

static char *slurp(FILE *f) {
    long n = ftell(f);
    rewind(f);
    char *s = calloc((size_t)n + 1, 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    return s;
}

/* Read text as a log; returns the reader's status of the first non-interval result. */
static int read_text(const char *text, char *msg, size_t msglen, int *intervals) {
    FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, f, "bad.hlog"), DB_HDR_OK);
    db_hdr_log_interval iv;
    int rc;
    *intervals = 0;
    while ((rc = db_hdr_log_reader_next(&r, &iv, msg, msglen)) == 1) {
        (*intervals)++;
        db_hdr_close(&iv.hist);
    }
    db_hdr_log_reader_close(&r);
    fclose(f);
    return rc;
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static void jhiccup_v2_log_matches_published_figures(void **state) {
    (void)state;
    check_fixture("jHiccup-2.0.7S.logV2.hlog");
}

static void jhiccup_v3_log_matches_published_figures(void **state) {
    (void)state;
    check_fixture("jHiccup-2.0.7S.logV3.hlog");
}

/* The V3 file tags 4 of its intervals ("Tag=a1.134a" ...), the tag echoing the start time. */
static void jhiccup_v3_tags_are_read(void **state) {
    (void)state;
    FILE *f = open_fixture("jHiccup-2.0.7S.logV3.hlog");
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, f, "logV3"), DB_HDR_OK);
    db_hdr_log_interval iv;
    char msg[512];
    const char *tags[] = {"a1.134a", "a3.134a", "a5.132a", "a7.133a"};
    int tagged = 0;
    while (db_hdr_log_reader_next(&r, &iv, msg, sizeof msg) == 1) {
        if (iv.tag) {
            assert_true(tagged < 4);
            assert_string_equal(iv.tag, tags[tagged]);
            char echo[32];
            snprintf(echo, sizeof echo, "a%.3fa", iv.start_s);
            assert_string_equal(iv.tag, echo);
            tagged++;
        }
        db_hdr_close(&iv.hist);
    }
    assert_int_equal(tagged, 4);
    /* StartTime 1441812279.474, no BaseTime: small timestamps are relative to StartTime (Java rule)
     */
    assert_true(r.has_start_time);
    assert_float_equal(r.start_time_s, 1441812279.474, 1e-6);
    assert_float_equal(r.base_time_s, 1441812279.474, 1e-6);
    db_hdr_log_reader_close(&r);
    fclose(f);
}

/* ---- writer ---------------------------------------------------------------------------------- */

/* Header and one interval, byte for byte. StartTime 1441812279.474 is Wed Sep 09 15:24:39 UTC 2015;
 * the interval starts 0.127 s after BaseTime, lasts 1.007 s, and its max 2769000 ns is 2.769 ms. */
static void writer_output_is_version_1_3_text(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 2, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&h, 42));
    db_hdr big;
    assert_int_equal(db_hdr_init(&big, 1, 3600000000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&big, 2769000)); /* s=3: range 2048 from 2768896, highest 2770943 */
    FILE *f = tmpfile();
    db_hdr_log_writer w;
    assert_int_equal(db_hdr_log_writer_open(&w, f, 1441812279.474, 1441812279.0), DB_HDR_OK);
    assert_int_equal(db_hdr_log_write_interval(&w, "TTFT", 1441812279.127, 1.007, &h), DB_HDR_OK);
    assert_int_equal(db_hdr_log_write_interval(&w, NULL, 1441812280.5, 1.0, &big), DB_HDR_OK);
    assert_int_equal(db_hdr_log_write_comment(&w, "end"), DB_HDR_OK);
    char *text = slurp(f);
    char *second_line_end = strstr(text, "\n1.500,1.000,2.771,HISTF");
    assert_non_null(second_line_end);
    *second_line_end = '\0';
    assert_string_equal(
        text, "#[Histogram log format version 1.3]\n"
              "#[StartTime: 1441812279.474 (seconds since epoch), Wed Sep 09 15:24:39 UTC 2015]\n"
              "#[BaseTime: 1441812279.000 (seconds since epoch)]\n"
              "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_"
              "Histogram\"\n"
              "Tag=TTFT,0.127,1.007,0.000,HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=");
    free(text);
    fclose(f);
    db_hdr_close(&h);
    db_hdr_close(&big);
}

static void writer_rejects_bad_tags(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 1000, 2), DB_HDR_OK);
    FILE *f = tmpfile();
    db_hdr_log_writer w;
    assert_int_equal(db_hdr_log_writer_open(&w, f, 1700000000.0, -1), DB_HDR_OK);
    assert_int_equal(db_hdr_log_write_interval(&w, "a,b", 1700000000.0, 1.0, &h), DB_HDR_EINVAL);
    assert_int_equal(db_hdr_log_write_interval(&w, "a b", 1700000000.0, 1.0, &h), DB_HDR_EINVAL);
    assert_int_equal(db_hdr_log_write_interval(&w, "a\nb", 1700000000.0, 1.0, &h), DB_HDR_EINVAL);
    assert_int_equal(db_hdr_log_write_interval(&w, "a\rb", 1700000000.0, 1.0, &h), DB_HDR_EINVAL);
    assert_int_equal(db_hdr_log_write_comment(&w, "two\nlines"), DB_HDR_EINVAL);
    fclose(f);
    db_hdr_close(&h);
}

/* Written intervals read back with tag, relative and absolute start, length and counts. */
static void writer_and_reader_round_trip(void **state) {
    (void)state;
    for (int with_base = 0; with_base <= 1; with_base++) {
        const double start = 1700000000.25, base = with_base ? 1700000000.0 : -1;
        FILE *f = tmpfile();
        db_hdr_log_writer w;
        assert_int_equal(db_hdr_log_writer_open(&w, f, start, base), DB_HDR_OK);
        db_hdr h;
        assert_int_equal(db_hdr_init(&h, 1, 3600000000000LL, 3), DB_HDR_OK);
        const char *tags[] = {"TTFT", "TPOT", NULL};
        for (int i = 0; i < 3; i++) {
            db_hdr_reset(&h);
            assert_true(db_hdr_record_n(&h, 1000000 * (i + 1), i + 1));
            assert_int_equal(db_hdr_log_write_interval(&w, tags[i], start + 2.0 * i, 2.0, &h),
                             DB_HDR_OK);
        }
        db_hdr_close(&h);
        rewind(f);
        db_hdr_log_reader r;
        assert_int_equal(db_hdr_log_reader_open(&r, f, "rt.hlog"), DB_HDR_OK);
        db_hdr_log_interval iv;
        char msg[512];
        for (int i = 0; i < 3; i++) {
            assert_int_equal(db_hdr_log_reader_next(&r, &iv, msg, sizeof msg), 1);
            if (tags[i])
                assert_string_equal(iv.tag, tags[i]);
            else
                assert_null(iv.tag);
            double rel = start + 2.0 * i - (with_base ? base : start);
            assert_float_equal(iv.start_s, rel, 0.0005);
            assert_float_equal(iv.abs_start_s, start + 2.0 * i, 0.0005);
            assert_float_equal(iv.length_s, 2.0, 0.0);
            assert_int_equal(iv.hist.total_count, i + 1);
            assert_int_equal(db_hdr_count_at_value(&iv.hist, 1000000 * (i + 1)), i + 1);
            db_hdr_close(&iv.hist);
        }
        assert_int_equal(db_hdr_log_reader_next(&r, &iv, msg, sizeof msg), 0);
        assert_int_equal(r.has_base_time, true);
        db_hdr_log_reader_close(&r);
        fclose(f);
    }
}

/* ---- reader errors --------------------------------------------------------------------------- */

#define LEGEND                                                                                     \
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
#define BLOB "HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM="

static void reader_errors_name_file_and_line(void **state) {
    (void)state;
    char msg[512];
    int n;
    /* line 3: start field is not a number */
    assert_int_equal(read_text("#c\n" LEGEND "abc,1.0,0.1," BLOB "\n", msg, sizeof msg, &n),
                     DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "bad.hlog:3:"));
    assert_non_null(strstr(msg, "start"));
    /* line 2: length field empty */
    assert_int_equal(read_text(LEGEND "1.0,,0.1," BLOB "\n", msg, sizeof msg, &n), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "bad.hlog:2:"));
    /* line 3 after a good line 2: the histogram is corrupt */
    assert_int_equal(
        read_text(LEGEND "0.0,1.0,0.1," BLOB "\n1.0,1.0,0.1,HISTFAAAA\n", msg, sizeof msg, &n),
        DB_HDR_ECORRUPT);
    assert_int_equal(n, 1);
    assert_non_null(strstr(msg, "bad.hlog:3: interval histogram"));
    /* missing and extra fields, tag with no comma */
    assert_int_equal(read_text("1.0,1.0," BLOB "\n", msg, sizeof msg, &n), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "bad.hlog:1: expected 4"));
    assert_int_equal(read_text("1.0,1.0,2.0,3.0," BLOB "\n", msg, sizeof msg, &n), DB_HDR_ECORRUPT);
    assert_int_equal(read_text("Tag=abc\n", msg, sizeof msg, &n), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "bad.hlog:1:"));
    /* a StartTime line without a number */
    assert_int_equal(read_text("#[StartTime: soon]\n", msg, sizeof msg, &n), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "StartTime"));
}

/* CRLF line ends and blank lines are accepted; absolute timestamps (no BaseTime, within a year of
 * StartTime) give base time 0. */
static void reader_accepts_crlf_and_absolute_timestamps(void **state) {
    (void)state;
    const char *text = "#[StartTime: 1700000000.000 (seconds since epoch), x]\r\n" LEGEND
                       "\r\n1700000001.500,1.000,0.000," BLOB "\r\n";
    FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, f, "abs.hlog"), DB_HDR_OK);
    db_hdr_log_interval iv;
    char msg[512];
    assert_int_equal(db_hdr_log_reader_next(&r, &iv, msg, sizeof msg), 1);
    assert_float_equal(iv.start_s, 1700000001.5, 1e-6);
    assert_float_equal(iv.abs_start_s, 1700000001.5, 1e-6);
    assert_float_equal(r.base_time_s, 0.0, 0.0);
    assert_int_equal(db_hdr_count_at_value(&iv.hist, 42), 1);
    db_hdr_close(&iv.hist);
    assert_int_equal(db_hdr_log_reader_next(&r, &iv, msg, sizeof msg), 0);
    db_hdr_log_reader_close(&r);
    fclose(f);
}

/* ---- .hgrm ----------------------------------------------------------------------------------- */

/* Values 1..10, L=1, H=3.6e9, s=3, ticks 5, scale 1. The rows follow the ladder checked in
 * test_hdr_core (levels 0, 10, ..., 91.25, 100); hdr-histogram-js 3.0.1 prints the same table. */
static void percentile_table_of_one_to_ten(void **state) {
    (void)state;
    static const char expected[] = "       Value     Percentile TotalCount 1/(1-Percentile)\n"
                                   "\n"
                                   "       1.000 0.000000000000          1           1.00\n"
                                   "       1.000 0.100000000000          1           1.11\n"
                                   "       2.000 0.200000000000          2           1.25\n"
                                   "       3.000 0.300000000000          3           1.43\n"
                                   "       4.000 0.400000000000          4           1.67\n"
                                   "       5.000 0.500000000000          5           2.00\n"
                                   "       6.000 0.550000000000          6           2.22\n"
                                   "       6.000 0.600000000000          6           2.50\n"
                                   "       7.000 0.650000000000          7           2.86\n"
                                   "       7.000 0.700000000000          7           3.33\n"
                                   "       8.000 0.750000000000          8           4.00\n"
                                   "       8.000 0.775000000000          8           4.44\n"
                                   "       8.000 0.800000000000          8           5.00\n"
                                   "       9.000 0.825000000000          9           5.71\n"
                                   "       9.000 0.850000000000          9           6.67\n"
                                   "       9.000 0.875000000000          9           8.00\n"
                                   "       9.000 0.887500000000          9           8.89\n"
                                   "       9.000 0.900000000000          9          10.00\n"
                                   "      10.000 0.912500000000         10          11.43\n"
                                   "      10.000 1.000000000000         10\n"
                                   "#[Mean    =        5.500, StdDeviation   =        2.872]\n"
                                   "#[Max     =       10.000, Total count    =           10]\n"
                                   "#[Buckets =           22, SubBuckets     =         2048]\n";
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    for (int v = 1; v <= 10; v++)
        assert_true(db_hdr_record(&h, v));
    FILE *f = tmpfile();
    assert_int_equal(db_hdr_write_percentiles(f, &h, 5, 1.0), DB_HDR_OK);
    char *text = slurp(f);
    assert_string_equal(text, expected);
    free(text);
    fclose(f);
    db_hdr_close(&h);
}

/* Scaling: 2769000 ns shown in ms is 2.771 (highest equivalent 2770943 / 1e6, %.3f). */
static void percentile_table_scales_values(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&h, 2769000));
    FILE *f = tmpfile();
    assert_int_equal(db_hdr_write_percentiles(f, &h, 5, 1e6), DB_HDR_OK);
    char *text = slurp(f);
    assert_non_null(strstr(text, "       2.771 0.000000000000          1           1.00\n"));
    assert_non_null(strstr(text, "       2.771 1.000000000000          1\n"));
    assert_non_null(strstr(text, "#[Max     =        2.771, Total count    =            1]\n"));
    free(text);
    fclose(f);
    db_hdr_close(&h);
}

/* Numbers are rounded as Java's Formatter does: the shortest decimal that reads back as the double,
 * rounded half-up. 2675 / 1e4 = 0.2675 is stored as 0.26749999999999998..., which C's printf would
 * print as 0.267; Java (and hdr-histogram-js) print 0.268. (2675 is odd, so at s=3 it is the
 * highest equivalent of its 2-wide range, and its median equivalent 2674 + 1 = 2675 gives the same
 * mean.) */
static void percentile_table_rounds_half_up_like_java(void **state) {
    (void)state;
    static const char expected[] = "       Value     Percentile TotalCount 1/(1-Percentile)\n"
                                   "\n"
                                   "       0.268 0.000000000000          1           1.00\n"
                                   "       0.268 1.000000000000          1\n"
                                   "#[Mean    =        0.268, StdDeviation   =        0.000]\n"
                                   "#[Max     =        0.268, Total count    =            1]\n"
                                   "#[Buckets =           22, SubBuckets     =         2048]\n";
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&h, 2675));
    FILE *f = tmpfile();
    assert_int_equal(db_hdr_write_percentiles(f, &h, 5, 1e4), DB_HDR_OK);
    char *text = slurp(f);
    assert_string_equal(text, expected);
    free(text);
    fclose(f);
    /* An exact tie: with 100000 counts at 1 and one at 2, the ladder passes level
     * 100 - 100/4096 + 10/4096 = 99.97802734375 (halving 12, first tick); as a fraction that is
     * 0.9997802734375, printed half-up at 12 places as 0.999780273438; 1/(1-p) = 4551.111... */
    db_hdr_reset(&h);
    assert_true(db_hdr_record_n(&h, 1, 100000));
    assert_true(db_hdr_record(&h, 2));
    f = tmpfile();
    assert_int_equal(db_hdr_write_percentiles(f, &h, 5, 1.0), DB_HDR_OK);
    text = slurp(f);
    assert_non_null(strstr(text, "\n       1.000 0.999780273438     100000        4551.11\n"));
    free(text);
    fclose(f);
    db_hdr_close(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jhiccup_v2_log_matches_published_figures),
        cmocka_unit_test(jhiccup_v3_log_matches_published_figures),
        cmocka_unit_test(jhiccup_v3_tags_are_read),
        cmocka_unit_test(writer_output_is_version_1_3_text),
        cmocka_unit_test(writer_rejects_bad_tags),
        cmocka_unit_test(writer_and_reader_round_trip),
        cmocka_unit_test(reader_errors_name_file_and_line),
        cmocka_unit_test(reader_accepts_crlf_and_absolute_timestamps),
        cmocka_unit_test(percentile_table_of_one_to_ten),
        cmocka_unit_test(percentile_table_scales_values),
        cmocka_unit_test(percentile_table_rounds_half_up_like_java),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
