/* test_scheduler_fixture.h — helpers shared by the scheduler tests: a sim engine on the `tiny`
 * shape with a chosen KV capacity, and a driver that runs plan -> engine step -> commit until
 * nothing is left, checking the KV invariants after every step and logging what the tests assert
 * on. Header-only (static functions), included by tests/test_scheduler*.c. */
#ifndef DB_TEST_SCHED_FIXTURE_H
#define DB_TEST_SCHED_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "model.h"
#include "scheduler.h"

#define FX_MAX_REQ 64
#define FX_MAX_OUT 512

/* A sim engine (h100-sxm ceilings) on the `tiny` shape (max_seq_len 512), KV blocks of 16 tokens.
 */
static db_engine *fx_open_sim(int64_t kv_tokens) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = kv_tokens;
    o.kv_block_size = 16;
    o.sim_device = "h100-sxm";
    o.sim_step_overhead_s = -1.0;
    db_engine *e = NULL;
    db_error err;
    db_status st = db_engine_open(&o, &e, &err);
    if (st != DB_OK) fail_msg("db_engine_open(sim): %s", err.msg);
    return e;
}

static db_sched_opts fx_opts(db_batching b, int max_batch, int max_batch_tokens, int chunk) {
    db_sched_opts o;
    db_sched_opts_default(&o);
    o.batching = b;
    o.max_batch = max_batch;
    o.max_batch_tokens = max_batch_tokens;
    o.prefill_chunk = chunk;
    o.kv_watermark = 0.0;
    return o;
}

/* What a drive observed. */
typedef struct fx_log {
    int steps;
    int first_order[FX_MAX_REQ]; /* requests in the order they were first scheduled */
    int n_first;
    int first_step[FX_MAX_REQ];  /* step index of each request's first scheduling; -1 never */
    int finish_step[FX_MAX_REQ]; /* step index of each request's finish; -1 never */
    int emitted[FX_MAX_REQ];     /* tokens emitted per request */
    int32_t out[FX_MAX_REQ][FX_MAX_OUT]; /* the ids each request generated, in order */
    int64_t preempted;
    int max_items, max_tokens;
    int newest_violations;  /* a preemption that left a newer request running */
    int recompute_mismatch; /* a recompute chunk fed other ids than the ones generated */
    int kv_violations;      /* a step after which blocks were over-committed or mis-counted */
} fx_log;

/* Blocks held by running requests, counted from their sequence lengths. */
static int64_t fx_blocks_held(const db_engine *e, const db_scheduler *s, int n_req) {
    int64_t held = 0, bs = db_engine_kv_block_size(e);
    for (int r = 0; r < n_req; r++) {
        const db_sched_req *q = db_sched_request(s, r);
        if (q->state == DB_RS_RUNNING) held += (db_seq_len(e, q->seq_id) + bs - 1) / bs;
    }
    return held;
}

static void fx_check_kv(const db_engine *e, const db_scheduler *s, int n_req, fx_log *lg) {
    int64_t total = db_engine_kv_total_blocks(e), free_blocks = db_engine_kv_free_blocks(e);
    if (free_blocks < 0 || free_blocks > total ||
        fx_blocks_held(e, s, n_req) != total - free_blocks)
        lg->kv_violations++;
}

/* Checks the items of a planned step against what the requests generated before. */
static void fx_check_plan(const db_scheduler *s, const db_sched_step *t, int n_req, fx_log *lg) {
    for (int k = 0; k < t->n_preempted; k++)
        for (int r = 0; r < n_req; r++)
            if (db_sched_request(s, r)->state == DB_RS_RUNNING && r > t->preempted[k])
                lg->newest_violations++;
    for (int i = 0; i < t->n; i++) {
        int r = t->req[i];
        const db_sched_req *q = db_sched_request(s, r);
        for (int j = 0; j < t->work[i].n_tokens; j++) {
            int p = t->work[i].pos + j;
            if (p >= q->prompt_tokens && t->work[i].tokens[j] != lg->out[r][p - q->prompt_tokens])
                lg->recompute_mismatch++;
        }
    }
}

static void fx_log_commit(const db_scheduler *s, const db_sched_step *t, fx_log *lg) {
    for (int k = 0; k < t->n_emitted; k++) {
        int r = t->emitted[k];
        const db_sched_req *q = db_sched_request(s, r);
        int g = lg->emitted[r]++;
        if (g < FX_MAX_OUT)
            lg->out[r][g] = q->state == DB_RS_FINISHED ? -1 : q->out_ids[q->generated - 1];
    }
    for (int k = 0; k < t->n_finished; k++)
        lg->finish_step[t->finished[k]] = lg->steps;
}

/* Runs the scheduler until nothing is queued or running (at most max_steps steps). */
static void fx_drive(db_engine *e, db_scheduler *s, int n_req, fx_log *lg, int max_steps) {
    memset(lg, 0, sizeof *lg);
    for (int r = 0; r < FX_MAX_REQ; r++)
        lg->first_step[r] = lg->finish_step[r] = -1;
    int32_t next[4096];
    db_error err;
    for (; lg->steps < max_steps; lg->steps++) {
        db_sched_step *t = NULL;
        if (db_sched_plan(s, &t, &err) != DB_OK) fail_msg("plan: %s", err.msg);
        if (t->n == 0) return;
        fx_check_plan(s, t, n_req, lg);
        lg->preempted += t->n_preempted;
        for (int k = 0; k < t->n_first; k++) {
            lg->first_order[lg->n_first++] = t->first_scheduled[k];
            lg->first_step[t->first_scheduled[k]] = lg->steps;
        }
        if (t->n > lg->max_items) lg->max_items = t->n;
        if (t->prefill_tokens + t->decode_tokens > lg->max_tokens)
            lg->max_tokens = t->prefill_tokens + t->decode_tokens;
        db_step_result res = {.next_tokens = next};
        if (db_engine_step(e, t->work, t->n, &res, &err) != DB_OK) fail_msg("step: %s", err.msg);
        fx_check_kv(e, s, n_req, lg);
        if (db_sched_commit(s, &res, &err) != DB_OK) fail_msg("commit: %s", err.msg);
        fx_check_kv(e, s, n_req, lg);
        fx_log_commit(s, t, lg);
    }
    fail_msg("the scheduler did not finish within %d steps", max_steps);
}

/* Submits requests 0..n-1 with these lengths; returns how many were failed at submission. */
static int fx_submit_all(db_scheduler *s, int n, const int32_t *prompt, const int32_t *output,
                         const char **reasons) {
    int failed = 0;
    db_error err;
    for (int r = 0; r < n; r++) {
        const char *reason = NULL;
        if (db_sched_submit(s, r, prompt[r], output[r], &reason, &err) != DB_OK)
            fail_msg("submit %d: %s", r, err.msg);
        if (reasons) reasons[r] = reason;
        failed += reason != NULL;
    }
    return failed;
}

#endif
