/* Exact parsing of the numbers traces and specs are made of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parse.h"

static void seconds_parse_exactly_to_nanoseconds(void **state) {
    (void)state;
    int64_t ns;
    assert_int_equal(db_parse_seconds_ns("12", &ns), 0);
    assert_int_equal(ns, 12000000000LL);
    assert_int_equal(db_parse_seconds_ns("19440110.0", &ns), 0); /* a BurstGPT_3 timestamp */
    assert_int_equal(ns, 19440110000000000LL);
    assert_int_equal(db_parse_seconds_ns("0.000000001", &ns), 0);
    assert_int_equal(ns, 1);
    assert_int_equal(db_parse_seconds_ns(".5", &ns), 0);
    assert_int_equal(ns, 500000000LL);
    assert_int_equal(db_parse_seconds_ns("3.", &ns), 0);
    assert_int_equal(ns, 3000000000LL);
    /* 0.1 + 0.2 in binary floating point is 0.30000000000000004; here it is exact. */
    assert_int_equal(db_parse_seconds_ns("0.3", &ns), 0);
    assert_int_equal(ns, 300000000LL);
}

static void a_tenth_fractional_digit_rounds_half_up(void **state) {
    (void)state;
    int64_t ns;
    assert_int_equal(db_parse_seconds_ns("1.0000000015", &ns), 0);
    assert_int_equal(ns, 1000000002LL);
    assert_int_equal(db_parse_seconds_ns("1.00000000149", &ns), 0);
    assert_int_equal(ns, 1000000001LL);
}

static void seconds_reject_signs_exponents_and_junk(void **state) {
    (void)state;
    int64_t ns;
    const char *bad[] = {
        "", ".", "-1", "+1", "1e3", "1.5s", " 1", "1 ", "abc", "1..2", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(db_parse_seconds_ns(bad[i], &ns), -1);
}

/* 2023-11-16 18:15:46 UTC is 1700158546 s after the epoch (date -u -d '2023-11-16 18:15:46' +%s).
 */
static void azure_2023_timestamps_parse_to_exact_nanoseconds(void **state) {
    (void)state;
    int64_t ns;
    assert_int_equal(db_parse_timestamp_ns("2023-11-16 18:15:46.6805900", &ns), 0);
    assert_int_equal(ns, 1700158546680590000LL);
}

/* The 2024 form carries a zone; +00:00 is UTC, and another offset moves the instant. */
static void azure_2024_timestamps_with_an_offset_parse(void **state) {
    (void)state;
    int64_t a, b, c;
    assert_int_equal(db_parse_timestamp_ns("2024-05-10 00:00:00.009930+00:00", &a), 0);
    assert_int_equal(a, 1715299200009930000LL); /* date -u -d '2024-05-10' +%s = 1715299200 */
    assert_int_equal(db_parse_timestamp_ns("2024-05-10T02:00:00.009930+02:00", &b), 0);
    assert_int_equal(b, a);
    assert_int_equal(db_parse_timestamp_ns("2024-05-09 23:00:00.00993-0100", &c), 0);
    assert_int_equal(c, a);
    assert_int_equal(db_parse_timestamp_ns("2024-05-10 00:00:00.00993Z", &c), 0);
    assert_int_equal(c, a);
}

static void leap_days_and_year_ends_are_counted(void **state) {
    (void)state;
    int64_t a, b;
    assert_int_equal(db_parse_timestamp_ns("2024-02-28 23:59:59", &a), 0);
    assert_int_equal(db_parse_timestamp_ns("2024-03-01 00:00:00", &b), 0);
    assert_int_equal(b - a, (86400LL + 1) * 1000000000LL); /* 2024 has a Feb 29 */
    assert_int_equal(db_parse_timestamp_ns("1970-01-01 00:00:00", &a), 0);
    assert_int_equal(a, 0);
}

static void malformed_timestamps_are_rejected(void **state) {
    (void)state;
    int64_t ns;
    const char *bad[] = {"2023-11-16",
                         "2023-11-16 18:15",
                         "2023-13-01 00:00:00",
                         "2023-02-29 00:00:00",
                         "2023-11-16 24:00:00",
                         "2023-11-16 18:60:00",
                         "2023-11-16 18:15:46.",
                         "2023-11-16 18:15:46+5",
                         "2023/11/16 18:15:46",
                         "2023-11-16 18:15:46 ",
                         "2023-11-16 18:15:46+25:00",
                         "9999-12-31 23:59:59" /* beyond int64 nanoseconds (2262) */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(db_parse_timestamp_ns(bad[i], &ns), -1);
}

static void durations_take_units(void **state) {
    (void)state;
    double s;
    assert_int_equal(db_parse_duration_s("500ms", &s), 0);
    assert_true(s == 0.5);
    assert_int_equal(db_parse_duration_s("2", &s), 0);
    assert_true(s == 2.0);
    assert_int_equal(db_parse_duration_s("1.5m", &s), 0);
    assert_true(s == 90.0);
    assert_int_equal(db_parse_duration_s("-1s", &s), -1);
    assert_int_equal(db_parse_duration_s("5 parsecs", &s), -1);
}

static void integers_must_be_whole_strings(void **state) {
    (void)state;
    int64_t v;
    assert_int_equal(db_parse_int64("-17", &v), 0);
    assert_int_equal(v, -17);
    assert_int_equal(db_parse_int64("12abc", &v), -1);
    assert_int_equal(db_parse_int64("1.0", &v), -1);
    assert_int_equal(db_parse_int64("", &v), -1);
    assert_int_equal(db_parse_int64("9223372036854775808", &v), -1); /* INT64_MAX + 1 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seconds_parse_exactly_to_nanoseconds),
        cmocka_unit_test(a_tenth_fractional_digit_rounds_half_up),
        cmocka_unit_test(seconds_reject_signs_exponents_and_junk),
        cmocka_unit_test(azure_2023_timestamps_parse_to_exact_nanoseconds),
        cmocka_unit_test(azure_2024_timestamps_with_an_offset_parse),
        cmocka_unit_test(leap_days_and_year_ends_are_counted),
        cmocka_unit_test(malformed_timestamps_are_rejected),
        cmocka_unit_test(durations_take_units),
        cmocka_unit_test(integers_must_be_whole_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
