/* timeline_breakdown.h — where a step's time goes, from a kernel trace (kernels.csv) and the
 * analytic cost of the same steps (db_engine_cost): per op class, the kernels' time and its share
 * of the step time, the FLOPs and bytes the cost model gives that class over those steps, the
 * achieved FLOP/s and bytes/s, and the fraction of the roofline ceiling; and one roofline point per
 * (step, op class).
 *
 * Definitions (over the steps given; kernels of other steps are counted in kernels_outside only):
 *   kernel_s            sum of the class's kernel durations
 *   share               kernel_s / step_s (step_s = sum of the steps' durations); the row "gaps"
 *                       is step_s - all kernel time: host work, launch latency, idle device
 *   achieved FLOP/s     flops / kernel_s; achieved bytes/s = bytes / kernel_s
 *   bound_s             the roofline's lower bound max(flops / peak FLOP/s, bytes / bandwidth)
 *   fraction_of_ceiling bound_s / kernel_s (1 = the class runs at its roofline ceiling)
 * Op classes are the cost model's (qkv, attention, out_proj, mlp, norm, lm_head, in db_op_class
 * order) plus "other" for kernels outside any op range. A kernel's class is the op range it was
 * launched in; the embedding gather counts under norm, as the cost model counts it. The classes
 * of the cost model and of the launch ranges need not cover exactly the same work (e.g. the CUDA
 * backend launches RoPE and the KV write inside its qkv range, the cost model counts RoPE under
 * norm): the README says so where it documents kernel_ops.csv.
 *
 * A pure function of its inputs (no clock, no files) and two writers. Must not know the engine.
 */
#ifndef DB_REPORTS_TIMELINE_BREAKDOWN_H
#define DB_REPORTS_TIMELINE_BREAKDOWN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DB_BREAKDOWN_OPS 6                  /* the cost model's op classes, db_op_class order */
#define DB_BREAKDOWN_OTHER DB_BREAKDOWN_OPS /* kernels outside any op range */
#define DB_BREAKDOWN_ROWS (DB_BREAKDOWN_OPS + 1)

/* "qkv", "attention", "out_proj", "mlp", "norm", "lm_head", "other". */
const char *db_breakdown_op_name(int i);
/* The row of a kernels.csv op: its class, "embedding" -> norm, anything else -> other. */
int db_breakdown_op_index(const char *op);

typedef struct db_breakdown_kernel {
    int64_t step;
    int op; /* row index (db_breakdown_op_index) */
    int64_t duration_ns;
} db_breakdown_kernel;

typedef struct db_breakdown_step {
    int64_t index;
    int64_t duration_ns;
    double flops[DB_BREAKDOWN_OPS], bytes[DB_BREAKDOWN_OPS]; /* the step's analytic cost */
} db_breakdown_step;

/* Ceilings per class; 0 = unknown (no bound, no fraction). */
typedef struct db_breakdown_peaks {
    double flops_per_s[DB_BREAKDOWN_OPS];
    double bytes_per_s;
} db_breakdown_peaks;

typedef struct db_breakdown_row {
    int64_t kernels;
    double kernel_s, share;
    double flops, bytes;
    double arithmetic_intensity; /* flops / bytes; -1 when bytes = 0 */
    double achieved_flops_per_s; /* -1 when kernel_s = 0 */
    double achieved_bytes_per_s; /* -1 when kernel_s = 0 */
    double bound_s;              /* -1 when unknown (no peaks, or "other") */
    double fraction_of_ceiling;  /* -1 when unknown */
} db_breakdown_row;

typedef struct db_breakdown {
    db_breakdown_row row[DB_BREAKDOWN_ROWS];
    int64_t steps;
    double step_s, kernel_s;
    double gap_s,
        gap_share; /* step time not covered by kernel time (negative if kernels overlap) */
    int64_t kernels_outside; /* kernels whose step is not among the steps given */
} db_breakdown;

/* steps: sorted by strictly increasing index. peaks may be NULL. Returns 0, or -1 when the steps
 * are not sorted or a kernel's op index is out of range. */
int db_breakdown_compute(const db_breakdown_kernel *k, size_t nk, const db_breakdown_step *steps,
                         size_t ns, const db_breakdown_peaks *peaks, db_breakdown *out);

/* One roofline point per (step, op class) that ran kernels, "other" excluded. */
typedef struct db_breakdown_point {
    int64_t step;
    int op;
    int64_t kernels;
    double kernel_s, flops, bytes;
    double arithmetic_intensity; /* -1 when bytes = 0 */
    double achieved_flops_per_s, achieved_bytes_per_s;
} db_breakdown_point;

/* Points sorted by step then op (malloc'ed; free *out). Kernels of steps not given are skipped.
 * Returns 0, or -1 (unsorted steps, out of memory). */
int db_breakdown_points(const db_breakdown_kernel *k, size_t nk, const db_breakdown_step *steps,
                        size_t ns, db_breakdown_point **out, size_t *n_out);

/* kernel_ops.csv: op, kernels, kernel_ms, share_of_step_time, flops, bytes, arithmetic_intensity,
 * achieved_tflops, achieved_gbps, roofline_bound_ms, fraction_of_ceiling — one row per class,
 * then "gaps" and "total"; an unknown value is an empty field. Atomic. 0, or -1 with err. */
int db_breakdown_write_csv(const char *path, const db_breakdown *b, char *err, size_t errlen);
/* kernel_points.csv: step, op, kernels, kernel_us, flops, bytes, arithmetic_intensity,
 * achieved_tflops, achieved_gbps. Atomic. 0, or -1 with err. */
int db_breakdown_write_points_csv(const char *path, const db_breakdown_point *p, size_t n,
                                  char *err, size_t errlen);
/* The table for a terminal ("Where the step time goes"). */
void db_breakdown_print(FILE *f, const db_breakdown *b);

#endif
