/* sweep_csv_rows.c — the sweep CSV's columns, row formatting, point keys and the knee pass
 * (sweep_csv.h). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_csv.h"

static const char *const columns[] = {
    "point", "mode", "backend", "device", "model", "precision", "kv_dtype", "batch", "context",
    "warmup_steps", "steps", "threads", "seed",
    /* ceilings in use */
    "ceilings_source", "ceilings_device", "bandwidth_GBps", "peak_tflops", "ridge_flop_per_byte",
    /* outcome */
    "status", "error",
    /* measurements */
    "step_ms", "step_ms_min", "step_ms_max", "tokens_per_s", "flops", "bytes", "weight_bytes",
    "kv_read_bytes", "kv_write_bytes", "act_bytes", "arithmetic_intensity", "achieved_tflops",
    "achieved_GBps", "mfu", "mbu", "bound", "model_step_ms",
    /* crossovers */
    "predicted_crossover_batch", "measured_crossover_batch", "measured_crossover_method",
    "ai_ridge_batch", "ridge_crossover_batch",
    /* per op class */
    "flops_qkv", "bytes_qkv", "flops_attention", "bytes_attention", "flops_out_proj",
    "bytes_out_proj", "flops_mlp", "bytes_mlp", "flops_norm", "bytes_norm", "flops_lm_head",
    "bytes_lm_head",
    /* serve and search: the load and the workload */
    "rate", "concurrency", "requests", "issue_s", "prompt_len", "output_len", "slo",
    /* serve and search: the run's results */
    "completed", "failed_requests", "duration_s", "request_throughput", "output_throughput",
    "output_tokens_per_s_per_user", "request_goodput", "output_token_goodput", "slo_attainment",
    "mean_ttft_ms", "p50_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "p50_tpot_ms", "p99_tpot_ms",
    "p50_e2el_ms", "p99_e2el_ms", "mean_batch"};
enum { N_COLUMNS = sizeof columns / sizeof columns[0] };

/* The point key: every input column but `point` (and batch for a curve). Serve columns are empty
 * in step rows and the step columns empty in serve rows, so one list serves both. */
static const char *const key_columns[] = {
    "mode",     "backend",      "device",     "model",      "precision", "kv_dtype", "batch",
    "context",  "warmup_steps", "steps",      "threads",    "seed",      "rate",     "concurrency",
    "requests", "issue_s",      "prompt_len", "output_len", "slo"};
enum { N_KEY = sizeof key_columns / sizeof key_columns[0] };

size_t db_sweep_column_count(void) {
    return N_COLUMNS;
}

const char *db_sweep_column(size_t i) {
    return i < N_COLUMNS ? columns[i] : NULL;
}

int db_sweep_check_header(const db_csv_table *t, const char *path, char *err, size_t errlen) {
    for (size_t i = 0; i < N_COLUMNS || i < t->ncols; i++) {
        const char *want = i < N_COLUMNS ? columns[i] : "(nothing)";
        const char *got = i < t->ncols ? t->header[i] : "(nothing)";
        if (strcmp(want, got) != 0) {
            snprintf(err, errlen,
                     "%s: not a sweep CSV of this version: column %zu is '%s', expected '%s'", path,
                     i + 1, got, want);
            return -1;
        }
    }
    return 0;
}

/* %.10g, or empty for NAN / infinity (an undefined value). */
static void num(char *cell, double v) {
    if (isfinite(v))
        snprintf(cell, DB_SWEEP_CELL, "%.10g", v);
    else
        cell[0] = '\0';
}

static int serve_cells(const db_sweep_row *r, char (*c)[DB_SWEEP_CELL], int i);

