/* sweep_predict.h — the predicted arithmetic-intensity crossover of a decode step for a model,
 * precision, KV dtype and context on given ceilings, from the engine's cost model (engine/cost.h).
 *
 * A decode step of B sequences at context c (every item one token at position c, wanting a next
 * token) costs, per op class k, flops_k(B) = f0 + f1*B and bytes_k(B) = m0 + m1*B exactly: weights
 * are read once per step whatever the batch, and every sequence adds its activations and reads its
 * KV cache of c+1 tokens (db_step_lines_build takes the two coefficients from the cost model at
 * B = 1 and B = 2). At bandwidth BW and the class's peak P_k (GEMM classes: db_ceilings_peak of the
 * scheme; attention: the device's attention peak; norm: fp32 — as the sim prices them):
 *   mem_k(B) = (m0 + m1*B) / BW          comp_k(B) = (f0 + f1*B) / P_k
 * and the step time is t(B) = sum_k max(mem_k, comp_k) + overhead (spec/roofline.md's per-step time
 * model). At small B every class is on the branch that is larger at B = 0, at large B on the branch
 * with the larger slope; that gives two lines:
 *   t_mem(B)     = S0 + S1*B   (memory-bound regime: weights, KV and activations over BW)
 *   t_compute(B) = L0 + L1*B   (the GEMMs compute-bound; attention stays memory-bound)
 * Predicted crossover (the knee of t(B)): t_mem(B) = t_compute(B), B* = (S0 - L0) / (L1 - S1);
 * none when L1 <= S1. Without activation or KV traffic this is B* = ridge x bytes-per-weight / 2
 * (the simple formula, also reported); activation bytes move it up; the KV bytes at the context
 * enter through attention's max(mem, comp) and move it only where attention turns compute-bound.
 * Whole-step ridge batch: where the step's arithmetic intensity reaches the ridge,
 * sum_k mem_k(B) = sum_k comp_k(B); KV traffic grows with the context and pushes it out or removes
 * it (none: memory-bound at every batch).
 *
 * What it must not do: run the engine, print or exit.
 */
#ifndef DB_SWEEP_PREDICT_H
#define DB_SWEEP_PREDICT_H

#include "engine.h"
#include "sweep_ceilings.h"

/* Seconds of memory traffic and of compute of one op class, as lines in the batch B. */
typedef struct db_step_class_line {
    double mem0, mem1;   /* mem(B) = mem0 + mem1 * B */
    double comp0, comp1; /* comp(B) = comp0 + comp1 * B */
} db_step_class_line;

typedef struct db_step_lines {
    db_step_class_line cls[DB_OP_COUNT];
    double overhead_s; /* the ceilings' per-step overhead */
} db_step_lines;

typedef struct db_crossover_prediction {
    double crossover_batch; /* t_mem = t_compute (above); NAN when none */
    double ai_ridge_batch;  /* whole-step AI = ridge; NAN when none */
    double ridge_batch;     /* ridge x bytes-per-weight / 2; NAN without a peak */
    double mem0, mem1;      /* t_mem(B) = mem0 + mem1 * B, overhead excluded */
    double comp0, comp1;    /* t_compute(B) = comp0 + comp1 * B, overhead excluded */
} db_crossover_prediction;

/* The per-class lines of a decode step at context `context` (>= 1). DB_ERR_UNSUPPORTED when the
 * ceilings lack a peak a class needs or have no bandwidth (the message names it). */
db_status db_step_lines_build(const db_model_config *m, db_precision p, db_kv_dtype kv, int context,
                              const db_ceilings *c, db_step_lines *out, db_error *err);

/* The three predictions from the lines (header comment). */
void db_crossover_predict(const db_step_lines *l, const db_ceilings *c, db_precision p,
                          db_crossover_prediction *out);

/* The modelled time of a step with this cost: sum_k max(bytes_k / BW, flops_k / P_k) + overhead;
 * NAN when the ceilings lack the bandwidth or a peak. */
double db_step_cost_time(const db_cost *cost, const db_ceilings *c, db_precision p);

/* The step time the lines give at batch B: sum_k max(mem_k, comp_k) + overhead. */
double db_step_lines_time(const db_step_lines *l, double B);

#endif
