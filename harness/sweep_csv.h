/* sweep_csv.h — the sweep's long-format CSV: one row per point with every input and output column
 * (libcsv: csv_fwrite quotes text when it needs it; undefined values are empty fields), plus what
 * resume, merge, the knee pass and the report need: reading a CSV into a table of text cells, the
 * point key, and filling the measured crossover of every curve.
 *
 * Columns (db_sweep_column, in this order): `point` (index in grid order; a search's probe number),
 * the inputs — mode, backend, device, model, precision, kv_dtype, batch, context, warmup_steps,
 * steps, threads, seed — the ceilings in use, status ("ok" | "failed") and error, the step
 * measurements, the predicted and measured crossovers (measured_crossover_method "hinge" |
 * "balance"), FLOPs and bytes per op class; then the serve inputs — rate, concurrency, requests,
 * issue_s, prompt_len, output_len, slo — and the serve results. Step rows leave the serve columns
 * empty and serve/search rows the step-only ones. The point key is every input column (not
 * `point`); a curve (for the knee) is the step rows with equal keys but for batch.
 * Units are in the names: _ms, _GBps (1e9 bytes/s), _tflops (1e12 FLOP/s), _per_s, _s; flops and
 * bytes are per step.
 *
 * What it must not do: print or exit; it knows nothing of how points are run.
 */
#ifndef DB_SWEEP_CSV_H
#define DB_SWEEP_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "sweep.h"

/* ---- a CSV as a table of text cells ------------------------------------------------------------
 */

typedef struct db_csv_table {
    char **header; /* (ncols) */
    size_t ncols;
    char **cells; /* (nrows, ncols), row-major; every cell non-NULL */
    size_t nrows, cap;
} db_csv_table;

/* Reads path (header line first). Returns 0; 1 when the file does not exist; -1 with err naming the
 * file and line (a row whose field count differs from the header's, a bad quote, an empty file). */
int db_csv_table_read(const char *path, db_csv_table *t, char *err, size_t errlen);
/* Column index of name, or -1. */
int db_csv_table_col(const db_csv_table *t, const char *name);
const char *db_csv_table_cell(const db_csv_table *t, size_t row, size_t col);
/* Replaces a cell (copied). 0, or -1 when memory runs out. */
int db_csv_table_set(db_csv_table *t, size_t row, size_t col, const char *value);
/* Appends a row of t->ncols cells (copied). 0, or -1. */
int db_csv_table_append(db_csv_table *t, const char *const *cells);
/* Writes header and rows. 0, or -1 when a write failed. */
int db_csv_table_write(FILE *f, const db_csv_table *t);
void db_csv_table_free(db_csv_table *t);
/* One CSV line of n fields (csv_fwrite each). 0, or -1. */
int db_csv_write_fields(FILE *f, const char *const *fields, size_t n);

/* ---- the sweep's columns ----------------------------------------------------------------------
 */

size_t db_sweep_column_count(void);
const char *db_sweep_column(size_t i);
/* 0 when t's header is exactly the sweep's columns; else -1 with err naming the first difference.
 */
int db_sweep_check_header(const db_csv_table *t, const char *path, char *err, size_t errlen);

/* The text cells of a row (db_sweep_column_count of them) into cells[i] (each DB_SWEEP_CELL bytes).
 */
#define DB_SWEEP_CELL 600
void db_sweep_row_format(const db_sweep_row *r, char (*cells)[DB_SWEEP_CELL]);
/* Writes the header line / one row. 0, or -1 when a write failed. */
int db_sweep_write_header(FILE *f);
int db_sweep_write_row(FILE *f, const db_sweep_row *r);

/* The point key of row i of a sweep table (the input columns joined by '\x1f'; without batch when
 * curve is non-zero), malloc'ed; NULL when memory runs out. */
char *db_sweep_table_key(const db_csv_table *t, size_t i, int curve);
/* The same key for a row struct (inputs only are used). */
char *db_sweep_row_key(const db_sweep_row *r);

/* Fits the knee of every curve of t (rows with status ok) and writes it to measured_crossover_batch
 * and how it was found to measured_crossover_method ("hinge" | "balance") of each of its rows
 * (empty when none). fit has db_knee_fill_groups's signature (reports/crossover.h; method 1 is
 * "hinge", 2 "balance", as db_knee_method), passed in because this layer does not link reports/. 0,
 * or -1 with err. */
typedef int (*db_sweep_knee_fn)(size_t n, const char *const *keys, const double *batch,
                                const double *t, const int *ok, double *knee, int *method);
int db_sweep_fill_knees(db_csv_table *t, db_sweep_knee_fn fit, char *err, size_t errlen);

/* Reads the sweep CSV at path, checks its header, fills the measured crossover of every curve
 * (db_sweep_fill_knees) and rewrites the file atomically. On success the updated table is left in t
 * (the caller frees it). 0, or -1 with err naming the file. */
int db_sweep_csv_finalize(const char *path, db_sweep_knee_fn fit, db_csv_table *t, char *err,
                          size_t errlen);

/* Writes path through a temporary file in the same directory (".NAME.tmp.XXXXXX"), flushed, synced
 * and renamed over path only when write(f, ctx) returned 0 and every write succeeded; the temporary
 * file is removed otherwise. */
db_status db_write_atomic(const char *path, int (*write)(FILE *f, void *ctx), void *ctx,
                          db_error *err);

#endif
