/* timeline.c — timeline.json (timeline.h), streamed: events are printed one per line as they are
 * read from the recorder and the timeline, never built as one JSON tree (a capped timeline still
 * holds half a million events). Strings go through jansson so that kernel names and failure reasons
 * are escaped as JSON requires. */
#include "timeline.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "atomic_file.h"

enum { PID_ENGINE = 1, PID_REQUESTS = 2, PID_GPU = 3, TID_STEPS = 1 };

typedef struct writer {
    FILE *f;
    bool first; /* no event written yet */
    bool oom;
} writer;

/* A JSON string literal for s (quoted and escaped). */
static void put_str(writer *w, const char *s) {
    json_t *j = json_string(s ? s : "");
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (text)
        fputs(text, w->f);
    else
        w->oom = true;
    free(text);
    json_decref(j);
}

/* ns as microseconds with 3 decimals. */
static void put_us(writer *w, int64_t ns) {
    if (ns < 0) {
        fputc('-', w->f);
        ns = -ns;
    }
    fprintf(w->f, "%" PRId64 ".%03" PRId64, ns / 1000, ns % 1000);
}

/* Starts an event: {"name":NAME,"ph":PH,"pid":P,"tid":T,"ts":TS — the caller adds the rest and
 * end_event closes it. */
static void begin_event(writer *w, const char *name, const char *ph, int pid, int64_t tid,
                        int64_t ts_ns) {
    fputs(w->first ? "\n" : ",\n", w->f);
    w->first = false;
    fputs("{\"name\":", w->f);
    put_str(w, name);
    fprintf(w->f, ",\"ph\":\"%s\",\"pid\":%d,\"tid\":%" PRId64 ",\"ts\":", ph, pid, tid);
    put_us(w, ts_ns);
}

static void end_event(writer *w) {
    fputc('}', w->f);
}

/* A metadata event: {"name":KIND,"ph":"M","pid":P,"tid":T,"args":{"name"|"sort_index":...}}. */
static void meta_name(writer *w, const char *kind, int pid, int64_t tid, const char *value) {
    fputs(w->first ? "\n" : ",\n", w->f);
    w->first = false;
    fprintf(w->f,
            "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%d,\"tid\":%" PRId64 ",\"args\":{\"name\":",
            kind, pid, tid);
    put_str(w, value);
    fputs("}}", w->f);
}

static void meta_sort(writer *w, const char *kind, int pid, int64_t tid, int64_t index) {
    fputs(w->first ? "\n" : ",\n", w->f);
    w->first = false;
    fprintf(w->f,
            "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%d,\"tid\":%" PRId64
            ",\"args\":{\"sort_index\":%" PRId64 "}}",
            kind, pid, tid, index);
}

static void processes(writer *w, bool kernels) {
    meta_name(w, "process_name", PID_ENGINE, 0, "engine");
    meta_sort(w, "process_sort_index", PID_ENGINE, 0, 1);
    meta_name(w, "thread_name", PID_ENGINE, TID_STEPS, "steps");
    meta_name(w, "process_name", PID_REQUESTS, 0, "requests");
    meta_sort(w, "process_sort_index", PID_REQUESTS, 0, kernels ? 3 : 2);
    if (kernels) {
        meta_name(w, "process_name", PID_GPU, 0, "gpu");
        meta_sort(w, "process_sort_index", PID_GPU, 0, 2);
    }
}

static const char *step_name(const db_step_event *s) {
    if (s->prefill_tokens > 0 && s->decode_tokens > 0) return "mixed";
    return s->prefill_tokens > 0 ? "prefill" : "decode";
}

static void steps(writer *w, const db_metrics *m, int64_t kept) {
    for (size_t i = 0; i < db_metrics_step_count(m) && (int64_t)i < kept; i++) {
        const db_step_event *s = db_metrics_step_at(m, i);
        begin_event(w, step_name(s), "X", PID_ENGINE, TID_STEPS, s->start_ns);
        fputs(",\"dur\":", w->f);
        put_us(w, s->duration_ns);
        fprintf(w->f,
                ",\"args\":{\"step\":%" PRId64 ",\"batch\":%d,\"prefill_tokens\":%d,"
                "\"decode_tokens\":%d,\"kv_blocks\":%d,\"kv_blocks_total\":%d,"
                "\"host_overhead_us\":%.3f,\"device_us\":%.3f,\"flops\":%.6g,\"bytes\":%.6g}",
                s->index, s->batch_size, s->prefill_tokens, s->decode_tokens, s->kv_blocks_used,
                s->kv_blocks_total, s->host_overhead_s * 1e6, s->device_s * 1e6, s->flops,
                s->bytes);
        end_event(w);
        begin_event(w, "engine", "C", PID_ENGINE, TID_STEPS, s->start_ns);
        fprintf(w->f, ",\"args\":{\"batch\":%d,\"kv_blocks\":%d}", s->batch_size,
                s->kv_blocks_used);
        end_event(w);
    }
}

