#include "gate_samples.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>

/* ---- the containers -------------------------------------------------------------------------- */

/* Grows *arr (elements of `size` bytes) to hold one more than *n. 0, or -1 when memory runs out. */
static int grow(void **arr, size_t *cap, size_t n, size_t size) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * size);
    if (!p) return -1;
    memset((char *)p + *cap * size, 0, (nc - *cap) * size);
    *arr = p;
    *cap = nc;
    return 0;
}

static void env_free(db_gate_env *e) {
    for (size_t i = 0; i < e->n; i++)
        free(e->keys[i]), free(e->values[i]);
    free(e->keys), free(e->values), free(e->source);
}

void db_gate_samples_free(db_gate_samples *s) {
    for (size_t i = 0; i < s->n_points; i++) {
        db_gate_point *p = &s->points[i];
        for (size_t j = 0; j < p->n; j++)
            free(p->series[j].metric), free(p->series[j].v);
        free(p->series), free(p->key);
    }
    for (size_t i = 0; i < s->n_envs; i++)
        env_free(&s->envs[i]);
    free(s->points), free(s->envs), free(s->command_line);
    memset(s, 0, sizeof *s);
}

const db_gate_point *db_gate_samples_point(const db_gate_samples *s, const char *key) {
    for (size_t i = 0; i < s->n_points; i++)
        if (!strcmp(s->points[i].key, key)) return &s->points[i];
    return NULL;
}

const db_gate_series *db_gate_point_series(const db_gate_point *p, const char *metric) {
    for (size_t i = 0; p && i < p->n; i++)
        if (!strcmp(p->series[i].metric, metric)) return &p->series[i];
    return NULL;
}

const char *db_gate_env_get(const db_gate_env *e, const char *key) {
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->keys[i], key)) return e->values[i];
    return NULL;
}

static db_gate_point *point_get(db_gate_samples *s, const char *key) {
    db_gate_point *p = (db_gate_point *)db_gate_samples_point(s, key);
    if (p) return p;
    if (grow((void **)&s->points, &s->cap_points, s->n_points, sizeof *s->points)) return NULL;
    p = &s->points[s->n_points];
    if (!(p->key = strdup(key))) return NULL;
    s->n_points++;
    return p;
}

int db_gate_samples_add(db_gate_samples *s, const char *key, const char *metric, double value) {
    db_gate_point *p = point_get(s, key);
    if (!p) return -1;
    db_gate_series *ser = (db_gate_series *)db_gate_point_series(p, metric);
    if (!ser) {
        if (grow((void **)&p->series, &p->cap, p->n, sizeof *p->series)) return -1;
        ser = &p->series[p->n];
        if (!(ser->metric = strdup(metric))) return -1;
        p->n++;
    }
    if (grow((void **)&ser->v, &ser->cap, ser->n, sizeof *ser->v)) return -1;
    ser->v[ser->n++] = value;
    return 0;
}

static db_gate_env *env_new(db_gate_samples *s, const char *source) {
    if (grow((void **)&s->envs, &s->cap_envs, s->n_envs, sizeof *s->envs)) return NULL;
    db_gate_env *e = &s->envs[s->n_envs];
    if (!(e->source = strdup(source))) return NULL;
    s->n_envs++;
    return e;
}

static int env_add(db_gate_env *e, const char *key, const char *value) {
    size_t cap = e->cap;
    if (grow((void **)&e->keys, &cap, e->n, sizeof *e->keys) ||
        grow((void **)&e->values, &e->cap, e->n, sizeof *e->values))
        return -1;
    if (!(e->keys[e->n] = strdup(key))) return -1;
    if (!(e->values[e->n] = strdup(value))) {
        free(e->keys[e->n]);
        return -1;
    }
    e->n++;
    return 0;
}

/* ---- summary.json ---------------------------------------------------------------------------- */

/* The text of a scalar for the fingerprint: strings as they are, numbers as JSON writes them. */
static void scalar_text(const json_t *v, char *buf, size_t len) {
    if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.17g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, len, "true");
    else if (json_is_false(v))
        snprintf(buf, len, "false");
    else
        snprintf(buf, len, "null");
}

static int add_env_object(db_gate_env *e, const json_t *obj, const char *prefix, int depth) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        char name[256], text[1024];
        int w = snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (w < 0 || (size_t)w >= sizeof name) continue; /* a path this long is no field of ours */
        if (json_is_object(v)) {
            if (depth < 4 && add_env_object(e, v, name, depth + 1)) return -1;
            continue;
        }
        if (json_is_array(v)) continue;
        scalar_text(v, text, sizeof text);
        if (env_add(e, name, text)) return -1;
    }
    return 0;
}

