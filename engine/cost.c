/* cost.c — the analytic cost model (definitions in cost.h). */
#include <string.h>

#include "cost.h"

#include "backend.h"
#include "model.h"

/* K and V of one token in one layer: kv_dim elements each, plus, for fp8 (e4m3 with a per-token-per-head
 * scale, engine/cpu.h), one fp32 scale per KV head each. */
static double kv_layer_token_bytes(const db_model_config *m, db_kv_dtype kv) {
    double scales = kv == DB_KV_FP8 ? (double)m->n_kv_heads * 4.0 : 0.0;
    return 2.0 * (db_model_kv_dim(m) * db_kv_dtype_bytes(kv) + scales);
}

double db_kv_bytes_per_token(const db_model_config *m, db_kv_dtype kv) {
    return m->n_layers * kv_layer_token_bytes(m, kv);
}

double db_cost_act_bytes(db_precision p) {
    switch (p) {
    case DB_PREC_FP32:
    case DB_PREC_TF32:
        return 4.0;
    case DB_PREC_FP8:
        return 1.0;
    default:
        return 2.0;
    }
}

double db_cost_linear_weight_bytes(int64_t n_rows, int64_t n_cols, db_precision p) {
    switch (p) {
    case DB_PREC_FP8:
    case DB_PREC_INT8:
        return (double)n_rows * n_cols + 4.0 * n_rows; /* + fp32 row scale */
    case DB_PREC_INT4: /* 64 bytes of nibbles + a 2-byte scale per group of 128; rows padded */
        return (double)n_rows * (double)((n_cols + 127) / 128) * 66.0;
    default:
        return (double)n_rows * n_cols * db_precision_weight_bytes(p);
    }
}

double db_cost_weight_bytes(const db_model_config *m, db_precision p) {
    int64_t d = m->dim, h = m->hidden_dim, kv = db_model_kv_dim(m), V = m->vocab_size;
    double layer = db_cost_linear_weight_bytes(d + 2 * kv, d, p) +
                   db_cost_linear_weight_bytes(d, d, p) + db_cost_linear_weight_bytes(2 * h, d, p) +
                   db_cost_linear_weight_bytes(d, h, p) + 2.0 * d * DB_COST_NORM_WEIGHT_BYTES;
    double embedding = db_cost_linear_weight_bytes(V, d, p);
    double classifier = m->shared_classifier ? 0.0 : embedding;
    return embedding + m->n_layers * layer + d * DB_COST_NORM_WEIGHT_BYTES + classifier;
}

const char *db_op_class_name(db_op_class c) {
    static const char *const names[DB_OP_COUNT] = {"qkv", "attention", "out_proj",
                                                   "mlp", "norm",      "lm_head"};
    return (unsigned)c < DB_OP_COUNT ? names[c] : "?";
}

/* One GEMM of an (n_rows x n_cols) weight over `rows` activation rows, `times` times (layers). */
static void add_linear(db_cost *c, db_op_class cls, int64_t n_rows, int64_t n_cols, double rows,
                       double times, db_precision p) {
    if (rows <= 0) return;
    double a = db_cost_act_bytes(p), w = db_cost_linear_weight_bytes(n_rows, n_cols, p) * times;
    double act = rows * (double)(n_rows + n_cols) * a * times;
    c->flops[cls] += 2.0 * rows * (double)n_rows * (double)n_cols * times;
    c->bytes[cls] += w + act;
    c->weight_bytes += w;
    c->act_bytes += act;
}

static void add_bytes(db_cost *c, db_op_class cls, double flops, double weight, double act) {
    c->flops[cls] += flops;
    c->bytes[cls] += weight + act;
    c->weight_bytes += weight;
    c->act_bytes += act;
}

/* Sums over the items: tokens, logit rows, attended keys and cached tokens read. */
typedef struct batch_sums {
    double tokens, logit_rows, attended_keys, cached_tokens;
    int64_t prefill_tokens, decode_tokens;
} batch_sums;

