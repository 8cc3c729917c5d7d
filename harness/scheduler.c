/* scheduler.c — continuous batching with chunked prefill, KV admission and preemption; static
 * batching. The policy is described in scheduler.h. */
#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

struct db_scheduler {
    db_engine *e;
    db_sched_opts o;
    size_t n_req;
    db_sched_req *reqs; /* (n_req) */
    int vocab, block_size, max_seq_len;
    int64_t total_blocks, watermark_blocks;
    /* FCFS queue: a ring of request indices; preempted requests are pushed at the front */
    int *queue; /* (n_req) */
    size_t q_head, q_len;
    /* running requests, ascending index (= intended arrival order); the last one is the newest */
    int *run; /* (max_batch) */
    int n_run;
    int *chunk_of_run; /* (max_batch) tokens planned this step for run[i]; 0: none */
    int64_t preemptions;
    bool planned; /* a plan awaits its commit */
    db_sched_step step;
    int32_t *tokens; /* (max_batch_tokens) token ids of this step's items */
};

const char *db_batching_name(db_batching b) {
    return b == DB_BATCHING_STATIC ? "static" : "continuous";
}

int db_batching_parse(const char *s, db_batching *out) {
    if (s && !strcmp(s, "continuous"))
        *out = DB_BATCHING_CONTINUOUS;
    else if (s && !strcmp(s, "static"))
        *out = DB_BATCHING_STATIC;
    else
        return -1;
    return 0;
}

