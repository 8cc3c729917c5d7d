/* workload.h — the one entry point the `run` command calls: turns the workload flags (lengths or a
 * trace, an arrival process, request count, duration, seed, context clamp) into a db_schedule.
 *
 * Rules (also in the README):
 * - Lengths come from --prompt-len/--output-len specs (lengths.h), or jointly from a trace
 *   (trace.h); a spec given next to a trace replaces that side of the trace's lengths.
 * - Trace lengths are used in the trace's order; when more requests are asked for than the trace
 *   has rows (any arrival but `trace`), they wrap around to the first row again.
 * - `trace[:SCALE]` arrivals replay the trace's rows with their times divided by SCALE; at most the
 *   trace's rows (no wrap-around: a trace's times are not invented).
 * - Generated open-loop arrivals (poisson, gamma, constant, ramp) stop at --requests N or at the
 *   last arrival at or before --duration S, whichever comes first; one of them is required.
 *   A ramp goes from R0 to R1 over --duration S, or, without it, over 2N/(R0+R1) s (the time N
 *   requests take on average).
 * - offline and concurrency:N need --requests N, or take one request per trace row; --duration does
 *   not shorten them (the harness ends the run).
 * - max_total_tokens > 0 fits each longer request to the context: with DB_FIT_CUT the prompt is cut to
 *   max - 1, then the output to max - prompt; with DB_FIT_SCALE both are scaled by max / (prompt + output)
 *   (prompt rounded, kept in 1..max - 1; output = min(output, max - prompt)), keeping their ratio.
 * - Prompt lengths, output lengths and arrival times come from three independent streams of the
 *   seed, so changing one of them leaves the others as they were; the same spec and seed give the
 *   same schedule, byte for byte (db_schedule_dump).
 * Must not: know the engine, the clock or the scheduler; print.
 */
#ifndef DB_WORKLOAD_H
#define DB_WORKLOAD_H

#include "schedule.h"
#include "trace.h"

#include <stddef.h>
#include <stdint.h>

/* How a request longer than max_total_tokens is fitted to it. */
typedef enum db_fit_mode { DB_FIT_CUT = 0, DB_FIT_SCALE = 1 } db_fit_mode;

typedef struct db_workload_spec {
    const char *prompt_len;       /* --prompt-len SPEC, or NULL (then the trace's) */
    const char *output_len;       /* --output-len SPEC, or NULL (then the trace's) */
    const char *trace;            /* --trace "trace:FILE" or "FILE", or NULL */
    db_trace_format trace_format; /* --trace-format; DB_TRACE_AUTO detects from the header */
    const char *arrival;          /* --arrival SPEC; NULL: "trace" for a trace with times, else
                                     "offline" */
    int64_t requests;             /* --requests N; 0 = not limited by count */
    double duration_s;            /* --duration S; 0 = not limited by time */
    uint64_t seed;                /* --seed */
    int64_t max_total_tokens;     /* model context: prompt + output <= this; 0 = no clamp */
    db_fit_mode fit_mode;         /* how a longer request is fitted (cut or scale) */
} db_workload_spec;

/* What building the schedule did, for the run summary. */
typedef struct db_workload_info {
    int has_trace;
    db_trace_format trace_format;  /* detected or forced */
    size_t trace_requests;         /* rows kept from the trace */
    size_t trace_failed;           /* BurstGPT failed rows skipped */
    size_t trace_zero_length;      /* other zero-length rows skipped */
    size_t empirical_zero_skipped; /* zero values dropped from empirical columns */
    size_t wrapped; /* requests whose trace lengths came from a second or later pass */
    size_t clamped; /* requests shortened to fit max_total_tokens */
} db_workload_info;

/* The most requests one schedule may hold. */
#define DB_WORKLOAD_MAX_REQUESTS 50000000LL

/* Builds *out (zeroed first; free with db_schedule_free). Returns 0, or -1 with err naming the flag
 * or file and what was expected. */
int db_workload_build(const db_workload_spec *spec, db_schedule *out, char *err, size_t errlen);

/* The same, also filling *info (may be NULL). */
int db_workload_build_info(const db_workload_spec *spec, db_schedule *out, db_workload_info *info,
                           char *err, size_t errlen);

#endif
