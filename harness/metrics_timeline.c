/* metrics_timeline.c — the run's timeline (metrics_timeline.h): request spans built from the run
 * loop's step items, decode runs extended in place while a request is in consecutive steps, the
 * event cap, and kernels with interned names. */
#include "metrics_timeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tl_req {
    db_tl_request pub;
    int64_t open_since; /* start of the open queued / requeued span, or -1 */
    db_tl_kind open_kind;
    int64_t run_ev; /* index in events of the open decode run, or -1 */
    bool failed;
} tl_req;

/* An interned string: its hash table slot holds an index into strs. */
typedef struct tl_strings {
    char **strs; /* (n) */
    size_t n, cap;
    int64_t *table; /* (table_cap) index + 1, 0 = empty */
    size_t table_cap;
} tl_strings;

struct db_timeline {
    size_t max_events, counted;
    tl_req *reqs; /* (n_reqs) arrival order */
    size_t n_reqs, cap_reqs;
    int64_t *slot_of_id; /* (n_ids) id -> slot + 1 */
    size_t n_ids;
    db_tl_event *ev; /* (n_ev) */
    size_t n_ev, cap_ev;
    size_t *open_runs; /* (n_open) slots with an open decode run */
    size_t n_open, cap_open;
    db_tl_kernel *kernels; /* (n_kernels) */
    size_t n_kernels, cap_kernels;
    uint32_t *streams; /* (n_streams) streams seen (one track each) */
    size_t n_streams, cap_streams;
    tl_strings strings;
    int64_t next_step, last_step_end, last_arrival;
    int64_t truncated_at;
    bool closed, finished;
    char err[256];
};

static const char *const kind_names[DB_TL_KIND_COUNT] = {
    "queued", "queued (preempted)", "prefill", "prefill (recompute)",
    "decode", "preempted",          "failed"};

const char *db_tl_kind_name(db_tl_kind k) {
    return (unsigned)k < DB_TL_KIND_COUNT ? kind_names[k] : "?";
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
tl_fail(db_timeline *tl, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl->err, sizeof tl->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Grow *buf (element size sz, capacity *cap) to hold need elements, new space zeroed. 0 or -1. */
static int grow(void **buf, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *p = realloc(*buf, c * sz);
    if (!p) return -1;
    memset((char *)p + *cap * sz, 0, (c - *cap) * sz);
    *buf = p;
    *cap = c;
    return 0;
}

/* ---- interned strings --------------------------------------------------------------------------
 */

static uint64_t fnv1a(const char *s) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static int strings_rehash(tl_strings *t, size_t cap) {
    int64_t *table = calloc(cap, sizeof *table);
    if (!table) return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)(fnv1a(t->strs[i]) & (cap - 1));
        while (table[h])
            h = (h + 1) & (cap - 1);
        table[h] = (int64_t)i + 1;
    }
    free(t->table);
    t->table = table;
    t->table_cap = cap;
    return 0;
}

/* The timeline's copy of s (one per distinct text), or NULL when out of memory. */
static const char *intern(tl_strings *t, const char *s) {
    if ((t->n + 1) * 2 > t->table_cap && strings_rehash(t, t->table_cap ? t->table_cap * 2 : 64))
        return NULL;
    size_t h = (size_t)(fnv1a(s) & (t->table_cap - 1));
    for (; t->table[h]; h = (h + 1) & (t->table_cap - 1))
        if (!strcmp(t->strs[t->table[h] - 1], s)) return t->strs[t->table[h] - 1];
    char *copy = strdup(s);
    if (!copy || grow((void **)&t->strs, &t->cap, t->n + 1, sizeof *t->strs)) {
        free(copy);
        return NULL;
    }
    t->strs[t->n++] = copy;
    t->table[h] = (int64_t)t->n;
    return copy;
}

static void strings_free(tl_strings *t) {
    for (size_t i = 0; i < t->n; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->table);
}

