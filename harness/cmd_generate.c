/* cmd_generate.c — `decodebench generate`: runs the decode engine on seeded random prompts, prints
 * the generated token ids of each sequence and the achieved throughput (tokens/s, GB/s and GFLOP/s,
 * bytes and FLOPs from db_engine_cost over the steps' measured or modelled time). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "commands.h"
#include "engine.h"
#include "model.h"
#include "synth.h"

#define CMD "generate"

static void print_help(FILE *f) {
    fprintf(
        f,
        "Usage: decodebench generate [flags]\n"
        "\n"
        "Runs the embedded decode engine on seeded random prompts: one prefill step for the whole "
        "batch\n"
        "(which yields each sequence's first token), then --steps decode steps of the whole batch. "
        "Prints the\n"
        "generated token ids of every sequence, then the throughput of the prefill and of the "
        "decode steps:\n"
        "tokens/s, GB/s and GFLOP/s, where bytes and FLOPs are the analytic cost of each step "
        "(weights, KV\n"
        "cache, activations) summed over the steps and divided by their time (measured on cpu and "
        "cuda,\n"
        "modelled on sim).\n"
        "\n"
        "  --model NAME|FILE.json|FILE.bin  preset (tiny, llama2c-15m, llama2c-110m, llama2-7b, "
        "llama3-8b,\n"
        "                                llama2-13b, llama3-70b, mistral-7b), a custom shape, or a "
        "llama2.c\n"
        "                                checkpoint whose weights are loaded        (default "
        "tiny)\n"
        "  --layers N                    run only the first N layers               (default: all)\n"
        "  --prompt-len N                tokens in each prompt, >= 1               (default 16)\n"
        "  --steps M                     decode steps after the prefill; each sequence generates M "
        "+ 1\n"
        "                                tokens; prompt-len + M <= the model's max_seq_len  "
        "(default 32)\n"
        "  --batch B                     sequences decoded together                (default 1)\n"
        "  --precision P                 fp32|tf32|fp16|bf16|fp8|int8|int4   (default fp32 on cpu, "
        "else bf16)\n"
        "  --kv-dtype D                  fp32|fp16|bf16|fp8   (default fp32 with fp32/tf32 "
        "precision, else bf16)\n"
        "  --backend auto|cpu|cuda|sim   backend; auto = cuda if a GPU answers, else cpu   "
        "(default auto)\n"
        "  --device PRESET|FILE.json     sim only: h100-sxm, h200, a100-80g, l40s, or a ceilings "
        "JSON\n"
        "                                (default h100-sxm)\n"
        "  --seed S                      seed of the synthetic weights, the prompts and sampling  "
        "(default 1)\n"
        "  --threads T                   cpu worker threads; 0 = all cores          (default 0)\n"
        "  --temperature X               0 = greedy argmax (lowest id on ties); > 0 samples from\n"
        "                                softmax(logits / X), seeded               (default 0)\n"
        "  --top-k K                     with --temperature: sample among the K largest logits; 0 "
        "= all\n"
        "                                (default 0)\n"
        "  --help                        this text\n"
        "\n"
        "Output: a header line (model, precision, KV dtype, backend and device), one line per "
        "sequence\n"
        "'seq I: ID ID ...', then 'prefill:' and 'decode:' lines with the tokens, time and rates.\n"
        "\n"
        "Exit codes: 0 success; 1 the engine failed (message printed); 2 usage error (bad flag or "
        "value,\n"
        "unknown model, unreadable or malformed model file).\n");
}

typedef struct gen_args {
    const char *model, *device;
    long long layers, prompt_len, steps, batch, seed, threads, top_k;
    double temperature;
    db_precision precision; /* DB_PREC_COUNT: unset */
    db_kv_dtype kv_dtype;   /* DB_KV_COUNT: unset */
    db_backend_kind backend;
} gen_args;

