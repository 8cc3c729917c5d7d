/* sweep_step.c — one decode-step point of a sweep (sweep_step.h). */
#include "sweep_step.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFILL_STEP_TOKENS 4096

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A seeded prompt token of sequence i at position pos (splitmix64). */
static int32_t prompt_token(uint64_t seed, int i, int pos, int vocab) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + ((uint64_t)(uint32_t)i << 32) + (uint32_t)pos;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (int32_t)(x % (uint64_t)vocab);
}

int64_t db_step_point_kv_tokens(const db_step_point_opts *o) {
    return (int64_t)o->batch * ((int64_t)o->context + o->warmup + o->steps);
}

static db_status check_point(const db_engine *e, const db_step_point_opts *o, db_error *err) {
    const db_model_config *m = &db_engine_get_opts(e)->model;
    if (o->batch < 1 || o->context < 1 || o->warmup < 0 || o->steps < 1)
        return db_error_set(err, DB_ERR_INVALID,
                            "a step point needs batch >= 1, context >= 1, warm-up >= 0 and steps "
                            ">= 1; got %d, %d, %d, %d",
                            o->batch, o->context, o->warmup, o->steps);
    int64_t len = (int64_t)o->context + o->warmup + o->steps;
    if (len > m->max_seq_len)
        return db_error_set(err, DB_ERR_INVALID,
                            "context %d + %d warm-up + %d timed steps = %lld tokens exceed the "
                            "model's max_seq_len %d",
                            o->context, o->warmup, o->steps, (long long)len, m->max_seq_len);
    int64_t bs = db_engine_kv_block_size(e);
    int64_t need = (int64_t)o->batch * ((len + bs - 1) / bs);
    int64_t free_blocks = db_engine_kv_free_blocks(e);
    if (need > free_blocks)
        return db_error_set(err, DB_ERR_KV_FULL,
                            "KV cache too small: %d sequences of %lld tokens need %lld blocks of "
                            "%lld tokens, %lld of %lld are free",
                            o->batch, (long long)len, (long long)need, (long long)bs,
                            (long long)free_blocks, (long long)db_engine_kv_total_blocks(e));
    return DB_OK;
}

/* Prefills every sequence to o->context tokens, at most cap tokens per step. */
static db_status prefill(db_engine *e, const int *seqs, const db_step_point_opts *o, db_work *w,
                         int32_t *next, double *seconds, db_error *err) {
    int cap = o->prefill_step_tokens > 0 ? o->prefill_step_tokens : DEFAULT_PREFILL_STEP_TOKENS;
    int vocab = db_engine_get_opts(e)->model.vocab_size;
    int32_t *buf = malloc((size_t)cap * sizeof *buf); /* (cap) the step's prompt tokens */
    if (!buf) return db_error_set(err, DB_ERR_NOMEM, "prefill: out of memory");
    db_status st = DB_OK;
    for (int i = 0; st == DB_OK && i < o->batch;) {
        int n = 0, used = 0;
        while (i < o->batch && used < cap) {
            int len = db_seq_len(e, seqs[i]), take = o->context - len;
            if (take > cap - used) take = cap - used;
            for (int k = 0; k < take; k++)
                buf[used + k] = prompt_token(o->seed, i, len + k, vocab);
            w[n++] = (db_work){seqs[i], len, take, buf + used, 0};
            used += take;
            if (len + take < o->context) break; /* the step is full; continue this sequence */
            i++;
        }
        db_step_result r = {.next_tokens = next};
        st = db_engine_step(e, w, n, &r, err);
        *seconds += r.step_seconds;
    }
    free(buf);
    return st;
}

/* a += w * c (the token counts are summed unweighted: every timed step has the same). */
static void cost_add(db_cost *a, const db_cost *c, double w) {
    for (int k = 0; k < DB_OP_COUNT; k++) {
        a->flops[k] += w * c->flops[k];
        a->bytes[k] += w * c->bytes[k];
    }
    a->weight_bytes += w * c->weight_bytes;
    a->kv_read_bytes += w * c->kv_read_bytes;
    a->kv_write_bytes += w * c->kv_write_bytes;
    a->act_bytes += w * c->act_bytes;
    a->total_flops += w * c->total_flops;
    a->total_bytes += w * c->total_bytes;
    a->prefill_tokens = c->prefill_tokens;
    a->decode_tokens = c->decode_tokens;
}

/* Warm-up and timed decode steps; times (steps) receives each timed step's seconds. */
static db_status decode(db_engine *e, const int *seqs, const db_step_point_opts *o, db_work *w,
                        int32_t *tok, int32_t *next, double *times, db_cost *mean, db_error *err) {
    int vocab = db_engine_get_opts(e)->model.vocab_size;
    for (int i = 0; i < o->batch; i++)
        tok[i] = prompt_token(o->seed, i, o->context, vocab);
    memset(mean, 0, sizeof *mean);
    for (int s = 0; s < o->warmup + o->steps; s++) {
        for (int i = 0; i < o->batch; i++)
            w[i] = (db_work){seqs[i], db_seq_len(e, seqs[i]), 1, tok + i, 1};
        int timed = s >= o->warmup;
        if (timed) {
            db_cost c;
            db_engine_cost(e, w, o->batch, &c);
            cost_add(mean, &c, 1.0 / o->steps);
        }
        db_step_result r = {.next_tokens = next};
        db_status st = db_engine_step(e, w, o->batch, &r, err);
        if (st) return st;
        if (timed) times[s - o->warmup] = r.step_seconds;
        for (int i = 0; i < o->batch; i++)
            tok[i] = next[i] >= 0 ? next[i] : tok[i];
    }
    return DB_OK;
}

db_status db_step_point_run(db_engine *e, const db_step_point_opts *o, db_step_point_result *out,
                            db_error *err) {
    memset(out, 0, sizeof *out);
    db_status st = check_point(e, o, err);
    if (st) return st;
    size_t B = (size_t)o->batch;
    int *seqs = malloc(B * sizeof *seqs);
    db_work *w = malloc(B * sizeof *w);
    int32_t *tok = malloc(B * sizeof *tok), *next = malloc(B * sizeof *next);
    double *times = malloc((size_t)o->steps * sizeof *times);
    int n_seqs = 0;
    if (!seqs || !w || !tok || !next || !times)
        st = db_error_set(err, DB_ERR_NOMEM, "step point: out of memory for batch %d", o->batch);
    for (; st == DB_OK && n_seqs < o->batch; n_seqs++)
        if ((st = db_seq_alloc(e, &seqs[n_seqs], err)) != DB_OK) break;
    if (st == DB_OK) st = prefill(e, seqs, o, w, next, &out->prefill_s, err);
    if (st == DB_OK) st = decode(e, seqs, o, w, tok, next, times, &out->cost, err);
    if (st == DB_OK) {
        qsort(times, (size_t)o->steps, sizeof *times, cmp_double);
        int n = o->steps;
        out->step_s = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
        out->step_s_min = times[0];
        out->step_s_max = times[n - 1];
    }
    for (int i = 0; i < n_seqs; i++)
        db_seq_free(e, seqs[i], NULL);
    free(seqs), free(w), free(tok), free(next), free(times);
    return st;
}
