/* cmd_profile.c — `decodebench profile nsys|ncu [options] [tool flags] -- [run flags]`: prints the
 * command line that runs `decodebench run` under Nsight Systems or Nsight Compute with the
 * capture limited to a window of steps (--profile-steps, cudaProfilerStart/Stop), then replaces
 * itself with it (execv). --dry-run prints only. Exit codes: 0 after --dry-run or --help; the
 * tool's own when it runs; 1 the tool is not installed or could not be started; 2 usage error. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "profile.h"
#include "run_report.h"

#define CMD "profile"

static void print_help(FILE *f) {
    /* clang-format off */
    fprintf(f,
"Usage: decodebench profile nsys|ncu [options] [tool flags] -- [run flags]\n"
"\n"
"Runs `decodebench run RUN_FLAGS --profile-steps A:B` under Nsight Systems (nsys) or Nsight\n"
"Compute (ncu) so that only steps A..B-1 are captured: the run calls cudaProfilerStart before\n"
"step A and cudaProfilerStop after step B-1. The command is printed, then executed.\n"
"\n"
"  nsys profile -t cuda,nvtx --capture-range=cudaProfilerApi --capture-range-end=stop\n"
"       --cuda-graph-trace=node -o REPORT [tool flags] decodebench run ... --profile-steps A:B\n"
"  ncu --profile-from-start off --clock-control none --nvtx [--nvtx-include decodebench@PHASE/]\n"
"      -o REPORT [tool flags] decodebench run ... --profile-steps A:B\n"
"\n"
"Options:\n"
"  --steps A:B|A:+N     steps to capture (default nsys 10:20, ncu 10:11); or give\n"
"                       --profile-steps among the run flags\n"
"  --report PATH        the tool's report file, without extension\n"
"                       (default decodebench-TOOL-<YYYYmmdd-HHMMSS>; -o in the tool flags wins)\n"
"  --phase P            ncu only: profile kernels inside the NVTX range P of the decodebench\n"
"                       domain: prefill, decode or mixed (default: every kernel of the window)\n"
"  --dry-run            print the command only\n"
"  --help               this text\n"
"Any other flag before -- is passed to the tool. The engine's NVTX ranges (domain decodebench)\n"
"mark steps, phases, layers and ops; --kernel-trace in the run flags turns itself off under\n"
"either tool.\n"
"\n"
"Exit codes: 0 after --dry-run; the tool's when it runs; 1 the tool is not installed or could\n"
"not be started; 2 usage error.\n");
    /* clang-format on */
}

typedef struct profile_args {
    db_profile_spec spec;
    const char *steps;
    bool dry_run;
} profile_args;

/* Our options among the flags before "--"; the rest go to the tool. 0, DB_EXIT_USAGE, or -2 for
 * --help. tool_flags receives the tool's flags (an array of argc entries). */
static int parse_options(int argc, char **argv, int dash, profile_args *p, char **tool_flags) {
    for (int i = 2; i < dash; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) return -2;
        if (!strcmp(f, "--dry-run")) {
            p->dry_run = true;
            continue;
        }
        const char **dst = !strcmp(f, "--steps")    ? &p->steps
                           : !strcmp(f, "--report") ? &p->spec.report
                           : !strcmp(f, "--phase")  ? &p->spec.phase
                                                    : NULL;
        if (!dst) {
            tool_flags[p->spec.n_tool_flags++] = argv[i];
            continue;
        }
        if (i + 1 >= dash) return db_cli_usage_error(CMD, "%s expects a value", f);
        *dst = argv[++i];
    }
    return 0;
}

