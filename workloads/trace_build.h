/* trace_build.h — private to the trace readers (trace*.c): the row-by-row builder of a db_trace
 * that applies the common rules (zero lengths skipped and counted, times exact and non-decreasing,
 * relative to the first kept request) and the shared field messages.
 * Must not: be included outside workloads/trace*.c.
 */
#ifndef DB_TRACE_BUILD_H
#define DB_TRACE_BUILD_H

#include "trace.h"

#include <stddef.h>
#include <stdint.h>

typedef struct db_trace_builder {
    db_trace *t;
    const char *path;
    size_t cap;
    int has_times;
    int relative;     /* make times relative to the first kept request */
    int64_t first_ns; /* first kept request's time */
    int64_t prev_ns;  /* previous row's time (kept or not) */
    size_t prev_line; /* its line, 0 before the first row */
} db_trace_builder;

/* One data row. t_ns is ignored when the format has no times. Returns 0 or -1 (err filled). */
int db_trace_push(db_trace_builder *b, size_t line, const char *time_column, int64_t t_ns,
                  int64_t prompt, int64_t output, char *err, size_t errlen);

/* A length field: a non-negative integer at most 2147483647, else -1 with
 * "PATH:LINE: column NAME: expected a non-negative integer, got 'S'". */
int db_trace_length_field(const char *path, size_t line, const char *column, const char *s,
                          int64_t *v, char *err, size_t errlen);

int db_trace_read_csv(const char *path, db_trace_format format, db_trace_builder *b, char *err,
                      size_t errlen);
int db_trace_read_jsonl(const char *path, db_trace_builder *b, char *err, size_t errlen);

#endif
