/* cmd_run_args.c — flags of `decodebench run` (see cmd_run_args.h). */
#include "cmd_run_args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "devices.h"
#include "env.h"
#include "gpu_facts.h"
#include "model.h"
#include "sweep_ceilings.h"

#define CMD "run"

void run_args_print_help(FILE *f) {
    db_sched_opts d;
    db_sched_opts_default(&d);
    /* clang-format off */
    fprintf(f,
"Usage: decodebench run [flags]\n"
"\n"
"Replays a workload against the embedded decode engine with continuous batching and writes\n"
"summary.json, requests.csv, steps.csv, latency.hlog, *.hgrm and timeline.json into the output\n"
"directory.\n"
"With no flags: llama2c-15m on the best backend present (cuda if a GPU answers, else cpu),\n"
"64 requests with prompts uniform:32:128 and outputs uniform:16:64 tokens, 8 in flight (closed loop).\n"
"\n"
"Engine:\n"
"  --backend auto|cpu|cuda|sim   backend; auto = cuda if a GPU answers, else cpu   (default auto)\n"
"  --model NAME|FILE.json|FILE.bin  preset (tiny, llama2c-15m, llama2c-110m, llama2-7b, llama3-8b,\n"
"                                llama2-13b, llama3-70b, mistral-7b), a custom shape, or a llama2.c\n"
"                                checkpoint (its weights are loaded)        (default " DB_RUN_DEFAULT_MODEL ")\n"
"  --layers N                    run only the first N layers               (default: all)\n"
"  --precision P                 fp32|tf32|fp16|bf16|fp8|int8|int4   (default fp32 on cpu, else bf16)\n"
"  --kv-dtype D                  fp32|fp16|bf16|fp8   (default fp32 with fp32/tf32 precision, else bf16)\n"
"  --device PRESET|FILE.json     sim only: h100-sxm, h200, a100-80g, l40s, or a ceilings JSON\n"
"                                written by `decodebench roofline`          (default " DB_RUN_DEFAULT_SIM_DEVICE ")\n"
"  --threads N                   cpu worker threads; 0 = all cores          (default 0)\n"
"  --kv-tokens N                 KV-cache capacity in tokens                (default: backend's)\n"
"  --kv-mem SIZE                 KV-cache capacity in bytes, e.g. 2GiB      (default: backend's)\n"
"\n"
"Workload:\n"
"  --workload FILE|trace:FILE    lengths (and with --arrival trace, times) from a trace: Azure,\n"
"                                BurstGPT, Mooncake, ShareGPT stats or native CSV (alias --trace)\n"
"                                (default: synthetic lengths from --prompt-len/--output-len)\n"
"  --trace-format F              auto|azure|burstgpt|mooncake|sharegpt|native   (default auto)\n"
"  --prompt-len SPEC             fixed:N, uniform:LO:HI, normal:M:SD[:LO:HI], lognormal:M:SD[:LO:HI],\n"
"                                zipf:S:MAX, empirical:FILE[:COL], mix:W*SPEC,...\n"
"                                (default " DB_RUN_DEFAULT_PROMPT_LEN " without a trace, else the trace's)\n"
"  --output-len SPEC             as --prompt-len     (default " DB_RUN_DEFAULT_OUTPUT_LEN " without a trace)\n"
"  --arrival SPEC                poisson:RATE, gamma:RATE:CV, constant:RATE, concurrency:N[:THINK],\n"
"                                offline, trace[:SCALE], ramp:R0:R1\n"
"                                (default " DB_RUN_DEFAULT_ARRIVAL " without a trace, trace with one)\n"
"  --requests N                  number of requests (default %d without a trace or --duration)\n"
"  --duration TIME               no request is issued after TIME (30s, 2m): generated arrivals stop,\n"
"                                a trace replay is cut, a closed loop stops issuing; requests in\n"
"                                flight finish                              (default: none)\n"
"  --seed N                      seed of lengths, arrivals, prompts and weights  (default 1)\n"
"  --fit-context cut|scale       fit requests longer than the model's context: cut (prompt <=\n"
"                                max_seq_len - 1, then output <= max_seq_len - prompt) or scale\n"
"                                (both scaled by max_seq_len / (prompt + output), keeping their ratio)\n"
"                                (default: off; longer requests fail)\n"
"  --clamp-context               the same as --fit-context cut\n"
"\n"
"Measurement:\n"
"  --warmup TIME|Nreq            exclude requests arriving before TIME (30s) or the first N (20req)\n"
"                                (default: none)\n"
"  --cooldown TIME               exclude requests arriving in the last TIME before the last arrival\n"
"                                (default: none)\n"
"  --slo LIST                    objectives: ttft:200ms,tpot:50ms,e2e:10s,p99_ttft:300ms (goodput)\n"
"  --hlog-interval TIME|window   latency.hlog interval length, 1ms..24h in whole ms (500ms, 1s,\n"
"                                10s); each value goes in the interval in which it was observed;\n"
"                                'window': one interval per metric covering the window\n"
"                                (default 1s, widened to 2s, 5s, 10s, ... to keep <= 1000 intervals)\n"
"\n"
"Scheduling:\n"
"  --batching continuous|static  iteration-level or request-level batching  (default continuous)\n"
"  --max-batch N                 sequences per step                         (default %d)\n"
"  --max-batch-tokens N          tokens per step, prefill + decode, >= --max-batch  (default %d)\n"
"  --prefill-chunk N             most tokens of one prompt per step         (default %d)\n"
"\n"
"Output:\n"
"  --out DIR                     output directory            (default runs/<YYYYmmdd-HHMMSS>)\n"
"  --dump-schedule FILE          also write the schedule as a native trace CSV\n"
"  --quiet                       no progress line and no summary; print only the output directory\n"
"\n"
"Profiling:\n"
"  --timeline on|off             write timeline.json (Chrome trace / Perfetto JSON: engine steps,\n"
"                                one track per request)                     (default on)\n"
"  --timeline-max-events N       cap on the timeline's trace events; past it the timeline stops\n"
"                                (otherData.truncated_at_s says where)      (default %zu, ~60 MB)\n"
"  --profile-steps A:B|A:+N      call the device profiler's start before step A and its stop after\n"
"                                step B-1 (cuda: cudaProfilerStart/Stop, for nsys\n"
"                                --capture-range=cudaProfilerApi and ncu --profile-from-start off;\n"
"                                cpu and sim have no device profiler: a note, nothing else)\n"
"                                With --kernel-trace, kernels.csv keeps those steps' kernels only.\n"
"  --kernel-trace                cuda: record every kernel with CUPTI into kernels.csv (step, op,\n"
"                                times, launch shape) and kernel_ops.csv (where the step time goes);\n"
"                                off by itself under nsys / ncu / nvprof      (default off)\n"
"  --ceilings PRESET|FILE.json   cpu, cuda: ceilings (a preset or a `decodebench roofline` file)\n"
"                                for MFU and MBU and for kernel_ops.csv's fraction of ceiling\n"
"                                (default: cuda the datasheet preset matching the GPU's name, if\n"
"                                any; cpu none, so no MFU/MBU; sim uses --device's ceilings)\n"
"  --help                        this text\n"
"\n"
"Exit codes: 0 success; 1 the run failed (reason printed); 2 usage error (bad flag, value or input\n"
"file); 130/143 stopped by SIGINT/SIGTERM (outputs written, complete=false).\n",
            DB_RUN_DEFAULT_REQUESTS, d.max_batch, d.max_batch_tokens, d.prefill_chunk,
            DB_TIMELINE_DEFAULT_MAX_EVENTS);
    /* clang-format on */
}

