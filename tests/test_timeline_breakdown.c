/* kernels.csv (reports/timeline_kernels.h) and the step-time breakdown computed from it
 * (reports/timeline_breakdown.h), on a hand-written kernels.csv whose every figure is derived
 * below: per-class time, share of step time, achieved FLOP/s and bytes/s, roofline bound and
 * fraction of ceiling, kernels outside the steps, per (step, op) points; the CSV round trip
 * (quoted demangled names, exact ns) and read errors that name the line and column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "timeline_breakdown.h"
#include "timeline_kernels.h"

#define HEADER                                                                                     \
    "step,op,name,demangled,start_s,end_s,duration_us,grid_x,grid_y,grid_z,block_x,block_y,"       \
    "block_z,registers_per_thread,static_shared_bytes,dynamic_shared_bytes,stream,graph_id,"       \
    "graph_node_id,correlation_id,mangled_name\n"

/* Step 0 runs 0..200 us, step 1 200..380 us. Step 0: embedding 10 us, qkv 100 us, attention 50
 * us, a kernel outside any op range 5 us; step 1: qkv 100 us, attention 60 us. Two kernels belong
 * to no given step: weight generation (step -1) and one of step 5. */
static const char hand_csv[] =
    HEADER "0,embedding,\"embed<float, int>\",1,0.000010000,0.000020000,10.000,8,1,1,256,1,1,32,0,"
           "0,7,0,0,101,_Z5embedIfiEvv\n"
           "0,qkv,sm90_gemm,0,0.000020000,0.000120000,100.000,132,1,1,384,1,1,168,0,200704,7,0,0,"
           "102,sm90_gemm\n"
           "0,attention,decode_attn,0,0.000120000,0.000170000,50.000,32,8,1,128,1,1,64,4096,0,7,"
           "0,0,103,decode_attn\n"
           "0,,memset,0,0.000170000,0.000175000,5.000,1,1,1,32,1,1,8,0,0,7,0,0,104,memset\n"
           "1,qkv,sm90_gemm,0,0.000200000,0.000300000,100.000,132,1,1,384,1,1,168,0,200704,7,3,"
           "41,105,sm90_gemm\n"
           "1,attention,decode_attn,0,0.000300000,0.000360000,60.000,32,8,1,128,1,1,64,4096,0,7,3,"
           "42,105,decode_attn\n"
           "-1,,synth_weights,0,0.000000000,0.001000000,1000.000,1,1,1,1,1,1,1,0,0,0,0,0,1,w\n"
           "5,qkv,sm90_gemm,0,0.100000000,0.100007000,7.000,1,1,1,1,1,1,1,0,0,7,0,0,900,g\n";

typedef struct collected {
    db_breakdown_kernel k[16];
    size_t n;
    char names[16][64];
    int64_t start[16];
} collected;

