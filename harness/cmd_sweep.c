/* cmd_sweep.c — `decodebench sweep`: runs a grid of points (sweep.h) and appends one CSV row per
 * point as it finishes (sweep_csv.h); --resume skips points already in the CSV, --shard I/N runs
 * every N-th point; afterwards the measured crossover of every curve is filled in and a crossover
 * table printed. A progress bar is drawn on a terminal. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "cli.h"
#include "commands.h"
#include "crossover.h"
#include "env.h"
#include "gpu_facts.h"
#include "model.h"
#include "profile.h"
#include "capacity.h"
#include "sweep.h"
#include "sweep_csv.h"

#define CMD "sweep"

typedef struct sweep_args {
    const char *mode, *model, *device, *ceilings, *out;
    const char *batch, *precision, *kv_dtype, *context, *shard;
    long long layers, warmup, steps, threads, seed, kv_tokens, prefill_tokens;
    db_backend_kind backend;
    int resume, overwrite, quiet, search;
    /* serve */
    const char *rate, *concurrency, *prompt_len, *output_len, *slo;
    long long requests, max_batch, max_batch_tokens, repeats;
    double target, rate_lo, rate_hi, tolerance, duration;
} sweep_args;

static void print_help(FILE *f) {
    /* clang-format off */
    fprintf(f,
"Usage: decodebench sweep --mode step [flags]\n"
"       decodebench sweep --mode serve --rate LIST | --concurrency LIST [flags]\n"
"       decodebench sweep --mode serve --search --slo SPEC [--target F] [flags]\n"
"\n"
"Runs every point of a grid (precision x KV dtype x context x batch) and appends one CSV row per\n"
"point as it finishes. Mode step: B sequences are prefilled to the context (untimed), then\n"
"--warmup-steps decode steps run untimed and --steps decode steps are timed; the point's step time\n"
"is their median (cpu, cuda: measured; sim: modelled). Each row has the inputs, the ceilings in use, the\n"
"step time, tokens/s, FLOPs, bytes, arithmetic intensity, achieved TFLOP/s and GB/s, MFU, MBU,\n"
"per-op-class FLOPs and bytes, and the predicted and measured crossover batch of its curve.\n"
"\n"
"Grid (lists: 1,2,8  ranges: LO..HI  LO..HI+STEP  LO..HIxFACTOR, e.g. 1..512x2 = 1,2,4,..,512):\n"
"  --batch LIST              batch sizes                                  (default 1..64x2)\n"
"  --precision LIST          fp32,tf32,fp16,bf16,fp8,int8,int4   (default fp32 on cpu, else bf16)\n"
"  --kv-dtype LIST           fp32,fp16,bf16,fp8  (default fp32 if every precision is fp32/tf32,\n"
"                            else bf16)\n"
"  --context LIST            tokens in each sequence's KV cache before the timed steps (default 128)\n"
"\n"
"Engine:\n"
"  --mode step|serve         what a point measures                        (default step)\n"
"  --backend auto|cpu|cuda|sim  auto = cuda if a GPU answers, else cpu    (default auto)\n"
"  --model NAME|FILE.json|FILE.bin  model preset, shape or llama2.c checkpoint (default llama2c-15m)\n"
"  --layers N                only the first N layers                      (default: all)\n"
"  --device PRESET|FILE.json sim: h100-sxm, h200, a100-80g, l40s or a ceilings file\n"
"                                                                         (default h100-sxm)\n"
"  --ceilings PRESET|FILE.json  ceilings for MFU, MBU and the predictions (default: sim the\n"
"                            --device; cuda the datasheet preset matching the GPU's name (H100\n"
"                            SXM, H200, A100 80GB, L40S), if any; cpu none. Without ceilings those\n"
"                            columns stay empty: measure them with `decodebench roofline` and\n"
"                            pass the file)\n"
"  --threads N               cpu threads; 0 = all cores                   (default 0)\n"
"  --warmup-steps N          untimed decode steps per point               (default 2)\n"
"  --steps N                 timed decode steps per point                 (default 5)\n"
"  --kv-tokens N             KV capacity of every engine  (default: cpu what each point needs,\n"
"                            sim the device's memory)\n"
"  --prefill-step-tokens N   most tokens per (untimed) prefill step        (default 4096)\n"
"  --seed N                  weights and prompt tokens                    (default 1)\n"
"\n"
"Serve mode (one whole run of --requests requests per point; rows hold throughput, goodput, SLO\n"
"attainment, TTFT/TPOT/E2E percentiles, output tokens/s per user = 1000 / mean TPOT ms, and the\n"
"engine's mean step figures):\n"
"  --rate LIST               Poisson arrival rates, requests/s (e.g. 0.5..16x2)\n"
"  --concurrency LIST        closed-loop requests in flight (e.g. 1..64x2)\n"
"  --duration TIME           rate points: seconds of arrivals per run (the virtual clock on\n"
"                            sim)                    (default 60s, unless --requests is given)\n"
"  --requests N              concurrency points: requests per run (default 200); rate points:\n"
"                            at most N requests (default: --duration alone)\n"
"  --prompt-len SPEC         prompt lengths, as decodebench run            (default uniform:32:128)\n"
"  --output-len SPEC         output lengths                               (default uniform:16:64)\n"
"  --slo SPEC                per-request objectives for goodput, e.g. ttft:200ms,tpot:50ms\n"
"  --max-batch N, --max-batch-tokens N   scheduler limits                (default 64, 2048)\n"
"Capacity search (--search, per precision and KV dtype): the highest rate whose SLO attainment\n"
"is >= --target: bracket [--rate-lo, --rate-hi] (the high end doubled up to 8 times until it\n"
"misses), bisect until the bracket is within --tolerance (relative), then rerun the found rate\n"
"--repeats times with other seeds and report how many met the target (its confidence).\n"
"  --search                  run the search instead of a grid\n"
"  --target F                SLO attainment to meet, in (0, 1]           (default 0.99)\n"
"  --rate-lo R, --rate-hi R  initial bracket, requests/s                 (default 1, 64)\n"
"  --tolerance F             relative width of the final bracket         (default 0.05)\n"
"  --repeats N               confirmation runs at the found rate         (default 3)\n"
"\n"
"Output:\n"
"  --out FILE                the CSV                                      (default sweep.csv)\n"
"  --resume                  keep FILE's rows and skip the points already in it (any status)\n"
"  --overwrite               replace an existing FILE\n"
"  --shard I/N               run only the points whose grid index modulo N is I (0 <= I < N);\n"
"                            combine the shards' files with `decodebench merge`\n"
"  --quiet                   no progress bar or summary\n"
"\n"
"A point that fails (KV cache too small, out of memory, longer than the model's context) is\n"
"recorded with status failed and the reason in `error`; the sweep goes on. Ctrl-C stops after the\n"
"current point. Exit codes: 0 done (even with failed points), 1 a write failed or --backend cuda\n"
"without a CUDA device (or in a build without CUDA), 2 usage error.\n");
    /* clang-format on */
}

