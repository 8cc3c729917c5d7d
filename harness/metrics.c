/* metrics.c — the run's metrics recorder (metrics.h): event intake, window membership, and folding
 * each finished request of the window into histograms, counters and per-second output buckets.
 *
 * A request's membership in the window is decided as early as possible so that token times are kept
 * only while needed: warmup exclusions at arrival; with no cooldown every other request is in at
 * arrival; with a cooldown a request is in once a later arrival lies at least cooldown_ns after it,
 * and the rest are decided in db_metrics_finish. A request is folded (its latencies recorded) once
 * it has ended and is known to be in; its token emissions are then freed.
 */
#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_state.h"
#include "slo.h"

static const char *const latency_names[DB_LAT_COUNT] = {"ttft", "tpot",  "itl",
                                                        "e2e",  "queue", "norm"};
static const char *const latency_tags[DB_LAT_COUNT] = {"TTFT", "TPOT",  "ITL",
                                                       "E2E",  "QUEUE", "NORM"};

const char *db_latency_name(db_latency k) {
    return (unsigned)k < DB_LAT_COUNT ? latency_names[k] : "?";
}

const char *db_latency_tag(db_latency k) {
    return (unsigned)k < DB_LAT_COUNT ? latency_tags[k] : "?";
}

int64_t db_request_latency_ns(const db_request_record *r, db_latency k) {
    int64_t n = r->output_tokens;
    switch (k) {
    case DB_LAT_TTFT:
        return r->first_token_ns >= 0 ? r->first_token_ns - r->arrival_ns : -1;
    case DB_LAT_E2E:
        return r->last_token_ns >= 0 ? r->last_token_ns - r->arrival_ns : -1;
    case DB_LAT_TPOT:
        if (n < 2 || r->first_token_ns < 0) return -1;
        return llround((double)(r->last_token_ns - r->first_token_ns) / (double)(n - 1));
    case DB_LAT_ITL:
        return r->max_itl_ns;
    case DB_LAT_QUEUE:
        return r->first_scheduled_ns >= 0 ? r->first_scheduled_ns - r->arrival_ns : -1;
    case DB_LAT_NORM:
        if (n < 1 || r->last_token_ns < 0) return -1;
        return llround((double)(r->last_token_ns - r->arrival_ns) / (double)n);
    default:
        return -1;
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int db_metrics_fail(db_metrics *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    return -1;
}

const char *db_metrics_error(const db_metrics *m) {
    return m->err;
}

int db_metrics_create(const db_metrics_config *cfg, db_metrics **out, char *err, size_t errlen) {
    *out = NULL;
    const char *bad = NULL;
    if (cfg->warmup_ns < 0)
        bad = "warmup time is negative";
    else if (cfg->warmup_requests < 0)
        bad = "warmup request count is negative";
    else if (cfg->cooldown_ns < 0)
        bad = "cooldown time is negative";
    else if (!(cfg->peak_flops >= 0) || isinf(cfg->peak_flops))
        bad = "peak FLOP/s is not >= 0";
    else if (!(cfg->peak_bytes_per_s >= 0) || isinf(cfg->peak_bytes_per_s))
        bad = "peak bandwidth is not >= 0";
    else if (cfg->interval_ns < 0)
        bad = "interval length is negative";
    else if (cfg->max_intervals < 0)
        bad = "maximum interval count is negative";
    if (bad) {
        if (err && errlen) snprintf(err, errlen, "metrics: %s; expected a finite value >= 0", bad);
        return -1;
    }
    db_metrics *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    m->cfg = *cfg;
    db_slo_init(&m->slo);
    if (cfg->slo) m->slo = *cfg->slo;
    m->cfg.slo = &m->slo;
    for (int k = 0; k < DB_LAT_COUNT; k++)
        if (db_hdr_init(&m->hist[k], DB_METRICS_HDR_LOWEST, DB_METRICS_HDR_HIGHEST,
                        DB_METRICS_HDR_SIG_FIGS) != DB_HDR_OK)
            goto oom;
    m->window_start_ns = cfg->warmup_ns;
    m->window_start_known = cfg->warmup_requests == 0;
    m->max_arrival_ns = -1;
    *out = m;
    return 0;
oom:
    db_metrics_free(m);
    if (err && errlen) snprintf(err, errlen, "metrics: out of memory creating the recorder");
    return -1;
}

void db_metrics_free(db_metrics *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_reqs; i++)
        free(m->reqs[i].em);
    free(m->reqs);
    free(m->slot_of_id);
    free(m->steps);
    for (size_t i = 0; i < m->n_reasons; i++)
        free(m->reasons[i].reason);
    free(m->reasons);
    free(m->failure_view);
    free(m->bucket_tokens);
    for (int k = 0; k < DB_LAT_COUNT; k++)
        db_hdr_close(&m->hist[k]);
    db_metrics_intervals_free(m);
    free(m);
}

/* Grow *buf (element size sz, capacity *cap) to hold at least need elements; zero new space. */
int db_metrics_grow(void **buf, size_t *cap, size_t need, size_t sz) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*buf, cap2 * sz);
    if (!p) return -1;
    memset((char *)p + *cap * sz, 0, (cap2 - *cap) * sz);
    *buf = p;
    *cap = cap2;
    return 0;
}

