/* checkpoint.c — llama2.c .bin checkpoints: header validation, exact size check, read-only mapping. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

/* The first field of llama2.c's newer export formats (version 1 and 2) is this magic, "ak42". */
enum { LLAMA2C_EXPORT_MAGIC = 0x616b3432 };

int64_t db_checkpoint_expected_bytes(const db_model_config *m) {
    if (db_model_validate(m, NULL) != DB_OK) return -1;
    int64_t d = m->dim, h = m->hidden_dim, L = m->n_layers, V = m->vocab_size;
    int64_t kv = db_model_kv_dim(m), hs = db_model_head_size(m);
    int64_t floats = V * d                                  /* token_embedding */
                     + L * d                                /* rms_att */
                     + L * d * d + 2 * L * kv * d           /* wq, wk, wv */
                     + L * d * d                            /* wo */
                     + L * d                                /* rms_ffn */
                     + 3 * L * h * d                        /* w1, w2, w3 */
                     + d                                    /* rms_final */
                     + 2 * (int64_t)m->max_seq_len * hs / 2 /* legacy RoPE tables */
                     + (m->shared_classifier ? 0 : V * d);  /* wcls */
    return DB_CHECKPOINT_HEADER_BYTES + 4 * floats;
}

static void name_from_path(const char *path, char *name, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".bin")) n -= 4;
    if (n >= cap) n = cap - 1;
    memcpy(name, base, n);
    name[n] = '\0';
}

