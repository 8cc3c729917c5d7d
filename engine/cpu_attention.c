/* cpu_attention.c — causal GQA attention over the paged KV cache (definition in cpu_attention.h).
 */
#include "cpu_attention.h"

#include <math.h>
#include <string.h>

typedef struct attention_job {
    const db_cpu_attention_args *a;
    int group; /* query heads per KV head */
    int head_size;
} attention_job;

size_t db_cpu_attention_scratch_floats(int n_heads, int n_kv_heads, int head_size, int max_ctx) {
    size_t group = (size_t)(n_heads / n_kv_heads);
    return group * (size_t)max_ctx + 2 * (size_t)head_size + 16;
}

/* a (n) . b (n) in eight interleaved partial sums (a fixed order, so results do not depend on the
 * thread or the batch; the compiler keeps the eight sums in one vector register). */
static float dot(const float *restrict a, const float *restrict b, int n) {
    float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += a[i + j] * b[i + j];
    for (int j = 0; i < n; i++, j++)
        acc[j] += a[i] * b[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* out (n) += w * v (n), eight lanes at a time (the shape the compiler turns into vector code). */
static void axpy(float *restrict out, float w, const float *restrict v, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            out[i + j] += w * v[i + j];
    for (; i < n; i++)
        out[i] += w * v[i];
}

/* Scores of the group's query heads q (group, hs) against key p: scores[h * n_ctx + p]. */
static void key_scores(const attention_job *j, const db_backend_seq_view *seq, int n_ctx, int g,
                       const float *q, float *scores, float *row) {
    const db_cpu_attention_args *a = j->a;
    const db_cpu_kv *kv = a->kv;
    int hs = j->head_size, bs = kv->block_size;
    float inv_sqrt = 1.0f / sqrtf((float)hs);
    for (int p = 0; p < n_ctx; p++) {
        size_t r = db_cpu_kv_row(kv, a->layer, seq->blocks[p / bs], p % bs);
        const float *k = db_cpu_kv_read_head(kv, 0, r, g, row);
        for (int h = 0; h < j->group; h++)
            scores[(size_t)h * (size_t)n_ctx + (size_t)p] =
                dot(q + (size_t)h * (size_t)hs, k, hs) * inv_sqrt;
    }
}

/* Softmax in place, as llama2.c: subtract the max, exponentiate, normalise. */
static void softmax(float *x, int n) {
    float mx = x[0];
    for (int p = 1; p < n; p++)
        mx = x[p] > mx ? x[p] : mx;
    float sum = 0.0f;
    for (int p = 0; p < n; p++) {
        x[p] = expf(x[p] - mx);
        sum += x[p];
    }
    float inv = 1.0f / sum;
    for (int p = 0; p < n; p++)
        x[p] *= inv;
}

/* Token t, KV head g: the group of query heads g*group .. (g+1)*group - 1.
 * scores (group, n_ctx) | row (head_size) are the thread's scratch. */
static void attend(const attention_job *j, int t, int g, float *scratch) {
    const db_cpu_attention_args *a = j->a;
    const db_cpu_kv *kv = a->kv;
    const db_backend_seq_view *seq = &a->seqs[a->tok_item[t]];
    int hs = j->head_size, group = j->group, n_ctx = a->tok_pos[t] + 1, bs = kv->block_size;
    size_t q_dim = (size_t)a->n_heads * (size_t)hs, head0 = (size_t)g * (size_t)group * (size_t)hs;
    float *scores = scratch, *row = scratch + (size_t)group * (size_t)n_ctx;
    float *out = a->out + (size_t)t * q_dim + head0;

    key_scores(j, seq, n_ctx, g, a->q + (size_t)t * q_dim + head0, scores, row);
    for (int h = 0; h < group; h++)
        softmax(scores + (size_t)h * (size_t)n_ctx, n_ctx);
    memset(out, 0, (size_t)group * (size_t)hs * sizeof(float));
    for (int p = 0; p < n_ctx; p++) { /* weighted sum of the values */
        size_t r = db_cpu_kv_row(kv, a->layer, seq->blocks[p / bs], p % bs);
        const float *v = db_cpu_kv_read_head(kv, 1, r, g, row);
        for (int h = 0; h < group; h++)
            axpy(out + (size_t)h * (size_t)hs, scores[(size_t)h * (size_t)n_ctx + (size_t)p], v,
                 hs);
    }
}

static void attention_task(void *arg, int task, int worker) {
    const attention_job *j = arg;
    int n_kv_heads = j->a->kv->n_kv_heads;
    attend(j, task / n_kv_heads, task % n_kv_heads,
           j->a->scratch + (size_t)worker * j->a->scratch_stride);
}

void db_cpu_attention(db_threadpool *pool, const db_cpu_attention_args *a) {
    attention_job j = {a, a->n_heads / a->kv->n_kv_heads, a->kv->head_size};
    db_threadpool_run_tasks(pool, a->T * a->kv->n_kv_heads, attention_task, &j);
}
