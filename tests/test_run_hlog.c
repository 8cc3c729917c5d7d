/* test_run_hlog.c — latency.hlog of a whole run, end to end: the run loop on the sim backend (virtual
 * clock), the recorder with a warmup, a cooldown and 500 ms interval histograms, the run report,
 * and the file read back through the .hlog reader. The log is a time series whose intervals tile
 * the window, and adding its intervals per tag gives the window histogram's count and max (the
 * numbers summary.json and the .hgrm tables report).
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "hdr.h"
#include "metrics.h"
#include "model.h"
#include "run.h"
#include "run_report.h"

#define START_EPOCH_S 1700000000.0
#define INTERVAL_NS INT64_C(500000000)

typedef struct fixture {
    char dir[64];
    db_metrics *m;
} fixture;

static db_engine *open_tiny(void) {
    db_engine_opts o;
    db_engine_opts_default(&o);
    o.backend = DB_BACKEND_SIM;
    assert_int_equal(db_model_preset("tiny", &o.model), 0);
    o.precision = DB_PREC_BF16;
    o.kv_dtype = DB_KV_BF16;
    o.kv_tokens = 8192;
    o.sim_device = "h100-sxm";
    o.sim_step_overhead_s = -1.0;
    db_engine *e = NULL;
    db_error err;
    if (db_engine_open(&o, &e, &err) != DB_OK) fail_msg("open: %s", err.msg);
    return e;
}

/* 200 requests, one every 25 ms (5 s of arrivals), prompts 16..79 and outputs 1..24 tokens (some
 * 1-token requests, which have no TPOT); warmup 1 s, cooldown 1 s, 500 ms intervals. */
static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/db_test_run_hlog_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    enum { N = 200 };
    db_schedule s = {.items = calloc(N, sizeof *s.items), .n = N, .mode = DB_ARRIVAL_OPEN};
    for (int i = 0; i < N; i++)
        s.items[i] = (db_schedule_item){i * 0.025, 16 + (i * 37) % 64, 1 + (i * 11) % 24};
    db_run_opts ro;
    db_run_opts_default(&ro);
    ro.clock = DB_CLOCK_VIRTUAL;
    db_metrics_config mc = {.warmup_ns = INT64_C(1000000000),
                            .cooldown_ns = INT64_C(1000000000),
                            .interval_ns = INTERVAL_NS};
    char msg[256];
    if (db_metrics_create(&mc, &f->m, msg, sizeof msg) != 0) return -1;
    db_engine *e = open_tiny();
    db_run_stats st;
    db_error err;
    db_status rc = db_run(e, &s, &ro, f->m, &st, &err);
    db_engine_close(e);
    free(s.items);
    if (rc != DB_OK) {
        fprintf(stderr, "run: %s\n", err.msg);
        return -1;
    }
    db_run_info info = {"test", true, START_EPOCH_S, NULL};
    if (db_report_write_run(f->dir, f->m, &info, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(f->dir);
    db_metrics_free(f->m);
    free(f);
    return 0;
}

static const char *const TAGS[] = {"TTFT", "TPOT", "ITL", "E2E", "QUEUE"};
static const db_latency KINDS[] = {DB_LAT_TTFT, DB_LAT_TPOT, DB_LAT_ITL, DB_LAT_E2E, DB_LAT_QUEUE};
enum { N_TAGS = 5 };

static int tag_slot(const char *tag) {
    for (int i = 0; i < N_TAGS; i++)
        if (tag && !strcmp(tag, TAGS[i])) return i;
    fail_msg("unexpected tag '%s'", tag ? tag : "(none)");
    return -1;
}

/* Calls fn on every interval of the run's latency.hlog, in file order. */
static void each_interval(const fixture *f, void (*fn)(void *, const db_hdr_log_interval *),
                          void *ctx) {
    char path[128], msg[256];
    snprintf(path, sizeof path, "%s/latency.hlog", f->dir);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, in, path), DB_HDR_OK);
    db_hdr_log_interval iv;
    int rc;
    while ((rc = db_hdr_log_reader_next(&r, &iv, msg, sizeof msg)) == 1) {
        assert_float_equal(iv.abs_start_s - iv.start_s, START_EPOCH_S, 1e-6); /* BaseTime */
        fn(ctx, &iv);
        db_hdr_close(&iv.hist);
    }
    if (rc != 0) fail_msg("%s", msg);
    db_hdr_log_reader_close(&r);
    fclose(in);
}

