/* metrics_fold.c — folding ended requests of the window into histograms and counters, and the
 * summary (throughput, goodput, SLO checks, failures, engine step figures) computed by
 * db_metrics_finish.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_state.h"

/* Add n copies of x to w (Chan et al.'s parallel combination with a group of identical values). */
static void welford_add_n(db_welford *w, double x, int64_t n) {
    if (n <= 0) return;
    double total = (double)(w->n + n);
    double delta = x - w->mean;
    w->mean += delta * (double)n / total;
    w->m2 += delta * delta * (double)w->n * (double)n / total;
    w->n += n;
}

/* Record n copies of v (ns) under kind k, observed at t_ns: histogram, exact running stats and,
 * when kept, the interval histograms. 0, or -1 with the message set. */
static int record_n(db_metrics *m, db_latency k, int64_t v, int64_t n, int64_t t_ns) {
    welford_add_n(&m->stats[k], (double)v, n);
    if (!db_hdr_record_n(&m->hist[k], v, n)) {
        m->out_of_range += n;
        return 0;
    }
    if (m->cfg.interval_ns <= 0) return 0;
    return db_metrics_interval_add(m, k, db_hdr_index_of(&m->hist[k], v), n, t_ns);
}

const char *db_metrics_intern_reason(db_metrics *m, const char *reason) {
    for (size_t i = 0; i < m->n_reasons; i++)
        if (!strcmp(m->reasons[i].reason, reason)) return m->reasons[i].reason;
    if (db_metrics_grow((void **)&m->reasons, &m->cap_reasons, m->n_reasons + 1,
                        sizeof *m->reasons))
        return NULL;
    char *copy = strdup(reason);
    if (!copy) return NULL;
    m->reasons[m->n_reasons++] = (db_reason){copy, 0, 0};
    return copy;
}

static db_reason *reason_entry(db_metrics *m, const char *interned) {
    for (size_t i = 0; i < m->n_reasons; i++)
        if (m->reasons[i].reason == interned) return &m->reasons[i];
    return NULL;
}

static void free_emissions(db_req_state *r) {
    free(r->em);
    r->em = NULL;
    r->n_em = r->cap_em = 0;
}

/* ITLs (first token of each event gets the gap since the previous token, the others 0) and the
 * output-token buckets of one completed request. */
static int fold_tokens(db_metrics *m, const db_req_state *r) {
    int64_t prev = -1;
    for (size_t i = 0; i < r->n_em; i++) {
        const db_emission *e = &r->em[i];
        int64_t zeros = e->count - 1;
        if (prev >= 0 && record_n(m, DB_LAT_ITL, e->t_ns - prev, 1, e->t_ns)) return -1;
        if (zeros > 0 && record_n(m, DB_LAT_ITL, 0, zeros, e->t_ns)) return -1;
        prev = e->t_ns;
        size_t b = (size_t)((e->t_ns - m->window_start_ns) / DB_METRICS_PEAK_BUCKET_NS);
        size_t cap = m->n_buckets;
        if (db_metrics_grow((void **)&m->bucket_tokens, &cap, b + 1, sizeof *m->bucket_tokens))
            return db_metrics_fail(m, "request %lld: out of memory", (long long)r->rec.id);
        m->n_buckets = cap;
        m->bucket_tokens[b] += e->count;
    }
    return 0;
}

/* True when the request meets every per-request objective (an undefined value, such as the TPOT of
 * a 1-token request, violates nothing); with count, counts each objective met. */
static bool meets_objectives(db_metrics *m, const db_request_record *rec, bool count) {
    bool all = true;
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        int64_t limit = m->slo.per_request_ns[k];
        if (limit < 0) continue;
        int64_t v = db_request_latency_ns(rec, (db_latency)k);
        if (v <= limit)
            m->met[k] += count;
        else
            all = false;
    }
    return all;
}

