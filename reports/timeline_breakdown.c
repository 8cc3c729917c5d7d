/* timeline_breakdown.c — step-time breakdown per op class and per (step, op) roofline points
 * (timeline_breakdown.h). */
#include "timeline_breakdown.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

static const char *const op_names[DB_BREAKDOWN_ROWS] = {"qkv",  "attention", "out_proj", "mlp",
                                                        "norm", "lm_head",   "other"};

const char *db_breakdown_op_name(int i) {
    return i >= 0 && i < DB_BREAKDOWN_ROWS ? op_names[i] : "?";
}

int db_breakdown_op_index(const char *op) {
    if (op && !strcmp(op, "embedding")) return 4; /* norm: the cost model counts the gather there */
    for (int i = 0; op && i < DB_BREAKDOWN_OPS; i++)
        if (!strcmp(op, op_names[i])) return i;
    return DB_BREAKDOWN_OTHER;
}

static bool sorted(const db_breakdown_step *s, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (s[i].index <= s[i - 1].index) return false;
    return true;
}

/* Position of the step with this index, or -1. */
static int64_t find_step(const db_breakdown_step *s, size_t n, int64_t index) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo].index == index ? (int64_t)lo : -1;
}

static double ratio_or_unknown(double num, double den) {
    return den > 0 ? num / den : -1.0;
}

/* Derived fields of one class row from its sums. */
static void finish_row(db_breakdown_row *r, double step_s, double peak_flops, double peak_bytes) {
    r->share = step_s > 0 ? r->kernel_s / step_s : 0.0;
    r->arithmetic_intensity = ratio_or_unknown(r->flops, r->bytes);
    r->achieved_flops_per_s = ratio_or_unknown(r->flops, r->kernel_s);
    r->achieved_bytes_per_s = ratio_or_unknown(r->bytes, r->kernel_s);
    r->bound_s = -1.0;
    r->fraction_of_ceiling = -1.0;
    bool need_flops = r->flops > 0, need_bytes = r->bytes > 0;
    if ((!need_flops && !need_bytes) || (need_flops && peak_flops <= 0) ||
        (need_bytes && peak_bytes <= 0))
        return;
    double t_flops = need_flops ? r->flops / peak_flops : 0.0;
    double t_bytes = need_bytes ? r->bytes / peak_bytes : 0.0;
    r->bound_s = t_flops > t_bytes ? t_flops : t_bytes;
    r->fraction_of_ceiling = ratio_or_unknown(r->bound_s, r->kernel_s);
}

int db_breakdown_compute(const db_breakdown_kernel *k, size_t nk, const db_breakdown_step *steps,
                         size_t ns, const db_breakdown_peaks *peaks, db_breakdown *out) {
    memset(out, 0, sizeof *out);
    if (!sorted(steps, ns)) return -1;
    for (size_t i = 0; i < ns; i++) {
        out->step_s += (double)steps[i].duration_ns * 1e-9;
        for (int c = 0; c < DB_BREAKDOWN_OPS; c++) {
            out->row[c].flops += steps[i].flops[c];
            out->row[c].bytes += steps[i].bytes[c];
        }
    }
    out->steps = (int64_t)ns;
    for (size_t i = 0; i < nk; i++) {
        if (k[i].op < 0 || k[i].op >= DB_BREAKDOWN_ROWS) return -1;
        if (find_step(steps, ns, k[i].step) < 0) {
            out->kernels_outside++;
            continue;
        }
        db_breakdown_row *r = &out->row[k[i].op];
        r->kernels++;
        r->kernel_s += (double)k[i].duration_ns * 1e-9;
        out->kernel_s += (double)k[i].duration_ns * 1e-9;
    }
    for (int c = 0; c < DB_BREAKDOWN_ROWS; c++) {
        double pf = peaks && c < DB_BREAKDOWN_OPS ? peaks->flops_per_s[c] : 0.0;
        double pb = peaks && c < DB_BREAKDOWN_OPS ? peaks->bytes_per_s : 0.0;
        finish_row(&out->row[c], out->step_s, pf, pb);
    }
    out->gap_s = out->step_s - out->kernel_s;
    out->gap_share = out->step_s > 0 ? out->gap_s / out->step_s : 0.0;
    return 0;
}

/* ---- points -----------------------------------------------------------------------------------
 */

static int by_step_then_op(const void *a, const void *b) {
    const db_breakdown_point *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    return (x->op > y->op) - (x->op < y->op);
}

int db_breakdown_points(const db_breakdown_kernel *k, size_t nk, const db_breakdown_step *steps,
                        size_t ns, db_breakdown_point **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!sorted(steps, ns)) return -1;
    /* one slot per (step, class): dense, since steps are few compared with kernels */
    db_breakdown_point *grid = calloc(ns ? ns * DB_BREAKDOWN_OPS : 1, sizeof *grid);
    if (!grid) return -1;
    for (size_t i = 0; i < nk; i++) {
        int64_t at = find_step(steps, ns, k[i].step);
        if (at < 0 || k[i].op < 0 || k[i].op >= DB_BREAKDOWN_OPS) continue;
        db_breakdown_point *p = &grid[(size_t)at * DB_BREAKDOWN_OPS + (size_t)k[i].op];
        p->kernels++;
        p->kernel_s += (double)k[i].duration_ns * 1e-9;
    }
    size_t n = 0;
    for (size_t s = 0; s < ns; s++)
        for (int c = 0; c < DB_BREAKDOWN_OPS; c++) {
            db_breakdown_point p = grid[s * DB_BREAKDOWN_OPS + (size_t)c];
            if (!p.kernels) continue;
            p.step = steps[s].index;
            p.op = c;
            p.flops = steps[s].flops[c];
            p.bytes = steps[s].bytes[c];
            p.arithmetic_intensity = ratio_or_unknown(p.flops, p.bytes);
            p.achieved_flops_per_s = ratio_or_unknown(p.flops, p.kernel_s);
            p.achieved_bytes_per_s = ratio_or_unknown(p.bytes, p.kernel_s);
            grid[n++] = p; /* n <= s * OPS + c: never overtakes the slot being read */
        }
    qsort(grid, n, sizeof *grid, by_step_then_op);
    *out = grid;
    *n_out = n;
    return 0;
}

