/* names.c — names, parsers and storage sizes of precision schemes, KV dtypes and backends. */
#include <string.h>

#include "engine.h"

static const char *const precision_names[DB_PREC_COUNT] = {"fp32", "tf32", "fp16", "bf16",
                                                           "fp8",  "int8", "int4"};
static const char *const kv_names[DB_KV_COUNT] = {"fp32", "fp16", "bf16", "fp8"};

const char *db_precision_name(db_precision p) {
    return (unsigned)p < DB_PREC_COUNT ? precision_names[p] : "?";
}

int db_precision_parse(const char *s, db_precision *out) {
    for (int i = 0; s && i < DB_PREC_COUNT; i++)
        if (!strcmp(s, precision_names[i])) {
            *out = (db_precision)i;
            return 0;
        }
    return -1;
}

const char *db_kv_dtype_name(db_kv_dtype k) {
    return (unsigned)k < DB_KV_COUNT ? kv_names[k] : "?";
}

int db_kv_dtype_parse(const char *s, db_kv_dtype *out) {
    for (int i = 0; s && i < DB_KV_COUNT; i++)
        if (!strcmp(s, kv_names[i])) {
            *out = (db_kv_dtype)i;
            return 0;
        }
    return -1;
}

/* Storage per weight element including scales: int8 per-channel and fp8 per-channel scales are
 * amortised over a whole row (negligible, counted in the cost model per row); int4 carries one
 * 2-byte (bf16-class) scale per group of 128. */
double db_precision_weight_bytes(db_precision p) {
    switch (p) {
    case DB_PREC_FP32:
    case DB_PREC_TF32: return 4.0;
    case DB_PREC_FP16:
    case DB_PREC_BF16: return 2.0;
    case DB_PREC_FP8:
    case DB_PREC_INT8: return 1.0;
    case DB_PREC_INT4: return 0.5 + 2.0 / 128.0;
    default: return 4.0;
    }
}

double db_kv_dtype_bytes(db_kv_dtype k) {
    switch (k) {
    case DB_KV_FP32: return 4.0;
    case DB_KV_FP16:
    case DB_KV_BF16: return 2.0;
    case DB_KV_FP8: return 1.0;
    default: return 4.0;
    }
}

const char *db_backend_name(db_backend_kind b) {
    switch (b) {
    case DB_BACKEND_AUTO: return "auto";
    case DB_BACKEND_CPU: return "cpu";
    case DB_BACKEND_CUDA: return "cuda";
    case DB_BACKEND_SIM: return "sim";
    }
    return "?";
}

int db_backend_parse(const char *s, db_backend_kind *out) {
    static const struct { const char *n; db_backend_kind k; } t[] = {
        {"auto", DB_BACKEND_AUTO}, {"cpu", DB_BACKEND_CPU}, {"cuda", DB_BACKEND_CUDA}, {"sim", DB_BACKEND_SIM}};
    for (size_t i = 0; s && i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].n)) {
            *out = t[i].k;
            return 0;
        }
    return -1;
}
