/* sweep_step.h — one point of a `step` sweep: the time of a decode step of B sequences at a given
 * context on an open engine (any backend).
 *
 * Procedure: check the point fits the model (context + warm-up + timed steps <= max_seq_len) and
 * the KV pool (B x the blocks of that many tokens free); allocate B sequences; prefill each to
 * `context` tokens (seeded tokens; chunked prefill of at most prefill_step_tokens tokens per step,
 * untimed); run `warmup` decode steps (every sequence one token, untimed), then `steps` timed
 * decode steps. The step time is the engine's step_seconds (cpu: measured; sim: modelled); the
 * point's time is their median. FLOPs and bytes are the mean of db_engine_cost over the timed
 * steps. The timed steps run at positions context + warmup .. context + warmup + steps - 1. Every
 * sequence is freed afterwards, whatever happened.
 *
 * What it must not do: print, exit, or leave sequences allocated.
 */
#ifndef DB_SWEEP_STEP_H
#define DB_SWEEP_STEP_H

#include <stdint.h>

#include "engine.h"

typedef struct db_step_point_opts {
    int batch;               /* B >= 1 */
    int context;             /* tokens prefilled into each sequence, >= 1 */
    int warmup;              /* untimed decode steps, >= 0 */
    int steps;               /* timed decode steps, >= 1 */
    int prefill_step_tokens; /* most tokens in one prefill step; <= 0: 4096 */
    uint64_t seed;           /* prompt tokens */
} db_step_point_opts;

typedef struct db_step_point_result {
    double step_s; /* median of the timed steps */
    double step_s_min, step_s_max;
    db_cost cost;     /* mean over the timed steps */
    double prefill_s; /* engine time of the (untimed) prefill, for the record */
} db_step_point_result;

/* The KV tokens a point holds at its end: B x (context + warmup + steps). */
int64_t db_step_point_kv_tokens(const db_step_point_opts *o);

/* Runs the point. DB_ERR_INVALID when it exceeds the model's context, DB_ERR_KV_FULL when the KV
 * pool cannot hold it (checked before any work), or the engine's error; the message says which. */
db_status db_step_point_run(db_engine *e, const db_step_point_opts *o, db_step_point_result *out,
                            db_error *err);

#endif
