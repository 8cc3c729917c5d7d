/* sweep.c — runs the points of a sweep grid (sweep.h). */
#include "sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cost.h"
#include "sweep_step.h"

#define CPU_MEMORY_SHARE 0.8 /* a point may use this share of MemAvailable */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* MemAvailable from /proc/meminfo in bytes; 0 when unknown. */
static double mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024.0;
}

static double kv_bytes_per_token(const db_model_config *m, db_kv_dtype kv) {
    return 2.0 * m->n_layers * db_model_kv_dim(m) * db_kv_dtype_bytes(kv);
}

static db_step_point_opts point_opts(const db_sweep_config *c, const db_sweep_point *p) {
    return (db_step_point_opts){.batch = (int)p->batch,
                                .context = (int)p->context,
                                .warmup = c->warmup_steps,
                                .steps = c->steps,
                                .prefill_step_tokens = c->prefill_step_tokens,
                                .seed = c->seed};
}

/* cpu: 0 when the point's KV cache and weights fit in CPU_MEMORY_SHARE of MemAvailable (or the
 * memory is unknown); otherwise -1 with the reason in err. */
static int cpu_guard(const db_sweep_config *c, const db_sweep_point *p, double avail,
                     db_error *err) {
    if (c->backend != DB_BACKEND_CPU || !(avail > 0)) return 0;
    db_step_point_opts o = point_opts(c, p);
    double kv = (double)db_step_point_kv_tokens(&o) * kv_bytes_per_token(&c->model, p->kv_dtype);
    double w = db_cost_weight_bytes(&c->model, p->precision);
    if (kv + w <= CPU_MEMORY_SHARE * avail) return 0;
    db_error_set(err, DB_ERR_NOMEM,
                 "out of memory: %.2f GiB of KV cache + %.2f GiB of weights exceed %.0f%% of the "
                 "%.2f GiB available",
                 kv / 1073741824.0, w / 1073741824.0, 100 * CPU_MEMORY_SHARE, avail / 1073741824.0);
    return -1;
}

void db_sweep_row_inputs(const db_sweep_config *c, const db_sweep_point *p, db_sweep_row *row) {
    memset(row, 0, sizeof *row);
    row->point = p->index;
    snprintf(row->mode, sizeof row->mode, "%s", c->grid.serve ? "serve" : "step");
    snprintf(row->backend, sizeof row->backend, "%s", db_backend_name(c->backend));
    snprintf(row->device, sizeof row->device, "%s", c->device_label ? c->device_label : "");
    snprintf(row->model, sizeof row->model, "%s", c->model_label ? c->model_label : c->model.name);
    row->precision = p->precision;
    row->kv_dtype = p->kv_dtype;
    row->batch = p->batch;
    row->context = p->context;
    row->warmup_steps = c->warmup_steps;
    row->steps = c->steps;
    row->threads = c->backend == DB_BACKEND_CPU ? c->threads : 0;
    row->seed = c->seed;
    if (c->grid.serve) {
        row->warmup_steps = row->steps = 0;
        row->rate = p->rate;
        row->concurrency = p->concurrency;
        row->requests = p->rate > 0 ? c->rate_requests : c->requests;
        row->issue_s = p->rate > 0 ? c->issue_s : 0;
        snprintf(row->prompt_len, sizeof row->prompt_len, "%s", c->prompt_len ? c->prompt_len : "");
        snprintf(row->output_len, sizeof row->output_len, "%s", c->output_len ? c->output_len : "");
        snprintf(row->slo, sizeof row->slo, "%s", c->slo_text ? c->slo_text : "");
    }
    const db_ceilings *ce = c->ceilings;
    snprintf(row->ceilings_source, sizeof row->ceilings_source, "%s", ce ? ce->dev.source : "none");
    snprintf(row->ceilings_device, sizeof row->ceilings_device, "%s", ce ? ce->dev.name : "");
    row->bandwidth = ce ? ce->dev.memory_bandwidth : NAN;
    row->peak_flops = ce ? db_ceilings_peak(ce, p->precision) : NAN;
    row->ridge = ce ? db_ceilings_ridge(ce, p->precision) : NAN;
    double nan = NAN;
    row->step_s = row->step_s_min = row->step_s_max = row->tokens_per_s = nan;
    row->arithmetic_intensity = row->achieved_flops = row->achieved_bytes_per_s = nan;
    row->mfu = row->mbu = row->model_step_s = row->measured_crossover = nan;
    row->pred.crossover_batch = row->pred.ai_ridge_batch = row->pred.ridge_batch = nan;
    row->pred.mem0 = row->pred.mem1 = row->pred.comp0 = row->pred.comp1 = nan;
}