/* ---- flag groups ---------------------------------------------------------------------------- */
/* Each returns 0 (taken), -1 (bad value, message printed) or 1 (not this group's flag). */

static int str_flag(const char *flag, const char *want, const char *v, const char **out) {
    if (strcmp(flag, want)) return 1;
    *out = v;
    return 0;
}

static int int_flag(const char *flag, const char *want, const char *v, long long lo, long long hi,
                    long long *out) {
    if (strcmp(flag, want)) return 1;
    return db_cli_int(CMD, flag, v, lo, hi, out);
}

static int bad_choice(const char *flag, const char *v, const char *choices) {
    db_cli_usage_error(CMD, "%s expects one of %s, got '%s'", flag, choices, v);
    return -1;
}

static int engine_flag(run_args *a, const char *f, const char *v) {
    int r;
    if (!strcmp(f, "--backend"))
        return db_backend_parse(v, &a->backend) ? bad_choice(f, v, "auto, cpu, cuda, sim") : 0;
    if (!strcmp(f, "--precision"))
        return db_precision_parse(v, &a->precision)
                   ? bad_choice(f, v, "fp32, tf32, fp16, bf16, fp8, int8, int4")
                   : 0;
    if (!strcmp(f, "--kv-dtype"))
        return db_kv_dtype_parse(v, &a->kv_dtype) ? bad_choice(f, v, "fp32, fp16, bf16, fp8") : 0;
    if (!strcmp(f, "--kv-mem")) return db_cli_bytes(CMD, f, v, &a->kv_mem);
    if ((r = str_flag(f, "--model", v, &a->model)) <= 0) return r;
    if ((r = str_flag(f, "--device", v, &a->device)) <= 0) return r;
    if ((r = int_flag(f, "--layers", v, 1, DB_MODEL_MAX_LAYERS, &a->layers)) <= 0) return r;
    if ((r = int_flag(f, "--threads", v, 0, 1024, &a->threads)) <= 0) return r;
    if ((r = int_flag(f, "--kv-tokens", v, 1, INT64_C(1) << 40, &a->kv_tokens)) <= 0) return r;
    return 1;
}

