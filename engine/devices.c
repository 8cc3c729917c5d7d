/* devices.c — datasheet presets and the ceilings JSON format (devices.h). */
#include "devices.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const peak_names[DB_PEAK_COUNT] = {"fp32", "tf32", "fp16",
                                                      "bf16", "fp8",  "int8"};

const char *db_peak_type_name(db_peak_type t) {
    return (unsigned)t < DB_PEAK_COUNT ? peak_names[t] : "?";
}

/* Dense datasheet figures from spec/roofline.md (NVIDIA datasheets); 1e12 FLOP/s and 1e12 bytes/s. */
typedef struct preset {
    const char *key;
    const char *name;
    double tbps, memory_gb;
    double tflops[DB_PEAK_COUNT]; /* fp32, tf32, fp16, bf16, fp8, int8 */
} preset;

static const preset presets[] = {
    {"h100-sxm", "H100 SXM 80GB", 3.35, 80, {66.9, 494.7, 989.4, 989.4, 1978.9, 1978.9}},
    {"h200", "H200 SXM 141GB", 4.8, 141, {67.0, 494.7, 989.4, 989.4, 1978.9, 1978.9}},
    {"a100-80g", "A100 80GB SXM", 2.039, 80, {19.5, 156.0, 312.0, 312.0, 0.0, 624.0}},
    {"l40s", "L40S", 0.864, 48, {91.6, 183.0, 362.0, 362.0, 733.0, 733.0}},
};
enum { N_PRESETS = sizeof presets / sizeof presets[0] };

int db_device_preset_count(void) {
    return N_PRESETS;
}

const char *db_device_preset_name(int i) {
    return i >= 0 && i < N_PRESETS ? presets[i].key : NULL;
}

int db_device_preset(const char *name, db_device_ceilings *out) {
    for (int i = 0; name && i < N_PRESETS; i++) {
        const preset *p = &presets[i];
        if (strcmp(name, p->key)) continue;
        memset(out, 0, sizeof *out);
        snprintf(out->name, sizeof out->name, "%s", p->name);
        snprintf(out->source, sizeof out->source, "datasheet");
        out->memory_bandwidth = p->tbps * 1e12;
        out->memory_bytes = p->memory_gb * 1e9;
        for (int k = 0; k < DB_PEAK_COUNT; k++)
            out->peak_flops[k] = p->tflops[k] * 1e12;
        out->step_overhead_s = DB_DEVICE_DEFAULT_STEP_OVERHEAD_S;
        return 0;
    }
    return -1;
}

db_peak_type db_device_gemm_peak(db_precision p) {
    switch (p) {
    case DB_PREC_FP32:
        return DB_PEAK_FP32;
    case DB_PREC_TF32:
        return DB_PEAK_TF32;
    case DB_PREC_FP16:
        return DB_PEAK_FP16;
    case DB_PREC_FP8:
        return DB_PEAK_FP8;
    default:
        return DB_PEAK_BF16; /* bf16, and int8 / int4 weight-only with bf16 activations */
    }
}

double db_device_scheme_peak(const db_device_ceilings *c, db_precision p) {
    if ((unsigned)p < DB_PREC_COUNT && c->scheme_peak_flops[p] > 0) return c->scheme_peak_flops[p];
    return c->peak_flops[db_device_gemm_peak(p)];
}

db_peak_type db_device_attention_peak(db_precision p) {
    switch (p) {
    case DB_PREC_FP32:
        return DB_PEAK_FP32;
    case DB_PREC_TF32:
        return DB_PEAK_TF32;
    case DB_PREC_FP16:
        return DB_PEAK_FP16;
    default:
        return DB_PEAK_BF16;
    }
}

double db_device_ridge(const db_device_ceilings *c, db_precision p) {
    if (!(c->memory_bandwidth > 0)) return 0.0;
    return db_device_scheme_peak(c, p) / c->memory_bandwidth;
}

double db_device_crossover_batch(const db_device_ceilings *c, db_precision p) {
    return db_device_ridge(c, p) * db_precision_weight_bytes(p) / 2.0;
}

/* ---- ceilings JSON ---------------------------------------------------------------------------- */

typedef struct problems {
    char text[400];
    size_t len;
    int count;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...) {
    if (p->count++ && p->len + 3 < sizeof p->text) {
        memcpy(p->text + p->len, "; ", 3);
        p->len += 2;
    }
    if (p->len + 1 >= sizeof p->text) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, sizeof p->text - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < sizeof p->text - p->len ? (size_t)n : sizeof p->text - p->len - 1;
}

