/* bench_cpu_decode.c — decode throughput of the CPU backend: tokens/s, achieved GB/s and GFLOP/s of
 * a decode step (bytes and FLOPs from db_engine_cost) per precision and batch size, beside this
 * machine's copy bandwidth (kernels/cpu_ceilings.h) measured in the same rounds.
 *
 *   bench_cpu_decode [--model llama2c-110m] [--precisions fp32,int8,int4] [--batches 1,4,16,64,256]
 *                    [--context 32] [--steps 9] [--kv-dtype fp32] [--threads 0] [--bw-mib 256]
 *
 * One engine per precision (synthetic weights), all open at once. For each batch B, every engine
 * gets B sequences prefilled with `context` seeded tokens in one step and 2 warm-up decode steps;
 * then `steps` rounds, each timing one decode step of every engine in turn and one memcpy bandwidth
 * measurement, so that whatever else runs on the machine weighs on all of them alike. Figures are
 * medians over the rounds: step time, tokens/s = B / step time, GB/s = the step's analytic bytes
 * (weights, KV read and write, activations) / step time, GFLOP/s likewise, %copy = GB/s over the
 * median copy bandwidth (memcpy, read + written bytes as STREAM counts).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ceilings.h"
#include "engine.h"
#include "model.h"
#include "synth.h"

enum { MAX_LIST = 16, MAX_ROUNDS = 64, WARMUP = 2 };

typedef struct bench_args {
    const char *model;
    db_precision precisions[MAX_LIST];
    int n_precisions;
    int batches[MAX_LIST];
    int n_batches;
    int context, steps, threads, bw_mib;
    db_kv_dtype kv;
} bench_args;

/* B sequences decoding on one engine. */
typedef struct session {
    db_engine *e;
    int B, pos;
    int *ids;
    int32_t *prompts, *next, *cur;
    db_work *w;
    double times[MAX_ROUNDS];
    double bytes, flops; /* of a measured step */
} session;

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--model NAME] [--precisions p,q,...] [--batches a,b,...] [--context N]\n"
            "          [--steps N (<= %d)] [--kv-dtype D] [--threads T] [--bw-mib N]\n",
            argv0, MAX_ROUNDS);
    return 2;
}

static int parse_list(const char *s, int *out, int max, db_precision *prec) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max) return -1;
        if (prec) {
            if (db_precision_parse(tok, &prec[n])) return -1;
        } else if ((out[n] = atoi(tok)) < 1) {
            return -1;
        }
        n++;
    }
    return n;
}

static int parse_args(int argc, char **argv, bench_args *a) {
    *a = (bench_args){
        .model = "llama2c-110m", .context = 32, .steps = 9, .bw_mib = 256, .kv = DB_KV_FP32};
    a->n_precisions = parse_list("fp32,int8,int4", NULL, MAX_LIST, a->precisions);
    a->n_batches = parse_list("1,4,16,64,256", a->batches, MAX_LIST, NULL);
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) return -1;
        const char *f = argv[i], *v = argv[i + 1];
        if (!strcmp(f, "--model"))
            a->model = v;
        else if (!strcmp(f, "--precisions"))
            a->n_precisions = parse_list(v, NULL, MAX_LIST, a->precisions);
        else if (!strcmp(f, "--batches"))
            a->n_batches = parse_list(v, a->batches, MAX_LIST, NULL);
        else if (!strcmp(f, "--context"))
            a->context = atoi(v);
        else if (!strcmp(f, "--steps"))
            a->steps = atoi(v);
        else if (!strcmp(f, "--threads"))
            a->threads = atoi(v);
        else if (!strcmp(f, "--bw-mib"))
            a->bw_mib = atoi(v);
        else if (!strcmp(f, "--kv-dtype")) {
            if (db_kv_dtype_parse(v, &a->kv)) return -1;
        } else
            return -1;
    }
    return a->n_precisions < 1 || a->n_batches < 1 || a->context < 1 || a->steps < 1 ||
                   a->steps > MAX_ROUNDS || a->bw_mib < 1
               ? -1
               : 0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One decode step of every sequence of the session: each feeds back its last token. */