/* 1 unknown, -1 bad value (printed), 0 ok. */
static int parse_flag(sweep_args *a, const char *f, const char *v) {
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {{"--mode", offsetof(sweep_args, mode)},
                {"--model", offsetof(sweep_args, model)},
                {"--device", offsetof(sweep_args, device)},
                {"--ceilings", offsetof(sweep_args, ceilings)},
                {"--out", offsetof(sweep_args, out)},
                {"--batch", offsetof(sweep_args, batch)},
                {"--precision", offsetof(sweep_args, precision)},
                {"--kv-dtype", offsetof(sweep_args, kv_dtype)},
                {"--context", offsetof(sweep_args, context)},
                {"--shard", offsetof(sweep_args, shard)},
                {"--rate", offsetof(sweep_args, rate)},
                {"--concurrency", offsetof(sweep_args, concurrency)},
                {"--prompt-len", offsetof(sweep_args, prompt_len)},
                {"--output-len", offsetof(sweep_args, output_len)},
                {"--slo", offsetof(sweep_args, slo)}};
    static const struct {
        const char *name;
        size_t off;
        long long lo, hi;
    } ints[] = {{"--layers", offsetof(sweep_args, layers), 1, 512},
                {"--warmup-steps", offsetof(sweep_args, warmup), 0, 1000},
                {"--steps", offsetof(sweep_args, steps), 1, 10000},
                {"--threads", offsetof(sweep_args, threads), 0, 1024},
                {"--seed", offsetof(sweep_args, seed), 0, 9007199254740991LL},
                {"--kv-tokens", offsetof(sweep_args, kv_tokens), 1, 1LL << 40},
                {"--prefill-step-tokens", offsetof(sweep_args, prefill_tokens), 1, 1 << 20},
                {"--requests", offsetof(sweep_args, requests), 1, 10000000},
                {"--max-batch", offsetof(sweep_args, max_batch), 1, 65536},
                {"--max-batch-tokens", offsetof(sweep_args, max_batch_tokens), 1, 1 << 24},
                {"--repeats", offsetof(sweep_args, repeats), 1, 100}};
    static const struct {
        const char *name;
        size_t off;
        double lo, hi;
    } dbls[] = {{"--target", offsetof(sweep_args, target), 1e-9, 1},
                {"--rate-lo", offsetof(sweep_args, rate_lo), 1e-9, 1e9},
                {"--rate-hi", offsetof(sweep_args, rate_hi), 1e-9, 1e9},
                {"--tolerance", offsetof(sweep_args, tolerance), 1e-6, 10}};
    for (size_t i = 0; i < sizeof dbls / sizeof dbls[0]; i++)
        if (!strcmp(f, dbls[i].name))
            return db_cli_double(CMD, f, v, dbls[i].lo, dbls[i].hi,
                                 (double *)((char *)a + dbls[i].off));
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!strcmp(f, strs[i].name)) {
            *(const char **)((char *)a + strs[i].off) = v;
            return 0;
        }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp(f, ints[i].name))
            return db_cli_int(CMD, f, v, ints[i].lo, ints[i].hi,
                              (long long *)((char *)a + ints[i].off));
    if (!strcmp(f, "--duration")) return db_cli_duration(CMD, f, v, &a->duration);
    if (!strcmp(f, "--backend")) {
        if (db_backend_parse(v, &a->backend) == 0) return 0;
        fprintf(stderr, "decodebench %s: --backend expects auto, cpu, cuda or sim, got '%s'\n", CMD,
                v);
        return -1;
    }
    return 1;
}

