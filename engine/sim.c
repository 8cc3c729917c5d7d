/* sim.c — the sim backend: step time from the cost model against device ceilings (sim.h). */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cost.h"

/* The peak class c runs at: the GEMM classes at the scheme's own measured peak when the ceilings
 * give one (db_device_scheme_peak), attention at its attention peak, norm at fp32. */
static double class_peak(const db_device_ceilings *dev, db_op_class c, db_precision p) {
    switch (c) {
    case DB_OP_ATTN:
        return dev->peak_flops[db_device_attention_peak(p)];
    case DB_OP_NORM:
        return dev->peak_flops[DB_PEAK_FP32];
    default:
        return db_device_scheme_peak(dev, p);
    }
}

/* The name of the peak class c needs, for messages. */
static const char *class_peak_name(db_op_class c, db_precision p) {
    if (c == DB_OP_ATTN) return db_peak_type_name(db_device_attention_peak(p));
    if (c == DB_OP_NORM) return db_peak_type_name(DB_PEAK_FP32);
    return db_peak_type_name(db_device_gemm_peak(p));
}

db_status db_sim_check_device(const db_device_ceilings *dev, db_precision p, db_error *err) {
    if (!(dev->memory_bandwidth > 0))
        return db_error_set(err, DB_ERR_INVALID, "sim device %s has no memory bandwidth",
                            dev->name);
    for (int c = 0; c < DB_OP_COUNT; c++)
        if (!(class_peak(dev, (db_op_class)c, p) > 0))
            return db_error_set(err, DB_ERR_UNSUPPORTED,
                                "sim device %s has no %s peak, which precision %s needs for %s",
                                dev->name, class_peak_name((db_op_class)c, p),
                                db_precision_name(p), db_op_class_name((db_op_class)c));
    return DB_OK;
}

void db_sim_step_time(const db_device_ceilings *dev, db_precision p, const db_cost *cost,
                      double overhead_s, db_sim_time *out) {
    memset(out, 0, sizeof *out);
    for (int c = 0; c < DB_OP_COUNT; c++) {
        double peak = class_peak(dev, (db_op_class)c, p);
        double compute = peak > 0 ? cost->flops[c] / peak : 0.0;
        double memory = cost->bytes[c] / dev->memory_bandwidth;
        out->memory_bound[c] = memory >= compute;
        out->op_seconds[c] = memory >= compute ? memory : compute;
        out->device_seconds += out->op_seconds[c];
    }
    out->step_seconds = out->device_seconds + overhead_s;
}

static uint64_t mix64(uint64_t x) { /* splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int32_t db_sim_next_token(uint64_t seed, int seq_id, int pos, int vocab) {
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ull);
    h = mix64(h ^ (uint64_t)(uint32_t)seq_id);
    h = mix64(h ^ ((uint64_t)(uint32_t)pos << 32));
    return (int32_t)(h % (uint64_t)(vocab > 0 ? vocab : 1));
}

db_status db_sim_kv_bytes_for(const db_device_ceilings *dev, const db_model_config *m,
                              db_precision p, int64_t *bytes, db_error *err) {
    *bytes = 0;
    if (!(dev->memory_bytes > 0)) return DB_OK;
    double usable = DB_SIM_MEMORY_UTILIZATION * dev->memory_bytes;
    double weights = db_cost_weight_bytes(m, p);
    if (weights >= usable)
        return db_error_set(
            err, DB_ERR_INVALID,
            "model %s in %s needs %.1f GB of weights, more than %.0f%% of the %.1f GB of sim "
            "device %s: give the KV capacity (kv_tokens or kv_bytes) to model it anyway",
            m->name, db_precision_name(p), weights / 1e9, 100 * DB_SIM_MEMORY_UTILIZATION,
            dev->memory_bytes / 1e9, dev->name);
    *bytes = (int64_t)(usable - weights);
    return DB_OK;
}

/* ---- the backend -------------------------------------------------------------------------------- */

typedef struct sim_state {
    db_device_ceilings dev;
    db_model_config model;
    db_precision precision;
    db_kv_dtype kv_dtype;
    uint64_t seed;
    double overhead_s;
    char description[200];
} sim_state;

static db_status sim_device_of(const db_engine_opts *o, db_device_ceilings *dev, db_error *err) {
    return db_device_resolve(o->sim_device ? o->sim_device : "h100-sxm", dev, err);
}

static db_status sim_open(const db_engine_opts *o, int64_t total_blocks, void **state,
                          db_error *err) {
    db_device_ceilings dev;
    db_status st = sim_device_of(o, &dev, err);
    if (st == DB_OK) st = db_sim_check_device(&dev, o->precision, err);
    if (st != DB_OK) return st;
    sim_state *s = calloc(1, sizeof *s);
    if (!s) return db_error_set(err, DB_ERR_NOMEM, "sim backend: out of memory");
    s->dev = dev;
    s->model = o->model;
    s->precision = o->precision;
    s->kv_dtype = o->kv_dtype;
    s->seed = o->seed;
    s->overhead_s = o->sim_step_overhead_s >= 0 ? o->sim_step_overhead_s : dev.step_overhead_s;
    snprintf(s->description, sizeof s->description, "sim: %s (%s ceilings)", dev.name, dev.source);
    *state = s;
    return DB_OK;
}

static void sim_close(void *state) {
    free(state);
}

static db_status sim_step(void *state, const db_work *work, const db_backend_seq_view *seqs, int n,
                          db_step_result *res, db_error *err) {
    const sim_state *s = state;
    if (res->logits)
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "the sim backend computes no logits (pass logits = NULL)");
    db_cost cost;
    db_cost_model(&s->model, s->precision, s->kv_dtype, work, n, &cost);
    db_sim_time t;
    db_sim_step_time(&s->dev, s->precision, &cost, s->overhead_s, &t);
    for (int i = 0; i < n; i++)
        res->next_tokens[i] = work[i].want_next ? db_sim_next_token(s->seed, work[i].seq_id,
                                                                    work[i].pos + work[i].n_tokens,
                                                                    s->model.vocab_size)
                                                : -1;
    res->device_seconds = t.device_seconds;
    res->step_seconds = t.step_seconds;
    return DB_OK;
}

static const char *sim_device_name(void *state) {
    return ((const sim_state *)state)->description;
}

static db_status sim_default_kv_bytes(const db_engine_opts *o, int64_t *bytes, db_error *err) {
    db_device_ceilings dev;
    db_status st = sim_device_of(o, &dev, err);
    if (st != DB_OK) return st;
    return db_sim_kv_bytes_for(&dev, &o->model, o->precision, bytes, err);
}

const db_backend_ops db_backend_sim = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
    .step = sim_step,
    .device_name = sim_device_name,
    .default_kv_bytes = sim_default_kv_bytes,
};
