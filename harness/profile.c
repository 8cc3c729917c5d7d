/* profile.c — step windows, external profiler detection and the nsys / ncu command lines
 * (profile.h). */
#include "profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A non-negative decimal integer spanning the whole of [s, end); -1 when it is not one. */
static int64_t parse_count(const char *s, const char *end) {
    if (s == end || end - s > 18) return -1;
    int64_t v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

int db_profile_parse_steps(const char *text, db_step_window *w, char *err, size_t errlen) {
    const char *colon = strchr(text, ':');
    int64_t a = colon ? parse_count(text, colon) : -1, b = -1;
    bool plus = colon && colon[1] == '+';
    if (colon) b = parse_count(colon + 1 + plus, colon + strlen(colon));
    if (a < 0 || b < 0) {
        snprintf(err, errlen,
                 "expected A:B (steps A .. B-1, 0 <= A < B) or A:+N (N steps from A), got '%s'",
                 text);
        return -1;
    }
    if (plus ? b < 1 : b <= a) {
        snprintf(err, errlen, "'%s' holds no step: %s", text,
                 plus ? "N must be >= 1" : "B must be greater than A");
        return -1;
    }
    w->first = a;
    w->end = plus ? a + b : b;
    return 0;
}

const char *db_profile_external_tool(const char **variable) {
    static const struct {
        const char *var, *tool;
    } known[] = {{"NSYS_PROFILING_SESSION_ID", "nsys"},
                 {"NV_NSIGHT_INJECTION_TRANSPORT_TYPE", "ncu"},
                 {"NVPROF_ID", "nvprof"}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const char *v = getenv(known[i].var);
        if (v) {
            if (variable) *variable = known[i].var;
            return known[i].tool;
        }
    }
    if (variable) *variable = NULL;
    return NULL;
}

const char *db_profile_preset_for_gpu(const char *name) {
    if (!name) return NULL;
    if (strcasestr(name, "H200")) return "h200";
    if (strcasestr(name, "H100") && !strcasestr(name, "PCIe")) return "h100-sxm";
    if (strcasestr(name, "A100") && strcasestr(name, "80G")) return "a100-80g";
    if (strcasestr(name, "L40S")) return "l40s";
    return NULL;
}

const char *db_profiler_tool_name(db_profiler_tool t) {
    return t == DB_PROFILER_NCU ? "ncu" : "nsys";
}

int db_profiler_tool_parse(const char *s, db_profiler_tool *out) {
    if (!strcmp(s, "nsys")) {
        *out = DB_PROFILER_NSYS;
        return 0;
    }
    if (!strcmp(s, "ncu")) {
        *out = DB_PROFILER_NCU;
        return 0;
    }
    return -1;
}

db_step_window db_profile_default_window(db_profiler_tool t) {
    return t == DB_PROFILER_NCU ? (db_step_window){10, 11} : (db_step_window){10, 20};
}

/* flag equals name, or starts with "name=". */
static bool is_flag(const char *flag, const char *name) {
    size_t n = strlen(name);
    return !strncmp(flag, name, n) && (flag[n] == '\0' || flag[n] == '=');
}

bool db_profile_flags_name_output(db_profiler_tool t, char *const *flags, int n) {
    const char *long_name = t == DB_PROFILER_NCU ? "--export" : "--output";
    for (int i = 0; i < n; i++)
        if (!strcmp(flags[i], "-o") || is_flag(flags[i], long_name)) return true;
    return false;
}

bool db_profile_flags_have_window(char *const *run_flags, int n) {
    for (int i = 0; i < n; i++)
        if (is_flag(run_flags[i], "--profile-steps")) return true;
    return false;
}

/* The tool's own flags, before the report name and the caller's flags. */
static int fixed_flags(const db_profile_spec *s, const char **out, char *buf, size_t len) {
    int n = 0;
    if (s->tool == DB_PROFILER_NSYS) {
        static const char *const nsys[] = {"profile",
                                           "-t",
                                           "cuda,nvtx",
                                           "--capture-range=cudaProfilerApi",
                                           "--capture-range-end=stop",
                                           "--cuda-graph-trace=node"};
        for (size_t i = 0; i < sizeof nsys / sizeof nsys[0]; i++)
            out[n++] = nsys[i];
        return n;
    }
    static const char *const ncu[] = {"--profile-from-start", "off", "--clock-control", "none",
                                      "--nvtx"};
    for (size_t i = 0; i < sizeof ncu / sizeof ncu[0]; i++)
        out[n++] = ncu[i];
    if (s->phase) {
        snprintf(buf, len, "decodebench@%s/", s->phase); /* a push/pop range: trailing slash */
        out[n++] = "--nvtx-include";
        out[n++] = buf;
    }
    return n;
}

int db_profile_build_argv(const db_profile_spec *spec, db_profile_scratch *scratch,
                          char ***argv_out) {
    *argv_out = NULL;
    size_t cap = 16 + (size_t)spec->n_tool_flags + (size_t)spec->n_run_flags;
    const char **argv = calloc(cap, sizeof *argv);
    if (!argv) return -1;
    int n = 0;
    argv[n++] = spec->tool_path;
    n += fixed_flags(spec, argv + n, scratch->nvtx, sizeof scratch->nvtx);
    if (spec->report &&
        !db_profile_flags_name_output(spec->tool, spec->tool_flags, spec->n_tool_flags)) {
        argv[n++] = "-o";
        argv[n++] = spec->report;
    }
    for (int i = 0; i < spec->n_tool_flags; i++)
        argv[n++] = spec->tool_flags[i];
    argv[n++] = spec->decodebench;
    argv[n++] = "run";
    for (int i = 0; i < spec->n_run_flags; i++)
        argv[n++] = spec->run_flags[i];
    if (!db_profile_flags_have_window(spec->run_flags, spec->n_run_flags)) {
        snprintf(scratch->window, sizeof scratch->window, "%" PRId64 ":%" PRId64,
                 spec->window.first, spec->window.end);
        argv[n++] = "--profile-steps";
        argv[n++] = scratch->window;
    }
    argv[n] = NULL;
    *argv_out = (char **)argv;
    return n;
}