/* Flags that belong to one mode only. 0, or the usage exit code. */
static int check_mode_flags(sweep_args *a) {
    int serve = !strcmp(a->mode, "serve");
    if (!serve && strcmp(a->mode, "step") != 0)
        return db_cli_usage_error(CMD, "--mode expects step or serve, got '%s'", a->mode);
    const char *step_only = a->batch         ? "--batch"
                            : a->context     ? "--context"
                            : a->warmup >= 0 ? "--warmup-steps"
                            : a->steps >= 0  ? "--steps"
                                             : NULL;
    const char *serve_only = a->rate          ? "--rate"
                             : a->concurrency ? "--concurrency"
                             : a->slo         ? "--slo"
                             : a->search      ? "--search"
                             : a->prompt_len  ? "--prompt-len"
                             : a->output_len  ? "--output-len"
                                              : NULL;
    if (serve && step_only) return db_cli_usage_error(CMD, "%s applies to --mode step", step_only);
    if (!serve && serve_only)
        return db_cli_usage_error(CMD, "%s applies to --mode serve", serve_only);
    if (serve && !a->search && !a->rate && !a->concurrency)
        return db_cli_usage_error(CMD, "--mode serve needs --rate LIST, --concurrency LIST or "
                                       "--search");
    if (a->search && (a->rate || a->concurrency || a->resume || a->shard))
        return db_cli_usage_error(CMD, "--search chooses the rates itself: no --rate, "
                                       "--concurrency, --resume or --shard");
    if (a->search && !a->slo)
        return db_cli_usage_error(CMD, "--search needs --slo (e.g. ttft:200ms,tpot:50ms)");
    if (a->search && !(a->rate_hi > a->rate_lo))
        return db_cli_usage_error(CMD, "--rate-hi must exceed --rate-lo, got %g and %g", a->rate_hi,
                                  a->rate_lo);
    if (!serve) {
        if (!a->batch) a->batch = "1..64x2";
        if (!a->context) a->context = "128";
        if (a->warmup < 0) a->warmup = 2;
        if (a->steps < 0) a->steps = 5;
    } else {
        if (!a->prompt_len) a->prompt_len = "uniform:32:128";
        if (!a->output_len) a->output_len = "uniform:16:64";
        a->warmup = a->steps = 0;
    }
    return 0;
}

