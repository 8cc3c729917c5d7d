/* cmd_gate.c — `decodebench gate`: the CI performance-regression gate. Loads a baseline and the
 * current results (or runs the current configuration --repeat times through `decodebench run`),
 * refuses runs from different environments, compares every ruled metric with a bootstrap interval
 * and a Mann-Whitney test (deterministic metrics exactly), prints a table, optionally writes
 * markdown, JUnit XML and a baseline file, and exits 0 (pass), 1 (regression), 2 (usage), 3
 * (inconclusive). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wordexp.h>

#include "atomic_file.h"
#include "cli.h"
#include "commands.h"
#include "gate.h"
#include "gate_output.h"

#define CMD "gate"
#define MAX_LIST 256

typedef struct str_list {
    char *items[MAX_LIST];
    size_t n;
} str_list;

typedef struct gate_args {
    str_list baselines, currents, exact, ignore, must_match, keys;
    db_gate_rule rules[64];
    size_t n_rules;
    db_gate_config cfg;
    int allow_mismatch, ignore_defaults_replaced, must_match_given, quiet, verbose;
    long long repeat;
    const char *out, *markdown, *junit, *save;
    int run_argc; /* flags after "--" for --repeat */
    char **run_argv;
} gate_args;

static const char gate_help[] =
    "Usage: decodebench gate --baseline PATH [--current PATH | PATH]... [flags]\n"
    "       decodebench gate --baseline PATH --repeat K [-- run flags]\n"
    "       decodebench gate --save FILE [--repeat K -- run flags | PATH...]\n"
    "\n"
    "Compares current results with a baseline; exits 0 (pass), 1 (regression), 3 (inconclusive).\n"
    "Each input is a run directory, a summary.json, a sweep CSV (long format, needs --key) or a\n"
    "baseline file saved with --save; several inputs on a side are repeated samples, one per run.\n"
    "\n"
    "Inputs:\n"
    "  --baseline PATH        baseline input (repeatable)\n"
    "  --current PATH, PATH   current input (repeatable; bare paths are current inputs)\n"
    "  --repeat K             run the current configuration K times (the flags after --, else the\n"
    "                         command line recorded in the baseline); the K runs are the current\n"
    "                         samples\n"
    "  --out DIR              where --repeat writes its runs\n"
    "                         (default runs/gate-<YYYYmmdd-HHMMSS>)\n"
    "  --key COL[,COL...]     CSV input columns identifying a point (required for CSV inputs)\n"
    "  --save FILE            write the current samples (and fingerprints) as a baseline file;\n"
    "                         with no --baseline, only save\n"
    "\n"
    "Rules and statistics:\n"
    "  --rule METRIC:+P%|-P%|off\n"
    "                         the sign is the bad direction: output_throughput:-5% (a drop of\n"
    "                         more than 5% regresses), p99_ttft_ms:+10%; -0% = any significant\n"
    "                         drop; off removes a default. Defaults: request_throughput,\n"
    "                         output_throughput, total_token_throughput, request_goodput and\n"
    "                         tokens_per_s -5%; median_ and p99_ of ttft_ms, tpot_ms, itl_ms,\n"
    "                         e2el_ms, and step_ms +10%\n"
    "  --no-default-rules     only the --rule metrics\n"
    "  --confidence C         confidence of intervals and tests, 0.5..0.9999      (default 0.95)\n"
    "  --resamples N          bootstrap resamples, >= 1000                        (default 10000)\n"
    "  --ci percentile|bca    bootstrap interval                             (default percentile)\n"
    "  --seed N               bootstrap seed                                          (default 1)\n"
    "  --exact M[,M...]       metrics compared exactly (any difference is CHANGED, exit 1)\n"
    "  --exact-all            every metric present on both sides compared exactly (automatic when\n"
    "                         every run on both sides used the sim backend)\n"
    "  --no-auto-exact        no automatic exact comparison of sim runs\n"
    "  --detect-min N         a metric whose samples are all equal within each side, with >= N\n"
    "                         samples a side, is compared exactly; 0 turns this off  (default 3)\n"
    "  --ignore M[,M...]      never compare these; replaces the default list (schema_version,\n"
    "                         start_epoch_s, engine.mean_host_overhead_ms, point)\n"
    "\n"
    "Environment fingerprint:\n"
    "  --must-match F[,F...]  environment fields that must be equal; replaces the default list\n"
    "                         (backend, device, model, model_name, model_layers, precision,\n"
    "                         kv_dtype, workload, arrival, seed, batching, max_batch,\n"
    "                         max_batch_tokens, prefill_chunk, kv_block_size, kv_blocks,\n"
    "                         kv_watermark, threads, scheduled_requests)\n"
    "  --allow-mismatch       compare anyway (the differing fields are listed as warnings)\n"
    "\n"
    "Outputs:\n"
    "  --markdown FILE        markdown table for a pull-request comment\n"
    "  --junit FILE           JUnit XML: one testcase per metric, failure = REGRESSION or\n"
    "                         CHANGED, skipped = INCONCLUSIVE\n"
    "  --quiet                print only the overall line\n"
    "  --verbose              list identical exactly-compared metrics one by one\n"
    "                         (default: counted in one line)\n"
    "\n"
    "Exit codes: 0 PASS or IMPROVEMENT; 1 REGRESSION or CHANGED; 2 usage error, unreadable input\n"
    "or fingerprint mismatch; 3 INCONCLUSIVE. A --repeat run that fails stops the gate with its\n"
    "exit code.\n";

