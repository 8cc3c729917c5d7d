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

#include "cli.h"
#include "commands.h"
#include "crossover.h"
#include "env.h"
#include "model.h"
#include "sweep.h"
#include "sweep_csv.h"

#define CMD "sweep"

typedef struct sweep_args {
    const char *mode, *model, *device, *ceilings, *out;
    const char *batch, *precision, *kv_dtype, *context, *shard;
    long long layers, warmup, steps, threads, seed, kv_tokens, prefill_tokens;
    db_backend_kind backend;
    int resume, overwrite, quiet;
} sweep_args;

static void print_help(FILE *f) {
    /* clang-format off */
    fprintf(f,
"Usage: decodebench sweep --mode step [flags]\n"
"\n"
"Runs every point of a grid (precision x KV dtype x context x batch) and appends one CSV row per\n"
"point as it finishes. Mode step: B sequences are prefilled to the context (untimed), then\n"
"--warmup-steps decode steps run untimed and --steps decode steps are timed; the point's step time\n"
"is their median (cpu: measured; sim: modelled). Each row has the inputs, the ceilings in use, the\n"
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
"  --mode step               what a point measures                        (default step)\n"
"  --backend auto|cpu|sim    auto = cuda if a GPU answers, else cpu       (default auto)\n"
"  --model NAME|FILE.json|FILE.bin  model preset, shape or llama2.c checkpoint (default llama2c-15m)\n"
"  --layers N                only the first N layers                      (default: all)\n"
"  --device PRESET|FILE.json sim: h100-sxm, h200, a100-80g, l40s or a ceilings file\n"
"                                                                         (default h100-sxm)\n"
"  --ceilings PRESET|FILE.json  ceilings for MFU, MBU and the predictions (default: sim the\n"
"                            --device; cpu none, so those columns stay empty: measure them with\n"
"                            `decodebench roofline` and pass the file)\n"
"  --threads N               cpu threads; 0 = all cores                   (default 0)\n"
"  --warmup-steps N          untimed decode steps per point               (default 2)\n"
"  --steps N                 timed decode steps per point                 (default 5)\n"
"  --kv-tokens N             KV capacity of every engine  (default: cpu what each point needs,\n"
"                            sim the device's memory)\n"
"  --prefill-step-tokens N   most tokens per (untimed) prefill step        (default 4096)\n"
"  --seed N                  weights and prompt tokens                    (default 1)\n"
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
"current point. Exit codes: 0 done (even with failed points), 1 a write failed, 2 usage error.\n");
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
                {"--shard", offsetof(sweep_args, shard)}};
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
                {"--prefill-step-tokens", offsetof(sweep_args, prefill_tokens), 1, 1 << 20}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!strcmp(f, strs[i].name)) {
            *(const char **)((char *)a + strs[i].off) = v;
            return 0;
        }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp(f, ints[i].name))
            return db_cli_int(CMD, f, v, ints[i].lo, ints[i].hi,
                              (long long *)((char *)a + ints[i].off));
    if (!strcmp(f, "--backend")) {
        if (db_backend_parse(v, &a->backend) == 0) return 0;
        fprintf(stderr, "decodebench %s: --backend expects auto, cpu, cuda or sim, got '%s'\n", CMD,
                v);
        return -1;
    }
    return 1;
}

/* 0 go ahead; -1 help printed; else the usage exit code. */
static int parse_args(int argc, char **argv, sweep_args *a) {
    *a = (sweep_args){.mode = "step",
                      .model = "llama2c-15m",
                      .out = "sweep.csv",
                      .batch = "1..64x2",
                      .context = "128",
                      .warmup = 2,
                      .steps = 5,
                      .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            print_help(stdout);
            return -1;
        }
        int *bools[] = {&a->resume, &a->overwrite, &a->quiet};
        const char *bool_names[] = {"--resume", "--overwrite", "--quiet"};
        int matched = 0;
        for (int b = 0; b < 3; b++)
            if (!strcmp(f, bool_names[b])) *bools[b] = matched = 1;
        if (matched) continue;
        if (strncmp(f, "--", 2) != 0) return db_cli_usage_error(CMD, "unexpected argument '%s'", f);
        char name[64];
        const char *eq = strchr(f, '='), *v;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - f), f);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", f);
            if (i + 1 >= argc) return db_cli_usage_error(CMD, "%s needs a value", f);
            v = argv[++i];
        }
        int r = parse_flag(a, name, v);
        if (r > 0) return db_cli_usage_error(CMD, "unknown flag '%s'", name);
        if (r < 0) return DB_EXIT_USAGE;
    }
    if (strcmp(a->mode, "step") != 0)
        return db_cli_usage_error(CMD, "--mode expects step, got '%s'", a->mode);
    if (a->resume && a->overwrite)
        return db_cli_usage_error(CMD, "--resume and --overwrite are alternatives; give one");
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Fills the sweep configuration from the flags (the grid, the model, the ceilings). 0 or the usage
 * exit code (printed). */
static int configure(const sweep_args *a, db_sweep_config *c, db_ceilings *ceil, char *device,
                     size_t device_len) {
    char err[512];
    memset(c, 0, sizeof *c);
    c->backend = a->backend;
    if (c->backend == DB_BACKEND_AUTO) {
#ifdef DECODEBENCH_HAVE_CUDA
        c->backend = db_cuda_device_count() > 0 ? DB_BACKEND_CUDA : DB_BACKEND_CPU;
#else
        c->backend = DB_BACKEND_CPU;
#endif
    }
    if (c->backend == DB_BACKEND_CUDA)
        return db_cli_usage_error(CMD, "--backend cuda: sweeps run on cpu or sim in this version");
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
    if (ceil_name) {
        if (db_ceilings_resolve(ceil_name, ceil, &e) != DB_OK)
            return db_cli_usage_error(CMD, "%s: %s", a->ceilings ? "--ceilings" : "--device",
                                      e.msg);
        c->ceilings = ceil;
    }
    if (c->backend == DB_BACKEND_SIM)
        snprintf(device, device_len, "%s", c->sim_device);
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
    if (db_sweep_parse_kv_dtypes("--kv-dtype", kv, g->kv_dtypes, &g->n_kv_dtypes, err,
                                 sizeof err) ||
        db_sweep_parse_ints("--batch", a->batch, 1, 1 << 20, &g->batches, &g->n_batches, err,
                            sizeof err) ||
        db_sweep_parse_ints("--context", a->context, 1, c->model.max_seq_len, &g->contexts,
                            &g->n_contexts, err, sizeof err)) {
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
    fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s kv=%s ctx=%lld B=%lld  ETA %s", bar, p->done,
            p->total, db_precision_name(r->precision), db_kv_dtype_name(r->kv_dtype),
            (long long)r->context, (long long)r->batch, eta);
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
    char **seen = calloc(t->nrows ? t->nrows : 1, sizeof *seen);
    size_t n_seen = 0;
    if (!seen) return;
    printf("\ncrossover batch    %-9s %-9s %-9s %10s %10s %8s %13s %12s\n", "precision", "kv",
           "context", "predicted", "measured", "ratio", "ridge x w/2", "whole-step");
    for (size_t r = 0; r < t->nrows; r++) {
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

int db_cmd_sweep(int argc, char **argv) {
    sweep_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? DB_EXIT_OK : rc;
    db_sweep_config c;
    db_ceilings ceil;
    char device[160];
    if ((rc = configure(&a, &c, &ceil, device, sizeof device)) != 0) return rc;
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