/* 0 go ahead; -1 help printed; else the usage exit code. */
static int parse_args(int argc, char **argv, sweep_args *a) {
    *a = (sweep_args){.mode = "step",
                      .model = "llama2c-15m",
                      .out = "sweep.csv",
                      .warmup = -1,
                      .steps = -1,
                      .seed = 1,
                      .requests = -1,
                      .duration = -1,
                      .repeats = 3,
                      .target = 0.99,
                      .rate_lo = 1,
                      .rate_hi = 64,
                      .tolerance = 0.05};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            print_help(stdout);
            return -1;
        }
        int *bools[] = {&a->resume, &a->overwrite, &a->quiet, &a->search};
        const char *bool_names[] = {"--resume", "--overwrite", "--quiet", "--search"};
        int matched = 0;
        for (int b = 0; b < 4; b++)
            if (!strcmp(f, bool_names[b])) *bools[b] = matched = 1;
        if (matched) continue;
        char name[64];
        const char *v;
        int rc = db_cli_flag_value(CMD, argc, argv, &i, name, sizeof name, &v);
        if (rc) return rc;
        int r = parse_flag(a, name, v);
        if (r > 0) return db_cli_usage_error(CMD, "unknown flag '%s'", name);
        if (r < 0) return DB_EXIT_USAGE;
    }
    if (a->resume && a->overwrite)
        return db_cli_usage_error(CMD, "--resume and --overwrite are alternatives; give one");
    return check_mode_flags(a);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* The serve-mode part of the configuration: workload, SLO, scheduler. 0, or -1 with err. */
static int configure_serve(const sweep_args *a, db_sweep_config *c, db_slo_set *slo, char *err,
                           size_t errlen) {
    c->requests = a->requests > 0 ? a->requests : 200;
    c->rate_requests = a->requests > 0 ? a->requests : 0;
    c->issue_s = a->duration > 0 ? a->duration : a->requests > 0 ? 0 : 60;
    if (a->duration == 0) {
        snprintf(err, errlen, "--duration must be > 0");
        return -1;
    }
    c->prompt_len = a->prompt_len;
    c->output_len = a->output_len;
    db_slo_init(slo);
    if (a->slo) {
        char msg[400];
        if (db_slo_parse(a->slo, slo, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "--slo: %s", msg);
            return -1;
        }
        c->slo = slo;
        c->slo_text = a->slo;
    }
    db_sched_opts_default(&c->sched);
    if (a->max_batch) c->sched.max_batch = (int)a->max_batch;
    if (a->max_batch_tokens) c->sched.max_batch_tokens = (int)a->max_batch_tokens;
    if (c->sched.max_batch_tokens < c->sched.max_batch) {
        snprintf(err, errlen, "--max-batch-tokens (%d) must be >= --max-batch (%d)",
                 c->sched.max_batch_tokens, c->sched.max_batch);
        return -1;
    }
    return 0;
}

/* Fills the sweep configuration from the flags (the grid, the model, the ceilings). 0 or the usage
 * exit code (printed). */
