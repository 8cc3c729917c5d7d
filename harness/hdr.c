/* harness/hdr.c — HDR histogram layout, recording, queries and merge (see harness/hdr.h). */
#include "hdr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *db_hdr_status_str(int status) {
    switch (status) {
    case DB_HDR_OK:
        return "ok";
    case DB_HDR_EINVAL:
        return "invalid argument";
    case DB_HDR_ENOMEM:
        return "out of memory";
    case DB_HDR_ECORRUPT:
        return "corrupt encoded histogram";
    case DB_HDR_EIO:
        return "I/O error";
    case DB_HDR_ERANGE:
        return "counts do not fit the histogram";
    default:
        return "unknown status";
    }
}

/* ---- layout ---------------------------------------------------------------------------------- */

static int32_t floor_log2(uint64_t v) {
    return 63 - __builtin_clzll(v);
}

/* Buckets needed so that the top bucket covers H (Java's getBucketsNeededToCoverValue). */
static int32_t buckets_to_cover(int64_t highest, int32_t sub_bucket_count, int32_t unit_magnitude) {
    int64_t smallest_untrackable = (int64_t)sub_bucket_count << unit_magnitude;
    int32_t n = 1;
    while (smallest_untrackable <= highest) {
        if (smallest_untrackable > INT64_MAX / 2) return n + 1;
        smallest_untrackable <<= 1;
        n++;
    }
    return n;
}

int db_hdr_init(db_hdr *h, int64_t lowest, int64_t highest, int sig_figs) {
    if (!h) return DB_HDR_EINVAL;
    memset(h, 0, sizeof *h);
    h->min_value = INT64_MAX;
    if (lowest < 1 || sig_figs < 1 || sig_figs > 5 || highest / 2 < lowest) return DB_HDR_EINVAL;

    int64_t largest_single_unit = 2;
    for (int i = 0; i < sig_figs; i++)
        largest_single_unit *= 10;
    int32_t sub_bucket_count_magnitude = floor_log2((uint64_t)largest_single_unit - 1) + 1;
    int32_t half_magnitude = (sub_bucket_count_magnitude > 1 ? sub_bucket_count_magnitude : 1) - 1;
    int32_t unit_magnitude = floor_log2((uint64_t)lowest);
    if (unit_magnitude + half_magnitude > 61)
        return DB_HDR_EINVAL; /* L so large that a sub-bucket would not fit in 64 bits */

    int32_t sub_bucket_count = 1 << (half_magnitude + 1);
    int32_t bucket_count = buckets_to_cover(highest, sub_bucket_count, unit_magnitude);
    int64_t counts_len = ((int64_t)bucket_count + 1) * (sub_bucket_count / 2);

    int64_t *counts = calloc((size_t)counts_len, sizeof *counts);
    if (!counts) return DB_HDR_ENOMEM;
    h->lowest = lowest;
    h->highest = highest;
    h->sig_figs = sig_figs;
    h->unit_magnitude = unit_magnitude;
    h->sub_bucket_half_count_magnitude = half_magnitude;
    h->sub_bucket_count = sub_bucket_count;
    h->sub_bucket_half_count = sub_bucket_count / 2;
    h->sub_bucket_mask = ((int64_t)sub_bucket_count - 1) << unit_magnitude;
    h->bucket_count = bucket_count;
    h->counts_len = (int32_t)counts_len;
    h->counts = counts;
    return DB_HDR_OK;
}

void db_hdr_close(db_hdr *h) {
    if (!h) return;
    free(h->counts);
    memset(h, 0, sizeof *h);
    h->min_value = INT64_MAX;
}

void db_hdr_reset(db_hdr *h) {
    if (h->counts) memset(h->counts, 0, (size_t)h->counts_len * sizeof *h->counts);
    h->total_count = 0;
    h->min_value = INT64_MAX;
    h->max_value = 0;
}

int db_hdr_copy(db_hdr *dst, const db_hdr *src) {
    int rc = db_hdr_init(dst, src->lowest, src->highest, src->sig_figs);
    if (rc != DB_HDR_OK) return rc;
    memcpy(dst->counts, src->counts, (size_t)src->counts_len * sizeof *src->counts);
    dst->total_count = src->total_count;
    dst->min_value = src->min_value;
    dst->max_value = src->max_value;
    return DB_HDR_OK;
}

/* ---- value <-> index ------------------------------------------------------------------------- */

/* Bucket of v (v >= 0): (64 - clz(v | mask)) - unit_magnitude - (half_count_magnitude + 1). */
static inline int32_t bucket_of(const db_hdr *h, int64_t v) {
    /* "| 1" keeps clz defined on a closed histogram (mask 0) and changes nothing otherwise */
    int32_t pow2_ceiling = 64 - __builtin_clzll((uint64_t)(v | h->sub_bucket_mask) | 1);
    return pow2_ceiling - h->unit_magnitude - (h->sub_bucket_half_count_magnitude + 1);
}

