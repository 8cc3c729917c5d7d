/* tests/test_hdr_core.c — HDR histogram layout, recording, queries, merge and iteration.
 * Expected numbers come from spec/hdr.md's worked examples or from hand derivations in the
 * comments, using the spec's formulas (bucket from clz, sub-bucket by shift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>

#include <cmocka.h>

#include "../harness/hdr.h"

#define ONE_HOUR_NS 3600000000000LL

/* spec/hdr.md, Configuration: L=1, H=3.6e9, s=3. */
static void layout_matches_spec_example(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_int_equal(h.sub_bucket_count, 2048);
    assert_int_equal(h.sub_bucket_half_count, 1024);
    assert_int_equal(h.unit_magnitude, 0);
    assert_int_equal(h.bucket_count, 22);
    assert_int_equal(h.counts_len, 23552);
    db_hdr_close(&h);
}

/* unit_magnitude = floor(log2(1000)) = 9; s=2 -> 2^ceil(log2(200)) = 256 sub-buckets, mask 255
 * << 9. */
static void layout_with_large_lowest_and_two_digits(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1000, 1000000, 2), DB_HDR_OK);
    assert_int_equal(h.unit_magnitude, 9);
    assert_int_equal(h.sub_bucket_count, 256);
    assert_int_equal(h.sub_bucket_mask, 255LL << 9);
    /* 256 << 9 = 131072 <= 1e6 -> 262144 -> 524288 -> 1048576 > 1e6: 4 buckets, (4+1)*128 counts */
    assert_int_equal(h.bucket_count, 4);
    assert_int_equal(h.counts_len, 640);
    db_hdr_close(&h);
}

static void init_rejects_bad_configuration(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 0, 100, 3), DB_HDR_EINVAL);  /* L < 1 */
    assert_int_equal(db_hdr_init(&h, 10, 19, 3), DB_HDR_EINVAL);  /* H < 2L */
    assert_int_equal(db_hdr_init(&h, 1, 1000, 0), DB_HDR_EINVAL); /* s < 1 */
    assert_int_equal(db_hdr_init(&h, 1, 1000, 6), DB_HDR_EINVAL); /* s > 5 */
    assert_null(h.counts);
    db_hdr_close(&h); /* closing a failed init is safe */
}

/* The widest layout (L=1, H=2^63-1, s=5) must still be constructible: top bucket saturates. */
static void widest_layout_records_int64_max(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, INT64_MAX, 5), DB_HDR_OK);
    assert_true(db_hdr_record(&h, INT64_MAX));
    assert_int_equal(db_hdr_max(&h), INT64_MAX); /* the top range ends at 2^63 - 1 */
    assert_int_equal(db_hdr_next_non_equivalent(&h, INT64_MAX), INT64_MAX); /* saturates */
    db_hdr_close(&h);
}

/* spec/hdr.md, Value <-> index: 10007 -> index 4322; lowest 10000, size 8, highest 10007, median
 * 10004. */
static void equivalent_range_of_10007(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_int_equal(db_hdr_index_of(&h, 10007), 4322);
    assert_int_equal(db_hdr_lowest_equivalent(&h, 10007), 10000);
    assert_int_equal(db_hdr_size_of_range(&h, 10007), 8);
    assert_int_equal(db_hdr_highest_equivalent(&h, 10007), 10007);
    assert_int_equal(db_hdr_median_equivalent(&h, 10007), 10004);
    assert_int_equal(db_hdr_next_non_equivalent(&h, 10007), 10008);
    assert_int_equal(db_hdr_value_at_index(&h, 4322), 10000);
    assert_true(db_hdr_values_are_equivalent(&h, 10000, 10007));
    assert_false(db_hdr_values_are_equivalent(&h, 10007, 10008));
    db_hdr_close(&h);
}

/* spec: 2047 -> 2047 and 2048 -> 2048 (the first two buckets are exact to the unit). */
static void values_up_to_the_first_buckets_are_exact(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_int_equal(db_hdr_index_of(&h, 2047), 2047);
    assert_int_equal(db_hdr_index_of(&h, 2048), 2048);
    assert_int_equal(db_hdr_size_of_range(&h, 2047), 1);
    assert_int_equal(db_hdr_size_of_range(&h, 2048), 2); /* bucket 1 steps by 2 */
    assert_int_equal(db_hdr_value_at_index(&h, 2047), 2047);
    assert_int_equal(db_hdr_value_at_index(&h, 2048), 2048);
    db_hdr_close(&h);
}

