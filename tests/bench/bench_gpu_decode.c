/* bench_gpu_decode.c — batch-1 decode of a model on the CUDA backend, per weight scheme, against
 * the device's copy bandwidth measured in the same run; and the gain of CUDA graphs at batch 1.
 *
 *   bench_gpu_decode [--model llama2-7b] [--steps 64] [--prompt 16] [--device 0]
 *
 * Per scheme (bf16, int8, int4, and fp8 on compute capability 8.9+): one sequence, a prompt of
 * --prompt tokens, 8 untimed decode steps, then --steps timed ones (medians of the engine's
 * step_seconds, wall clock, and device_seconds, CUDA events). Bytes per step from db_engine_cost
 * (weights at the scheme's storage + KV + activations); achieved bandwidth = bytes / median device
 * time, as a fraction of the copy bandwidth. bf16 runs twice: CUDA graphs on and off (the gain is
 * the ratio of the median wall-clock step times). RESULT lines: copy_GBps, decode_b1_<scheme>_ms,
 * decode_b1_<scheme>_frac_copy_bw, decode_b1_<scheme>_speedup_vs_bf16, decode_b1_graph_gain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_gpu_common.h"
#include "model.h"

#ifdef DECODEBENCH_HAVE_CUDA
#include "cuda_ceilings.h"

typedef struct decode_run {
    double step_s, device_s, bytes;
} decode_run;

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int run(const db_model_config *m, db_precision p, int graphs, int device, int prompt,
               int steps, decode_run *out) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_CUDA, o.model = *m, o.precision = p, o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = prompt + steps + 64, o.cuda_graphs = graphs, o.cuda_device = device, o.seed = 3;
    db_engine *e = NULL;
    db_error err;
    int id;
    if (db_engine_open(&o, &e, &err) != DB_OK || db_seq_alloc(e, &id, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_decode: %s %s: %s\n", m->name, db_precision_name(p), err.msg);
        db_engine_close(e);
        return -1;
    }
    int32_t toks[512], next = 0;
    for (int i = 0; i < prompt && i < 512; i++)
        toks[i] = (int32_t)((i * 7919 + 13) % m->vocab_size);
    double *ts = malloc((size_t)steps * sizeof *ts), *td = malloc((size_t)steps * sizeof *td);
    db_work w = {id, 0, prompt, toks, 1};
    int rc = 0;
    for (int s = -1; rc == 0 && s < 8 + steps;
         s++) { /* the prefill, 8 warm-up steps, the timed steps */
        db_step_result r = {&next, NULL, 0.0, 0.0};
        if (db_engine_step(e, &w, 1, &r, &err) != DB_OK) {
            fprintf(stderr, "bench_gpu_decode: step: %s\n", err.msg);
            rc = -1;
            break;
        }
        w.pos += w.n_tokens, w.n_tokens = 1, w.tokens = toks, toks[0] = next;
        if (s >= 8) ts[s - 8] = r.step_seconds, td[s - 8] = r.device_seconds;
    }
    if (rc == 0) {
        db_cost c;
        db_work mid = {id, prompt + steps / 2, 1, toks, 1};
        db_engine_cost(e, &mid, 1, &c);
        out->step_s = median(ts, steps), out->device_s = median(td, steps),
        out->bytes = c.total_bytes;
    }
    free(ts), free(td);
    db_engine_close(e);
    return rc;
}
#endif

int main(int argc, char **argv) {
    const char *model = "llama2-7b";
    long steps = 64, prompt = 16, device = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
            continue;
        }
        int r = bench_int_flag(argc, argv, &i, "--steps", &steps);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--prompt", &prompt);
        if (r > 0) r = bench_int_flag(argc, argv, &i, "--device", &device);
        if (r != 0 || steps < 1 || prompt < 1 || prompt > 512) {
            fprintf(stderr, "usage: %s [--model NAME] [--steps N] [--prompt 1..512] [--device D]\n",
                    argv[0]);
            return 2;
        }
    }
    int skip = bench_gpu_skip("bench_gpu_decode");
    if (skip) return skip;
#ifdef DECODEBENCH_HAVE_CUDA
    db_model_config m;
    db_error err;
    if (db_model_resolve(model, &m, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_decode: --model: %s\n", err.msg);
        return 2;
    }
    db_cuda_ceilings_opts co = {(int)device, (size_t)1 << 30, -1, 3, 20, 1};
    db_cuda_ceilings ceil;
    if (db_cuda_measure_ceilings(&co, &ceil, &err) != DB_OK) {
        fprintf(stderr, "bench_gpu_decode: copy bandwidth: %s\n", err.msg);
        return 1;
    }
    int maj = 0, min = 0;
    cudaDeviceGetAttribute(&maj, cudaDevAttrComputeCapabilityMajor, (int)device);
    cudaDeviceGetAttribute(&min, cudaDevAttrComputeCapabilityMinor, (int)device);
    const db_precision schemes[4] = {DB_PREC_BF16, DB_PREC_INT8, DB_PREC_INT4, DB_PREC_FP8};
    int n_schemes = maj * 10 + min >= 89 ? 4 : 3;
    decode_run r[4], eager;
    printf("%s batch-1 decode on %s; copy bandwidth %.1f GB/s\n", m.name, ceil.device,
           ceil.copy.rate / 1e9);
    printf("%-6s %10s %10s %12s %10s %12s\n", "scheme", "step ms", "device ms", "GB/step", "GB/s",
           "of copy bw");
    for (int i = 0; i < n_schemes; i++) {
        if (run(&m, schemes[i], 1, (int)device, (int)prompt, (int)steps, &r[i]) != 0) return 1;
        double bw = r[i].bytes / r[i].device_s;
        printf("%-6s %10.3f %10.3f %12.3f %10.1f %11.1f%%\n", db_precision_name(schemes[i]),
               r[i].step_s * 1e3, r[i].device_s * 1e3, r[i].bytes / 1e9, bw / 1e9,
               100.0 * bw / ceil.copy.rate);
    }
    if (run(&m, DB_PREC_BF16, 0, (int)device, (int)prompt, (int)steps, &eager) != 0) return 1;
    printf("bf16 without CUDA graphs: %.3f ms per step (wall), %.3f ms device; graphs: %.3f ms -> "
           "gain x%.3f\n",
           eager.step_s * 1e3, eager.device_s * 1e3, r[0].step_s * 1e3, eager.step_s / r[0].step_s);
    bench_result("copy_GBps", ceil.copy.rate / 1e9, "GB/s");
    for (int i = 0; i < n_schemes; i++) {
        char name[96];
        const char *p = db_precision_name(schemes[i]);
        snprintf(name, sizeof name, "decode_b1_%s_ms", p);
        bench_result(name, r[i].step_s * 1e3, "ms");
        snprintf(name, sizeof name, "decode_b1_%s_frac_copy_bw", p);
        bench_result(name, r[i].bytes / r[i].device_s / ceil.copy.rate, "fraction");
        if (i > 0) {
            snprintf(name, sizeof name, "decode_b1_%s_speedup_vs_bf16", p);
            bench_result(name, r[0].step_s / r[i].step_s, "x");
        }
    }
    bench_result("decode_b1_graph_gain", eager.step_s / r[0].step_s, "x");
    return 0;
#else
    (void)model;
    return 77;
#endif
}