static inline int32_t sub_bucket_of(const db_hdr *h, int64_t v, int32_t bucket) {
    return (int32_t)(v >> (bucket + h->unit_magnitude));
}

static inline int32_t index_of(const db_hdr *h, int64_t v) {
    int32_t bucket = bucket_of(h, v);
    int32_t sub = sub_bucket_of(h, v, bucket);
    return ((bucket + 1) << h->sub_bucket_half_count_magnitude) + (sub - h->sub_bucket_half_count);
}

int32_t db_hdr_index_of(const db_hdr *h, int64_t v) {
    return index_of(h, v < 0 ? 0 : v);
}

int64_t db_hdr_value_at_index(const db_hdr *h, int32_t index) {
    int32_t bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
    int32_t sub = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;
    if (bucket < 0) {
        sub -= h->sub_bucket_half_count;
        bucket = 0;
    }
    return (int64_t)sub << (bucket + h->unit_magnitude);
}

int64_t db_hdr_size_of_range(const db_hdr *h, int64_t v) {
    if (v < 0) v = 0;
    return (int64_t)1 << (h->unit_magnitude + bucket_of(h, v));
}

int64_t db_hdr_lowest_equivalent(const db_hdr *h, int64_t v) {
    if (v < 0) v = 0;
    int32_t bucket = bucket_of(h, v);
    return (int64_t)sub_bucket_of(h, v, bucket) << (bucket + h->unit_magnitude);
}

int64_t db_hdr_highest_equivalent(const db_hdr *h, int64_t v) {
    return db_hdr_lowest_equivalent(h, v) + (db_hdr_size_of_range(h, v) - 1);
}

int64_t db_hdr_median_equivalent(const db_hdr *h, int64_t v) {
    return db_hdr_lowest_equivalent(h, v) + (db_hdr_size_of_range(h, v) >> 1);
}

int64_t db_hdr_next_non_equivalent(const db_hdr *h, int64_t v) {
    uint64_t next = (uint64_t)db_hdr_lowest_equivalent(h, v) + (uint64_t)db_hdr_size_of_range(h, v);
    return next > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)next; /* saturates at the top range */
}

bool db_hdr_values_are_equivalent(const db_hdr *h, int64_t a, int64_t b) {
    return db_hdr_lowest_equivalent(h, a) == db_hdr_lowest_equivalent(h, b);
}

int64_t db_hdr_count_at_value(const db_hdr *h, int64_t v) {
    if (v < 0) return 0;
    int32_t i = index_of(h, v);
    return (i >= 0 && i < h->counts_len) ? h->counts[i] : 0;
}

/* ---- recording ------------------------------------------------------------------------------- */

bool db_hdr_record_n(db_hdr *h, int64_t v, int64_t count) {
    if (v < 0 || count < 0) return false;
    int32_t i = index_of(h, v);
    if ((uint32_t)i >= (uint32_t)h->counts_len) return false;
    int64_t total;
    if (__builtin_add_overflow(h->total_count, count, &total)) return false;
    h->counts[i] += count;
    h->total_count = total;
    if (count > 0) {
        h->min_value = v < h->min_value ? v : h->min_value;
        h->max_value = v > h->max_value ? v : h->max_value;
    }
    return true;
}

bool db_hdr_record(db_hdr *h, int64_t v) {
    return db_hdr_record_n(h, v, 1);
}

bool db_hdr_record_corrected_n(db_hdr *h, int64_t v, int64_t count, int64_t expected_interval) {
    if (!db_hdr_record_n(h, v, count)) return false;
    if (expected_interval <= 0) return true;
    for (int64_t missing = v - expected_interval; missing >= expected_interval;
         missing -= expected_interval) {
        if (!db_hdr_record_n(h, missing, count)) return false;
    }
    return true;
}

bool db_hdr_record_corrected(db_hdr *h, int64_t v, int64_t expected_interval) {
    return db_hdr_record_corrected_n(h, v, 1, expected_interval);
}

/* Recompute total, min and max from the counts (after a merge that dropped values). */
static void refresh_totals(db_hdr *h) {
    int32_t first = -1, last = -1;
    int64_t total = 0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (h->counts[i] > 0) {
            total += h->counts[i];
            if (first < 0) first = i;
            last = i;
        }
    }
    h->total_count = total;
    h->min_value = first < 0 ? INT64_MAX : db_hdr_value_at_index(h, first);
    h->max_value = last < 0 ? 0 : db_hdr_value_at_index(h, last);
}

