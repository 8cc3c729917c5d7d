/* timeline_kernels.c — kernels.csv, written row by row and read back (timeline_kernels.h). */
#include "timeline_kernels.h"

#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"

enum {
    C_STEP,
    C_OP,
    C_NAME,
    C_DEMANGLED,
    C_START,
    C_END,
    C_DUR,
    C_GX,
    C_GY,
    C_GZ,
    C_BX,
    C_BY,
    C_BZ,
    C_REGS,
    C_SSHARED,
    C_DSHARED,
    C_STREAM,
    C_GRAPH,
    C_NODE,
    C_CORR,
    C_MANGLED,
    N_COLS
};

static const char *const columns[N_COLS] = {"step",
                                            "op",
                                            "name",
                                            "demangled",
                                            "start_s",
                                            "end_s",
                                            "duration_us",
                                            "grid_x",
                                            "grid_y",
                                            "grid_z",
                                            "block_x",
                                            "block_y",
                                            "block_z",
                                            "registers_per_thread",
                                            "static_shared_bytes",
                                            "dynamic_shared_bytes",
                                            "stream",
                                            "graph_id",
                                            "graph_node_id",
                                            "correlation_id",
                                            "mangled_name"};

struct db_kernels_csv {
    db_atomic_file af;
    size_t rows;
    bool bad;
};

/* One text field, quoted by libcsv when it holds a comma, quote or newline. */
static void put_text(db_kernels_csv *w, const char *s, bool last) {
    s = s ? s : "";
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote ? csv_fwrite(w->af.f, s, strlen(s)) != 0 : fputs(s, w->af.f) == EOF) w->bad = true;
    if (fputc(last ? '\n' : ',', w->af.f) == EOF) w->bad = true;
}

/* ns as seconds with 9 decimals. */
static void put_s(FILE *f, int64_t ns) {
    if (ns < 0) {
        fputc('-', f);
        ns = -ns;
    }
    fprintf(f, "%" PRId64 ".%09" PRId64 ",", ns / 1000000000, ns % 1000000000);
}

int db_kernels_csv_open(const char *path, db_kernels_csv **out, char *err, size_t errlen) {
    *out = NULL;
    db_kernels_csv *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "cannot write '%s': out of memory", path);
        return -1;
    }
    if (db_atomic_open(&w->af, path, err, errlen)) {
        free(w);
        return -1;
    }
    for (int c = 0; c < N_COLS; c++)
        fprintf(w->af.f, "%s%c", columns[c], c + 1 < N_COLS ? ',' : '\n');
    *out = w;
    return 0;
}

int db_kernels_csv_add(db_kernels_csv *w, const db_kernel_row *r) {
    if (w->bad) return -1;
    FILE *f = w->af.f;
    fprintf(f, "%" PRId64 ",", r->step);
    put_text(w, r->op, false);
    put_text(w, r->name, false);
    fprintf(f, "%d,", r->demangled ? 1 : 0);
    put_s(f, r->start_ns);
    put_s(f, r->end_ns);
    int64_t d = r->end_ns - r->start_ns;
    fprintf(f, "%s%" PRId64 ".%03" PRId64 ",", d < 0 ? "-" : "", (d < 0 ? -d : d) / 1000,
            (d < 0 ? -d : d) % 1000);
    fprintf(f, "%d,%d,%d,%d,%d,%d,%d,%d,%d,%u,%u,%" PRIu64 ",%u,", r->grid[0], r->grid[1],
            r->grid[2], r->block[0], r->block[1], r->block[2], r->registers_per_thread,
            r->static_shared_bytes, r->dynamic_shared_bytes, r->stream, r->graph_id,
            r->graph_node_id, r->correlation_id);
    put_text(w, r->mangled_name, true);
    if (ferror(f)) w->bad = true;
    if (!w->bad) w->rows++;
    return w->bad ? -1 : 0;
}

size_t db_kernels_csv_rows(const db_kernels_csv *w) {
    return w->rows;
}

int db_kernels_csv_commit(db_kernels_csv *w, char *err, size_t errlen) {
    int rc = db_atomic_commit(&w->af, err, errlen);
    free(w);
    return rc;
}

void db_kernels_csv_abort(db_kernels_csv *w) {
    if (!w) return;
    db_atomic_abort(&w->af);
    free(w);
}

/* ---- reading ----------------------------------------------------------------------------------
 */

typedef struct reader {
    const char *path;
    db_kernel_row_fn fn;
    void *ctx;
    char *err;
    size_t errlen;
    size_t line;         /* line of the record being read (1 = header) */
    int col_of[N_COLS];  /* record field index of each column, -1 until the header is read */
    char *field[N_COLS]; /* this record's values (copies), by column */
    size_t n_fields;     /* fields seen in this record */
    int status;          /* 0 going on, -1 error */
} reader;

static int fail(reader *r, const char *fmt, const char *a, const char *b) {
    char msg[256];
    snprintf(msg, sizeof msg, fmt, a, b);
    snprintf(r->err, r->errlen, "%s:%zu: %s", r->path, r->line, msg);
    r->status = -1;
    return -1;
}