static void measurements(const db_sweep_row *r, char (*c)[DB_SWEEP_CELL], int i) {
    const db_cost *k = &r->cost;
    double undefined = NAN;
    int serve = strcmp(r->mode, "step") != 0;
    int ok = r->ok && !serve; /* per-step costs: step rows only */
    num(c[i++], r->step_s * 1e3);
    num(c[i++], r->step_s_min * 1e3);
    num(c[i++], r->step_s_max * 1e3);
    num(c[i++], r->tokens_per_s);
    num(c[i++], ok ? k->total_flops : undefined);
    num(c[i++], ok ? k->total_bytes : undefined);
    num(c[i++], ok ? k->weight_bytes : undefined);
    num(c[i++], ok ? k->kv_read_bytes : undefined);
    num(c[i++], ok ? k->kv_write_bytes : undefined);
    num(c[i++], ok ? k->act_bytes : undefined);
    num(c[i++], r->arithmetic_intensity);
    num(c[i++], r->achieved_flops / 1e12);
    num(c[i++], r->achieved_bytes_per_s / 1e9);
    num(c[i++], r->mfu);
    num(c[i++], r->mbu);
    snprintf(c[i++], DB_SWEEP_CELL, "%s",
             !ok || !(r->ridge > 0)               ? ""
             : r->arithmetic_intensity < r->ridge ? "memory"
                                                  : "compute");
    num(c[i++], r->model_step_s * 1e3);
    num(c[i++], r->pred.crossover_batch);
    num(c[i++], r->measured_crossover);
    c[i++][0] = '\0'; /* measured_crossover_method: filled with the knee */
    num(c[i++], r->pred.ai_ridge_batch);
    num(c[i++], r->pred.ridge_batch);
    for (int op = 0; op < DB_OP_COUNT; op++) {
        num(c[i++], ok ? k->flops[op] : undefined);
        num(c[i++], ok ? k->bytes[op] : undefined);
    }
    serve_cells(r, c, i);
}

/* The load, workload and run results of a serve or search row; empty for step rows. */
static int serve_cells(const db_sweep_row *r, char (*c)[DB_SWEEP_CELL], int i) {
    int serve = strcmp(r->mode, "step") != 0, ok = serve && r->ok;
    const db_serve_point_result *s = &r->serve;
    double u = NAN;
    num(c[i++], serve && r->rate > 0 ? r->rate : u);
    num(c[i++], serve && r->concurrency > 0 ? (double)r->concurrency : u);
    num(c[i++], serve && r->requests > 0 ? (double)r->requests : u);
    num(c[i++], serve && r->issue_s > 0 ? r->issue_s : u);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", serve ? r->prompt_len : "");
    snprintf(c[i++], DB_SWEEP_CELL, "%s", serve ? r->output_len : "");
    snprintf(c[i++], DB_SWEEP_CELL, "%s", serve ? r->slo : "");
    num(c[i++], ok ? (double)s->completed : u);
    num(c[i++], ok ? (double)s->failed : u);
    const double v[] = {s->duration_s,        s->request_throughput,
                        s->output_throughput, s->output_tokens_per_s_per_user,
                        s->request_goodput,   s->output_token_goodput,
                        s->slo_attainment,    s->mean_ttft_ms,
                        s->p50_ttft_ms,       s->p99_ttft_ms,
                        s->mean_tpot_ms,      s->p50_tpot_ms,
                        s->p99_tpot_ms,       s->p50_e2el_ms,
                        s->p99_e2el_ms,       s->mean_batch};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        num(c[i++], ok ? v[k] : u);
    return i;
}

void db_sweep_row_format(const db_sweep_row *r, char (*c)[DB_SWEEP_CELL]) {
    int i = 0;
    snprintf(c[i++], DB_SWEEP_CELL, "%zu", r->point);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->mode);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->backend);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->device);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->model);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", db_precision_name(r->precision));
    snprintf(c[i++], DB_SWEEP_CELL, "%s", db_kv_dtype_name(r->kv_dtype));
    int step = !strcmp(r->mode, "step");
    num(c[i++], step ? (double)r->batch : NAN);
    num(c[i++], step ? (double)r->context : NAN);
    num(c[i++], step ? r->warmup_steps : NAN);
    num(c[i++], step ? r->steps : NAN);
    snprintf(c[i++], DB_SWEEP_CELL, "%d", r->threads);
    snprintf(c[i++], DB_SWEEP_CELL, "%" PRIu64, r->seed);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->ceilings_source);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->ceilings_device);
    num(c[i++], r->bandwidth / 1e9);
    num(c[i++], r->peak_flops / 1e12);
    num(c[i++], r->ridge);
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->ok ? "ok" : "failed");
    snprintf(c[i++], DB_SWEEP_CELL, "%s", r->ok ? "" : r->error);
    measurements(r, c, i);
}

int db_sweep_write_header(FILE *f) {
    return db_csv_write_fields(f, columns, N_COLUMNS);
}

int db_sweep_write_row(FILE *f, const db_sweep_row *r) {
    char(*cells)[DB_SWEEP_CELL] = malloc(N_COLUMNS * sizeof *cells);
    const char *fields[N_COLUMNS];
    if (!cells) return -1;
    db_sweep_row_format(r, cells);
    for (int i = 0; i < N_COLUMNS; i++)
        fields[i] = cells[i];
    int rc = db_csv_write_fields(f, fields, N_COLUMNS);
    free(cells);
    return rc;
}