static batch_sums sum_batch(const db_work *work, int n) {
    batch_sums s = {0};
    for (int i = 0; i < n; i++) {
        double p = work[i].pos > 0 ? work[i].pos : 0, t = work[i].n_tokens;
        if (t < 1) continue;
        s.tokens += t;
        s.logit_rows += work[i].want_next ? 1 : 0;
        s.attended_keys += t * p + t * (t + 1) / 2; /* sum over j < t of (p + j + 1) */
        s.cached_tokens += p + t;
        if (t == 1 && p > 0)
            s.decode_tokens += 1;
        else
            s.prefill_tokens += (int64_t)t;
    }
    return s;
}

static void add_attention(db_cost *c, const db_model_config *m, db_precision p, db_kv_dtype kvt,
                          const batch_sums *s) {
    double L = m->n_layers, d = m->dim, a = db_cost_act_bytes(p);
    double kvb = kv_layer_token_bytes(m, kvt);
    double kv_read = L * s->cached_tokens * kvb, kv_write = L * s->tokens * kvb;
    double act = L * s->tokens * 2.0 * d * a;
    c->flops[DB_OP_ATTN] += L * 4.0 * d * s->attended_keys; /* 4 * hs * n_heads = 4 * d */
    c->bytes[DB_OP_ATTN] += kv_read + kv_write + act;
    c->kv_read_bytes += kv_read;
    c->kv_write_bytes += kv_write;
    c->act_bytes += act;
}

static void add_norms(db_cost *c, const db_model_config *m, db_precision p, const batch_sums *s) {
    double L = m->n_layers, d = m->dim, kv = db_model_kv_dim(m), T = s->tokens, S = s->logit_rows;
    double a = db_cost_act_bytes(p), g = DB_COST_NORM_WEIGHT_BYTES;
    add_bytes(c, DB_OP_NORM, L * 2 * 4 * T * d, L * 2 * d * g,
              L * 2 * T * 2 * d * a);                                            /* RMSNorms */
    add_bytes(c, DB_OP_NORM, L * 2 * T * d, 0, L * 2 * T * 3 * d * a);           /* residuals */
    add_bytes(c, DB_OP_NORM, L * 3 * T * (d + kv), 0, L * T * 2 * (d + kv) * a); /* RoPE */
    if (S > 0) add_bytes(c, DB_OP_NORM, 4 * S * d, d * g, S * 2 * d * a);        /* final norm */
    add_bytes(c, DB_OP_NORM, 0, db_cost_linear_weight_bytes((int64_t)T, m->dim, p),
              T * d * a); /* embedding rows gathered */
}

void db_cost_model(const db_model_config *m, db_precision p, db_kv_dtype kv, const db_work *work,
                   int n, db_cost *out) {
    memset(out, 0, sizeof *out);
    batch_sums s = sum_batch(work, n);
    out->prefill_tokens = s.prefill_tokens;
    out->decode_tokens = s.decode_tokens;
    if (s.tokens <= 0) return;
    int64_t d = m->dim, h = m->hidden_dim, kvd = db_model_kv_dim(m);
    double L = m->n_layers, T = s.tokens, a = db_cost_act_bytes(p);
    add_linear(out, DB_OP_QKV, d + 2 * kvd, d, T, L, p);
    add_attention(out, m, p, kv, &s);
    add_linear(out, DB_OP_OUT, d, d, T, L, p);
    add_linear(out, DB_OP_MLP, 2 * h, d, T, L, p);
    add_linear(out, DB_OP_MLP, d, h, T, L, p);
    add_bytes(out, DB_OP_MLP, L * 5 * T * h, 0, L * T * 3 * h * a); /* SwiGLU */
    add_norms(out, m, p, &s);
    add_linear(out, DB_OP_LMHEAD, m->vocab_size, d, s.logit_rows, 1, p);
    add_bytes(out, DB_OP_LMHEAD, 0, 0, s.logit_rows * m->vocab_size * a); /* argmax reads logits */
    for (int c = 0; c < DB_OP_COUNT; c++) {
        out->total_flops += out->flops[c];
        out->total_bytes += out->bytes[c];
    }
}