/* One flag with its value; 0 ok, DB_EXIT_USAGE on a bad value or flag. */
static int parse_flag(gen_args *a, const char *f, const char *v) {
    if (!strcmp(f, "--model")) return (a->model = v), 0;
    if (!strcmp(f, "--device")) return (a->device = v), 0;
    if (!strcmp(f, "--precision"))
        return db_precision_parse(v, &a->precision)
                   ? db_cli_usage_error(
                         CMD, "--precision expects fp32|tf32|fp16|bf16|fp8|int8|int4, got '%s'", v)
                   : 0;
    if (!strcmp(f, "--kv-dtype"))
        return db_kv_dtype_parse(v, &a->kv_dtype)
                   ? db_cli_usage_error(CMD, "--kv-dtype expects fp32|fp16|bf16|fp8, got '%s'", v)
                   : 0;
    if (!strcmp(f, "--backend"))
        return db_backend_parse(v, &a->backend)
                   ? db_cli_usage_error(CMD, "--backend expects auto|cpu|cuda|sim, got '%s'", v)
                   : 0;
    struct {
        const char *name;
        long long lo, hi, *out;
    } ints[] = {
        {"--layers", 1, DB_MODEL_MAX_LAYERS, &a->layers},
        {"--prompt-len", 1, DB_MODEL_MAX_SEQ, &a->prompt_len},
        {"--steps", 0, DB_MODEL_MAX_SEQ, &a->steps},
        {"--batch", 1, 65536, &a->batch},
        {"--seed", 0, INT64_MAX, &a->seed},
        {"--threads", 0, 1024, &a->threads},
        {"--top-k", 0, DB_MODEL_MAX_VOCAB, &a->top_k},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp(f, ints[i].name))
            return db_cli_int(CMD, f, v, ints[i].lo, ints[i].hi, ints[i].out) ? DB_EXIT_USAGE : 0;
    if (!strcmp(f, "--temperature"))
        return db_cli_double(CMD, f, v, 0.0, 1e6, &a->temperature) ? DB_EXIT_USAGE : 0;
    return db_cli_usage_error(CMD, "unknown flag '%s'", f);
}

/* argv into a; -1 when --help was printed, else 0 or DB_EXIT_USAGE. Flags take "--flag VALUE" or
 * "--flag=VALUE". */
static int parse_args(int argc, char **argv, gen_args *a) {
    *a = (gen_args){.model = "tiny",
                    .prompt_len = 16,
                    .steps = 32,
                    .batch = 1,
                    .seed = 1,
                    .precision = DB_PREC_COUNT,
                    .kv_dtype = DB_KV_COUNT,
                    .backend = DB_BACKEND_AUTO};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return print_help(stdout), -1;
        if (strncmp(arg, "--", 2) != 0)
            return db_cli_usage_error(CMD, "unexpected argument '%s'", arg);
        char name[64];
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        if (n >= sizeof name) return db_cli_usage_error(CMD, "unknown flag '%s'", arg);
        memcpy(name, arg, n);
        name[n] = '\0';
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc) return db_cli_usage_error(CMD, "%s expects a value", name);
            v = argv[++i];
        }
        int r = parse_flag(a, name, v);
        if (r) return r;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* auto: cuda if this build has it and a GPU answers, else cpu (as db_engine_open decides). */
static db_backend_kind resolve_auto(void) {
#ifdef DECODEBENCH_HAVE_CUDA
    return db_cuda_device_count() > 0 ? DB_BACKEND_CUDA : DB_BACKEND_CPU;
#else
    return DB_BACKEND_CPU;
#endif
}

