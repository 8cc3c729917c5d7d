/* sweep_ceilings_json.c — reading ceilings (presets, ceilings JSON with per-scheme peaks) and
 * writing the ceilings JSON file (sweep_ceilings.h). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sweep_ceilings.h"
#include "sweep_csv.h"

db_status db_ceilings_resolve(const char *preset_or_path, db_ceilings *out, db_error *err) {
    db_device_ceilings dev;
    db_status st = db_device_resolve(preset_or_path, &dev, err);
    if (st) return st;
    db_ceilings_from_device(&dev, preset_or_path, out);
    /* a file's optional per-scheme peaks, read and checked by devices.h */
    for (int p = 0; p < DB_PREC_COUNT; p++)
        out->scheme_peak[p] = dev.scheme_peak_flops[p];
    return DB_OK;
}

/* ---- writing -----------------------------------------------------------------------------------
 */

static int set_num(json_t *o, const char *k, double v) {
    return json_object_set_new(o, k, json_real(v));
}

static json_t *fingerprint_json(const db_kv_list *l) {
    json_t *o = json_object();
    for (size_t i = 0; o && l && i < l->n; i++) {
        const db_kv *kv = &l->items[i];
        json_object_set_new(o, kv->key,
                            kv->kind == DB_KV_INT ? json_integer(kv->int_value)
                                                  : json_string(kv->value));
    }
    return o;
}

static json_t *measurements_json(const db_ceilings *c) {
    json_t *a = json_array();
    for (int i = 0; a && i < c->n_meas; i++) {
        const db_ceilings_measurement *m = &c->meas[i];
        json_t *o = json_pack("{s:s, s:f, s:s, s:f, s:f, s:f, s:i, s:s}", "name", m->name, "value",
                              m->value, "unit", m->unit, "median_s", m->median_s, "min_s", m->min_s,
                              "max_s", m->max_s, "reps", m->reps, "method", m->method);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *ceilings_root(const db_ceilings *c, const db_kv_list *fingerprint) {
    json_t *root = json_object(), *peaks = json_object(), *schemes = json_object();
    if (!root || !peaks || !schemes) {
        json_decref(root), json_decref(peaks), json_decref(schemes);
        return NULL;
    }
    json_object_set_new(root, "device", json_string(c->dev.name));
    json_object_set_new(root, "source", json_string(c->dev.source));
    set_num(root, "memory_bandwidth_GBps", c->dev.memory_bandwidth / 1e9);
    if (c->dev.memory_bytes > 0) set_num(root, "memory_GB", c->dev.memory_bytes / 1e9);
    set_num(root, "step_overhead_us", c->dev.step_overhead_s * 1e6);
    for (int t = 0; t < DB_PEAK_COUNT; t++)
        if (c->dev.peak_flops[t] > 0)
            set_num(peaks, db_peak_type_name((db_peak_type)t), c->dev.peak_flops[t] / 1e12);
    json_object_set_new(root, "peak_tflops", peaks);
    int any_scheme = 0;
    for (int p = 0; p < DB_PREC_COUNT; p++)
        if (c->scheme_peak[p] > 0) {
            set_num(schemes, db_precision_name((db_precision)p), c->scheme_peak[p] / 1e12);
            any_scheme = 1;
        }
    if (any_scheme)
        json_object_set_new(root, "scheme_peak_tflops", schemes);
    else
        json_decref(schemes);
    if (c->n_meas > 0) json_object_set_new(root, "measurements", measurements_json(c));
    if (fingerprint) json_object_set_new(root, "fingerprint", fingerprint_json(fingerprint));
    return root;
}

char *db_ceilings_json(const db_ceilings *c, const db_kv_list *fingerprint) {
    json_t *root = ceilings_root(c, fingerprint);
    if (!root) return NULL;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    return text;
}

static int write_text(FILE *f, void *text) {
    return fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
}

db_status db_ceilings_write(const char *path, const db_ceilings *c, const db_kv_list *fingerprint,
                            db_error *err) {
    char *text = db_ceilings_json(c, fingerprint);
    if (!text) return db_error_set(err, DB_ERR_NOMEM, "ceilings JSON: out of memory");
    db_status st = db_write_atomic(path, write_text, text, err);
    free(text);
    return st;
}