static int workload_flag(run_args *a, const char *f, const char *v) {
    int r;
    long long seed;
    if (!strcmp(f, "--trace-format")) {
        char err[256];
        if (db_trace_format_parse(v, &a->trace_format, err, sizeof err) == 0) return 0;
        db_cli_usage_error(CMD, "--trace-format: %s", err);
        return -1;
    }
    if (!strcmp(f, "--duration")) {
        if (db_cli_duration(CMD, f, v, &a->duration_s)) return -1;
        if (a->duration_s > 0) return 0;
        db_cli_usage_error(CMD, "--duration expects a positive duration, got '%s'", v);
        return -1;
    }
    if (!strcmp(f, "--seed")) {
        if (db_cli_int(CMD, f, v, 0, INT64_MAX, &seed)) return -1;
        a->seed = (uint64_t)seed;
        return 0;
    }
    if (!strcmp(f, "--fit-context")) {
        if (strcmp(v, "cut") && strcmp(v, "scale")) {
            db_cli_usage_error(CMD, "--fit-context expects cut or scale, got '%s'", v);
            return -1;
        }
        a->clamp_context = true;
        a->fit_mode = strcmp(v, "cut") ? DB_FIT_SCALE : DB_FIT_CUT;
        return 0;
    }
    if ((r = str_flag(f, "--workload", v, &a->workload)) <= 0) return r;
    if ((r = str_flag(f, "--trace", v, &a->workload)) <= 0) return r;
    if ((r = str_flag(f, "--prompt-len", v, &a->prompt_len)) <= 0) return r;
    if ((r = str_flag(f, "--output-len", v, &a->output_len)) <= 0) return r;
    if ((r = str_flag(f, "--arrival", v, &a->arrival)) <= 0) return r;
    if ((r = int_flag(f, "--requests", v, 1, DB_WORKLOAD_MAX_REQUESTS, &a->requests)) <= 0)
        return r;
    return 1;
}

/* --warmup 30s (time) or --warmup 20req (requests). */
static int parse_warmup(run_args *a, const char *v) {
    size_t n = strlen(v);
    if (n > 3 && !strcmp(v + n - 3, "req")) {
        char num[32];
        if (n - 3 < sizeof num) {
            memcpy(num, v, n - 3);
            num[n - 3] = '\0';
            char *end;
            long long k = strtoll(num, &end, 10);
            if (*num >= '0' && *num <= '9' && !*end && k >= 0 && k < INT64_MAX / 2) {
                a->warmup_requests = k;
                return 0;
            }
        }
        db_cli_usage_error(CMD,
                           "--warmup expects a time (30s) or a request count (20req), got '%s'", v);
        return -1;
    }
    return db_cli_duration(CMD, "--warmup", v, &a->warmup_s);
}

