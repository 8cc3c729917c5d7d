/* tests/test_hdr_interop.c — interchange with hdr-histogram-js 3 (npm), a port of the Java
 * reference. Both directions: node decodes our base64 blobs and .hlog files to the same totals,
 * percentiles, mean and stddev; node encodes histograms (its headers write normalizing offset 1 and
 * an integer ratio) and .hlog files that we decode to the same numbers; its .hgrm table matches
 * ours line for line; node reads the periodic latency.hlog of a real sim run interval for interval as
 * we do. The node side is tests/hdr_interop.js. Skipped (exit 77) when node or the
 * module is missing. Random histograms draw a fresh seed each run and print it; DB_HDR_SEED=<n>
 * replays one. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../harness/hdr.h"

enum { N_PCT = 6 };
static const double PERCENTILES[N_PCT] = {0, 50, 90, 99, 99.9, 100}; /* as in hdr_interop.js */

typedef struct interop {
    char node[1024];
    char script[1024];
    char dir[1024]; /* temporary directory for blobs and logs */
    uint64_t seed;
} interop;

typedef struct stats {
    int64_t total;
    int64_t pct[N_PCT];
    double mean, stddev;
} stats;

/* ---- environment ----------------------------------------------------------------------------- */

static bool find_on_path(const char *name, char *out, size_t cap) {
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, cap, "%.*s/%s", (int)len, path, name);
        if (len > 0 && access(out, X_OK) == 0) return true;
        path = end ? end + 1 : NULL;
    }
    return false;
}

static uint64_t fresh_seed(void) {
    const char *env = getenv("DB_HDR_SEED");
    if (env && *env) return strtoull(env, NULL, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20) &
           0xffffffffu;
}

/* ---- running node ---------------------------------------------------------------------------- */