/* Every index maps back to a value that maps to the same index, over the whole layout. */
static void index_and_value_round_trip_everywhere(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1000, ONE_HOUR_NS, 3), DB_HDR_OK);
    for (int32_t i = 0; i < h.counts_len; i++) {
        int64_t v = db_hdr_value_at_index(&h, i);
        assert_int_equal(db_hdr_index_of(&h, v), i);
        assert_int_equal(db_hdr_index_of(&h, db_hdr_highest_equivalent(&h, v)), i);
    }
    db_hdr_close(&h);
}

/* spec/hdr.md, Queries: values 1..10, p44 -> 5 (ceil(0.44 * 10) = 5th value). */
static void p44_of_one_to_ten_is_five(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    for (int v = 1; v <= 10; v++)
        assert_true(db_hdr_record(&h, v));
    assert_int_equal(db_hdr_value_at_percentile(&h, 44.0), 5);
    /* exact products are not rounded up: p50 -> 5th value, p10 -> 1st, p100 -> 10th */
    assert_int_equal(db_hdr_value_at_percentile(&h, 50.0), 5);
    assert_int_equal(db_hdr_value_at_percentile(&h, 10.0), 1);
    assert_int_equal(db_hdr_value_at_percentile(&h, 50.1), 6);
    assert_int_equal(db_hdr_value_at_percentile(&h, 100.0), 10);
    assert_int_equal(db_hdr_value_at_percentile(&h, 250.0), 10); /* clamped to 100 */
    assert_int_equal(db_hdr_value_at_percentile(&h, 0.0), 1);
    db_hdr_close(&h);
}

/* The search (which walks down from the top for high percentiles) finds the same index as the
 * spec's plain walk: the first index where the running sum reaches ceil(p/100 * total), computed
 * with p one ulp lower. Checked on 200 generated histograms x 15 percentiles. */
static void percentile_search_matches_forward_walk(void **state) {
    (void)state;
    const double ps[] = {0.0,  1.0,  10.0, 25.0,  44.0,  50.0,   50.0001, 66.6,
                         75.0, 90.0, 99.0, 99.49, 99.99, 99.999, 100.0};
    uint64_t x = 88172645463325252ull; /* xorshift64 */
    for (int round = 0; round < 200; round++) {
        db_hdr h;
        assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 2), DB_HDR_OK);
        int n = 1 + round % 50;
        for (int i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            assert_true(db_hdr_record_n(&h, (int64_t)(x % 100000000), 1 + (int64_t)(x >> 60)));
        }
        for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
            double p = nextafter(ps[k], -INFINITY);
            p = p < 0 ? 0 : p;
            int64_t target = (int64_t)ceil(p * (double)h.total_count / 100.0);
            target = target < 1 ? 1 : target;
            int64_t running = 0;
            int32_t i = 0;
            while ((running += h.counts[i]) < target)
                i++;
            int64_t v = db_hdr_value_at_index(&h, i);
            int64_t expected =
                ps[k] == 0.0 ? db_hdr_lowest_equivalent(&h, v) : db_hdr_highest_equivalent(&h, v);
            assert_int_equal(db_hdr_value_at_percentile(&h, ps[k]), expected);
        }
        db_hdr_close(&h);
    }
}

/* p0 returns the lowest equivalent and p>0 the highest equivalent of the value's range:
 * 100000000 at s=3 lies in bucket 16 (range 65536): lowest 1525*65536 = 99942400, highest
 * 100007935. */
static void percentile_reports_highest_equivalent_value(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&h, 100000000));
    assert_int_equal(db_hdr_value_at_percentile(&h, 0.0), 99942400);
    assert_int_equal(db_hdr_value_at_percentile(&h, 99.0), 100007935);
    assert_int_equal(db_hdr_min(&h), 99942400);
    assert_int_equal(db_hdr_max(&h), 100007935);
    db_hdr_close(&h);
}

/* spec: values 1..10 give mean 5.5 and population stddev sqrt(8.25) = 2.8723 (.hgrm example). */
static void mean_and_stddev_of_one_to_ten(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    for (int v = 1; v <= 10; v++)
        assert_true(db_hdr_record(&h, v));
    assert_float_equal(db_hdr_mean(&h), 5.5, 1e-12);
    assert_float_equal(db_hdr_stddev(&h), 2.8722813232690143, 1e-12);
    assert_int_equal(db_hdr_min(&h), 1);
    assert_int_equal(db_hdr_max(&h), 10);
    db_hdr_close(&h);
}

/* mean uses median-equivalent values: 10007 counts as 10004 (spec example). */
static void mean_uses_median_equivalent_values(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&h, 10007, 3));
    assert_float_equal(db_hdr_mean(&h), 10004.0, 0.0);
    assert_float_equal(db_hdr_stddev(&h), 0.0, 0.0);
    db_hdr_close(&h);
}