/* --hlog-interval 1s | 500ms | window. */
static int parse_hlog_interval(run_args *a, const char *v) {
    const char *flag = "--hlog-interval";
    a->hlog_interval_given = true;
    if (!strcmp(v, "window")) {
        a->hlog_interval_ns = 0;
        return 0;
    }
    double s = 0;
    bool number = (v[0] >= '0' && v[0] <= '9') || v[0] == '.';
    if (number && db_cli_duration(CMD, flag, v, &s)) return -1; /* names the unit problem */
    double ms = s * 1e3;
    if (!number || !(ms >= 1.0 && ms <= 24 * 3600e3 && fabs(ms - round(ms)) < 1e-6)) {
        db_cli_usage_error(CMD,
                           "%s expects a whole number of milliseconds from 1ms to 24h (e.g. 500ms, "
                           "1s, 10s; the log's timestamps have millisecond resolution) or "
                           "'window', got '%s'",
                           flag, v);
        return -1;
    }
    a->hlog_interval_ns = (int64_t)llround(ms) * INT64_C(1000000);
    return 0;
}

static int measure_sched_flag(run_args *a, const char *f, const char *v) {
    int r;
    long long k;
    if (!strcmp(f, "--warmup")) return parse_warmup(a, v);
    if (!strcmp(f, "--cooldown")) return db_cli_duration(CMD, f, v, &a->cooldown_s);
    if (!strcmp(f, "--hlog-interval")) return parse_hlog_interval(a, v);
    if (!strcmp(f, "--batching"))
        return db_batching_parse(v, &a->sched.batching) ? bad_choice(f, v, "continuous, static")
                                                        : 0;
    if ((r = str_flag(f, "--slo", v, &a->slo_text)) <= 0) return r;
    if ((r = str_flag(f, "--out", v, &a->out)) <= 0) return r;
    if ((r = str_flag(f, "--dump-schedule", v, &a->dump_schedule)) <= 0) return r;
    const char *const names[3] = {"--max-batch", "--max-batch-tokens", "--prefill-chunk"};
    int *const dst[3] = {&a->sched.max_batch, &a->sched.max_batch_tokens, &a->sched.prefill_chunk};
    for (int i = 0; i < 3; i++) {
        if ((r = int_flag(f, names[i], v, 1, 1 << 24, &k)) > 0) continue;
        if (r == 0) *dst[i] = (int)k;
        return r;
    }
    return 1;
}

static int profile_flag(run_args *a, const char *f, const char *v) {
    int r;
    if (!strcmp(f, "--timeline")) {
        if (strcmp(v, "on") && strcmp(v, "off")) return bad_choice(f, v, "on, off");
        a->timeline = !strcmp(v, "on");
        return 0;
    }
    if ((r = int_flag(f, "--timeline-max-events", v, 1, INT64_C(1) << 40,
                      &a->timeline_max_events)) <= 0)
        return r;
    if (!strcmp(f, "--profile-steps")) {
        char err[160];
        a->profile_steps = v;
        if (db_profile_parse_steps(v, &a->profile_window, err, sizeof err) == 0) return 0;
        db_cli_usage_error(CMD, "--profile-steps: %s", err);
        return -1;
    }
    if ((r = str_flag(f, "--ceilings", v, &a->ceilings)) <= 0) return r;
    return 1;
}

/* ---- parsing --------------------------------------------------------------------------------- */

static void set_defaults(run_args *a) {
    memset(a, 0, sizeof *a);
    a->backend = DB_BACKEND_AUTO;
    a->model = DB_RUN_DEFAULT_MODEL;
    a->precision = DB_PREC_COUNT; /* unset: chosen by backend */
    a->kv_dtype = DB_KV_COUNT;    /* unset: chosen by precision */
    a->trace_format = DB_TRACE_AUTO;
    a->seed = 1;
    db_sched_opts_default(&a->sched);
    a->timeline = true;
}

static bool is_bool_flag(const char *f) {
    return !strcmp(f, "--quiet") || !strcmp(f, "--clamp-context") || !strcmp(f, "--help") ||
           !strcmp(f, "-h") || !strcmp(f, "--kernel-trace");
}