/* Single-quote s for the shell. */
static void quote(char *out, size_t cap, const char *s) {
    size_t o = 0;
    out[o++] = '\'';
    for (; *s && o + 5 < cap; s++) {
        if (*s == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *s;
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* Run `node hdr_interop.js ARGS...` and return its stdout (malloc'ed); fails the test on non-zero
 * exit. */
static char *run_node(const interop *io, const char *cmd, const char *a, const char *b) {
    char qn[2100], qs[2100], qa[2100], qb[2100], line[8800];
    quote(qn, sizeof qn, io->node);
    quote(qs, sizeof qs, io->script);
    quote(qa, sizeof qa, a);
    quote(qb, sizeof qb, b ? b : "");
    snprintf(line, sizeof line, "%s %s %s %s %s", qn, qs, cmd, qa, qb);
    FILE *p = popen(line, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 4096) out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    int status = pclose(p);
    if (status != 0) fail_msg("node %s %s failed (status %d): %s", cmd, a, status, out);
    return out;
}

/* Parse "<total> <p0> ... <p100> <mean> <stddev>" starting at s; returns the end of what was read.
 */
static char *parse_stats(char *s, stats *st) {
    char *end;
    st->total = (int64_t)strtod(s, &end);
    for (int i = 0; i < N_PCT; i++)
        st->pct[i] = (int64_t)strtod(end, &end);
    st->mean = strtod(end, &end);
    st->stddev = strtod(end, &end);
    return end;
}

static void compare_stats(const db_hdr *h, const stats *node, const char *what, int index) {
    if (h->total_count != node->total)
        fail_msg("%s %d: total ours %lld, node %lld", what, index, (long long)h->total_count,
                 (long long)node->total);
    for (int i = 0; i < N_PCT; i++) {
        int64_t ours = db_hdr_value_at_percentile(h, PERCENTILES[i]);
        if (ours != node->pct[i])
            fail_msg("%s %d: p%g ours %lld, node %lld", what, index, PERCENTILES[i],
                     (long long)ours, (long long)node->pct[i]);
    }
    double tol_mean = 1e-9 * (node->mean > 1 ? node->mean : 1);
    double tol_sd = 1e-9 * (node->stddev > 1 ? node->stddev : 1);
    assert_float_equal(db_hdr_mean(h), node->mean, tol_mean);
    assert_float_equal(db_hdr_stddev(h), node->stddev, tol_sd);
}

/* ---- our random histograms (values below 2^40 so node's doubles hold them exactly) ----------- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void random_histogram(db_hdr *h, uint64_t *rng) {
    int sig = 1 + (int)(rng_next(rng) % 5);
    int64_t lowest = 1 + (int64_t)(rng_next(rng) % 2000);
    /* node walks every count for each statistic: keep 4- and 5-digit layouts to a few buckets */
    int range_bits = sig >= 4 ? 12 + (int)(rng_next(rng) % 8) : 12 + (int)(rng_next(rng) % 24);
    int64_t highest = 2 * lowest + (int64_t)(rng_next(rng) % ((uint64_t)1 << range_bits));
    assert_int_equal(db_hdr_init(h, lowest, highest, sig), DB_HDR_OK);
    int n = (int)(rng_next(rng) % 400);
    for (int i = 0; i < n; i++) {
        int bits = 1 + (int)(rng_next(rng) % 40);
        int64_t v = (int64_t)(rng_next(rng) >> (64 - bits)) % highest;
        int64_t count = rng_next(rng) % 10 == 0 ? 1 + (int64_t)(rng_next(rng) % 100000) : 1;
        assert_true(db_hdr_record_n(h, v, count));
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void node_decodes_our_blobs(void **state) {
    interop *io = *state;
    enum { N = 15 };
    db_hdr hs[N];
    uint64_t rng = io->seed;
    char path[1100];
    snprintf(path, sizeof path, "%s/blobs.txt", io->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < N; i++) {
        random_histogram(&hs[i], &rng);
        char *b64;
        assert_int_equal(db_hdr_encode_base64(&hs[i], &b64), DB_HDR_OK);
        fprintf(f, "%s\n", b64);
        free(b64);
    }
    fclose(f);
    char *out = run_node(io, "decode", path, NULL);
    char *line = out;
    for (int i = 0; i < N; i++) {
        stats st;
        assert_true(*line != '\0');
        line = parse_stats(line, &st);
        compare_stats(&hs[i], &st, "our blob", i);
        db_hdr_close(&hs[i]);
    }
    free(out);
}

static void we_decode_node_blobs(void **state) {
    interop *io = *state;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)io->seed);
    char *out = run_node(io, "encode", seed, "15");
    int n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
        char *space = strchr(line, ' ');
        assert_non_null(space);
        *space = '\0';
        stats st;
        parse_stats(space + 1, &st);
        db_hdr h;
        char msg[256];
        int rc = db_hdr_decode_base64(line, strlen(line), &h, msg, sizeof msg);
        if (rc != DB_HDR_OK) fail_msg("node blob %d (seed %s): %s", n, seed, msg);
        compare_stats(&h, &st, "node blob", n);
        db_hdr_close(&h);
    }
    assert_int_equal(n, 15);
    free(out);
}

/* Intervals every 2.5 s from StartTime 1700000000.5; with_base adds BaseTime 1700000000. */
static void node_reads_our_hlog_case(interop *io, bool with_base) {
    const double start = 1700000000.5, base = 1700000000.0;
    const char *tags[] = {"TTFT", "TPOT", NULL};
    enum { N = 6 };
    db_hdr hs[N];
    uint64_t rng = io->seed ^ (with_base ? 0x5bd1e995u : 0);
    char path[1100];
    snprintf(path, sizeof path, "%s/ours%d.hlog", io->dir, with_base);
    FILE *f = fopen(path, "w");
    db_hdr_log_writer w;
    assert_int_equal(db_hdr_log_writer_open(&w, f, start, with_base ? base : -1), DB_HDR_OK);
    for (int i = 0; i < N; i++) {
        random_histogram(&hs[i], &rng);
        assert_int_equal(db_hdr_log_write_interval(&w, tags[i % 3], start + 2.5 * i, 2.5, &hs[i]),
                         DB_HDR_OK);
    }
    assert_int_equal(fclose(f), 0);
    char *out = run_node(io, "hlog", path, NULL);
    char *line = out;
    for (int i = 0; i < N; i++) {
        char tag[64];
        int used = 0;
        double start_ms, end_ms;
        assert_int_equal(sscanf(line, "%63s %lf %lf%n", tag, &start_ms, &end_ms, &used), 3);
        assert_string_equal(tag, tags[i % 3] ? tags[i % 3] : "-");
        /* timestamps are written with 3 decimals: within a millisecond */
        assert_float_equal(start_ms, (start + 2.5 * i) * 1000.0, 1.0);
        assert_float_equal(end_ms, (start + 2.5 * (i + 1)) * 1000.0, 1.0);
        stats st;
        line = parse_stats(line + used, &st);
        compare_stats(&hs[i], &st, "our hlog interval", i);
        db_hdr_close(&hs[i]);
    }
    free(out);
}

static void node_reads_our_hlog_with_base_time(void **state) {
    node_reads_our_hlog_case(*state, true);
}

static void node_reads_our_hlog_relative_to_start_time(void **state) {
    node_reads_our_hlog_case(*state, false);
}

/* hdr-histogram-js's writer: StartTime 1700000000, padded relative timestamps, blank line, tags. */
static void we_read_node_hlog(void **state) {
    interop *io = *state;
    char seed[32], path[1100];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)io->seed);
    snprintf(path, sizeof path, "%s/node.hlog", io->dir);
    char *out = run_node(io, "write-hlog", seed, path);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, f, path), DB_HDR_OK);
    int n = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
        char tag[64];
        int used = 0;
        double start_s, length_s;
        assert_int_equal(sscanf(line, "%63s %lf %lf%n", tag, &start_s, &length_s, &used), 3);
        stats st;
        parse_stats(line + used, &st);
        db_hdr_log_interval iv;
        char msg[512];
        int rc = db_hdr_log_reader_next(&r, &iv, msg, sizeof msg);
        if (rc != 1) fail_msg("interval %d of node's log: %s", n, rc < 0 ? msg : "missing");
        assert_string_equal(iv.tag ? iv.tag : "-", tag);
        assert_float_equal(iv.start_s, start_s, 0.0005);
        assert_float_equal(iv.abs_start_s, 1700000000.0 + start_s, 0.0005);
        assert_float_equal(iv.length_s, length_s, 0.0005);
        compare_stats(&iv.hist, &st, "node hlog interval", n);
        db_hdr_close(&iv.hist);
    }
    assert_int_equal(n, 6);
    db_hdr_log_reader_close(&r);
    fclose(f);
    free(out);
}

