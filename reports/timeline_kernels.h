/* timeline_kernels.h — kernels.csv: one row per kernel the device ran (from a kernel trace),
 * written as the run goes (to a temporary file renamed into place at the end,
 * reports/atomic_file.h), and read back (libcsv) for the step-time breakdown
 * (timeline_breakdown.h).
 *
 * Columns: step, op, name, demangled, start_s, end_s, duration_us, grid_x, grid_y, grid_z, block_x,
 * block_y, block_z, registers_per_thread, static_shared_bytes, dynamic_shared_bytes, stream,
 * graph_id, graph_node_id, correlation_id, mangled_name.
 *   step   engine step the kernel belongs to (steps.csv's index); -1 outside steps
 *   op     the op range it was launched in: qkv, attention, out_proj, mlp, norm, lm_head,
 *          embedding, or empty (outside any op range)
 *   name   demangled when demangled = 1, else as the driver reported it (= mangled_name)
 *   start_s, end_s  run clock, seconds with 9 decimals; duration_us = end - start, 3 decimals
 *   graph_id, graph_node_id  0 unless launched from a CUDA graph (then one row per graph node)
 * Text fields are quoted by libcsv when they hold a comma, quote or newline (demangled template
 * names do).
 *
 * Must not: know the engine or CUPTI; the harness converts the engine's records into rows.
 */
#ifndef DB_REPORTS_TIMELINE_KERNELS_H
#define DB_REPORTS_TIMELINE_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_kernel_row {
    int64_t step;
    const char *op;
    const char *name;
    bool demangled;
    int64_t start_ns, end_ns; /* run clock */
    int32_t grid[3], block[3];
    int32_t registers_per_thread;
    int32_t static_shared_bytes, dynamic_shared_bytes;
    uint32_t stream;
    uint32_t graph_id;
    uint64_t graph_node_id;
    uint32_t correlation_id;
    const char *mangled_name;
} db_kernel_row;

typedef struct db_kernels_csv db_kernels_csv;

/* Opens path's temporary file and writes the header. 0, or -1 with err naming the path. */
int db_kernels_csv_open(const char *path, db_kernels_csv **out, char *err, size_t errlen);
/* Appends one row. 0, or -1 once a write has failed (the error is kept for commit). */
int db_kernels_csv_add(db_kernels_csv *w, const db_kernel_row *r);
size_t db_kernels_csv_rows(const db_kernels_csv *w);
/* Renames the file into place and frees w. 0, or -1 with err (the temporary file is removed). */
int db_kernels_csv_commit(db_kernels_csv *w, char *err, size_t errlen);
/* Removes the temporary file and frees w. Safe with NULL. */
void db_kernels_csv_abort(db_kernels_csv *w);

/* Called once per row read; the row's strings are valid during the call only. Non-zero stops the
 * read (db_kernels_csv_read returns -1 with err "stopped at line N"). */
typedef int (*db_kernel_row_fn)(void *ctx, const db_kernel_row *r);

/* Reads a kernels.csv: the header must hold the columns above (in any order; extra columns are
 * ignored). Returns 0, or -1 with err naming the file, line and column of the first bad field. */
int db_kernels_csv_read(const char *path, db_kernel_row_fn fn, void *ctx, char *err, size_t errlen);

#endif
