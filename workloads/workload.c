#include "workload.h"

#include "arrival.h"
#include "lengths.h"
#include "parse.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Independent streams of the seed (see workload.h). */
enum { STREAM_PROMPT = 1, STREAM_OUTPUT = 2, STREAM_ARRIVAL = 3 };

typedef struct build {
    const db_workload_spec *spec;
    db_arrival_spec arrival;
    const char *arrival_text;
    const char *trace_path; /* NULL without a trace */
    db_trace trace;
    db_length_source *prompt, *output; /* NULL: that side comes from the trace */
    db_rng prompt_rng, output_rng;
    db_schedule *out;
    size_t cap;
    db_workload_info info;
    char *err;
    size_t errlen;
} build;

static int check_numbers(const db_workload_spec *s, char *err, size_t errlen) {
    if (s->requests < 0 || s->requests > DB_WORKLOAD_MAX_REQUESTS)
        return db_errf(err, errlen, "--requests: expected an integer in 0..%lld, got %lld",
                       DB_WORKLOAD_MAX_REQUESTS, (long long)s->requests);
    if (!(s->duration_s >= 0) || !isfinite(s->duration_s))
        return db_errf(err, errlen, "--duration: expected a non-negative time, got %g",
                       s->duration_s);
    if (s->max_total_tokens < 0 || s->max_total_tokens == 1 || s->max_total_tokens > 2147483647LL)
        return db_errf(
            err, errlen,
            "max total tokens: expected 0 (no clamp) or an integer in 2..2147483647, got "
            "%lld",
            (long long)s->max_total_tokens);
    return 0;
}

static int load_inputs(build *b) {
    const db_workload_spec *s = b->spec;
    if (s->trace) {
        b->trace_path = strncmp(s->trace, "trace:", 6) == 0 ? s->trace + 6 : s->trace;
        if (!*b->trace_path)
            return db_errf(b->err, b->errlen, "--trace: expected trace:FILE or FILE");
        if (db_trace_read(b->trace_path, s->trace_format, &b->trace, b->err, b->errlen)) return -1;
        b->info.has_trace = 1;
        b->info.trace_format = b->trace.format;
        b->info.trace_requests = b->trace.n;
        b->info.trace_failed = b->trace.failed;
        b->info.trace_zero_length = b->trace.zero_length;
    }
    const char *sides[2] = {s->prompt_len, s->output_len};
    const char *flags[2] = {"--prompt-len", "--output-len"};
    db_length_source **srcs[2] = {&b->prompt, &b->output};
    for (int i = 0; i < 2; i++) {
        if (!sides[i] && !b->trace_path)
            return db_errf(b->err, b->errlen,
                           "%s: expected a length distribution (e.g. lognormal:1000:500:1:4096) or "
                           "a trace (--trace FILE)",
                           flags[i]);
        if (sides[i] && db_length_source_parse(sides[i], flags[i], srcs[i], b->err, b->errlen))
            return -1;
        b->info.empirical_zero_skipped += db_length_source_skipped(*srcs[i]);
    }
    b->arrival_text = s->arrival ? s->arrival : b->trace.arrival_ns ? "trace" : "offline";
    if (db_arrival_parse(b->arrival_text, "--arrival", &b->arrival, b->err, b->errlen)) return -1;
    if (b->arrival.kind == DB_ARRIVAL_TRACE && !b->trace.arrival_ns)
        return db_errf(b->err, b->errlen,
                       "--arrival %s: expected a trace with arrival times (--trace FILE in the "
                       "azure, burstgpt, mooncake or native format)%s",
                       b->arrival_text, b->trace_path ? "; this trace has lengths only" : "");
    return 0;
}

static int push(build *b, double t) {
    db_schedule *o = b->out;
    if (!isfinite(t))
        return db_errf(
            b->err, b->errlen,
            "--arrival %s: arrival times overflow; expected a rate (or SCALE) that keeps "
            "them finite",
            b->arrival_text);
    if (o->n == b->cap) {
        if ((long long)o->n >= DB_WORKLOAD_MAX_REQUESTS)
            return db_errf(b->err, b->errlen,
                           "--arrival %s: the schedule would hold more than %lld requests; lower "
                           "--requests, --duration or the rate",
                           b->arrival_text, DB_WORKLOAD_MAX_REQUESTS);
        size_t cap = b->cap ? 2 * b->cap : 1024;
        db_schedule_item *p = realloc(o->items, cap * sizeof *p);
        if (!p) return db_errf(b->err, b->errlen, "out of memory for %zu requests", cap);
        o->items = p;
        b->cap = cap;
    }
    o->items[o->n++].arrival_s = t;
    return 0;
}

static int trace_times(build *b) {
    const db_workload_spec *s = b->spec;
    size_t n = b->trace.n;
    if (s->requests > 0 && (size_t)s->requests < n) n = (size_t)s->requests;
    for (size_t i = 0; i < n; i++) {
        double t = (double)b->trace.arrival_ns[i] / 1e9;
        if (b->arrival.scale != 1.0) t /= b->arrival.scale;
        if (s->duration_s > 0 && t > s->duration_s) break;
        if (push(b, t)) return -1;
    }
    return 0;
}