/* ---- lifetime ----------------------------------------------------------------------------------
 */

int db_timeline_create(size_t max_events, db_timeline **out, char *err, size_t errlen) {
    *out = NULL;
    db_timeline *tl = calloc(1, sizeof *tl);
    if (!tl) {
        snprintf(err, errlen, "timeline: out of memory");
        return -1;
    }
    tl->max_events = max_events ? max_events : DB_TIMELINE_DEFAULT_MAX_EVENTS;
    tl->last_arrival = INT64_MIN;
    tl->truncated_at = -1;
    *out = tl;
    return 0;
}

void db_timeline_free(db_timeline *tl) {
    if (!tl) return;
    free(tl->reqs);
    free(tl->slot_of_id);
    free(tl->ev);
    free(tl->open_runs);
    free(tl->kernels);
    free(tl->streams);
    strings_free(&tl->strings);
    free(tl);
}

const char *db_timeline_error(const db_timeline *tl) {
    return tl->err;
}

/* ---- events ------------------------------------------------------------------------------------
 */

static tl_req *find(db_timeline *tl, int64_t id) {
    if (id < 0 || (size_t)id >= tl->n_ids || !tl->slot_of_id[id]) return NULL;
    return &tl->reqs[tl->slot_of_id[id] - 1];
}

/* Appends an event; its index in *idx. 0 or -1 (out of memory). */
static int push_event(db_timeline *tl, const db_tl_event *e, size_t *idx) {
    if (grow((void **)&tl->ev, &tl->cap_ev, tl->n_ev + 1, sizeof *tl->ev))
        return tl_fail(tl, "timeline: out of memory after %zu events", tl->n_ev);
    tl->ev[tl->n_ev] = *e;
    if (idx) *idx = tl->n_ev;
    tl->n_ev++;
    return 0;
}

/* Ends the request's open queued span at t (a zero-length span is dropped). */
static int close_queue(db_timeline *tl, tl_req *r, int64_t t, bool truncated) {
    if (r->open_since < 0) return 0;
    int64_t since = r->open_since;
    r->open_since = -1;
    if (t <= since) return 0;
    db_tl_event e = {.req = r->pub.id,
                     .start_ns = since,
                     .end_ns = t,
                     .first_step = -1,
                     .last_step = -1,
                     .kind = r->open_kind,
                     .truncated = truncated};
    return push_event(tl, &e, NULL);
}

static bool unfinished(const tl_req *r) {
    return !r->failed && r->pub.generated < r->pub.output_tokens;
}

/* Stops recording at t: open queued spans end there, open decode runs stay as they are (marked
 * truncated when their request had not finished). */
static int close_all(db_timeline *tl, int64_t t) {
    for (size_t i = 0; i < tl->n_reqs; i++) {
        tl_req *r = &tl->reqs[i];
        if (close_queue(tl, r, t, true)) return -1;
        if (r->run_ev >= 0 && unfinished(r)) tl->ev[r->run_ev].truncated = true;
        r->run_ev = -1;
    }
    tl->n_open = 0;
    tl->closed = true;
    return 0;
}

static int truncate_at(db_timeline *tl, int64_t t) {
    if (t < tl->last_step_end) t = tl->last_step_end;
    tl->truncated_at = t;
    return close_all(tl, t);
}

