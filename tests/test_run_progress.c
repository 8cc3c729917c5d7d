/* The live progress line: what it shows, that it is silent when disabled, and that the last call
 * erases it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "progress.h"

static db_run_progress sample(void) {
    db_run_progress p;
    memset(&p, 0, sizeof p);
    p.now_s = 10.0;
    p.total = 100;
    p.issued = 20;
    p.completed = 12;
    p.in_flight = 8;
    p.output_tokens = 1234;
    return p;
}

/* 1234 tokens in 10 s of run clock: 123 tok/s; a p50 TTFT of 0.0567 s shows as 56.7 ms; 10 s as
 * 0:10. */
static void the_line_shows_completed_in_flight_rate_and_p50_ttft(void **state) {
    (void)state;
    db_run_progress p = sample();
    char buf[160];
    db_progress_format(&p, 0.0567, buf, sizeof buf);
    assert_string_equal(buf, "run 12/100 done  8 in flight  123 tok/s  p50 TTFT 56.7 ms  0:10");
}

static void failures_are_counted_when_there_are_some(void **state) {
    (void)state;
    db_run_progress p = sample();
    p.failed = 3;
    char buf[160];
    db_progress_format(&p, -1.0, buf, sizeof buf);
    assert_non_null(strstr(buf, "3 failed"));
    assert_non_null(strstr(buf, "p50 TTFT -"));
}

static size_t written(FILE *f) {
    fflush(f);
    return (size_t)ftell(f);
}

static void a_disabled_display_writes_nothing(void **state) {
    (void)state;
    FILE *f = tmpfile();
    db_progress pg;
    assert_int_equal(db_progress_init(&pg, f, false), 0);
    db_run_progress p = sample();
    db_progress_update(&pg, &p);
    p.final = true;
    db_progress_update(&pg, &p);
    assert_int_equal(written(f), 0);
    db_progress_free(&pg);
    fclose(f);
}

/* Enabled: the line is drawn after a carriage return and cleared to the end of the line; the final
 * call erases it ("\r\033[K"). */
static void an_enabled_display_redraws_in_place_and_erases_at_the_end(void **state) {
    (void)state;
    FILE *f = tmpfile();
    db_progress pg;
    assert_int_equal(db_progress_init(&pg, f, true), 0);
    db_run_progress p = sample();
    double ttft[2] = {0.050, 0.060};
    p.new_ttft_s = ttft;
    p.n_new_ttft = 2;
    db_progress_update(&pg, &p);
    p.final = true;
    p.n_new_ttft = 0;
    db_progress_update(&pg, &p);
    char buf[512] = {0};
    size_t n = written(f);
    rewind(f);
    assert_int_equal(fread(buf, 1, n, f), n);
    assert_memory_equal(buf, "\rrun 12/100 done", 16);
    assert_non_null(strstr(buf, "p50 TTFT 50.0 ms"));
    assert_string_equal(buf + n - 4, "\r\033[K");
    db_progress_free(&pg);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_line_shows_completed_in_flight_rate_and_p50_ttft),
        cmocka_unit_test(failures_are_counted_when_there_are_some),
        cmocka_unit_test(a_disabled_display_writes_nothing),
        cmocka_unit_test(an_enabled_display_redraws_in_place_and_erases_at_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
