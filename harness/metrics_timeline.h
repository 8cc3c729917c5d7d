/* metrics_timeline.h — the run's timeline: what each request was doing over time (queued, prefill
 * chunks, decode runs, preemptions, failure) and, when kernels are traced, the device's kernels.
 * reports/timeline.h writes it as timeline.json (Chrome trace / Perfetto JSON); the engine steps
 * themselves are read from the metrics recorder (db_metrics_step_at), so they are not kept twice.
 *
 * Events per request, in time order and never overlapping:
 *   queued       arrival -> start of the first step it is in
 *   prefill      one per step that carried a chunk of its prompt (tokens, first position)
 *   recompute    the same for the chunks that rebuild its KV cache after a preemption
 *   decode       one span per run of consecutive steps that each gave it one decode token
 *   requeued     preempted -> start of the next step it is in again
 *   preempted, failed   instants
 * A decode run ends when the request misses a step (it was preempted, or it finished), so a request
 * that is never preempted has exactly one decode span, however long its output.
 *
 * Bounded: the events kept (steps, step counters, request tracks and their events, kernels) are
 * counted as the trace events they become; when the next step, arrival or kernel would pass
 * max_events, the timeline is closed at that point (truncated_at_ns): spans still open end there,
 * marked truncated, and later events are ignored. Memory is O(max_events).
 *
 * Times are int64 ns on the run clock, as in metrics.h. Request ids are the caller's (dense, >= 0).
 * Must not: print, exit, read a clock, or know the engine, the scheduler or any output format.
 */
#ifndef DB_METRICS_TIMELINE_H
#define DB_METRICS_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default cap: ~60 MB of JSON (a trace event is ~120 bytes). */
#define DB_TIMELINE_DEFAULT_MAX_EVENTS ((size_t)500000)
/* Trace events one engine step becomes: its span and its counter sample. */
#define DB_TIMELINE_EVENTS_PER_STEP 2
/* Trace events one request track costs before its events: thread name and sort index. */
#define DB_TIMELINE_EVENTS_PER_TRACK 2

typedef enum db_tl_kind {
    DB_TL_QUEUED = 0,
    DB_TL_REQUEUED,
    DB_TL_PREFILL,
    DB_TL_RECOMPUTE,
    DB_TL_DECODE,
    DB_TL_PREEMPTED, /* instant */
    DB_TL_FAILED,    /* instant */
    DB_TL_KIND_COUNT
} db_tl_kind;

/* "queued", "queued (preempted)", "prefill", "prefill (recompute)", "decode", "preempted",
 * "failed". */
const char *db_tl_kind_name(db_tl_kind k);

typedef struct db_tl_event {
    int64_t req;                   /* request id */
    int64_t start_ns, end_ns;      /* end == start for an instant */
    int64_t first_step, last_step; /* steps the span covers; -1 for queued spans and instants */
    int32_t tokens;                /* prefill/recompute: chunk tokens; decode: tokens produced */
    int32_t pos;                   /* prefill/recompute: position of the chunk's first token */
    db_tl_kind kind;
    bool truncated; /* cut short by the cap or by the end of an interrupted run */
} db_tl_event;

typedef struct db_tl_request {
    int64_t id;
    int64_t arrival_ns;
    int32_t prompt_tokens;
    int32_t output_tokens; /* requested */
    int32_t generated;     /* tokens it received while the timeline was recording */
    int32_t preemptions;
    const char *failure; /* NULL unless failed; owned by the timeline */
} db_tl_request;

/* One work item of a step, as the timeline needs it. */
typedef struct db_tl_item {
    int64_t req;
    int32_t n_tokens; /* 1 for a decode token */
    int32_t pos;      /* position of the first token */
    bool decode;      /* a decode token (else a prefill chunk) */
    bool emits;       /* the item produced an output token (decode, or a prompt's last chunk) */
} db_tl_item;

/* One kernel the device ran (when traced), on the run clock. */
typedef struct db_tl_kernel {
    const char *name; /* copied (interned) by the timeline */
    int64_t start_ns, end_ns;
    uint32_t stream;
    int64_t step;   /* engine step it belongs to; -1 outside steps */
    const char *op; /* op class name ("qkv", ...), or "" when unknown; copied */
} db_tl_kernel;

typedef struct db_timeline db_timeline;

/* max_events: the cap (0 = DB_TIMELINE_DEFAULT_MAX_EVENTS). Returns 0, or -1 with err filled. */
int db_timeline_create(size_t max_events, db_timeline **out, char *err, size_t errlen);
void db_timeline_free(db_timeline *tl);

/* Events. Each returns 0 (also when ignored after truncation), or -1 with db_timeline_error()
 * naming the request or step and the problem: unknown or duplicate id, a step that does not start
 * at or after the previous step's end, an item of a request not queued or running, an event after
 * finish, out of memory. Arrivals come in non-decreasing time; steps in index order. */
int db_timeline_arrived(db_timeline *tl, int64_t id, int64_t t_ns, int32_t prompt_tokens,
                        int32_t output_tokens);
int db_timeline_failed(db_timeline *tl, int64_t id, int64_t t_ns, const char *reason);
/* A step [start_ns, end_ns) with its items (n) and the requests preempted while planning it
 * (n_preempted); preemptions are stamped at start_ns. */
int db_timeline_step(db_timeline *tl, int64_t index, int64_t start_ns, int64_t end_ns,
                     const db_tl_item *items, int n, const int64_t *preempted, int n_preempted);
int db_timeline_kernel(db_timeline *tl, const db_tl_kernel *k);
/* Closes every open span at end_ns (>= every event; marked truncated) and sorts the events by
 * request, then time. Once only. */
int db_timeline_finish(db_timeline *tl, int64_t end_ns);

const char *db_timeline_error(const db_timeline *tl); /* "" if none */

/* ---- results (after db_timeline_finish) -------------------------------------------------------
 */
size_t db_timeline_max_events(const db_timeline *tl);
/* Trace events counted against the cap. */
size_t db_timeline_counted_events(const db_timeline *tl);
/* Run-clock time where the cap closed the timeline, or -1 when it holds the whole run. */
int64_t db_timeline_truncated_at_ns(const db_timeline *tl);
/* Steps with index < this are in the timeline. */
int64_t db_timeline_steps_kept(const db_timeline *tl);
/* Requests in arrival order. */
size_t db_timeline_request_count(const db_timeline *tl);
const db_tl_request *db_timeline_request_at(const db_timeline *tl, size_t i);
/* Events grouped by request (in arrival order), each request's in time order. */
size_t db_timeline_event_count(const db_timeline *tl);
const db_tl_event *db_timeline_event_at(const db_timeline *tl, size_t i);
/* Index in arrival order of the request with this id, or -1. */
int64_t db_timeline_request_slot(const db_timeline *tl, int64_t id);
/* Kernels in the order given. */
size_t db_timeline_kernel_count(const db_timeline *tl);
const db_tl_kernel *db_timeline_kernel_at(const db_timeline *tl, size_t i);
/* The streams the kernels ran on, in the order first seen (one track each). */
size_t db_timeline_stream_count(const db_timeline *tl);
uint32_t db_timeline_stream_at(const db_timeline *tl, size_t i);

#endif