static void empty_histogram_reports_zeros(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_int_equal(h.total_count, 0);
    assert_int_equal(db_hdr_min(&h), 0);
    assert_int_equal(db_hdr_max(&h), 0);
    assert_float_equal(db_hdr_mean(&h), 0.0, 0.0);
    assert_float_equal(db_hdr_stddev(&h), 0.0, 0.0);
    assert_int_equal(db_hdr_value_at_percentile(&h, 99.0), 0);
    db_hdr_close(&h);
}

/* A zeroed or closed struct refuses values and answers zeros instead of touching memory. */
static void closed_histogram_is_inert(void **state) {
    (void)state;
    db_hdr h = {0};
    assert_false(db_hdr_record(&h, 0));
    assert_false(db_hdr_record(&h, 12345));
    assert_int_equal(db_hdr_count_at_value(&h, 0), 0);
    assert_int_equal(db_hdr_value_at_percentile(&h, 50.0), 0);
    assert_int_equal(db_hdr_max(&h), 0);
    assert_int_equal(db_hdr_init(&h, 1, 1000, 2), DB_HDR_OK);
    db_hdr_close(&h);
    assert_false(db_hdr_record(&h, 5));
    db_hdr_reset(&h);
    db_hdr_close(&h); /* twice is safe */
}

static void record_rejects_values_out_of_range(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    /* 22 buckets of 1024 half-steps reach 2048 << 21 = 4294967296 - 1 = 2^32 - 1 */
    assert_true(db_hdr_record(&h, 4294967295LL));
    assert_false(db_hdr_record(&h, 4294967296LL));
    assert_false(db_hdr_record(&h, -1));
    assert_false(db_hdr_record_n(&h, 5, -2));
    assert_int_equal(h.total_count, 1);
    db_hdr_close(&h);
}

static void record_n_adds_count_and_tracks_min_max(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&h, 500, 7));
    assert_true(db_hdr_record_n(&h, 20, 3));
    assert_int_equal(db_hdr_count_at_value(&h, 500), 7);
    assert_int_equal(db_hdr_count_at_value(&h, 20), 3);
    assert_int_equal(h.total_count, 10);
    assert_int_equal(h.min_value, 20);
    assert_int_equal(h.max_value, 500);
    assert_int_equal(db_hdr_value_at_percentile(&h, 30.0), 20);   /* ceil(3.0) = 3rd value */
    assert_int_equal(db_hdr_value_at_percentile(&h, 30.01), 500); /* ceil(3.001) = 4th value */
    db_hdr_close(&h);
}

/* Coordinated-omission correction, spec: v, v-I, v-2I, ... while >= I. v=100, I=30 -> 100, 70, 40.
 */
static void corrected_recording_fills_missing_samples(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_corrected(&h, 100, 30));
    assert_int_equal(h.total_count, 3);
    assert_int_equal(db_hdr_count_at_value(&h, 100), 1);
    assert_int_equal(db_hdr_count_at_value(&h, 70), 1);
    assert_int_equal(db_hdr_count_at_value(&h, 40), 1);
    assert_int_equal(db_hdr_count_at_value(&h, 10), 0);
    /* v <= I adds nothing; v = 2I adds exactly I */
    assert_true(db_hdr_record_corrected(&h, 30, 30));
    assert_true(db_hdr_record_corrected_n(&h, 60, 2, 30));
    assert_int_equal(h.total_count, 3 + 1 + 4);
    assert_int_equal(db_hdr_count_at_value(&h, 30), 3);
    db_hdr_close(&h);
}

/* Java's corrected-recording example: 10000 x 1000 plus one 100000000 with interval 10000 adds
 * the 9999 values 10000..99990000 step 10000 -> 10000 + 1 + 9999 = 20000 values, p50 = 1000. */
static void corrected_recording_matches_java_example(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    for (int i = 0; i < 10000; i++)
        assert_true(db_hdr_record_corrected(&h, 1000, 10000));
    assert_true(db_hdr_record_corrected(&h, 100000000, 10000));
    assert_int_equal(h.total_count, 20000);
    assert_int_equal(db_hdr_value_at_percentile(&h, 50.0), 1000);
    /* 75th percentile: the 15000th value is 50000000 (the 5000th filled value, 10000 * 5000);
     * at s=3 it sits in bucket 15 (range 32768): 1525 * 32768 = 49971200 .. 50003967 */
    assert_int_equal(db_hdr_value_at_percentile(&h, 75.0), 50003967);
    db_hdr_close(&h);
}

