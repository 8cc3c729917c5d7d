/* cmd_roofline.c — `decodebench roofline`: measures the ceilings of a backend (memory bandwidth,
 * peak FLOP/s per precision) or takes a datasheet preset, prints them with the ridge point and the
 * simple predicted crossover of every precision, and writes ceilings.json (sweep_ceilings.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ceilings.h"
#include "cli.h"
#include "commands.h"
#include "env.h"
#include "gpu_facts.h"
#include "run_report.h"
#include "sweep_ceilings.h"

#define CMD "roofline"

typedef struct roofline_args {
    db_backend_kind backend;
    const char *device;
    const char *out;
    int quiet;
    int gemm_n_given, warmup_given; /* cuda has its own defaults for these */
    int cpu_only_flag;              /* --threads, --linear or --linear-batch given */
    db_ceilings_opts opts;
} roofline_args;

static void print_help(FILE *f) {
    /* clang-format off */
    fprintf(f,
"Usage: decodebench roofline [--backend auto|cpu|cuda|sim] [--device PRESET] [--out FILE] [flags]\n"
"\n"
"Measures the ceilings of a backend and writes them as a ceilings JSON file, which the sim backend\n"
"(--device FILE.json) and `decodebench sweep --ceilings FILE.json` read.\n"
"  cpu: memory bandwidth = the larger of a streaming copy (bytes read + written) and a read-only\n"
"       sum over buffers far above the last-level cache; fp32 peak = OpenBLAS SGEMM; fp16, bf16,\n"
"       fp8, int8 and int4 peaks = the engine's dequantising linear layer at a large batch.\n"
"       Each figure is the median of the timed runs after warm-up.\n"
"  cuda: memory bandwidth = device-to-device copy of --buffer bytes (read + written); peaks =\n"
"       cuBLAS / cuBLASLt GEMMs n x n x n of fp32, tf32, fp16, bf16, fp8 (compute capability\n"
"       8.9+) and int8, on device 0; medians of CUDA-event-timed runs. The GPU's facts go into\n"
"       the fingerprint.\n"
"  sim: nothing is measured; the datasheet preset given by --device is written, labelled\n"
"       \"datasheet\".\n"
"\n"
"Flags:\n"
"  --backend auto|cpu|cuda|sim  auto = cuda if a GPU answers, else cpu      (default auto)\n"
"  --device PRESET|FILE.json sim only: h100-sxm, h200, a100-80g, l40s or a ceilings file\n"
"  --out FILE                the ceilings JSON file                       (default ceilings.json)\n"
"  --threads N               cpu threads; 0 = all online CPUs              (default 0)\n"
"  --buffer SIZE             bandwidth buffer size, e.g. 1GiB, >= 1MiB     (default 1GiB)\n"
"  --gemm-n N                GEMM size n x n x n            (default cpu 2048, cuda 8192)\n"
"  --linear NxK              cpu: weight shape of the dequantising paths   (default 4096x4096)\n"
"  --linear-batch B          cpu: batch of the dequantising paths          (default 512)\n"
"  --warmup N                untimed runs before timing        (default cpu 1, cuda 3)\n"
"  --reps N                  timed runs, 1..%d   (default cpu 7 for bandwidth, 5 for GEMMs;\n"
"                            cuda 20)\n"
"  --quiet                   print nothing but errors\n"
"\n"
"Exit codes: 0 written, 1 a measurement or the write failed (cuda: also no CUDA device, or a\n"
"build without CUDA), 2 usage error.\n",
            DB_CEIL_MAX_REPS);
    /* clang-format on */
}

static int parse_shape(const char *v, db_ceilings_opts *o) {
    int n = 0, k = 0, used = 0;
    if (!v || sscanf(v, "%dx%d%n", &n, &k, &used) != 2 || v[used] || n < 1 || k < 1 || n > 65536 ||
        k > 65536) {
        fprintf(stderr, "decodebench %s: --linear expects NxK with 1 <= N, K <= 65536, got '%s'\n",
                CMD, v ? v : "");
        return -1;
    }
    o->linear_n = n;
    o->linear_k = k;
    return 0;
}