/* Remove the files of dir (one level), then dir. */
static void remove_run_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1400];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* The periodic latency.hlog of a real run (`decodebench run --backend sim`, 500 ms intervals after a
 * 1 s warmup): node's HistogramLogReader finds the same intervals as ours, in the same order, with
 * the same tag, start and end (ms since the epoch) and the same count, percentiles, mean and
 * stddev. Skipped when $DECODEBENCH (the binary, set by CTest) is not there. */
static void node_reads_a_periodic_run_log_as_we_do(void **state) {
    interop *io = *state;
    const char *bin = getenv("DECODEBENCH");
    if (!bin || access(bin, X_OK) != 0) skip();
    char run[1100], cmd[4400], qb[2100], qr[2100], path[1200];
    snprintf(run, sizeof run, "%s/run", io->dir);
    quote(qb, sizeof qb, bin);
    quote(qr, sizeof qr, run);
    snprintf(cmd, sizeof cmd,
             "%s run --backend sim --model llama2-7b --arrival poisson:20 --requests 150 --seed 5 "
             "--warmup 1s --hlog-interval 500ms --out %s --quiet >/dev/null",
             qb, qr);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/latency.hlog", run);
    char *out = run_node(io, "hlog", path, NULL);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    db_hdr_log_reader r;
    assert_int_equal(db_hdr_log_reader_open(&r, f, path), DB_HDR_OK);
    int n = 0;
    double prev_start = -1;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), n++) {
        char tag[64], msg[512];
        int used = 0;
        double start_ms, end_ms;
        assert_int_equal(sscanf(line, "%63s %lf %lf%n", tag, &start_ms, &end_ms, &used), 3);
        stats st;
        parse_stats(line + used, &st);
        db_hdr_log_interval iv;
        int rc = db_hdr_log_reader_next(&r, &iv, msg, sizeof msg);
        if (rc != 1) fail_msg("interval %d of our log: %s", n, rc < 0 ? msg : "missing");
        assert_string_equal(iv.tag ? iv.tag : "-", tag);
        assert_float_equal(start_ms, iv.abs_start_s * 1e3, 0.01);
        assert_float_equal(end_ms, (iv.abs_start_s + iv.length_s) * 1e3, 0.01);
        assert_true(iv.hist.total_count > 0);
        compare_stats(&iv.hist, &st, "run log interval", n);
        assert_true(iv.start_s >= prev_start); /* a time series, in order */
        prev_start = iv.start_s;
        db_hdr_close(&iv.hist);
    }
    db_hdr_log_interval iv;
    char msg[512];
    assert_int_equal(db_hdr_log_reader_next(&r, &iv, msg, sizeof msg), 0); /* node saw them all */
    /* 150 requests at 20/s after a 1 s warmup: about 6.5 s of window, so 13 or more intervals */
    if (n < 5 * 12) fail_msg("only %d intervals in the run's log; expected a 500 ms time series", n);
    db_hdr_log_reader_close(&r);
    fclose(f);
    free(out);
    remove_run_dir(run);
}

