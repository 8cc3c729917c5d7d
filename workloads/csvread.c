#include "csvread.h"

#include "parse.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const char *path;
    db_csv_row_fn fn;
    void *ctx;
    char *err;
    size_t errlen;
    size_t line;    /* 1-based line being fed */
    size_t records; /* records handed to fn */
    char *buf;      /* the current record's fields, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t *offsets; /* (n_fields) start of each field in buf */
    char **fields;   /* (n_fields) pointers into buf, built when the record ends */
    size_t n_fields, cap_fields;
    int status;   /* 0 going on, 1 stopped by fn, -1 error */
    int ended_nl; /* the last byte fed was a newline */
} reader;

static void on_field(void *data, size_t len, void *r_) {
    reader *r = r_;
    if (r->status) return;
    if (len > DB_CSV_MAX_FIELD) {
        r->status =
            db_errf(r->err, r->errlen, "%s:%zu: field %zu is %zu bytes long (expected at most %d)",
                    r->path, r->line, r->n_fields + 1, len, DB_CSV_MAX_FIELD);
        return;
    }
    if (r->n_fields == DB_CSV_MAX_FIELDS) {
        r->status = db_errf(r->err, r->errlen, "%s:%zu: more than %d fields in one record", r->path,
                            r->line, DB_CSV_MAX_FIELDS);
        return;
    }
    if (r->n_fields == r->cap_fields) {
        size_t cap = r->cap_fields ? 2 * r->cap_fields : 16;
        size_t *o = realloc(r->offsets, cap * sizeof *o);
        if (o) r->offsets = o;
        char **f = o ? realloc(r->fields, cap * sizeof *f) : NULL;
        if (f) r->fields = f;
        if (!o || !f) {
            r->status = db_errf(r->err, r->errlen, "%s:%zu: out of memory", r->path, r->line);
            return;
        }
        r->cap_fields = cap;
    }
    if (r->buf_len + len + 1 > r->buf_cap) {
        size_t cap = r->buf_cap ? r->buf_cap : 256;
        while (cap < r->buf_len + len + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b) {
            r->status = db_errf(r->err, r->errlen, "%s:%zu: out of memory", r->path, r->line);
            return;
        }
        r->buf = b;
        r->buf_cap = cap;
    }
    if (len) memcpy(r->buf + r->buf_len, data, len);
    r->offsets[r->n_fields++] = r->buf_len;
    r->buf_len += len;
    r->buf[r->buf_len++] = 0;
}

static void on_record(int c, void *r_) {
    reader *r = r_;
    (void)c;
    if (r->status) return;
    for (size_t i = 0; i < r->n_fields; i++)
        r->fields[i] = r->buf + r->offsets[i];
    r->records++;
    int rc = r->fn(r->ctx, r->line, r->fields, r->n_fields, r->err, r->errlen);
    if (rc) r->status = rc < 0 ? -1 : 1;
    r->n_fields = 0;
    r->buf_len = 0;
}

/* Feeds one chunk, line by line so that records know their line number. */
static int feed(reader *r, struct csv_parser *p, const char *chunk, size_t len) {
    while (len && !r->status) {
        const char *nl = memchr(chunk, '\n', len);
        size_t seg = nl ? (size_t)(nl - chunk) + 1 : len;
        if (csv_parse(p, chunk, seg, on_field, on_record, r) != seg && !r->status) {
            r->status = db_errf(r->err, r->errlen, "%s:%zu: malformed CSV (%s)", r->path, r->line,
                                csv_strerror(csv_error(p)));
            return -1;
        }
        if (nl) r->line++;
        r->ended_nl = nl != NULL;
        chunk += seg;
        len -= seg;
    }
    return r->status < 0 ? -1 : 0;
}

static int read_all(reader *r, struct csv_parser *p, FILE *f) {
    enum { CHUNK = 1 << 16 };
    char *chunk = malloc(CHUNK);
    if (!chunk) return db_errf(r->err, r->errlen, "%s: out of memory", r->path);
    int first = 1;
    size_t got;
    while (!r->status && (got = fread(chunk, 1, CHUNK, f)) > 0) {
        const char *c = chunk;
        if (first && got >= 3 && memcmp(c, "\xEF\xBB\xBF", 3) == 0) {
            c += 3;
            got -= 3;
        }
        first = 0;
        if (feed(r, p, c, got)) break;
    }
    free(chunk);
    if (r->status) return r->status < 0 ? -1 : 0;
    if (ferror(f))
        return db_errf(r->err, r->errlen, "%s: read error: %s", r->path, strerror(errno));
    if (csv_fini(p, on_field, on_record, r) != 0 && !r->status)
        return db_errf(r->err, r->errlen, "%s:%zu: malformed CSV at end of file (%s)", r->path,
                       r->line - (r->ended_nl && r->line > 1), csv_strerror(csv_error(p)));
    return r->status < 0 ? -1 : 0;
}

int db_csv_read(const char *path, db_csv_row_fn fn, void *ctx, size_t *n_records, char *err,
                size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return db_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        return db_errf(err, errlen, "%s: cannot start the CSV parser", path);
    }
    reader r = {.path = path, .fn = fn, .ctx = ctx, .err = err, .errlen = errlen, .line = 1};
    int rc = read_all(&r, &p, f);
    csv_free(&p);
    fclose(f);
    free(r.buf);
    free(r.offsets);
    free(r.fields);
    if (n_records) *n_records = r.records;
    return rc;
}
