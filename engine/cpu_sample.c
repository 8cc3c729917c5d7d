/* cpu_sample.c — greedy argmax and seeded temperature / top-k sampling. */
#include "cpu_sample.h"

#include <math.h>
#include <stdlib.h>

#include "synth.h"

/* Tensor id of the sampling stream (far above any weight tensor id of cpu_weights.h). */
#define DB_SAMPLE_STREAM 0xFFFFFF01u

int db_cpu_argmax(const float *logits, int n) {
    int best = -1;
    for (int i = 0; i < n; i++)
        if (logits[i] == logits[i] && (best < 0 || logits[i] > logits[best])) best = i;
    return best < 0 ? 0 : best;
}

double db_cpu_sample_uniform(uint64_t seed, int seq_id, int pos) {
    uint64_t index = ((uint64_t)(uint32_t)seq_id << 32) | (uint32_t)pos;
    uint64_t bits = db_synth_bits(db_synth_key(seed, DB_SAMPLE_STREAM), index);
    return (double)(bits >> 11) * 0x1.0p-53;
}

/* "a ranks before b": larger logit, or equal logit and lower index. */
static int ranks_before(const float *l, int a, int b) {
    return l[a] > l[b] || (l[a] == l[b] && a < b);
}

/* Min-heap (by rank: the worst candidate on top) of k indices. */
static void sift_down(const float *l, int *h, int k, int i) {
    for (;;) {
        int c = 2 * i + 1;
        if (c >= k) return;
        if (c + 1 < k && ranks_before(l, h[c], h[c + 1])) c++;
        if (!ranks_before(l, h[i], h[c])) return;
        int t = h[i];
        h[i] = h[c];
        h[c] = t;
        i = c;
    }
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Fills idx with the top_k candidates in ascending index order; returns their count. */
static int top_k_candidates(const float *l, int n, int k, int *idx) {
    int m = 0;
    if (k >= n) { /* every (non-NaN) token: already in index order */
        for (int i = 0; i < n; i++)
            if (l[i] == l[i]) idx[m++] = i;
        return m;
    }
    for (int i = 0; i < n; i++) {
        if (l[i] != l[i]) continue; /* NaN: never a candidate */
        if (m < k) {
            idx[m++] = i;
            if (m == k)
                for (int j = k / 2 - 1; j >= 0; j--)
                    sift_down(l, idx, k, j);
        } else if (ranks_before(l, i, idx[0])) {
            idx[0] = i;
            sift_down(l, idx, k, 0);
        }
    }
    qsort(idx, (size_t)m, sizeof *idx, cmp_int);
    return m;
}

int db_cpu_sample(const float *logits, int n, float temperature, int top_k, double u, int *idx) {
    int k = (top_k <= 0 || top_k > n) ? n : top_k;
    int m = top_k_candidates(logits, n, k, idx);
    if (m == 0) return 0;
    float mx = logits[idx[0]];
    for (int j = 1; j < m; j++)
        mx = logits[idx[j]] > mx ? logits[idx[j]] : mx;
    double sum = 0.0;
    for (int j = 0; j < m; j++)
        sum += exp((double)(logits[idx[j]] - mx) / temperature);
    double target = u * sum, acc = 0.0;
    for (int j = 0; j < m; j++) {
        acc += exp((double)(logits[idx[j]] - mx) / temperature);
        if (target < acc) return idx[j];
    }
    return idx[m - 1];
}
