/* roofline.h — the data a roofline report is drawn from: the ceilings in use (bandwidth, peak per
 * precision, their source), and the points of a step sweep grouped into curves (one per precision,
 * KV dtype and context), with the predicted and measured crossover of each curve.
 *
 * Roofline: attainable FLOP/s at arithmetic intensity AI = min(peak, AI x bandwidth); the ridge
 * point AI* = peak / bandwidth (spec/roofline.md).
 *
 * What it must not do: know the engine, the sweep runner or the CSV layout (the report command
 * fills these structs); print.
 */
#ifndef DB_ROOFLINE_H
#define DB_ROOFLINE_H

#include <stddef.h>

#define DB_RL_MAX_CEILINGS 8

typedef struct db_rl_ceiling {
    char precision[8];  /* "bf16", ... */
    double peak_tflops; /* 1e12 FLOP/s */
} db_rl_ceiling;

typedef struct db_rl_ceilings {
    char device[128];
    char source[16]; /* "measured" | "datasheet" */
    double bandwidth_gbps;
    db_rl_ceiling peak[DB_RL_MAX_CEILINGS];
    int n_peak;
} db_rl_ceilings;

typedef struct db_rl_point {
    double batch;
    double step_ms, tokens_per_s;
    double ai;              /* FLOP/byte */
    double achieved_tflops; /* 1e12 FLOP/s */
    double mfu, mbu;        /* NAN when undefined */
} db_rl_point;

typedef struct db_rl_curve {
    char precision[8], kv_dtype[8];
    double context;
    char label[96];   /* e.g. "bf16 kv bf16 ctx 128" (plus the model when the report mixes them) */
    double predicted; /* predicted crossover batch; NAN: none */
    double measured;  /* measured knee; NAN: none */
    char measured_method[16]; /* how: "hinge" | "balance" (reports/crossover.h) | "" */
    double ridge_batch;       /* ridge x bytes-per-weight / 2; NAN: unknown */
    double ai_ridge;          /* whole-step ridge batch; NAN: none */
    db_rl_point *pts;         /* (n) by increasing batch */
    size_t n, cap;
} db_rl_curve;

typedef struct db_rl_report {
    char title[256];     /* model, backend, device */
    db_rl_ceilings ceil; /* source "" when the rows had no ceilings */
    db_rl_curve *curves; /* (n_curves) */
    size_t n_curves, cap;
    size_t failed; /* points that failed (not drawn) */
} db_rl_report;

/* Attainable TFLOP/s at intensity ai under (bandwidth, peak). */
double db_rl_attainable(double ai, double bandwidth_gbps, double peak_tflops);
/* Ridge point (FLOP/byte): peak / bandwidth; 0 when either is unknown. */
double db_rl_ridge(double bandwidth_gbps, double peak_tflops);

/* The curve with these keys, created (empty, crossovers NAN) when missing; NULL on out of memory.
 */
db_rl_curve *db_rl_curve_get(db_rl_report *r, const char *precision, const char *kv_dtype,
                             double context, const char *label);
/* Appends a point (kept sorted by batch). 0, or -1 on out of memory. */
int db_rl_curve_add(db_rl_curve *c, const db_rl_point *p);
/* Records a peak for a precision once (later calls for the same precision are ignored). */
void db_rl_ceilings_add(db_rl_ceilings *c, const char *precision, double peak_tflops);
void db_rl_report_free(db_rl_report *r);

#endif