static db_req_state *lookup(db_metrics *m, int64_t id, const char *event) {
    if (id < 0 || (uint64_t)id >= m->n_ids || m->slot_of_id[id] == 0) {
        db_metrics_fail(m, "%s for request %" PRId64 ": no such request has arrived", event, id);
        return NULL;
    }
    return &m->reqs[m->slot_of_id[id] - 1];
}

/* Common checks for an event on a request that must not have ended: known id, not finished. */
static db_req_state *live_request(db_metrics *m, int64_t id, int64_t t_ns, const char *event) {
    if (m->finished) {
        db_metrics_fail(m, "%s for request %" PRId64 " after the run was finished", event, id);
        return NULL;
    }
    db_req_state *r = lookup(m, id, event);
    if (!r) return NULL;
    if (r->rec.status != DB_REQ_IN_FLIGHT) {
        db_metrics_fail(m, "%s for request %" PRId64 " at %" PRId64 " ns: the request already %s",
                        event, id, t_ns, r->rec.status == DB_REQ_COMPLETED ? "finished" : "failed");
        return NULL;
    }
    if (t_ns < r->rec.arrival_ns) {
        db_metrics_fail(m,
                        "%s for request %" PRId64 " at %" PRId64
                        " ns: earlier than its arrival at %" PRId64 " ns",
                        event, id, t_ns, r->rec.arrival_ns);
        return NULL;
    }
    return r;
}

/* An accepted event at t_ns: the run's end must not be earlier. */
static void note_time(db_metrics *m, int64_t t_ns) {
    if (t_ns > m->max_event_ns) m->max_event_ns = t_ns;
}

/* Decide pending requests whose arrival now lies at least cooldown before the latest arrival. */
static int promote_pending(db_metrics *m) {
    while (m->first_undecided < m->n_reqs) {
        db_req_state *r = &m->reqs[m->first_undecided];
        if (r->member == DB_MEMBER_PENDING) {
            if (r->rec.arrival_ns > m->max_arrival_ns - m->cfg.cooldown_ns) break;
            r->member = DB_MEMBER_IN;
            if (r->rec.status != DB_REQ_IN_FLIGHT && db_metrics_fold(m, r) != 0) return -1;
        }
        m->first_undecided++;
    }
    return 0;
}

int db_metrics_request_arrived(db_metrics *m, int64_t id, int64_t arrival_ns, int32_t prompt_tokens,
                               int32_t requested_output_tokens) {
    if (m->finished)
        return db_metrics_fail(m, "arrival of request %" PRId64 " after the run was finished", id);
    if (id < 0) return db_metrics_fail(m, "arrival of request %" PRId64 ": ids must be >= 0", id);
    if (arrival_ns < 0)
        return db_metrics_fail(m, "arrival of request %" PRId64 " at %" PRId64 " ns: expected >= 0",
                               id, arrival_ns);
    if (prompt_tokens < 0 || requested_output_tokens < 0)
        return db_metrics_fail(m, "arrival of request %" PRId64 ": token counts must be >= 0", id);
    if (arrival_ns < m->max_arrival_ns)
        return db_metrics_fail(m,
                               "arrival of request %" PRId64 " at %" PRId64
                               " ns is before the previous arrival (%" PRId64
                               " ns); arrivals must be recorded in time order",
                               id, arrival_ns, m->max_arrival_ns);
    if ((uint64_t)id < m->n_ids && m->slot_of_id[id] != 0)
        return db_metrics_fail(m, "arrival of request %" PRId64 ": that id already arrived", id);
    if (db_metrics_grow((void **)&m->slot_of_id, &m->n_ids, (size_t)id + 1,
                        sizeof *m->slot_of_id) ||
        db_metrics_grow((void **)&m->reqs, &m->cap_reqs, m->n_reqs + 1, sizeof *m->reqs))
        return db_metrics_fail(m, "arrival of request %" PRId64 ": out of memory", id);

    size_t order = m->n_reqs++;
    m->slot_of_id[id] = (int64_t)order + 1;
    db_req_state *r = &m->reqs[order];
    *r = (db_req_state){0};
    r->rec = (db_request_record){.id = id,
                                 .arrival_ns = arrival_ns,
                                 .prompt_tokens = prompt_tokens,
                                 .requested_output_tokens = requested_output_tokens,
                                 .first_scheduled_ns = -1,
                                 .first_token_ns = -1,
                                 .last_token_ns = -1,
                                 .end_ns = -1,
                                 .max_itl_ns = -1,
                                 .status = DB_REQ_IN_FLIGHT};
    m->max_arrival_ns = arrival_ns;
    if (arrival_ns > m->max_event_ns) m->max_event_ns = arrival_ns;
    if ((int64_t)order == m->cfg.warmup_requests && !m->window_start_known) {
        m->window_start_ns = arrival_ns > m->cfg.warmup_ns ? arrival_ns : m->cfg.warmup_ns;
        m->window_start_known = true;
    }
    if ((int64_t)order < m->cfg.warmup_requests || arrival_ns < m->cfg.warmup_ns)
        r->member = DB_MEMBER_OUT_WARMUP;
    else if (m->cfg.cooldown_ns == 0)
        r->member = DB_MEMBER_IN;
    else
        r->member = DB_MEMBER_PENDING;
    return promote_pending(m);
}