static int configure(const sweep_args *a, db_sweep_config *c, db_ceilings *ceil, char *device,
                     size_t device_len, db_slo_set *slo) {
    char err[512];
    memset(c, 0, sizeof *c);
    c->backend = a->backend == DB_BACKEND_AUTO ? db_gpu_resolve_auto() : a->backend;
    db_cuda_device_info gpu = {0};
    if (c->backend == DB_BACKEND_CUDA && db_gpu_probe(0, &gpu, err, sizeof err) != 0) {
        fprintf(stderr, "decodebench %s: --backend cuda: %s\n", CMD, err);
        return DB_EXIT_FAIL;
    }
    if (a->device && c->backend != DB_BACKEND_SIM)
        return db_cli_usage_error(CMD, "--device applies to --backend sim only");
    db_error e = {0};
    if (db_model_resolve(a->model, &c->model, &e) != DB_OK ||
        (a->layers && db_model_truncate(&c->model, (int)a->layers, &e) != DB_OK))
        return db_cli_usage_error(CMD, "--model: %s", e.msg);
    c->model_label = a->model;
    c->checkpoint = ends_with(a->model, ".bin") ? a->model : NULL;
    c->sim_device = c->backend == DB_BACKEND_SIM ? (a->device ? a->device : "h100-sxm") : NULL;
    const char *ceil_name = a->ceilings ? a->ceilings : c->sim_device;
    if (!ceil_name && c->backend == DB_BACKEND_CUDA) {
        ceil_name = db_profile_preset_for_gpu(gpu.name);
        if (ceil_name && !a->quiet)
            fprintf(stderr,
                    "decodebench %s: ceilings: the %s datasheet preset, matched from the GPU "
                    "name '%s' (pass --ceilings FILE from `decodebench roofline` for measured "
                    "ones)\n",
                    CMD, ceil_name, gpu.name);
    }
    if (ceil_name) {
        if (db_ceilings_resolve(ceil_name, ceil, &e) != DB_OK)
            return db_cli_usage_error(CMD, "%s: %s", a->ceilings ? "--ceilings" : "--device",
                                      e.msg);
        c->ceilings = ceil;
    }
    if (c->backend == DB_BACKEND_SIM)
        snprintf(device, device_len, "%s", c->sim_device);
    else if (c->backend == DB_BACKEND_CUDA)
        snprintf(device, device_len, "%.*s", (int)device_len - 1, gpu.name);
    else
        db_env_cpu_model("/proc/cpuinfo", device, device_len);
    c->device_label = device;
    db_sweep_grid *g = &c->grid;
    const char *prec = a->precision ? a->precision : c->backend == DB_BACKEND_CPU ? "fp32" : "bf16";
    if (db_sweep_parse_precisions("--precision", prec, g->precisions, &g->n_precisions, err,
                                  sizeof err))
        return db_cli_usage_error(CMD, "%s", err);
    int all_fp32 = 1;
    for (int i = 0; i < g->n_precisions; i++)
        all_fp32 &= g->precisions[i] == DB_PREC_FP32 || g->precisions[i] == DB_PREC_TF32;
    const char *kv = a->kv_dtype ? a->kv_dtype : all_fp32 ? "fp32" : "bf16";
    g->serve = !strcmp(a->mode, "serve");
    int bad =
        db_sweep_parse_kv_dtypes("--kv-dtype", kv, g->kv_dtypes, &g->n_kv_dtypes, err, sizeof err);
    if (!bad && !g->serve)
        bad = db_sweep_parse_ints("--batch", a->batch, 1, 1 << 20, &g->batches, &g->n_batches, err,
                                  sizeof err) ||
              db_sweep_parse_ints("--context", a->context, 1, c->model.max_seq_len, &g->contexts,
                                  &g->n_contexts, err, sizeof err);
    if (!bad && a->rate)
        bad = db_sweep_parse_numbers("--rate", a->rate, 1e-6, 1e9, &g->rates, &g->n_rates, err,
                                     sizeof err);
    if (!bad && a->concurrency)
        bad = db_sweep_parse_ints("--concurrency", a->concurrency, 1, 1 << 20, &g->concurrencies,
                                  &g->n_concurrencies, err, sizeof err);
    if (!bad && g->serve) bad = configure_serve(a, c, slo, err, sizeof err);
    if (bad) {
        db_sweep_grid_free(g);
        return db_cli_usage_error(CMD, "%s", err);
    }
    c->shard_count = 1;
    if (a->shard &&
        db_sweep_parse_shard(a->shard, &c->shard_index, &c->shard_count, err, sizeof err)) {
        db_sweep_grid_free(g);
        return db_cli_usage_error(CMD, "%s", err);
    }
    c->warmup_steps = (int)a->warmup;
    c->steps = (int)a->steps;
    c->threads = (int)a->threads;
    c->seed = (uint64_t)a->seed;
    c->kv_tokens = a->kv_tokens;
    c->prefill_step_tokens = (int)a->prefill_tokens;
    return 0;
}