/* ---- writers ----------------------------------------------------------------------------------
 */

/* v with fmt, or an empty field when v < 0 (unknown). */
static void put(FILE *f, const char *fmt, double v, char sep) {
    if (v >= 0) fprintf(f, fmt, v);
    fputc(sep, f);
}

static void csv_row(FILE *f, const char *op, const db_breakdown_row *r) {
    fprintf(f, "%s,%" PRId64 ",%.6f,%.6f,%.6g,%.6g,", op, r->kernels, r->kernel_s * 1e3, r->share,
            r->flops, r->bytes);
    put(f, "%.6g", r->arithmetic_intensity, ',');
    put(f, "%.6g", r->achieved_flops_per_s < 0 ? -1 : r->achieved_flops_per_s * 1e-12, ',');
    put(f, "%.6g", r->achieved_bytes_per_s < 0 ? -1 : r->achieved_bytes_per_s * 1e-9, ',');
    put(f, "%.6f", r->bound_s < 0 ? -1 : r->bound_s * 1e3, ',');
    put(f, "%.6f", r->fraction_of_ceiling, '\n');
}

int db_breakdown_write_csv(const char *path, const db_breakdown *b, char *err, size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen)) return -1;
    FILE *f = af.f;
    fputs("op,kernels,kernel_ms,share_of_step_time,flops,bytes,arithmetic_intensity,"
          "achieved_tflops,achieved_gbps,roofline_bound_ms,fraction_of_ceiling\n",
          f);
    db_breakdown_row total = {0};
    for (int c = 0; c < DB_BREAKDOWN_ROWS; c++) {
        csv_row(f, op_names[c], &b->row[c]);
        total.kernels += b->row[c].kernels;
        total.flops += b->row[c].flops;
        total.bytes += b->row[c].bytes;
    }
    fprintf(f, "gaps,,%.6f,%.6f,,,,,,,\n", b->gap_s * 1e3, b->gap_share);
    total.kernel_s = b->step_s;
    total.share = b->step_s > 0 ? 1.0 : 0.0;
    total.arithmetic_intensity = ratio_or_unknown(total.flops, total.bytes);
    total.achieved_flops_per_s = ratio_or_unknown(total.flops, b->step_s);
    total.achieved_bytes_per_s = ratio_or_unknown(total.bytes, b->step_s);
    total.bound_s = total.fraction_of_ceiling = -1.0;
    csv_row(f, "total", &total);
    return db_atomic_commit(&af, err, errlen);
}

int db_breakdown_write_points_csv(const char *path, const db_breakdown_point *p, size_t n,
                                  char *err, size_t errlen) {
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, errlen)) return -1;
    FILE *f = af.f;
    fputs("step,op,kernels,kernel_us,flops,bytes,arithmetic_intensity,achieved_tflops,"
          "achieved_gbps\n",
          f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%" PRId64 ",%s,%" PRId64 ",%.3f,%.6g,%.6g,", p[i].step, op_names[p[i].op],
                p[i].kernels, p[i].kernel_s * 1e6, p[i].flops, p[i].bytes);
        put(f, "%.6g", p[i].arithmetic_intensity, ',');
        put(f, "%.6g", p[i].achieved_flops_per_s < 0 ? -1 : p[i].achieved_flops_per_s * 1e-12, ',');
        put(f, "%.6g", p[i].achieved_bytes_per_s < 0 ? -1 : p[i].achieved_bytes_per_s * 1e-9, '\n');
    }
    return db_atomic_commit(&af, err, errlen);
}

void db_breakdown_print(FILE *f, const db_breakdown *b) {
    fprintf(f, "Where the step time goes (%" PRId64 " steps, %.3f ms):\n", b->steps,
            b->step_s * 1e3);
    fprintf(f, "  %-10s %8s %10s %7s %10s %10s %9s\n", "op", "kernels", "time ms", "share",
            "TFLOP/s", "GB/s", "ceiling");
    for (int c = 0; c < DB_BREAKDOWN_ROWS; c++) {
        const db_breakdown_row *r = &b->row[c];
        if (!r->kernels && c == DB_BREAKDOWN_OTHER) continue;
        fprintf(f, "  %-10s %8" PRId64 " %10.3f %6.1f%%", op_names[c], r->kernels,
                r->kernel_s * 1e3, 100 * r->share);
        if (r->achieved_flops_per_s >= 0)
            fprintf(f, " %10.3f %10.1f", r->achieved_flops_per_s * 1e-12,
                    r->achieved_bytes_per_s * 1e-9);
        else
            fprintf(f, " %10s %10s", "-", "-");
        if (r->fraction_of_ceiling >= 0)
            fprintf(f, " %8.1f%%\n", 100 * r->fraction_of_ceiling);
        else
            fprintf(f, " %9s\n", "-");
    }
    fprintf(f, "  %-10s %8s %10.3f %6.1f%%\n", "gaps", "", b->gap_s * 1e3, 100 * b->gap_share);
    if (b->kernels_outside)
        fprintf(f, "  (%" PRId64 " kernels outside these steps not counted)\n", b->kernels_outside);
}
