/* bench_engine_linear.c — throughput of the CPU linear layers (engine/linear.h) on the llama2c-110m
 * layer set: 12 layers x (wq, wk, wv, wo: 768x768; w1, w3: 2048x768; w2: 768x2048) + the 32000x768
 * classifier, 109.5 M weights (438 MB in fp32), far beyond L3. One pass runs every matrix once on a
 * batch of B activation rows (a decode step's GEMMs without attention).
 *
 *   bench_engine_linear [--threads T] [--reps R] [--precisions fp32,int8,...] [--batches 1,4,...]
 *                       [--path auto|gemv|gemm] [--openblas] [--copy-gbps X] [--layers L]
 *
 * Per (precision, B): the median pass time of R passes after one warm-up (and the fastest pass);
 * tokens/s = B / median time; weight GB/s = storage bytes (scales included) / time;
 * GFLOP/s = 2 x weights x B / time; and the weight stream as % of the copy bandwidth
 * (db_cpu_bandwidth: memcpy over 2 x 512 MiB on T threads, read + written bytes) unless
 * --copy-gbps is given. --openblas adds fp32 rows that call OpenBLAS directly from one thread with
 * its own T threads (cblas_sgemv at B = 1, cblas_sgemm otherwise).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceilings.h"
#include "cpu_ceilings.h"
#include "linear.h"
#include "linear_kernels.h"

#define MAX_MATS 256
#define MAX_LIST 16

typedef struct layer_set {
    int n;
    int N[MAX_MATS], K[MAX_MATS];
    db_linear W[MAX_MATS];
    double weights, bytes;
} layer_set;

static void shapes_110m(layer_set *s, int layers) {
    const int dim = 768, hidden = 2048, vocab = 32000;
    s->n = 0;
    for (int l = 0; l < layers; l++) {
        const int shp[7][2] = {{dim, dim},    {dim, dim},    {dim, dim},   {dim, dim},
                               {hidden, dim}, {hidden, dim}, {dim, hidden}};
        for (int i = 0; i < 7; i++) {
            s->N[s->n] = shp[i][0];
            s->K[s->n] = shp[i][1];
            s->n++;
        }
    }
    s->N[s->n] = vocab;
    s->K[s->n] = dim;
    s->n++;
}

static int build(layer_set *s, db_precision p) {
    db_error err;
    s->weights = s->bytes = 0;
    for (int i = 0; i < s->n; i++) {
        if (db_linear_init_synth(&s->W[i], s->N[i], s->K[i], p, 1, (uint32_t)i, 0.05f, &err)) {
            fprintf(stderr, "bench_engine_linear: %s\n", err.msg);
            return -1;
        }
        s->weights += (double)s->N[i] * s->K[i];
        s->bytes += (double)db_linear_bytes(&s->W[i]);
    }
    return 0;
}

static void release(layer_set *s) {
    for (int i = 0; i < s->n; i++)
        db_linear_free(&s->W[i]);
}

typedef struct pass_ctx {
    layer_set *s;
    const float *x;
    float *y;
    int B;
    db_threadpool *pool;
    db_lin_path path;
    int openblas; /* call OpenBLAS directly on fp32 weights */
} pass_ctx;

