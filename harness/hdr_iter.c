/* harness/hdr_iter.c — recorded-value and percentile iteration over an HDR histogram
 * (harness/hdr.h). The percentile ladder is Java HdrHistogram's PercentileIterator, step for step,
 * so .hgrm tables match. */
#include "hdr.h"

#include <math.h>
#include <string.h>

static void iter_start(db_hdr_iter *it, const db_hdr *h, db_hdr_iter_kind kind) {
    memset(it, 0, sizeof *it);
    it->h = h;
    it->kind = kind;
    it->index = 0;
    it->next_index = -1; /* last index whose count is already in cumulative_count */
    it->done = h->total_count == 0;
}

void db_hdr_iter_recorded(db_hdr_iter *it, const db_hdr *h) {
    iter_start(it, h, DB_HDR_ITER_RECORDED);
}

void db_hdr_iter_percentiles(db_hdr_iter *it, const db_hdr *h, int32_t ticks_per_half_distance) {
    iter_start(it, h, DB_HDR_ITER_PERCENTILE);
    it->ticks_per_half_distance = ticks_per_half_distance < 1 ? 1 : ticks_per_half_distance;
    it->level = 0.0;
}

static void fill_step(db_hdr_iter *it, int32_t index) {
    const db_hdr *h = it->h;
    it->index = index;
    it->count_at_index = h->counts[index];
    it->lowest_equivalent = db_hdr_value_at_index(h, index);
    it->value = db_hdr_highest_equivalent(h, it->lowest_equivalent);
    it->percentile_reached = 100.0 * (double)it->cumulative_count / (double)h->total_count;
    it->count_since_last = it->cumulative_count - it->prev_cumulative;
    it->prev_cumulative = it->cumulative_count;
}

static bool next_recorded(db_hdr_iter *it) {
    const db_hdr *h = it->h;
    for (int32_t i = it->next_index + 1; i < h->counts_len; i++) {
        if (h->counts[i] != 0) {
            it->cumulative_count += h->counts[i];
            it->next_index = i;
            fill_step(it, i);
            it->percentile = it->percentile_reached;
            return true;
        }
    }
    it->done = true;
    return false;
}

/* Java: level += 100 / (ticks * 2^(floor(log2(100 / (100 - level))) + 1)). */
static double next_level(double level, int32_t ticks) {
    double halvings = floor(log(100.0 / (100.0 - level)) / log(2.0));
    if (!(halvings < 62.0))
        halvings = 62.0; /* level within rounding of 100%: keep the step finite */
    double ticks_now = (double)ticks * ldexp(1.0, (int)halvings + 1);
    return level + 100.0 / ticks_now;
}

static bool next_percentile(db_hdr_iter *it) {
    const db_hdr *h = it->h;
    if (it->cumulative_count >= h->total_count) {
        if (it->reached_last) {
            it->done = true;
            return false;
        }
        it->reached_last = true; /* one extra final step at 100% */
        it->level = 100.0;
    }
    for (int32_t i = it->index; i < h->counts_len; i++) {
        if (i > it->next_index) {
            it->cumulative_count += h->counts[i];
            it->next_index = i;
        }
        if (h->counts[i] == 0) continue;
        double reached = 100.0 * (double)it->cumulative_count / (double)h->total_count;
        if (reached >= it->level) {
            fill_step(it, i);
            it->percentile = it->level;
            if (!it->reached_last) it->level = next_level(it->level, it->ticks_per_half_distance);
            return true;
        }
    }
    it->done = true;
    return false;
}

bool db_hdr_iter_next(db_hdr_iter *it) {
    if (it->done) return false;
    return it->kind == DB_HDR_ITER_RECORDED ? next_recorded(it) : next_percentile(it);
}
