/* sweep_ceilings.c — measured, preset and file ceilings; the ceilings JSON writer
 * (sweep_ceilings.h).
 */
#include "sweep_ceilings.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ceilings.h"
#include "cuda_ceilings.h"
#include "env.h"
#include "gpu_facts.h"
#include "linear.h"
#include "threadpool.h"

void db_ceilings_opts_default(db_ceilings_opts *o) {
    memset(o, 0, sizeof *o);
    o->bandwidth_bytes = (size_t)1 << 30;
    o->gemm_n = 2048;
    o->linear_n = 4096;
    o->linear_k = 4096;
    o->linear_batch = 512;
    o->warmup = 1;
    o->seed = 1;
}

void db_ceilings_from_device(const db_device_ceilings *dev, const char *origin, db_ceilings *out) {
    memset(out, 0, sizeof *out);
    out->dev = *dev;
    snprintf(out->origin, sizeof out->origin, "%s", origin ? origin : dev->name);
}

double db_ceilings_peak(const db_ceilings *c, db_precision p) {
    if ((unsigned)p < DB_PREC_COUNT && c->scheme_peak[p] > 0) return c->scheme_peak[p];
    return c->dev.peak_flops[db_device_gemm_peak(p)];
}

double db_ceilings_ridge(const db_ceilings *c, db_precision p) {
    double peak = db_ceilings_peak(c, p);
    return peak > 0 && c->dev.memory_bandwidth > 0 ? peak / c->dev.memory_bandwidth : 0.0;
}

/* ---- CPU measurement ------------------------------------------------------------------------- */

static db_ceilings_measurement *add_meas(db_ceilings *c, const char *name, double value,
                                         const char *unit, const db_ceil_timing *t) {
    if (c->n_meas >= DB_CEILINGS_MAX_MEASUREMENTS) return NULL;
    db_ceilings_measurement *m = &c->meas[c->n_meas++];
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->unit, sizeof m->unit, "%s", unit);
    m->value = value;
    m->median_s = t->median_s;
    m->min_s = t->min_s;
    m->max_s = t->max_s;
    m->reps = t->reps;
    return m;
}

static void report(const db_ceilings_opts *o, const db_ceilings_measurement *m) {
    if (m && o->on_measurement) o->on_measurement(o->ctx, m);
}

static int reps_or(const db_ceilings_opts *o, int dflt) {
    return o->reps > 0 ? o->reps : dflt;
}

static db_status measure_bandwidth(const db_ceilings_opts *o, db_ceilings *out, db_error *err) {
    double best = 0;
    for (int k = DB_CEIL_COPY; k <= DB_CEIL_READ; k++) {
        db_ceil_result r;
        char msg[256];
        if (db_ceil_bandwidth((db_ceil_bw_kind)k, o->bandwidth_bytes, o->threads, o->warmup,
                              reps_or(o, 7), &r, msg, sizeof msg))
            return db_error_set(err, DB_ERR_NOMEM, "memory bandwidth: %s", msg);
        db_ceilings_measurement *m =
            add_meas(out, db_ceil_bw_kind_name((db_ceil_bw_kind)k), r.rate / 1e9, "GB/s", &r.t);
        if (m)
            snprintf(m->method, sizeof m->method,
                     k == DB_CEIL_COPY ? "memcpy of a %zu MiB buffer, %d thread(s); bytes = read + "
                                         "written (2 x buffer)"
                                       : "sum of the floats of a %zu MiB buffer, %d thread(s); "
                                         "bytes = buffer",
                     o->bandwidth_bytes >> 20, r.threads);
        report(o, m);
        if (r.rate > best) best = r.rate;
    }
    out->dev.memory_bandwidth = best;
    return DB_OK;
}

static db_status measure_sgemm(const db_ceilings_opts *o, db_ceilings *out, db_error *err) {
    db_ceil_result r;
    char msg[256];
    int n = o->gemm_n;
    if (db_ceil_sgemm(n, n, n, o->threads, o->warmup, reps_or(o, 5), &r, msg, sizeof msg))
        return db_error_set(err, DB_ERR_NOMEM, "fp32 peak: %s", msg);
    db_ceilings_measurement *m = add_meas(out, "sgemm fp32", r.rate / 1e12, "TFLOP/s", &r.t);
    if (m)
        snprintf(m->method, sizeof m->method,
                 "OpenBLAS cblas_sgemm %d x %d x %d, %d thread(s); FLOPs = 2 n^3", n, n, n,
                 r.threads);
    report(o, m);
    out->dev.peak_flops[DB_PEAK_FP32] = r.rate;
    out->scheme_peak[DB_PREC_FP32] = r.rate;
    return DB_OK;
}