static void print_help(FILE *f) {
    fputs(gate_help, f);
}

/* ---- parsing --------------------------------------------------------------------------------- */

static int list_add(str_list *l, const char *flag, const char *v, int split) {
    char *copy = strdup(v), *save = NULL;
    if (!copy) return db_cli_usage_error(CMD, "out of memory");
    for (char *t = strtok_r(copy, split ? "," : "", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (l->n == MAX_LIST) {
            free(copy);
            return db_cli_usage_error(CMD, "%s: more than %d entries", flag, MAX_LIST);
        }
        if (!(l->items[l->n] = strdup(t))) {
            free(copy);
            return db_cli_usage_error(CMD, "out of memory");
        }
        l->n++;
        if (!split) break;
    }
    free(copy);
    return 0;
}

static void list_free(str_list *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

static void args_free(gate_args *a) {
    str_list *lists[] = {&a->baselines, &a->currents,   &a->exact,
                         &a->ignore,    &a->must_match, &a->keys};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        list_free(lists[i]);
}

static int stat_flag(gate_args *a, const char *f, const char *v) {
    long long k;
    if (!strcmp(f, "--confidence"))
        return db_cli_double(CMD, f, v, 0.5, 0.9999, &a->cfg.params.confidence) ? DB_EXIT_USAGE : 0;
    if (!strcmp(f, "--resamples")) {
        if (db_cli_int(CMD, f, v, 1000, 10000000, &k)) return DB_EXIT_USAGE;
        a->cfg.params.resamples = (int)k;
        return 0;
    }
    if (!strcmp(f, "--seed")) {
        if (db_cli_int(CMD, f, v, 0, INT64_MAX, &k)) return DB_EXIT_USAGE;
        a->cfg.params.seed = (uint64_t)k;
        return 0;
    }
    if (!strcmp(f, "--ci")) {
        if (!strcmp(v, "percentile"))
            a->cfg.params.ci = DB_CI_PERCENTILE;
        else if (!strcmp(v, "bca"))
            a->cfg.params.ci = DB_CI_BCA;
        else
            return db_cli_usage_error(CMD, "--ci expects percentile or bca, got '%s'", v);
        return 0;
    }
    if (!strcmp(f, "--detect-min")) {
        if (db_cli_int(CMD, f, v, 0, 1000000, &k)) return DB_EXIT_USAGE;
        a->cfg.detect_min = (size_t)k;
        return 0;
    }
    if (!strcmp(f, "--repeat"))
        return db_cli_int(CMD, f, v, 1, 10000, &a->repeat) ? DB_EXIT_USAGE : 0;
    if (!strcmp(f, "--rule")) {
        char msg[256];
        if (a->n_rules == sizeof a->rules / sizeof a->rules[0])
            return db_cli_usage_error(CMD, "too many --rule flags");
        if (db_gate_rule_parse(v, &a->rules[a->n_rules], msg, sizeof msg))
            return db_cli_usage_error(CMD, "%s", msg);
        a->n_rules++;
        return 0;
    }
    return 1;
}

static int value_flag(gate_args *a, const char *f, const char *v) {
    int r = stat_flag(a, f, v);
    if (r <= 0 || r == DB_EXIT_USAGE) return r;
    if (!strcmp(f, "--baseline")) return list_add(&a->baselines, f, v, 0);
    if (!strcmp(f, "--current")) return list_add(&a->currents, f, v, 0);
    if (!strcmp(f, "--key")) return list_add(&a->keys, f, v, 1);
    if (!strcmp(f, "--exact")) return list_add(&a->exact, f, v, 1);
    if (!strcmp(f, "--ignore")) {
        a->ignore_defaults_replaced = 1;
        return list_add(&a->ignore, f, v, 1);
    }
    if (!strcmp(f, "--must-match")) {
        a->must_match_given = 1;
        return list_add(&a->must_match, f, v, 1);
    }
    const char **dst = !strcmp(f, "--out")        ? &a->out
                       : !strcmp(f, "--markdown") ? &a->markdown
                       : !strcmp(f, "--junit")    ? &a->junit
                       : !strcmp(f, "--save")     ? &a->save
                                                  : NULL;
    if (!dst) return db_cli_usage_error(CMD, "unknown flag '%s'", f);
    *dst = v;
    return 0;
}

static int bool_flag(gate_args *a, const char *f) {
    if (!strcmp(f, "--exact-all"))
        a->cfg.exact_all = 1;
    else if (!strcmp(f, "--no-auto-exact"))
        a->cfg.auto_exact_sim = 0;
    else if (!strcmp(f, "--no-default-rules"))
        a->cfg.no_default_rules = 1;
    else if (!strcmp(f, "--allow-mismatch"))
        a->allow_mismatch = 1;
    else if (!strcmp(f, "--quiet"))
        a->quiet = 1;
    else if (!strcmp(f, "--verbose"))
        a->verbose = 1;
    else
        return 1;
    return 0;
}

/* Returns 0, DB_EXIT_USAGE, or -2 after --help. */
static int parse_args(int argc, char **argv, gate_args *a) {
    memset(a, 0, sizeof *a);
    db_gate_config_default(&a->cfg);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        if (!strcmp(arg, "--")) {
            a->run_argc = argc - i - 1;
            a->run_argv = argv + i + 1;
            return 0;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return -2;
        if (arg[0] != '-') {
            if (list_add(&a->currents, "PATH", arg, 0)) return DB_EXIT_USAGE;
            continue;
        }
        char name[64];
        if (eq && (size_t)(eq - arg) >= sizeof name)
            return db_cli_usage_error(CMD, "unknown flag '%s'", arg);
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        if (bool_flag(a, name) == 0) {
            if (eq) return db_cli_usage_error(CMD, "%s takes no value", name);
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) return db_cli_usage_error(CMD, "%s expects a value", name);
        int r = value_flag(a, name, v);
        if (r) return DB_EXIT_USAGE;
    }
    return 0;
}

static int check_args(gate_args *a) {
    if (a->baselines.n == 0 && !a->save)
        return db_cli_usage_error(CMD, "give --baseline PATH (or --save FILE to make one)");
    if (a->currents.n == 0 && a->repeat == 0)
        return db_cli_usage_error(CMD,
                                  "give current results (PATH or --current PATH) or --repeat K");
    if (a->run_argc > 0 && a->repeat == 0)
        return db_cli_usage_error(CMD, "flags after -- are for --repeat K");
    if (a->repeat > 0 && a->run_argc == 0 && a->baselines.n == 0)
        return db_cli_usage_error(CMD, "--repeat needs the run flags after -- (no baseline "
                                       "command line to reuse)");
    a->cfg.rules = a->rules;
    a->cfg.n_rules = a->n_rules;
    a->cfg.exact = (const char *const *)a->exact.items;
    a->cfg.n_exact = a->exact.n;
    if (a->ignore_defaults_replaced) {
        a->cfg.ignore = (const char *const *)a->ignore.items;
        a->cfg.n_ignore = a->ignore.n;
    }
    if (a->must_match_given) {
        a->cfg.must_match = (const char *const *)a->must_match.items;
        a->cfg.n_must_match = a->must_match.n;
    }
    return 0;
}

/* ---- --repeat -------------------------------------------------------------------------------- */

/* The run flags: those after "--", else the baseline's recorded command line split like a POSIX
 * shell would (no command substitution). A leading "run" (and a program path before it) is dropped.
 * Fills *we when it split a command line (the caller frees it). */
static int run_flags(const gate_args *a, const db_gate_samples *base, wordexp_t *we, int *used_we,
                     char ***argv, int *argc) {
    *used_we = 0;
    if (a->run_argc > 0) {
        *argv = a->run_argv;
        *argc = a->run_argc;
    } else {
        if (!base->command_line)
            return db_cli_usage_error(CMD, "--repeat: the baseline recorded no command line; give "
                                           "the run flags after --");
        if (wordexp(base->command_line, we, WRDE_NOCMD | WRDE_UNDEF) != 0)
            return db_cli_usage_error(CMD,
                                      "--repeat: cannot split the baseline's command line "
                                      "'%s'",
                                      base->command_line);
        *used_we = 1;
        *argv = we->we_wordv;
        *argc = (int)we->we_wordc;
    }
    if (*argc >= 2 && strcmp((*argv)[0], "run") && !strcmp((*argv)[1], "run")) (*argv)++, (*argc)--;
    if (*argc >= 1 && !strcmp((*argv)[0], "run")) (*argv)++, (*argc)--;
    return 0;
}

/* Runs `decodebench run FLAGS --out DIR --quiet` in this process with its stdout sent to stderr, so
 * that the gate's own output stays clean. Returns the run's exit code. */
static int run_once(char **flags, int n, const char *dir) {
    char **argv = calloc((size_t)n + 5, sizeof *argv);
    if (!argv) return DB_EXIT_FAIL;
    argv[0] = "run";
    for (int i = 0; i < n; i++)
        argv[i + 1] = flags[i];
    argv[n + 1] = "--out";
    argv[n + 2] = (char *)dir;
    argv[n + 3] = "--quiet";
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved >= 0) dup2(STDERR_FILENO, STDOUT_FILENO);
    int rc = db_cmd_run(n + 4, argv);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    free(argv);
    return rc;
}

static int repeat_runs(const gate_args *a, const db_gate_samples *base, db_gate_samples *cur,
                       const db_gate_load_opts *lo) {
    char **flags = NULL, dir[4096], run_dir[4200], msg[1024];
    int n = 0, used_we = 0;
    wordexp_t we;
    int rc = run_flags(a, base, &we, &used_we, &flags, &n);
    if (rc) return rc;
    if (a->out) {
        snprintf(dir, sizeof dir, "%s", a->out);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(dir, sizeof dir, "runs/gate-%Y%m%d-%H%M%S", &tm);
    }
    if (db_cli_make_dirs(dir)) {
        rc = db_cli_usage_error(CMD, "--out %s: cannot create the directory: %s", dir,
                                strerror(errno));
        goto done;
    }
    for (long long k = 1; k <= a->repeat && rc == 0; k++) {
        snprintf(run_dir, sizeof run_dir, "%s/run-%02lld", dir, k);
        fprintf(stderr, "decodebench gate: run %lld/%lld -> %s\n", k, a->repeat, run_dir);
        int run_rc = run_once(flags, n, run_dir);
        if (run_rc != 0) {
            fprintf(stderr, "decodebench gate: run %lld/%lld failed (exit %d); stopping\n", k,
                    a->repeat, run_rc);
            rc = run_rc;
        } else if (db_gate_samples_load(cur, run_dir, lo, msg, sizeof msg)) {
            fprintf(stderr, "decodebench gate: %s\n", msg);
            rc = DB_EXIT_FAIL;
        }
    }
done:
    if (used_we) wordfree(&we);
    return rc;
}

/* ---- inputs and outputs ---------------------------------------------------------------------- */

static int load_all(const str_list *paths, db_gate_samples *s, const db_gate_load_opts *lo) {
    char msg[1024];
    for (size_t i = 0; i < paths->n; i++) {
        if (db_gate_samples_load(s, paths->items[i], lo, msg, sizeof msg)) {
            fprintf(stderr, "decodebench gate: %s\n", msg);
            return DB_EXIT_USAGE;
        }
    }
    return 0;
}

/* "PATH (N runs)" or "N inputs (first, second, ...)". */
static void describe_inputs(const str_list *paths, size_t runs, long long repeats, char *buf,
                            size_t len) {
    size_t n = 0;
    if (repeats > 0)
        n += (size_t)snprintf(buf, len, "%lld repeated runs%s", repeats, paths->n ? " + " : "");
    if (paths->n == 1)
        snprintf(buf + n, len - n, "%s", paths->items[0]);
    else if (paths->n > 1)
        snprintf(buf + n, len - n, "%zu inputs (%s, ...)", paths->n, paths->items[0]);
    size_t used = strlen(buf);
    if (used < len) snprintf(buf + used, len - used, " [%zu runs]", runs);
}

static int write_file(const char *flag, const char *path, const db_gate_report *r,
                      const db_gate_context *ctx,
                      int (*fn)(FILE *, const db_gate_report *, const db_gate_context *)) {
    db_atomic_file af;
    char err[512];
    if (db_atomic_open(&af, path, err, sizeof err))
        return db_cli_usage_error(CMD, "%s %s: %s", flag, path, err);
    if (fn(af.f, r, ctx)) {
        db_atomic_abort(&af);
        return db_cli_usage_error(CMD, "%s %s: a write failed", flag, path);
    }
    if (db_atomic_commit(&af, err, sizeof err))
        return db_cli_usage_error(CMD, "%s %s: %s", flag, path, err);
    return 0;
}

static int save_baseline(const char *path, const db_gate_samples *cur) {
    char err[512];
    json_t *o = db_gate_samples_to_json(cur);
    if (!o) return db_cli_usage_error(CMD, "--save %s: out of memory", path);
    db_atomic_file af;
    if (db_atomic_open(&af, path, err, sizeof err)) {
        json_decref(o);
        return db_cli_usage_error(CMD, "--save %s: %s", path, err);
    }
    int bad = json_dumpf(o, af.f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0;
    bad |= fputc('\n', af.f) == EOF;
    json_decref(o);
    if (bad) {
        db_atomic_abort(&af);
        return db_cli_usage_error(CMD, "--save %s: a write failed", path);
    }
    if (db_atomic_commit(&af, err, sizeof err))
        return db_cli_usage_error(CMD, "--save %s: %s", path, err);
    fprintf(stderr, "decodebench gate: saved %zu runs as a baseline in %s\n", cur->n_sources, path);
    return 0;
}

/* The fingerprint check: prints the differing fields; DB_EXIT_USAGE unless mismatches are allowed.
 */
static int check_fingerprint(const gate_args *a, const db_gate_samples *base,
                             const db_gate_samples *cur, db_gate_mismatch *mm, size_t max,
                             size_t *n_mm) {
    int checked;
    *n_mm = db_gate_fingerprint_check(base, cur, a->cfg.must_match, a->cfg.n_must_match, mm, max,
                                      &checked);
    if (!checked)
        fprintf(stderr,
                "decodebench gate: note: %s recorded no environment; the fingerprint was "
                "not checked\n",
                base->n_envs ? "the current results" : "the baseline");
    if (*n_mm == 0 || a->allow_mismatch) return 0;
    fprintf(stderr, "decodebench gate: the baseline and the current results come from different "
                    "environments:\n");
    for (size_t i = 0; i < *n_mm; i++)
        fprintf(stderr, "  %-20s baseline '%s', %s '%s'\n", mm[i].field, mm[i].expected,
                mm[i].source, mm[i].found);
    fprintf(stderr, "Compare like with like, or pass --allow-mismatch (or narrow --must-match).\n");
    return DB_EXIT_USAGE;
}

static int compare(const gate_args *a, const db_gate_samples *base, const db_gate_samples *cur) {
    db_gate_mismatch mm[32];
    size_t n_mm;
    int rc = check_fingerprint(a, base, cur, mm, sizeof mm / sizeof mm[0], &n_mm);
    if (rc) return rc;
    db_gate_report rep;
    char msg[512], bdesc[600], cdesc[600];
    if (db_gate_evaluate(base, cur, &a->cfg, &rep, msg, sizeof msg))
        return db_cli_usage_error(CMD, "%s", msg);
    describe_inputs(&a->baselines, base->n_sources, 0, bdesc, sizeof bdesc);
    describe_inputs(&a->currents, cur->n_sources, a->repeat, cdesc, sizeof cdesc);
    db_gate_context ctx = {bdesc, cdesc, &a->cfg.params, mm, n_mm, a->verbose};
    if (a->quiet) {
        db_gate_overall_describe(&rep, msg, sizeof msg);
        printf("%s\n", msg);
    } else {
        db_gate_print_table(stdout, &rep, &ctx);
    }
    fflush(stdout);
    rc = db_gate_exit_code(rep.overall);
    if (a->markdown && write_file("--markdown", a->markdown, &rep, &ctx, db_gate_write_markdown))
        rc = DB_EXIT_USAGE;
    if (a->junit && write_file("--junit", a->junit, &rep, &ctx, db_gate_write_junit))
        rc = DB_EXIT_USAGE;
    db_gate_report_free(&rep);
    return rc;
}

int db_cmd_gate(int argc, char **argv) {
    gate_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == -2) {
        print_help(stdout);
        args_free(&a);
        return DB_EXIT_OK;
    }
    if (rc == 0) rc = check_args(&a);
    db_gate_samples base = {0}, cur = {0};
    db_gate_load_opts lo = {(const char *const *)a.keys.items, a.keys.n};
    if (rc == 0) rc = load_all(&a.baselines, &base, &lo);
    if (rc == 0) rc = load_all(&a.currents, &cur, &lo);
    if (rc == 0 && a.repeat > 0) rc = repeat_runs(&a, &base, &cur, &lo);
    if (rc == 0 && a.save) rc = save_baseline(a.save, &cur);
    if (rc == 0 && a.baselines.n > 0) rc = compare(&a, &base, &cur);
    db_gate_samples_free(&base);
    db_gate_samples_free(&cur);
    args_free(&a);
    return rc;
}
