/* model.h — model shapes: named presets, custom shapes from a JSON file, the shape stored in a llama2.c
 * checkpoint header, validation, and `--layers N` truncation.
 *
 * What it is for: turning a user's model argument into a checked db_model_config (engine.h) that every
 * backend and the cost model can trust (positive sizes, divisible heads, sizes that cannot overflow).
 * What it must not do: hold weights (checkpoint.h maps them), print, or exit.
 */
#ifndef DB_MODEL_H
#define DB_MODEL_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest accepted sizes. They keep every byte count of a checkpoint, a KV cache and the cost model
 * inside int64 and every single dimension inside int. */
enum {
    DB_MODEL_MAX_DIM = 65536,
    DB_MODEL_MAX_HIDDEN = 262144,
    DB_MODEL_MAX_LAYERS = 512,
    DB_MODEL_MAX_HEADS = 1024,
    DB_MODEL_MAX_VOCAB = 4194304,
    DB_MODEL_MAX_SEQ = 2097152,
};

/* The presets, in a fixed order: tiny, llama2c-15m, llama2c-110m, llama2-7b, llama3-8b, llama2-13b,
 * llama3-70b, mistral-7b. */
int db_model_preset_count(void);
const char *db_model_preset_name(int i); /* NULL when i is out of range */
/* Copies the preset into out; 0 on success, -1 when there is no preset of that name. */
int db_model_preset(const char *name, db_model_config *out);

/* Checks a shape: every size positive and within the limits above, dim divisible by n_heads, n_heads
 * divisible by n_kv_heads, an even head size (RoPE rotates pairs), rope_theta > 0, 0 < norm_eps < 1.
 * The message names every offending field. */
db_status db_model_validate(const db_model_config *m, db_error *err);

/* Reads a custom shape from a JSON object (format in the README; required: dim, hidden_dim, n_layers,
 * n_heads, vocab_size, max_seq_len; optional: name, n_kv_heads, rope_theta, norm_eps,
 * shared_classifier). Every missing, ill-typed, out-of-range, unknown or inconsistent field is named. */
db_status db_model_load_json(const char *path, db_model_config *out, db_error *err);

/* A preset name, a path ending in .json (custom shape) or a path ending in .bin (the header of a
 * llama2.c checkpoint, whose size is checked against the header). */
db_status db_model_resolve(const char *name_or_path, db_model_config *out, db_error *err);

/* Keeps the first n_layers layers (1 <= n_layers <= m->n_layers); the name gains "-L<n>" when it
 * changes. */
db_status db_model_truncate(db_model_config *m, int n_layers, db_error *err);

/* Parameter counts by part (db_model_param_count in engine.h is their sum). */
int64_t db_model_embedding_params(const db_model_config *m); /* vocab * dim */
int64_t db_model_layer_params(const db_model_config *m); /* one layer: attention, MLP, 2 norms */
int64_t db_model_classifier_params(const db_model_config *m); /* vocab * dim; 0 when shared */

#ifdef __cplusplus
}
#endif
#endif
