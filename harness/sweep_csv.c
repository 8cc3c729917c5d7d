/* sweep_csv.c — a CSV file as a table of text cells, read and written with libcsv (sweep_csv.h). */
#include "sweep_csv.h"

#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct reader {
    db_csv_table *t;
    char **row; /* fields of the row being read */
    size_t n, cap;
    size_t line; /* line of the row being read (1-based) */
    int failed;
    int oom;
    char *err;
    size_t errlen;
    const char *path;
} reader;

static void on_field(void *s, size_t len, void *data) {
    reader *r = data;
    if (r->failed) return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        char **row = realloc(r->row, cap * sizeof *row);
        if (!row) {
            r->failed = r->oom = 1;
            return;
        }
        r->row = row;
        r->cap = cap;
    }
    char *f = malloc(len + 1);
    if (!f) {
        r->failed = r->oom = 1;
        return;
    }
    if (len) memcpy(f, s, len);
    f[len] = '\0';
    r->row[r->n++] = f;
}

static void drop_row(reader *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->row[i]);
    r->n = 0;
}

static void on_row(int c, void *data) {
    reader *r = data;
    (void)c;
    r->line++;
    if (r->failed) {
        drop_row(r);
        return;
    }
    db_csv_table *t = r->t;
    if (!t->header) { /* the header: the row's fields become the table's */
        t->header = r->row;
        t->ncols = r->n;
        r->row = NULL;
        r->n = r->cap = 0;
        return;
    }
    if (r->n != t->ncols) {
        snprintf(r->err, r->errlen, "%s: line %zu has %zu fields, the header has %zu", r->path,
                 r->line, r->n, t->ncols);
        r->failed = 1;
        drop_row(r);
        return;
    }
    if (db_csv_table_append(t, (const char *const *)r->row) != 0) r->failed = r->oom = 1;
    drop_row(r);
}

int db_csv_table_read(const char *path, db_csv_table *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
    reader r = {.t = t, .err = err, .errlen = errlen, .path = path};
    char buf[65536];
    size_t got;
    int bad = 0;
    while (!r.failed && !bad && (got = fread(buf, 1, sizeof buf, f)) > 0)
        bad = csv_parse(&p, buf, got, on_field, on_row, &r) != got;
    if (!bad && !r.failed && ferror(f)) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        r.failed = 1;
    }
    if (!bad && !r.failed) bad = csv_fini(&p, on_field, on_row, &r) != 0;
    if (bad && !r.failed)
        snprintf(err, errlen, "%s: line %zu: %s", path, r.line + 1, csv_strerror(csv_error(&p)));
    else if (r.oom)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (!bad && !r.failed && !t->header)
        snprintf(err, errlen, "%s: empty file (expected a header line)", path);
    int failed = bad || r.failed || !t->header;
    drop_row(&r);
    free(r.row);
    csv_free(&p);
    fclose(f);
    if (failed) db_csv_table_free(t);
    return failed ? -1 : 0;
}

int db_csv_table_col(const db_csv_table *t, const char *name) {
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->header[i], name)) return (int)i;
    return -1;
}

const char *db_csv_table_cell(const db_csv_table *t, size_t row, size_t col) {
    return t->cells[row * t->ncols + col];
}

int db_csv_table_set(db_csv_table *t, size_t row, size_t col, const char *value) {
    char *v = strdup(value);
    if (!v) return -1;
    free(t->cells[row * t->ncols + col]);
    t->cells[row * t->ncols + col] = v;
    return 0;
}

int db_csv_table_append(db_csv_table *t, const char *const *cells) {
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c) return -1;
        t->cells = c;
        t->cap = cap;
    }
    char **dst = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        dst[i] = strdup(cells[i]);
        if (!dst[i]) {
            while (i-- > 0)
                free(dst[i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

int db_csv_write_fields(FILE *f, const char *const *fields, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = fields[i];
        size_t len = strlen(s);
        int quote =
            strpbrk(s, ",\"\r\n") != NULL || (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));
        if (i > 0 && fputc(',', f) == EOF) bad = 1;
        if (quote ? csv_fwrite(f, s, len) != 0 : fputs(s, f) == EOF) bad = 1;
    }
    if (fputc('\n', f) == EOF) bad = 1;
    return bad ? -1 : 0;
}

int db_csv_table_write(FILE *f, const db_csv_table *t) {
    int bad = db_csv_write_fields(f, (const char *const *)t->header, t->ncols);
    for (size_t r = 0; r < t->nrows && !bad; r++)
        bad = db_csv_write_fields(f, (const char *const *)(t->cells + r * t->ncols), t->ncols);
    return bad ? -1 : 0;
}

void db_csv_table_free(db_csv_table *t) {
    for (size_t i = 0; t->header && i < t->ncols; i++)
        free(t->header[i]);
    for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->header);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

db_status db_write_atomic(const char *path, int (*write)(FILE *f, void *ctx), void *ctx,
                          db_error *err) {
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0, n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return db_error_set(err, DB_ERR_NOMEM, "cannot write '%s': out of memory", path);
    snprintf(tmp, n + 16, "%.*s.%s.tmp.XXXXXX", (int)dir_len, path, path + dir_len);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        db_status st = db_error_set(err, DB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "w");
    int ok = f != NULL && write(f, ctx) == 0;
    ok = ok && fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    int saved = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) {
        saved = errno;
        ok = 0;
    }
    db_status st = DB_OK;
    if (!ok) {
        unlink(tmp);
        st = db_error_set(err, DB_ERR_IO, "cannot write '%s': %s", path,
                          saved ? strerror(saved) : "write failed");
    }
    free(tmp);
    return st;
}