/* One flag: "--name value" or "--name=value". Returns 0, DB_EXIT_USAGE, or -2 for --help. */
static int parse_one(run_args *a, int argc, char **argv, int *i) {
    char name[64];
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    if (strncmp(arg, "-", 1) || (eq && (size_t)(eq - arg) >= sizeof name))
        return db_cli_usage_error(CMD, "unexpected argument '%s'", arg);
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
    if (is_bool_flag(name)) {
        if (eq) return db_cli_usage_error(CMD, "%s takes no value", name);
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) return -2;
        if (!strcmp(name, "--quiet"))
            a->quiet = true;
        else if (!strcmp(name, "--kernel-trace"))
            a->kernel_trace = true;
        else
            a->clamp_context = true;
        return 0;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
        if (*i + 1 >= argc) return db_cli_usage_error(CMD, "%s expects a value", name);
        v = argv[++*i];
    }
    int r = engine_flag(a, name, v);
    if (r > 0) r = workload_flag(a, name, v);
    if (r > 0) r = measure_sched_flag(a, name, v);
    if (r > 0) r = profile_flag(a, name, v);
    if (r > 0) return db_cli_usage_error(CMD, "unknown flag '%s'", name);
    return r < 0 ? DB_EXIT_USAGE : 0;
}

/* Flags that depend on each other, the model and the backend. */
static int resolve(run_args *a, db_slo_set *slo, db_model_config *model) {
    if (a->kv_tokens && a->kv_mem)
        return db_cli_usage_error(CMD, "--kv-tokens and --kv-mem are alternatives; give one");
    if (a->sched.max_batch_tokens < a->sched.max_batch)
        return db_cli_usage_error(CMD, "--max-batch-tokens (%d) must be >= --max-batch (%d)",
                                  a->sched.max_batch_tokens, a->sched.max_batch);
    a->resolved = a->backend == DB_BACKEND_AUTO ? db_gpu_resolve_auto() : a->backend;
    if (a->device && a->resolved != DB_BACKEND_SIM)
        return db_cli_usage_error(CMD, "--device applies to --backend sim only");
    if (a->resolved == DB_BACKEND_SIM && !a->device) a->device = DB_RUN_DEFAULT_SIM_DEVICE;
    if (a->kernel_trace && (a->backend == DB_BACKEND_CPU || a->backend == DB_BACKEND_SIM))
        return db_cli_usage_error(CMD,
                                  "--kernel-trace needs --backend cuda (or auto on a machine with "
                                  "a GPU); the %s backend runs no kernels",
                                  db_backend_name(a->backend));
    if (a->ceilings && a->resolved == DB_BACKEND_SIM)
        return db_cli_usage_error(CMD, "--ceilings applies to the cpu and cuda backends; the sim "
                                       "prices and reports MFU/MBU with --device's ceilings");
    db_ceilings ceil;
    db_error cerr;
    if (a->ceilings && db_ceilings_resolve(a->ceilings, &ceil, &cerr) != DB_OK)
        return db_cli_usage_error(CMD, "--ceilings %s: %s", a->ceilings, cerr.msg);
    if (a->precision == DB_PREC_COUNT)
        a->precision = a->resolved == DB_BACKEND_CPU ? DB_PREC_FP32 : DB_PREC_BF16;
    if (a->kv_dtype == DB_KV_COUNT)
        a->kv_dtype =
            a->precision == DB_PREC_FP32 || a->precision == DB_PREC_TF32 ? DB_KV_FP32 : DB_KV_BF16;
    db_error err;
    if (db_model_resolve(a->model, model, &err) != DB_OK)
        return db_cli_usage_error(CMD, "--model %s: %s", a->model, err.msg);
    if (a->layers && db_model_truncate(model, (int)a->layers, &err) != DB_OK)
        return db_cli_usage_error(CMD, "--layers %lld: %s", a->layers, err.msg);
    db_slo_init(slo);
    char msg[512];
    if (a->slo_text && db_slo_parse(a->slo_text, slo, msg, sizeof msg))
        return db_cli_usage_error(CMD, "--slo %s: %s", a->slo_text, msg);
    a->sched.seed = a->seed;
    return 0;
}

bool run_args_parse(int argc, char **argv, run_args *a, db_slo_set *slo, db_model_config *model,
                    int *exit_code) {
    set_defaults(a);
    for (int i = 1; i < argc; i++) {
        int r = parse_one(a, argc, argv, &i);
        if (r == -2) {
            run_args_print_help(stdout);
            *exit_code = DB_EXIT_OK;
            return false;
        }
        if (r) {
            *exit_code = r;
            return false;
        }
    }
    if ((*exit_code = resolve(a, slo, model)) != 0) return false;
    return true;
}