static void reset_clears_counts_and_keeps_layout(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&h, 1234, 5));
    db_hdr_reset(&h);
    assert_int_equal(h.total_count, 0);
    assert_int_equal(db_hdr_count_at_value(&h, 1234), 0);
    assert_int_equal(db_hdr_max(&h), 0);
    assert_int_equal(h.counts_len, 23552);
    assert_true(db_hdr_record(&h, 7));
    assert_int_equal(db_hdr_min(&h), 7);
    db_hdr_close(&h);
}

static void merge_same_layout_adds_index_by_index(void **state) {
    (void)state;
    db_hdr a, b;
    assert_int_equal(db_hdr_init(&a, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_int_equal(db_hdr_init(&b, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&a, 10, 2));
    assert_true(db_hdr_record_n(&b, 10, 3));
    assert_true(db_hdr_record(&b, 10007));
    assert_true(db_hdr_record(&b, 5));
    assert_int_equal(db_hdr_add(&a, &b), 0);
    assert_int_equal(a.total_count, 7);
    assert_int_equal(db_hdr_count_at_value(&a, 10), 5);
    assert_int_equal(db_hdr_count_at_value(&a, 10007), 1);
    assert_int_equal(db_hdr_min(&a), 5);
    assert_int_equal(db_hdr_max(&a), 10007);
    db_hdr_close(&a);
    db_hdr_close(&b);
}

/* Same unit and sub-buckets but a smaller H: indexes past dst's counts are dropped and reported. */
static void merge_into_shorter_layout_reports_dropped(void **state) {
    (void)state;
    db_hdr small, big;
    assert_int_equal(db_hdr_init(&small, 1, 1000000, 3), DB_HDR_OK);
    assert_int_equal(db_hdr_init(&big, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&big, 100, 4));
    assert_true(db_hdr_record_n(&big, 100000000, 2));
    assert_int_equal(db_hdr_add(&small, &big), 2);
    assert_int_equal(small.total_count, 4);
    assert_int_equal(db_hdr_max(&small), 100);
    db_hdr_close(&small);
    db_hdr_close(&big);
}

/* Different layout: each non-empty index is re-recorded at its value. 10007 (s=3 index value 10000)
 * lands in an s=2 histogram whose bucket 6 has ranges of 64: lowest 156*64 = 9984, highest 10047.
 * 5000000 is past that histogram's top (256 << 12 = 1048576) and is reported dropped. */
static void merge_different_layout_rerecords_values(void **state) {
    (void)state;
    db_hdr dst, src;
    assert_int_equal(db_hdr_init(&dst, 1, 1000000, 2), DB_HDR_OK);
    assert_int_equal(db_hdr_init(&src, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&src, 10007, 3));
    assert_true(db_hdr_record(&src, 42));
    assert_true(db_hdr_record(&src, 5000000));
    assert_int_equal(db_hdr_add(&dst, &src), 1);
    assert_int_equal(dst.total_count, 4);
    assert_int_equal(db_hdr_count_at_value(&dst, 9984), 3);
    assert_int_equal(db_hdr_count_at_value(&dst, 42), 1);
    assert_int_equal(db_hdr_max(&dst), 10047);
    assert_int_equal(db_hdr_min(&dst), 42);
    db_hdr_close(&dst);
    db_hdr_close(&src);
}

static void copy_duplicates_counts(void **state) {
    (void)state;
    db_hdr a, b;
    assert_int_equal(db_hdr_init(&a, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&a, 77, 4));
    assert_int_equal(db_hdr_copy(&b, &a), DB_HDR_OK);
    assert_true(db_hdr_record(&a, 1)); /* independent storage */
    assert_int_equal(b.total_count, 4);
    assert_int_equal(db_hdr_count_at_value(&b, 77), 4);
    assert_int_equal(db_hdr_count_at_value(&b, 1), 0);
    db_hdr_close(&a);
    db_hdr_close(&b);
}

/* 200 values at 1, 300 at 2, 500 at 1000: half the values are at or below 2 -> 50%. */
static void percentile_at_or_below_counts_the_range(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&h, 1, 200));
    assert_true(db_hdr_record_n(&h, 2, 300));
    assert_true(db_hdr_record_n(&h, 1000, 500));
    assert_float_equal(db_hdr_percentile_at_or_below(&h, 2), 50.0, 1e-12);
    assert_float_equal(db_hdr_percentile_at_or_below(&h, 0), 0.0, 1e-12);
    assert_float_equal(db_hdr_percentile_at_or_below(&h, INT64_MAX), 100.0, 1e-12);
    db_hdr_close(&h);
}