int db_timeline_arrived(db_timeline *tl, int64_t id, int64_t t_ns, int32_t prompt_tokens,
                        int32_t output_tokens) {
    if (tl->finished) return tl_fail(tl, "request %lld: arrival after finish", (long long)id);
    if (tl->closed) return 0;
    if (id < 0) return tl_fail(tl, "request %lld: negative id", (long long)id);
    if (find(tl, id)) return tl_fail(tl, "request %lld: arrived twice", (long long)id);
    if (t_ns < tl->last_arrival)
        return tl_fail(tl, "request %lld: arrival %lld ns before the previous one", (long long)id,
                       (long long)t_ns);
    if (tl->counted + DB_TIMELINE_EVENTS_PER_TRACK + 1 > tl->max_events)
        return truncate_at(tl, t_ns);
    if (grow((void **)&tl->slot_of_id, &tl->n_ids, (size_t)id + 1, sizeof *tl->slot_of_id) ||
        grow((void **)&tl->reqs, &tl->cap_reqs, tl->n_reqs + 1, sizeof *tl->reqs))
        return tl_fail(tl, "timeline: out of memory at request %lld", (long long)id);
    tl_req *r = &tl->reqs[tl->n_reqs++];
    *r = (tl_req){.pub = {.id = id,
                          .arrival_ns = t_ns,
                          .prompt_tokens = prompt_tokens,
                          .output_tokens = output_tokens},
                  .open_since = t_ns,
                  .open_kind = DB_TL_QUEUED,
                  .run_ev = -1};
    tl->slot_of_id[id] = (int64_t)tl->n_reqs;
    tl->last_arrival = t_ns;
    tl->counted += DB_TIMELINE_EVENTS_PER_TRACK + 1;
    return 0;
}

int db_timeline_failed(db_timeline *tl, int64_t id, int64_t t_ns, const char *reason) {
    if (tl->finished) return tl_fail(tl, "request %lld: failure after finish", (long long)id);
    if (tl->closed) return 0;
    tl_req *r = find(tl, id);
    if (!r) return tl_fail(tl, "request %lld: failed but never arrived", (long long)id);
    if (r->failed) return tl_fail(tl, "request %lld: failed twice", (long long)id);
    if (close_queue(tl, r, t_ns, false)) return -1;
    r->failed = true;
    r->pub.failure = intern(&tl->strings, reason ? reason : "");
    if (!r->pub.failure) return tl_fail(tl, "timeline: out of memory");
    db_tl_event e = {.req = id,
                     .start_ns = t_ns,
                     .end_ns = t_ns,
                     .first_step = -1,
                     .last_step = -1,
                     .kind = DB_TL_FAILED};
    tl->counted++;
    return push_event(tl, &e, NULL);
}

static int preempt(db_timeline *tl, int64_t id, int64_t t) {
    tl_req *r = find(tl, id);
    if (!r || r->failed)
        return tl_fail(tl, "request %lld: preempted but not running", (long long)id);
    r->run_ev = -1;
    r->pub.preemptions++;
    r->open_since = t;
    r->open_kind = DB_TL_REQUEUED;
    db_tl_event e = {.req = id,
                     .start_ns = t,
                     .end_ns = t,
                     .first_step = -1,
                     .last_step = -1,
                     .kind = DB_TL_PREEMPTED};
    tl->counted += 2; /* the instant and the requeued span that follows */
    return push_event(tl, &e, NULL);
}

/* A decode token in step idx: extends the request's decode run or opens a new one. */
static int decode_item(db_timeline *tl, tl_req *r, int64_t idx, int64_t start, int64_t end) {
    if (r->run_ev >= 0 && tl->ev[r->run_ev].last_step == idx - 1) {
        db_tl_event *e = &tl->ev[r->run_ev];
        e->end_ns = end;
        e->last_step = idx;
        e->tokens++;
        return 0;
    }
    db_tl_event e = {.req = r->pub.id,
                     .start_ns = start,
                     .end_ns = end,
                     .first_step = idx,
                     .last_step = idx,
                     .tokens = 1,
                     .kind = DB_TL_DECODE};
    size_t at;
    if (push_event(tl, &e, &at)) return -1;
    tl->counted++;
    r->run_ev = (int64_t)at;
    size_t slot = (size_t)(r - tl->reqs);
    if (grow((void **)&tl->open_runs, &tl->cap_open, tl->n_open + 1, sizeof *tl->open_runs))
        return tl_fail(tl, "timeline: out of memory");
    tl->open_runs[tl->n_open++] = slot;
    return 0;
}

