/* summary_json.c — summary.json (summary_json.h). Units: seconds for durations of the run, ms for
 * latencies (from the recorder's ns), tokens and requests per second for rates. Undefined values (a
 * latency with no samples, MFU without a peak) are null.
 */
#include "summary_json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"
#include "slo.h"

static const char *const latency_fields[DB_LAT_COUNT] = {"ttft_ms", "tpot_ms",  "itl_ms",
                                                         "e2el_ms", "queue_ms", "norm_latency_ms"};
static const char *const latency_counts[DB_LAT_COUNT] = {
    "ttft_count", "tpot_count", "itl_count", "e2el_count", "queue_count", "norm_latency_count"};

const char *db_summary_latency_field(db_latency k) {
    return (unsigned)k < DB_LAT_COUNT ? latency_fields[k] : "?";
}

/* A builder that remembers whether any allocation failed, so callers check once at the end. */
typedef struct builder {
    bool oom;
} builder;

/* json_object_set_new takes the value's reference, also when it fails. */
static void put(builder *b, json_t *obj, const char *key, json_t *value) {
    if (!obj) {
        json_decref(value);
        b->oom = true;
    } else if (!value || json_object_set_new(obj, key, value) != 0) {
        b->oom = true;
    }
}

/* A finite real, else null. */
static json_t *real_or_null(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *ns_to_ms(double ns) {
    return real_or_null(ns / 1e6);
}

static void put_latency(builder *b, json_t *o, const db_latency_stats *st, db_latency k) {
    const char *stem = latency_fields[k];
    const struct {
        const char *prefix;
        double ns;
    } fields[] = {{"mean_", st->mean_ns},          {"median_", (double)st->p50_ns},
                  {"std_", st->stddev_ns},         {"p90_", (double)st->p90_ns},
                  {"p95_", (double)st->p95_ns},    {"p99_", (double)st->p99_ns},
                  {"p99.9_", (double)st->p999_ns}, {"min_", (double)st->min_ns},
                  {"max_", (double)st->max_ns}};
    char key[64];
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        snprintf(key, sizeof key, "%s%s", fields[i].prefix, stem);
        put(b, o, key, st->count > 0 ? ns_to_ms(fields[i].ns) : json_null());
    }
    put(b, o, latency_counts[k], json_integer(st->count));
}

static json_t *kv_object(builder *b, const db_kv_list *l) {
    json_t *o = json_object();
    for (size_t i = 0; l && i < l->n; i++) {
        const db_kv *kv = &l->items[i];
        put(b, o, kv->key,
            kv->kind == DB_KV_INT ? json_integer(kv->int_value) : json_string(kv->value));
    }
    return o;
}

static json_t *window_json(builder *b, const db_metrics *m) {
    const db_metrics_config *c = db_metrics_config_get(m);
    const db_metrics_summary *s = db_metrics_summary_get(m);
    json_t *w = json_object();
    put(b, w, "warmup_s", json_real((double)c->warmup_ns * 1e-9));
    put(b, w, "warmup_requests", json_integer(c->warmup_requests));
    put(b, w, "cooldown_s", json_real((double)c->cooldown_ns * 1e-9));
    put(b, w, "start_s", json_real((double)s->window_start_ns * 1e-9));
    put(b, w, "end_s", json_real((double)s->window_end_ns * 1e-9));
    put(b, w, "span_end_s", json_real((double)s->span_end_ns * 1e-9));
    put(b, w, "arrived", json_integer(s->arrived));
    put(b, w, "excluded_warmup", json_integer(s->excluded_warmup));
    put(b, w, "excluded_cooldown", json_integer(s->excluded_cooldown));
    put(b, w, "counted", json_integer(s->counted));
    return w;
}

static json_t *slo_json(builder *b, const db_metrics *m) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    const db_slo_set *slo = db_metrics_config_get(m)->slo;
    json_t *o = json_object();
    char text[512], label[48];
    db_slo_format(slo, text, sizeof text);
    put(b, o, "spec", json_string(text));
    json_t *per = json_object(), *met = json_object();
    for (int k = 0; k < DB_LAT_COUNT; k++) {
        if (slo->per_request_ns[k] < 0) continue;
        put(b, per, latency_fields[k], ns_to_ms((double)slo->per_request_ns[k]));
        put(b, met, db_latency_name((db_latency)k), json_integer(s->met[k]));
    }
    put(b, o, "per_request", per);
    put(b, o, "met", met);
    put(b, o, "good_requests", s->has_slo ? json_integer(s->good_requests) : json_null());
    put(b, o, "attainment",
        s->has_slo && s->slo_attainment >= 0 ? json_real(s->slo_attainment) : json_null());
    json_t *checks = json_array();
    for (size_t i = 0; i < s->n_checks; i++) {
        const db_slo_check *c = &s->checks[i];
        db_slo_aggregate agg = {c->metric, c->percentile, c->threshold_ns};
        db_slo_aggregate_label(&agg, label, sizeof label);
        json_t *one = json_object();
        put(b, one, "objective", json_string(label));
        put(b, one, "threshold_ms", ns_to_ms((double)c->threshold_ns));
        put(b, one, "value_ms", c->value_ns >= 0 ? ns_to_ms((double)c->value_ns) : json_null());
        put(b, one, "pass", json_boolean(c->pass));
        if (!checks || json_array_append_new(checks, one) != 0) b->oom = true;
    }
    put(b, o, "aggregate_checks", checks);
    return o;
}

