/* model.c — presets, validation, custom JSON shapes, resolution of a model argument, truncation. */
#include "model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"

/* Published shapes. llama2c-*: karpathy/llama2.c README (stories15M / stories110M, shared classifier).
 * llama2-*: Meta params.json / HF config (rope_theta 10000, rms_norm_eps 1e-5). llama3-*: HF config
 * (rope_theta 500000, rms_norm_eps 1e-5, vocab 128256). mistral-7b: Mistral-7B-v0.2 HF config
 * (rope_theta 1000000, max_position_embeddings 32768, sliding_window null: full causal attention; v0.1's
 * 4096-token sliding window was dropped in v0.2, so this preset needs none).
 * tiny: a test shape with GQA (2 query heads per KV head), head size 16 and a 256-token vocabulary. */
static const db_model_config presets[] = {
    {"tiny", 64, 172, 2, 4, 2, 256, 512, 10000.0f, 1e-5f, 0},
    {"llama2c-15m", 288, 768, 6, 6, 6, 32000, 256, 10000.0f, 1e-5f, 1},
    {"llama2c-110m", 768, 2048, 12, 12, 12, 32000, 1024, 10000.0f, 1e-5f, 1},
    {"llama2-7b", 4096, 11008, 32, 32, 32, 32000, 4096, 10000.0f, 1e-5f, 0},
    {"llama3-8b", 4096, 14336, 32, 32, 8, 128256, 8192, 500000.0f, 1e-5f, 0},
    {"llama2-13b", 5120, 13824, 40, 40, 40, 32000, 4096, 10000.0f, 1e-5f, 0},
    {"llama3-70b", 8192, 28672, 80, 64, 8, 128256, 8192, 500000.0f, 1e-5f, 0},
    {"mistral-7b", 4096, 14336, 32, 32, 8, 32000, 32768, 1000000.0f, 1e-5f, 0},
};
enum { N_PRESETS = sizeof presets / sizeof presets[0] };

int db_model_preset_count(void) {
    return N_PRESETS;
}

const char *db_model_preset_name(int i) {
    return i >= 0 && i < N_PRESETS ? presets[i].name : NULL;
}

int db_model_preset(const char *name, db_model_config *out) {
    for (int i = 0; name && i < N_PRESETS; i++)
        if (!strcmp(name, presets[i].name)) {
            *out = presets[i];
            return 0;
        }
    return -1;
}

/* ---- parameter counts ------------------------------------------------------------------------- */

int64_t db_model_embedding_params(const db_model_config *m) {
    return (int64_t)m->vocab_size * m->dim;
}

int64_t db_model_layer_params(const db_model_config *m) {
    int64_t d = m->dim, h = m->hidden_dim, kv = db_model_kv_dim(m);
    int64_t attention = d * d + 2 * kv * d + d * d; /* wq, wk, wv, wo */
    int64_t mlp = 3 * h * d;                        /* w1, w2, w3 */
    return attention + mlp + 2 * d;                 /* + rms_att, rms_ffn */
}

int64_t db_model_classifier_params(const db_model_config *m) {
    return m->shared_classifier ? 0 : (int64_t)m->vocab_size * m->dim;
}

int64_t db_model_param_count(const db_model_config *m) {
    return db_model_embedding_params(m) + m->n_layers * db_model_layer_params(m) + m->dim +
           db_model_classifier_params(m);
}

/* ---- problem lists: every problem of an input is named in one message --------------------------- */

typedef struct problems {
    char text[400];
    size_t len;
    int count;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...) {
    if (p->len + 3 >= sizeof p->text) {
        p->count++;
        return;
    }
    if (p->count++) {
        memcpy(p->text + p->len, "; ", 3);
        p->len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, sizeof p->text - p->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n < sizeof p->text - p->len ? (size_t)n : sizeof p->text - p->len - 1;
}

static void check_range(problems *p, const char *field, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) problem(p, "%s must be in %lld..%lld, got %lld", field, lo, hi, v);
}