typedef struct sums {
    db_hdr sum[N_TAGS];
    int lines;
} sums;

static void add_interval(void *ctx, const db_hdr_log_interval *iv) {
    sums *s = ctx;
    s->lines++;
    assert_true(iv->hist.total_count > 0); /* intervals without a sample are left out */
    assert_int_equal(db_hdr_add(&s->sum[tag_slot(iv->tag)], &iv->hist), 0);
}

/* Per tag, the intervals add up to the window histogram: same total count, same max, and the same
 * counts index by index; the window excluded the warmup and cooldown requests the same way. */
static void intervals_add_up_to_the_window_histograms_per_tag(void **state) {
    fixture *f = *state;
    const db_metrics_summary *s = db_metrics_summary_get(f->m);
    assert_true(s->excluded_warmup == 40 && s->excluded_cooldown == 40); /* 1 s / 25 ms each */
    sums acc = {0};
    for (int i = 0; i < N_TAGS; i++)
        assert_int_equal(db_hdr_init(&acc.sum[i], DB_METRICS_HDR_LOWEST, DB_METRICS_HDR_HIGHEST,
                                     DB_METRICS_HDR_SIG_FIGS),
                         DB_HDR_OK);
    each_interval(f, add_interval, &acc);
    assert_true(acc.lines > 2 * N_TAGS); /* a time series, not one line per tag */
    for (int i = 0; i < N_TAGS; i++) {
        const db_hdr *window = db_metrics_histogram(f->m, KINDS[i]);
        assert_int_equal(acc.sum[i].total_count, s->latency[KINDS[i]].count);
        assert_int_equal(acc.sum[i].total_count, window->total_count);
        assert_int_equal(db_hdr_max(&acc.sum[i]), db_hdr_max(window));
        assert_int_equal(db_hdr_max(&acc.sum[i]), s->latency[KINDS[i]].max_ns);
        assert_memory_equal(acc.sum[i].counts, window->counts,
                            sizeof *window->counts * (size_t)window->counts_len);
        db_hdr_close(&acc.sum[i]);
    }
}

typedef struct timing {
    double window_start_s, span_end_s;
    double last_start_s; /* start of the previous line's interval */
    int seen_in_interval; /* bit per tag seen at last_start_s */
    int last_slot;
    double end_s; /* the latest interval end */
} timing;

static void check_timing(void *ctx, const db_hdr_log_interval *iv) {
    timing *t = ctx;
    int slot = tag_slot(iv->tag);
    double offset = iv->start_s - t->window_start_s;
    double k = round(offset / 0.5);
    assert_float_equal(offset, k * 0.5, 0.0015); /* a 500 ms boundary (3-decimal timestamps) */
    if (iv->start_s > t->last_start_s + 0.0005) {
        t->seen_in_interval = 0;
        t->last_slot = -1;
    } else {
        assert_float_equal(iv->start_s, t->last_start_s, 0.0005); /* never back in time */
        assert_true(slot > t->last_slot); /* tags in file order: TTFT TPOT ITL E2E QUEUE */
    }
    t->seen_in_interval |= 1 << slot;
    t->last_slot = slot;
    t->last_start_s = iv->start_s;
    double end = iv->start_s + iv->length_s;
    if (end < t->span_end_s - 0.0015)
        assert_float_equal(iv->length_s, 0.5, 0.0005); /* every interval but the last */
    else
        assert_float_equal(end, t->span_end_s, 0.0015); /* the last ends at the span end */
    if (end > t->end_s) t->end_s = end;
}

/* Lines start on 500 ms boundaries counted from the window start (relative to BaseTime = run time
 * 0), in time order, tags in file order within an interval; each is 500 ms long except the last,
 * which ends at the span end. */
static void intervals_are_500ms_steps_from_the_window_start_in_time_order(void **state) {
    fixture *f = *state;
    const db_metrics_summary *s = db_metrics_summary_get(f->m);
    timing t = {.window_start_s = (double)s->window_start_ns * 1e-9,
                .span_end_s = (double)s->span_end_ns * 1e-9,
                .last_start_s = -1,
                .last_slot = -1};
    assert_float_equal(t.window_start_s, 1.0, 1e-9); /* the warmup */
    each_interval(f, check_timing, &t);
    assert_float_equal(t.end_s, t.span_end_s, 0.0015);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intervals_add_up_to_the_window_histograms_per_tag),
        cmocka_unit_test(intervals_are_500ms_steps_from_the_window_start_in_time_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