static int run_pass(const pass_ctx *c) {
    db_error err;
    for (int i = 0; i < c->s->n; i++) {
        const db_linear *W = &c->s->W[i];
        if (c->openblas) {
            if (c->B == 1)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, W->n_rows, W->n_cols, 1.0f, W->data,
                            W->n_cols, c->x, 1, 0.0f, c->y, 1);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->B, W->n_rows, W->n_cols,
                            1.0f, c->x, W->n_cols, W->data, W->n_cols, 0.0f, c->y, W->n_rows);
        } else if (db_lin_forward_path(W, c->x, c->y, c->B, c->pool, c->path, &err)) {
            fprintf(stderr, "bench_engine_linear: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

/* Median pass time of reps passes after a warm-up; *best receives the fastest. */
static double time_passes(const pass_ctx *c, int reps, double *best) {
    double t[64];
    if (run_pass(c)) return -1;
    for (int r = 0; r < reps; r++) {
        double t0 = db_ceil_now_s();
        if (run_pass(c)) return -1;
        t[r] = db_ceil_now_s() - t0;
    }
    double m = db_ceil_median(t, reps);
    *best = t[0]; /* sorted by db_ceil_median() */
    return m;
}

static int parse_list(const char *arg, char items[MAX_LIST][16]) {
    int n = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", arg);
    for (char *s = strtok(tmp, ","); s && n < MAX_LIST; s = strtok(NULL, ","))
        snprintf(items[n++], 16, "%s", s);
    return n;
}

static void print_row(const char *prec, int B, const char *path, double t, double best,
                      const layer_set *s, double copy) {
    double gbps = s->bytes / t / 1e9;
    printf("%-6s %5d %-8s %9.3f %9.3f %11.1f %9.2f %9.1f %7.0f%%\n", prec, B, path, t * 1e3,
           best * 1e3, B / t, gbps, 2.0 * s->weights * B / t / 1e9, 100.0 * gbps / copy);
    fflush(stdout);
}

typedef struct options {
    int threads, reps, layers, openblas;
    double copy;
    char precs[MAX_LIST][16], bats[MAX_LIST][16];
    int n_prec, n_bat, max_batch;
    db_lin_path path;
} options;

/* 0 on success; 2 (usage) after printing a message. */
static int parse_options(int argc, char **argv, options *o) {
    *o = (options){.reps = 5, .layers = 12, .path = DB_LIN_PATH_AUTO};
    o->n_prec = parse_list("fp32,fp16,bf16,fp8,int8,int4", o->precs);
    o->n_bat = parse_list("1,4,16,64,256", o->bats);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--openblas")) {
            o->openblas = 1;
            continue;
        }
        if (!v) return fprintf(stderr, "bench_engine_linear: %s needs a value\n", a), 2;
        i++;
        if (!strcmp(a, "--threads"))
            o->threads = atoi(v);
        else if (!strcmp(a, "--reps"))
            o->reps = atoi(v);
        else if (!strcmp(a, "--layers"))
            o->layers = atoi(v);
        else if (!strcmp(a, "--copy-gbps"))
            o->copy = atof(v);
        else if (!strcmp(a, "--precisions"))
            o->n_prec = parse_list(v, o->precs);
        else if (!strcmp(a, "--batches"))
            o->n_bat = parse_list(v, o->bats);
        else if (!strcmp(a, "--path") &&
                 (!strcmp(v, "gemv") || !strcmp(v, "gemm") || !strcmp(v, "auto")))
            o->path = !strcmp(v, "gemv")   ? DB_LIN_PATH_GEMV
                      : !strcmp(v, "gemm") ? DB_LIN_PATH_GEMM
                                           : DB_LIN_PATH_AUTO;
        else
            return fprintf(stderr,
                           "usage: %s [--threads T] [--reps R] [--precisions a,b] [--batches 1,4] "
                           "[--path auto|gemv|gemm] [--openblas] [--copy-gbps X] [--layers L]\n",
                           argv[0]),
                   2;
    }
    o->max_batch = 0;
    for (int b = 0; b < o->n_bat; b++) {
        int B = atoi(o->bats[b]);
        if (B < 1 || B > 4096)
            return fprintf(stderr, "bench_engine_linear: batch '%s' not in 1..4096\n", o->bats[b]),
                   2;
        o->max_batch = B > o->max_batch ? B : o->max_batch;
    }
    if (o->reps < 1 || o->reps > 64 || o->layers < 1 || o->layers > 32)
        return fprintf(stderr, "bench_engine_linear: --reps must be 1..64 and --layers 1..32\n"), 2;
    return 0;
}

/* Every batch size of one precision; the layer set is built and freed here. */
static int run_precision(const options *o, db_precision prec, layer_set *s, db_threadpool *pool,
                         const float *x, float *y) {
    static const char *const path_names[] = {"auto", "gemv", "gemm"};
    int nt = db_threadpool_size(pool);
    if (build(s, prec)) return 1;
    for (int b = 0; b < o->n_bat; b++) {
        pass_ctx c = {s, x, y, atoi(o->bats[b]), pool, o->path, 0};
        double best, t = time_passes(&c, o->reps, &best);
        if (t < 0) return 1;
        print_row(db_precision_name(prec), c.B, path_names[o->path], t, best, s, o->copy);
        if (o->openblas && prec == DB_PREC_FP32) {
            c.openblas = 1;
            openblas_set_num_threads(nt);
            t = time_passes(&c, o->reps, &best);
            openblas_set_num_threads(1);
            print_row("fp32", c.B, c.B == 1 ? "sgemv" : "sgemm", t, best, s, o->copy);
        }
    }
    release(s);
    return 0;
}

int main(int argc, char **argv) {
    static options o;
    static layer_set s;
    db_threadpool *pool;
    db_error err;
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    if (db_threadpool_create(o.threads, &pool, &err)) {
        fprintf(stderr, "bench_engine_linear: %s\n", err.msg);
        return 1;
    }
    int nt = db_threadpool_size(pool);
    if (o.copy <= 0 && db_cpu_bandwidth(DB_BW_COPY_MEMCPY, (size_t)512 << 20, nt, 5, &o.copy)) {
        fprintf(stderr, "bench_engine_linear: cannot measure the copy bandwidth\n");
        return 1;
    }
    shapes_110m(&s, o.layers);
    float *x = malloc(sizeof(float) * (size_t)o.max_batch * 2048),
          *y = malloc(sizeof(float) * (size_t)o.max_batch * 32000);
    if (!x || !y) return 1;
    for (int i = 0; i < o.max_batch * 2048; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    printf("# llama2c-110m linear layers (%d layers + classifier), %d threads, median of %d "
           "passes; copy bandwidth %.2f GB/s\n",
           o.layers, nt, o.reps, o.copy);
    printf("%-6s %5s %-8s %9s %9s %11s %9s %9s %8s\n", "prec", "B", "path", "ms/pass", "best ms",
           "tokens/s", "weightGB/s", "GFLOP/s", "%copy");
    for (int p = 0; p < o.n_prec && rc == 0; p++) {
        db_precision prec;
        if (db_precision_parse(o.precs[p], &prec)) {
            fprintf(stderr, "bench_engine_linear: unknown precision '%s'\n", o.precs[p]);
            rc = 2;
        } else {
            rc = run_precision(&o, prec, &s, pool, x, y);
        }
    }
    free(x);
    free(y);
    db_threadpool_destroy(pool);
    return rc;
}