static void request_tracks(writer *w, const db_timeline *tl) {
    for (size_t i = 0; i < db_timeline_request_count(tl); i++) {
        const db_tl_request *r = db_timeline_request_at(tl, i);
        char name[96];
        snprintf(name, sizeof name, "req %" PRId64 ": %d+%d tok", r->id, r->prompt_tokens,
                 r->output_tokens);
        meta_name(w, "thread_name", PID_REQUESTS, (int64_t)i + 1, name);
        meta_sort(w, "thread_sort_index", PID_REQUESTS, (int64_t)i + 1, (int64_t)i + 1);
    }
}

static void event_args(writer *w, const db_tl_event *e, const db_tl_request *r) {
    fputs(",\"args\":{", w->f);
    switch (e->kind) {
    case DB_TL_PREFILL:
    case DB_TL_RECOMPUTE:
        fprintf(w->f, "\"step\":%" PRId64 ",\"tokens\":%d,\"pos\":%d", e->first_step, e->tokens,
                e->pos);
        break;
    case DB_TL_DECODE:
        fprintf(w->f, "\"first_step\":%" PRId64 ",\"last_step\":%" PRId64 ",\"tokens\":%d",
                e->first_step, e->last_step, e->tokens);
        break;
    case DB_TL_FAILED:
        fputs("\"reason\":", w->f);
        put_str(w, r->failure);
        break;
    case DB_TL_PREEMPTED:
        fprintf(w->f, "\"preemptions\":%d", r->preemptions);
        break;
    default:
        fprintf(w->f, "\"request\":%" PRId64, e->req);
        break;
    }
    if (e->truncated) fputs(",\"truncated\":true", w->f);
    fputc('}', w->f);
}

static void request_events(writer *w, const db_timeline *tl) {
    for (size_t i = 0; i < db_timeline_event_count(tl); i++) {
        const db_tl_event *e = db_timeline_event_at(tl, i);
        int64_t slot = db_timeline_request_slot(tl, e->req);
        const db_tl_request *r = db_timeline_request_at(tl, (size_t)slot);
        bool instant = e->kind == DB_TL_PREEMPTED || e->kind == DB_TL_FAILED;
        begin_event(w, db_tl_kind_name(e->kind), instant ? "i" : "X", PID_REQUESTS, slot + 1,
                    e->start_ns);
        if (instant)
            fputs(",\"s\":\"t\"", w->f);
        else {
            fputs(",\"dur\":", w->f);
            put_us(w, e->end_ns - e->start_ns);
        }
        event_args(w, e, r);
        end_event(w);
    }
}

static void kernels(writer *w, const db_timeline *tl) {
    for (size_t i = 0; i < db_timeline_stream_count(tl); i++) {
        uint32_t stream = db_timeline_stream_at(tl, i);
        char name[32];
        snprintf(name, sizeof name, "stream %u", stream);
        meta_name(w, "thread_name", PID_GPU, stream, name);
    }
    for (size_t i = 0; i < db_timeline_kernel_count(tl); i++) {
        const db_tl_kernel *k = db_timeline_kernel_at(tl, i);
        begin_event(w, k->name, "X", PID_GPU, k->stream, k->start_ns);
        fputs(",\"dur\":", w->f);
        put_us(w, k->end_ns - k->start_ns);
        fprintf(w->f, ",\"args\":{\"step\":%" PRId64 ",\"op\":", k->step);
        put_str(w, k->op);
        fputs("}", w->f);
        end_event(w);
    }
}

static void other_data(writer *w, const db_timeline *tl, const db_timeline_info *info) {
    fputs("\"otherData\":{\"generator\":\"decodebench\",\"clock\":", w->f);
    put_str(w, info && info->clock ? info->clock : "");
    fputs(",\"command_line\":", w->f);
    put_str(w, info && info->command_line ? info->command_line : "");
    fprintf(w->f, ",\"max_events\":%zu,\"counted_events\":%zu,\"truncated_at_s\":",
            db_timeline_max_events(tl), db_timeline_counted_events(tl));
    int64_t t = db_timeline_truncated_at_ns(tl);
    if (t < 0)
        fputs("null", w->f);
    else
        fprintf(w->f, "%" PRId64 ".%09" PRId64, t / 1000000000, t % 1000000000);
    fprintf(w->f, ",\"steps\":%" PRId64 ",\"requests\":%zu,\"kernels\":%zu},\n",
            db_timeline_steps_kept(tl), db_timeline_request_count(tl),
            db_timeline_kernel_count(tl));
}

int db_timeline_write(const char *path, const db_metrics *m, const db_timeline *tl,
                      const db_timeline_info *info, char *err, size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen)) return -1;
    writer w = {.f = af.f, .first = true};
    fputs("{\"displayTimeUnit\":\"ms\",\n", w.f);
    other_data(&w, tl, info);
    fputs("\"traceEvents\":[", w.f);
    processes(&w, db_timeline_kernel_count(tl) > 0);
    steps(&w, m, db_timeline_steps_kept(tl));
    request_tracks(&w, tl);
    request_events(&w, tl);
    kernels(&w, tl);
    fputs("\n]}\n", w.f);
    if (w.oom) {
        db_atomic_abort(&af);
        snprintf(err, errlen, "cannot write '%s': out of memory", path);
        return -1;
    }
    return db_atomic_commit(&af, err, errlen);
}