static void fill_measured(const db_sweep_config *c, const db_sweep_point *p,
                          const db_step_point_result *r, db_sweep_row *row) {
    row->ok = 1;
    row->step_s = r->step_s;
    row->step_s_min = r->step_s_min;
    row->step_s_max = r->step_s_max;
    row->cost = r->cost;
    row->tokens_per_s = r->step_s > 0 ? (double)p->batch / r->step_s : NAN;
    row->arithmetic_intensity = r->cost.total_flops / r->cost.total_bytes;
    row->achieved_flops = r->step_s > 0 ? r->cost.total_flops / r->step_s : NAN;
    row->achieved_bytes_per_s = r->step_s > 0 ? r->cost.total_bytes / r->step_s : NAN;
    const db_ceilings *ce = c->ceilings;
    if (!ce) return;
    if (row->peak_flops > 0) row->mfu = row->achieved_flops / row->peak_flops;
    if (row->bandwidth > 0) row->mbu = row->achieved_bytes_per_s / row->bandwidth;
    row->model_step_s = db_step_cost_time(&r->cost, ce, p->precision);
    db_step_lines lines;
    int mid = (int)p->context + c->warmup_steps + c->steps / 2;
    if (db_step_lines_build(&c->model, p->precision, p->kv_dtype, mid, ce, &lines, NULL) == DB_OK)
        db_crossover_predict(&lines, ce, p->precision, &row->pred);
}

typedef struct engine_slot {
    db_engine *e;
    db_precision p;
    db_kv_dtype kv;
    int64_t capacity; /* tokens asked for (0: the backend's default) */
} engine_slot;

static void slot_close(engine_slot *s) {
    db_engine_close(s->e);
    s->e = NULL;
}

/* The KV tokens an engine for pending[pos]'s precision and KV dtype is opened with. */
static int64_t capacity_for(const db_sweep_config *c, const size_t *pending, size_t n, size_t pos,
                            double avail) {
    if (c->kv_tokens > 0) return c->kv_tokens;
    if (c->backend != DB_BACKEND_CPU) return 0;
    db_sweep_point p0, p;
    db_sweep_grid_point(&c->grid, pending[pos], &p0);
    db_step_point_opts o = point_opts(c, &p0);
    int64_t cap = db_step_point_kv_tokens(&o);
    for (size_t i = pos + 1; i < n; i++) {
        db_sweep_grid_point(&c->grid, pending[i], &p);
        if (p.precision != p0.precision || p.kv_dtype != p0.kv_dtype) continue;
        o = point_opts(c, &p);
        if (db_step_point_kv_tokens(&o) > cap && cpu_guard(c, &p, avail, NULL) == 0)
            cap = db_step_point_kv_tokens(&o);
    }
    /* whole blocks, one spare per sequence for rounding: the largest batch bounds it */
    int64_t max_b = 1;
    for (int i = 0; i < c->grid.n_batches; i++)
        if (c->grid.batches[i] > max_b) max_b = c->grid.batches[i];
    return cap + 16 * max_b;
}

db_status db_sweep_open_engine(const db_sweep_config *c, db_precision p, db_kv_dtype kv,
                               int64_t kv_tokens, db_engine **e, db_error *err) {
    db_engine_opts eo;
    db_engine_opts_default(&eo);
    eo.backend = c->backend;
    eo.model = c->model;
    eo.checkpoint_path = c->checkpoint;
    eo.precision = p;
    eo.kv_dtype = kv;
    eo.seed = c->seed;
    eo.threads = c->threads;
    eo.sim_device = c->sim_device;
    eo.kv_tokens = kv_tokens;
    return db_engine_open(&eo, e, err);
}

static db_status ensure_engine(const db_sweep_config *c, const size_t *pending, size_t n, size_t pos,
                               double avail, engine_slot *s, db_error *err) {
    db_sweep_point p;
    db_sweep_grid_point(&c->grid, pending[pos], &p);
    db_step_point_opts o = point_opts(c, &p);
    int64_t need = c->grid.serve ? 0 : db_step_point_kv_tokens(&o);
    if (s->e && s->p == p.precision && s->kv == p.kv_dtype &&
        (s->capacity == 0 || c->kv_tokens > 0 || s->capacity >= need))
        return DB_OK;
    slot_close(s);
    int64_t cap = c->grid.serve ? c->kv_tokens : capacity_for(c, pending, n, pos, avail);
    db_status st = db_sweep_open_engine(c, p.precision, p.kv_dtype, cap, &s->e, err);
    if (st) return st;
    s->p = p.precision;
    s->kv = p.kv_dtype;
    s->capacity = cap;
    return DB_OK;
}