static int collect(void *ctx, const db_kernel_row *r) {
    collected *c = ctx;
    assert_true(c->n < 16);
    c->k[c->n] =
        (db_breakdown_kernel){r->step, db_breakdown_op_index(r->op), r->end_ns - r->start_ns};
    snprintf(c->names[c->n], sizeof c->names[c->n], "%s", r->name);
    c->start[c->n] = r->start_ns;
    c->n++;
    return 0;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_hand_csv(collected *c) {
    char path[] = "/tmp/db_kernels_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, hand_csv);
    memset(c, 0, sizeof *c);
    char err[256];
    if (db_kernels_csv_read(path, collect, c, err, sizeof err)) fail_msg("%s", err);
    unlink(path);
}

/* Per step: qkv 1e7 FLOP / 5e7 B, attention 4e6 / 2e7, norm (the embedding gather) 1e5 / 1e6. */
static void hand_steps(db_breakdown_step s[2]) {
    memset(s, 0, 2 * sizeof *s);
    for (int i = 0; i < 2; i++) {
        s[i].index = i;
        s[i].duration_ns = i == 0 ? 200000 : 180000;
        s[i].flops[DB_OP_QKV] = 1e7;
        s[i].bytes[DB_OP_QKV] = 5e7;
        s[i].flops[DB_OP_ATTN] = 4e6;
        s[i].bytes[DB_OP_ATTN] = 2e7;
        s[i].flops[DB_OP_NORM] = 1e5;
        s[i].bytes[DB_OP_NORM] = 1e6;
    }
}

/* 1 TFLOP/s for every class, 1 TB/s. */
static db_breakdown_peaks hand_peaks(void) {
    db_breakdown_peaks p = {.bytes_per_s = 1e12};
    for (int i = 0; i < DB_BREAKDOWN_OPS; i++)
        p.flops_per_s[i] = 1e12;
    return p;
}

static void near(double got, double want) {
    if (fabs(got - want) > 1e-9 * fabs(want) + 1e-15) fail_msg("got %.12g, want %.12g", got, want);
}

static void breakdown_rows_follow_the_hand_derivation(void **state) {
    (void)state;
    collected c;
    read_hand_csv(&c);
    assert_int_equal(c.n, 8);
    db_breakdown_step s[2];
    hand_steps(s);
    db_breakdown_peaks p = hand_peaks();
    db_breakdown b;
    assert_int_equal(db_breakdown_compute(c.k, c.n, s, 2, &p, &b), 0);
    near(b.step_s, 380e-6);
    const db_breakdown_row *q = &b.row[DB_OP_QKV];
    assert_int_equal(q->kernels, 2);
    near(q->kernel_s, 200e-6);
    near(q->share, 200.0 / 380.0);
    near(q->achieved_flops_per_s, 2e7 / 200e-6); /* 1e11 */
    near(q->achieved_bytes_per_s, 1e8 / 200e-6); /* 5e11 */
    near(q->arithmetic_intensity, 0.2);
    near(q->bound_s, 1e-4);            /* max(2e7 / 1e12, 1e8 / 1e12) */
    near(q->fraction_of_ceiling, 0.5); /* 100 us of 200 us */
    const db_breakdown_row *a = &b.row[DB_OP_ATTN];
    near(a->kernel_s, 110e-6);
    near(a->fraction_of_ceiling, 40.0 / 110.0); /* bound max(8e-6, 4e-5) = 40 us */
    const db_breakdown_row *n = &b.row[DB_OP_NORM];
    assert_int_equal(n->kernels, 1);   /* the embedding gather */
    near(n->fraction_of_ceiling, 0.2); /* bound 2e6 B / 1e12 = 2 us of 10 us */
    const db_breakdown_row *o = &b.row[DB_BREAKDOWN_OTHER];
    assert_int_equal(o->kernels, 1);
    near(o->kernel_s, 5e-6);
    near(o->fraction_of_ceiling, -1.0); /* no cost, no bound */
    near(b.kernel_s, 325e-6);
    near(b.gap_s, 55e-6);
    near(b.gap_share, 55.0 / 380.0);
    assert_int_equal(b.kernels_outside, 2);
}

static void without_peaks_there_is_no_bound_or_fraction(void **state) {
    (void)state;
    collected c;
    read_hand_csv(&c);
    db_breakdown_step s[2];
    hand_steps(s);
    db_breakdown b;
    assert_int_equal(db_breakdown_compute(c.k, c.n, s, 2, NULL, &b), 0);
    near(b.row[DB_OP_QKV].bound_s, -1.0);
    near(b.row[DB_OP_QKV].fraction_of_ceiling, -1.0);
    near(b.row[DB_OP_QKV].achieved_flops_per_s, 1e11);
}

static void unsorted_steps_are_refused(void **state) {
    (void)state;
    db_breakdown_step s[2];
    hand_steps(s);
    s[1].index = 0;
    db_breakdown b;
    assert_int_equal(db_breakdown_compute(NULL, 0, s, 2, NULL, &b), -1);
}

/* One point per (step, class) that ran kernels: (0, qkv), (0, attention), (0, norm), (1, qkv),
 * (1, attention); "other" has no cost and no point. */
static void points_are_one_per_step_and_class(void **state) {
    (void)state;
    collected c;
    read_hand_csv(&c);
    db_breakdown_step s[2];
    hand_steps(s);
    db_breakdown_point *pts = NULL;
    size_t n = 0;
    assert_int_equal(db_breakdown_points(c.k, c.n, s, 2, &pts, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(pts[0].step, 0);
    assert_int_equal(pts[0].op, DB_OP_QKV);
    near(pts[0].kernel_s, 100e-6);
    near(pts[0].achieved_flops_per_s, 1e7 / 100e-6);
    near(pts[0].arithmetic_intensity, 0.2);
    assert_int_equal(pts[2].op, DB_OP_NORM);
    assert_int_equal(pts[4].step, 1);
    assert_int_equal(pts[4].op, DB_OP_ATTN);
    near(pts[4].kernel_s, 60e-6);
    free(pts);
}

/* The breakdown's class order is the cost model's (engine.h db_op_class). */
static void op_rows_are_in_db_op_class_order(void **state) {
    (void)state;
    for (int i = 0; i < DB_OP_COUNT; i++)
        assert_string_equal(db_breakdown_op_name(i), db_op_class_name((db_op_class)i));
    assert_int_equal(DB_BREAKDOWN_OPS, DB_OP_COUNT);
    assert_int_equal(db_breakdown_op_index("embedding"), DB_OP_NORM);
    assert_int_equal(db_breakdown_op_index(""), DB_BREAKDOWN_OTHER);
    assert_string_equal(db_kernel_op_name(DB_KERNEL_OP_EMBEDDING), "embedding");
    assert_string_equal(db_kernel_op_name(DB_KERNEL_OP_NONE), "");
}

/* Written rows read back as written: a demangled template name with a comma is quoted, times are
 * exact to the ns. */
static void kernels_csv_round_trips_names_and_times(void **state) {
    (void)state;
    char dir[] = "/tmp/db_kcsv_XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kernels.csv", dir);
    db_kernels_csv *w = NULL;
    assert_int_equal(db_kernels_csv_open(path, &w, err, sizeof err), 0);
    db_kernel_row r = {.step = 4,
                       .op = "mlp",
                       .name = "void swiglu<__nv_bfloat16, 4>(float const*, int)",
                       .demangled = true,
                       .start_ns = 1234567891,
                       .end_ns = 1234569000,
                       .grid = {10, 2, 1},
                       .block = {256, 1, 1},
                       .stream = 13,
                       .mangled_name = "_Z6swigluI13__nv_bfloat16Li4EEvPKfi"};
    assert_int_equal(db_kernels_csv_add(w, &r), 0);
    assert_int_equal(db_kernels_csv_rows(w), 1);
    assert_int_equal(db_kernels_csv_commit(w, err, sizeof err), 0);
    collected c = {0};
    if (db_kernels_csv_read(path, collect, &c, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], r.name);
    assert_int_equal(c.start[0], 1234567891);
    assert_int_equal(c.k[0].duration_ns, 1109);
    assert_int_equal(c.k[0].op, DB_OP_MLP);
    unlink(path);
    rmdir(dir);
}

static void read_errors_name_the_line_and_column(void **state) {
    (void)state;
    char path[] = "/tmp/db_kbad_XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    collected c = {0};
    write_file(path, "step,op,name\n0,qkv,g\n");
    assert_int_equal(db_kernels_csv_read(path, collect, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: the header has no column 'demangled'"));
    write_file(path, HEADER "0,qkv,g,0,0.1,0.2,1,8,1,1,1,1,1,1,0,0,7,0,0,1,g\n"
                            "1,qkv,g,0,0.3,0.4,1,x,1,1,1,1,1,1,0,0,7,0,0,1,g\n");
    memset(&c, 0, sizeof c);
    assert_int_equal(db_kernels_csv_read(path, collect, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3: column 'grid_x': expected an integer, got 'x'"));
    write_file(path, HEADER "0,qkv,g,0,0.5,0.2,1,8,1,1,1,1,1,1,0,0,7,0,0,1,g\n");
    assert_int_equal(db_kernels_csv_read(path, collect, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: end_s 0.2 is before start_s 0.5"));
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breakdown_rows_follow_the_hand_derivation),
        cmocka_unit_test(without_peaks_there_is_no_bound_or_fraction),
        cmocka_unit_test(unsorted_steps_are_refused),
        cmocka_unit_test(points_are_one_per_step_and_class),
        cmocka_unit_test(op_rows_are_in_db_op_class_order),
        cmocka_unit_test(kernels_csv_round_trips_names_and_times),
        cmocka_unit_test(read_errors_name_the_line_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
