/* trace.h — reads request traces (arrival times and prompt/output lengths) from the formats people
 * publish, and summarises them (duration, rate, burstiness, length statistics).
 * Formats (detected from the header, or forced):
 *   azure     Azure LLM inference traces 2023 and 2024: TIMESTAMP,ContextTokens,GeneratedTokens
 *             with TIMESTAMP "YYYY-MM-DD HH:MM:SS.fffffff" (2023) or "... .ffffff+00:00" (2024)
 *   burstgpt  BurstGPT: Timestamp (seconds), Request tokens, Response tokens (both published
 *             layouts; other columns ignored); rows with 0 request and 0 response tokens are
 *             failed requests
 *   mooncake  Mooncake JSON Lines: {"timestamp": ms, "input_length": n, "output_length": n,
 *             "hash_ids": [...]} (hash_ids ignored)
 *   sharegpt  ShareGPT length stats: num_prefill_tokens,num_decode_tokens (no arrival times)
 *   native    decodebench's own CSV: arrival_s,prompt_tokens,output_tokens (what db_schedule_dump
 *             writes); arrival_s is seconds after the run starts and is kept as written
 * Times are exact: parsed to integer nanoseconds, then made relative to the first kept request (all
 * formats but native). Rows with a zero prompt or output length are skipped and counted; negative
 * or non-integer values, unparsable times and times that go backwards are errors naming file:line.
 * Must not: know arrivals' generation, the engine or the harness; print.
 */
#ifndef DB_TRACE_H
#define DB_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef enum db_trace_format {
    DB_TRACE_AUTO = 0,
    DB_TRACE_AZURE,
    DB_TRACE_BURSTGPT,
    DB_TRACE_MOONCAKE,
    DB_TRACE_SHAREGPT,
    DB_TRACE_NATIVE,
} db_trace_format;

typedef struct db_trace {
    size_t n;               /* requests kept */
    int64_t *arrival_ns;    /* (n) ns after the first kept request (native: after the run start);
                               NULL when the format has no arrival times (sharegpt) */
    int32_t *prompt_tokens; /* (n) >= 1 */
    int32_t *output_tokens; /* (n) >= 1 */
    db_trace_format format; /* as detected or forced */
    size_t rows;            /* data rows read: kept + failed + zero_length */
    size_t failed;          /* BurstGPT rows with 0 request and 0 response tokens (skipped) */
    size_t zero_length;     /* other rows with a zero prompt or output length (skipped) */
} db_trace;

/* Reads path as `format` (DB_TRACE_AUTO: detect from the first line). Returns 0, or -1 with err
 * filled ("PATH:LINE: column NAME: expected ..., got '...'"). An empty file, a file with no data
 * rows, or one whose rows were all skipped is an error. *out is zeroed on error. */
int db_trace_read(const char *path, db_trace_format format, db_trace *out, char *err,
                  size_t errlen);

void db_trace_free(db_trace *t);

/* "auto", "azure", "burstgpt", "mooncake", "sharegpt", "native". */
const char *db_trace_format_name(db_trace_format f);

/* The inverse of db_trace_format_name. Returns 0, or -1 with err filled (names the accepted
 * values). */
int db_trace_format_parse(const char *name, db_trace_format *out, char *err, size_t errlen);

typedef struct db_trace_summary {
    size_t n;
    int has_arrivals;
    double duration_s;          /* last arrival - first arrival */
    double mean_rate;           /* n / duration_s (0 when duration is 0 or no arrivals) */
    double interarrival_mean_s; /* over the n - 1 gaps */
    double interarrival_cv;     /* population sd / mean of the n - 1 gaps */
    size_t peak_per_second;     /* most arrivals in one 1-s bucket [k, k+1) s after the first */
    double prompt_mean, output_mean;
    int32_t prompt_p50, prompt_p99, prompt_max; /* nearest-rank percentiles */
    int32_t output_p50, output_p99, output_max;
} db_trace_summary;

/* Fills s from t. Returns 0, or -1 if memory for the percentiles cannot be had. */
int db_trace_summarize(const db_trace *t, db_trace_summary *s);

#endif
