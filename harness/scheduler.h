/* scheduler.h — continuous (iteration-level) batching with chunked prefill, and static batching for
 * comparison: decides which sequences run in each engine step, owns the engine sequences of the
 * requests it runs, and keeps the paged KV cache from being over-committed (admission, preemption).
 *
 * A step (continuous):
 *   1. every running sequence that is decoding contributes one decode token (running <= max_batch,
 *      so all of them fit);
 *   2. running sequences still in prefill get the next chunk of their prompt, oldest first:
 *      min(prompt left, prefill_chunk, tokens left of max_batch_tokens);
 *   3. if the KV blocks these items need exceed the free blocks, the NEWEST running request (latest
 *      intended arrival) is preempted: its blocks are freed and it returns to the FRONT of the
 *      queue, to recompute its prompt and the tokens it had generated; repeat until the step fits;
 *   4. unless step 3 preempted (and something still runs), requests are admitted from the FCFS
 *      queue while running < max_batch and tokens are left. Admission rule: a request is admitted
 *      only if the free blocks, less the blocks of this step's items and less the blocks still
 *      needed by the rest of the prompts already in prefill, cover the blocks of its WHOLE prompt
 *      (prompt + generated tokens when recomputing) plus a watermark (kv_watermark x total blocks,
 *      floored; waived when nothing else runs). So prefill never causes a preemption; only decode
 *      growth does. The queue is strict FCFS: the head blocks those behind it.
 * A step (static): a batch is formed only when the previous one has completely finished: up to
 * max_batch queued requests, FCFS, each reserving the KV of its prompt + output up front (so
 * nothing is ever preempted); its members then step (prefill chunks and decodes as above) until
 * all have finished.
 *
 * Every request runs to exactly its requested output length (end-of-sequence is ignored). Prompts
 * are seeded pseudo-random token ids (db_sched_prompt_token). A request that can never run (prompt
 * + output above the model's max_seq_len, or prompt + output - 1 tokens, the last token never being
 * written to the cache, needing more KV blocks than the whole cache) is failed at submission with a
 * reason.
 *
 * Must not: read a clock, record metrics, print or exit. The caller (run.c) runs the engine step
 * between db_sched_plan and db_sched_commit and turns the step's lists into metrics events.
 */
#ifndef DB_SCHEDULER_H
#define DB_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

typedef enum db_batching {
    DB_BATCHING_CONTINUOUS = 0,
    DB_BATCHING_STATIC = 1,
} db_batching;

const char *db_batching_name(db_batching b);            /* "continuous" | "static" */
int db_batching_parse(const char *s, db_batching *out); /* 0, or -1 when unknown */

typedef struct db_sched_opts {
    db_batching batching;
    int max_batch;        /* sequences per step, >= 1 */
    int max_batch_tokens; /* tokens per step (prefill + decode), >= max_batch */
    int prefill_chunk;    /* most tokens of one prompt per step, >= 1 */
    double kv_watermark;  /* fraction of KV blocks kept free when admitting, 0 <= w < 1 */
    uint64_t seed;        /* prompt token ids */
} db_sched_opts;

/* Defaults: continuous, max_batch 64, max_batch_tokens 2048, prefill_chunk 512, watermark 0.01,
 * seed 1. */
void db_sched_opts_default(db_sched_opts *o);

typedef enum db_req_state {
    DB_RS_PENDING = 0, /* not submitted yet */
    DB_RS_QUEUED,      /* waiting (new, or preempted and waiting to recompute) */
    DB_RS_RUNNING,     /* holds an engine sequence */
    DB_RS_FINISHED,
    DB_RS_FAILED,
} db_req_state;

/* One request as the scheduler sees it. known = prompt + generated tokens; the KV cache holds the
 * first `computed` of them. Decoding: generated >= 1 and known - computed == 1. */
typedef struct db_sched_req {
    int32_t prompt_tokens;
    int32_t output_tokens; /* requested (exactly this many are generated) */
    int32_t generated;
    int32_t computed;
    int32_t *out_ids; /* (output_tokens) generated token ids while admitted; NULL otherwise */
    int seq_id;       /* engine sequence while running, else -1 */
    int32_t preemptions;
    db_req_state state;
    bool scheduled_once; /* has appeared in a step */
    const char *failure; /* static reason text when failed */
} db_sched_req;

/* One planned step and, after db_sched_commit, what it produced. Arrays are owned by the scheduler
 * and valid until the next db_sched_plan. */
typedef struct db_sched_step {
    db_work *work; /* (n) engine work items: decodes first, then prefill chunks */
    int *req;      /* (n) request index of each item */
    int n;
    int n_decode; /* items 0..n_decode-1 are decode tokens */
    int32_t prefill_tokens, decode_tokens;
    int *
        first_scheduled; /* (n_first) requests appearing in a step for the first time, FCFS order */
    int n_first;
    int *preempted; /* (n_preempted) requests preempted while planning this step */
    int n_preempted;
    /* filled by db_sched_commit */
    int *emitted; /* (n_emitted) requests that received one output token from this step */
    int n_emitted;
    int *finished; /* (n_finished) requests that reached their output length in this step */
    int n_finished;
} db_sched_step;

typedef struct db_scheduler db_scheduler;

/* n_requests: request indices are 0..n_requests-1. The engine must outlive the scheduler. */
db_status db_sched_create(db_engine *e, const db_sched_opts *o, size_t n_requests,
                          db_scheduler **out, db_error *err);
/* Frees every sequence the scheduler still holds. */
void db_sched_free(db_scheduler *s);

/* The request has arrived: queue it (FCFS) and return DB_OK, or fail it when it can never run and
 * return DB_OK with *failed_reason set (static text); other statuses are errors of the call itself
 * (index out of range or already submitted). */
db_status db_sched_submit(db_scheduler *s, int req, int32_t prompt_tokens, int32_t output_tokens,
                          const char **failed_reason, db_error *err);

/* Plans the next step (may preempt, may allocate engine sequences). step->n == 0 means nothing can
 * run now: no request is queued or running. */
db_status db_sched_plan(db_scheduler *s, db_sched_step **step, db_error *err);

/* Applies the engine's result to the planned step: advances each request, stores the sampled token
 * ids, frees the sequences of finished requests and fills step->emitted / step->finished. */
db_status db_sched_commit(db_scheduler *s, const db_step_result *res, db_error *err);

/* ---- queries --------------------------------------------------------------------------------- */
const db_sched_req *db_sched_request(const db_scheduler *s, int req);
size_t db_sched_queued(const db_scheduler *s);  /* waiting in the queue */
size_t db_sched_running(const db_scheduler *s); /* holding a sequence */
int64_t db_sched_preemptions(const db_scheduler *s);
/* KV blocks held by running sequences, from the engine's accounting (total - free). */
int64_t db_sched_kv_blocks_used(const db_scheduler *s);
const db_sched_opts *db_sched_get_opts(const db_scheduler *s);

/* The prompt token id at position pos of request req: a seeded hash in [0, vocab) (>= 3 when the
 * vocabulary has more than 3 ids, so the usual BOS/EOS/pad ids 0..2 are not used). */
int32_t db_sched_prompt_token(uint64_t seed, int req, int pos, int vocab);

#endif
