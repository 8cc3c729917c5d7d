/* csvread.h — streams a CSV file through libcsv one record at a time, with the line number each
 * record ends on, so trace readers and the empirical length source can name file:line in errors.
 * Must not: interpret fields (that is the caller's job), keep the whole file in memory, or accept
 * malformed quoting (strict mode) fields longer than DB_CSV_MAX_FIELD bytes, or
 * records of more than DB_CSV_MAX_FIELDS fields.
 */
#ifndef DB_CSVREAD_H
#define DB_CSVREAD_H

#include <stddef.h>

#define DB_CSV_MAX_FIELD 4096
#define DB_CSV_MAX_FIELDS 1024

/* Called once per non-blank record with its fields (NUL-terminated, surrounding spaces trimmed) and
 * the 1-based line the record ends on. Returns 0 to go on, 1 to stop early without error, -1 to
 * stop with an error already written to err. */
typedef int (*db_csv_row_fn)(void *ctx, size_t line, char **fields, size_t n_fields, char *err,
                             size_t errlen);

/* Reads path (a leading UTF-8 byte-order mark is skipped). Returns 0 when every record was handed
 * to fn (or fn asked to stop), -1 with err filled ("PATH: cannot open: ...", "PATH:LINE:
 * malformed CSV ...", or fn's message). *n_records (may be NULL) receives the number of records
 * handed to fn. */
int db_csv_read(const char *path, db_csv_row_fn fn, void *ctx, size_t *n_records, char *err,
                size_t errlen);

#endif
