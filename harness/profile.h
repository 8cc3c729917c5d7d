/* profile.h — what `decodebench run` and `decodebench profile` share about profiling: the step
 * window syntax (--profile-steps), the check for an external profiler (Nsight Systems, Nsight
 * Compute, nvprof) attached to this process, and the nsys / ncu command lines that wrap a run.
 *
 * Must not: run anything, print, or exit; the command line is built, never executed, here.
 */
#ifndef DB_PROFILE_H
#define DB_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Steps first .. end-1 (0-based, as steps.csv numbers them). */
typedef struct db_step_window {
    int64_t first, end;
} db_step_window;

/* "A:B" (0 <= A < B: steps A .. B-1) or "A:+N" (N >= 1: steps A .. A+N-1). Returns 0, or -1 with
 * err saying what was expected. */
int db_profile_parse_steps(const char *text, db_step_window *w, char *err, size_t errlen);

/* The external profiler this process runs under, from the environment variables the tools set
 * for the processes they launch: "nsys" (NSYS_PROFILING_SESSION_ID), "ncu"
 * (NV_NSIGHT_INJECTION_TRANSPORT_TYPE), "nvprof" (NVPROF_ID) — the variables GROMACS checks for
 * the same purpose (src/gromacs/gpu_utils/gpu_utils.cu, cudaProfilerRun) — or NULL. *variable
 * (when non-NULL) names the variable found. */
const char *db_profile_external_tool(const char **variable);

/* The datasheet preset (engine/devices.h) for a GPU named like this ("NVIDIA H100 80GB HBM3"):
 * "h200" for an H200, "h100-sxm" for an H100 that is not a PCIe card, "a100-80g" for an A100
 * 80GB, "l40s" for an L40S; NULL for any other device (no ceilings are assumed). */
const char *db_profile_preset_for_gpu(const char *device_name);

typedef enum db_profiler_tool {
    DB_PROFILER_NSYS = 0,
    DB_PROFILER_NCU,
} db_profiler_tool;

const char *db_profiler_tool_name(db_profiler_tool t);            /* "nsys", "ncu" */
int db_profiler_tool_parse(const char *s, db_profiler_tool *out); /* 0, or -1 if unknown */

/* Default windows: nsys captures 10 steps (10:20), ncu replays every kernel of one step (10:11). */
db_step_window db_profile_default_window(db_profiler_tool t);

/* What wraps the run. */
typedef struct db_profile_spec {
    db_profiler_tool tool;
    const char *tool_path;   /* the tool's executable (argv[0] of the command) */
    const char *report;      /* -o REPORT; NULL when the tool flags name the output */
    const char *phase;       /* ncu: NVTX push/pop range to keep (prefill, decode, mixed) or
                                NULL for every kernel of the window */
    db_step_window window;   /* appended as --profile-steps A:B unless the run flags give one */
    char *const *tool_flags; /* (n_tool_flags) passed to the tool after ours */
    int n_tool_flags;
    const char *decodebench; /* this program's path */
    char *const *run_flags;  /* (n_run_flags) the flags of `decodebench run` */
    int n_run_flags;
} db_profile_spec;

/* Text the built argv points into; must outlive it. */
typedef struct db_profile_scratch {
    char window[48]; /* "A:B" */
    char nvtx[96];   /* "decodebench@PHASE/" */
} db_profile_scratch;

/* The full argv (NULL-terminated, malloc'ed; its strings are borrowed from spec, scratch or static
 * text, so free the array only):
 *   nsys profile -t cuda,nvtx --capture-range=cudaProfilerApi --capture-range-end=stop
 *        --cuda-graph-trace=node [-o REPORT] TOOL_FLAGS DECODEBENCH run RUN_FLAGS
 *        [--profile-steps A:B]
 *   ncu --profile-from-start off --clock-control none --nvtx
 *       [--nvtx-include decodebench@PHASE/] [-o REPORT] TOOL_FLAGS DECODEBENCH run RUN_FLAGS
 *       [--profile-steps A:B]
 * Returns the argc, or -1 on allocation failure. */
int db_profile_build_argv(const db_profile_spec *spec, db_profile_scratch *scratch,
                          char ***argv_out);

/* True when the flags already say where the tool's report goes (nsys: -o / --output; ncu: -o /
 * --export), so no -o is added. */
bool db_profile_flags_name_output(db_profiler_tool t, char *const *flags, int n);
/* True when the run flags already carry --profile-steps (so no window is appended). */
bool db_profile_flags_have_window(char *const *run_flags, int n);

#endif