/* Every number under obj becomes a metric named by its dotted path; depth is bounded. */
static int add_numbers(db_gate_samples *s, const json_t *obj, const char *prefix, int depth,
                       size_t *count) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (!*prefix && !strcmp(k, "environment")) continue;
        char name[256];
        int w = snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (w < 0 || (size_t)w >= sizeof name) continue; /* a path this long is no metric of ours */
        if (json_is_object(v) && depth < 4) {
            if (add_numbers(s, v, name, depth + 1, count)) return -1;
        } else if (json_is_number(v) && isfinite(json_number_value(v))) {
            if (db_gate_samples_add(s, "", name, json_number_value(v))) return -1;
            (*count)++;
        }
    }
    return 0;
}

int db_gate_samples_add_summary(db_gate_samples *s, const json_t *o, const char *source, char *msg,
                                size_t len) {
    if (!json_is_object(o)) {
        snprintf(msg, len, "%s: expected a JSON object (a run's summary.json)", source);
        return -1;
    }
    const json_t *complete = json_object_get(o, "complete");
    if (json_is_false(complete)) {
        snprintf(msg, len,
                 "%s: the run was interrupted (\"complete\": false); its numbers are partial",
                 source);
        return -1;
    }
    const json_t *env = json_object_get(o, "environment");
    if (env && !json_is_object(env)) {
        snprintf(msg, len, "%s: field \"environment\" must be an object", source);
        return -1;
    }
    size_t count = 0;
    if (add_numbers(s, o, "", 0, &count)) goto oom;
    if (count == 0) {
        snprintf(msg, len, "%s: no numeric fields (expected a run's summary.json)", source);
        return -1;
    }
    if (env) {
        db_gate_env *e = env_new(s, source);
        if (!e || add_env_object(e, env, "", 0)) goto oom;
    }
    const json_t *cmd = json_object_get(o, "command_line");
    if (!s->command_line && json_is_string(cmd) && *json_string_value(cmd) &&
        !(s->command_line = strdup(json_string_value(cmd))))
        goto oom;
    s->n_sources++;
    return 0;
oom:
    snprintf(msg, len, "%s: out of memory", source);
    return -1;
}

/* ---- the baseline file ----------------------------------------------------------------------- */