int db_metrics_request_scheduled(db_metrics *m, int64_t id, int64_t t_ns) {
    db_req_state *r = live_request(m, id, t_ns, "scheduling");
    if (!r) return -1;
    if (r->rec.first_scheduled_ns < 0) r->rec.first_scheduled_ns = t_ns;
    note_time(m, t_ns);
    return 0;
}

int db_metrics_request_preempted(db_metrics *m, int64_t id, int64_t t_ns) {
    db_req_state *r = live_request(m, id, t_ns, "preemption");
    if (!r) return -1;
    if (r->rec.first_scheduled_ns < 0 || t_ns < r->rec.first_scheduled_ns)
        return db_metrics_fail(m,
                               "preemption of request %" PRId64 " at %" PRId64
                               " ns: the request was not scheduled before",
                               id, t_ns);
    if (r->rec.preemptions == INT32_MAX)
        return db_metrics_fail(m, "preemption of request %" PRId64 ": more than 2^31", id);
    r->rec.preemptions++;
    note_time(m, t_ns);
    return 0;
}

int db_metrics_tokens_emitted(db_metrics *m, int64_t id, int64_t t_ns, int32_t count) {
    db_req_state *r = live_request(m, id, t_ns, "tokens");
    if (!r) return -1;
    db_request_record *rec = &r->rec;
    if (count < 1)
        return db_metrics_fail(
            m, "tokens for request %" PRId64 ": count %" PRId32 ", expected >= 1", id, count);
    if (t_ns < rec->last_token_ns)
        return db_metrics_fail(m,
                               "tokens for request %" PRId64 " at %" PRId64
                               " ns: earlier than its previous token at %" PRId64 " ns",
                               id, t_ns, rec->last_token_ns);
    if (rec->output_tokens > INT32_MAX - count)
        return db_metrics_fail(m, "tokens for request %" PRId64 ": more than 2^31 tokens", id);
    if (r->member != DB_MEMBER_OUT_WARMUP) {
        if (db_metrics_grow((void **)&r->em, &r->cap_em, r->n_em + 1, sizeof *r->em))
            return db_metrics_fail(m, "tokens for request %" PRId64 ": out of memory", id);
        r->em[r->n_em++] = (db_emission){t_ns, count};
    }
    int64_t gap = rec->first_token_ns >= 0 ? t_ns - rec->last_token_ns : -1;
    if (count > 1 && gap < 0) gap = 0; /* the first emission's later tokens follow at gap 0 */
    if (gap > rec->max_itl_ns) rec->max_itl_ns = gap;
    if (rec->first_token_ns < 0) rec->first_token_ns = t_ns;
    rec->last_token_ns = t_ns;
    rec->output_tokens += count;
    note_time(m, t_ns);
    return 0;
}

/* Mark r ended; fold it now if it is known to be in the window. */
static int end_request(db_metrics *m, db_req_state *r) {
    note_time(m, r->rec.end_ns);
    if (r->member == DB_MEMBER_IN) return db_metrics_fold(m, r);
    if (r->member != DB_MEMBER_PENDING) return db_metrics_fold_excluded(m, r);
    return 0;
}

int db_metrics_request_finished(db_metrics *m, int64_t id, int64_t t_ns) {
    db_req_state *r = live_request(m, id, t_ns, "finish");
    if (!r) return -1;
    if (t_ns < r->rec.last_token_ns)
        return db_metrics_fail(m,
                               "finish for request %" PRId64 " at %" PRId64
                               " ns: earlier than its last token at %" PRId64 " ns",
                               id, t_ns, r->rec.last_token_ns);
    if (r->rec.output_tokens == 0)
        return db_metrics_request_failed(m, id, t_ns, "finished without output tokens");
    r->rec.end_ns = t_ns;
    r->rec.status = DB_REQ_COMPLETED;
    return end_request(m, r);
}