static int generated_times(build *b) {
    const db_workload_spec *s = b->spec;
    if (s->requests == 0 && s->duration_s == 0)
        return db_errf(b->err, b->errlen,
                       "--arrival %s: expected --requests N or --duration S to bound the schedule",
                       b->arrival_text);
    double peak = fmax(b->arrival.rate, b->arrival.rate_end);
    if (s->requests == 0 && peak * s->duration_s > (double)DB_WORKLOAD_MAX_REQUESTS)
        return db_errf(b->err, b->errlen,
                       "--arrival %s with --duration %g: expected about %.0f requests, more than "
                       "the %lld one schedule may hold",
                       b->arrival_text, s->duration_s, peak * s->duration_s,
                       DB_WORKLOAD_MAX_REQUESTS);
    double ramp_s = s->duration_s > 0
                        ? s->duration_s
                        : 2.0 * (double)s->requests / (b->arrival.rate + b->arrival.rate_end);
    db_arrival_gen g;
    db_arrival_gen_init(&g, &b->arrival, db_rng_stream_seed(s->seed, STREAM_ARRIVAL), ramp_s);
    double t;
    while ((s->requests == 0 || b->out->n < (size_t)s->requests) && db_arrival_next(&g, &t) == 0) {
        if (s->duration_s > 0 && t > s->duration_s) break;
        if (push(b, t)) return -1;
    }
    return 0;
}

static int fixed_times(build *b) {
    int64_t n = b->spec->requests;
    if (n == 0 && b->trace_path) n = (int64_t)b->trace.n;
    if (n == 0)
        return db_errf(b->err, b->errlen,
                       "--arrival %s: expected --requests N (or a trace to take one request per "
                       "row); --duration does not bound an offline or closed-loop schedule",
                       b->arrival_text);
    for (int64_t i = 0; i < n; i++)
        if (push(b, 0.0)) return -1;
    return 0;
}

/* Fits one request with prompt + output > max (max >= 2) to the context (see workload.h). */
static void fit_to_context(db_schedule_item *it, int64_t max, db_fit_mode mode) {
    int64_t p = it->prompt_tokens, o = it->output_tokens;
    if (mode == DB_FIT_SCALE) {
        p = llround((double)p * (double)max / (double)(p + o));
        if (p < 1) p = 1;
    }
    if (p > max - 1) p = max - 1;
    if (o > max - p) o = max - p;
    it->prompt_tokens = (int32_t)p;
    it->output_tokens = (int32_t)o;
}

static void fill_lengths(build *b) {
    const int64_t max = b->spec->max_total_tokens;
    size_t rows = b->trace.n;
    for (size_t i = 0; i < b->out->n; i++) {
        db_schedule_item *it = &b->out->items[i];
        size_t row = rows ? i % rows : 0; /* rows is 0 only when both sides have a spec */
        it->prompt_tokens =
            b->prompt ? db_length_sample(b->prompt, &b->prompt_rng) : b->trace.prompt_tokens[row];
        it->output_tokens =
            b->output ? db_length_sample(b->output, &b->output_rng) : b->trace.output_tokens[row];
        if ((!b->prompt || !b->output) && i >= rows) b->info.wrapped++;
        if (max > 0 && (int64_t)it->prompt_tokens + it->output_tokens > max) {
            fit_to_context(it, max, b->spec->fit_mode);
            b->info.clamped++;
        }
    }
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void describe(build *b) {
    char *d = b->out->description;
    size_t cap = sizeof b->out->description;
    const db_workload_spec *s = b->spec;
    if (b->trace_path && !b->prompt && !b->output)
        snprintf(d, cap, "trace:%s lengths, %s", base_name(b->trace_path), b->arrival_text);
    else if (b->trace_path)
        snprintf(d, cap, "prompt %s, output %s (trace:%s), %s",
                 s->prompt_len ? s->prompt_len : "trace", s->output_len ? s->output_len : "trace",
                 base_name(b->trace_path), b->arrival_text);
    else
        snprintf(d, cap, "prompt %s, output %s, %s", s->prompt_len, s->output_len, b->arrival_text);
}

static int make_times(build *b) {
    if (b->arrival.kind == DB_ARRIVAL_TRACE) return trace_times(b);
    if (db_arrival_is_generated(&b->arrival)) return generated_times(b);
    return fixed_times(b);
}

int db_workload_build_info(const db_workload_spec *spec, db_schedule *out, db_workload_info *info,
                           char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    if (check_numbers(spec, err, errlen)) return -1;
    build b = {.spec = spec, .out = out, .err = err, .errlen = errlen};
    db_rng_seed(&b.prompt_rng, db_rng_stream_seed(spec->seed, STREAM_PROMPT));
    db_rng_seed(&b.output_rng, db_rng_stream_seed(spec->seed, STREAM_OUTPUT));
    int rc = load_inputs(&b);
    if (rc == 0) rc = make_times(&b);
    if (rc == 0 && out->n == 0)
        rc =
            db_errf(err, errlen, "--arrival %s with --duration %g: no request arrives in that time",
                    b.arrival_text, spec->duration_s);
    if (rc == 0) {
        fill_lengths(&b);
        out->mode = b.arrival.kind == DB_ARRIVAL_CONCURRENCY ? DB_ARRIVAL_CLOSED : DB_ARRIVAL_OPEN;
        out->concurrency = b.arrival.concurrency;
        out->think_s = b.arrival.think_s;
        out->seed = spec->seed;
        describe(&b);
        if (info) *info = b.info;
    } else {
        db_schedule_free(out);
    }
    db_length_source_free(b.prompt);
    db_length_source_free(b.output);
    db_trace_free(&b.trace);
    return rc;
}

int db_workload_build(const db_workload_spec *spec, db_schedule *out, char *err, size_t errlen) {
    return db_workload_build_info(spec, out, NULL, err, errlen);
}