static int step_item(db_timeline *tl, const db_tl_item *it, int64_t idx, int64_t start,
                     int64_t end) {
    tl_req *r = find(tl, it->req);
    if (!r || r->failed)
        return tl_fail(tl, "step %lld: request %lld is not queued or running", (long long)idx,
                       (long long)it->req);
    if (close_queue(tl, r, start, false)) return -1;
    if (it->emits) r->pub.generated++;
    if (it->decode) return decode_item(tl, r, idx, start, end);
    r->run_ev = -1;
    db_tl_event e = {.req = r->pub.id,
                     .start_ns = start,
                     .end_ns = end,
                     .first_step = idx,
                     .last_step = idx,
                     .tokens = it->n_tokens,
                     .pos = it->pos,
                     .kind = r->pub.preemptions > 0 ? DB_TL_RECOMPUTE : DB_TL_PREFILL};
    tl->counted++;
    return push_event(tl, &e, NULL);
}

/* Drops the open decode runs that this step did not extend. */
static void sweep_runs(db_timeline *tl, int64_t idx) {
    size_t k = 0;
    for (size_t i = 0; i < tl->n_open; i++) {
        tl_req *r = &tl->reqs[tl->open_runs[i]];
        if (r->run_ev >= 0 && tl->ev[r->run_ev].last_step == idx)
            tl->open_runs[k++] = tl->open_runs[i];
        else if (r->run_ev >= 0 && tl->ev[r->run_ev].last_step < idx)
            r->run_ev = -1;
    }
    tl->n_open = k;
}

int db_timeline_step(db_timeline *tl, int64_t index, int64_t start_ns, int64_t end_ns,
                     const db_tl_item *items, int n, const int64_t *preempted, int n_preempted) {
    if (tl->finished) return tl_fail(tl, "step %lld: after finish", (long long)index);
    if (tl->closed) return 0;
    if (index != tl->next_step || start_ns < tl->last_step_end || end_ns < start_ns)
        return tl_fail(tl,
                       "step %lld [%lld, %lld] ns: expected step %lld starting at or after %lld ns",
                       (long long)index, (long long)start_ns, (long long)end_ns,
                       (long long)tl->next_step, (long long)tl->last_step_end);
    size_t need = DB_TIMELINE_EVENTS_PER_STEP + (size_t)n + 2 * (size_t)n_preempted;
    if (tl->counted + need > tl->max_events) return truncate_at(tl, start_ns);
    for (int k = 0; k < n_preempted; k++)
        if (preempt(tl, preempted[k], start_ns)) return -1;
    for (int k = 0; k < n; k++)
        if (step_item(tl, &items[k], index, start_ns, end_ns)) return -1;
    sweep_runs(tl, index);
    tl->counted += DB_TIMELINE_EVENTS_PER_STEP;
    tl->next_step = index + 1;
    tl->last_step_end = end_ns;
    return 0;
}

static int note_stream(db_timeline *tl, uint32_t stream) {
    for (size_t i = 0; i < tl->n_streams; i++)
        if (tl->streams[i] == stream) return 0;
    if (grow((void **)&tl->streams, &tl->cap_streams, tl->n_streams + 1, sizeof *tl->streams))
        return -1;
    tl->streams[tl->n_streams++] = stream;
    tl->counted++; /* the stream's track name */
    return 0;
}

int db_timeline_kernel(db_timeline *tl, const db_tl_kernel *k) {
    if (tl->finished) return tl_fail(tl, "kernel %s: after finish", k->name ? k->name : "?");
    if (tl->closed) return 0;
    if (tl->counted + 2 > tl->max_events) return truncate_at(tl, k->start_ns);
    db_tl_kernel c = *k;
    c.name = intern(&tl->strings, k->name ? k->name : "");
    c.op = intern(&tl->strings, k->op ? k->op : "");
    if (!c.name || !c.op || note_stream(tl, k->stream) ||
        grow((void **)&tl->kernels, &tl->cap_kernels, tl->n_kernels + 1, sizeof *tl->kernels))
        return tl_fail(tl, "timeline: out of memory after %zu kernels", tl->n_kernels);
    tl->kernels[tl->n_kernels++] = c;
    tl->counted++;
    return 0;
}