static void on_field(void *data, size_t len, void *r_) {
    reader *r = r_;
    if (r->status) return;
    size_t i = r->n_fields++;
    if (r->line == 1) {
        for (int c = 0; c < N_COLS; c++)
            if (strlen(columns[c]) == len && !memcmp(columns[c], data, len)) r->col_of[c] = (int)i;
        return;
    }
    for (int c = 0; c < N_COLS; c++) {
        if (r->col_of[c] != (int)i) continue;
        r->field[c] = malloc(len + 1);
        if (!r->field[c]) {
            fail(r, "out of memory%s%s", "", "");
            return;
        }
        memcpy(r->field[c], data, len);
        r->field[c][len] = '\0';
    }
}

static int to_i64(reader *r, int c, int64_t *v) {
    const char *s = r->field[c];
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return fail(r, "column '%s': expected an integer, got '%s'", columns[c], s);
    *v = x;
    return 0;
}

static int to_ns(reader *r, int c, int64_t *v) {
    const char *s = r->field[c];
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (!*s || *end || errno || x != x)
        return fail(r, "column '%s': expected seconds, got '%s'", columns[c], s);
    *v = (int64_t)(x * 1e9 + (x < 0 ? -0.5 : 0.5));
    return 0;
}

/* The record's fields into a row; 0 or -1 (err filled). */
static int fill_row(reader *r, db_kernel_row *row) {
    int64_t v[N_COLS] = {0};
    static const int ints[] = {C_STEP,    C_DEMANGLED, C_GX,    C_GY,   C_GZ,
                               C_BX,      C_BY,        C_BZ,    C_REGS, C_SSHARED,
                               C_DSHARED, C_STREAM,    C_GRAPH, C_NODE, C_CORR};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (to_i64(r, ints[i], &v[ints[i]])) return -1;
    if (to_ns(r, C_START, &row->start_ns) || to_ns(r, C_END, &row->end_ns)) return -1;
    if (row->end_ns < row->start_ns)
        return fail(r, "end_s %s is before start_s %s", r->field[C_END], r->field[C_START]);
    row->step = v[C_STEP];
    row->op = r->field[C_OP];
    row->name = r->field[C_NAME];
    row->demangled = v[C_DEMANGLED] != 0;
    for (int k = 0; k < 3; k++) {
        row->grid[k] = (int32_t)v[C_GX + k];
        row->block[k] = (int32_t)v[C_BX + k];
    }
    row->registers_per_thread = (int32_t)v[C_REGS];
    row->static_shared_bytes = (int32_t)v[C_SSHARED];
    row->dynamic_shared_bytes = (int32_t)v[C_DSHARED];
    row->stream = (uint32_t)v[C_STREAM];
    row->graph_id = (uint32_t)v[C_GRAPH];
    row->graph_node_id = (uint64_t)v[C_NODE];
    row->correlation_id = (uint32_t)v[C_CORR];
    row->mangled_name = r->field[C_MANGLED];
    return 0;
}

static void on_record(int c, void *r_) {
    reader *r = r_;
    (void)c;
    if (r->status == 0 && r->line == 1) {
        for (int k = 0; k < N_COLS; k++)
            if (r->col_of[k] < 0 && k != C_DUR) {
                fail(r, "the header has no column '%s'%s", columns[k], "");
                break;
            }
    } else if (r->status == 0) {
        for (int k = 0; k < N_COLS && r->status == 0; k++)
            if (k != C_DUR && !r->field[k]) fail(r, "no value for column '%s'%s", columns[k], "");
        db_kernel_row row;
        if (r->status == 0 && fill_row(r, &row) == 0 && r->fn(r->ctx, &row)) {
            snprintf(r->err, r->errlen, "%s:%zu: stopped at this line", r->path, r->line);
            r->status = -1;
        }
    }
    for (int k = 0; k < N_COLS; k++) {
        free(r->field[k]);
        r->field[k] = NULL;
    }
    r->n_fields = 0;
    r->line++;
}

int db_kernels_csv_read(const char *path, db_kernel_row_fn fn, void *ctx, char *err,
                        size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct csv_parser p;
    reader r = {.path = path, .fn = fn, .ctx = ctx, .err = err, .errlen = errlen, .line = 1};
    for (int c = 0; c < N_COLS; c++)
        r.col_of[c] = -1;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        snprintf(err, errlen, "%s: cannot start the CSV parser", path);
        return -1;
    }
    char buf[1 << 14];
    size_t got;
    while (r.status == 0 && (got = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&p, buf, got, on_field, on_record, &r) != got && r.status == 0)
            fail(&r, "malformed CSV (%s)%s", csv_strerror(csv_error(&p)), "");
    if (r.status == 0 && ferror(f)) fail(&r, "read error: %s%s", strerror(errno), "");
    if (r.status == 0 && csv_fini(&p, on_field, on_record, &r) != 0 && r.status == 0)
        fail(&r, "malformed CSV at the end (%s)%s", csv_strerror(csv_error(&p)), "");
    if (r.status == 0 && r.line == 1) fail(&r, "empty file: no header%s%s", "", "");
    csv_free(&p);
    fclose(f);
    for (int k = 0; k < N_COLS; k++)
        free(r.field[k]);
    return r.status;
}
