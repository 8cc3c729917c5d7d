/* sweep_predict.c — predicted crossover from the cost model's per-class lines (sweep_predict.h). */
#include "sweep_predict.h"

#include <math.h>
#include <string.h>

/* The peak class k runs at, as the sim prices it, with a scheme's own measured GEMM peak first. */
static double class_peak(const db_ceilings *c, db_precision p, int k) {
    switch (k) {
    case DB_OP_ATTN:
        return c->dev.peak_flops[db_device_attention_peak(p)];
    case DB_OP_NORM:
        return c->dev.peak_flops[DB_PEAK_FP32];
    default:
        return db_ceilings_peak(c, p);
    }
}

static void decode_cost(const db_model_config *m, db_precision p, db_kv_dtype kv, int context,
                        int B, db_cost *out) {
    static const int32_t token = 1;
    db_work w[2];
    for (int i = 0; i < B; i++)
        w[i] =
            (db_work){.seq_id = i, .pos = context, .n_tokens = 1, .tokens = &token, .want_next = 1};
    db_cost_model(m, p, kv, w, B, out);
}

db_status db_step_lines_build(const db_model_config *m, db_precision p, db_kv_dtype kv, int context,
                              const db_ceilings *c, db_step_lines *out, db_error *err) {
    memset(out, 0, sizeof *out);
    if (context < 1)
        return db_error_set(err, DB_ERR_INVALID, "context must be >= 1 for a decode step, got %d",
                            context);
    double bw = c->dev.memory_bandwidth;
    if (!(bw > 0))
        return db_error_set(err, DB_ERR_UNSUPPORTED, "ceilings %s have no memory bandwidth",
                            c->dev.name);
    for (int k = 0; k < DB_OP_COUNT; k++)
        if (!(class_peak(c, p, k) > 0))
            return db_error_set(err, DB_ERR_UNSUPPORTED,
                                "ceilings %s have no peak for %s under precision %s", c->dev.name,
                                db_op_class_name((db_op_class)k), db_precision_name(p));
    db_cost c1, c2;
    decode_cost(m, p, kv, context, 1, &c1);
    decode_cost(m, p, kv, context, 2, &c2);
    for (int k = 0; k < DB_OP_COUNT; k++) {
        double f1 = c2.flops[k] - c1.flops[k], b1 = c2.bytes[k] - c1.bytes[k];
        double peak = class_peak(c, p, k);
        db_step_class_line *l = &out->cls[k];
        l->mem1 = b1 / bw;
        l->mem0 = (c1.bytes[k] - b1) / bw;
        l->comp1 = f1 / peak;
        l->comp0 = (c1.flops[k] - f1) / peak;
    }
    out->overhead_s = c->dev.step_overhead_s;
    return DB_OK;
}

void db_crossover_predict(const db_step_lines *l, const db_ceilings *c, db_precision p,
                          db_crossover_prediction *out) {
    double s0 = 0, s1 = 0, g0 = 0, g1 = 0, m0 = 0, m1 = 0, c0 = 0, c1 = 0;
    for (int k = 0; k < DB_OP_COUNT; k++) {
        const db_step_class_line *x = &l->cls[k];
        int small_mem = x->mem0 != x->comp0 ? x->mem0 > x->comp0 : x->mem1 >= x->comp1;
        int large_mem = x->mem1 != x->comp1 ? x->mem1 > x->comp1 : x->mem0 >= x->comp0;
        s0 += small_mem ? x->mem0 : x->comp0;
        s1 += small_mem ? x->mem1 : x->comp1;
        g0 += large_mem ? x->mem0 : x->comp0;
        g1 += large_mem ? x->mem1 : x->comp1;
        m0 += x->mem0, m1 += x->mem1, c0 += x->comp0, c1 += x->comp1;
    }
    out->mem0 = s0, out->mem1 = s1, out->comp0 = g0, out->comp1 = g1;
    double b = g1 > s1 ? (s0 - g0) / (g1 - s1) : NAN;
    out->crossover_batch = b > 0 ? b : NAN;
    b = c1 > m1 ? (m0 - c0) / (c1 - m1) : NAN;
    out->ai_ridge_batch = b > 0 ? b : NAN;
    double ridge = db_ceilings_ridge(c, p);
    out->ridge_batch = ridge > 0 ? ridge * db_precision_weight_bytes(p) / 2.0 : NAN;
}

double db_step_lines_time(const db_step_lines *l, double B) {
    double t = l->overhead_s;
    for (int k = 0; k < DB_OP_COUNT; k++) {
        const db_step_class_line *x = &l->cls[k];
        double mem = x->mem0 + x->mem1 * B, comp = x->comp0 + x->comp1 * B;
        t += mem > comp ? mem : comp;
    }
    return t;
}

double db_step_cost_time(const db_cost *cost, const db_ceilings *c, db_precision p) {
    double bw = c->dev.memory_bandwidth, t = c->dev.step_overhead_s;
    for (int k = 0; k < DB_OP_COUNT; k++) {
        double peak = class_peak(c, p, k);
        if (!(bw > 0) || !(peak > 0)) return NAN;
        double mem = cost->bytes[k] / bw, comp = cost->flops[k] / peak;
        t += mem > comp ? mem : comp;
    }
    return t;
}