/* ---- finish and results ------------------------------------------------------------------------
 */

/* Sort key of an event: its request's slot, its start, then the order it was recorded in. */
typedef struct ev_key {
    int64_t slot, start;
    size_t idx;
} ev_key;

static int by_request_then_time(const void *a, const void *b) {
    const ev_key *x = a, *y = b;
    if (x->slot != y->slot) return x->slot < y->slot ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int sort_events(db_timeline *tl) {
    size_t n = tl->n_ev ? tl->n_ev : 1;
    ev_key *keys = malloc(n * sizeof *keys);
    db_tl_event *sorted = malloc(n * sizeof *sorted);
    if (!keys || !sorted) {
        free(keys);
        free(sorted);
        return tl_fail(tl, "timeline: out of memory sorting %zu events", tl->n_ev);
    }
    for (size_t i = 0; i < tl->n_ev; i++)
        keys[i] = (ev_key){tl->slot_of_id[tl->ev[i].req], tl->ev[i].start_ns, i};
    qsort(keys, tl->n_ev, sizeof *keys, by_request_then_time);
    for (size_t i = 0; i < tl->n_ev; i++)
        sorted[i] = tl->ev[keys[i].idx];
    free(keys);
    free(tl->ev);
    tl->ev = sorted;
    tl->cap_ev = n;
    return 0;
}

int db_timeline_finish(db_timeline *tl, int64_t end_ns) {
    if (tl->finished) return tl_fail(tl, "timeline: finished twice");
    if (!tl->closed && end_ns < tl->last_step_end)
        return tl_fail(tl, "timeline: end %lld ns before the last step's end %lld ns",
                       (long long)end_ns, (long long)tl->last_step_end);
    if (!tl->closed && close_all(tl, end_ns)) return -1;
    if (sort_events(tl)) return -1;
    tl->finished = true;
    return 0;
}

size_t db_timeline_max_events(const db_timeline *tl) {
    return tl->max_events;
}

size_t db_timeline_counted_events(const db_timeline *tl) {
    return tl->counted;
}

int64_t db_timeline_truncated_at_ns(const db_timeline *tl) {
    return tl->truncated_at;
}

int64_t db_timeline_steps_kept(const db_timeline *tl) {
    return tl->next_step;
}

size_t db_timeline_request_count(const db_timeline *tl) {
    return tl->n_reqs;
}

const db_tl_request *db_timeline_request_at(const db_timeline *tl, size_t i) {
    return i < tl->n_reqs ? &tl->reqs[i].pub : NULL;
}

size_t db_timeline_event_count(const db_timeline *tl) {
    return tl->n_ev;
}

const db_tl_event *db_timeline_event_at(const db_timeline *tl, size_t i) {
    return i < tl->n_ev ? &tl->ev[i] : NULL;
}

int64_t db_timeline_request_slot(const db_timeline *tl, int64_t id) {
    if (id < 0 || (size_t)id >= tl->n_ids || !tl->slot_of_id[id]) return -1;
    return tl->slot_of_id[id] - 1;
}

size_t db_timeline_kernel_count(const db_timeline *tl) {
    return tl->n_kernels;
}

const db_tl_kernel *db_timeline_kernel_at(const db_timeline *tl, size_t i) {
    return i < tl->n_kernels ? &tl->kernels[i] : NULL;
}

size_t db_timeline_stream_count(const db_timeline *tl) {
    return tl->n_streams;
}

uint32_t db_timeline_stream_at(const db_timeline *tl, size_t i) {
    return i < tl->n_streams ? tl->streams[i] : 0;
}
