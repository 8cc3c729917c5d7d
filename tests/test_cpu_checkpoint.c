/* A llama2.c checkpoint decodes on the CPU backend exactly as llama2.c decodes it.
 *
 * The test writes a small random checkpoint (tiny's shape: dim 64, hidden 172, 2 layers, 4 heads,
 * 2 KV heads, vocab 256, seq_len 128; shared and unshared classifier), opens it through the engine
 * API at fp32 and compares its greedy tokens with those of `plain_forward` below: a direct
 * transcription of run.c's forward() (karpathy/llama2.c, fp32, one token at a time) over the raw
 * file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model.h"
#include "synth.h"

enum { DIM = 64, HIDDEN = 172, LAYERS = 2, HEADS = 4, KV_HEADS = 2, VOCAB = 256, SEQ_LEN = 128 };
enum { PROMPT = 5, GEN = 40 };

/* ---- the plain fp32 implementation (llama2.c run.c, transcribed) --------------------------------
 */

typedef struct plain {
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len, file_layers;
    float *data; /* the whole file after the header */
    float *token_embedding_table, *rms_att_weight, *wq, *wk, *wv, *wo, *rms_ffn_weight, *w1, *w2,
        *w3, *rms_final_weight, *wcls;
    float *x, *xb, *xb2, *hb, *hb2, *q, *att, *logits, *key_cache, *value_cache;
} plain;

/* Reads the file as run.c's read_checkpoint + memory_map_weights do; keeps only n_layers layers
 * (the file holds file_layers). */
static void plain_load(plain *p, const char *path, int n_layers) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    int h[7];
    assert_int_equal(fread(h, sizeof(int), 7, f), 7);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f) - 7 * (long)sizeof(int);
    fseek(f, 7 * (long)sizeof(int), SEEK_SET);
    p->data = malloc((size_t)bytes);
    assert_int_equal(fread(p->data, 1, (size_t)bytes, f), (size_t)bytes);
    fclose(f);
    p->dim = h[0], p->hidden_dim = h[1], p->file_layers = h[2], p->n_heads = h[3],
    p->n_kv_heads = h[4];
    int shared_weights = h[5] > 0 ? 1 : 0;
    p->vocab_size = abs(h[5]), p->seq_len = h[6], p->n_layers = n_layers;
    int head_size = p->dim / p->n_heads;
    unsigned long long n_layers_file = (unsigned long long)p->file_layers;
    float *ptr = p->data;
    p->token_embedding_table = ptr;
    ptr += p->vocab_size * p->dim;
    p->rms_att_weight = ptr;
    ptr += n_layers_file * p->dim;
    p->wq = ptr;
    ptr += n_layers_file * p->dim * (p->n_heads * head_size);
    p->wk = ptr;
    ptr += n_layers_file * p->dim * (p->n_kv_heads * head_size);
    p->wv = ptr;
    ptr += n_layers_file * p->dim * (p->n_kv_heads * head_size);
    p->wo = ptr;
    ptr += n_layers_file * (p->n_heads * head_size) * p->dim;
    p->rms_ffn_weight = ptr;
    ptr += n_layers_file * p->dim;
    p->w1 = ptr;
    ptr += n_layers_file * p->dim * p->hidden_dim;
    p->w2 = ptr;
    ptr += n_layers_file * p->hidden_dim * p->dim;
    p->w3 = ptr;
    ptr += n_layers_file * p->dim * p->hidden_dim;
    p->rms_final_weight = ptr;
    ptr += p->dim;
    ptr += p->seq_len * head_size / 2; /* skip what used to be freq_cis_real (for RoPE) */
    ptr += p->seq_len * head_size / 2; /* skip what used to be freq_cis_imag (for RoPE) */
    p->wcls = shared_weights ? p->token_embedding_table : ptr;
    int kv_dim = (p->dim * p->n_kv_heads) / p->n_heads;
    p->x = calloc(p->dim, sizeof(float)), p->xb = calloc(p->dim, sizeof(float));
    p->xb2 = calloc(p->dim, sizeof(float)), p->hb = calloc(p->hidden_dim, sizeof(float));
    p->hb2 = calloc(p->hidden_dim, sizeof(float)), p->q = calloc(p->dim, sizeof(float));
    p->key_cache = calloc((size_t)p->n_layers * p->seq_len * kv_dim, sizeof(float));
    p->value_cache = calloc((size_t)p->n_layers * p->seq_len * kv_dim, sizeof(float));
    p->att = calloc((size_t)p->n_heads * p->seq_len, sizeof(float));
    p->logits = calloc(p->vocab_size, sizeof(float));
}

