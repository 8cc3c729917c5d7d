/* bench_cpu_decode.c — decode throughput of the CPU backend: tokens/s, achieved GB/s and GFLOP/s of
 * a decode step (bytes and FLOPs from db_engine_cost) per precision and batch size, beside this
 * machine's copy bandwidth (kernels/cpu_ceilings.h).
 *
 *   bench_cpu_decode [--model llama2c-110m] [--precisions fp32,int8,int4] [--batches 1,4,16,64,256]
 *                    [--context 32] [--steps 9] [--kv-dtype fp32] [--threads 0] [--bw-mib 1024]
 *
 * For each precision the engine is opened once (synthetic weights); for each batch, B sequences are
 * prefilled with `context` seeded tokens in one step, 2 decode steps warm up, then `steps` decode
 * steps are timed one by one; the figures are of the median step. GB/s = the step's analytic bytes
 * (weights, KV read and write, activations) / its time; %copy = that over the memcpy bandwidth
 * (read + write bytes, as STREAM counts) measured first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ceilings.h"
#include "engine.h"
#include "model.h"
#include "synth.h"

enum { MAX_LIST = 16, WARMUP = 2 };

typedef struct bench_args {
    const char *model;
    db_precision precisions[MAX_LIST];
    int n_precisions;
    int batches[MAX_LIST];
    int n_batches;
    int context, steps, threads, bw_mib;
    db_kv_dtype kv;
} bench_args;

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--model NAME] [--precisions p,q,...] [--batches a,b,...] [--context N] "
            "[--steps N]\n"
            "          [--kv-dtype D] [--threads T] [--bw-mib N]\n",
            argv0);
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
        .model = "llama2c-110m", .context = 32, .steps = 9, .bw_mib = 1024, .kv = DB_KV_FP32};
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
                   a->bw_mib < 1
               ? -1
               : 0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

typedef struct point {
    double step_s, bytes, flops;
} point;

/* B sequences: prefill, warm up, time `steps` decode steps; the median step. 0 on success. */
static int measure(db_engine *e, const bench_args *a, int B, int vocab, point *out) {
    db_error err;
    int *ids = malloc((size_t)B * sizeof *ids), rc = 0;
    int32_t *prompts = malloc((size_t)B * a->context * sizeof *prompts),
            *next = malloc((size_t)B * sizeof *next);
    int32_t *cur = malloc((size_t)B * sizeof *cur);
    db_work *w = malloc((size_t)B * sizeof *w);
    double *times = malloc((size_t)a->steps * sizeof *times);
    if (!ids || !prompts || !next || !cur || !w || !times) rc = -1;
    for (int s = 0; !rc && s < B; s++) {
        if (db_seq_alloc(e, &ids[s], &err) != DB_OK) rc = -1;
        uint64_t key = db_synth_key(7, 0xBE000000u + (uint32_t)s);
        for (int i = 0; i < a->context; i++)
            prompts[(size_t)s * a->context + i] =
                (int32_t)(db_synth_bits(key, (uint64_t)i) % (uint64_t)vocab);
        w[s] = (db_work){ids[s], 0, a->context, prompts + (size_t)s * a->context, 1};
    }
    db_step_result res = {next, NULL, 0, 0};
    if (!rc && db_engine_step(e, w, B, &res, &err) != DB_OK) rc = -1;
    for (int k = 0; !rc && k < WARMUP + a->steps; k++) {
        for (int s = 0; s < B; s++)
            cur[s] = next[s], w[s] = (db_work){ids[s], a->context + k, 1, &cur[s], 1};
        if (db_engine_step(e, w, B, &res, &err) != DB_OK) rc = -1;
        if (!rc && k >= WARMUP) times[k - WARMUP] = res.step_seconds;
        if (!rc && k == WARMUP + a->steps / 2) { /* the cost of a middle step */
            db_cost c;
            db_engine_cost(e, w, B, &c);
            out->bytes = c.total_bytes, out->flops = c.total_flops;
        }
    }
    if (rc) fprintf(stderr, "bench_cpu_decode: batch %d: %s\n", B, err.msg);
    if (!rc) {
        qsort(times, (size_t)a->steps, sizeof *times, cmp_double);
        out->step_s = times[a->steps / 2];
    }
    for (int s = 0; ids && s < B; s++)
        db_seq_free(e, ids[s], &err);
    free(ids), free(prompts), free(next), free(cur), free(w), free(times);
    return rc;
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

int main(int argc, char **argv) {
    bench_args a;
    if (parse_args(argc, argv, &a)) return usage(argv[0]);
    db_model_config m;
    db_error err;
    if (db_model_resolve(a.model, &m, &err) != DB_OK) return fprintf(stderr, "%s\n", err.msg), 2;
    int max_batch = 0;
    for (int i = 0; i < a.n_batches; i++)
        max_batch = a.batches[i] > max_batch ? a.batches[i] : max_batch;
    if (a.context + WARMUP + a.steps + 1 > m.max_seq_len)
        return fprintf(stderr, "context too long\n"), 2;

    double copy_gbps = 0.0, read_gbps = 0.0;
    int threads = a.threads > 0 ? a.threads : 0;
    db_engine *probe = open_engine(&a, &m, DB_PREC_FP32, 1);
    if (!probe) return 1;
    const char *dev = db_engine_device_name(probe);
    printf("device: %s\n", dev);
    int pool = 0;
    if (sscanf(strrchr(dev, ',') ? strrchr(dev, ',') + 1 : "", "%d", &pool) == 1 && !threads)
        threads = pool;
    db_engine_close(probe);
    if (threads < 1) threads = 1;
    db_cpu_bandwidth(DB_BW_COPY_MEMCPY, (size_t)a.bw_mib << 20, threads, 5, &copy_gbps);
    db_cpu_bandwidth(DB_BW_READ, (size_t)a.bw_mib << 20, threads, 5, &read_gbps);
    printf("copy bandwidth (memcpy, %d threads, 2 x %d MiB): %.2f GB/s; read: %.2f GB/s\n", threads,
           a.bw_mib, copy_gbps, read_gbps);
    printf("model %s (dim %d, %d layers, vocab %d, %s classifier), context %d, KV %s, median of %d "
           "steps\n\n",
           m.name, m.dim, m.n_layers, m.vocab_size, m.shared_classifier ? "shared" : "unshared",
           a.context, db_kv_dtype_name(a.kv), a.steps);
    printf("%-9s %6s %10s %10s %8s %9s %7s\n", "precision", "batch", "step_ms", "tokens/s", "GB/s",
           "GFLOP/s", "%copy");
    double tps_b1[DB_PREC_COUNT] = {0};
    for (int pi = 0; pi < a.n_precisions; pi++) {
        db_precision p = a.precisions[pi];
        db_engine *e = open_engine(&a, &m, p, max_batch);
        if (!e) return 1;
        for (int bi = 0; bi < a.n_batches; bi++) {
            int B = a.batches[bi];
            point pt;
            if (measure(e, &a, B, m.vocab_size, &pt)) return db_engine_close(e), 1;
            double tps = B / pt.step_s, gbps = pt.bytes / pt.step_s * 1e-9;
            if (B == 1) tps_b1[p] = tps;
            printf("%-9s %6d %10.3f %10.1f %8.2f %9.2f %6.1f%%\n", db_precision_name(p), B,
                   pt.step_s * 1e3, tps, gbps, pt.flops / pt.step_s * 1e-9,
                   copy_gbps > 0 ? 100.0 * gbps / copy_gbps : 0.0);
            fflush(stdout);
        }
        db_engine_close(e);
    }
    if (tps_b1[DB_PREC_FP32] > 0) {
        printf("\nbatch 1 tokens/s relative to fp32:");
        for (int p = 0; p < DB_PREC_COUNT; p++)
            if (tps_b1[p] > 0 && p != DB_PREC_FP32)
                printf(" %s %.2fx", db_precision_name((db_precision)p),
                       tps_b1[p] / tps_b1[DB_PREC_FP32]);
        printf("\n");
    }
    return 0;
}