int db_metrics_request_failed(db_metrics *m, int64_t id, int64_t t_ns, const char *reason) {
    db_req_state *r = live_request(m, id, t_ns, "failure");
    if (!r) return -1;
    const char *interned = db_metrics_intern_reason(m, reason && *reason ? reason : "unspecified");
    if (!interned) return db_metrics_fail(m, "failure of request %" PRId64 ": out of memory", id);
    r->rec.end_ns = t_ns;
    r->rec.status = DB_REQ_FAILED;
    r->rec.failure_reason = interned;
    return end_request(m, r);
}

int db_metrics_step(db_metrics *m, const db_step_event *s) {
    if (m->finished)
        return db_metrics_fail(m, "step %" PRId64 " after the run was finished", s->index);
    const char *bad = NULL;
    if (s->index < 0)
        bad = "index < 0";
    else if (s->start_ns < 0 || s->duration_ns < 0)
        bad = "start or duration < 0";
    else if (s->batch_size < 0 || s->prefill_tokens < 0 || s->decode_tokens < 0)
        bad = "count < 0";
    else if (s->kv_blocks_used < 0 || s->kv_blocks_total < 0)
        bad = "KV block count < 0";
    else if (!(s->host_overhead_s >= 0) || !(s->device_s >= 0) || !(s->flops >= 0) ||
             !(s->bytes >= 0) || isinf(s->flops) || isinf(s->bytes))
        bad = "host/device seconds, FLOPs or bytes not finite and >= 0";
    if (bad) return db_metrics_fail(m, "step %" PRId64 ": %s", s->index, bad);
    if (db_metrics_grow((void **)&m->steps, &m->cap_steps, m->n_steps + 1, sizeof *m->steps))
        return db_metrics_fail(m, "step %" PRId64 ": out of memory", s->index);
    m->steps[m->n_steps++] = *s;
    int64_t end = s->start_ns + s->duration_ns;
    if (end > m->max_event_ns) m->max_event_ns = end;
    return 0;
}

int db_metrics_finish(db_metrics *m, int64_t end_ns) {
    if (m->finished) return db_metrics_fail(m, "the run was already finished");
    if (end_ns < m->max_event_ns)
        return db_metrics_fail(m,
                               "run end %" PRId64 " ns is earlier than an event at %" PRId64 " ns",
                               end_ns, m->max_event_ns);
    if (!m->window_start_known) {
        /* fewer than warmup_requests + 1 arrivals: nothing is in the window */
        m->window_start_ns = end_ns > m->cfg.warmup_ns ? end_ns : m->cfg.warmup_ns;
        m->window_start_known = true;
    }
    m->window_end_ns = m->n_reqs ? m->max_arrival_ns - m->cfg.cooldown_ns : m->window_start_ns;
    for (size_t i = m->first_undecided; i < m->n_reqs; i++) {
        db_req_state *r = &m->reqs[i];
        if (r->member != DB_MEMBER_PENDING) continue;
        r->member = r->rec.arrival_ns <= m->window_end_ns ? DB_MEMBER_IN : DB_MEMBER_OUT_COOLDOWN;
        if (r->rec.status != DB_REQ_IN_FLIGHT) {
            int rc =
                r->member == DB_MEMBER_IN ? db_metrics_fold(m, r) : db_metrics_fold_excluded(m, r);
            if (rc != 0) return -1;
        }
    }
    m->first_undecided = m->n_reqs;
    m->end_ns = end_ns;
    if (db_metrics_summarise(m) != 0 || db_metrics_intervals_close(m) != 0) return -1;
    m->finished = true;
    return 0;
}

const db_metrics_summary *db_metrics_summary_get(const db_metrics *m) {
    return m->finished ? &m->summary : NULL;
}

const db_metrics_config *db_metrics_config_get(const db_metrics *m) {
    return &m->cfg;
}

const db_hdr *db_metrics_histogram(const db_metrics *m, db_latency k) {
    return (unsigned)k < DB_LAT_COUNT ? &m->hist[k] : NULL;
}

size_t db_metrics_request_count(const db_metrics *m) {
    return m->n_reqs;
}

const db_request_record *db_metrics_request_at(const db_metrics *m, size_t i) {
    return i < m->n_reqs ? &m->reqs[i].rec : NULL;
}

size_t db_metrics_step_count(const db_metrics *m) {
    return m->n_steps;
}

const db_step_event *db_metrics_step_at(const db_metrics *m, size_t i) {
    return i < m->n_steps ? &m->steps[i] : NULL;
}
