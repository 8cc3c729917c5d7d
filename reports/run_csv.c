/* run_csv.c — requests.csv and steps.csv (run_csv.h). */
#include "run_csv.h"

#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "atomic_file.h"

/* A row under construction: fields are appended as text, then written in one go. */
typedef struct row {
    FILE *f;
    int n;    /* fields written in this row */
    bool bad; /* a write failed */
} row;

/* One field; csv_fwrite quotes it when it holds a comma, quote, newline or edge space. */
static void field(row *r, const char *text) {
    if (r->n++ > 0 && fputc(',', r->f) == EOF) r->bad = true;
    size_t len = strlen(text);
    bool quote =
        strpbrk(text, ",\"\r\n") != NULL || (len > 0 && (text[0] == ' ' || text[len - 1] == ' '));
    if (quote ? csv_fwrite(r->f, text, len) != 0 : fputs(text, r->f) == EOF) r->bad = true;
}

static void end_row(row *r) {
    if (fputc('\n', r->f) == EOF) r->bad = true;
    r->n = 0;
}

static void field_i64(row *r, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    field(r, buf);
}

/* A run-clock time in seconds (exact to the ns), or empty when < 0 (never happened). */
static void field_time_s(row *r, int64_t ns) {
    char buf[40] = "";
    if (ns >= 0)
        snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, ns / 1000000000, ns % 1000000000);
    field(r, buf);
}

/* A duration in ms (exact to the ns), or empty when < 0 (undefined). */
static void field_ms(row *r, int64_t ns) {
    char buf[40] = "";
    if (ns >= 0) snprintf(buf, sizeof buf, "%" PRId64 ".%06" PRId64, ns / 1000000, ns % 1000000);
    field(r, buf);
}

static void field_fmt(row *r, const char *fmt, double v) {
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    field(r, buf);
}

static const char *const request_columns[] = {"id",
                                              "arrival_s",
                                              "prompt_tokens",
                                              "requested_output_tokens",
                                              "output_tokens",
                                              "status",
                                              "in_window",
                                              "meets_slo",
                                              "first_scheduled_s",
                                              "first_token_s",
                                              "last_token_s",
                                              "end_s",
                                              "queue_ms",
                                              "ttft_ms",
                                              "tpot_ms",
                                              "max_itl_ms",
                                              "e2el_ms",
                                              "norm_latency_ms",
                                              "failure_reason",
                                              "preemptions"}; /* appended last: readers by position
                                                                 keep working */

static const char *status_name(db_request_status s) {
    return s == DB_REQ_COMPLETED ? "completed" : s == DB_REQ_FAILED ? "failed" : "in_flight";
}

int db_requests_csv(FILE *f, const db_metrics *m) {
    row r = {f, 0, false};
    for (size_t i = 0; i < sizeof request_columns / sizeof request_columns[0]; i++)
        field(&r, request_columns[i]);
    end_row(&r);
    for (size_t i = 0; i < db_metrics_request_count(m) && !r.bad; i++) {
        const db_request_record *q = db_metrics_request_at(m, i);
        field_i64(&r, q->id);
        field_time_s(&r, q->arrival_ns);
        field_i64(&r, q->prompt_tokens);
        field_i64(&r, q->requested_output_tokens);
        field_i64(&r, q->output_tokens);
        field(&r, status_name(q->status));
        field(&r, q->in_window ? "1" : "0");
        field(&r, q->status != DB_REQ_COMPLETED ? "" : q->meets_slo ? "1" : "0");
        field_time_s(&r, q->first_scheduled_ns);
        field_time_s(&r, q->first_token_ns);
        field_time_s(&r, q->last_token_ns);
        field_time_s(&r, q->end_ns);
        field_ms(&r, db_request_latency_ns(q, DB_LAT_QUEUE));
        field_ms(&r, db_request_latency_ns(q, DB_LAT_TTFT));
        field_ms(&r, db_request_latency_ns(q, DB_LAT_TPOT));
        field_ms(&r, db_request_latency_ns(q, DB_LAT_ITL));
        field_ms(&r, db_request_latency_ns(q, DB_LAT_E2E));
        field_ms(&r, db_request_latency_ns(q, DB_LAT_NORM));
        field(&r, q->failure_reason ? q->failure_reason : "");
        field_i64(&r, q->preemptions);
        end_row(&r);
    }
    return r.bad ? -1 : 0;
}

static const char *const step_columns[] = {"index",
                                           "start_s",
                                           "duration_ms",
                                           "batch_size",
                                           "prefill_tokens",
                                           "decode_tokens",
                                           "kv_blocks_used",
                                           "kv_blocks_total",
                                           "host_overhead_ms",
                                           "device_ms",
                                           "flops",
                                           "bytes",
                                           "arithmetic_intensity",
                                           "achieved_flops_per_s",
                                           "achieved_bytes_per_s"};

int db_steps_csv(FILE *f, const db_metrics *m) {
    row r = {f, 0, false};
    for (size_t i = 0; i < sizeof step_columns / sizeof step_columns[0]; i++)
        field(&r, step_columns[i]);
    end_row(&r);
    for (size_t i = 0; i < db_metrics_step_count(m) && !r.bad; i++) {
        const db_step_event *s = db_metrics_step_at(m, i);
        double dur_s = (double)s->duration_ns * 1e-9;
        field_i64(&r, s->index);
        field_time_s(&r, s->start_ns);
        field_ms(&r, s->duration_ns);
        field_i64(&r, s->batch_size);
        field_i64(&r, s->prefill_tokens);
        field_i64(&r, s->decode_tokens);
        field_i64(&r, s->kv_blocks_used);
        field_i64(&r, s->kv_blocks_total);
        field_fmt(&r, "%.6f", s->host_overhead_s * 1e3);
        field_fmt(&r, "%.6f", s->device_s * 1e3);
        field_fmt(&r, "%.0f", s->flops);
        field_fmt(&r, "%.0f", s->bytes);
        if (s->bytes > 0)
            field_fmt(&r, "%.6g", s->flops / s->bytes);
        else
            field(&r, "");
        if (dur_s > 0) {
            field_fmt(&r, "%.6g", s->flops / dur_s);
            field_fmt(&r, "%.6g", s->bytes / dur_s);
        } else {
            field(&r, "");
            field(&r, "");
        }
        end_row(&r);
    }
    return r.bad ? -1 : 0;
}

static int write_atomic(const char *path, const db_metrics *m,
                        int (*fn)(FILE *, const db_metrics *), char *err, size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen) != 0) return -1;
    errno = 0;
    if (fn(af.f, m) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot write '%s': %s", path, e ? strerror(e) : "write failed");
        db_atomic_abort(&af);
        return -1;
    }
    return db_atomic_commit(&af, err, errlen);
}

int db_requests_csv_write(const char *path, const db_metrics *m, char *err, size_t errlen) {
    return write_atomic(path, m, db_requests_csv, err, errlen);
}

int db_steps_csv_write(const char *path, const db_metrics *m, char *err, size_t errlen) {
    return write_atomic(path, m, db_steps_csv, err, errlen);
}
