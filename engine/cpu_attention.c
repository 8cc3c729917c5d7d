/* cpu_attention.c — causal GQA attention over the paged KV cache (definition in cpu_attention.h). */
#include "cpu_attention.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

typedef struct attention_job {
    const db_cpu_attention_args *a;
    int group;      /* query heads per KV head */
    int head_size;
    int n_tasks;    /* T * n_kv_heads */
    atomic_int next;
} attention_job;

size_t db_cpu_attention_scratch_floats(int n_heads, int n_kv_heads, int head_size, int max_ctx) {
    size_t group = (size_t)(n_heads / n_kv_heads);
    return group * (size_t)max_ctx + 2 * (size_t)head_size + 16;
}

/* Token t, KV head g: the group of query heads g*group .. (g+1)*group - 1.
 * scores (group, n_ctx) | row (head_size) are the thread's scratch. */
static void attend(const attention_job *j, int t, int g, float *scratch) {
    const db_cpu_attention_args *a = j->a;
    const db_cpu_kv *kv = a->kv;
    const db_backend_seq_view *seq = &a->seqs[a->tok_item[t]];
    int hs = j->head_size, group = j->group, n_ctx = a->tok_pos[t] + 1, bs = kv->block_size;
    size_t q_dim = (size_t)a->n_heads * (size_t)hs;
    float *scores = scratch, *row = scratch + (size_t)group * (size_t)n_ctx;
    const float *q = a->q + (size_t)t * q_dim + (size_t)g * (size_t)group * (size_t)hs;
    float *out = a->out + (size_t)t * q_dim + (size_t)g * (size_t)group * (size_t)hs;
    float inv_sqrt = 1.0f / sqrtf((float)hs);

    for (int p = 0; p < n_ctx; p++) { /* scores of every head of the group against key p */
        size_t r = db_cpu_kv_row(kv, a->layer, seq->blocks[p / bs], p % bs);
        const float *k = db_cpu_kv_read_head(kv, 0, r, g, row);
        for (int h = 0; h < group; h++) {
            const float *qh = q + (size_t)h * (size_t)hs;
            float s = 0.0f;
            for (int i = 0; i < hs; i++) s += qh[i] * k[i];
            scores[(size_t)h * (size_t)n_ctx + (size_t)p] = s * inv_sqrt;
        }
    }
    for (int h = 0; h < group; h++) { /* softmax, as llama2.c: subtract the max, exp, normalise */
        float *sc = scores + (size_t)h * (size_t)n_ctx;
        float mx = sc[0];
        for (int p = 1; p < n_ctx; p++) mx = sc[p] > mx ? sc[p] : mx;
        float sum = 0.0f;
        for (int p = 0; p < n_ctx; p++) {
            sc[p] = expf(sc[p] - mx);
            sum += sc[p];
        }
        for (int p = 0; p < n_ctx; p++) sc[p] /= sum;
    }
    memset(out, 0, (size_t)group * (size_t)hs * sizeof(float));
    for (int p = 0; p < n_ctx; p++) { /* weighted sum of the values */
        size_t r = db_cpu_kv_row(kv, a->layer, seq->blocks[p / bs], p % bs);
        const float *v = db_cpu_kv_read_head(kv, 1, r, g, row);
        for (int h = 0; h < group; h++) {
            float w = scores[(size_t)h * (size_t)n_ctx + (size_t)p];
            float *oh = out + (size_t)h * (size_t)hs;
            for (int i = 0; i < hs; i++) oh[i] += w * v[i];
        }
    }
}

static void attention_worker(void *arg, int thread_idx, int n_threads) {
    attention_job *j = arg;
    float *scratch = j->a->scratch + (size_t)thread_idx * j->a->scratch_stride;
    for (;;) {
        int task = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (task >= j->n_tasks) return;
        int n_kv_heads = j->a->kv->n_kv_heads;
        attend(j, task / n_kv_heads, task % n_kv_heads, scratch);
    }
}

void db_cpu_attention(db_threadpool *pool, const db_cpu_attention_args *a) {
    attention_job j;
    j.a = a;
    j.group = a->n_heads / a->kv->n_kv_heads;
    j.head_size = a->kv->head_size;
    j.n_tasks = a->T * a->kv->n_kv_heads;
    atomic_init(&j.next, 0);
    if (j.n_tasks <= 1 || db_threadpool_size(pool) == 1)
        attention_worker(&j, 0, 1);
    else
        db_threadpool_run(pool, attention_worker, &j);
}