/* Our .hgrm table equals hdr-histogram-js's outputPercentileDistribution(5, scale), line by line.
 */
static void percentile_table_matches_node(void **state) {
    interop *io = *state;
    uint64_t rng = io->seed ^ 0xa5a5a5a5u;
    for (int round = 0; round < 6; round++) {
        db_hdr h;
        random_histogram(&h, &rng);
        if (h.total_count == 0) assert_true(db_hdr_record(&h, h.lowest));
        char *b64, path[1100];
        assert_int_equal(db_hdr_encode_base64(&h, &b64), DB_HDR_OK);
        snprintf(path, sizeof path, "%s/hgrm.txt", io->dir);
        write_file(path, b64);
        free(b64);
        const char *scale = round % 2 ? "1000000" : "1";
        char *theirs = run_node(io, "hgrm", path, scale);
        FILE *f = tmpfile();
        assert_int_equal(db_hdr_write_percentiles(f, &h, 5, strtod(scale, NULL)), DB_HDR_OK);
        long len = ftell(f);
        rewind(f);
        char *ours = calloc((size_t)len + 1, 1);
        assert_int_equal(fread(ours, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        char *sa, *sb;
        char *a = strtok_r(ours, "\n", &sa), *b = strtok_r(theirs, "\n", &sb);
        for (int ln = 1; a || b;
             ln++, a = strtok_r(NULL, "\n", &sa), b = strtok_r(NULL, "\n", &sb)) {
            /* The port prints its raw maxValue on the Max line (spec/hdr.md, Interop peer); Java
             * and we print the highest equivalent value, so only the rest of that line is compared.
             */
            if (a && b && strncmp(a, "#[Max", 5) == 0 && strncmp(b, "#[Max", 5) == 0) {
                a = strstr(a, ", Total count");
                b = strstr(b, ", Total count");
                assert_non_null(a);
                assert_non_null(b);
            }
            if (!a || !b || strcmp(a, b) != 0)
                fail_msg("round %d (scale %s) line %d:\n ours: %s\n node: %s", round, scale, ln,
                         a ? a : "(end)", b ? b : "(end)");
        }
        free(ours);
        free(theirs);
        db_hdr_close(&h);
    }
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int setup(void **state) {
    static interop io;
    const char *src = getenv("DB_SOURCE_DIR");
    if (!src || !*src) {
        fprintf(stderr,
                "DB_SOURCE_DIR is not set (CTest sets it): cannot find tests/hdr_interop.js\n");
        return -1;
    }
    snprintf(io.script, sizeof io.script, "%s/tests/hdr_interop.js", src);
    const char *tmp = getenv("TMPDIR");
    snprintf(io.dir, sizeof io.dir, "%s/db_hdr_interop_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(io.dir)) {
        fprintf(stderr, "cannot create a temporary directory under %s\n",
                tmp && *tmp ? tmp : "/tmp");
        return -1;
    }
    io.seed = fresh_seed();
    if (!find_on_path("node", io.node, sizeof io.node)) return -1; /* checked in main before */
    printf("hdr interop: seed %llu (DB_HDR_SEED=%llu replays it), files in %s\n",
           (unsigned long long)io.seed, (unsigned long long)io.seed, io.dir);
    *state = &io;
    return 0;
}

static int teardown(void **state) {
    interop *io = *state;
    const char *names[] = {"blobs.txt", "ours0.hlog", "ours1.hlog", "node.hlog", "hgrm.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", io->dir, names[i]);
        unlink(path);
    }
    rmdir(io->dir);
    return 0;
}

int main(void) {
    char node[1024], pkg[1100];
    if (!find_on_path("node", node, sizeof node)) {
        printf("node is not on PATH: interop with hdr-histogram-js skipped\n");
        return 77;
    }
    const char *modules = getenv("DB_NODE_MODULES");
    struct stat sb;
    snprintf(pkg, sizeof pkg, "%s/hdr-histogram-js/package.json", modules ? modules : "");
    if (!modules || !*modules || stat(pkg, &sb) != 0) {
        printf("hdr-histogram-js not found (DB_NODE_MODULES=%s; ci/setup installs it): "
               "interop skipped\n",
               modules ? modules : "(unset)");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_decodes_our_blobs),
        cmocka_unit_test(we_decode_node_blobs),
        cmocka_unit_test(node_reads_our_hlog_with_base_time),
        cmocka_unit_test(node_reads_our_hlog_relative_to_start_time),
        cmocka_unit_test(we_read_node_hlog),
        cmocka_unit_test(percentile_table_matches_node),
        cmocka_unit_test(node_reads_a_periodic_run_log_as_we_do),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