/* A number in [lo, 1e9]; returns 1 and sets *out when present and valid, else names the problem. */
static int number_field(json_t *obj, const char *key, const char *where, int required, double lo,
                        problems *p, double *out) {
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) problem(p, "missing required field '%s%s'", where, key);
        return 0;
    }
    if (!json_is_number(v)) {
        problem(p, "'%s%s' must be a number", where, key);
        return 0;
    }
    double x = json_number_value(v);
    if (!(x >= lo && x <= 1e9)) {
        problem(p, "'%s%s' must be between %g and 1e9, got %g", where, key, lo, x);
        return 0;
    }
    *out = x;
    return 1;
}

static void string_field(json_t *root, const char *key, problems *p, char *out, size_t cap) {
    json_t *v = json_object_get(root, key);
    const char *s = json_string_value(v);
    if (!v)
        problem(p, "missing required field '%s'", key);
    else if (!s || !*s || strlen(s) >= cap)
        problem(p, "'%s' must be a string of 1..%zu characters", key, cap - 1);
    else
        snprintf(out, cap, "%s", s);
}

static void parse_peaks(json_t *root, problems *p, db_device_ceilings *c) {
    json_t *peaks = json_object_get(root, "peak_tflops");
    if (!peaks) {
        problem(p, "missing required field 'peak_tflops'");
        return;
    }
    if (!json_is_object(peaks)) {
        problem(p, "'peak_tflops' must be an object of TFLOP/s by type (fp32, tf32, fp16, bf16, "
                   "fp8, int8)");
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach(peaks, key, val) {
        int known = 0;
        for (int k = 0; k < DB_PEAK_COUNT; k++)
            known |= !strcmp(key, peak_names[k]);
        if (!known)
            problem(p,
                    "unknown field 'peak_tflops.%s' (expected fp32, tf32, fp16, bf16, fp8, int8)",
                    key);
    }
    for (int k = 0; k < DB_PEAK_COUNT; k++) {
        double t = 0;
        if (number_field(peaks, peak_names[k], "peak_tflops.", 0, 0.0, p, &t))
            c->peak_flops[k] = t * 1e12;
    }
}

/* Optional "scheme_peak_tflops": {precision name: TFLOP/s >= 0}. */
static void parse_scheme_peaks(json_t *root, problems *p, db_device_ceilings *c) {
    json_t *obj = json_object_get(root, "scheme_peak_tflops");
    if (!obj) return;
    if (!json_is_object(obj)) {
        problem(p, "'scheme_peak_tflops' must be an object of TFLOP/s by precision");
        return;
    }
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        db_precision prec;
        if (db_precision_parse(key, &prec) != 0)
            problem(p,
                    "'scheme_peak_tflops' has an unknown precision '%s' (expected fp32, tf32, "
                    "fp16, bf16, fp8, int8, int4)",
                    key);
        else if (!json_is_number(val) || !(json_number_value(val) >= 0) ||
                 !(json_number_value(val) <= 1e9))
            problem(p, "'scheme_peak_tflops.%s' must be a number >= 0 (TFLOP/s, at most 1e9)",
                    key);
        else
            c->scheme_peak_flops[prec] = json_number_value(val) * 1e12;
    }
}

static void parse_ceilings(json_t *root, problems *p, db_device_ceilings *c) {
    string_field(root, "device", p, c->name, sizeof c->name);
    string_field(root, "source", p, c->source, sizeof c->source);
    if (c->source[0] && strcmp(c->source, "measured") && strcmp(c->source, "datasheet"))
        problem(p, "'source' must be \"measured\" or \"datasheet\", got \"%s\"", c->source);
    double gbps = 0, gb = 0, us = DB_DEVICE_DEFAULT_STEP_OVERHEAD_S * 1e6;
    if (number_field(root, "memory_bandwidth_GBps", "", 1, 0.0, p, &gbps) && !(gbps > 0))
        problem(p, "'memory_bandwidth_GBps' must be positive");
    number_field(root, "memory_GB", "", 0, 0.0, p, &gb);
    number_field(root, "step_overhead_us", "", 0, 0.0, p, &us);
    c->memory_bandwidth = gbps * 1e9;
    c->memory_bytes = gb * 1e9;
    c->step_overhead_s = us * 1e-6;
    parse_peaks(root, p, c);
    parse_scheme_peaks(root, p, c);
    json_t *fp = json_object_get(root, "fingerprint");
    if (fp && !json_is_object(fp)) problem(p, "'fingerprint' must be an object");
}

