/* ref_driver.h — drives the CPU backend (engine/cpu.h) directly in tests, with its own block
 * tables.
 *
 * What it is for: tests of the forward pass that must not depend on engine.c: sequences get KV
 * blocks from a deliberately scrambled free list (block ids handed out in a permuted order, so a
 * backend that assumed contiguous blocks would read the wrong positions), steps are assembled from
 * per-sequence token lists, and prompts are seeded random token ids. What it must not do: run
 * arithmetic of the model (the backend does; ref_model.h is the reference).
 */
#ifndef DB_TESTS_REF_DRIVER_H
#define DB_TESTS_REF_DRIVER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "model.h"
#include "synth.h"

enum { REF_MAX_SEQS = 64, REF_BLOCK_SIZE = 4 };

typedef struct ref_seq {
    int32_t *blocks; /* (max_blocks) */
    int n_blocks;
    int len; /* tokens written */
} ref_seq;

typedef struct ref_driver {
    db_cpu_backend *b;
    int64_t total_blocks;
    int32_t *free_list; /* stack of free block ids */
    int64_t n_free;
    int max_blocks; /* per sequence: ceil(max_seq_len / block_size) */
    ref_seq seqs[REF_MAX_SEQS];
} ref_driver;

/* The `tiny` preset (engine/model.c), optionally with a longer context. */
static inline db_model_config ref_tiny(int max_seq_len) {
    db_model_config m;
    if (db_model_preset("tiny", &m) != 0) abort();
    if (max_seq_len > 0) m.max_seq_len = max_seq_len;
    return m;
}

static inline db_engine_opts ref_opts(const db_model_config *m, db_precision p, db_kv_dtype kv,
                                      uint64_t seed) {
    db_engine_opts o;
    memset(&o, 0, sizeof o);
    o.backend = DB_BACKEND_CPU;
    o.model = *m;
    o.precision = p;
    o.kv_dtype = kv;
    o.kv_block_size = REF_BLOCK_SIZE;
    o.seed = seed;
    o.threads = 2;
    return o;
}

/* Opens the backend with room for `seqs` full-length sequences. Returns the backend's status. */
static inline db_status ref_driver_open(ref_driver *d, const db_engine_opts *o, int seqs,
                                        db_error *err) {
    memset(d, 0, sizeof *d);
    d->max_blocks = (o->model.max_seq_len + REF_BLOCK_SIZE - 1) / REF_BLOCK_SIZE;
    d->total_blocks = (int64_t)seqs * d->max_blocks;
    db_status st = db_cpu_open(o, d->total_blocks, &d->b, err);
    if (st != DB_OK) return st;
    d->free_list = malloc((size_t)d->total_blocks * sizeof(int32_t));
    /* A permutation of the block ids: i -> (i * 7919 + 13) mod total when coprime, else reversed.
     */
    int64_t n = d->total_blocks;
    int coprime = n % 7919 != 0;
    for (int64_t i = 0; i < n; i++)
        d->free_list[i] = (int32_t)(coprime ? (i * 7919 + 13) % n : n - 1 - i);
    d->n_free = n;
    for (int s = 0; s < REF_MAX_SEQS; s++)
        d->seqs[s].blocks = calloc((size_t)d->max_blocks, sizeof(int32_t));
    return DB_OK;
}

static inline void ref_driver_close(ref_driver *d) {
    db_cpu_close(d->b);
    free(d->free_list);
    for (int s = 0; s < REF_MAX_SEQS; s++)
        free(d->seqs[s].blocks);
    memset(d, 0, sizeof *d);
}

/* Returns sequence s's blocks to the free list (it becomes empty). */
static inline void ref_driver_free_seq(ref_driver *d, int s) {
    ref_seq *q = &d->seqs[s];
    while (q->n_blocks > 0)
        d->free_list[d->n_free++] = q->blocks[--q->n_blocks];
    q->len = 0;
}

/* One step: item i appends n_tok[i] tokens toks[i] to sequence ids[i] (want_next on every item).
 * next (n) receives the next tokens, logits (n, vocab) the logits when non-NULL. */
static inline db_status ref_driver_step(ref_driver *d, int n, const int *ids, const int *n_tok,
                                        const int32_t *const *toks, int32_t *next, float *logits,
                                        db_error *err) {
    db_work work[REF_MAX_SEQS];
    db_backend_seq_view views[REF_MAX_SEQS];
    for (int i = 0; i < n; i++) {
        ref_seq *q = &d->seqs[ids[i]];
        int need = (q->len + n_tok[i] + REF_BLOCK_SIZE - 1) / REF_BLOCK_SIZE;
        while (q->n_blocks < need && d->n_free > 0)
            q->blocks[q->n_blocks++] = d->free_list[--d->n_free];
        work[i] = (db_work){ids[i], q->len, n_tok[i], toks[i], 1};
        views[i] = (db_backend_seq_view){q->blocks, q->n_blocks};
    }
    db_step_result res = {next, logits, 0.0, 0.0};
    db_status st = db_cpu_step(d->b, work, views, n, &res, err);
    if (st == DB_OK)
        for (int i = 0; i < n; i++)
            d->seqs[ids[i]].len += n_tok[i];
    return st;
}

/* A seeded random prompt of n token ids in [0, vocab). */
static inline void ref_prompt(int32_t *out, int n, int vocab, uint64_t seed, int which) {
    uint64_t key = db_synth_key(seed, 0xABC00000u + (uint32_t)which);
    for (int i = 0; i < n; i++)
        out[i] = (int32_t)(db_synth_bits(key, (uint64_t)i) % (uint64_t)vocab);
}

#endif
