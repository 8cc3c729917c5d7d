/* The load generator: open-loop items arrive at their intended times; closed-loop items keep
 * `concurrency` requests in flight and arrive when a slot frees (plus think time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "loadgen.h"

static db_schedule_item items4[4] = {{0.5, 10, 5}, {1.0, 10, 5}, {1.0, 10, 5}, {2.5, 10, 5}};

static db_schedule open_schedule(void) {
    db_schedule s;
    memset(&s, 0, sizeof s);
    s.items = items4;
    s.n = 4;
    s.mode = DB_ARRIVAL_OPEN;
    return s;
}

static db_schedule closed_schedule(int concurrency, double think_s) {
    db_schedule s = open_schedule();
    s.mode = DB_ARRIVAL_CLOSED;
    s.concurrency = concurrency;
    s.think_s = think_s;
    return s;
}

static void open_loop_issues_nothing_before_the_first_arrival(void **state) {
    (void)state;
    db_schedule s = open_schedule();
    db_loadgen lg;
    assert_int_equal(db_loadgen_init(&lg, &s, NULL), DB_OK);
    size_t i;
    double t;
    assert_false(db_loadgen_pop(&lg, 0.49, &i, &t));
    assert_true(db_loadgen_next_time(&lg) == 0.5);
    db_loadgen_free(&lg);
}

/* At now = 1.0 the items due are 0 (0.5), 1 and 2 (1.0), each with its INTENDED time, not now. */
static void open_loop_issues_every_due_item_with_its_intended_time(void **state) {
    (void)state;
    db_schedule s = open_schedule();
    db_loadgen lg;
    assert_int_equal(db_loadgen_init(&lg, &s, NULL), DB_OK);
    size_t i;
    double t;
    const double expected[3] = {0.5, 1.0, 1.0};
    for (size_t k = 0; k < 3; k++) {
        assert_true(db_loadgen_pop(&lg, 1.0, &i, &t));
        assert_int_equal(i, k);
        assert_true(t == expected[k]);
    }
    assert_false(db_loadgen_pop(&lg, 1.0, &i, &t));
    assert_true(db_loadgen_pop(&lg, 100.0, &i, &t));
    assert_int_equal(i, 3);
    assert_true(t == 2.5);
    assert_true(db_loadgen_exhausted(&lg));
    assert_true(isinf(db_loadgen_next_time(&lg)));
    db_loadgen_free(&lg);
}

static void open_loop_rejects_arrivals_that_go_backwards(void **state) {
    (void)state;
    db_schedule_item bad[2] = {{2.0, 1, 1}, {1.0, 1, 1}};
    db_schedule s = open_schedule();
    s.items = bad;
    s.n = 2;
    db_loadgen lg;
    db_error err;
    assert_int_equal(db_loadgen_init(&lg, &s, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "item 1"));
}

static void an_empty_schedule_is_rejected(void **state) {
    (void)state;
    db_schedule s = open_schedule();
    s.n = 0;
    db_loadgen lg;
    db_error err;
    assert_int_equal(db_loadgen_init(&lg, &s, &err), DB_ERR_INVALID);
}

/* concurrency 2: items 0 and 1 at t = 0, then nothing until a request ends. */
static void closed_loop_starts_concurrency_requests_at_zero(void **state) {
    (void)state;
    db_schedule s = closed_schedule(2, 0.0);
    db_loadgen lg;
    assert_int_equal(db_loadgen_init(&lg, &s, NULL), DB_OK);
    size_t i;
    double t;
    assert_true(db_loadgen_pop(&lg, 0.0, &i, &t) && i == 0 && t == 0.0);
    assert_true(db_loadgen_pop(&lg, 0.0, &i, &t) && i == 1 && t == 0.0);
    assert_false(db_loadgen_pop(&lg, 1e9, &i, &t));
    assert_true(isinf(db_loadgen_next_time(&lg)));
    assert_false(db_loadgen_exhausted(&lg));
    db_loadgen_free(&lg);
}

/* A request ending at 3.0 with 0.25 s think time frees a slot whose next item arrives at 3.25. */
static void closed_loop_issues_the_next_item_after_think_time(void **state) {
    (void)state;
    db_schedule s = closed_schedule(1, 0.25);
    db_loadgen lg;
    assert_int_equal(db_loadgen_init(&lg, &s, NULL), DB_OK);
    size_t i;
    double t;
    assert_true(db_loadgen_pop(&lg, 0.0, &i, &t));
    db_loadgen_done(&lg, 3.0);
    assert_true(db_loadgen_next_time(&lg) == 3.25);
    assert_false(db_loadgen_pop(&lg, 3.2, &i, &t));
    assert_true(db_loadgen_pop(&lg, 5.0, &i, &t));
    assert_int_equal(i, 1);
    assert_true(t == 3.25);
    db_loadgen_free(&lg);
}

static void closed_loop_needs_a_positive_concurrency(void **state) {
    (void)state;
    db_schedule s = closed_schedule(0, 0.0);
    db_loadgen lg;
    db_error err;
    assert_int_equal(db_loadgen_init(&lg, &s, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "concurrency"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_loop_issues_nothing_before_the_first_arrival),
        cmocka_unit_test(open_loop_issues_every_due_item_with_its_intended_time),
        cmocka_unit_test(open_loop_rejects_arrivals_that_go_backwards),
        cmocka_unit_test(an_empty_schedule_is_rejected),
        cmocka_unit_test(closed_loop_starts_concurrency_requests_at_zero),
        cmocka_unit_test(closed_loop_issues_the_next_item_after_think_time),
        cmocka_unit_test(closed_loop_needs_a_positive_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