typedef struct linear_job {
    db_linear W;
    float *x; /* (B, K) */
    float *y; /* (B, N) */
    int B;
    db_threadpool *pool;
    db_error err;
} linear_job;

static int linear_run(void *ctx) {
    linear_job *j = ctx;
    return db_linear_forward(&j->W, j->x, j->y, j->B, j->pool, &j->err) != DB_OK;
}

static db_status measure_linear(const db_ceilings_opts *o, db_precision p, db_threadpool *pool,
                                db_ceilings *out, db_error *err) {
    int N = o->linear_n, K = o->linear_k, B = o->linear_batch;
    if (N < 1 || K < 1 || B < 1)
        return db_error_set(err, DB_ERR_INVALID, "linear sizes must be >= 1, got %d x %d, B %d", N,
                            K, B);
    linear_job j = {.B = B, .pool = pool};
    db_status st = db_linear_init_synth(&j.W, N, K, p, o->seed, 7, 0.05f, err);
    if (st) return st;
    j.x = malloc((size_t)B * (size_t)K * sizeof(float));
    j.y = malloc((size_t)B * (size_t)N * sizeof(float));
    db_ceil_timing t;
    if (!j.x || !j.y) {
        st = db_error_set(err, DB_ERR_NOMEM, "linear %s: cannot allocate B x K activations",
                          db_precision_name(p));
    } else {
        for (size_t i = 0; i < (size_t)B * (size_t)K; i++)
            j.x[i] = (float)((i * 2654435761u) % 1000) * 0.002f - 1.0f;
        int rc = db_ceil_time(linear_run, &j, o->warmup, reps_or(o, 5), &t);
        if (rc > 0)
            st = db_error_set(err, j.err.code, "linear %s: %s", db_precision_name(p), j.err.msg);
        else if (rc < 0)
            st = db_error_set(err, DB_ERR_INVALID, "linear: reps must be 1..%d", DB_CEIL_MAX_REPS);
    }
    if (st == DB_OK) {
        double rate = 2.0 * B * (double)N * (double)K / t.median_s;
        char name[32];
        snprintf(name, sizeof name, "linear %s", db_precision_name(p));
        db_ceilings_measurement *m = add_meas(out, name, rate / 1e12, "TFLOP/s", &t);
        if (m)
            snprintf(m->method, sizeof m->method,
                     "db_linear_forward B=%d on a %d x %d %s weight, %d thread(s); FLOPs = 2 B N K",
                     B, N, K, db_precision_name(p), db_threadpool_size(pool));
        report(o, m);
        out->scheme_peak[p] = rate;
        if (p == DB_PREC_FP16 || p == DB_PREC_BF16 || p == DB_PREC_FP8)
            out->dev.peak_flops[db_device_gemm_peak(p)] = rate;
    }
    free(j.x);
    free(j.y);
    db_linear_free(&j.W);
    return st;
}

static db_status cpu_measure(const db_ceilings_opts *o, db_ceilings *out, db_error *err) {
    memset(out, 0, sizeof *out);
    char cpu[96];
    db_env_cpu_model("/proc/cpuinfo", cpu, sizeof cpu);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    db_threadpool *pool = NULL;
    db_status st = db_threadpool_create(o->threads, &pool, err);
    if (st) return st;
    int nt = db_threadpool_size(pool);
    snprintf(out->dev.name, sizeof out->dev.name, "%s (%d thread%s)", cpu, nt, nt == 1 ? "" : "s");
    snprintf(out->dev.source, sizeof out->dev.source, "measured");
    snprintf(out->origin, sizeof out->origin, "measured: cpu");
    out->dev.memory_bytes = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    out->dev.step_overhead_s = DB_DEVICE_DEFAULT_STEP_OVERHEAD_S;
    /* SGEMM first: it sets OpenBLAS's thread count only for its own runs. */
    st = measure_bandwidth(o, out, err);
    if (st == DB_OK) st = measure_sgemm(o, out, err);
    const db_precision schemes[] = {DB_PREC_FP16, DB_PREC_BF16, DB_PREC_FP8, DB_PREC_INT8,
                                    DB_PREC_INT4};
    for (size_t i = 0; st == DB_OK && i < sizeof schemes / sizeof schemes[0]; i++)
        st = measure_linear(o, schemes[i], pool, out, err);
    db_threadpool_destroy(pool);
    return st;
}

