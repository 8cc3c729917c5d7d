/* cmd_run.c — `decodebench run`: one benchmark run. Parses and checks the flags, builds the
 * schedule, opens the engine, runs (harness/run.h) with a live progress line on a terminal, writes
 * the outputs through reports/ and prints the summary. SIGINT/SIGTERM stop the run at the next step
 * boundary; what was measured is still written, marked complete=false, and the exit code is 128 +
 * the signal number (130, 143). A second signal ends the process at once (the handler is reset
 * after the first). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_run_args.h"
#include "commands.h"
#include "metrics.h"
#include "progress.h"
#include "run.h"
#include "run_report.h"
#include "devices.h"
#include "profile.h"
#include "slo.h"
#include "timeline.h"
#include "timeline_breakdown.h"
#include "timeline_kernels.h"
#include "workload.h"

static volatile sig_atomic_t run_stop;
static volatile sig_atomic_t run_signal;

static void on_stop_signal(int sig) {
    run_stop = 1;
    run_signal = sig;
}

/* SIGINT/SIGTERM set the stop flag; no SA_RESTART, so a sleep waiting for the next arrival ends at
 * once; SA_RESETHAND, so a second signal terminates the process. */
static void install_signals(struct sigaction old[2]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void restore_signals(const struct sigaction old[2]) {
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* The output directory: --out, or runs/<YYYYmmdd-HHMMSS>[-N] (a fresh one). */
static int choose_out_dir(const run_args *a, char *dir, size_t len) {
    if (a->out) {
        snprintf(dir, len, "%s", a->out);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dir, len, "runs/%s", stamp);
        struct stat st;
        for (int k = 2; stat(dir, &st) == 0 && k < 1000; k++)
            snprintf(dir, len, "runs/%s-%d", stamp, k);
    }
    if (db_cli_make_dirs(dir)) {
        return db_cli_usage_error("run", "--out %s: cannot create the directory: %s", dir,
                                  strerror(errno));
    }
    return 0;
}

static int build_schedule(const run_args *a, const db_model_config *model, db_schedule *s,
                          db_workload_info *info) {
    db_workload_spec w;
    run_args_workload_spec(a, model, &w);
    char err[512];
    if (db_workload_build_info(&w, s, info, err, sizeof err))
        return db_cli_usage_error("run", "%s", err);
    if (a->dump_schedule && db_schedule_dump(s, a->dump_schedule, err, sizeof err))
        return db_cli_usage_error("run", "--dump-schedule %s: %s", a->dump_schedule, err);
    return 0;
}

static int open_engine(run_args *a, const db_model_config *model, db_engine **e) {
    db_engine_opts eo;
    run_args_engine_opts(a, model, &eo);
    db_error err;
    db_status st = db_engine_open(&eo, e, &err);
    if (st == DB_ERR_UNSUPPORTED && eo.kernel_trace) {
        /* CUPTI takes one client: a profiler that check_kernel_trace could not see by its
         * environment holds it. The run goes on without the in-process trace, as under nsys/ncu. */
        db_error first = err;
        eo.kernel_trace = 0;
        st = db_engine_open(&eo, e, &err);
        if (st == DB_OK) {
            fprintf(stderr, "decodebench run: --kernel-trace is off: %s\n", first.msg);
            a->kernel_trace = false;
            return 0;
        }
    }
    if (st == DB_OK) return 0;
    fprintf(stderr, "decodebench run: cannot open the %s engine: %s\n", db_backend_name(eo.backend),
            err.msg);
    /* bad user input (a device JSON, a checkpoint) is a usage error; a missing device is a failure
     */
    return st == DB_ERR_INVALID || st == DB_ERR_IO ? DB_EXIT_USAGE : DB_EXIT_FAIL;
}

static int create_metrics(const run_args *a, db_engine *e, const db_slo_set *slo, db_metrics **m) {
    db_metrics_config mc;
    run_args_metrics_config(a, e, slo, &mc);
    char err[512];
    if (db_metrics_create(&mc, m, err, sizeof err)) {
        fprintf(stderr, "decodebench run: %s\n", err);
        return DB_EXIT_FAIL;
    }
    return 0;
}

static int create_timeline(const run_args *a, db_timeline **tl) {
    *tl = NULL;
    if (!a->timeline) return 0;
    char err[256];
    if (db_timeline_create((size_t)a->timeline_max_events, tl, err, sizeof err)) {
        fprintf(stderr, "decodebench run: %s\n", err);
        return DB_EXIT_FAIL;
    }
    return 0;
}

/* ---- kernel trace ------------------------------------------------------------------------------
 */

/* kernels.csv as the run goes, and what the step-time breakdown needs afterwards. */
typedef struct kernel_trace {
    db_kernels_csv *csv;
    db_step_window window; /* keep these steps' kernels only; end = 0: every kernel */
    db_breakdown_kernel *k;
    size_t nk, cap_k;
    db_breakdown_step *s;
    size_t ns, cap_s;
    bool oom;
} kernel_trace;

static bool in_window(const kernel_trace *t, int64_t step) {
    return t->window.end == 0 || (step >= t->window.first && step < t->window.end);
}

static int on_kernel(void *ctx, const db_kernel_record *k, int64_t start_ns, int64_t end_ns) {
    kernel_trace *t = ctx;
    if (!in_window(t, k->step)) return 0;
    db_kernel_row row = {.step = k->step,
                         .op = db_kernel_op_name(k->op),
                         .name = k->name,
                         .demangled = k->demangled != 0,
                         .start_ns = start_ns,
                         .end_ns = end_ns,
                         .grid = {k->grid[0], k->grid[1], k->grid[2]},
                         .block = {k->block[0], k->block[1], k->block[2]},
                         .registers_per_thread = k->registers_per_thread,
                         .static_shared_bytes = k->static_shared_bytes,
                         .dynamic_shared_bytes = k->dynamic_shared_bytes,
                         .stream = k->stream,
                         .graph_id = k->graph_id,
                         .graph_node_id = k->graph_node_id,
                         .correlation_id = k->correlation_id,
                         .mangled_name = k->mangled_name};
    if (db_kernels_csv_add(t->csv, &row)) return -1;
    if (t->nk == t->cap_k) {
        size_t cap = t->cap_k ? 2 * t->cap_k : 4096;
        db_breakdown_kernel *p = realloc(t->k, cap * sizeof *p);
        if (!p) return t->oom = true, -1;
        t->k = p;
        t->cap_k = cap;
    }
    t->k[t->nk++] =
        (db_breakdown_kernel){k->step, db_breakdown_op_index(row.op), end_ns - start_ns};
    return 0;
}

static void on_step(void *ctx, const db_step_event *ev, const db_cost *c) {
    kernel_trace *t = ctx;
    if (t->oom || !in_window(t, ev->index)) return;
    if (t->ns == t->cap_s) {
        size_t cap = t->cap_s ? 2 * t->cap_s : 1024;
        db_breakdown_step *p = realloc(t->s, cap * sizeof *p);
        if (!p) {
            t->oom = true;
            return;
        }
        t->s = p;
        t->cap_s = cap;
    }
    db_breakdown_step *s = &t->s[t->ns++];
    s->index = ev->index;
    s->duration_ns = ev->duration_ns;
    for (int i = 0; i < DB_BREAKDOWN_OPS; i++) {
        s->flops[i] = c->flops[i];
        s->bytes[i] = c->bytes[i];
    }
}

/* --kernel-trace against the machine: off under an external profiler (it records the kernels
 * itself, and CUPTI takes one client), a failure without a GPU. 0 or DB_EXIT_FAIL. */
static int check_kernel_trace(run_args *a) {
    if (!a->kernel_trace) return 0;
    const char *var = NULL, *tool = db_profile_external_tool(&var);
    if (tool) {
        fprintf(stderr,
                "decodebench run: --kernel-trace is off: running under %s (%s is set), which "
                "records the kernels itself\n",
                tool, var);
        a->kernel_trace = false;
        return 0;
    }
    if (a->resolved != DB_BACKEND_CUDA) {
        fprintf(stderr,
                "decodebench run: --kernel-trace needs a CUDA device: %s, so the run would use "
                "the %s backend\n",
#ifdef DECODEBENCH_HAVE_CUDA
                "no CUDA device answered",
#else
                "this decodebench was built without CUDA",
#endif
                db_backend_name(a->resolved));
        return DB_EXIT_FAIL;
    }
    return 0;
}

static int open_kernel_trace(const run_args *a, const char *dir, kernel_trace *t) {
    memset(t, 0, sizeof *t);
    if (!a->kernel_trace) return 0;
    t->window = a->profile_window;
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/kernels.csv", dir);
    if (db_kernels_csv_open(path, &t->csv, err, sizeof err) == 0) return 0;
    fprintf(stderr, "decodebench run: %s\n", err);
    return DB_EXIT_FAIL;
}

/* Device ceilings for the fraction of ceiling: --ceilings, else the preset named after the GPU. */
static bool kernel_peaks(const run_args *a, const db_engine *e, db_breakdown_peaks *p) {
    memset(p, 0, sizeof *p);
    const char *name =
        a->ceilings ? a->ceilings : db_profile_preset_for_gpu(db_engine_device_name(e));
    db_device_ceilings c;
    db_error err;
    if (!name || db_device_resolve(name, &c, &err) != DB_OK) {
        if (name) fprintf(stderr, "decodebench run: --ceilings %s: %s\n", name, err.msg);
        return false;
    }
    db_precision prec = db_engine_get_opts(e)->precision;
    for (int i = 0; i < DB_BREAKDOWN_OPS; i++) {
        db_peak_type t = db_device_gemm_peak(prec);
        if (i == DB_OP_ATTN) t = db_device_attention_peak(prec);
        if (i == DB_OP_NORM) t = DB_PEAK_FP32; /* elementwise work on the CUDA cores */
        p->flops_per_s[i] = c.peak_flops[t];
    }
    p->bytes_per_s = c.memory_bandwidth;
    return true;
}

/* kernels.csv into place, then kernel_ops.csv and kernel_points.csv. 0, or -1 with err. */
static int finish_kernel_trace(const run_args *a, const db_engine *e, const char *dir,
                               kernel_trace *t, char *err, size_t errlen) {
    if (!t->csv) return 0;
    int rc = db_kernels_csv_commit(t->csv, err, errlen);
    t->csv = NULL;
    if (rc || t->oom) {
        if (t->oom) snprintf(err, errlen, "kernel trace: out of memory");
        return -1;
    }
    db_breakdown_peaks peaks;
    bool have_peaks = kernel_peaks(a, e, &peaks);
    db_breakdown b;
    db_breakdown_point *pts = NULL;
    size_t n_pts = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/kernel_ops.csv", dir);
    if (db_breakdown_compute(t->k, t->nk, t->s, t->ns, have_peaks ? &peaks : NULL, &b) ||
        db_breakdown_points(t->k, t->nk, t->s, t->ns, &pts, &n_pts)) {
        snprintf(err, errlen, "kernel trace: cannot aggregate %zu kernels", t->nk);
        return -1;
    }
    rc = db_breakdown_write_csv(path, &b, err, errlen);
    snprintf(path, sizeof path, "%s/kernel_points.csv", dir);
    if (rc == 0) rc = db_breakdown_write_points_csv(path, pts, n_pts, err, errlen);
    free(pts);
    if (rc == 0 && !a->quiet) db_breakdown_print(stdout, &b);
    return rc;
}

static void free_kernel_trace(kernel_trace *t) {
    db_kernels_csv_abort(t->csv);
    free(t->k);
    free(t->s);
}

/* Runs with signals and progress in place. Returns the db_run status. */
static db_status run_with_ui(const run_args *a, db_engine *e, const db_schedule *s, db_metrics *m,
                             db_timeline *tl, kernel_trace *kt, db_run_stats *stats,
                             db_error *err) {
    db_run_opts ro;
    run_args_run_opts(a, e, &ro);
    ro.timeline = tl;
    if (kt->csv) {
        ro.on_kernel = on_kernel;
        ro.kernel_ctx = kt;
        ro.on_step = on_step;
        ro.step_ctx = kt;
    }
    if (a->profile_steps && !db_engine_has_device_profiler(e) && !a->quiet)
        fprintf(stderr,
                "decodebench run: note: the %s backend has no device profiler; --profile-steps "
                "%s only counts the steps\n",
                db_backend_name(db_engine_backend(e)), a->profile_steps);
    ro.stop = &run_stop;
    db_progress pg;
    db_progress_init(&pg, stderr, !a->quiet && isatty(STDERR_FILENO));
    ro.progress = db_progress_update;
    ro.progress_ctx = &pg;
    struct sigaction old[2];
    run_stop = 0;
    run_signal = 0;
    install_signals(old);
    db_status st = db_run(e, s, &ro, m, stats, err);
    restore_signals(old);
    db_progress_free(&pg);
    return st;
}

/* timeline.json next to the other outputs. 0, or -1 with err filled. */
static int write_timeline(const char *dir, const db_metrics *m, const db_timeline *tl,
                          const db_run_stats *stats, const char *cmdline, char *err,
                          size_t errlen) {
    if (!tl) return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/timeline.json", dir);
    db_timeline_info ti = {.clock = db_clock_kind_name(stats->clock), .command_line = cmdline};
    return db_timeline_write(path, m, tl, &ti, err, errlen);
}

/* Writes the outputs and prints the summary. Returns 0 or DB_EXIT_FAIL. */
static int write_outputs(const run_args *a, int argc, char **argv, const char *dir, db_engine *e,
                         const db_schedule *s, const db_workload_info *wi, const db_metrics *m,
                         const db_timeline *tl, kernel_trace *kt, const db_run_stats *stats,
                         bool complete, double start_epoch_s) {
    db_kv_list facts = {0};
    run_args_facts(a, e, s, wi, stats, &facts);
    /* the command line as typed: "decodebench run ..." (argv[0] here is the subcommand) */
    char **full = calloc((size_t)argc + 1, sizeof *full);
    char *cmdline = NULL;
    if (full) {
        full[0] = "decodebench";
        memcpy(full + 1, argv, (size_t)argc * sizeof *argv);
        cmdline = db_run_command_line(argc + 1, full);
        free(full);
    }
    db_run_info info = {.command_line = cmdline,
                        .complete = complete,
                        .start_epoch_s = start_epoch_s,
                        .environment = &facts};
    char err[512];
    int rc = 0;
    if (db_report_write_run(dir, m, &info, err, sizeof err) ||
        write_timeline(dir, m, tl, stats, cmdline, err, sizeof err) ||
        finish_kernel_trace(a, e, dir, kt, err, sizeof err)) {
        fprintf(stderr, "decodebench run: writing the outputs failed: %s\n", err);
        rc = DB_EXIT_FAIL;
    }
    if (!a->quiet) {
        db_report_print_summary(stdout, m, &info);
        printf("%-40s %lld steps, %lld preemptions, %s clock: %.3f s run time in %.3f s wall\n",
               "Engine:", (long long)stats->steps, (long long)stats->preemptions,
               db_clock_kind_name(stats->clock), stats->end_s, stats->wall_s);
    }
    if (rc == 0) printf("Outputs: %s/\n", dir);
    fflush(stdout);
    free(cmdline);
    db_kv_free(&facts);
    return rc;
}

int db_cmd_run(int argc, char **argv) {
    run_args a;
    db_slo_set slo;
    db_model_config model;
    int rc = 0;
    if (!run_args_parse(argc, argv, &a, &slo, &model, &rc)) return rc; /* --help, usage error */
    db_schedule sched = {0};
    db_workload_info winfo;
    db_engine *e = NULL;
    db_metrics *m = NULL;
    db_timeline *tl = NULL;
    kernel_trace kt = {0};
    char dir[4096];
    if ((rc = check_kernel_trace(&a)) || (rc = build_schedule(&a, &model, &sched, &winfo)) ||
        (rc = open_engine(&a, &model, &e)) || (rc = choose_out_dir(&a, dir, sizeof dir)) ||
        (rc = create_metrics(&a, e, &slo, &m)) || (rc = create_timeline(&a, &tl)) ||
        (rc = open_kernel_trace(&a, dir, &kt)))
        goto done;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double start_epoch_s = (double)wall.tv_sec + (double)wall.tv_nsec * 1e-9;
    db_run_stats stats;
    db_error err;
    db_status st = run_with_ui(&a, e, &sched, m, tl, &kt, &stats, &err);
    if (st != DB_OK) fprintf(stderr, "decodebench run: the run failed: %s\n", err.msg);
    bool complete = st == DB_OK && !stats.interrupted;
    rc = write_outputs(&a, argc, argv, dir, e, &sched, &winfo, m, tl, &kt, &stats, complete,
                       start_epoch_s);
    if (st != DB_OK)
        rc = DB_EXIT_FAIL;
    else if (stats.interrupted && rc == 0) {
        fprintf(stderr, "decodebench run: stopped by signal %d; outputs marked complete=false\n",
                (int)run_signal);
        rc = 128 + (int)run_signal;
    }
done:
    free_kernel_trace(&kt);
    db_timeline_free(tl);
    if (m) db_metrics_free(m);
    if (e) db_engine_close(e);
    db_schedule_free(&sched);
    return rc;
}
