/* test_crossover_knee.c — the measured knee of step time versus batch (reports/crossover.h) and the
 * predicted crossover from per-class time lines (harness/sweep_predict.h), on hand-made data. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crossover.h"
#include "sweep_predict.h"

#define assert_near(x, want, tol) assert_true(fabs((x) - (want)) <= (tol))

/* t(B) = max(10, 0.1 B): flat at 10 ms, then 0.1 ms per sequence; the lines meet at B = 100. */
static int hinge(double *b, double *t, double flat, double slope_small, double slope_large) {
    int n = 0;
    for (int B = 10; B <= 300; B += 10, n++) {
        b[n] = B;
        double small = flat + slope_small * B, large = slope_large * B;
        t[n] = small > large ? small : large;
    }
    return n;
}

static void knee_of_an_exact_hinge_is_where_its_lines_meet(void **state) {
    double b[64], t[64];
    int n = hinge(b, t, 10.0, 0.0, 0.1);
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, n, &k), 0);
    assert_true(k.found);
    assert_int_equal(k.method, DB_KNEE_HINGE);
    assert_near(k.batch, 100.0, 1e-9);
    assert_near(k.b1, 0.0, 1e-12);
    assert_near(k.b2, 0.1, 1e-12);
}

/* A sloped memory-bound regime (KV traffic): t = max(10 + 0.01 B, 0.11 B); 10 + 0.01 B = 0.11 B at
 * B = 100. A flat first line would miss it; the fitted one does not. */
static void knee_follows_a_sloped_small_batch_regime(void **state) {
    double b[64], t[64];
    int n = hinge(b, t, 10.0, 0.01, 0.11);
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, n, &k), 0);
    assert_true(k.found);
    assert_near(k.batch, 100.0, 1e-9);
    assert_near(k.b1, 0.01, 1e-12);
}

/* The same points shuffled give the same knee. */
static void knee_does_not_depend_on_point_order(void **state) {
    double b[64], t[64], bs[64], ts[64];
    int n = hinge(b, t, 10.0, 0.0, 0.1);
    for (int i = 0; i < n; i++) {
        int j = (i * 7) % n; /* 7 is coprime with n = 30: a permutation */
        bs[i] = b[j];
        ts[i] = t[j];
    }
    db_knee k;
    assert_int_equal(db_knee_fit(bs, ts, n, &k), 0);
    assert_near(k.batch, 100.0, 1e-9);
}

/* +-3% alternating noise on the hinge moves the knee by less than 10%. */
static void knee_survives_three_percent_noise(void **state) {
    double b[64], t[64];
    int n = hinge(b, t, 10.0, 0.0, 0.1);
    for (int i = 0; i < n; i++)
        t[i] *= i % 2 ? 1.03 : 0.97;
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, n, &k), 0);
    assert_true(k.found);
    assert_near(k.batch, 100.0, 10.0);
}

/* t = 1 + 0.01 B (ms) is one line, no slope change: the knee is its balance point a / b = 100,
 * where the 0.01 ms per sequence add up to the 1 ms fixed per step (a backend that does not overlap
 * memory and compute). */
static void straight_line_with_intercept_has_its_balance_point(void **state) {
    double b[32], t[32];
    for (int i = 0; i < 32; i++) {
        b[i] = 1 + 4 * i;
        t[i] = 1 + 0.01 * b[i];
    }
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, 32, &k), 0);
    assert_true(k.found);
    assert_int_equal(k.method, DB_KNEE_BALANCE);
    assert_string_equal(db_knee_method_name(k.method), "balance");
    assert_near(k.batch, 100.0, 1e-9);
}

/* t = 0.01 B: proportional from the start (compute-bound at every batch): no knee. */
static void proportional_curve_has_no_knee(void **state) {
    double b[32], t[32];
    for (int i = 0; i < 32; i++) {
        b[i] = 1 + 4 * i;
        t[i] = 0.01 * b[i];
    }
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, 32, &k), 0);
    assert_false(k.found);
    assert_true(isnan(k.batch));
    assert_non_null(strstr(k.why, "no balance point either"));
}

/* A constant step time (memory-bound at every batch) has no knee either. */
static void flat_curve_has_no_knee(void **state) {
    double b[16], t[16];
    for (int i = 0; i < 16; i++) {
        b[i] = i + 1;
        t[i] = 5.0;
    }
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, 16, &k), 0);
    assert_false(k.found);
}

static void fewer_than_five_batch_sizes_cannot_be_fitted(void **state) {
    double b[] = {1, 2, 4, 8, 8, 8}, t[] = {1, 1, 1, 2, 2, 2};
    db_knee k;
    assert_int_equal(db_knee_fit(b, t, 6, &k), -1);
    assert_non_null(strstr(k.why, "fewer than 5 distinct"));
    double bad_t[] = {1, 1, 0, 2, 3};
    double b5[] = {1, 2, 3, 4, 5};
    assert_int_equal(db_knee_fit(b5, bad_t, 5, &k), -1);
    assert_non_null(strstr(k.why, "non-positive"));
}