int db_metrics_fold(db_metrics *m, db_req_state *r) {
    db_request_record *rec = &r->rec;
    rec->in_window = true;
    if (rec->end_ns > m->last_counted_end || !m->any_counted_end) m->last_counted_end = rec->end_ns;
    m->any_counted_end = true;
    if (rec->status == DB_REQ_FAILED) {
        reason_entry(m, rec->failure_reason)->counted++;
        m->failed++;
        free_emissions(r);
        return 0;
    }
    /* each value at the time it became known (metrics.h, "interval histograms") */
    static const db_latency direct[] = {DB_LAT_TTFT, DB_LAT_TPOT, DB_LAT_E2E, DB_LAT_QUEUE,
                                        DB_LAT_NORM};
    const int64_t observed[] = {rec->first_token_ns, rec->last_token_ns, rec->last_token_ns,
                                rec->first_scheduled_ns, rec->last_token_ns};
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++) {
        int64_t v = db_request_latency_ns(rec, direct[i]);
        if (v >= 0 && record_n(m, direct[i], v, 1, observed[i])) return -1;
    }
    if (fold_tokens(m, r) != 0) return -1;
    m->completed++;
    m->input_tokens += rec->prompt_tokens;
    m->output_tokens += rec->output_tokens;
    m->e2e_sum_s += (double)db_request_latency_ns(rec, DB_LAT_E2E) * 1e-9;
    rec->meets_slo = meets_objectives(m, rec, true);
    if (rec->meets_slo) {
        m->good++;
        m->good_tokens += rec->output_tokens;
    }
    free_emissions(r);
    return 0;
}

int db_metrics_fold_excluded(db_metrics *m, db_req_state *r) {
    r->rec.in_window = false;
    if (r->rec.status == DB_REQ_FAILED) reason_entry(m, r->rec.failure_reason)->outside++;
    if (r->rec.status == DB_REQ_COMPLETED) r->rec.meets_slo = meets_objectives(m, &r->rec, false);
    free_emissions(r);
    return 0;
}

static void latency_stats(const db_metrics *m, db_latency k, db_latency_stats *out) {
    const db_hdr *h = &m->hist[k];
    const db_welford *w = &m->stats[k];
    *out = (db_latency_stats){0};
    out->count = w->n;
    if (w->n == 0) return;
    out->mean_ns = w->mean;
    out->stddev_ns = sqrt(w->m2 / (double)w->n);
    out->min_ns = db_hdr_min(h);
    out->p50_ns = db_hdr_value_at_percentile(h, 50.0);
    out->p90_ns = db_hdr_value_at_percentile(h, 90.0);
    out->p95_ns = db_hdr_value_at_percentile(h, 95.0);
    out->p99_ns = db_hdr_value_at_percentile(h, 99.0);
    out->p999_ns = db_hdr_value_at_percentile(h, 99.9);
    out->max_ns = db_hdr_max(h);
}

/* Steps that started in [window_start, span_end). */
static void engine_summary(const db_metrics *m, int64_t span_end, db_engine_summary *e) {
    *e = (db_engine_summary){.mfu = -1, .mbu = -1};
    double step_s = 0, batch = 0, host = 0, device = 0;
    for (size_t i = 0; i < m->n_steps; i++) {
        const db_step_event *s = &m->steps[i];
        if (s->start_ns < m->window_start_ns || s->start_ns >= span_end) continue;
        e->steps++;
        step_s += (double)s->duration_ns * 1e-9;
        batch += s->batch_size;
        host += s->host_overhead_s;
        device += s->device_s;
        e->prefill_tokens += s->prefill_tokens;
        e->decode_tokens += s->decode_tokens;
        e->total_flops += s->flops;
        e->total_bytes += s->bytes;
        if (s->kv_blocks_total > 0) {
            double u = (double)s->kv_blocks_used / (double)s->kv_blocks_total;
            if (u > e->peak_kv_utilisation) e->peak_kv_utilisation = u;
        }
    }
    if (e->steps == 0) return;
    double n = (double)e->steps;
    e->mean_step_s = step_s / n;
    e->mean_batch_size = batch / n;
    e->mean_host_overhead_s = host / n;
    e->mean_device_s = device / n;
    if (step_s > 0) {
        e->achieved_flops_per_s = e->total_flops / step_s;
        e->achieved_bytes_per_s = e->total_bytes / step_s;
    }
    if (e->total_bytes > 0) e->arithmetic_intensity = e->total_flops / e->total_bytes;
    if (m->cfg.peak_flops > 0) e->mfu = e->achieved_flops_per_s / m->cfg.peak_flops;
    if (m->cfg.peak_bytes_per_s > 0) e->mbu = e->achieved_bytes_per_s / m->cfg.peak_bytes_per_s;
}

static int reason_order(const void *a, const void *b) {
    const db_failure_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->reason, y->reason);
}

static int failure_summary(db_metrics *m, db_metrics_summary *s) {
    size_t n = 0;
    m->failure_view = calloc(m->n_reasons ? m->n_reasons : 1, sizeof *m->failure_view);
    if (!m->failure_view) return db_metrics_fail(m, "summary: out of memory");
    for (size_t i = 0; i < m->n_reasons; i++) {
        s->failed_outside_window += m->reasons[i].outside;
        if (m->reasons[i].counted > 0)
            m->failure_view[n++] = (db_failure_count){m->reasons[i].reason, m->reasons[i].counted};
    }
    qsort(m->failure_view, n, sizeof *m->failure_view, reason_order);
    s->failures = m->failure_view;
    s->n_failures = n;
    return 0;
}