/* One flag with its value; 1 = unknown flag, -1 = bad value (printed), 0 = ok. */
static int parse_flag(roofline_args *a, const char *f, const char *v) {
    long long n;
    int64_t bytes;
    if (!strcmp(f, "--backend")) {
        if (db_backend_parse(v, &a->backend) == 0) return 0;
        fprintf(stderr, "decodebench %s: --backend expects auto, cpu, cuda or sim, got '%s'\n",
                CMD, v);
        return -1;
    }
    if (!strcmp(f, "--device")) return a->device = v, 0;
    if (!strcmp(f, "--out")) return a->out = v, 0;
    if (!strcmp(f, "--threads")) {
        if (db_cli_int(CMD, f, v, 0, 1024, &n)) return -1;
        a->cpu_only_flag = 1;
        return a->opts.threads = (int)n, 0;
    }
    if (!strcmp(f, "--buffer")) {
        if (db_cli_bytes(CMD, f, v, &bytes)) return -1;
        if (bytes < (1 << 20)) {
            fprintf(stderr, "decodebench %s: --buffer must be at least 1MiB, got '%s'\n", CMD, v);
            return -1;
        }
        return a->opts.bandwidth_bytes = (size_t)bytes, 0;
    }
    if (!strcmp(f, "--gemm-n")) {
        if (db_cli_int(CMD, f, v, 1, 65536, &n)) return -1;
        a->gemm_n_given = 1;
        return a->opts.gemm_n = (int)n, 0;
    }
    if (!strcmp(f, "--linear")) return a->cpu_only_flag = 1, parse_shape(v, &a->opts);
    if (!strcmp(f, "--linear-batch")) {
        if (db_cli_int(CMD, f, v, 1, 65536, &n)) return -1;
        a->cpu_only_flag = 1;
        return a->opts.linear_batch = (int)n, 0;
    }
    if (!strcmp(f, "--warmup")) {
        if (db_cli_int(CMD, f, v, 0, 100, &n)) return -1;
        a->warmup_given = 1;
        return a->opts.warmup = (int)n, 0;
    }
    if (!strcmp(f, "--reps")) {
        if (db_cli_int(CMD, f, v, 1, DB_CEIL_MAX_REPS, &n)) return -1;
        return a->opts.reps = (int)n, 0;
    }
    return 1;
}

/* 0 = go ahead; otherwise the exit code (help printed, or a usage error). */
static int parse_args(int argc, char **argv, roofline_args *a) {
    memset(a, 0, sizeof *a);
    a->out = "ceilings.json";
    db_ceilings_opts_default(&a->opts);
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            print_help(stdout);
            return -1;
        }
        if (!strcmp(f, "--quiet")) {
            a->quiet = 1;
            continue;
        }
        char name[64];
        const char *v;
        int rc = db_cli_flag_value(CMD, argc, argv, &i, name, sizeof name, &v);
        if (rc) return rc;
        int r = parse_flag(a, name, v);
        if (r > 0) return db_cli_usage_error(CMD, "unknown flag '%s'", name);
        if (r < 0) return DB_EXIT_USAGE;
    }
    if (a->backend == DB_BACKEND_AUTO) a->backend = db_gpu_resolve_auto();
    if (a->backend == DB_BACKEND_CUDA) { /* 0: the CUDA measurement's own defaults */
        if (!a->gemm_n_given) a->opts.gemm_n = 0;
        if (!a->warmup_given) a->opts.warmup = 0;
        if (a->cpu_only_flag && !a->quiet)
            fprintf(stderr, "decodebench %s: note: --threads, --linear and --linear-batch apply "
                            "to the cpu backend; the cuda measurement ignores them\n",
                    CMD);
    }
    if (a->device && a->backend != DB_BACKEND_SIM)
        return db_cli_usage_error(CMD, "--device applies to --backend sim only (a preset or file "
                                       "to write); other backends are measured");
    if (a->backend == DB_BACKEND_SIM && !a->device)
        return db_cli_usage_error(CMD, "--backend sim needs --device PRESET|FILE.json: the sim has "
                                       "no hardware to measure");
    return 0;
}