/* Flags that depend on each other and on the model; fills the engine options. */
static int resolve(gen_args *a, db_engine_opts *o) {
    db_engine_opts_default(o);
    db_error err;
    if (db_model_resolve(a->model, &o->model, &err) != DB_OK)
        return db_cli_usage_error(CMD, "--model %s: %s", a->model, err.msg);
    if (a->layers && db_model_truncate(&o->model, (int)a->layers, &err) != DB_OK)
        return db_cli_usage_error(CMD, "--layers %lld: %s", a->layers, err.msg);
    if (a->prompt_len + a->steps > o->model.max_seq_len)
        return db_cli_usage_error(
            CMD, "--prompt-len %lld plus --steps %lld exceeds the max_seq_len %d of %s",
            a->prompt_len, a->steps, o->model.max_seq_len, o->model.name);
    db_backend_kind resolved = a->backend == DB_BACKEND_AUTO ? resolve_auto() : a->backend;
    if (a->device && resolved != DB_BACKEND_SIM)
        return db_cli_usage_error(CMD, "--device applies to --backend sim only");
    if (a->top_k && a->temperature == 0.0)
        return db_cli_usage_error(CMD, "--top-k needs --temperature > 0");
    if (a->precision == DB_PREC_COUNT)
        a->precision = resolved == DB_BACKEND_CPU ? DB_PREC_FP32 : DB_PREC_BF16;
    if (a->kv_dtype == DB_KV_COUNT)
        a->kv_dtype =
            a->precision == DB_PREC_FP32 || a->precision == DB_PREC_TF32 ? DB_KV_FP32 : DB_KV_BF16;
    o->backend = a->backend;
    o->checkpoint_path = ends_with(a->model, ".bin") ? a->model : NULL;
    o->precision = a->precision;
    o->kv_dtype = a->kv_dtype;
    o->seed = (uint64_t)a->seed;
    o->threads = (int)a->threads;
    o->temperature = (float)a->temperature;
    o->top_k = (int)a->top_k;
    o->sim_device = resolved == DB_BACKEND_SIM ? (a->device ? a->device : "h100-sxm") : NULL;
    int64_t per_seq =
        (a->prompt_len + a->steps + o->kv_block_size - 1) / o->kv_block_size * o->kv_block_size;
    o->kv_tokens = a->batch * per_seq;
    return 0;
}

/* Seeded random prompts: token i of sequence s is a counter-based draw (kernels/synth.h). */
static void make_prompts(int32_t *prompts, int batch, int len, int vocab, uint64_t seed) {
    for (int s = 0; s < batch; s++) {
        uint64_t key = db_synth_key(seed, 0xC0000000u + (uint32_t)s);
        for (int i = 0; i < len; i++)
            prompts[(size_t)s * len + i] =
                (int32_t)(db_synth_bits(key, (uint64_t)i) % (uint64_t)vocab);
    }
}

typedef struct phase {
    int64_t tokens;
    double seconds, bytes, flops;
} phase;

/* One step over all sequences; adds its time and cost to ph. */
static int run_step(db_engine *e, const db_work *w, int n, int32_t *next, phase *ph) {
    db_error err;
    db_step_result res = {next, NULL, 0.0, 0.0};
    if (db_engine_step(e, w, n, &res, &err) != DB_OK) {
        fprintf(stderr, "decodebench %s: step failed: %s\n", CMD, err.msg);
        return DB_EXIT_FAIL;
    }
    db_cost c;
    db_engine_cost(e, w, n, &c);
    ph->seconds += res.step_seconds;
    ph->bytes += c.total_bytes;
    ph->flops += c.total_flops;
    for (int i = 0; i < n; i++)
        ph->tokens += w[i].n_tokens;
    return 0;
}

static void print_phase(const char *name, const phase *ph, int batch, long long per_seq,
                        long long steps) {
    double s = ph->seconds > 0 ? ph->seconds : 1e-300;
    printf("%-8s %d x %lld tokens in %.3f ms: %.1f tokens/s, %.2f GB/s, %.2f GFLOP/s", name, batch,
           per_seq, ph->seconds * 1e3, (double)ph->tokens / s, ph->bytes / s * 1e-9,
           ph->flops / s * 1e-9);
    if (steps > 0) printf(", %.3f ms/step", ph->seconds * 1e3 / (double)steps);
    printf("\n");
}