/* ---- resume, rows, progress ----------------------------------------------------------------- */

typedef struct sweep_out {
    FILE *f;
    char **done_keys; /* sorted keys of the rows already in the file (resume) */
    size_t n_done;
    int bar; /* draw a progress bar on stderr */
    int drawn;
    double last_draw_s; /* elapsed time of the last redraw (at most 4 a second) */
} sweep_out;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int skip_done(void *ctx, const db_sweep_row *inputs) {
    sweep_out *o = ctx;
    if (!o->n_done) return 0;
    char *k = db_sweep_row_key(inputs);
    int found = k && bsearch(&k, o->done_keys, o->n_done, sizeof *o->done_keys, cmp_str) != NULL;
    free(k);
    return found;
}

static int write_row(void *ctx, const db_sweep_row *r) {
    sweep_out *o = ctx;
    return db_sweep_write_row(o->f, r) != 0 || fflush(o->f) != 0 ? -1 : 0;
}

static void progress(void *ctx, const db_sweep_progress *p) {
    sweep_out *o = ctx;
    if (!o->bar) return;
    if (!p->current) {
        if (o->drawn) fprintf(stderr, "\r\033[K");
        o->drawn = 0;
        return;
    }
    if (o->drawn && p->elapsed_s - o->last_draw_s < 0.25) return;
    o->last_draw_s = p->elapsed_s;
    enum { WIDTH = 24 };
    int filled = p->total ? (int)(WIDTH * p->done / p->total) : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    char eta[32] = "--:--";
    if (p->done > 0) {
        double left = p->elapsed_s / (double)p->done * (double)(p->total - p->done);
        snprintf(eta, sizeof eta, "%d:%02d", (int)(left / 60), (int)fmod(left, 60));
    }
    const db_sweep_row *r = p->current;
    char load[64];
    if (strcmp(r->mode, "step") == 0)
        snprintf(load, sizeof load, "ctx=%lld B=%lld", (long long)r->context, (long long)r->batch);
    else if (r->rate > 0)
        snprintf(load, sizeof load, "rate=%g/s", r->rate);
    else
        snprintf(load, sizeof load, "concurrency=%lld", (long long)r->concurrency);
    fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s kv=%s %s  ETA %s", bar, p->done, p->total,
            db_precision_name(r->precision), db_kv_dtype_name(r->kv_dtype), load, eta);
    if (p->failed) fprintf(stderr, "  (%zu failed)", p->failed);
    fflush(stderr);
    o->drawn = 1;
}

/* Opens the CSV for appending: checks an existing file's header and loads its keys (resume), or
 * creates it with the header. 0 or an exit code (printed). */
static int open_out(const sweep_args *a, sweep_out *o) {
    char err[512];
    db_csv_table t;
    int rc = db_csv_table_read(a->out, &t, err, sizeof err);
    if (rc == 0 && !a->resume && !a->overwrite) {
        db_csv_table_free(&t);
        return db_cli_usage_error(CMD,
                                  "--out %s exists: pass --resume to continue it or "
                                  "--overwrite to replace it",
                                  a->out);
    }
    if (rc < 0 && (a->resume || !a->overwrite)) return db_cli_usage_error(CMD, "--out: %s", err);
    int fresh = rc != 0 || a->overwrite;
    if (rc == 0 && a->resume) {
        if (db_sweep_check_header(&t, a->out, err, sizeof err)) {
            db_csv_table_free(&t);
            return db_cli_usage_error(CMD, "--resume: %s", err);
        }
        o->done_keys = calloc(t.nrows ? t.nrows : 1, sizeof *o->done_keys);
        for (size_t i = 0; o->done_keys && i < t.nrows; i++)
            if ((o->done_keys[o->n_done] = db_sweep_table_key(&t, i, 0)) != NULL) o->n_done++;
        qsort(o->done_keys, o->n_done, sizeof *o->done_keys, cmp_str);
    }
    if (rc == 0) db_csv_table_free(&t);
    o->f = fopen(a->out, fresh ? "w" : "a");
    if (!o->f) {
        fprintf(stderr, "decodebench %s: cannot write '%s': %s\n", CMD, a->out, strerror(errno));
        return DB_EXIT_FAIL;
    }
    if (fresh && (db_sweep_write_header(o->f) != 0 || fflush(o->f) != 0)) {
        fprintf(stderr, "decodebench %s: cannot write '%s'\n", CMD, a->out);
        return DB_EXIT_FAIL;
    }
    return 0;
}