/* Checks and defaults after parsing. 0 or DB_EXIT_USAGE. */
static int resolve(profile_args *p, char *report_buf, size_t len) {
    db_profile_spec *s = &p->spec;
    if (p->steps && db_profile_flags_have_window(s->run_flags, s->n_run_flags))
        return db_cli_usage_error(CMD,
                                  "--steps and a --profile-steps run flag both give the window");
    s->window = db_profile_default_window(s->tool);
    char err[160];
    if (p->steps && db_profile_parse_steps(p->steps, &s->window, err, sizeof err))
        return db_cli_usage_error(CMD, "--steps: %s", err);
    if (s->phase && s->tool != DB_PROFILER_NCU)
        return db_cli_usage_error(CMD, "--phase applies to ncu only");
    if (s->phase && strcmp(s->phase, "prefill") && strcmp(s->phase, "decode") &&
        strcmp(s->phase, "mixed"))
        return db_cli_usage_error(CMD, "--phase expects prefill, decode or mixed, got '%s'",
                                  s->phase);
    if (!s->report) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(report_buf, len, "decodebench-%s-%s", db_profiler_tool_name(s->tool), stamp);
        s->report = report_buf;
    }
    return 0;
}

/* The tool's executable: on PATH, else in /usr/local/cuda/bin. NULL when absent. */
static const char *find_tool(const char *name, char *buf, size_t len) {
    const char *path = getenv("PATH");
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s:/usr/local/cuda/bin", path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (!*d) continue;
        snprintf(buf, len, "%s/%s", d, name);
        if (access(buf, X_OK) == 0) return buf;
    }
    return NULL;
}

/* Prints the command (shell-quoted) and, unless dry, executes it. */
static int show_and_run(profile_args *p, const char *found) {
    db_profile_scratch scratch;
    char **argv = NULL;
    int n = db_profile_build_argv(&p->spec, &scratch, &argv);
    char *text = n >= 0 ? db_run_command_line(n, argv) : NULL;
    if (!text) {
        free(argv);
        fprintf(stderr, "decodebench profile: out of memory\n");
        return DB_EXIT_FAIL;
    }
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    int rc = DB_EXIT_OK;
    if (!p->dry_run && !found) {
        fprintf(stderr,
                "decodebench profile: %s was not found on PATH or in /usr/local/cuda/bin; install "
                "%s (or put it on PATH) to run the command above\n",
                db_profiler_tool_name(p->spec.tool),
                p->spec.tool == DB_PROFILER_NSYS ? "Nsight Systems" : "Nsight Compute");
        rc = DB_EXIT_FAIL;
    } else if (!p->dry_run) {
        execv(found, argv);
        fprintf(stderr, "decodebench profile: cannot start %s: %s\n", found, strerror(errno));
        rc = DB_EXIT_FAIL;
    }
    free(argv);
    return rc;
}

int db_cmd_profile(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        print_help(stdout);
        return DB_EXIT_OK;
    }
    profile_args p = {0};
    if (argc < 2 || db_profiler_tool_parse(argv[1], &p.spec.tool))
        return db_cli_usage_error(CMD, "expected nsys or ncu as the first argument, got '%s'",
                                  argc < 2 ? "nothing" : argv[1]);
    int dash = argc;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            dash = i;
            break;
        }
    char **tool_flags = calloc((size_t)argc, sizeof *tool_flags);
    if (!tool_flags) return DB_EXIT_FAIL;
    p.spec.tool_flags = tool_flags;
    p.spec.run_flags = argv + (dash < argc ? dash + 1 : argc);
    p.spec.n_run_flags = dash < argc ? argc - dash - 1 : 0;
    char report[128], tool_path[PATH_MAX + 64], self[PATH_MAX];
    int rc = parse_options(argc, argv, dash, &p, tool_flags);
    if (rc == -2) print_help(stdout);
    if (rc == 0) rc = resolve(&p, report, sizeof report);
    if (rc == 0) {
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        self[len > 0 ? len : 0] = '\0';
        p.spec.decodebench = len > 0 ? self : "decodebench";
        const char *found =
            find_tool(db_profiler_tool_name(p.spec.tool), tool_path, sizeof tool_path);
        p.spec.tool_path = found ? found : db_profiler_tool_name(p.spec.tool);
        rc = show_and_run(&p, found);
    }
    free(tool_flags);
    return rc == -2 ? DB_EXIT_OK : rc;
}