/* ---- translation ----------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

void run_args_workload_spec(const run_args *a, const db_model_config *model, db_workload_spec *w) {
    memset(w, 0, sizeof *w);
    bool trace = a->workload != NULL;
    w->trace = a->workload;
    w->trace_format = a->trace_format;
    w->prompt_len = a->prompt_len ? a->prompt_len : trace ? NULL : DB_RUN_DEFAULT_PROMPT_LEN;
    w->output_len = a->output_len ? a->output_len : trace ? NULL : DB_RUN_DEFAULT_OUTPUT_LEN;
    w->arrival = a->arrival ? a->arrival : trace ? NULL : DB_RUN_DEFAULT_ARRIVAL;
    w->requests = a->requests;
    if (!trace && !a->requests && !a->duration_s) w->requests = DB_RUN_DEFAULT_REQUESTS;
    w->duration_s = a->duration_s;
    w->seed = a->seed;
    w->max_total_tokens = a->clamp_context ? model->max_seq_len : 0;
    w->fit_mode = a->fit_mode;
}

void run_args_engine_opts(const run_args *a, const db_model_config *model, db_engine_opts *o) {
    db_engine_opts_default(o);
    o->backend = a->resolved;
    o->model = *model;
    o->checkpoint_path = ends_with(a->model, ".bin") ? a->model : NULL;
    o->precision = a->precision;
    o->kv_dtype = a->kv_dtype;
    o->kv_tokens = a->kv_tokens;
    o->kv_bytes = a->kv_mem;
    o->seed = a->seed;
    o->threads = (int)a->threads;
    o->sim_device = a->device;
    o->sim_step_overhead_s = -1.0;
    o->kernel_trace = a->kernel_trace;
}

void run_args_run_opts(const run_args *a, const db_engine *e, db_run_opts *ro) {
    db_run_opts_default(ro);
    ro->sched = a->sched;
    ro->clock = db_engine_backend(e) == DB_BACKEND_SIM ? DB_CLOCK_VIRTUAL : DB_CLOCK_REAL;
    ro->issue_until_s = a->duration_s;
    ro->profile_first_step = a->profile_window.first;
    ro->profile_end_step = a->profile_window.end;
}

void run_args_metrics_config(const run_args *a, const db_engine *e, const db_slo_set *slo,
                             db_metrics_config *mc) {
    memset(mc, 0, sizeof *mc);
    mc->warmup_ns = db_run_ns(a->warmup_s);
    mc->warmup_requests = a->warmup_requests;
    mc->cooldown_ns = db_run_ns(a->cooldown_s);
    mc->slo = slo;
    mc->interval_ns = a->hlog_interval_given ? a->hlog_interval_ns : DB_RUN_DEFAULT_HLOG_INTERVAL_NS;
    mc->max_intervals = a->hlog_interval_given ? 0 : DB_RUN_DEFAULT_HLOG_MAX_INTERVALS;
    /* MFU / MBU need the device's peaks: the scheme's GEMM peak and the bandwidth of the
     * ceilings run_args_ceilings names; not reported without them. */
    db_ceilings c;
    const char *name = run_args_ceilings(a, e);
    if (name && db_ceilings_resolve(name, &c, NULL) == DB_OK) {
        mc->peak_flops = db_ceilings_peak(&c, db_engine_get_opts(e)->precision);
        mc->peak_bytes_per_s = c.dev.memory_bandwidth;
    }
}

const char *run_args_ceilings(const run_args *a, const db_engine *e) {
    switch (db_engine_backend(e)) {
    case DB_BACKEND_SIM:
        return a->device;
    case DB_BACKEND_CUDA:
        return a->ceilings ? a->ceilings : db_profile_preset_for_gpu(db_engine_device_name(e));
    default:
        return a->ceilings;
    }
}

/* The arrival process as the workload builder used it. */
static const char *arrival_text(const run_args *a) {
    if (a->arrival) return a->arrival;
    return a->workload ? "trace (the trace's default)" : DB_RUN_DEFAULT_ARRIVAL;
}

