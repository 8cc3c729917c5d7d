/* crossover.h — the measured arithmetic-intensity crossover of decode: the knee of step time versus
 * batch, where decoding stops being memory-bound (flat-ish: the weights are read once per step
 * whatever the batch) and becomes compute-bound (time grows with the batch). The predicted
 * crossover comes from the cost model (harness/sweep_predict.h).
 *
 * Method (db_knee_fit), in two steps:
 * 1. hinge: two lines fitted to (batch, step time), a small-batch line a1 + b1*B through the
 *    first k points (the memory-bound regime: the weights once per step plus each sequence's KV
 *    and activation traffic, so it may slope) and a large-batch line b2*B through the origin for
 *    the rest (the compute-bound regime: time proportional to the batch), each by least squares on
 *    relative residuals ((t - fit) / t, i.e. squared error in log space to first order, so batch 1
 *    counts as much as batch 512), over every split k with at least 2 points a side; the split with
 *    the smallest total is kept and the knee is the lines' intersection a1 / (b2 - b1). It is taken
 *    when b2 > b1, a1 > 0, it lies inside the batch range, one straight line through every point
 *    misses them by more than 2% RMS (relative), and the two lines cut that squared error to at
 *    most a quarter. This is the knee of a backend that overlaps memory traffic with compute (the
 *    sim; a GPU): time = max(memory, compute).
 * 2. balance: otherwise, when one line a + b*B fits every point within 10% RMS with a, b > 0 and
 *    a / b inside the batch range, the knee is a / b, where the time of the sequences equals the
 *    fixed time per step: the bend of a + b*B on log-log axes. This is the knee of a backend that
 *    does not overlap them (time = memory + compute, e.g. the CPU), where there is no slope change
 *    to find. It is the memory/compute crossover only when the per-sequence time is compute (short
 *    contexts); where KV traffic dominates the per-sequence time it is where the KV traffic equals
 *    the weight traffic instead.
 * Not a flat small-batch line: KV and activation traffic give the memory-bound regime a slope, and
 * a flat fit drags the knee down (on the sim, llama3-8b bf16 at context 128: 209 instead of 348).
 *
 * What it must not do: know the engine, the sweep or files; print.
 */
#ifndef DB_CROSSOVER_H
#define DB_CROSSOVER_H

#include <stddef.h>

typedef enum db_knee_method {
    DB_KNEE_NONE = 0,
    DB_KNEE_HINGE = 1,   /* slope change: the intersection of the two lines */
    DB_KNEE_BALANCE = 2, /* one line a + b B: a / b */
} db_knee_method;

/* "hinge", "balance", or "" for none. */
const char *db_knee_method_name(db_knee_method m);

typedef struct db_knee {
    int found;             /* 1 when a knee is reported */
    db_knee_method method; /* how it was found */
    double batch;          /* the knee (NAN when not found) */
    double a1, b1;         /* hinge: small-batch line t = a1 + b1 B; balance: the one line */
    double a2, b2;         /* hinge: large-batch line t = b2 B (a2 = 0); balance: 0 */
    int split;             /* points in the small-batch segment */
    double rms_one;        /* relative RMS error of one line a + b B through every point */
    double rms_two;        /* relative RMS error of the two hinge lines */
    char why[128];         /* when not found: the reason */
} db_knee;

/* Fits the knee of (batch[i], t[i]), i < n, in any order (t > 0, batch > 0). Returns 0 (see
 * out->found), or -1 when the input is unusable (fewer than 5 distinct batches, t <= 0): out->why
 * says which. */
int db_knee_fit(const double *batch, const double *t, int n, db_knee *out);

/* Fits one knee per group of rows with equal keys[i] among rows with ok[i] != 0, and writes it to
 * knee[i] (and its db_knee_method to method[i] when method is non-NULL) of every row of the group
 * (NAN and DB_KNEE_NONE when the group has none; rows with ok 0 get those too). Returns 0, or -1
 * when memory runs out. */
int db_knee_fill_groups(size_t n, const char *const *keys, const double *batch, const double *t,
                        const int *ok, double *knee, int *method);

#endif