void db_sched_opts_default(db_sched_opts *o) {
    memset(o, 0, sizeof *o);
    o->batching = DB_BATCHING_CONTINUOUS;
    o->max_batch = 64;
    o->max_batch_tokens = 2048;
    o->prefill_chunk = 512;
    o->kv_watermark = 0.01;
    o->seed = 1;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

int32_t db_sched_prompt_token(uint64_t seed, int req, int pos, int vocab) {
    uint64_t h =
        splitmix64(splitmix64(seed ^ ((uint64_t)(uint32_t)req << 32)) + (uint64_t)(uint32_t)pos);
    if (vocab > 3) return (int32_t)(3 + h % (uint64_t)(vocab - 3));
    return vocab > 0 ? (int32_t)(h % (uint64_t)vocab) : 0;
}

/* ---- small containers ----------------------------------------------------------------------- */

static void queue_push_back(db_scheduler *s, int r) {
    s->queue[(s->q_head + s->q_len) % s->n_req] = r;
    s->q_len++;
}

static void queue_push_front(db_scheduler *s, int r) {
    s->q_head = (s->q_head + s->n_req - 1) % s->n_req;
    s->queue[s->q_head] = r;
    s->q_len++;
}

static int queue_pop_front(db_scheduler *s) {
    int r = s->queue[s->q_head];
    s->q_head = (s->q_head + 1) % s->n_req;
    s->q_len--;
    return r;
}

/* Inserts r into the running list keeping ascending request index. */
static void run_insert(db_scheduler *s, int r) {
    int i = s->n_run;
    while (i > 0 && s->run[i - 1] > r) {
        s->run[i] = s->run[i - 1];
        i--;
    }
    s->run[i] = r;
    s->n_run++;
}

static int64_t blocks_for(const db_scheduler *s, int64_t tokens) {
    return (tokens + s->block_size - 1) / s->block_size;
}

static int32_t known_tokens(const db_sched_req *q) {
    return q->prompt_tokens + q->generated;
}

static bool is_decoding(const db_sched_req *q) {
    return q->generated >= 1 && known_tokens(q) - q->computed == 1;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static db_status check_opts(const db_sched_opts *o, db_error *err) {
    if (o->max_batch < 1)
        return db_error_set(err, DB_ERR_INVALID, "max_batch must be >= 1, got %d", o->max_batch);
    if (o->max_batch_tokens < o->max_batch)
        return db_error_set(
            err, DB_ERR_INVALID,
            "max_batch_tokens (%d) must be >= max_batch (%d): every running sequence "
            "needs one token per step",
            o->max_batch_tokens, o->max_batch);
    if (o->prefill_chunk < 1)
        return db_error_set(err, DB_ERR_INVALID, "prefill_chunk must be >= 1, got %d",
                            o->prefill_chunk);
    if (!(o->kv_watermark >= 0 && o->kv_watermark < 1))
        return db_error_set(err, DB_ERR_INVALID, "kv_watermark must be in [0, 1), got %g",
                            o->kv_watermark);
    return DB_OK;
}

db_status db_sched_create(db_engine *e, const db_sched_opts *o, size_t n_requests,
                          db_scheduler **out, db_error *err) {
    *out = NULL;
    db_status st = check_opts(o, err);
    if (st != DB_OK) return st;
    if (n_requests == 0 || n_requests > (size_t)INT32_MAX)
        return db_error_set(err, DB_ERR_INVALID, "the scheduler needs 1..%d requests, got %zu",
                            INT32_MAX, n_requests);
    db_scheduler *s = calloc(1, sizeof *s);
    if (!s) return db_error_set(err, DB_ERR_NOMEM, "out of memory for the scheduler");
    s->e = e;
    s->o = *o;
    s->n_req = n_requests;
    const db_model_config *m = &db_engine_get_opts(e)->model;
    s->vocab = m->vocab_size;
    s->max_seq_len = m->max_seq_len;
    s->block_size = db_engine_kv_block_size(e);
    s->total_blocks = db_engine_kv_total_blocks(e);
    s->watermark_blocks = (int64_t)(o->kv_watermark * (double)s->total_blocks);
    int mb = o->max_batch;
    s->reqs = calloc(n_requests, sizeof *s->reqs);
    s->queue = malloc(n_requests * sizeof *s->queue);
    s->run = malloc((size_t)mb * sizeof *s->run);
    s->chunk_of_run = calloc((size_t)mb, sizeof *s->chunk_of_run);
    s->tokens = malloc((size_t)o->max_batch_tokens * sizeof *s->tokens);
    db_sched_step *t = &s->step;
    t->work = malloc((size_t)mb * sizeof *t->work);
    t->req = malloc((size_t)mb * sizeof *t->req);
    t->first_scheduled = malloc((size_t)mb * sizeof(int));
    t->preempted = malloc((size_t)mb * sizeof(int));
    t->emitted = malloc((size_t)mb * sizeof(int));
    t->finished = malloc((size_t)mb * sizeof(int));
    if (!s->reqs || !s->queue || !s->run || !s->chunk_of_run || !s->tokens || !t->work || !t->req ||
        !t->first_scheduled || !t->preempted || !t->emitted || !t->finished) {
        db_sched_free(s);
        return db_error_set(err, DB_ERR_NOMEM, "out of memory for the scheduler (%zu requests)",
                            n_requests);
    }
    for (size_t i = 0; i < n_requests; i++)
        s->reqs[i].seq_id = -1;
    *out = s;
    return DB_OK;
}

void db_sched_free(db_scheduler *s) {
    if (!s) return;
    for (int i = 0; i < s->n_run; i++) {
        db_sched_req *q = &s->reqs[s->run[i]];
        if (q->seq_id >= 0) db_seq_free(s->e, q->seq_id, NULL);
    }
    for (size_t i = 0; s->reqs && i < s->n_req; i++)
        free(s->reqs[i].out_ids);
    free(s->reqs);
    free(s->queue);
    free(s->run);
    free(s->chunk_of_run);
    free(s->tokens);
    free(s->step.work);
    free(s->step.req);
    free(s->step.first_scheduled);
    free(s->step.preempted);
    free(s->step.emitted);
    free(s->step.finished);
    free(s);
}

/* ---- submission ------------------------------------------------------------------------------ */

db_status db_sched_submit(db_scheduler *s, int req, int32_t prompt_tokens, int32_t output_tokens,
                          const char **failed_reason, db_error *err) {
    *failed_reason = NULL;
    if (req < 0 || (size_t)req >= s->n_req)
        return db_error_set(err, DB_ERR_INVALID, "request %d is outside 0..%zu", req, s->n_req - 1);
    db_sched_req *q = &s->reqs[req];
    if (q->state != DB_RS_PENDING)
        return db_error_set(err, DB_ERR_INVALID, "request %d was already submitted", req);
    if (prompt_tokens < 1 || output_tokens < 1)
        return db_error_set(err, DB_ERR_INVALID,
                            "request %d: prompt and output lengths must be >= 1, got %d and %d",
                            req, prompt_tokens, output_tokens);
    q->prompt_tokens = prompt_tokens;
    q->output_tokens = output_tokens;
    int64_t total = (int64_t)prompt_tokens + output_tokens;
    if (total > s->max_seq_len) {
        q->failure = "prompt + output tokens exceed the model's max_seq_len";
    } else if (blocks_for(s, total - 1) > s->total_blocks) {
        q->failure = "prompt + output tokens exceed the KV cache capacity";
    }
    if (q->failure) {
        q->state = DB_RS_FAILED;
        *failed_reason = q->failure;
        return DB_OK;
    }
    q->state = DB_RS_QUEUED;
    queue_push_back(s, req);
    return DB_OK;
}

/* ---- planning -------------------------------------------------------------------------------- */

static void add_item(db_scheduler *s, int r, int n, int32_t *tokens_used) {
    db_sched_step *t = &s->step;
    db_sched_req *q = &s->reqs[r];
    db_work *w = &t->work[t->n];
    w->seq_id = q->seq_id;
    w->pos = q->computed;
    w->n_tokens = n;
    w->tokens = s->tokens + *tokens_used;
    w->want_next = q->computed + n == known_tokens(q);
    int32_t *ids = s->tokens + *tokens_used;
    for (int i = 0; i < n; i++) {
        int p = q->computed + i;
        ids[i] = p < q->prompt_tokens ? db_sched_prompt_token(s->o.seed, r, p, s->vocab)
                                      : q->out_ids[p - q->prompt_tokens];
    }
    *tokens_used += n;
    t->req[t->n++] = r;
    if (!q->scheduled_once) {
        q->scheduled_once = true;
        t->first_scheduled[t->n_first++] = r;
    }
}

/* Items of the running requests: decodes, then prefill chunks oldest first. Returns the KV blocks
 * they need; fills chunk_of_run. */
static int64_t plan_running(db_scheduler *s, int32_t *tokens_used) {
    db_sched_step *t = &s->step;
    t->n = 0;
    t->n_first = 0;
    *tokens_used = 0;
    int64_t blocks = 0;
    for (int i = 0; i < s->n_run; i++) {
        db_sched_req *q = &s->reqs[s->run[i]];
        s->chunk_of_run[i] = is_decoding(q) ? 1 : 0;
        if (!s->chunk_of_run[i]) continue;
        blocks += db_seq_blocks_needed(s->e, q->seq_id, 1);
        add_item(s, s->run[i], 1, tokens_used);
    }
    t->n_decode = t->n;
    for (int i = 0; i < s->n_run; i++) {
        db_sched_req *q = &s->reqs[s->run[i]];
        if (is_decoding(q)) continue;
        int64_t left = s->o.max_batch_tokens - *tokens_used;
        int64_t n = known_tokens(q) - q->computed;
        if (n > s->o.prefill_chunk) n = s->o.prefill_chunk;
        if (n > left) n = left;
        s->chunk_of_run[i] = (int)n;
        if (n <= 0) continue;
        blocks += db_seq_blocks_needed(s->e, q->seq_id, (int)n);
        add_item(s, s->run[i], (int)n, tokens_used);
    }
    return blocks;
}

/* Frees the newest running request's sequence and puts it back at the front of the queue. */
static db_status preempt_newest(db_scheduler *s, db_error *err) {
    int r = s->run[--s->n_run];
    db_sched_req *q = &s->reqs[r];
    db_status st = db_seq_free(s->e, q->seq_id, err);
    if (st != DB_OK) return st;
    q->seq_id = -1;
    q->computed = 0;
    q->preemptions++;
    q->state = DB_RS_QUEUED;
    queue_push_front(s, r);
    s->preemptions++;
    s->step.preempted[s->step.n_preempted++] = r;
    return DB_OK;
}

/* Gives the request an engine sequence and its generated-token buffer, and makes it running. */
static db_status start_request(db_scheduler *s, int r, db_error *err) {
    db_sched_req *q = &s->reqs[r];
    if (!q->out_ids) {
        q->out_ids = malloc((size_t)q->output_tokens * sizeof *q->out_ids);
        if (!q->out_ids)
            return db_error_set(err, DB_ERR_NOMEM, "out of memory for request %d's tokens", r);
    }
    db_status st = db_seq_alloc(s->e, &q->seq_id, err);
    if (st != DB_OK) return st;
    q->state = DB_RS_RUNNING;
    run_insert(s, r);
    return DB_OK;
}

/* Continuous admission from the FCFS head (rule in scheduler.h). */
static db_status admit_continuous(db_scheduler *s, int64_t planned_blocks, int32_t *tokens_used,
                                  db_error *err) {
    int64_t reserved = 0; /* blocks for the rest of prompts in prefill, beyond this step's chunk */
    for (int i = 0; i < s->n_run; i++) {
        const db_sched_req *q = &s->reqs[s->run[i]];
        if (is_decoding(q)) continue;
        int left = known_tokens(q) - q->computed;
        reserved += db_seq_blocks_needed(s->e, q->seq_id, left) -
                    db_seq_blocks_needed(s->e, q->seq_id, s->chunk_of_run[i]);
    }
    int64_t avail = db_engine_kv_free_blocks(s->e) - planned_blocks - reserved;
    while (s->q_len > 0 && s->n_run < s->o.max_batch && *tokens_used < s->o.max_batch_tokens) {
        int r = s->queue[s->q_head];
        db_sched_req *q = &s->reqs[r];
        int64_t need = blocks_for(s, known_tokens(q));
        int64_t watermark = s->n_run > 0 ? s->watermark_blocks : 0;
        if (need + watermark > avail) break;
        queue_pop_front(s);
        db_status st = start_request(s, r, err);
        if (st != DB_OK) return st;
        int64_t n = known_tokens(q);
        if (n > s->o.prefill_chunk) n = s->o.prefill_chunk;
        if (n > s->o.max_batch_tokens - *tokens_used) n = s->o.max_batch_tokens - *tokens_used;
        add_item(s, r, (int)n, tokens_used);
        avail -= need;
    }
    return DB_OK;
}

/* Static: a new batch only when the last one has finished; each member reserves prompt + output. */
static db_status form_static_batch(db_scheduler *s, db_error *err) {
    int64_t avail = db_engine_kv_free_blocks(s->e);
    while (s->q_len > 0 && s->n_run < s->o.max_batch) {
        int r = s->queue[s->q_head];
        const db_sched_req *q = &s->reqs[r];
        int64_t need = blocks_for(s, (int64_t)q->prompt_tokens + q->output_tokens - 1);
        if (need > avail) break;
        queue_pop_front(s);
        db_status st = start_request(s, r, err);
        if (st != DB_OK) return st;
        avail -= need;
    }
    return DB_OK;
}

db_status db_sched_plan(db_scheduler *s, db_sched_step **step, db_error *err) {
    db_sched_step *t = &s->step;
    t->n = t->n_decode = t->n_first = t->n_preempted = t->n_emitted = t->n_finished = 0;
    t->prefill_tokens = t->decode_tokens = 0;
    *step = t;
    db_status st;
    if (s->o.batching == DB_BATCHING_STATIC && s->n_run == 0 && (st = form_static_batch(s, err)))
        return st;
    int32_t used = 0;
    for (;;) {
        int64_t blocks = plan_running(s, &used);
        if (blocks <= db_engine_kv_free_blocks(s->e)) {
            /* No admission in a step that preempted (the preempted would be re-admitted at once),
             * unless nothing is left to run. */
            bool admit = t->n_preempted == 0 || t->n == 0;
            if (s->o.batching == DB_BATCHING_CONTINUOUS && admit &&
                (st = admit_continuous(s, blocks, &used, err)))
                return st;
            break;
        }
        /* Clear first-scheduled marks of the discarded plan: those requests are re-planned. */
        for (int i = 0; i < t->n_first; i++)
            s->reqs[t->first_scheduled[i]].scheduled_once = false;
        if (s->n_run <= 1 && blocks > s->total_blocks)
            return db_error_set(
                err, DB_ERR_INTERNAL,
                "a single sequence needs %lld KV blocks of %lld; it should have been "
                "failed at submission",
                (long long)blocks, (long long)s->total_blocks);
        if (s->n_run == 0)
            return db_error_set(err, DB_ERR_INTERNAL, "KV blocks are held with nothing running");
        if ((st = preempt_newest(s, err))) return st;
    }
    for (int i = 0; i < t->n; i++) {
        if (i < t->n_decode)
            t->decode_tokens += 1;
        else
            t->prefill_tokens += t->work[i].n_tokens;
    }
    s->planned = t->n > 0;
    return DB_OK;
}

/* ---- commit ---------------------------------------------------------------------------------- */

static db_status finish_request(db_scheduler *s, int r, db_error *err) {
    db_sched_req *q = &s->reqs[r];
    db_status st = db_seq_free(s->e, q->seq_id, err);
    q->seq_id = -1;
    q->state = DB_RS_FINISHED;
    free(q->out_ids);
    q->out_ids = NULL;
    return st;
}

db_status db_sched_commit(db_scheduler *s, const db_step_result *res, db_error *err) {
    if (!s->planned)
        return db_error_set(err, DB_ERR_INTERNAL, "db_sched_commit without a planned step");
    s->planned = false;
    db_sched_step *t = &s->step;
    for (int i = 0; i < t->n; i++) {
        int r = t->req[i];
        db_sched_req *q = &s->reqs[r];
        q->computed += t->work[i].n_tokens;
        if (!t->work[i].want_next) continue;
        int32_t tok = res->next_tokens ? res->next_tokens[i] : -1;
        if (tok < 0 || tok >= s->vocab) /* a backend that samples nothing: keep a valid id */
            tok = db_sched_prompt_token(s->o.seed ^ 0x5eedULL, r, known_tokens(q), s->vocab);
        q->out_ids[q->generated++] = tok;
        t->emitted[t->n_emitted++] = r;
        if (q->generated == q->output_tokens) {
            db_status st = finish_request(s, r, err);
            if (st != DB_OK) return st;
            t->finished[t->n_finished++] = r;
        }
    }
    if (t->n_finished > 0) { /* drop finished requests from the running list, keeping order */
        int k = 0;
        for (int i = 0; i < s->n_run; i++)
            if (s->reqs[s->run[i]].state == DB_RS_RUNNING) s->run[k++] = s->run[i];
        s->n_run = k;
    }
    return DB_OK;
}

/* ---- queries --------------------------------------------------------------------------------- */

const db_sched_req *db_sched_request(const db_scheduler *s, int req) {
    return req >= 0 && (size_t)req < s->n_req ? &s->reqs[req] : NULL;
}
size_t db_sched_queued(const db_scheduler *s) {
    return s->q_len;
}
size_t db_sched_running(const db_scheduler *s) {
    return (size_t)s->n_run;
}
int64_t db_sched_preemptions(const db_scheduler *s) {
    return s->preemptions;
}
int64_t db_sched_kv_blocks_used(const db_scheduler *s) {
    return db_engine_kv_total_blocks(s->e) - db_engine_kv_free_blocks(s->e);
}
const db_sched_opts *db_sched_get_opts(const db_scheduler *s) {
    return &s->o;
}