json_t *db_gate_samples_to_json(const db_gate_samples *s) {
    json_t *o = json_object(), *points = json_array(), *envs = json_array();
    int bad = !o || !points || !envs;
    bad |= json_object_set_new(o, "format", json_string(DB_GATE_BASELINE_FORMAT));
    bad |= json_object_set_new(o, "version", json_integer(DB_GATE_BASELINE_VERSION));
    bad |= json_object_set_new(o, "runs", json_integer((json_int_t)s->n_sources));
    bad |= json_object_set_new(o, "command_line",
                               s->command_line ? json_string(s->command_line) : json_null());
    for (size_t i = 0; !bad && i < s->n_points; i++) {
        const db_gate_point *p = &s->points[i];
        json_t *pt = json_object(), *metrics = json_object();
        bad |= !pt || !metrics;
        for (size_t j = 0; !bad && j < p->n; j++) {
            json_t *arr = json_array();
            for (size_t k = 0; arr && k < p->series[j].n; k++)
                bad |= json_array_append_new(arr, json_real(p->series[j].v[k]));
            bad |= json_object_set_new(metrics, p->series[j].metric, arr);
        }
        bad |= json_object_set_new(pt, "key", json_string(p->key));
        bad |= json_object_set_new(pt, "metrics", metrics);
        bad |= json_array_append_new(points, pt);
    }
    for (size_t i = 0; !bad && i < s->n_envs; i++) {
        json_t *e = json_object();
        bad |= !e;
        for (size_t j = 0; !bad && j < s->envs[i].n; j++)
            bad |= json_object_set_new(e, s->envs[i].keys[j], json_string(s->envs[i].values[j]));
        bad |= json_array_append_new(envs, e);
    }
    bad |= json_object_set_new(o, "points", points);
    bad |= json_object_set_new(o, "environments", envs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int load_baseline_points(db_gate_samples *s, const json_t *points, const char *src,
                                char *msg, size_t len) {
    size_t i, j;
    json_t *pt, *v;
    json_array_foreach(points, i, pt) {
        const json_t *key = json_object_get(pt, "key"), *metrics = json_object_get(pt, "metrics");
        if (!json_is_string(key) || !json_is_object(metrics)) {
            snprintf(msg, len, "%s: points[%zu] needs a string \"key\" and an object \"metrics\"",
                     src, i);
            return -1;
        }
        const char *name;
        json_t *arr;
        json_object_foreach((json_t *)metrics, name, arr) {
            if (!json_is_array(arr)) {
                snprintf(msg, len, "%s: points[%zu].metrics.%s must be an array of numbers", src, i,
                         name);
                return -1;
            }
            json_array_foreach(arr, j, v) {
                if (!json_is_number(v) || !isfinite(json_number_value(v))) {
                    snprintf(msg, len, "%s: points[%zu].metrics.%s[%zu] is not a number", src, i,
                             name, j);
                    return -1;
                }
                if (db_gate_samples_add(s, json_string_value(key), name, json_number_value(v))) {
                    snprintf(msg, len, "%s: out of memory", src);
                    return -1;
                }
            }
        }
    }
    return 0;
}

static int load_baseline(db_gate_samples *s, const json_t *o, const char *src, char *msg,
                         size_t len) {
    const json_t *ver = json_object_get(o, "version"), *points = json_object_get(o, "points");
    const json_t *envs = json_object_get(o, "environments"),
                 *cmd = json_object_get(o, "command_line");
    const json_t *runs = json_object_get(o, "runs");
    if (!json_is_integer(ver) || json_integer_value(ver) != DB_GATE_BASELINE_VERSION) {
        snprintf(msg, len, "%s: unsupported baseline version (expected \"version\": %d)", src,
                 DB_GATE_BASELINE_VERSION);
        return -1;
    }
    if (!json_is_array(points) || (envs && !json_is_array(envs))) {
        snprintf(msg, len,
                 "%s: a baseline needs a \"points\" array (and \"environments\", if "
                 "present, must be an array)",
                 src);
        return -1;
    }
    if (load_baseline_points(s, points, src, msg, len)) return -1;
    size_t i;
    json_t *e;
    json_array_foreach(envs, i, e) {
        if (!json_is_object(e)) {
            snprintf(msg, len, "%s: environments[%zu] must be an object", src, i);
            return -1;
        }
        db_gate_env *ge = env_new(s, src);
        if (!ge || add_env_object(ge, e, "", 0)) {
            snprintf(msg, len, "%s: out of memory", src);
            return -1;
        }
    }
    if (!s->command_line && json_is_string(cmd) &&
        !(s->command_line = strdup(json_string_value(cmd)))) {
        snprintf(msg, len, "%s: out of memory", src);
        return -1;
    }
    s->n_sources += json_is_integer(runs) && json_integer_value(runs) > 0
                        ? (size_t)json_integer_value(runs)
                        : 1;
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

static int load_json(db_gate_samples *s, const char *path, char *msg, size_t len) {
    json_error_t je;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(msg, len, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
        return -1;
    }
    const json_t *fmt = json_object_get(o, "format");
    int rc;
    if (json_is_string(fmt) && !strcmp(json_string_value(fmt), DB_GATE_BASELINE_FORMAT))
        rc = load_baseline(s, o, path, msg, len);
    else
        rc = db_gate_samples_add_summary(s, o, path, msg, len);
    json_decref(o);
    return rc;
}

/* 1 when dir/summary.json exists (written to file). */
static int has_summary(const char *dir, char *file, size_t len) {
    struct stat st;
    return snprintf(file, len, "%s/summary.json", dir) < (int)len && stat(file, &st) == 0 &&
           S_ISREG(st.st_mode);
}

static int only_dirs(const struct dirent *d) {
    return d->d_name[0] != '.';
}

/* A run directory (its summary.json), or a directory of run directories (each one's summary.json,
 * in name order: what --repeat writes). */
static int load_dir(db_gate_samples *s, const char *path, char *msg, size_t len) {
    char file[4096], sub[4096];
    if (has_summary(path, file, sizeof file)) return load_json(s, file, msg, len);
    struct dirent **names = NULL;
    int n = scandir(path, &names, only_dirs, alphasort), found = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 &&
            snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name) < (int)sizeof sub &&
            has_summary(sub, file, sizeof file)) {
            found++;
            rc = load_json(s, file, msg, len);
        }
        free(names[i]);
    }
    free(names);
    if (rc == 0 && found == 0) {
        snprintf(msg, len,
                 "%s: neither a run directory (no summary.json) nor a directory of run "
                 "directories",
                 path);
        rc = -1;
    }
    return rc;
}

int db_gate_samples_load(db_gate_samples *s, const char *path, const db_gate_load_opts *o,
                         char *msg, size_t len) {
    struct stat st;
    if (stat(path, &st)) {
        snprintf(msg, len, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) return load_dir(s, path, msg, len);
    if (ends_with(path, ".csv")) return db_gate_samples_load_csv(s, path, o, msg, len);
    return load_json(s, path, msg, len);
}
