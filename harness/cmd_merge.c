/* cmd_merge.c — `decodebench merge OUT.csv IN.csv...`: combines sweep CSVs (e.g. the shards of one
 * sweep) into one. Every input must have the sweep CSV header of this version; a point (same input
 * columns) found twice is refused, naming both files; rows are ordered by their grid index (stable
 * in input order), and the measured crossover of every curve is refitted over the merged rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "crossover.h"
#include "sweep_csv.h"

#define CMD "merge"

static void print_help(FILE *f) {
    /* clang-format off */
    fprintf(f,
"Usage: decodebench merge [--overwrite] [--quiet] OUT.csv IN.csv [IN.csv...]\n"
"\n"
"Combines sweep CSVs (for example the --shard I/N files of one sweep) into OUT.csv. Every input\n"
"must have this version's sweep header. A point present in two inputs (or twice in one) is an\n"
"error naming both files: duplicates are refused, not deduplicated. Rows are ordered by their grid\n"
"index (`point`), inputs kept in the order given for equal indices, and measured_crossover_batch is\n"
"refitted over the merged rows of each curve. OUT may be one of the inputs; another existing OUT\n"
"needs --overwrite. Exit codes: 0 written, 1 the write failed, 2 usage error or bad input.\n");
    /* clang-format on */
}

typedef struct merged_row {
    size_t input; /* index of the file */
    size_t row;   /* row in that file */
    double point; /* grid index */
    char *key;
} merged_row;

static int cmp_point(const void *a, const void *b) {
    const merged_row *x = a, *y = b;
    if (x->point != y->point) return x->point < y->point ? -1 : 1;
    if (x->input != y->input) return x->input < y->input ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int cmp_key(const void *a, const void *b) {
    return strcmp(((const merged_row *)a)->key, ((const merged_row *)b)->key);
}

/* Key as "name=value, ..." for messages. */
static void describe_point(const db_csv_table *t, size_t row, char *buf, size_t len) {
    static const char *const cols[] = {"precision", "kv_dtype", "batch", "context",
                                       "backend",   "device",   "model"};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof cols / sizeof cols[0] && used < len; i++) {
        int c = db_csv_table_col(t, cols[i]);
        int w = snprintf(buf + used, len - used, "%s%s=%s", i ? ", " : "", cols[i],
                         c >= 0 ? db_csv_table_cell(t, row, (size_t)c) : "?");
        used += w > 0 ? (size_t)w : 0;
    }
}

static int write_table(FILE *f, void *t) {
    return db_csv_table_write(f, t);
}

