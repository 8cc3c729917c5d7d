/* metrics_intervals.c — the recorder's interval histograms (metrics.h, "interval histograms"): a
 * sparse store of (interval, HDR index, count) per latency kind, the choice of the interval length
 * at finish, and the cursor that hands out one interval's histogram at a time.
 *
 * A full histogram of the metrics layout is 270 KiB, so an hour at 1 s intervals cannot keep one
 * per interval and kind; the store keeps only the distinct (interval, index) pairs (16 bytes each),
 * and a histogram is rebuilt from them when asked for.
 */
#include <stdlib.h>

#include "metrics_state.h"

/* Widening factors of interval_ns tried in turn when max_intervals is set (then multiples of the
 * last). */
static const int64_t widenings[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600};
#define N_WIDENINGS (sizeof widenings / sizeof widenings[0])

static int by_interval_then_index(const void *a, const void *b) {
    const db_interval_entry *x = a, *y = b;
    if (x->interval != y->interval) return x->interval < y->interval ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Sort and merge entries with the same (interval, index). */
static void compact(db_interval_store *s) {
    if (s->n < 2) return;
    qsort(s->e, s->n, sizeof *s->e, by_interval_then_index);
    size_t w = 0;
    for (size_t i = 1; i < s->n; i++) {
        if (s->e[i].interval == s->e[w].interval && s->e[i].index == s->e[w].index)
            s->e[w].count += s->e[i].count;
        else
            s->e[++w] = s->e[i];
    }
    s->n = w + 1;
}

int db_metrics_interval_add(db_metrics *m, db_latency k, int32_t index, int64_t n, int64_t t_ns) {
    int64_t offset = t_ns - m->window_start_ns;
    int64_t iv = offset > 0 ? offset / m->cfg.interval_ns : 0;
    if (iv > (int64_t)UINT32_MAX)
        return db_metrics_fail(m,
                               "interval histograms: a sample at %lld ns lies more than 2^32 "
                               "intervals of %lld ns after the window start",
                               (long long)t_ns, (long long)m->cfg.interval_ns);
    db_interval_store *s = &m->interval[k];
    db_interval_entry *last = s->n ? &s->e[s->n - 1] : NULL;
    if (last && last->interval == (uint32_t)iv && last->index == index) {
        last->count += n; /* the common case: a request's next token at the same gap */
        return 0;
    }
    if (s->n == s->cap) {
        compact(s); /* grow only when merging did not free at least half */
        if ((s->cap == 0 || s->n > s->cap / 2) &&
            db_metrics_grow((void **)&s->e, &s->cap, s->cap ? s->cap * 2 : 256, sizeof *s->e))
            return db_metrics_fail(m, "interval histograms: out of memory");
    }
    s->e[s->n++] = (db_interval_entry){(uint32_t)iv, index, n};
    return 0;
}

/* The widening factor: the smallest that brings ceil(span / (interval x factor)) within max. */
static int64_t widening_for(int64_t span_ns, int64_t interval_ns, int64_t max_intervals) {
    if (max_intervals <= 0) return 1;
    int64_t need = span_ns / interval_ns + (span_ns % interval_ns != 0); /* at factor 1 */
    for (size_t i = 0; i < N_WIDENINGS; i++)
        if (need / widenings[i] + (need % widenings[i] != 0) <= max_intervals) return widenings[i];
    int64_t top = widenings[N_WIDENINGS - 1];
    int64_t per = need / max_intervals + (need % max_intervals != 0); /* factor needed */
    return (per / top + (per % top != 0)) * top;
}

int db_metrics_intervals_close(db_metrics *m) {
    db_metrics_intervals *iv = &m->intervals;
    *iv = (db_metrics_intervals){0};
    if (m->cfg.interval_ns <= 0) return 0;
    int64_t span = m->summary.span_end_ns - m->window_start_ns;
    int64_t factor = widening_for(span, m->cfg.interval_ns, m->cfg.max_intervals);
    if (factor > INT64_MAX / m->cfg.interval_ns) factor = INT64_MAX / m->cfg.interval_ns;
    iv->widening = factor;
    iv->length_ns = m->cfg.interval_ns * factor;
    iv->count = span / iv->length_ns + (span % iv->length_ns != 0);
    if (iv->count < 1) iv->count = 1;
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        db_interval_store *s = &m->interval[k];
        for (size_t i = 0; i < s->n; i++) {
            int64_t j = (int64_t)s->e[i].interval / factor;
            s->e[i].interval = (uint32_t)(j < iv->count ? j : iv->count - 1);
        }
        compact(s);
    }
    return 0;
}

void db_metrics_intervals_free(db_metrics *m) {
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        free(m->interval[k].e);
        m->interval[k] = (db_interval_store){0};
    }
}

const db_metrics_intervals *db_metrics_intervals_get(const db_metrics *m) {
    return &m->intervals;
}

void db_metrics_interval_begin(const db_metrics *m, db_interval_cursor *c) {
    (void)m;
    *c = (db_interval_cursor){.index = -1};
}

bool db_metrics_interval_next(const db_metrics *m, db_interval_cursor *c) {
    if (!m->finished || m->intervals.count == 0) return false;
    int64_t next = -1;
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        const db_interval_store *s = &m->interval[k];
        c->pos_[k] = c->end_[k];
        if (c->pos_[k] < s->n && (next < 0 || s->e[c->pos_[k]].interval < next))
            next = s->e[c->pos_[k]].interval;
    }
    if (next < 0) return false;
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        const db_interval_store *s = &m->interval[k];
        size_t e = c->pos_[k];
        while (e < s->n && s->e[e].interval == next)
            e++;
        c->end_[k] = e;
    }
    const db_metrics_intervals *iv = &m->intervals;
    c->index = next;
    c->start_ns = m->window_start_ns + next * iv->length_ns;
    c->length_ns = next == iv->count - 1 ? m->summary.span_end_ns - c->start_ns : iv->length_ns;
    return true;
}

int64_t db_metrics_interval_histogram(const db_metrics *m, const db_interval_cursor *c,
                                      db_latency k, db_hdr *h) {
    if (h->total_count != 0) db_hdr_reset(h);
    if ((unsigned)k >= DB_LAT_COUNT || c->index < 0) return 0;
    const db_interval_store *s = &m->interval[k];
    const db_hdr *layout = &m->hist[k];
    int64_t n = 0;
    for (size_t i = c->pos_[k]; i < c->end_[k] && i < s->n; i++) {
        if (db_hdr_record_n(h, db_hdr_value_at_index(layout, s->e[i].index), s->e[i].count))
            n += s->e[i].count;
    }
    return n;
}
