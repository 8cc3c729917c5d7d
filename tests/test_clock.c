/* The run clock: the virtual clock moves only by modelled step times and jumps; the real clock
 * reads CLOCK_MONOTONIC and sleeps to absolute deadlines, returning early when a signal arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "clock.h"

static void virtual_clock_starts_at_zero(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_VIRTUAL);
    assert_true(db_clock_now(&c) == 0.0);
}

/* Two modelled steps of 0.25 s and 0.5 s: 0.75 s (both are exact in binary). */
static void virtual_clock_advances_by_modelled_step_times(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_VIRTUAL);
    db_clock_advance(&c, 0.25);
    db_clock_advance(&c, 0.5);
    assert_true(db_clock_now(&c) == 0.75);
}

static void virtual_clock_ignores_negative_and_nan_advances(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_VIRTUAL);
    db_clock_advance(&c, 1.0);
    db_clock_advance(&c, -0.5);
    db_clock_advance(&c, NAN);
    assert_true(db_clock_now(&c) == 1.0);
}

/* sleep_until jumps straight to the deadline and never moves time backwards. */
static void virtual_sleep_jumps_forward_only(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_VIRTUAL);
    assert_true(db_clock_sleep_until(&c, 3600.0));
    assert_true(db_clock_now(&c) == 3600.0);
    assert_true(db_clock_sleep_until(&c, 10.0));
    assert_true(db_clock_now(&c) == 3600.0);
}

static void real_clock_never_goes_backwards(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_REAL);
    double prev = db_clock_now(&c);
    assert_true(prev >= 0.0);
    for (int i = 0; i < 10000; i++) {
        double t = db_clock_now(&c);
        assert_true(t >= prev);
        prev = t;
    }
}

/* advance() is a no-op on the real clock: the engine's work took real time by itself. A modelled
 * hour must not show up in now(). */
static void real_clock_ignores_advance(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_REAL);
    db_clock_advance(&c, 3600.0);
    assert_true(db_clock_now(&c) < 3600.0);
}

/* An absolute deadline 20 ms ahead: when sleep_until returns true, now() has reached it. */
static void real_sleep_returns_at_or_after_the_deadline(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_REAL);
    double deadline = db_clock_now(&c) + 0.020;
    assert_true(db_clock_sleep_until(&c, deadline));
    assert_true(db_clock_now(&c) >= deadline);
}

static void real_sleep_to_a_past_deadline_returns_at_once(void **state) {
    (void)state;
    db_clock c;
    db_clock_init(&c, DB_CLOCK_REAL);
    assert_true(db_clock_sleep_until(&c, -1.0));
    assert_true(db_clock_sleep_until(&c, INFINITY));
}

static volatile sig_atomic_t alarm_seen;
static void on_alarm(int sig) {
    (void)sig;
    alarm_seen = 1;
}

/* A SIGALRM 10 ms into a sleep towards a deadline 60 s away ends the sleep early with false, so a
 * run can notice its stop flag; the clock is then still far from the deadline. */
static void real_sleep_is_cut_short_by_a_signal(void **state) {
    (void)state;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 10000}};
    alarm_seen = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    db_clock c;
    db_clock_init(&c, DB_CLOCK_REAL);
    bool reached = db_clock_sleep_until(&c, 60.0);
    sigaction(SIGALRM, &old, NULL);
    assert_false(reached);
    assert_int_equal(alarm_seen, 1);
    assert_true(db_clock_now(&c) < 60.0);
}

static void clock_kinds_have_names(void **state) {
    (void)state;
    assert_string_equal(db_clock_kind_name(DB_CLOCK_REAL), "real");
    assert_string_equal(db_clock_kind_name(DB_CLOCK_VIRTUAL), "virtual");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(virtual_clock_starts_at_zero),
        cmocka_unit_test(virtual_clock_advances_by_modelled_step_times),
        cmocka_unit_test(virtual_clock_ignores_negative_and_nan_advances),
        cmocka_unit_test(virtual_sleep_jumps_forward_only),
        cmocka_unit_test(real_clock_never_goes_backwards),
        cmocka_unit_test(real_clock_ignores_advance),
        cmocka_unit_test(real_sleep_returns_at_or_after_the_deadline),
        cmocka_unit_test(real_sleep_to_a_past_deadline_returns_at_once),
        cmocka_unit_test(real_sleep_is_cut_short_by_a_signal),
        cmocka_unit_test(clock_kinds_have_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