static void recorded_iteration_visits_each_nonempty_index(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    assert_true(db_hdr_record_n(&h, 1, 2));
    assert_true(db_hdr_record(&h, 10007));
    assert_true(db_hdr_record(&h, 100000000));
    const int64_t values[] = {1, 10007, 100007935}; /* highest equivalents (see above) */
    const int64_t lowest[] = {1, 10000, 99942400};
    const int64_t counts[] = {2, 1, 1};
    const int64_t cumulative[] = {2, 3, 4};
    db_hdr_iter it;
    db_hdr_iter_recorded(&it, &h);
    int steps = 0;
    while (db_hdr_iter_next(&it)) {
        assert_true(steps < 3);
        assert_int_equal(it.value, values[steps]);
        assert_int_equal(it.lowest_equivalent, lowest[steps]);
        assert_int_equal(it.count_at_index, counts[steps]);
        assert_int_equal(it.cumulative_count, cumulative[steps]);
        steps++;
    }
    assert_int_equal(steps, 3);
    assert_false(db_hdr_iter_next(&it));
    db_hdr_close(&h);
}

/* Percentile ladder for 1..10, ticks 5 (spec .hgrm rule): levels step by 10 up to 50, by 5 up to
 * 75, by 2.5 up to 87.5, by 1.25 up to 93.75; the running percentage reaches 100 at value 10 on the
 * 91.25 step, then one final step at 100. Value = the first v with 10*v >= level. */
static void percentile_iteration_follows_java_ladder(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    for (int v = 1; v <= 10; v++)
        assert_true(db_hdr_record(&h, v));
    const double levels[] = {0,  10,   20, 30,   40, 50,   55,    60, 65,    70,
                             75, 77.5, 80, 82.5, 85, 87.5, 88.75, 90, 91.25, 100};
    const int64_t values[] = {1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10};
    db_hdr_iter it;
    db_hdr_iter_percentiles(&it, &h, 5);
    int steps = 0;
    while (db_hdr_iter_next(&it)) {
        assert_true(steps < 20);
        assert_float_equal(it.percentile, levels[steps], 1e-9);
        assert_int_equal(it.value, values[steps]);
        assert_int_equal(it.cumulative_count, values[steps]);
        steps++;
    }
    assert_int_equal(steps, 20);
    db_hdr_close(&h);
}

static void percentile_iteration_of_empty_histogram_has_no_steps(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 1000, 2), DB_HDR_OK);
    db_hdr_iter it;
    db_hdr_iter_percentiles(&it, &h, 5);
    assert_false(db_hdr_iter_next(&it));
    db_hdr_iter_recorded(&it, &h);
    assert_false(db_hdr_iter_next(&it));
    db_hdr_close(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_matches_spec_example),
        cmocka_unit_test(layout_with_large_lowest_and_two_digits),
        cmocka_unit_test(init_rejects_bad_configuration),
        cmocka_unit_test(widest_layout_records_int64_max),
        cmocka_unit_test(equivalent_range_of_10007),
        cmocka_unit_test(values_up_to_the_first_buckets_are_exact),
        cmocka_unit_test(index_and_value_round_trip_everywhere),
        cmocka_unit_test(p44_of_one_to_ten_is_five),
        cmocka_unit_test(percentile_search_matches_forward_walk),
        cmocka_unit_test(percentile_reports_highest_equivalent_value),
        cmocka_unit_test(mean_and_stddev_of_one_to_ten),
        cmocka_unit_test(mean_uses_median_equivalent_values),
        cmocka_unit_test(empty_histogram_reports_zeros),
        cmocka_unit_test(closed_histogram_is_inert),
        cmocka_unit_test(record_rejects_values_out_of_range),
        cmocka_unit_test(record_n_adds_count_and_tracks_min_max),
        cmocka_unit_test(corrected_recording_fills_missing_samples),
        cmocka_unit_test(corrected_recording_matches_java_example),
        cmocka_unit_test(reset_clears_counts_and_keeps_layout),
        cmocka_unit_test(merge_same_layout_adds_index_by_index),
        cmocka_unit_test(merge_into_shorter_layout_reports_dropped),
        cmocka_unit_test(merge_different_layout_rerecords_values),
        cmocka_unit_test(copy_duplicates_counts),
        cmocka_unit_test(percentile_at_or_below_counts_the_range),
        cmocka_unit_test(recorded_iteration_visits_each_nonempty_index),
        cmocka_unit_test(percentile_iteration_follows_java_ladder),
        cmocka_unit_test(percentile_iteration_of_empty_histogram_has_no_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