static json_t *engine_json(builder *b, const db_metrics *m) {
    const db_engine_summary *e = &db_metrics_summary_get(m)->engine;
    const db_metrics_config *c = db_metrics_config_get(m);
    json_t *o = json_object();
    bool any = e->steps > 0;
    put(b, o, "steps", json_integer(e->steps));
    put(b, o, "mean_step_ms", any ? json_real(e->mean_step_s * 1e3) : json_null());
    put(b, o, "mean_batch_size", any ? json_real(e->mean_batch_size) : json_null());
    put(b, o, "mean_host_overhead_ms",
        any ? json_real(e->mean_host_overhead_s * 1e3) : json_null());
    put(b, o, "mean_device_ms", any ? json_real(e->mean_device_s * 1e3) : json_null());
    put(b, o, "prefill_tokens", json_integer(e->prefill_tokens));
    put(b, o, "decode_tokens", json_integer(e->decode_tokens));
    put(b, o, "total_flops", real_or_null(e->total_flops));
    put(b, o, "total_bytes", real_or_null(e->total_bytes));
    put(b, o, "achieved_flops_per_s", any ? real_or_null(e->achieved_flops_per_s) : json_null());
    put(b, o, "achieved_bytes_per_s", any ? real_or_null(e->achieved_bytes_per_s) : json_null());
    put(b, o, "arithmetic_intensity",
        e->total_bytes > 0 ? real_or_null(e->arithmetic_intensity) : json_null());
    put(b, o, "peak_flops_per_s", c->peak_flops > 0 ? json_real(c->peak_flops) : json_null());
    put(b, o, "peak_bytes_per_s",
        c->peak_bytes_per_s > 0 ? json_real(c->peak_bytes_per_s) : json_null());
    put(b, o, "mfu", any && e->mfu >= 0 ? real_or_null(e->mfu) : json_null());
    put(b, o, "mbu", any && e->mbu >= 0 ? real_or_null(e->mbu) : json_null());
    put(b, o, "peak_kv_utilization", json_real(e->peak_kv_utilisation));
    return o;
}

static json_t *failures_json(builder *b, const db_metrics_summary *s) {
    json_t *o = json_object();
    for (size_t i = 0; i < s->n_failures; i++)
        put(b, o, s->failures[i].reason, json_integer(s->failures[i].count));
    return o;
}

static void put_run_facts(builder *b, json_t *o, const db_run_info *info) {
    put(b, o, "schema_version", json_integer(DB_SUMMARY_SCHEMA_VERSION));
    put(b, o, "complete", json_boolean(info->complete));
    put(b, o, "command_line", json_string(info->command_line ? info->command_line : ""));
    char date[64] = "";
    time_t whole = (time_t)floor(info->start_epoch_s);
    struct tm tm;
    if (info->start_epoch_s > 0 && gmtime_r(&whole, &tm))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    put(b, o, "date", date[0] ? json_string(date) : json_null());
    put(b, o, "start_epoch_s", json_real(info->start_epoch_s));
}

static void put_counts_and_rates(builder *b, json_t *o, const db_metrics_summary *s) {
    put(b, o, "duration", json_real(s->duration_s));
    put(b, o, "completed", json_integer(s->completed));
    put(b, o, "failed", json_integer(s->failed));
    put(b, o, "in_flight", json_integer(s->in_flight));
    put(b, o, "total_input_tokens", json_integer(s->total_input_tokens));
    put(b, o, "total_output_tokens", json_integer(s->total_output_tokens));
    put(b, o, "request_throughput", json_real(s->request_throughput));
    put(b, o, "output_throughput", json_real(s->output_throughput));
    put(b, o, "total_token_throughput", json_real(s->total_token_throughput));
    put(b, o, "request_goodput", s->has_slo ? json_real(s->request_goodput) : json_null());
    put(b, o, "output_token_goodput",
        s->has_slo ? json_real(s->output_token_goodput) : json_null());
    put(b, o, "max_output_tokens_per_s",
        s->peak_buckets > 0 ? json_real(s->peak_output_throughput) : json_null());
    put(b, o, "peak_buckets", json_integer(s->peak_buckets));
    put(b, o, "mean_concurrency", json_real(s->mean_concurrency));
    put(b, o, "latency_out_of_range", json_integer(s->out_of_range));
}

json_t *db_summary_json(const db_metrics *m, const db_run_info *info) {
    const db_metrics_summary *s = db_metrics_summary_get(m);
    if (!s) return NULL;
    builder b = {false};
    json_t *o = json_object();
    put_run_facts(&b, o, info);
    put_counts_and_rates(&b, o, s);
    for (int k = 0; k < DB_LAT_COUNT; k++)
        put_latency(&b, o, &s->latency[k], (db_latency)k);
    put(&b, o, "window", window_json(&b, m));
    put(&b, o, "slo", slo_json(&b, m));
    put(&b, o, "failed_reasons", failures_json(&b, s));
    put(&b, o, "failed_outside_window", json_integer(s->failed_outside_window));
    put(&b, o, "engine", engine_json(&b, m));
    put(&b, o, "environment", kv_object(&b, info->environment));
    if (b.oom) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int db_summary_json_write(const char *path, const db_metrics *m, const db_run_info *info, char *err,
                          size_t errlen) {
    json_t *o = db_summary_json(m, info);
    if (!o) {
        snprintf(err, errlen, "cannot write '%s': out of memory building the summary", path);
        return -1;
    }
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen) != 0) {
        json_decref(o);
        return -1;
    }
    errno = 0;
    int bad = json_dumpf(o, af.f, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) != 0;
    bad |= fputc('\n', af.f) == EOF;
    int e = errno;
    json_decref(o);
    if (bad) {
        snprintf(err, errlen, "cannot write '%s': %s", path, e ? strerror(e) : "write failed");
        db_atomic_abort(&af);
        return -1;
    }
    return db_atomic_commit(&af, err, errlen);
}