/* Two curves (keys "a" and "b") with knees at 100 and 50; a failed row gets none. */
static void groups_get_their_own_knee(void **state) {
    double b[128], t[128], knee[128];
    const char *keys[128];
    int ok[128];
    int n = hinge(b, t, 10.0, 0.0, 0.1);
    int m = hinge(b + n, t + n, 5.0, 0.0, 0.1); /* 5 = 0.1 B at B = 50 */
    for (int i = 0; i < n + m; i++) {
        keys[i] = i < n ? "a" : "b";
        ok[i] = i != 3;
    }
    t[3] = 1e9; /* the failed row's value must not count */
    int method[128];
    assert_int_equal(db_knee_fill_groups((size_t)(n + m), keys, b, t, ok, knee, method), 0);
    assert_int_equal(method[0], DB_KNEE_HINGE);
    assert_int_equal(method[3], DB_KNEE_NONE);
    assert_near(knee[0], 100.0, 1e-9);
    assert_true(isnan(knee[3]));
    assert_near(knee[n + 5], 50.0, 1e-9);
}

/* ---- predicted crossover from class lines ---------------------------------------------------- */

/* One GEMM class: 10 ms of weights over the bandwidth, 0.1 ms of compute per sequence; and an
 * attention class always memory-bound at 0.05 ms per sequence. Predicted: 10 = 0.1 B -> B* = 100
 * (attention adds 0.05 B to both regimes). Whole step: 10 + 0.05 B = 0.1 B -> B = 200. */
static void predicted_crossover_by_hand(void **state) {
    db_step_lines l;
    memset(&l, 0, sizeof l);
    l.cls[DB_OP_MLP] = (db_step_class_line){.mem0 = 10e-3, .comp1 = 0.1e-3};
    l.cls[DB_OP_ATTN] = (db_step_class_line){.mem1 = 0.05e-3};
    db_ceilings c;
    memset(&c, 0, sizeof c);
    c.dev.memory_bandwidth = 1e12;
    c.dev.peak_flops[DB_PEAK_BF16] = 200e12; /* ridge 200, bf16 w = 2: ridge x w / 2 = 200 */
    db_crossover_prediction p;
    db_crossover_predict(&l, &c, DB_PREC_BF16, &p);
    assert_near(p.crossover_batch, 100.0, 1e-9);
    assert_near(p.ai_ridge_batch, 200.0, 1e-9);
    assert_near(p.ridge_batch, 200.0, 1e-9);
    assert_near(p.mem0, 10e-3, 1e-15);
    assert_near(p.mem1, 0.05e-3, 1e-15);
    assert_near(p.comp1, 0.15e-3, 1e-15);
    /* the lines' time at B = 100: max(10, 10) + 5 ms; overhead 0 */
    assert_near(db_step_lines_time(&l, 100), 15e-3, 1e-15);
}

/* Attention's KV traffic at 0.2 ms per sequence outgrows the 0.1 ms of GEMM compute: the whole step
 * never reaches the ridge, while the GEMM knee stays at 100. */
static void long_context_removes_the_whole_step_crossover(void **state) {
    db_step_lines l;
    memset(&l, 0, sizeof l);
    l.cls[DB_OP_MLP] = (db_step_class_line){.mem0 = 10e-3, .comp1 = 0.1e-3};
    l.cls[DB_OP_ATTN] = (db_step_class_line){.mem1 = 0.2e-3};
    db_ceilings c;
    memset(&c, 0, sizeof c);
    c.dev.memory_bandwidth = 1e12;
    db_crossover_prediction p;
    db_crossover_predict(&l, &c, DB_PREC_BF16, &p);
    assert_near(p.crossover_batch, 100.0, 1e-9);
    assert_true(isnan(p.ai_ridge_batch));
    assert_true(isnan(p.ridge_batch)); /* no bf16 peak */
}

/* No class changes regime (compute never catches up): no predicted crossover. */
static void memory_bound_everywhere_has_no_prediction(void **state) {
    db_step_lines l;
    memset(&l, 0, sizeof l);
    l.cls[DB_OP_MLP] = (db_step_class_line){.mem0 = 10e-3, .mem1 = 0.2e-3, .comp1 = 0.1e-3};
    db_ceilings c;
    memset(&c, 0, sizeof c);
    db_crossover_prediction p;
    db_crossover_predict(&l, &c, DB_PREC_BF16, &p);
    assert_true(isnan(p.crossover_batch));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(knee_of_an_exact_hinge_is_where_its_lines_meet),
        cmocka_unit_test(knee_follows_a_sloped_small_batch_regime),
        cmocka_unit_test(knee_does_not_depend_on_point_order),
        cmocka_unit_test(knee_survives_three_percent_noise),
        cmocka_unit_test(straight_line_with_intercept_has_its_balance_point),
        cmocka_unit_test(proportional_curve_has_no_knee),
        cmocka_unit_test(flat_curve_has_no_knee),
        cmocka_unit_test(fewer_than_five_batch_sizes_cannot_be_fitted),
        cmocka_unit_test(groups_get_their_own_knee),
        cmocka_unit_test(predicted_crossover_by_hand),
        cmocka_unit_test(long_context_removes_the_whole_step_crossover),
        cmocka_unit_test(memory_bound_everywhere_has_no_prediction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