static void plain_free(plain *p) {
    float *all[] = {p->data, p->x,         p->xb,          p->xb2, p->hb,    p->hb2,
                    p->q,    p->key_cache, p->value_cache, p->att, p->logits};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

static void rmsnorm(float *o, float *x, float *weight, int size) {
    float ss = 0.0f;
    for (int j = 0; j < size; j++)
        ss += x[j] * x[j];
    ss /= size;
    ss += 1e-5f;
    ss = 1.0f / sqrtf(ss);
    for (int j = 0; j < size; j++)
        o[j] = weight[j] * (ss * x[j]);
}

static void softmax(float *x, int size) {
    float max_val = x[0];
    for (int i = 1; i < size; i++)
        if (x[i] > max_val) max_val = x[i];
    float sum = 0.0f;
    for (int i = 0; i < size; i++) {
        x[i] = expf(x[i] - max_val);
        sum += x[i];
    }
    for (int i = 0; i < size; i++)
        x[i] /= sum;
}

static void matmul(float *xout, float *x, float *w, int n, int d) {
    for (int i = 0; i < d; i++) {
        float val = 0.0f;
        for (int j = 0; j < n; j++)
            val += w[i * n + j] * x[j];
        xout[i] = val;
    }
}

static float *plain_forward(plain *p, int token, int pos) {
    float *x = p->x;
    int dim = p->dim;
    int kv_dim = (p->dim * p->n_kv_heads) / p->n_heads;
    int kv_mul = p->n_heads / p->n_kv_heads;
    int hidden_dim = p->hidden_dim;
    int head_size = dim / p->n_heads;
    memcpy(x, p->token_embedding_table + token * dim, dim * sizeof(*x));
    for (unsigned long long l = 0; l < (unsigned long long)p->n_layers; l++) {
        rmsnorm(p->xb, x, p->rms_att_weight + l * dim, dim);
        int loff = l * p->seq_len * kv_dim;
        float *k = p->key_cache + loff + pos * kv_dim;
        float *v = p->value_cache + loff + pos * kv_dim;
        matmul(p->q, p->xb, p->wq + l * dim * dim, dim, dim);
        matmul(k, p->xb, p->wk + l * dim * kv_dim, dim, kv_dim);
        matmul(v, p->xb, p->wv + l * dim * kv_dim, dim, kv_dim);
        for (int i = 0; i < dim; i += 2) {
            int head_dim = i % head_size;
            float freq = 1.0f / powf(10000.0f, head_dim / (float)head_size);
            float val = pos * freq;
            float fcr = cosf(val);
            float fci = sinf(val);
            int rotn = i < kv_dim ? 2 : 1;
            for (int vi = 0; vi < rotn; vi++) {
                float *vec = vi == 0 ? p->q : k;
                float v0 = vec[i];
                float v1 = vec[i + 1];
                vec[i] = v0 * fcr - v1 * fci;
                vec[i + 1] = v0 * fci + v1 * fcr;
            }
        }
        for (int h = 0; h < p->n_heads; h++) {
            float *q = p->q + h * head_size;
            float *att = p->att + h * p->seq_len;
            for (int t = 0; t <= pos; t++) {
                float *kt = p->key_cache + loff + t * kv_dim + (h / kv_mul) * head_size;
                float score = 0.0f;
                for (int i = 0; i < head_size; i++)
                    score += q[i] * kt[i];
                score /= sqrtf(head_size);
                att[t] = score;
            }
            softmax(att, pos + 1);
            float *xb = p->xb + h * head_size;
            memset(xb, 0, head_size * sizeof(float));
            for (int t = 0; t <= pos; t++) {
                float *vt = p->value_cache + loff + t * kv_dim + (h / kv_mul) * head_size;
                float a = att[t];
                for (int i = 0; i < head_size; i++)
                    xb[i] += a * vt[i];
            }
        }
        matmul(p->xb2, p->xb, p->wo + l * dim * dim, dim, dim);
        for (int i = 0; i < dim; i++)
            x[i] += p->xb2[i];
        rmsnorm(p->xb, x, p->rms_ffn_weight + l * dim, dim);
        matmul(p->hb, p->xb, p->w1 + l * dim * hidden_dim, dim, hidden_dim);
        matmul(p->hb2, p->xb, p->w3 + l * dim * hidden_dim, dim, hidden_dim);
        for (int i = 0; i < hidden_dim; i++) {
            float val = p->hb[i];
            val *= (1.0f / (1.0f + expf(-val)));
            val *= p->hb2[i];
            p->hb[i] = val;
        }
        matmul(p->xb, p->hb, p->w2 + l * dim * hidden_dim, hidden_dim, dim);
        for (int i = 0; i < dim; i++)
            x[i] += p->xb[i];
    }
    rmsnorm(x, x, p->rms_final_weight, dim);
    matmul(p->logits, x, p->wcls, p->dim, p->vocab_size);
    return p->logits;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* ---- writing a checkpoint
 * ------------------------------------------------------------------------- */

/* n floats of tensor `id`: offset + scale * uniform(-1, 1). */
static void write_tensor(FILE *f, uint32_t id, size_t n, float scale, float offset) {
    for (size_t i = 0; i < n; i++) {
        float v = offset + scale * db_synth_uniform(77, id, i);
        assert_int_equal(fwrite(&v, sizeof v, 1, f), 1);
    }
}

/* A random checkpoint of the test shape; scales as the synthetic model's (engine/cpu_weights.h), so
 * greedy decoding wanders. Returns the path (static buffer per `shared`). */
static const char *write_checkpoint(int shared) {
    static char paths[2][64];
    char *path = paths[shared];
    snprintf(path, sizeof paths[0], "cpu_ckpt_%s_%d.bin", shared ? "shared" : "unshared",
             (int)getpid());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    int hs = DIM / HEADS, kv = KV_HEADS * hs;
    int h[7] = {DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, shared ? VOCAB : -VOCAB, SEQ_LEN};
    assert_int_equal(fwrite(h, sizeof h, 1, f), 1);
    float sd = sqrtf(3.0f / DIM), sh = sqrtf(3.0f / HIDDEN);
    write_tensor(f, 0, (size_t)VOCAB * DIM, sd, 0.0f);               /* token embedding */
    write_tensor(f, 1, (size_t)LAYERS * DIM, 0.125f, 1.0f);          /* rms_att */
    write_tensor(f, 2, (size_t)LAYERS * DIM * DIM, 2 * sd, 0.0f);    /* wq */
    write_tensor(f, 3, (size_t)LAYERS * kv * DIM, 2 * sd, 0.0f);     /* wk */
    write_tensor(f, 4, (size_t)LAYERS * kv * DIM, sd, 0.0f);         /* wv */
    write_tensor(f, 5, (size_t)LAYERS * DIM * DIM, sd, 0.0f);        /* wo */
    write_tensor(f, 6, (size_t)LAYERS * DIM, 0.125f, 1.0f);          /* rms_ffn */
    write_tensor(f, 7, (size_t)LAYERS * HIDDEN * DIM, sd, 0.0f);     /* w1 */
    write_tensor(f, 8, (size_t)LAYERS * DIM * HIDDEN, sh, 0.0f);     /* w2 */
    write_tensor(f, 9, (size_t)LAYERS * HIDDEN * DIM, sd, 0.0f);     /* w3 */
    write_tensor(f, 10, (size_t)DIM, 0.125f, 1.0f);                  /* rms_final */
    write_tensor(f, 11, (size_t)SEQ_LEN * hs, 1.0f, 0.0f);           /* two legacy RoPE tables */
    if (!shared) write_tensor(f, 12, (size_t)VOCAB * DIM, sd, 0.0f); /* wcls */
    assert_int_equal(fclose(f), 0);
    return path;
}

/* ---- the engine side
 * ------------------------------------------------------------------------------- */

static db_engine *open_checkpoint(const char *path, int layers, db_precision p) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_CPU;
    o.precision = p;
    db_error err;
    if (db_model_resolve(path, &o.model, &err) != DB_OK) fail_msg("%s", err.msg);
    if (layers && db_model_truncate(&o.model, layers, &err) != DB_OK) fail_msg("%s", err.msg);
    o.checkpoint_path = path;
    o.kv_tokens = SEQ_LEN;
    o.threads = 2;
    db_engine *e = NULL;
    if (db_engine_open(&o, &e, &err) != DB_OK) fail_msg("db_engine_open: %s", err.msg);
    return e;
}

/* Greedy tokens of the engine and of the plain implementation from the same prompt. */
static void engine_matches_plain(const char *path, int layers) {
    plain p;
    plain_load(&p, path, layers ? layers : LAYERS);
    db_engine *e = open_checkpoint(path, layers, DB_PREC_FP32);
    int32_t prompt[PROMPT] = {1, 42, 7, 200, 13}, ours[GEN], theirs[GEN];
    /* plain: the prompt one token at a time, then greedy */
    int token = prompt[0];
    for (int pos = 0; pos < PROMPT + GEN - 1; pos++) {
        int next = argmax(plain_forward(&p, token, pos), VOCAB);
        if (pos >= PROMPT - 1) theirs[pos - PROMPT + 1] = next;
        token = pos + 1 < PROMPT ? prompt[pos + 1] : next;
    }
    /* engine: the prompt as one prefill chunk, then decode steps */
    db_error err;
    int id;
    assert_int_equal(db_seq_alloc(e, &id, &err), DB_OK);
    db_work w = {id, 0, PROMPT, prompt, 1};
    db_step_result res = {&ours[0], NULL, 0, 0};
    assert_int_equal(db_engine_step(e, &w, 1, &res, &err), DB_OK);
    for (int k = 1; k < GEN; k++) {
        w = (db_work){id, PROMPT + k - 1, 1, &ours[k - 1], 1};
        res.next_tokens = &ours[k];
        assert_int_equal(db_engine_step(e, &w, 1, &res, &err), DB_OK);
    }
    int distinct = 0, seen[VOCAB] = {0};
    for (int k = 0; k < GEN; k++)
        distinct += !seen[theirs[k]]++;
    assert_true(distinct >=
                8); /* a decode that says something, so the comparison means something */
    assert_memory_equal(ours, theirs, sizeof ours);
    db_engine_close(e);
    plain_free(&p);
}

static void unshared_checkpoint_decodes_as_llama2c(void **state) {
    const char *path = write_checkpoint(0);
    engine_matches_plain(path, 0);
    unlink(path);
}

static void shared_checkpoint_decodes_as_llama2c(void **state) {
    const char *path = write_checkpoint(1);
    engine_matches_plain(path, 0);
    unlink(path);
}

/* --layers 1 keeps the first layer of the file (layer strides still follow the file's 2 layers). */
static void first_layer_of_checkpoint_decodes_as_llama2c(void **state) {
    const char *path = write_checkpoint(0);
    engine_matches_plain(path, 1);
    unlink(path);
}

/* Quantised schemes load the same file (db_linear_init_f32) and still decode. */
static void checkpoint_loads_in_every_scheme(void **state) {
    const char *path = write_checkpoint(1);
    db_precision schemes[] = {DB_PREC_FP16, DB_PREC_BF16, DB_PREC_FP8, DB_PREC_INT8, DB_PREC_INT4};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        db_engine *e = open_checkpoint(path, 0, schemes[i]);
        db_error err;
        int id;
        int32_t prompt[PROMPT] = {1, 42, 7, 200, 13}, next = -1;
        assert_int_equal(db_seq_alloc(e, &id, &err), DB_OK);
        db_work w = {id, 0, PROMPT, prompt, 1};
        db_step_result res = {&next, NULL, 0, 0};
        assert_int_equal(db_engine_step(e, &w, 1, &res, &err), DB_OK);
        assert_true(next >= 0 && next < VOCAB);
        db_engine_close(e);
    }
    unlink(path);
}

/* A checkpoint whose shape differs from the model asked for is refused with the file named. */
static void checkpoint_of_another_shape_is_refused(void **state) {
    const char *path = write_checkpoint(0);
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_CPU;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.model.hidden_dim = 128; /* the file has 172 */
    o.checkpoint_path = path;
    o.kv_tokens = 64;
    db_engine *e = NULL;
    db_error err;
    assert_int_not_equal(db_engine_open(&o, &e, &err), DB_OK);
    assert_null(e);
    assert_non_null(strstr(err.msg, path));
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unshared_checkpoint_decodes_as_llama2c),
        cmocka_unit_test(shared_checkpoint_decodes_as_llama2c),
        cmocka_unit_test(first_layer_of_checkpoint_decodes_as_llama2c),
        cmocka_unit_test(checkpoint_loads_in_every_scheme),
        cmocka_unit_test(checkpoint_of_another_shape_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