/* Range checks of every size field, then the consistency checks that need valid sizes. */
static void validate_into(const db_model_config *m, problems *p) {
    int before = p->count;
    check_range(p, "dim", m->dim, 1, DB_MODEL_MAX_DIM);
    check_range(p, "hidden_dim", m->hidden_dim, 1, DB_MODEL_MAX_HIDDEN);
    check_range(p, "n_layers", m->n_layers, 1, DB_MODEL_MAX_LAYERS);
    check_range(p, "n_heads", m->n_heads, 1, DB_MODEL_MAX_HEADS);
    check_range(p, "n_kv_heads", m->n_kv_heads, 1, DB_MODEL_MAX_HEADS);
    check_range(p, "vocab_size", m->vocab_size, 1, DB_MODEL_MAX_VOCAB);
    check_range(p, "max_seq_len", m->max_seq_len, 1, DB_MODEL_MAX_SEQ);
    if (!(m->rope_theta > 0.0f) || !isfinite(m->rope_theta))
        problem(p, "rope_theta must be a positive finite number, got %g", (double)m->rope_theta);
    if (!(m->norm_eps > 0.0f && m->norm_eps < 1.0f))
        problem(p, "norm_eps must be in (0, 1), got %g", (double)m->norm_eps);
    if (p->count != before) return;
    if (m->dim % m->n_heads)
        problem(p, "dim %d is not divisible by n_heads %d", m->dim, m->n_heads);
    else if ((m->dim / m->n_heads) % 2)
        problem(p, "head size dim/n_heads = %d must be even (RoPE rotates pairs)",
                m->dim / m->n_heads);
    if (m->n_kv_heads > m->n_heads)
        problem(p, "n_kv_heads %d exceeds n_heads %d", m->n_kv_heads, m->n_heads);
    else if (m->n_heads % m->n_kv_heads)
        problem(p, "n_heads %d is not divisible by n_kv_heads %d", m->n_heads, m->n_kv_heads);
}

db_status db_model_validate(const db_model_config *m, db_error *err) {
    problems p = {0};
    validate_into(m, &p);
    if (p.count)
        return db_error_set(err, DB_ERR_INVALID, "model '%s': %s",
                            m->name[0] ? m->name : "(unnamed)", p.text);
    return DB_OK;
}

db_status db_model_truncate(db_model_config *m, int n_layers, db_error *err) {
    if (n_layers < 1 || n_layers > m->n_layers)
        return db_error_set(err, DB_ERR_INVALID,
                            "--layers expects 1..%d for model '%s' (its layer count), got %d",
                            m->n_layers, m->name, n_layers);
    if (n_layers == m->n_layers) return DB_OK;
    char name[96]; /* "-L<n>" after at most 55 characters of the name: <= 61 + NUL, as n <= 512 */
    snprintf(name, sizeof name, "%.55s-L%d", m->name, n_layers);
    size_t len = strlen(name) < sizeof m->name ? strlen(name) : sizeof m->name - 1;
    memcpy(m->name, name, len);
    m->name[len] = '\0';
    m->n_layers = n_layers;
    return DB_OK;
}

/* ---- custom shapes from JSON -------------------------------------------------------------------- */

typedef struct int_field {
    const char *key;
    size_t offset;
    int required;
    long long hi;
} int_field;

static const int_field int_fields[] = {
    {"dim", offsetof(db_model_config, dim), 1, DB_MODEL_MAX_DIM},
    {"hidden_dim", offsetof(db_model_config, hidden_dim), 1, DB_MODEL_MAX_HIDDEN},
    {"n_layers", offsetof(db_model_config, n_layers), 1, DB_MODEL_MAX_LAYERS},
    {"n_heads", offsetof(db_model_config, n_heads), 1, DB_MODEL_MAX_HEADS},
    {"n_kv_heads", offsetof(db_model_config, n_kv_heads), 0, DB_MODEL_MAX_HEADS},
    {"vocab_size", offsetof(db_model_config, vocab_size), 1, DB_MODEL_MAX_VOCAB},
    {"max_seq_len", offsetof(db_model_config, max_seq_len), 1, DB_MODEL_MAX_SEQ},
};
enum { N_INT_FIELDS = sizeof int_fields / sizeof int_fields[0] };
static const char *const other_fields[] = {"name", "rope_theta", "norm_eps", "shared_classifier"};

static int known_field(const char *key) {
    for (int i = 0; i < N_INT_FIELDS; i++)
        if (!strcmp(key, int_fields[i].key)) return 1;
    for (size_t i = 0; i < sizeof other_fields / sizeof other_fields[0]; i++)
        if (!strcmp(key, other_fields[i])) return 1;
    return 0;
}

/* Sets *out when the field is present and valid; otherwise names the problem (if any). */
static void json_int(json_t *root, const int_field *f, problems *p, int *out) {
    json_t *v = json_object_get(root, f->key);
    if (!v) {
        if (f->required) problem(p, "missing required field '%s'", f->key);
        return;
    }
    if (!json_is_integer(v)) {
        problem(p, "'%s' must be an integer", f->key);
        return;
    }
    long long x = json_integer_value(v);
    if (x < 1 || x > f->hi)
        problem(p, "'%s' must be in 1..%lld, got %lld", f->key, f->hi, x);
    else
        *out = (int)x;
}