/* ---- CUDA measurement (engine/cuda_ceilings.h) ----------------------------------------------- */

/* The CUDA measurement's figure as a measurement record (GB/s or TFLOP/s). */
static void add_cuda_meas(const db_ceilings_opts *o, db_ceilings *out, const char *name,
                          const db_cuda_ceiling *k, double scale, const char *unit) {
    db_ceil_timing t = {.median_s = k->median_s, .min_s = k->min_s, .max_s = k->max_s,
                        .reps = k->reps};
    db_ceilings_measurement *m = add_meas(out, name, k->rate / scale, unit, &t);
    if (m) snprintf(m->method, sizeof m->method, "%s", k->method);
    report(o, m);
}

/* Device 0: copy bandwidth and the cuBLAS / cuBLASLt peak of every type the device has. Sizes:
 * --buffer for the copy, --gemm-n (0: the measurement's default 8192); --warmup and --reps as
 * given (0: its defaults 3 and 20). int8 / int4 schemes run as bf16 GEMMs on the cuda backend
 * (dequantised tiles; GEMV below 17 rows), so no per-scheme peaks are written. */
static db_status cuda_measure(const db_ceilings_opts *o, db_ceilings *out, db_error *err) {
    memset(out, 0, sizeof *out);
    db_cuda_device_info info;
    char why[256];
    if (db_gpu_probe(0, &info, why, sizeof why) != 0)
        return db_error_set(err, DB_ERR_UNSUPPORTED, "the cuda backend: %s", why);
    db_cuda_ceilings_opts co = {.device = 0,
                                .copy_bytes = o->bandwidth_bytes,
                                .gemm_n = o->gemm_n,
                                .warmup = o->warmup,
                                .reps = o->reps,
                                .seed = o->seed};
    db_cuda_ceilings *m = malloc(sizeof *m);
    if (!m) return db_error_set(err, DB_ERR_NOMEM, "CUDA ceilings: out of memory");
    db_status st = db_cuda_measure_ceilings(&co, m, err);
    if (st == DB_OK && !m->copy.available)
        st = db_error_set(err, DB_ERR_DEVICE, "CUDA copy bandwidth not measured: %s",
                          m->copy.method);
    if (st == DB_OK) {
        snprintf(out->dev.name, sizeof out->dev.name, "%.*s", (int)sizeof out->dev.name - 1,
                 info.name);
        snprintf(out->dev.source, sizeof out->dev.source, "measured");
        snprintf(out->origin, sizeof out->origin, "measured: cuda");
        out->dev.memory_bytes = (double)info.total_memory;
        out->dev.step_overhead_s = DB_DEVICE_DEFAULT_STEP_OVERHEAD_S;
        out->dev.memory_bandwidth = m->copy.rate;
        add_cuda_meas(o, out, "copy", &m->copy, 1e9, "GB/s");
        for (int t = 0; t < DB_PEAK_COUNT; t++) {
            if (!m->gemm[t].available) continue;
            char name[32];
            snprintf(name, sizeof name, "gemm %s", db_peak_type_name((db_peak_type)t));
            add_cuda_meas(o, out, name, &m->gemm[t], 1e12, "TFLOP/s");
            out->dev.peak_flops[t] = m->gemm[t].rate;
        }
    }
    free(m);
    return st;
}

const db_ceilings_backend db_ceilings_backends[] = {
    {DB_BACKEND_CPU, cpu_measure},
    {DB_BACKEND_CUDA, cuda_measure},
    {DB_BACKEND_AUTO, NULL},
};

db_status db_ceilings_measure(db_backend_kind b, const db_ceilings_opts *o, db_ceilings *out,
                              db_error *err) {
    for (const db_ceilings_backend *k = db_ceilings_backends; k->measure; k++)
        if (k->kind == b) return k->measure(o, out, err);
    if (b == DB_BACKEND_SIM)
        return db_error_set(err, DB_ERR_UNSUPPORTED,
                            "the sim backend has nothing to measure: its ceilings are a datasheet "
                            "preset or a ceilings JSON file (--device)");
    return db_error_set(err, DB_ERR_UNSUPPORTED, "no ceilings measurement for the %s backend",
                        db_backend_name(b));
}