/* Reads every input, checks headers and duplicates, and builds the merged table. 0 or exit code. */
static int merge_inputs(char **in, size_t n_in, db_csv_table *tabs, db_csv_table *out) {
    char err[512];
    size_t total = 0;
    for (size_t i = 0; i < n_in; i++) {
        int rc = db_csv_table_read(in[i], &tabs[i], err, sizeof err);
        if (rc > 0) snprintf(err, sizeof err, "cannot read '%s': no such file", in[i]);
        if (rc || db_sweep_check_header(&tabs[i], in[i], err, sizeof err))
            return db_cli_usage_error(CMD, "%s", err);
        total += tabs[i].nrows;
    }
    merged_row *rows = calloc(total ? total : 1, sizeof *rows);
    int status = rows ? 0 : DB_EXIT_FAIL;
    size_t m = 0;
    for (size_t i = 0; status == 0 && i < n_in; i++)
        for (size_t r = 0; r < tabs[i].nrows && status == 0; r++) {
            int pc = db_csv_table_col(&tabs[i], "point");
            rows[m] = (merged_row){i, r, atof(db_csv_table_cell(&tabs[i], r, (size_t)pc)),
                                   db_sweep_table_key(&tabs[i], r, 0)};
            if (!rows[m++].key) status = DB_EXIT_FAIL;
        }
    if (status == 0) qsort(rows, m, sizeof *rows, cmp_key);
    for (size_t k = 1; status == 0 && k < m; k++)
        if (!strcmp(rows[k - 1].key, rows[k].key)) {
            const merged_row *a = &rows[k - 1], *b = &rows[k];
            if (cmp_point(a, b) > 0) a = &rows[k], b = &rows[k - 1];
            describe_point(&tabs[a->input], a->row, err, sizeof err);
            status =
                db_cli_usage_error(CMD,
                                   "the point (%s) is in '%s' (row %zu) and in '%s' (row %zu): "
                                   "duplicate points are refused",
                                   err, in[a->input], a->row + 1, in[b->input], b->row + 1);
        }
    if (status == 0) qsort(rows, m, sizeof *rows, cmp_point);
    out->ncols = db_sweep_column_count();
    out->header = calloc(out->ncols, sizeof *out->header);
    for (size_t c = 0; status == 0 && c < out->ncols; c++)
        if (!out->header || !(out->header[c] = strdup(db_sweep_column(c)))) status = DB_EXIT_FAIL;
    for (size_t k = 0; status == 0 && k < m; k++) {
        const db_csv_table *t = &tabs[rows[k].input];
        if (db_csv_table_append(out, (const char *const *)(t->cells + rows[k].row * t->ncols)))
            status = DB_EXIT_FAIL;
    }
    if (status == DB_EXIT_FAIL) fprintf(stderr, "decodebench %s: out of memory\n", CMD);
    for (size_t k = 0; rows && k < m; k++)
        free(rows[k].key);
    free(rows);
    return status;
}

int db_cmd_merge(int argc, char **argv) {
    int overwrite = 0, quiet = 0, first = 1;
    for (; first < argc && !strncmp(argv[first], "--", 2); first++) {
        if (!strcmp(argv[first], "--help") || !strcmp(argv[first], "-h")) {
            print_help(stdout);
            return DB_EXIT_OK;
        } else if (!strcmp(argv[first], "--overwrite")) {
            overwrite = 1;
        } else if (!strcmp(argv[first], "--quiet")) {
            quiet = 1;
        } else {
            return db_cli_usage_error(CMD, "unknown flag '%s'", argv[first]);
        }
    }
    if (argc - first < 2)
        return db_cli_usage_error(CMD, "expected OUT.csv and at least one IN.csv");
    const char *out_path = argv[first];
    char **in = argv + first + 1;
    size_t n_in = (size_t)(argc - first - 1);
    int out_is_input = 0;
    for (size_t i = 0; i < n_in; i++)
        out_is_input |= !strcmp(in[i], out_path);
    if (!overwrite && !out_is_input && access(out_path, F_OK) == 0)
        return db_cli_usage_error(CMD, "%s exists: pass --overwrite to replace it", out_path);
    db_csv_table *tabs = calloc(n_in, sizeof *tabs), out = {0};
    if (!tabs) return DB_EXIT_FAIL;
    int rc = merge_inputs(in, n_in, tabs, &out);
    char err[512];
    db_error e = {0};
    if (rc == 0 && db_sweep_fill_knees(&out, db_knee_fill_groups, err, sizeof err) != 0) {
        fprintf(stderr, "decodebench %s: %s\n", CMD, err);
        rc = DB_EXIT_FAIL;
    }
    if (rc == 0 && db_write_atomic(out_path, write_table, &out, &e) != DB_OK) {
        fprintf(stderr, "decodebench %s: %s\n", CMD, e.msg);
        rc = DB_EXIT_FAIL;
    }
    if (rc == 0 && !quiet)
        printf("merged %zu rows from %zu files into %s\n", out.nrows, n_in, out_path);
    for (size_t i = 0; i < n_in; i++)
        db_csv_table_free(&tabs[i]);
    free(tabs);
    db_csv_table_free(&out);
    return rc;
}