static void json_positive(json_t *root, const char *key, double hi, problems *p, float *out) {
    json_t *v = json_object_get(root, key);
    if (!v) return;
    if (!json_is_number(v)) {
        problem(p, "'%s' must be a number", key);
        return;
    }
    double x = json_number_value(v);
    if (!(x > 0.0 && x < hi))
        problem(p, "'%s' must be in (0, %g), got %g", key, hi, x);
    else
        *out = (float)x;
}

static int name_char_ok(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '+';
}

static void json_name(json_t *root, const char *path, problems *p, db_model_config *m) {
    json_t *v = json_object_get(root, "name");
    if (!v) { /* the file name without directory and extension */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strcspn(base, ".");
        snprintf(m->name, sizeof m->name, "%.*s",
                 (int)(n < sizeof m->name ? n : sizeof m->name - 1), base);
        return;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    int ok = s && n >= 1 && n < sizeof m->name;
    for (size_t i = 0; ok && i < n; i++)
        ok = name_char_ok(s[i]);
    if (!ok)
        problem(p, "'name' must be a string of 1..%zu characters from [A-Za-z0-9._+-]",
                sizeof m->name - 1);
    else
        memcpy(m->name, s, n + 1);
}

static void parse_shape(json_t *root, const char *path, problems *p, db_model_config *m) {
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!known_field(key))
            problem(p,
                    "unknown field '%s' (expected dim, hidden_dim, n_layers, n_heads, n_kv_heads, "
                    "vocab_size, max_seq_len, name, rope_theta, norm_eps, shared_classifier)",
                    key);
    }
    for (int i = 0; i < N_INT_FIELDS; i++)
        json_int(root, &int_fields[i], p, (int *)((char *)m + int_fields[i].offset));
    if (!json_object_get(root, "n_kv_heads")) m->n_kv_heads = m->n_heads; /* no GQA */
    json_positive(root, "rope_theta", 1e30, p, &m->rope_theta);
    json_positive(root, "norm_eps", 1.0, p, &m->norm_eps);
    json_t *sc = json_object_get(root, "shared_classifier");
    if (sc && !json_is_boolean(sc))
        problem(p, "'shared_classifier' must be true or false");
    else if (sc)
        m->shared_classifier = json_is_true(sc);
    json_name(root, path, p, m);
}

db_status db_model_load_json(const char *path, db_model_config *out, db_error *err) {
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return db_error_set(err, DB_ERR_IO, "model file %s: cannot open: %s", path,
                                strerror(errno));
        fclose(f);
        return db_error_set(err, DB_ERR_INVALID, "model file %s: line %d, column %d: %s", path,
                            jerr.line, jerr.column, jerr.text);
    }
    db_model_config m = {.rope_theta = 10000.0f, .norm_eps = 1e-5f};
    problems p = {0};
    if (!json_is_object(root))
        problem(&p, "expected a JSON object with the model's shape fields");
    else
        parse_shape(root, path, &p, &m);
    json_decref(root);
    if (!p.count) validate_into(&m, &p);
    if (p.count) return db_error_set(err, DB_ERR_INVALID, "model file %s: %s", path, p.text);
    *out = m;
    return DB_OK;
}

/* ---- a model argument: preset, .json, or .bin --------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

db_status db_model_resolve(const char *name_or_path, db_model_config *out, db_error *err) {
    if (!name_or_path || !*name_or_path)
        return db_error_set(err, DB_ERR_INVALID,
                            "no model given: expected a preset name, a .json shape file or a "
                            "llama2.c .bin checkpoint");
    if (db_model_preset(name_or_path, out) == 0) return DB_OK;
    if (ends_with(name_or_path, ".json")) return db_model_load_json(name_or_path, out, err);
    if (ends_with(name_or_path, ".bin")) return db_checkpoint_read_config(name_or_path, out, err);
    char names[256];
    size_t len = 0;
    for (int i = 0; i < N_PRESETS; i++) {
        size_t k = strlen(presets[i].name);
        if (len + k + 3 > sizeof names) break;
        if (i) memcpy(names + len, ", ", 2), len += 2;
        memcpy(names + len, presets[i].name, k), len += k;
    }
    names[len] = '\0';
    return db_error_set(err, DB_ERR_INVALID,
                        "unknown model '%s': expected a preset (%s), a .json shape file or a "
                        "llama2.c .bin checkpoint",
                        name_or_path, names);
}
