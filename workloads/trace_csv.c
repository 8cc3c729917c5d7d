/* The CSV trace formats (azure, burstgpt, sharegpt, native), read through csvread.h. */
#include "csvread.h"
#include "parse.h"
#include "trace_build.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef enum { TIME_NONE, TIME_CALENDAR, TIME_SECONDS } time_kind;

typedef struct csv_layout {
    db_trace_format format;
    time_kind time;
    const char *label;    /* for messages */
    const char *time_col; /* NULL when the format has no times */
    const char *prompt_col;
    const char *output_col;
    const char *time_expect; /* what a time field must look like */
} csv_layout;

static const csv_layout layouts[] = {
    {.format = DB_TRACE_AZURE,
     .label = "Azure",
     .time_col = "TIMESTAMP",
     .prompt_col = "ContextTokens",
     .output_col = "GeneratedTokens",
     .time = TIME_CALENDAR,
     .time_expect = "a time like 2023-11-16 18:15:46.6805900 or 2024-05-10 00:00:00.009930+00:00"},
    {.format = DB_TRACE_BURSTGPT,
     .label = "BurstGPT",
     .time_col = "Timestamp",
     .prompt_col = "Request tokens",
     .output_col = "Response tokens",
     .time = TIME_SECONDS,
     .time_expect = "non-negative seconds"},
    {.format = DB_TRACE_SHAREGPT,
     .label = "ShareGPT stats",
     .time_col = NULL,
     .prompt_col = "num_prefill_tokens",
     .output_col = "num_decode_tokens",
     .time = TIME_NONE},
    {.format = DB_TRACE_NATIVE,
     .label = "native",
     .time_col = "arrival_s",
     .prompt_col = "prompt_tokens",
     .output_col = "output_tokens",
     .time = TIME_SECONDS,
     .time_expect = "non-negative seconds"},
};
#define N_LAYOUTS (sizeof layouts / sizeof layouts[0])

typedef struct csv_ctx {
    db_trace_builder *b;
    db_trace_format forced;   /* DB_TRACE_AUTO or the format asked for */
    const csv_layout *layout; /* NULL until the header is read */
    size_t n_header;
    int time_idx, prompt_idx, output_idx; /* columns in the header (time: -1 when none) */
} csv_ctx;

static int find(char **f, size_t n, const char *name) {
    for (size_t i = 0; name && i < n; i++)
        if (strcasecmp(f[i], name) == 0) return (int)i;
    return -1;
}

static int matches(csv_ctx *c, const csv_layout *l, char **f, size_t n) {
    int t = l->time_col ? find(f, n, l->time_col) : -1;
    int p = find(f, n, l->prompt_col), o = find(f, n, l->output_col);
    if (p < 0 || o < 0 || (l->time_col && t < 0)) return 0;
    c->layout = l;
    c->time_idx = t;
    c->prompt_idx = p;
    c->output_idx = o;
    c->n_header = n;
    return 1;
}

/* The header as "a,b,c" (shortened) for messages. */
static void join(char *dst, size_t cap, char **f, size_t n) {
    size_t len = 0;
    dst[0] = 0;
    for (size_t i = 0; i < n && len + 1 < cap; i++)
        len += (size_t)snprintf(dst + len, cap - len, "%s%s", i ? "," : "", f[i]);
}

static int on_header(csv_ctx *c, size_t line, char **f, size_t n, char *err, size_t errlen) {
    char got[160];
    for (size_t i = 0; i < N_LAYOUTS; i++) {
        const csv_layout *l = &layouts[i];
        if (c->forced != DB_TRACE_AUTO && c->forced != l->format) continue;
        if (matches(c, l, f, n)) {
            c->b->t->format = l->format;
            c->b->has_times = l->time != TIME_NONE;
            c->b->relative = l->format != DB_TRACE_NATIVE;
            return 0;
        }
        if (c->forced != DB_TRACE_AUTO) {
            join(got, sizeof got, f, n);
            if (l->time_col)
                return db_errf(
                    err, errlen, "%s:%zu: expected the %s header (columns %s, %s, %s), got '%s'",
                    c->b->path, line, l->label, l->time_col, l->prompt_col, l->output_col, got);
            return db_errf(err, errlen, "%s:%zu: expected the %s header (columns %s, %s), got '%s'",
                           c->b->path, line, l->label, l->prompt_col, l->output_col, got);
        }
    }
    join(got, sizeof got, f, n);
    return db_errf(err, errlen,
                   "%s:%zu: unrecognised trace header '%s' (expected Azure "
                   "TIMESTAMP,ContextTokens,GeneratedTokens; BurstGPT Timestamp,...,Request "
                   "tokens,Response tokens; ShareGPT num_prefill_tokens,num_decode_tokens; native "
                   "arrival_s,prompt_tokens,output_tokens; or Mooncake JSON Lines)",
                   c->b->path, line, got);
}

static int on_row(void *ctx, size_t line, char **f, size_t n, char *err, size_t errlen) {
    csv_ctx *c = ctx;
    if (!c->layout) return on_header(c, line, f, n, err, errlen);
    const csv_layout *l = c->layout;
    const char *path = c->b->path;
    if (n != c->n_header)
        return db_errf(err, errlen, "%s:%zu: expected %zu fields (as in the header), got %zu", path,
                       line, c->n_header, n);
    int64_t t_ns = 0, prompt, output;
    if (l->time != TIME_NONE) {
        const char *s = f[c->time_idx];
        int bad = l->time == TIME_CALENDAR ? db_parse_timestamp_ns(s, &t_ns)
                                           : db_parse_seconds_ns(s, &t_ns);
        if (bad)
            return db_errf(err, errlen, "%s:%zu: column %s: expected %s, got '%s'", path, line,
                           l->time_col, l->time_expect, s);
    }
    if (db_trace_length_field(path, line, l->prompt_col, f[c->prompt_idx], &prompt, err, errlen) ||
        db_trace_length_field(path, line, l->output_col, f[c->output_idx], &output, err, errlen))
        return -1;
    return db_trace_push(c->b, line, l->time_col, t_ns, prompt, output, err, errlen);
}

int db_trace_read_csv(const char *path, db_trace_format format, db_trace_builder *b, char *err,
                      size_t errlen) {
    csv_ctx c = {.b = b, .forced = format};
    size_t records = 0;
    if (db_csv_read(path, on_row, &c, &records, err, errlen)) return -1;
    if (!c.layout) return db_errf(err, errlen, "%s: empty file (expected a header line)", path);
    return 0;
}