void run_args_facts(const run_args *a, const db_engine *e, const db_schedule *s,
                    const db_workload_info *wi, const db_run_stats *st, db_kv_list *kv) {
    const db_engine_opts *o = db_engine_get_opts(e);
    char err[256];
    db_env_collect(kv, err, sizeof err); /* a fact it cannot read is "unknown"; only OOM fails */
    db_env_run_facts rf = {.backend = db_backend_name(db_engine_backend(e)),
                           .device = db_engine_device_name(e),
                           .model = a->model,
                           .precision = db_precision_name(o->precision),
                           .kv_dtype = db_kv_dtype_name(o->kv_dtype),
                           .workload = s->description,
                           .arrival = arrival_text(a),
                           .seed = a->seed,
                           .has_seed = true};
    db_env_add_run_facts(kv, &rf, err, sizeof err);
    db_kv_set(kv, "model_name", o->model.name);
    db_kv_set_int(kv, "model_layers", o->model.n_layers);
    db_kv_set_int(kv, "model_params", db_model_param_count(&o->model));
    db_kv_set_int(kv, "kv_block_size", db_engine_kv_block_size(e));
    db_kv_set_int(kv, "kv_blocks", db_engine_kv_total_blocks(e));
    if (db_engine_backend(e) == DB_BACKEND_CPU) db_kv_set_int(kv, "threads", a->threads);
    db_cuda_device_info gpu;
    if (db_engine_backend(e) == DB_BACKEND_CUDA &&
        db_gpu_probe(o->cuda_device, &gpu, err, sizeof err) == 0)
        db_gpu_add_facts(kv, &gpu);
    const char *ceil = run_args_ceilings(a, e);
    db_kv_set(kv, "ceilings", ceil ? ceil : "none");
    db_kv_set(kv, "batching", db_batching_name(a->sched.batching));
    db_kv_set_int(kv, "max_batch", a->sched.max_batch);
    db_kv_set_int(kv, "max_batch_tokens", a->sched.max_batch_tokens);
    db_kv_set_int(kv, "prefill_chunk", a->sched.prefill_chunk);
    db_kv_setf(kv, "kv_watermark", "%g", a->sched.kv_watermark);
    db_kv_set(kv, "arrival_mode", s->mode == DB_ARRIVAL_CLOSED ? "closed" : "open");
    db_kv_set_int(kv, "scheduled_requests", (int64_t)s->n);
    if (wi->has_trace) {
        db_kv_set(kv, "trace_format", db_trace_format_name(wi->trace_format));
        db_kv_set_int(kv, "trace_failed_rows_skipped", (int64_t)wi->trace_failed);
        db_kv_set_int(kv, "trace_zero_length_rows_skipped", (int64_t)wi->trace_zero_length);
    }
    db_kv_set_int(kv, "requests_clamped_to_context", (int64_t)wi->clamped);
    db_kv_set(kv, "clock", db_clock_kind_name(st->clock));
    db_kv_set_int(kv, "steps", st->steps);
    db_kv_set_int(kv, "preemptions", st->preemptions);
    db_kv_set_int(kv, "prefill_tokens_processed", st->prefill_tokens);
    db_kv_set_int(kv, "decode_tokens_processed", st->decode_tokens);
    db_kv_setf(kv, "run_clock_s", "%.6f", st->end_s);
    db_kv_setf(kv, "wall_s", "%.6f", st->wall_s);
    db_kv_setf(kv, "host_overhead_s", "%.6f", st->host_overhead_s);
    db_kv_setf(kv, "device_s", "%.6f", st->device_s);
    db_kv_set(kv, "timeline", a->timeline ? "on" : "off");
    if (a->profile_steps) {
        db_kv_set(kv, "profile_steps", a->profile_steps);
        db_kv_set(kv, "device_profiler", db_engine_has_device_profiler(e) ? "yes" : "none");
        db_kv_set_int(kv, "profiled_steps", st->profiled_steps);
    }
    db_kv_set(kv, "kernel_trace", a->kernel_trace ? "on" : "off");
    if (a->kernel_trace) {
        db_kv_set_int(kv, "kernels_traced", st->kernels);
        db_kv_set_int(kv, "kernels_dropped", (int64_t)st->kernels_dropped);
    }
}