/* Prefill then decode; tokens (batch, steps + 1) receives every generated token. */
static int generate(db_engine *e, const gen_args *a, const int32_t *prompts, int32_t *tokens,
                    int *ids, phase *pre, phase *dec) {
    int B = (int)a->batch, N = (int)a->prompt_len, M = (int)a->steps, rc = 0;
    db_work *w = calloc((size_t)B, sizeof *w);
    int32_t *next = calloc((size_t)B, sizeof *next);
    if (!w || !next) rc = DB_EXIT_FAIL;
    for (int s = 0; !rc && s < B; s++)
        w[s] = (db_work){ids[s], 0, N, prompts + (size_t)s * N, 1};
    if (!rc) rc = run_step(e, w, B, next, pre);
    for (int k = 0; !rc && k <= M; k++) {
        for (int s = 0; s < B; s++)
            tokens[(size_t)s * (M + 1) + k] = next[s];
        if (k == M) break;
        for (int s = 0; s < B; s++)
            w[s] = (db_work){ids[s], N + k, 1, &tokens[(size_t)s * (M + 1) + k], 1};
        rc = run_step(e, w, B, next, dec);
    }
    if (!w || !next) fprintf(stderr, "decodebench %s: out of memory\n", CMD);
    free(w);
    free(next);
    return rc;
}

static void print_result(const db_engine *e, const gen_args *a, const int32_t *tokens,
                         const phase *pre, const phase *dec) {
    const db_engine_opts *o = db_engine_get_opts(e);
    printf("%s (dim %d, %d layers, vocab %d), %s weights, %s KV, %s backend (%s), batch %lld, seed "
           "%lld\n",
           o->model.name, o->model.dim, o->model.n_layers, o->model.vocab_size,
           db_precision_name(o->precision), db_kv_dtype_name(o->kv_dtype),
           db_backend_name(db_engine_backend(e)), db_engine_device_name(e), a->batch, a->seed);
    for (long long s = 0; s < a->batch; s++) {
        printf("seq %lld:", s);
        for (long long k = 0; k <= a->steps; k++)
            printf(" %d", (int)tokens[s * (a->steps + 1) + k]);
        printf("\n");
    }
    print_phase("prefill:", pre, (int)a->batch, a->prompt_len, 0);
    if (a->steps > 0) print_phase("decode:", dec, (int)a->batch, a->steps, a->steps);
}

int db_cmd_generate(int argc, char **argv) {
    gen_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? DB_EXIT_OK : rc;
    db_engine_opts o;
    if ((rc = resolve(&a, &o))) return rc;
    db_engine *e = NULL;
    db_error err;
    db_status st = db_engine_open(&o, &e, &err);
    if (st != DB_OK) {
        fprintf(stderr, "decodebench %s: %s\n", CMD, err.msg);
        return st == DB_ERR_INVALID || st == DB_ERR_IO ? DB_EXIT_USAGE : DB_EXIT_FAIL;
    }
    size_t B = (size_t)a.batch;
    int32_t *prompts = malloc(B * (size_t)a.prompt_len * sizeof *prompts);
    int32_t *tokens = malloc(B * (size_t)(a.steps + 1) * sizeof *tokens);
    int *ids = malloc(B * sizeof *ids);
    phase pre = {0}, dec = {0};
    rc = prompts && tokens && ids ? 0 : DB_EXIT_FAIL;
    if (rc) fprintf(stderr, "decodebench %s: out of memory for %lld sequences\n", CMD, a.batch);
    for (size_t s = 0; !rc && s < B; s++)
        if (db_seq_alloc(e, &ids[s], &err) != DB_OK) {
            fprintf(stderr, "decodebench %s: %s\n", CMD, err.msg);
            rc = DB_EXIT_FAIL;
        }
    if (!rc) {
        make_prompts(prompts, (int)B, (int)a.prompt_len, o.model.vocab_size, o.seed);
        rc = generate(e, &a, prompts, tokens, ids, &pre, &dec);
    }
    if (!rc) print_result(e, &a, tokens, &pre, &dec);
    free(prompts);
    free(tokens);
    free(ids);
    db_engine_close(e);
    return rc;
}
