/* gate_samples_csv.c — the long-format sweep CSV reader of gate_samples.h: libcsv in strict mode
 * reads every row, then the header names the key columns and the metric columns. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>

#include "gate_samples.h"

typedef struct csv_row {
    char **fields; /* (n) */
    size_t n, cap;
} csv_row;

typedef struct csv_table {
    csv_row *rows; /* (n) the header first */
    size_t n, cap;
    csv_row cur;
    int oom;
} csv_table;

static int push(void **arr, size_t *cap, size_t n, size_t size) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * size);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static void on_field(void *data, size_t len, void *t_) {
    csv_table *t = t_;
    if (t->oom) return;
    char *f = malloc(len + 1);
    if (!f || push((void **)&t->cur.fields, &t->cur.cap, t->cur.n, sizeof(char *))) {
        free(f);
        t->oom = 1;
        return;
    }
    if (len) memcpy(f, data, len);
    f[len] = '\0';
    t->cur.fields[t->cur.n++] = f;
}

static void on_row(int c, void *t_) {
    (void)c;
    csv_table *t = t_;
    if (t->oom) return;
    if (push((void **)&t->rows, &t->cap, t->n, sizeof *t->rows)) {
        t->oom = 1;
        return;
    }
    t->rows[t->n++] = t->cur;
    memset(&t->cur, 0, sizeof t->cur);
}

static void row_free(csv_row *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->fields[i]);
    free(r->fields);
}

static void table_free(csv_table *t) {
    for (size_t i = 0; i < t->n; i++)
        row_free(&t->rows[i]);
    row_free(&t->cur);
    free(t->rows);
}

static int read_table(const char *path, csv_table *t, char *msg, size_t len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    char buf[65536];
    size_t got;
    int bad = 0;
    while (!bad && (got = fread(buf, 1, sizeof buf, f)) > 0)
        bad = csv_parse(&p, buf, got, on_field, on_row, t) != got;
    if (!bad) bad = csv_fini(&p, on_field, on_row, t) != 0;
    if (bad) {
        snprintf(msg, len, "%s: malformed CSV after row %zu: %s", path, t->n,
                 csv_strerror(csv_error(&p)));
    } else if (ferror(f)) {
        snprintf(msg, len, "%s: read error", path);
        bad = 1;
    } else if (t->oom) {
        snprintf(msg, len, "%s: out of memory", path);
        bad = 1;
    }
    csv_free(&p);
    fclose(f);
    return bad ? -1 : 0;
}

/* A missing value: an empty cell, or null, NA or nan written in its place. */
static int is_missing(const char *s) {
    return !*s || !strcasecmp(s, "null") || !strcasecmp(s, "na") || !strcasecmp(s, "nan");
}

static int parse_number(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && !*end && !errno && isfinite(*v);
}

/* Column index of name in the header, or -1. */
static long column(const csv_row *h, const char *name) {
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->fields[i], name)) return (long)i;
    return -1;
}

/* Classifies the columns: role[c] = 1 key, 2 metric, 0 neither (some cell is not a number). */
static int classify(const char *path, const csv_table *t, const db_gate_load_opts *o, int *role,
                    char *msg, size_t len) {
    const csv_row *h = &t->rows[0];
    for (size_t i = 0; i < h->n; i++) {
        if (!*h->fields[i] || column(h, h->fields[i]) != (long)i) {
            snprintf(msg, len, "%s: header column %zu is %s", path, i + 1,
                     *h->fields[i] ? "a duplicate name" : "empty");
            return -1;
        }
        role[i] = 2;
    }
    for (size_t k = 0; k < o->n_keys; k++) {
        long c = column(h, o->key_columns[k]);
        if (c < 0) {
            snprintf(msg, len, "%s: --key column '%s' is not in the header", path,
                     o->key_columns[k]);
            return -1;
        }
        role[c] = 1;
    }
    for (size_t r = 1; r < t->n; r++) {
        if (t->rows[r].n != h->n) {
            snprintf(msg, len, "%s: row %zu has %zu fields, the header has %zu", path, r + 1,
                     t->rows[r].n, h->n);
            return -1;
        }
        double v;
        for (size_t c = 0; c < h->n; c++)
            if (role[c] == 2 && !is_missing(t->rows[r].fields[c]) &&
                !parse_number(t->rows[r].fields[c], &v))
                role[c] = 0;
    }
    return 0;
}

static int add_rows(db_gate_samples *s, const char *path, const csv_table *t,
                    const db_gate_load_opts *o, const int *role, char *msg, size_t len) {
    const csv_row *h = &t->rows[0];
    size_t added = 0;
    for (size_t r = 1; r < t->n; r++) {
        char key[1024] = "";
        size_t kl = 0;
        for (size_t k = 0; k < o->n_keys; k++) {
            long c = column(h, o->key_columns[k]);
            kl += (size_t)snprintf(key + kl, kl < sizeof key ? sizeof key - kl : 0, "%s%s=%s",
                                   k ? "," : "", o->key_columns[k], t->rows[r].fields[c]);
            if (kl >= sizeof key) {
                snprintf(msg, len, "%s: row %zu: the key is longer than %zu characters", path,
                         r + 1, sizeof key - 1);
                return -1;
            }
        }
        for (size_t c = 0; c < h->n; c++) {
            double v;
            if (role[c] != 2 || !parse_number(t->rows[r].fields[c], &v)) continue;
            if (db_gate_samples_add(s, key, h->fields[c], v)) {
                snprintf(msg, len, "%s: out of memory", path);
                return -1;
            }
            added++;
        }
    }
    if (added == 0) {
        snprintf(msg, len, "%s: no numeric metric columns besides the --key columns", path);
        return -1;
    }
    return 0;
}

int db_gate_samples_load_csv(db_gate_samples *s, const char *path, const db_gate_load_opts *o,
                             char *msg, size_t len) {
    if (!o || o->n_keys == 0) {
        snprintf(msg, len,
                 "%s: a CSV input needs --key naming its input columns (e.g. "
                 "--key batch,precision)",
                 path);
        return -1;
    }
    csv_table t = {0};
    int rc = read_table(path, &t, msg, len);
    if (rc == 0 && t.n < 2) {
        snprintf(msg, len, "%s: expected a header row and at least one data row", path);
        rc = -1;
    }
    int *role = rc == 0 ? calloc(t.rows[0].n, sizeof *role) : NULL;
    if (rc == 0 && !role) {
        snprintf(msg, len, "%s: out of memory", path);
        rc = -1;
    }
    if (rc == 0) rc = classify(path, &t, o, role, msg, len);
    if (rc == 0) rc = add_rows(s, path, &t, o, role, msg, len);
    if (rc == 0) s->n_sources++;
    free(role);
    table_free(&t);
    return rc;
}