/* One line per curve (precision, KV dtype, context, ...): predicted and measured crossover. */
static void print_crossovers(const db_csv_table *t) {
    static const char *const cols[] = {"precision",
                                       "kv_dtype",
                                       "context",
                                       "predicted_crossover_batch",
                                       "measured_crossover_batch",
                                       "ridge_crossover_batch",
                                       "ai_ridge_batch"};
    int c[7];
    for (int i = 0; i < 7; i++)
        if ((c[i] = db_csv_table_col(t, cols[i])) < 0) return;
    int mode = db_csv_table_col(t, "mode");
    size_t steps = 0;
    for (size_t r = 0; mode >= 0 && r < t->nrows; r++)
        steps += !strcmp(db_csv_table_cell(t, r, (size_t)mode), "step");
    if (!steps) return;
    char **seen = calloc(t->nrows, sizeof *seen);
    size_t n_seen = 0;
    if (!seen) return;
    printf("\ncrossover batch    %-9s %-9s %-9s %10s %10s %8s %13s %12s\n", "precision", "kv",
           "context", "predicted", "measured", "ratio", "ridge x w/2", "whole-step");
    for (size_t r = 0; r < t->nrows; r++) {
        if (strcmp(db_csv_table_cell(t, r, (size_t)mode), "step") != 0) continue;
        char *k = db_sweep_table_key(t, r, 1);
        int dup = !k;
        for (size_t i = 0; k && i < n_seen && !dup; i++)
            dup = !strcmp(seen[i], k);
        if (dup) {
            free(k);
            continue;
        }
        seen[n_seen++] = k;
        const char *v[7];
        for (int i = 0; i < 7; i++)
            v[i] = db_csv_table_cell(t, r, (size_t)c[i]);
        double pr = atof(v[3]), me = atof(v[4]);
        char ratio[32] = "", num[4][32];
        if (*v[3] && *v[4] && pr > 0) snprintf(ratio, sizeof ratio, "%.3f", me / pr);
        for (int i = 0; i < 4; i++) {
            if (*v[3 + i])
                snprintf(num[i], sizeof num[i], "%.1f", atof(v[3 + i]));
            else
                snprintf(num[i], sizeof num[i], "%s", i == 2 ? "-" : "none");
        }
        printf("                   %-9s %-9s %-9s %10s %10s %8s %13s %12s\n", v[0], v[1], v[2],
               num[0], num[1], ratio, num[2], num[3]);
    }
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i]);
    free(seen);
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* Prints one search result. */
static void print_capacity(const db_sweep_config *c, const db_capacity_opts *o,
                           const db_capacity_result *r) {
    printf("capacity %s kv %s (SLO %s, attainment >= %.4g%%): ", db_precision_name(o->precision),
           db_kv_dtype_name(o->kv_dtype), c->slo_text, 100 * o->target);
    switch (r->outcome) {
    case DB_CAPACITY_BELOW_LO:
        printf("below %g requests/s (the lowest rate misses the target)\n", o->rate_lo);
        return;
    case DB_CAPACITY_ABOVE_HI:
        printf("at least %g requests/s (no failing rate found)", r->rate);
        break;
    case DB_CAPACITY_NOT_NARROWED:
        printf("between %g and %g requests/s (probes ran out before the %.3g%% tolerance)", r->rate,
               r->rate_fail, 100 * o->tolerance);
        break;
    case DB_CAPACITY_FOUND:
        printf("%.4g requests/s (misses at %.4g; tolerance %.3g%%)", r->rate, r->rate_fail,
               100 * o->tolerance);
        break;
    }
    printf("; attainment %.2f%%, goodput %.4g req/s; confirmed by %d of %d runs with other "
           "seeds (attainment min %.2f%%, mean %.2f%%); %d probes\n",
           100 * r->attainment, r->goodput, r->confirm_met, r->confirm_runs, 100 * r->confirm_min,
           100 * r->confirm_mean, r->probes);
}