void db_sweep_serve_row(const db_sweep_config *c, db_engine *e, const db_sweep_point *p,
                        uint64_t seed, db_sweep_row *row, int *dirty) {
    db_sweep_row_inputs(c, p, row);
    row->seed = seed;
    db_serve_point_opts o = {.rate = p->rate,
                             .concurrency = p->concurrency,
                             .requests = p->rate > 0 ? c->rate_requests : c->requests,
                             .issue_s = c->issue_s,
                             .prompt_len = c->prompt_len,
                             .output_len = c->output_len,
                             .seed = seed,
                             .slo = c->slo,
                             .sched = c->sched,
                             .peak_flops = row->peak_flops > 0 ? row->peak_flops : 0,
                             .peak_bytes_per_s = row->bandwidth > 0 ? row->bandwidth : 0};
    db_error err = {0};
    db_status st = db_serve_point_run(e, &o, &row->serve, &err);
    *dirty = db_engine_kv_free_blocks(e) != db_engine_kv_total_blocks(e);
    if (st != DB_OK) {
        snprintf(row->error, sizeof row->error, "%s", err.msg);
        return;
    }
    const db_serve_point_result *r = &row->serve;
    row->ok = 1;
    row->step_s = r->mean_step_s;
    row->arithmetic_intensity = r->arithmetic_intensity;
    row->achieved_flops = r->achieved_flops;
    row->achieved_bytes_per_s = r->achieved_bytes_per_s;
    row->mfu = r->mfu;
    row->mbu = r->mbu;
    row->tokens_per_s = r->output_throughput;
}

/* The shard's points that the skip callback does not claim. */
static size_t *points_to_run(const db_sweep_config *c, const db_sweep_callbacks *cb,
                             db_sweep_stats *stats, size_t *n) {
    size_t total = db_sweep_grid_size(&c->grid), m = 0;
    int shards = c->shard_count > 0 ? c->shard_count : 1;
    size_t *pending = malloc((total ? total : 1) * sizeof *pending);
    db_sweep_row *inputs = malloc(sizeof *inputs);
    if (!pending || !inputs) {
        free(pending), free(inputs);
        return NULL;
    }
    for (size_t i = 0; i < total; i++) {
        if (i % (size_t)shards != (size_t)c->shard_index) continue;
        stats->in_shard++;
        db_sweep_point p;
        db_sweep_grid_point(&c->grid, i, &p);
        db_sweep_row_inputs(c, &p, inputs);
        if (cb->skip && cb->skip(cb->ctx, inputs)) {
            stats->skipped++;
            continue;
        }
        pending[m++] = i;
    }
    free(inputs);
    *n = m;
    return pending;
}

db_status db_sweep_run(const db_sweep_config *c, const db_sweep_callbacks *cb,
                       db_sweep_stats *stats, db_error *err) {
    memset(stats, 0, sizeof *stats);
    size_t n = 0;
    size_t *pending = points_to_run(c, cb, stats, &n);
    db_sweep_row *row = malloc(sizeof *row);
    if (!pending || !row) {
        free(pending), free(row);
        return db_error_set(err, DB_ERR_NOMEM, "sweep: out of memory");
    }
    double t0 = now_s(), avail = c->backend == DB_BACKEND_CPU ? mem_available() : 0;
    engine_slot slot = {0};
    db_status st = DB_OK;
    for (size_t i = 0; i < n && st == DB_OK; i++) {
        if (cb->stop && *cb->stop) {
            stats->interrupted = 1;
            break;
        }
        db_sweep_point p;
        db_sweep_grid_point(&c->grid, pending[i], &p);
        db_sweep_row_inputs(c, &p, row);
        if (cb->progress) {
            db_sweep_progress pr = {i, n, stats->failed, row, now_s() - t0};
            cb->progress(cb->ctx, &pr);
        }
        db_error e = {0};
        db_step_point_result r;
        db_step_point_opts o = point_opts(c, &p);
        db_status pst = !c->grid.serve && cpu_guard(c, &p, avail, &e) ? DB_ERR_NOMEM : DB_OK;
        if (pst == DB_OK) pst = ensure_engine(c, pending, n, i, avail, &slot, &e);
        if (pst == DB_OK && c->grid.serve) {
            int dirty = 0;
            db_sweep_serve_row(c, slot.e, &p, c->seed, row, &dirty);
            if (dirty) slot_close(&slot);
            stats->failed += !row->ok;
        } else if (pst == DB_OK) {
            pst = db_step_point_run(slot.e, &o, &r, &e);
        }
        if (c->grid.serve && pst == DB_OK) {
            /* the serve row is complete */
        } else if (pst == DB_OK) {
            fill_measured(c, &p, &r, row);
        } else {
            snprintf(row->error, sizeof row->error, "%s", e.msg);
            stats->failed++;
        }
        stats->run++;
        if (cb->row && cb->row(cb->ctx, row) != 0)
            st = db_error_set(err, DB_ERR_IO, "sweep: the row of point %zu could not be written",
                              p.index);
    }
    slot_close(&slot);
    if (cb->progress) {
        db_sweep_progress pr = {stats->run, n, stats->failed, NULL, now_s() - t0};
        cb->progress(cb->ctx, &pr);
    }
    free(pending);
    free(row);
    return st;
}