db_status db_device_load_json(const char *path, db_device_ceilings *out, db_error *err) {
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (access(path, R_OK) != 0)
            return db_error_set(err, DB_ERR_IO, "ceilings file %s: cannot open: %s", path,
                                strerror(errno));
        return db_error_set(err, DB_ERR_INVALID, "ceilings file %s: line %d, column %d: %s", path,
                            jerr.line, jerr.column, jerr.text);
    }
    db_device_ceilings c = {0};
    problems p = {0};
    if (!json_is_object(root))
        problem(&p, "expected a JSON object (device, source, memory_bandwidth_GBps, peak_tflops)");
    else
        parse_ceilings(root, &p, &c);
    json_decref(root);
    if (p.count) return db_error_set(err, DB_ERR_INVALID, "ceilings file %s: %s", path, p.text);
    *out = c;
    return DB_OK;
}

static json_t *ceilings_to_json(const db_device_ceilings *c, json_t *fingerprint) {
    json_t *peaks = json_object();
    for (int k = 0; k < DB_PEAK_COUNT; k++)
        if (c->peak_flops[k] > 0)
            json_object_set_new(peaks, peak_names[k], json_real(c->peak_flops[k] / 1e12));
    json_t *root = json_object();
    json_object_set_new(root, "device", json_string(c->name));
    json_object_set_new(root, "source", json_string(c->source));
    json_object_set_new(root, "memory_bandwidth_GBps", json_real(c->memory_bandwidth / 1e9));
    if (c->memory_bytes > 0)
        json_object_set_new(root, "memory_GB", json_real(c->memory_bytes / 1e9));
    json_object_set_new(root, "step_overhead_us", json_real(c->step_overhead_s * 1e6));
    json_object_set_new(root, "peak_tflops", peaks);
    json_t *schemes = NULL;
    for (int k = 0; k < DB_PREC_COUNT; k++)
        if (c->scheme_peak_flops[k] > 0) {
            if (!schemes) schemes = json_object();
            json_object_set_new(schemes, db_precision_name((db_precision)k),
                                json_real(c->scheme_peak_flops[k] / 1e12));
        }
    if (schemes) json_object_set_new(root, "scheme_peak_tflops", schemes);
    if (fingerprint) json_object_set_new(root, "fingerprint", fingerprint);
    return root;
}

db_status db_device_write_json(const char *path, const db_device_ceilings *c,
                               const char *fingerprint_json, db_error *err) {
    json_t *fingerprint = NULL;
    if (fingerprint_json) {
        json_error_t jerr;
        fingerprint = json_loads(fingerprint_json, 0, &jerr);
        if (!json_is_object(fingerprint)) {
            json_decref(fingerprint);
            return db_error_set(err, DB_ERR_INVALID, "ceilings fingerprint must be a JSON object");
        }
    }
    json_t *root = ceilings_to_json(c, fingerprint);
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    db_status st = DB_OK;
    if (n < 0 || (size_t)n >= sizeof tmp)
        st = db_error_set(err, DB_ERR_INVALID, "ceilings file name too long: %s", path);
    else if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0)
        st = db_error_set(err, DB_ERR_IO, "ceilings file %s: cannot write %s", path, tmp);
    else if (rename(tmp, path) != 0)
        st = db_error_set(err, DB_ERR_IO, "ceilings file %s: cannot rename %s: %s", path, tmp,
                          strerror(errno));
    if (st != DB_OK && n > 0 && (size_t)n < sizeof tmp) unlink(tmp);
    json_decref(root);
    return st;
}

db_status db_device_resolve(const char *name_or_path, db_device_ceilings *out, db_error *err) {
    if (name_or_path && db_device_preset(name_or_path, out) == 0) return DB_OK;
    size_t n = name_or_path ? strlen(name_or_path) : 0;
    if (n > 5 && !strcmp(name_or_path + n - 5, ".json"))
        return db_device_load_json(name_or_path, out, err);
    return db_error_set(
        err, DB_ERR_INVALID,
        "unknown sim device '%s': expected h100-sxm, h200, a100-80g, l40s or a ceilings .json file",
        name_or_path ? name_or_path : "");
}