static int session_step(session *s, double *seconds) {
    db_error err;
    for (int i = 0; i < s->B; i++) {
        s->cur[i] = s->next[i];
        s->w[i] = (db_work){s->ids[i], s->pos, 1, &s->cur[i], 1};
    }
    db_step_result res = {s->next, NULL, 0, 0};
    if (db_engine_step(s->e, s->w, s->B, &res, &err) != DB_OK) {
        fprintf(stderr, "bench_cpu_decode: step: %s\n", err.msg);
        return -1;
    }
    db_cost c;
    db_engine_cost(s->e, s->w, s->B, &c);
    s->bytes = c.total_bytes, s->flops = c.total_flops;
    s->pos++;
    *seconds = res.step_seconds;
    return 0;
}

/* Allocates B sequences and prefills them with `context` seeded tokens in one step. */
static int session_start(session *s, db_engine *e, int B, int context, int vocab) {
    memset(s, 0, sizeof *s);
    s->e = e, s->B = B;
    s->ids = malloc((size_t)B * sizeof *s->ids);
    s->prompts = malloc((size_t)B * context * sizeof *s->prompts);
    s->next = malloc((size_t)B * sizeof *s->next);
    s->cur = malloc((size_t)B * sizeof *s->cur);
    s->w = malloc((size_t)B * sizeof *s->w);
    if (!s->ids || !s->prompts || !s->next || !s->cur || !s->w) return -1;
    db_error err;
    for (int i = 0; i < B; i++) {
        if (db_seq_alloc(e, &s->ids[i], &err) != DB_OK) return fprintf(stderr, "%s\n", err.msg), -1;
        uint64_t key = db_synth_key(7, 0xBE000000u + (uint32_t)i);
        int32_t *p = s->prompts + (size_t)i * context;
        for (int t = 0; t < context; t++)
            p[t] = (int32_t)(db_synth_bits(key, (uint64_t)t) % (uint64_t)vocab);
        s->w[i] = (db_work){s->ids[i], 0, context, p, 1};
    }
    db_step_result res = {s->next, NULL, 0, 0};
    if (db_engine_step(e, s->w, B, &res, &err) != DB_OK)
        return fprintf(stderr, "%s\n", err.msg), -1;
    s->pos = context;
    return 0;
}

static void session_end(session *s) {
    db_error err;
    for (int i = 0; s->ids && i < s->B; i++)
        db_seq_free(s->e, s->ids[i], &err);
    free(s->ids), free(s->prompts), free(s->next), free(s->cur), free(s->w);
}

static db_engine *open_engine(const bench_args *a, const db_model_config *m, db_precision p,
                              int max_batch) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_CPU;
    o.model = *m;
    o.precision = p;
    o.kv_dtype = a->kv;
    o.threads = a->threads;
    int per_seq = (a->context + WARMUP + a->steps + 1 + 15) / 16 * 16;
    o.kv_tokens = (int64_t)max_batch * per_seq;
    db_engine *e = NULL;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) fprintf(stderr, "bench_cpu_decode: %s\n", err.msg);
    return e;
}

/* The pool size of an engine, from its device name ("..., N threads"). */
static int engine_threads(const db_engine *e) {
    const char *comma = strrchr(db_engine_device_name(e), ',');
    int n = 0;
    return comma && sscanf(comma + 1, "%d", &n) == 1 && n > 0 ? n : 1;
}

