/* checkpoint_fixture.h — writes small llama2.c checkpoints for tests.
 *
 * Every tensor is filled with its own constant (its 1-based position in the file order: token_embedding
 * 1, rms_att 2, wq 3, wk 4, wv 5, wo 6, rms_ffn 7, w1 8, w2 9, w3 10, rms_final 11, the RoPE tables 12,
 * wcls 13), so a test can tell where each tensor starts and ends. `size_delta` bytes are cut from the
 * end (negative) or appended (positive) to make a corrupt file.
 */
#ifndef DB_TEST_CHECKPOINT_FIXTURE_H
#define DB_TEST_CHECKPOINT_FIXTURE_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"

static inline int fixture_write_fill(FILE *f, int64_t count, float value) {
    for (int64_t i = 0; i < count; i++)
        if (fwrite(&value, sizeof value, 1, f) != 1) return -1;
    return 0;
}

/* Returns 0 on success. */
static inline int fixture_write_checkpoint(const char *path, const db_model_config *m,
                                           long size_delta) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int64_t d = m->dim, h = m->hidden_dim, L = m->n_layers, V = m->vocab_size;
    int64_t hs = d / m->n_heads, kv = m->n_kv_heads * hs;
    int32_t header[7] = {m->dim,        m->hidden_dim,
                         m->n_layers,   m->n_heads,
                         m->n_kv_heads, m->shared_classifier ? m->vocab_size : -m->vocab_size,
                         m->max_seq_len};
    int rc = fwrite(header, sizeof header, 1, f) == 1 ? 0 : -1;
    const int64_t counts[] = {V * d,      L * d,     L * d * d, L * kv * d,
                              L * kv * d, L * d * d, L * d,     L * h * d,
                              L * d * h,  L * h * d, d,         (int64_t)m->max_seq_len * hs};
    for (int i = 0; rc == 0 && i < 12; i++)
        rc = fixture_write_fill(f, counts[i], (float)(i + 1));
    if (rc == 0 && !m->shared_classifier) rc = fixture_write_fill(f, V * d, 13.0f);
    for (long i = 0; rc == 0 && i < size_delta; i++)
        if (fputc(0, f) == EOF) rc = -1;
    if (fclose(f) != 0) rc = -1;
    if (rc == 0 && size_delta < 0) {
        FILE *g = fopen(path, "rb");
        if (!g || fseek(g, 0, SEEK_END) != 0) rc = -1;
        long size = g ? ftell(g) : -1;
        if (g) fclose(g);
        if (rc == 0) rc = truncate(path, size + size_delta);
    }
    return rc;
}

/* A fresh temporary directory (mkdtemp) for a test's files; NULL on failure. */
static inline char *fixture_tempdir(void) {
    char tmpl[] = "/tmp/decodebench-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) return NULL;
    char *copy = malloc(sizeof tmpl);
    if (copy) snprintf(copy, sizeof tmpl, "%s", dir);
    return copy;
}

static inline int fixture_remove_entry(const char *path, const struct stat *st, int type,
                                       struct FTW *ftw) {
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* Removes the directory and everything in it, then frees the name. */
static inline void fixture_remove_dir(char *dir) {
    if (dir) nftw(dir, fixture_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

#endif
