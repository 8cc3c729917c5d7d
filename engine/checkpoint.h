/* checkpoint.h — llama2.c checkpoints (.bin, the legacy "version 0" export of karpathy/llama2.c).
 *
 * What it is for: validating a checkpoint's header and exact size, mapping the file read-only and
 * exposing each fp32 tensor with its shape, so a backend can copy or quantise the weights.
 * What it must not do: convert, quantise or copy weights (backends do), write to the mapping, print.
 *
 * File layout (little-endian): seven int32 header fields
 *   dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 * (a negative vocab_size means the classifier is stored separately: unshared), then fp32 tensors:
 *   token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
 *   two legacy RoPE tables of seq_len * head_size / 2 floats each (skipped),
 *   wcls (only when unshared).
 * Matrices are row-major with one row per output feature: y = W x reads W as (out, in).
 */
#ifndef DB_CHECKPOINT_H
#define DB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DB_CHECKPOINT_HEADER_BYTES = 7 * 4 };

typedef struct db_checkpoint {
    db_model_config config; /* from the header; name = file name without directory and .bin */
    /* All pointers point into the read-only mapping. L = n_layers, d = dim, h = hidden_dim,
     * kv = n_kv_heads * head_size, V = vocab_size. */
    const float *token_embedding; /* (V, d) */
    const float *rms_att;         /* (L, d) */
    const float *wq;              /* (L, d, d): out n_heads * head_size, in d */
    const float *wk;              /* (L, kv, d) */
    const float *wv;              /* (L, kv, d) */
    const float *wo;              /* (L, d, d): out d, in n_heads * head_size */
    const float *rms_ffn;         /* (L, d) */
    const float *w1;              /* (L, h, d): gate */
    const float *w2;              /* (L, d, h): down */
    const float *w3;              /* (L, h, d): up */
    const float *rms_final;       /* (d) */
    const float *wcls;            /* (V, d); the same pointer as token_embedding when shared */
    void *map;                    /* the mapping (private) */
    size_t map_bytes;
} db_checkpoint;

/* Exact file size in bytes of a checkpoint of this shape (header, tensors, RoPE tables, classifier
 * when unshared); -1 if the shape is invalid. */
int64_t db_checkpoint_expected_bytes(const db_model_config *m);

/* Reads and validates the header and checks the file size against it; fills cfg (rope_theta 10000,
 * norm_eps 1e-5 as llama2.c uses). Reads 28 bytes. */
db_status db_checkpoint_read_config(const char *path, db_model_config *cfg, db_error *err);

/* Validates as above, maps the file read-only and sets the tensor pointers. On failure ck is zeroed
 * and nothing stays mapped. */
db_status db_checkpoint_open(const char *path, db_checkpoint *ck, db_error *err);
/* Unmaps; safe on a zeroed or already-closed checkpoint. */
void db_checkpoint_close(db_checkpoint *ck);

/* DB_OK when the model m can be loaded from a checkpoint of shape f (the same shape; m may keep fewer
 * layers), else DB_ERR_INVALID naming path and both shapes. */
db_status db_checkpoint_check_shape(const db_model_config *m, const db_model_config *f,
                                    const char *path, db_error *err);

#ifdef __cplusplus
}
#endif
#endif