/* Joins the key fields of a row given a cell getter. */
static char *join_key(const char *const *vals, int curve) {
    size_t len = 1;
    for (int i = 0; i < N_KEY; i++)
        len += strlen(vals[i]) + 1;
    char *k = malloc(len), *p = k;
    if (!k) return NULL;
    for (int i = 0; i < N_KEY; i++) {
        if (curve && !strcmp(key_columns[i], "batch")) continue;
        size_t n = strlen(vals[i]);
        memcpy(p, vals[i], n);
        p += n;
        *p++ = '\x1f';
    }
    *p = '\0';
    return k;
}

char *db_sweep_table_key(const db_csv_table *t, size_t row, int curve) {
    const char *vals[N_KEY];
    for (int i = 0; i < N_KEY; i++) {
        int c = db_csv_table_col(t, key_columns[i]);
        vals[i] = c >= 0 ? db_csv_table_cell(t, row, (size_t)c) : "";
    }
    return join_key(vals, curve);
}

char *db_sweep_row_key(const db_sweep_row *r) {
    char(*cells)[DB_SWEEP_CELL] = malloc(N_COLUMNS * sizeof *cells);
    if (!cells) return NULL;
    db_sweep_row_format(r, cells);
    const char *vals[N_KEY];
    for (int i = 0; i < N_KEY; i++)
        for (int c = 0; c < N_COLUMNS; c++)
            if (!strcmp(columns[c], key_columns[i])) vals[i] = cells[c];
    char *k = join_key(vals, 0);
    free(cells);
    return k;
}

int db_sweep_fill_knees(db_csv_table *t, db_sweep_knee_fn fit, char *err, size_t errlen) {
    int cb = db_csv_table_col(t, "batch"), cs = db_csv_table_col(t, "step_ms"),
        cst = db_csv_table_col(t, "status"), ck = db_csv_table_col(t, "measured_crossover_batch"),
        cm = db_csv_table_col(t, "measured_crossover_method");
    if (cb < 0 || cs < 0 || cst < 0 || ck < 0 || cm < 0) {
        snprintf(err, errlen,
                 "not a sweep table: batch, step_ms, status or "
                 "measured_crossover_batch is missing");
        return -1;
    }
    size_t n = t->nrows, m = n ? n : 1;
    char **keys = calloc(m, sizeof *keys);
    double *batch = malloc(m * sizeof *batch), *ms = malloc(m * sizeof *ms),
           *knee = malloc(m * sizeof *knee);
    int *ok = malloc(m * sizeof *ok), *method = malloc(m * sizeof *method);
    int rc = keys && batch && ms && knee && ok && method ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        keys[i] = db_sweep_table_key(t, i, 1);
        char *end1, *end2;
        batch[i] = strtod(db_csv_table_cell(t, i, (size_t)cb), &end1);
        ms[i] = strtod(db_csv_table_cell(t, i, (size_t)cs), &end2);
        ok[i] = !strcmp(db_csv_table_cell(t, i, (size_t)cst), "ok") && !*end1 && !*end2 &&
                batch[i] > 0 && ms[i] > 0;
        if (!keys[i]) rc = -1;
    }
    if (rc == 0) rc = fit(n, (const char *const *)keys, batch, ms, ok, knee, method);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char cell[DB_SWEEP_CELL];
        num(cell, knee[i]);
        rc = db_csv_table_set(t, i, (size_t)ck, cell);
        const char *name = method[i] == 1 ? "hinge" : method[i] == 2 ? "balance" : "";
        if (rc == 0) rc = db_csv_table_set(t, i, (size_t)cm, name);
    }
    if (rc) snprintf(err, errlen, "measured crossover: out of memory");
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys), free(batch), free(ms), free(knee), free(ok), free(method);
    return rc;
}

static int write_table(FILE *f, void *t) {
    return db_csv_table_write(f, t);
}

int db_sweep_csv_finalize(const char *path, db_sweep_knee_fn fit, db_csv_table *t, char *err,
                          size_t errlen) {
    int rc = db_csv_table_read(path, t, err, errlen);
    if (rc > 0) snprintf(err, errlen, "'%s' does not exist", path);
    if (rc) return -1;
    if (db_sweep_check_header(t, path, err, errlen) || db_sweep_fill_knees(t, fit, err, errlen)) {
        db_csv_table_free(t);
        return -1;
    }
    db_error e = {0};
    if (db_write_atomic(path, write_table, t, &e) != DB_OK) {
        snprintf(err, errlen, "%s", e.msg);
        db_csv_table_free(t);
        return -1;
    }
    return 0;
}