/* Reads the header from fd, fills cfg and checks the file size (fstat) against it. */
static db_status read_header(int fd, const char *path, db_model_config *cfg, int64_t *file_bytes,
                             db_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return db_error_set(err, DB_ERR_IO, "checkpoint %s: cannot stat: %s", path,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return db_error_set(err, DB_ERR_INVALID, "checkpoint %s: not a regular file", path);
    int32_t h[7];
    ssize_t got = pread(fd, h, sizeof h, 0);
    if (got != (ssize_t)sizeof h)
        return db_error_set(
            err, DB_ERR_INVALID,
            "checkpoint %s: file is %lld bytes, shorter than the %d-byte header (7 int32 fields)",
            path, (long long)st.st_size, DB_CHECKPOINT_HEADER_BYTES);
    if (h[0] == LLAMA2C_EXPORT_MAGIC)
        return db_error_set(
            err, DB_ERR_INVALID,
            "checkpoint %s: this is a llama2.c export version %d file (magic 'ak42'); only the "
            "legacy version-0 .bin layout is supported (export with --version 0)",
            path, h[1]);
    if (h[5] < -DB_MODEL_MAX_VOCAB || h[5] == 0)
        return db_error_set(
            err, DB_ERR_INVALID,
            "checkpoint %s: header vocab_size must be non-zero and within +-%d, got %d", path,
            DB_MODEL_MAX_VOCAB, h[5]);
    db_model_config m = {.dim = h[0],
                         .hidden_dim = h[1],
                         .n_layers = h[2],
                         .n_heads = h[3],
                         .n_kv_heads = h[4],
                         .vocab_size = h[5] < 0 ? -h[5] : h[5],
                         .max_seq_len = h[6],
                         .rope_theta = 10000.0f,
                         .norm_eps = 1e-5f,
                         .shared_classifier = h[5] > 0};
    name_from_path(path, m.name, sizeof m.name);
    db_error verr;
    if (db_model_validate(&m, &verr) != DB_OK)
        return db_error_set(err, DB_ERR_INVALID, "checkpoint %s: bad header: %s", path, verr.msg);
    int64_t want = db_checkpoint_expected_bytes(&m);
    if ((int64_t)st.st_size != want)
        return db_error_set(err, DB_ERR_INVALID,
                            "checkpoint %s: header (dim %d, hidden_dim %d, n_layers %d, n_heads "
                            "%d, n_kv_heads %d, vocab_size %d, seq_len %d, %s classifier) implies "
                            "%lld bytes, the file has %lld bytes%s",
                            path, m.dim, m.hidden_dim, m.n_layers, m.n_heads, m.n_kv_heads, h[5],
                            m.max_seq_len, m.shared_classifier ? "shared" : "unshared",
                            (long long)want, (long long)st.st_size,
                            (int64_t)st.st_size < want ? " (truncated?)" : "");
    *cfg = m;
    *file_bytes = want;
    return DB_OK;
}

db_status db_checkpoint_read_config(const char *path, db_model_config *cfg, db_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return db_error_set(err, DB_ERR_IO, "checkpoint %s: cannot open: %s", path,
                            strerror(errno));
    int64_t bytes;
    db_status s = read_header(fd, path, cfg, &bytes, err);
    close(fd);
    return s;
}

/* Lays the tensor pointers over the mapping in file order. */
static void set_tensors(db_checkpoint *ck) {
    const db_model_config *m = &ck->config;
    int64_t d = m->dim, h = m->hidden_dim, L = m->n_layers, V = m->vocab_size;
    int64_t kv = db_model_kv_dim(m), hs = db_model_head_size(m);
    const float *p = (const float *)((const char *)ck->map + DB_CHECKPOINT_HEADER_BYTES);
    ck->token_embedding = p, p += V * d;
    ck->rms_att = p, p += L * d;
    ck->wq = p, p += L * d * d;
    ck->wk = p, p += L * kv * d;
    ck->wv = p, p += L * kv * d;
    ck->wo = p, p += L * d * d;
    ck->rms_ffn = p, p += L * d;
    ck->w1 = p, p += L * h * d;
    ck->w2 = p, p += L * d * h;
    ck->w3 = p, p += L * h * d;
    ck->rms_final = p, p += d;
    p += (int64_t)m->max_seq_len * hs; /* freq_cis_real, freq_cis_imag: (seq_len, head_size / 2) */
    ck->wcls = m->shared_classifier ? ck->token_embedding : p;
}

db_status db_checkpoint_open(const char *path, db_checkpoint *ck, db_error *err) {
    memset(ck, 0, sizeof *ck);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return db_error_set(err, DB_ERR_IO, "checkpoint %s: cannot open: %s", path,
                            strerror(errno));
    int64_t bytes = 0;
    db_status s = read_header(fd, path, &ck->config, &bytes, err);
    if (s != DB_OK) {
        close(fd);
        memset(ck, 0, sizeof *ck);
        return s;
    }
    void *map = mmap(NULL, (size_t)bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) {
        memset(ck, 0, sizeof *ck);
        return db_error_set(err, map_errno == ENOMEM ? DB_ERR_NOMEM : DB_ERR_IO,
                            "checkpoint %s: cannot map %lld bytes: %s", path, (long long)bytes,
                            strerror(map_errno));
    }
    ck->map = map;
    ck->map_bytes = (size_t)bytes;
    set_tensors(ck);
    return DB_OK;
}

void db_checkpoint_close(db_checkpoint *ck) {
    if (ck && ck->map) munmap(ck->map, ck->map_bytes);
    if (ck) memset(ck, 0, sizeof *ck);
}

db_status db_checkpoint_check_shape(const db_model_config *m, const db_model_config *f,
                                    const char *path, db_error *err) {
    if (m->dim != f->dim || m->hidden_dim != f->hidden_dim || m->n_heads != f->n_heads ||
        m->n_kv_heads != f->n_kv_heads || m->vocab_size != f->vocab_size ||
        m->shared_classifier != f->shared_classifier || m->n_layers > f->n_layers ||
        m->n_layers < 1)
        return db_error_set(
            err, DB_ERR_INVALID,
            "%s: the checkpoint's shape (dim %d, hidden_dim %d, %d layers, %d heads, "
            "%d kv heads, vocab %d, %s classifier) does not match the model asked for "
            "(dim %d, hidden_dim %d, %d layers, %d heads, %d kv heads, vocab %d, %s)",
            path, f->dim, f->hidden_dim, f->n_layers, f->n_heads, f->n_kv_heads, f->vocab_size,
            f->shared_classifier ? "shared" : "unshared", m->dim, m->hidden_dim, m->n_layers,
            m->n_heads, m->n_kv_heads, m->vocab_size, m->shared_classifier ? "shared" : "unshared");
    return DB_OK;
}