static void print_measurement(void *ctx, const db_ceilings_measurement *m) {
    (void)ctx;
    printf("  %-12s %10.3f %-8s median of %d (%.3g .. %.3g s per run)  %s\n", m->name, m->value,
           m->unit, m->reps, m->min_s, m->max_s, m->method);
    fflush(stdout);
}

static void print_table(const db_ceilings *c) {
    printf("\n%s  [%s]\n", c->dev.name, c->dev.source);
    printf("memory bandwidth %.2f GB/s\n", c->dev.memory_bandwidth / 1e9);
    printf("%-10s %14s %16s %22s\n", "precision", "peak TFLOP/s", "ridge FLOP/byte",
           "B* = ridge x w / 2");
    for (int p = 0; p < DB_PREC_COUNT; p++) {
        double peak = db_ceilings_peak(c, (db_precision)p);
        if (!(peak > 0)) continue;
        double ridge = db_ceilings_ridge(c, (db_precision)p);
        printf("%-10s %14.4g %16.4g %22.4g\n", db_precision_name((db_precision)p), peak / 1e12,
               ridge, ridge * db_precision_weight_bytes((db_precision)p) / 2.0);
    }
}

static int fingerprint(const roofline_args *a, int argc, char **argv, db_kv_list *l) {
    char err[256];
    if (db_env_collect(l, err, sizeof err) != 0) return -1;
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    /* the command line as typed: "decodebench roofline ..." (argv[0] here is the subcommand) */
    char **full = calloc((size_t)argc + 1, sizeof *full), *cmdline = NULL;
    if (full) {
        full[0] = "decodebench";
        memcpy(full + 1, argv, (size_t)argc * sizeof *argv);
        cmdline = db_run_command_line(argc + 1, full);
        free(full);
    }
    int rc = db_kv_set(l, "backend", db_backend_name(a->backend)) | db_kv_set(l, "date", date) |
             db_kv_set(l, "command_line", cmdline ? cmdline : "");
    free(cmdline);
    db_cuda_device_info info;
    char why[256];
    if (rc == 0 && a->backend == DB_BACKEND_CUDA && db_gpu_probe(0, &info, why, sizeof why) == 0)
        rc = db_gpu_add_facts(l, &info);
    return rc;
}

int db_cmd_roofline(int argc, char **argv) {
    roofline_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? DB_EXIT_OK : rc;
    if (!a.quiet) a.opts.on_measurement = print_measurement;
    db_ceilings c;
    db_error err = {0};
    db_kv_list fp = {0};
    db_status st;
    if (a.backend == DB_BACKEND_SIM) {
        st = db_ceilings_resolve(a.device, &c, &err);
        if (st) {
            fprintf(stderr, "decodebench %s: --device: %s\n", CMD, err.msg);
            return DB_EXIT_USAGE;
        }
    } else {
        if (!a.quiet) printf("measuring the %s ceilings\n", db_backend_name(a.backend));
        st = db_ceilings_measure(a.backend, &a.opts, &c, &err);
        if (st) {
            fprintf(stderr, "decodebench %s: %s\n", CMD, err.msg);
            return DB_EXIT_FAIL;
        }
        if (fingerprint(&a, argc, argv, &fp) != 0) {
            db_kv_free(&fp);
            fprintf(stderr, "decodebench %s: out of memory\n", CMD);
            return DB_EXIT_FAIL;
        }
    }
    if (!a.quiet) print_table(&c);
    st = db_ceilings_write(a.out, &c, a.backend == DB_BACKEND_SIM ? NULL : &fp, &err);
    db_kv_free(&fp);
    if (st) {
        fprintf(stderr, "decodebench %s: %s\n", CMD, err.msg);
        return DB_EXIT_FAIL;
    }
    if (!a.quiet) printf("wrote %s\n", a.out);
    return DB_EXIT_OK;
}
