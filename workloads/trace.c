#include "trace.h"

#include "parse.h"
#include "trace_build.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACE_LEN_MAX 2147483647LL

static const char *const format_names[] = {"auto",     "azure",    "burstgpt",
                                           "mooncake", "sharegpt", "native"};

const char *db_trace_format_name(db_trace_format f) {
    return (unsigned)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "unknown";
}

int db_trace_format_parse(const char *name, db_trace_format *out, char *err, size_t errlen) {
    for (size_t i = 0; name && i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (db_trace_format)i;
            return 0;
        }
    }
    return db_errf(
        err, errlen,
        "trace format '%s': expected auto, azure, burstgpt, mooncake, sharegpt or native",
        name ? name : "");
}

int db_trace_length_field(const char *path, size_t line, const char *column, const char *s,
                          int64_t *v, char *err, size_t errlen) {
    if (db_parse_int64(s, v) || *v < 0)
        return db_errf(err, errlen, "%s:%zu: column %s: expected a non-negative integer, got '%s'",
                       path, line, column, s);
    if (*v > TRACE_LEN_MAX)
        return db_errf(err, errlen, "%s:%zu: column %s: expected an integer at most %lld, got '%s'",
                       path, line, column, TRACE_LEN_MAX, s);
    return 0;
}

static int grow(db_trace_builder *b) {
    size_t cap = b->cap ? 2 * b->cap : 4096;
    db_trace *t = b->t;
    int32_t *p = realloc(t->prompt_tokens, cap * sizeof *p);
    if (!p) return -1;
    t->prompt_tokens = p;
    int32_t *o = realloc(t->output_tokens, cap * sizeof *o);
    if (!o) return -1;
    t->output_tokens = o;
    if (b->has_times) {
        int64_t *a = realloc(t->arrival_ns, cap * sizeof *a);
        if (!a) return -1;
        t->arrival_ns = a;
    }
    b->cap = cap;
    return 0;
}

int db_trace_push(db_trace_builder *b, size_t line, const char *time_column, int64_t t_ns,
                  int64_t prompt, int64_t output, char *err, size_t errlen) {
    db_trace *t = b->t;
    if (b->has_times) {
        if (b->prev_line && t_ns < b->prev_ns)
            return db_errf(err, errlen,
                           "%s:%zu: column %s: expected times that never go backwards, got one "
                           "earlier than line %zu's",
                           b->path, line, time_column, b->prev_line);
        b->prev_ns = t_ns;
        b->prev_line = line;
    }
    t->rows++;
    if (prompt == 0 || output == 0) {
        if (prompt == 0 && output == 0 && t->format == DB_TRACE_BURSTGPT)
            t->failed++;
        else
            t->zero_length++;
        return 0;
    }
    if (t->n == b->cap && grow(b))
        return db_errf(err, errlen, "%s:%zu: out of memory", b->path, line);
    if (b->has_times) {
        if (t->n == 0) b->first_ns = b->relative ? t_ns : 0;
        t->arrival_ns[t->n] = t_ns - b->first_ns;
    }
    t->prompt_tokens[t->n] = (int32_t)prompt;
    t->output_tokens[t->n] = (int32_t)output;
    t->n++;
    return 0;
}

void db_trace_free(db_trace *t) {
    if (!t) return;
    free(t->arrival_ns);
    free(t->prompt_tokens);
    free(t->output_tokens);
    memset(t, 0, sizeof *t);
}

/* The first byte that is not white space (after a UTF-8 byte-order mark), or EOF. */
static int first_byte(const char *path, int *c, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return db_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    unsigned char bom[3];
    size_t got = fread(bom, 1, 3, f);
    if (!(got == 3 && bom[0] == 0xEF && bom[1] == 0xBB && bom[2] == 0xBF)) rewind(f);
    int ch;
    while ((ch = fgetc(f)) != EOF && isspace(ch)) {
    }
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    if (bad) return db_errf(err, errlen, "%s: read error: %s", path, strerror(bad));
    *c = ch;
    return 0;
}

int db_trace_read(const char *path, db_trace_format format, db_trace *out, char *err,
                  size_t errlen) {
    memset(out, 0, sizeof *out);
    int c = EOF;
    if (first_byte(path, &c, err, errlen)) return -1;
    if (c == EOF)
        return db_errf(err, errlen,
                       "%s: empty file (expected a trace: a CSV with a header line, or JSON Lines)",
                       path);
    if (format == DB_TRACE_AUTO && c == '{') format = DB_TRACE_MOONCAKE;
    out->format = format;
    db_trace_builder b = {.t = out, .path = path};
    int rc = format == DB_TRACE_MOONCAKE ? db_trace_read_jsonl(path, &b, err, errlen)
                                         : db_trace_read_csv(path, format, &b, err, errlen);
    if (rc == 0 && out->n == 0) {
        if (out->rows == 0)
            rc = db_errf(err, errlen, "%s: no requests (expected data rows)", path);
        else
            rc =
                db_errf(err, errlen,
                        "%s: no usable requests: all %zu rows were skipped (%zu failed, %zu with a "
                        "zero length)",
                        path, out->rows, out->failed, out->zero_length);
    }
    if (rc) db_trace_free(out);
    return rc;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n): the value at rank ceil(q n). */
static int32_t nearest_rank(const int32_t *v, size_t n, double q) {
    size_t rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

static int length_stats(const int32_t *v, size_t n, double *mean, int32_t *p50, int32_t *p99,
                        int32_t *max) {
    int32_t *s = malloc(n * sizeof *s);
    if (!s) return -1;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_i32);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    *mean = sum / (double)n;
    *p50 = nearest_rank(s, n, 0.50);
    *p99 = nearest_rank(s, n, 0.99);
    *max = s[n - 1];
    free(s);
    return 0;
}

static void arrival_stats(const db_trace *t, db_trace_summary *s) {
    const int64_t *a = t->arrival_ns;
    s->duration_s = (double)(a[t->n - 1] - a[0]) * 1e-9;
    s->mean_rate = s->duration_s > 0 ? (double)t->n / s->duration_s : 0;
    if (t->n >= 2) {
        /* Exact integer sum of the gaps; the variance in two passes over the gaps. */
        double mean = (double)(a[t->n - 1] - a[0]) / (double)(t->n - 1);
        double ss = 0;
        for (size_t i = 1; i < t->n; i++) {
            double d = (double)(a[i] - a[i - 1]) - mean;
            ss += d * d;
        }
        s->interarrival_mean_s = mean * 1e-9;
        s->interarrival_cv = mean > 0 ? sqrt(ss / (double)(t->n - 1)) / mean : 0;
    }
    const int64_t sec = 1000000000LL;
    size_t run = 0;
    for (size_t i = 0, j = 0; i < t->n; i = j) {
        int64_t bucket = (a[i] - a[0]) / sec;
        for (j = i; j < t->n && (a[j] - a[0]) / sec == bucket; j++) {
        }
        run = j - i;
        if (run > s->peak_per_second) s->peak_per_second = run;
    }
}

int db_trace_summarize(const db_trace *t, db_trace_summary *s) {
    memset(s, 0, sizeof *s);
    s->n = t->n;
    if (t->n == 0) return 0;
    s->has_arrivals = t->arrival_ns != NULL;
    if (s->has_arrivals) arrival_stats(t, s);
    if (length_stats(t->prompt_tokens, t->n, &s->prompt_mean, &s->prompt_p50, &s->prompt_p99,
                     &s->prompt_max) ||
        length_stats(t->output_tokens, t->n, &s->output_mean, &s->output_p50, &s->output_p99,
                     &s->output_max))
        return -1;
    return 0;
}