static void slo_checks(db_metrics *m, db_metrics_summary *s) {
    for (size_t i = 0; i < m->slo.n_aggregates; i++) {
        const db_slo_aggregate *a = &m->slo.aggregates[i];
        const db_latency_stats *st = &s->latency[a->metric];
        db_slo_check *c = &m->checks[i];
        *c = (db_slo_check){a->metric, a->percentile, a->threshold_ns, -1, false};
        if (st->count == 0) continue;
        c->value_ns = a->percentile < 0
                          ? llround(st->mean_ns)
                          : db_hdr_value_at_percentile(&m->hist[a->metric], a->percentile);
        c->pass = c->value_ns <= a->threshold_ns;
    }
    s->checks = m->checks;
    s->n_checks = m->slo.n_aggregates;
}

/* Largest output-token count in a full 1 s bucket of [window_start, span_end); -1 with none. */
static void peak_throughput(const db_metrics *m, int64_t span_end, db_metrics_summary *s) {
    int64_t full = (span_end - m->window_start_ns) / DB_METRICS_PEAK_BUCKET_NS;
    s->peak_buckets = full > 0 ? full : 0;
    s->peak_output_throughput = -1;
    for (int64_t b = 0; b < full; b++) {
        int64_t tokens = (size_t)b < m->n_buckets ? m->bucket_tokens[b] : 0;
        double rate = (double)tokens * 1e9 / (double)DB_METRICS_PEAK_BUCKET_NS;
        if (rate > s->peak_output_throughput) s->peak_output_throughput = rate;
    }
}

static void count_membership(db_metrics *m, db_metrics_summary *s) {
    for (size_t i = 0; i < m->n_reqs; i++) {
        db_req_state *r = &m->reqs[i];
        r->rec.in_window = r->member == DB_MEMBER_IN;
        if (r->member == DB_MEMBER_OUT_WARMUP)
            s->excluded_warmup++;
        else if (r->member == DB_MEMBER_OUT_COOLDOWN)
            s->excluded_cooldown++;
        else if (r->rec.status == DB_REQ_IN_FLIGHT)
            s->in_flight++;
    }
}

int db_metrics_summarise(db_metrics *m) {
    db_metrics_summary *s = &m->summary;
    *s = (db_metrics_summary){0};
    s->window_start_ns = m->window_start_ns;
    s->window_end_ns = m->window_end_ns;
    s->arrived = (int64_t)m->n_reqs;
    count_membership(m, s);
    s->completed = m->completed;
    s->failed = m->failed;
    s->counted = s->completed + s->failed + s->in_flight;
    /* the span ends with the last counted request; at the run's end if one is still in flight */
    int64_t span_end = m->any_counted_end ? m->last_counted_end : m->window_start_ns;
    if (s->in_flight > 0) span_end = m->end_ns;
    if (span_end < m->window_start_ns) span_end = m->window_start_ns;
    s->span_end_ns = span_end;
    s->duration_s = (double)(span_end - m->window_start_ns) * 1e-9;
    s->total_input_tokens = m->input_tokens;
    s->total_output_tokens = m->output_tokens;
    if (s->duration_s > 0) {
        s->request_throughput = (double)s->completed / s->duration_s;
        s->output_throughput = (double)s->total_output_tokens / s->duration_s;
        s->total_token_throughput =
            (double)(s->total_input_tokens + s->total_output_tokens) / s->duration_s;
        s->mean_concurrency = m->e2e_sum_s / s->duration_s;
        s->request_goodput = (double)m->good / s->duration_s;
        s->output_token_goodput = (double)m->good_tokens / s->duration_s;
    }
    peak_throughput(m, span_end, s);
    s->out_of_range = m->out_of_range;
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        latency_stats(m, (db_latency)k, &s->latency[k]);
        s->met[k] = m->met[k];
    }
    s->has_slo = db_slo_has_per_request(&m->slo) != 0;
    s->good_requests = m->good;
    s->good_output_tokens = m->good_tokens;
    int64_t outcomes = s->completed + s->failed;
    s->slo_attainment = outcomes > 0 ? (double)m->good / (double)outcomes : -1;
    slo_checks(m, s);
    engine_summary(m, span_end, &s->engine);
    return failure_summary(m, s);
}
