/* backend.h — what a backend (cpu, cuda, sim) implements behind engine.h.
 *
 * engine.c owns the options, the paged KV-cache block tables (kv_cache.h) and validation of work items;
 * a backend owns its weights and KV storage and runs the arithmetic (or models its time).
 * A backend must not allocate KV blocks itself: engine.c has taken them before calling step, and passes
 * each sequence's block table.
 */
#ifndef DB_BACKEND_H
#define DB_BACKEND_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The block table of one work item's sequence after the blocks for this step were taken. */
typedef struct db_backend_seq_view {
    const int32_t *blocks; /* physical block ids, in position order */
    int n_blocks;
} db_backend_seq_view;

typedef struct db_backend_ops {
    const char *name;
    /* Create backend state for these options; total_blocks of kv_block_size tokens each. */
    db_status (*open)(const db_engine_opts *o, int64_t total_blocks, void **state, db_error *err);
    void (*close)(void *state);
    /* seqs[i] is the block table of work[i]'s sequence. res->next_tokens is set for want_next items. */
    db_status (*step)(void *state, const db_work *work, const db_backend_seq_view *seqs, int n,
                      db_step_result *res, db_error *err);
    /* Optional: a one-line device description. */
    const char *(*device_name)(void *state);
    /* Optional: the KV capacity in bytes this backend offers when the options give neither kv_tokens
     * nor kv_bytes (e.g. device memory left after the weights). Called before open. *bytes = 0 (or a
     * NULL hook) means "no opinion": the engine's default applies (engine.c). */
    db_status (*default_kv_bytes)(const db_engine_opts *o, int64_t *bytes, db_error *err);
    /* Optional: start (start = 1) or stop (0) the device profiler's capture; NULL = no device
     * profiler (db_engine_profiler_start/stop do nothing). */
    db_status (*profiler)(void *state, int start, db_error *err);
} db_backend_ops;

/* Checks work item i (w) of a step against the model's context and vocabulary and its sequence's block
 * table (sv) against a pool of total_blocks blocks of block_size tokens: at least one token, positions
 * inside 0..max_seq_len-1, enough blocks for them, every block id inside the pool, every token inside the
 * vocabulary. The backends run it on entry to step (they may be called directly, not only through
 * engine.c). DB_OK, or DB_ERR_INVALID naming the item and what was expected. */
db_status db_backend_check_item(const db_model_config *m, int block_size, int64_t total_blocks,
                                const db_work *w, const db_backend_seq_view *sv, int i,
                                db_error *err);

/* Bytes of KV cache one token occupies on this shape and dtype (all layers, K and V). */
double db_kv_bytes_per_token(const db_model_config *m, db_kv_dtype kv);

extern const db_backend_ops db_backend_cpu;
extern const db_backend_ops db_backend_sim;
/* Present only when built with CUDA (DECODEBENCH_HAVE_CUDA). */
extern const db_backend_ops db_backend_cuda;
/* 1 if a CUDA device answers (0 when built without CUDA). */
int db_cuda_device_count(void);

#ifdef __cplusplus
}
#endif
#endif
