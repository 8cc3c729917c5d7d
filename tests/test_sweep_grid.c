/* test_sweep_grid.c — sweep value lists and ranges, their errors, grid order and shards
 * (harness/sweep_grid.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sweep_grid.h"

static char err[512];

/* Parses text as --batch (1..1048576) and checks the values. */
static void expect_ints(const char *text, const int64_t *want, int n_want) {
    int64_t *v = NULL;
    int n = 0;
    int rc = db_sweep_parse_ints("--batch", text, 1, 1 << 20, &v, &n, err, sizeof err);
    if (rc != 0) fail_msg("'%s': %s", text, err);
    assert_int_equal(n, n_want);
    for (int i = 0; i < n; i++)
        assert_int_equal(v[i], want[i]);
    free(v);
}

/* Parses text and expects an error whose message contains `needle`. */
static void expect_error(const char *text, const char *needle) {
    int64_t *v = NULL;
    int n = 0;
    assert_int_equal(db_sweep_parse_ints("--batch", text, 1, 1 << 20, &v, &n, err, sizeof err), -1);
    assert_null(v);
    if (!strstr(err, needle)) fail_msg("'%s': message '%s' lacks '%s'", text, err, needle);
}

/* 1..512x2 = 2^0 .. 2^9: ten values. */
static void geometric_range_doubles_up_to_the_end(void **state) {
    const int64_t want[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
    expect_ints("1..512x2", want, 10);
}

/* 3..100x3 = 3, 9, 27, 81 (243 > 100 stops it). */
static void geometric_range_stops_before_passing_the_end(void **state) {
    const int64_t want[] = {3, 9, 27, 81};
    expect_ints("3..100x3", want, 4);
}

/* 1..64+8 = 1, 9, 17, 25, 33, 41, 49, 57 (65 > 64 stops it). */
static void arithmetic_range_steps_up_to_the_end(void **state) {
    const int64_t want[] = {1, 9, 17, 25, 33, 41, 49, 57};
    expect_ints("1..64+8", want, 8);
}

static void plain_range_has_step_one(void **state) {
    const int64_t want[] = {5, 6, 7};
    expect_ints("5..7", want, 3);
}

/* Items mix and keep the order given. */
static void list_mixes_values_and_ranges_in_the_given_order(void **state) {
    const int64_t want[] = {100, 1, 2, 4, 8, 3};
    expect_ints("100,1..8x2,3", want, 6);
}

static void single_value_range_is_one_value(void **state) {
    const int64_t want[] = {7};
    expect_ints("7..7", want, 1);
}

static void malformed_items_name_the_item(void **state) {
    expect_error("", "got nothing");
    expect_error("1,,2", "empty item");
    expect_error("1,", "empty item");
    expect_error("abc", "bad item 'abc'");
    expect_error("1..", "bad item '1..'");
    expect_error("1..8x", "bad item '1..8x'");
    expect_error("1..8x2.5", "bad item '1..8x2.5'");
    expect_error("+4", "bad item '+4'");
    expect_error("1...8", "bad item '1...8'");
}

static void backwards_range_is_an_error(void **state) {
    expect_error("8..1", "runs backwards (8 > 1)");
}

/* x1 would never end; a geometric range from 0 neither. */
static void geometric_range_needs_factor_two_and_positive_start(void **state) {
    expect_error("1..8x1", "factor >= 2");
    expect_error("1..8x0", "factor >= 2");
    expect_error("1..8+0", "step >= 1");
}

static void values_outside_the_flag_range_are_errors(void **state) {
    expect_error("0", "gives 0, outside 1..1048576");
    expect_error("1..4000000x2", "gives 2097152, outside 1..1048576");
}

static void duplicate_values_are_errors(void **state) {
    expect_error("4,4", "4 is given twice");
    expect_error("1..8x2,8", "8 is given twice (item '8')");
}

/* DB_SWEEP_MAX_VALUES = 10000. */
static void more_than_ten_thousand_values_is_an_error(void **state) {
    expect_error("1..20000", "more than 10000 values");
}

static void precision_list_parses_names_once_each(void **state) {
    db_precision p[DB_PREC_COUNT];
    int n;
    assert_int_equal(
        db_sweep_parse_precisions("--precision", "bf16,int8,int4", p, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(p[0], DB_PREC_BF16);
    assert_int_equal(p[2], DB_PREC_INT4);
    assert_int_equal(db_sweep_parse_precisions("--precision", "bf16,bf16", p, &n, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "'bf16' is given twice"));
    assert_int_equal(db_sweep_parse_precisions("--precision", "bf17", p, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown value 'bf17'"));
}

static void kv_dtype_list_rejects_unknown_names(void **state) {
    db_kv_dtype k[DB_KV_COUNT];
    int n;
    assert_int_equal(db_sweep_parse_kv_dtypes("--kv-dtype", "fp8,fp16", k, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(k[0], DB_KV_FP8);
    assert_int_equal(db_sweep_parse_kv_dtypes("--kv-dtype", "int8", k, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "expected fp32, fp16, bf16 or fp8"));
}

static void shard_is_index_slash_count_with_index_below_count(void **state) {
    int i, n;
    assert_int_equal(db_sweep_parse_shard("2/3", &i, &n, err, sizeof err), 0);
    assert_int_equal(i, 2);
    assert_int_equal(n, 3);
    const char *bad[] = {"3/3", "1/0", "-1/2", "1", "a/b", "1/2/3", ""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(db_sweep_parse_shard(bad[k], &i, &n, err, sizeof err), -1);
        assert_non_null(strstr(err, "--shard expects I/N"));
    }
}

/* Order: precision, KV dtype, context, batch (innermost). 2 x 1 x 2 x 3 = 12 points. */
static void grid_runs_batch_innermost_and_precision_outermost(void **state) {
    int64_t ctx[] = {128, 1024}, batch[] = {1, 2, 4};
    db_sweep_grid g = {.precisions = {DB_PREC_BF16, DB_PREC_INT8},
                       .n_precisions = 2,
                       .kv_dtypes = {DB_KV_BF16},
                       .n_kv_dtypes = 1,
                       .contexts = ctx,
                       .n_contexts = 2,
                       .batches = batch,
                       .n_batches = 3};
    assert_int_equal(db_sweep_grid_size(&g), 12);
    db_sweep_point p;
    db_sweep_grid_point(&g, 0, &p);
    assert_int_equal(p.precision, DB_PREC_BF16);
    assert_int_equal(p.context, 128);
    assert_int_equal(p.batch, 1);
    db_sweep_grid_point(&g, 5, &p); /* bf16, context 1024, batch 4 */
    assert_int_equal(p.precision, DB_PREC_BF16);
    assert_int_equal(p.context, 1024);
    assert_int_equal(p.batch, 4);
    db_sweep_grid_point(&g, 7, &p); /* int8, context 128, batch 2 */
    assert_int_equal(p.index, 7);
    assert_int_equal(p.precision, DB_PREC_INT8);
    assert_int_equal(p.context, 128);
    assert_int_equal(p.batch, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(geometric_range_doubles_up_to_the_end),
        cmocka_unit_test(geometric_range_stops_before_passing_the_end),
        cmocka_unit_test(arithmetic_range_steps_up_to_the_end),
        cmocka_unit_test(plain_range_has_step_one),
        cmocka_unit_test(list_mixes_values_and_ranges_in_the_given_order),
        cmocka_unit_test(single_value_range_is_one_value),
        cmocka_unit_test(malformed_items_name_the_item),
        cmocka_unit_test(backwards_range_is_an_error),
        cmocka_unit_test(geometric_range_needs_factor_two_and_positive_start),
        cmocka_unit_test(values_outside_the_flag_range_are_errors),
        cmocka_unit_test(duplicate_values_are_errors),
        cmocka_unit_test(more_than_ten_thousand_values_is_an_error),
        cmocka_unit_test(precision_list_parses_names_once_each),
        cmocka_unit_test(kv_dtype_list_rejects_unknown_names),
        cmocka_unit_test(shard_is_index_slash_count_with_index_below_count),
        cmocka_unit_test(grid_runs_batch_innermost_and_precision_outermost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