static int64_t add_same_layout(db_hdr *dst, const db_hdr *src) {
    int64_t dropped = 0;
    for (int32_t i = 0; i < src->counts_len; i++) {
        int64_t c = src->counts[i];
        if (c == 0) continue;
        int64_t total;
        if (i >= dst->counts_len || __builtin_add_overflow(dst->total_count, c, &total)) {
            dropped += c;
        } else {
            dst->counts[i] += c;
            dst->total_count = total;
        }
    }
    if (dropped > 0) {
        refresh_totals(dst);
    } else if (src->total_count > 0) {
        dst->min_value = src->min_value < dst->min_value ? src->min_value : dst->min_value;
        dst->max_value = src->max_value > dst->max_value ? src->max_value : dst->max_value;
    }
    return dropped;
}

int64_t db_hdr_add(db_hdr *dst, const db_hdr *src) {
    if (dst->unit_magnitude == src->unit_magnitude &&
        dst->sub_bucket_half_count_magnitude == src->sub_bucket_half_count_magnitude)
        return add_same_layout(dst, src);
    int64_t dropped = 0;
    for (int32_t i = 0; i < src->counts_len; i++) {
        int64_t c = src->counts[i];
        if (c > 0 && !db_hdr_record_n(dst, db_hdr_value_at_index(src, i), c)) dropped += c;
    }
    return dropped;
}

/* ---- queries --------------------------------------------------------------------------------- */

/* Index of the first count at which the running sum reaches target (1 <= target <= total). Low
 * targets walk up from the smallest recorded value, high ones down from the largest, so p99 does
 * not walk the whole array; both find the same index. */
static int32_t index_at_count(const db_hdr *h, int64_t target) {
    int32_t first = db_hdr_index_of(h, h->min_value == INT64_MAX ? 0 : h->min_value);
    int32_t last = db_hdr_index_of(h, h->max_value);
    first = first < h->counts_len ? first : 0;
    last = last < h->counts_len ? last : h->counts_len - 1;
    if (target <= h->total_count / 2) {
        int64_t running = 0;
        for (int32_t i = first; i < h->counts_len; i++) {
            running += h->counts[i];
            if (running >= target) return i;
        }
        return h->counts_len - 1;
    }
    /* from the top: stop at i when the counts above i no longer leave room for target */
    int64_t above = 0, room = h->total_count - target;
    int32_t i = last;
    while (i > 0 && above + h->counts[i] <= room)
        above += h->counts[i--];
    return i;
}

int64_t db_hdr_value_at_percentile(const db_hdr *h, double percentile) {
    if (h->total_count == 0) return 0;
    /* Java: step one ulp down first so an exact product is not rounded up; clamp to [0, 100] */
    double p = nextafter(percentile, -INFINITY);
    p = isnan(p) || p < 0.0 ? 0.0 : (p > 100.0 ? 100.0 : p);
    double wanted = ceil(p * (double)h->total_count / 100.0);
    int64_t target = wanted >= (double)h->total_count ? h->total_count : (int64_t)wanted;
    if (target < 1) target = 1;
    int64_t v = db_hdr_value_at_index(h, index_at_count(h, target));
    return percentile <= 0.0 ? db_hdr_lowest_equivalent(h, v) : db_hdr_highest_equivalent(h, v);
}

double db_hdr_percentile_at_or_below(const db_hdr *h, int64_t v) {
    if (h->total_count == 0) return 100.0;
    int32_t last = db_hdr_index_of(h, v);
    if (last >= h->counts_len) last = h->counts_len - 1;
    int64_t running = 0;
    for (int32_t i = 0; i <= last; i++)
        running += h->counts[i];
    return 100.0 * (double)running / (double)h->total_count;
}

int64_t db_hdr_min(const db_hdr *h) {
    return h->total_count == 0 ? 0 : db_hdr_lowest_equivalent(h, h->min_value);
}

int64_t db_hdr_max(const db_hdr *h) {
    return h->total_count == 0 ? 0 : db_hdr_highest_equivalent(h, h->max_value);
}

double db_hdr_mean(const db_hdr *h) {
    if (h->total_count == 0) return 0.0;
    double sum = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (h->counts[i] > 0) {
            int64_t v = db_hdr_value_at_index(h, i);
            sum += (double)db_hdr_median_equivalent(h, v) * (double)h->counts[i];
        }
    }
    return sum / (double)h->total_count;
}

double db_hdr_stddev(const db_hdr *h) {
    if (h->total_count == 0) return 0.0;
    double mean = db_hdr_mean(h);
    double sum_sq = 0.0;
    for (int32_t i = 0; i < h->counts_len; i++) {
        if (h->counts[i] > 0) {
            double d = (double)db_hdr_median_equivalent(h, db_hdr_value_at_index(h, i)) - mean;
            sum_sq += d * d * (double)h->counts[i];
        }
    }
    return sqrt(sum_sq / (double)h->total_count);
}