/* --search: one capacity search per precision and KV dtype, rows to the CSV. */
static int run_search(const sweep_args *a, const db_sweep_config *c, sweep_out *o) {
    for (int i = 0; i < c->grid.n_precisions; i++)
        for (int k = 0; k < c->grid.n_kv_dtypes; k++) {
            db_capacity_opts co;
            db_capacity_opts_default(&co);
            co.precision = c->grid.precisions[i];
            co.kv_dtype = c->grid.kv_dtypes[k];
            co.target = a->target;
            co.rate_lo = a->rate_lo;
            co.rate_hi = a->rate_hi;
            co.tolerance = a->tolerance;
            co.repeats = (int)a->repeats;
            db_sweep_callbacks cb = {.row = write_row, .ctx = o};
            db_capacity_result r;
            db_error err = {0};
            if (db_capacity_search(c, &co, &cb, &r, &err) != DB_OK) {
                fprintf(stderr, "decodebench %s: %s\n", CMD, err.msg);
                return err.code == DB_ERR_INVALID ? DB_EXIT_USAGE : DB_EXIT_FAIL;
            }
            if (!a->quiet) print_capacity(c, &co, &r);
        }
    return DB_EXIT_OK;
}

int db_cmd_sweep(int argc, char **argv) {
    sweep_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? DB_EXIT_OK : rc;
    db_sweep_config c;
    db_ceilings ceil;
    db_slo_set slo;
    char device[160];
    if ((rc = configure(&a, &c, &ceil, device, sizeof device, &slo)) != 0) return rc;
    if (!c.ceilings && !a.quiet)
        fprintf(stderr,
                "decodebench %s: no --ceilings: MFU, MBU and the predicted crossovers stay "
                "empty (measure the ceilings with `decodebench roofline`)\n",
                CMD);
    sweep_out o = {0};
    if ((rc = open_out(&a, &o)) != 0) {
        db_sweep_grid_free(&c.grid);
        return rc;
    }
    if (a.search) {
        rc = run_search(&a, &c, &o);
        db_sweep_grid_free(&c.grid);
        if (fclose(o.f) != 0 && rc == DB_EXIT_OK) rc = DB_EXIT_FAIL;
        return rc;
    }
    o.bar = !a.quiet && isatty(STDERR_FILENO);
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigaction(SIGINT, &sa, NULL);
    db_sweep_callbacks cb = {skip_done, write_row, progress, &stop_flag, &o};
    db_sweep_stats st;
    db_error err = {0};
    db_status s = db_sweep_run(&c, &cb, &st, &err);
    signal(SIGINT, SIG_DFL);
    int closed = fclose(o.f);
    for (size_t i = 0; i < o.n_done; i++)
        free(o.done_keys[i]);
    free(o.done_keys);
    db_sweep_grid_free(&c.grid);
    if (s != DB_OK || closed != 0) {
        fprintf(stderr, "decodebench %s: %s\n", CMD, s ? err.msg : "closing the CSV failed");
        return DB_EXIT_FAIL;
    }
    if (!a.quiet)
        printf("%zu points in this shard: %zu run (%zu failed), %zu already in %s%s\n", st.in_shard,
               st.run, st.failed, st.skipped, a.out, st.interrupted ? "; interrupted" : "");
    char msg[512];
    db_csv_table t;
    if (db_sweep_csv_finalize(a.out, db_knee_fill_groups, &t, msg, sizeof msg) != 0) {
        fprintf(stderr, "decodebench %s: measured crossover: %s\n", CMD, msg);
        return DB_EXIT_FAIL;
    }
    if (!a.quiet) print_crossovers(&t);
    db_csv_table_free(&t);
    return DB_EXIT_OK;
}