/* Rounds of one batch size over every engine; prints one row per precision. */
static int run_batch(const bench_args *a, db_engine **engines, int B, int vocab, int threads,
                     double *tps_b1) {
    session s[MAX_LIST];
    double copy[MAX_ROUNDS], t;
    int rc = 0;
    for (int p = 0; p < a->n_precisions && !rc; p++)
        rc = session_start(&s[p], engines[p], B, a->context, vocab);
    for (int k = 0; k < WARMUP && !rc; k++)
        for (int p = 0; p < a->n_precisions && !rc; p++)
            rc = session_step(&s[p], &t);
    for (int r = 0; r < a->steps && !rc; r++) {
        for (int p = 0; p < a->n_precisions && !rc; p++)
            rc = session_step(&s[p], &s[p].times[r]);
        if (db_cpu_bandwidth(DB_BW_COPY_MEMCPY, (size_t)a->bw_mib << 20, threads, 1, &copy[r]))
            rc = -1;
    }
    if (!rc) {
        double bw = median(copy, a->steps);
        for (int p = 0; p < a->n_precisions; p++) {
            double step = median(s[p].times, a->steps), gbps = s[p].bytes / step * 1e-9;
            if (B == 1) tps_b1[a->precisions[p]] = B / step;
            printf("%-9s %6d %10.3f %10.1f %8.2f %9.2f %9.2f %6.1f%%\n",
                   db_precision_name(a->precisions[p]), B, step * 1e3, B / step, gbps,
                   s[p].flops / step * 1e-9, bw, 100.0 * gbps / bw);
        }
        fflush(stdout);
    }
    for (int p = 0; p < a->n_precisions; p++)
        session_end(&s[p]);
    return rc;
}

int main(int argc, char **argv) {
    bench_args a;
    if (parse_args(argc, argv, &a)) return usage(argv[0]);
    db_model_config m;
    db_error err;
    if (db_model_resolve(a.model, &m, &err) != DB_OK) return fprintf(stderr, "%s\n", err.msg), 2;
    if (a.context + WARMUP + a.steps + 1 > m.max_seq_len)
        return fprintf(stderr, "context too long\n"), 2;
    int max_batch = 0, rc = 0;
    for (int i = 0; i < a.n_batches; i++)
        max_batch = a.batches[i] > max_batch ? a.batches[i] : max_batch;
    db_engine *engines[MAX_LIST] = {0};
    for (int p = 0; p < a.n_precisions && !rc; p++)
        if (!(engines[p] = open_engine(&a, &m, a.precisions[p], max_batch))) rc = 1;
    if (rc) return 1;
    int threads = engine_threads(engines[0]);
    printf("device: %s\n", db_engine_device_name(engines[0]));
    printf("model %s (dim %d, %d layers, vocab %d, %s classifier), context %d, KV %s; medians of "
           "%d rounds\n"
           "(copy = memcpy bandwidth over 2 x %d MiB on %d threads, measured in each round)\n\n",
           m.name, m.dim, m.n_layers, m.vocab_size, m.shared_classifier ? "shared" : "unshared",
           a.context, db_kv_dtype_name(a.kv), a.steps, a.bw_mib, threads);
    printf("%-9s %6s %10s %10s %8s %9s %9s %7s\n", "precision", "batch", "step_ms", "tokens/s",
           "GB/s", "GFLOP/s", "copy_GB/s", "%copy");
    double tps_b1[DB_PREC_COUNT] = {0};
    for (int bi = 0; bi < a.n_batches && !rc; bi++)
        rc = run_batch(&a, engines, a.batches[bi], m.vocab_size, threads, tps_b1);
    for (int p = 0; p < a.n_precisions; p++)
        db_engine_close(engines[p]);
    if (!rc && tps_b1[DB_PREC_FP32] > 0) {
        printf("\nbatch 1 tokens/s relative to fp32:");
        for (int p = 0; p < DB_PREC_COUNT; p++)
            if (tps_b1[p] > 0 && p != DB_PREC_FP32)
                printf(" %s %.2fx", db_precision_name((db_precision)p),
                       tps_b1[p] / tps_b1[DB_PREC_FP32]);
        printf("\n");
    }
    return rc ? 1 : 0;
}
