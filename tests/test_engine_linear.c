/* test_engine_linear.c — db_linear_forward for every precision scheme against a float64 product
 * over the dequantised weights and the scheme-rounded activations, on odd shapes and B = 1, 3, 17,
 * 33 (the GEMV kernels below a scheme's GEMM batch of 16, 24 or 32, the tile + sgemm path from
 * there), with and without the thread pool; then against the unquantised fp32 product within each
 * scheme's derived quantisation bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linear.h"
#include "synth.h"

static const db_precision all_precisions[] = {DB_PREC_FP32, DB_PREC_TF32, DB_PREC_FP16,
                                              DB_PREC_BF16, DB_PREC_FP8,  DB_PREC_INT8,
                                              DB_PREC_INT4};
#define N_PREC (int)(sizeof all_precisions / sizeof all_precisions[0])

/* (N, K): not multiples of 8, a K that is not a multiple of 128 (int4 partial groups), a K below
 * the SIMD width, and an aligned one. */
static const int shapes[][2] = {{37, 200}, {13, 7}, {9, 131}, {64, 256}, {24, 1000}};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])
static const int batches[] = {1, 3, 17, 33};

static uint32_t test_seed = 1;

/* Activation row as the scheme's GEMM sees it (the specification, written out independently):
 * fp8 quantises per token to e4m3 with scale max|x| / 448; others round to the activation type. */
static void reference_activations(db_precision p, const float *x, int K, double *xr) {
    if (p == DB_PREC_FP8) {
        float amax = 0;
        for (int k = 0; k < K; k++)
            amax = fmaxf(amax, fabsf(x[k]));
        float sx = amax / 448.0f;
        for (int k = 0; k < K; k++)
            xr[k] = sx == 0 ? 0 : (double)db_e4m3_to_f32(db_f32_to_e4m3(x[k] / sx)) * sx;
        return;
    }
    for (int k = 0; k < K; k++)
        xr[k] = db_round_to_precision(x[k], p);
}

/* Fresh activations: a normal-ish spread with a few larger entries (as after RMSNorm). */
static void fill_activations(float *x, int n) {
    test_seed++;
    for (int i = 0; i < n; i++)
        x[i] = db_synth_normal(test_seed, 1000, (uint64_t)i) * ((i % 29 == 0) ? 4.0f : 1.0f);
}

/* Runs W x for x (B, K) and checks every output against sum_k deq(W)[n][k] * xr[b][k] in double.
 * Tolerance: fp32 summation of K terms in any order errs by at most gamma_K * sum|terms| with
 * gamma_K ~ K * 2^-24; the kernels' scale products (int8 row scale, fp8 256 * sw * sx, int4 group
 * scales vs the reference's rounded q * s) add at most 16 more roundings: (K + 16) * 2^-24 * sum|w
 * x|. */
static void check_forward(const db_linear *W, int B, db_threadpool *pool) {
    int N = W->n_rows, K = W->n_cols;
    float *x = malloc(sizeof(float) * (size_t)B * K), *y = malloc(sizeof(float) * (size_t)B * N);
    double *xr = malloc(sizeof(double) * (size_t)K);
    float *wrow = malloc(sizeof(float) * (size_t)K);
    fill_activations(x, B * K);
    db_error err;
    assert_int_equal(db_linear_forward(W, x, y, B, pool, &err), DB_OK);
    for (int b = 0; b < B; b++) {
        reference_activations(W->precision, x + (size_t)b * K, K, xr);
        for (int n = 0; n < N; n++) {
            db_linear_dequant_row(W, n, wrow);
            double ref = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                ref += (double)wrow[k] * xr[k];
                mag += fabs((double)wrow[k] * xr[k]);
            }
            double tol = (K + 16) * ldexp(1.0, -24) * mag;
            double got = y[(size_t)b * N + n];
            if (!(fabs(got - ref) <= tol))
                fail_msg("%s N=%d K=%d B=%d: y[%d][%d] = %.9g, expected %.9g (tolerance %.3g)",
                         db_precision_name(W->precision), N, K, B, b, n, got, ref, tol);
        }
    }
    free(x);
    free(y);
    free(xr);
    free(wrow);
}

static void forward_matches_float64_over_dequantised_weights(db_threadpool *pool) {
    for (int p = 0; p < N_PREC; p++)
        for (int s = 0; s < N_SHAPES; s++) {
            db_linear W;
            db_error err;
            assert_int_equal(db_linear_init_synth(&W, shapes[s][0], shapes[s][1], all_precisions[p],
                                                  42, (uint32_t)s, 0.5f, &err),
                             DB_OK);
            for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
                check_forward(&W, batches[b], pool);
            db_linear_free(&W);
        }
}

static void forward_single_threaded_matches_reference(void **state) {
    (void)state;
    forward_matches_float64_over_dequantised_weights(NULL);
}

static void forward_on_two_threads_matches_reference(void **state) {
    (void)state;
    db_threadpool *pool;
    assert_int_equal(db_threadpool_create(2, &pool, NULL), DB_OK);
    forward_matches_float64_over_dequantised_weights(pool);
    db_threadpool_destroy(pool);
}

static void forward_on_three_threads_with_large_batch(void **state) {
    (void)state;
    /* More threads than cores and a batch beyond one GEMM tile: rows split 3 ways. */
    db_threadpool *pool;
    assert_int_equal(db_threadpool_create(3, &pool, NULL), DB_OK);
    for (int p = 0; p < N_PREC; p++) {
        db_linear W;
        assert_int_equal(db_linear_init_synth(&W, 301, 640, all_precisions[p], 5, 77, 0.1f, NULL),
                         DB_OK);
        check_forward(&W, 40, pool);
        check_forward(&W, 5, pool);
        db_linear_free(&W);
    }
    db_threadpool_destroy(pool);
}

/* Per-scheme bound on |y - y_fp32| where y_fp32 = sum_k w x over the original fp32 weights, derived
 * from the element error of each format (e = |w - deq w|, d = |x - rounded x|):
 *   fp32: 0. tf32 / fp16 (10 mantissa bits): e <= 2^-11 |w|, d <= 2^-11 |x| (no subnormals here).
 *   bf16 (7 bits): 2^-8 relative each. int8: e <= s_n / 2 (plus 2^-16 s), d <= 2^-8 |x| (bf16).
 *   int4: e <= s_g / 2 per group, d as bf16. fp8: e <= max(2^-4 |w|, 2^-10 s_w), the same for x
 * with s_x. |y - y_fp32| <= sum_k (e_k |x_k| + |w_k| d_k + e_k d_k) + the accumulation term above.
 */
static double element_error(db_precision p, const db_linear *W, int n, int k, float w) {
    switch (p) {
    case DB_PREC_TF32:
    case DB_PREC_FP16:
        return ldexp(fabs(w), -11);
    case DB_PREC_BF16:
        return ldexp(fabs(w), -8);
    case DB_PREC_INT8:
        return W->row_scale[n] * (0.5 + 1.0 / 65536);
    case DB_PREC_INT4:
        return db_bf16_bits_to_f32(W->group_scale[n * (W->row_stride / 128) + k / 128]) *
               (0.5 + 1.0 / 65536);
    case DB_PREC_FP8:
        return fmax(ldexp(fabs(w), -4), ldexp(W->row_scale[n], -10)) * 1.0001;
    default:
        return 0;
    }
}

static void forward_within_scheme_bound_of_fp32_product(void **state) {
    (void)state;
    enum { N = 48, K = 384, B = 3 };
    float *w = malloc(sizeof(float) * N * K), *x = malloc(sizeof(float) * B * K);
    float *y = malloc(sizeof(float) * B * N);
    for (int i = 0; i < N * K; i++)
        w[i] = 0.05f * db_synth_normal(8, 3, (uint64_t)i);
    fill_activations(x, B * K);
    for (int p = 0; p < N_PREC; p++) {
        db_precision prec = all_precisions[p];
        db_linear W;
        assert_int_equal(db_linear_init_f32(&W, N, K, prec, w, NULL), DB_OK);
        assert_int_equal(db_linear_forward(&W, x, y, B, NULL, NULL), DB_OK);
        for (int b = 0; b < B; b++) {
            const float *xb = x + b * K;
            float amax = 0;
            for (int k = 0; k < K; k++)
                amax = fmaxf(amax, fabsf(xb[k]));
            for (int n = 0; n < N; n++) {
                double exact = 0, bound = 0, mag = 0;
                for (int k = 0; k < K; k++) {
                    double wk = w[n * K + k], xk = xb[k];
                    double e = element_error(prec, &W, n, k, w[n * K + k]);
                    double d = prec == DB_PREC_FP32 ? 0
                               : prec == DB_PREC_FP8
                                   ? fmax(ldexp(fabs(xk), -4), ldexp(amax / 448.0, -10)) * 1.0001
                                   : ldexp(fabs(xk),
                                           prec == DB_PREC_TF32 || prec == DB_PREC_FP16 ? -11 : -8);
                    exact += wk * xk;
                    bound += e * fabs(xk) + fabs(wk) * d + e * d;
                    mag += (fabs(wk) + e) * (fabs(xk) + d);
                }
                bound += (K + 16) * ldexp(1.0, -24) * mag;
                double got = y[b * N + n];
                if (!(fabs(got - exact) <= bound))
                    fail_msg("%s: y[%d][%d] = %.9g, fp32 product %.9g, bound %.3g",
                             db_precision_name(prec), b, n, got, exact, bound);
            }
        }
        db_linear_free(&W);
    }
    free(w);
    free(x);
    free(y);
}

static void fp8_zero_activation_row_gives_zero_output(void **state) {
    (void)state;
    db_linear W;
    assert_int_equal(db_linear_init_synth(&W, 16, 64, DB_PREC_FP8, 1, 1, 1.0f, NULL), DB_OK);
    float x[2 * 64] = {0}, y[2 * 16];
    for (int k = 0; k < 64; k++)
        x[64 + k] = 1.0f;
    assert_int_equal(db_linear_forward(&W, x, y, 2, NULL, NULL), DB_OK);
    for (int n = 0; n < 16; n++)
        assert_float_equal(y[n], 0.0f, 0.0f);
    db_linear_free(&W);
}

static void fp8_subnormal_weights_contribute_exactly(void **state) {
    (void)state;
    /* Row max 448 gives scale 1, so w itself is quantised: 0.01 -> 5 * 2^-9 (subnormal code 0x05),
     * 2^-9 -> 0x01, 3 * 2^-10 -> 2 * 2^-9 (tie to even). With x = 1 everywhere (scale 1/448 per
     * token, x8 = 448) y = sum of the dequantised weights, every product exact: both the GEMV (B =
     * 1) and the GEMM path (B = 17) must give 448 + (5 + 1 + 2) * 2^-9 = 448.015625 up to one
     * rounding of the final scale product. */
    float w[16] = {448.0f, 0.01f, 0.001953125f, 0.0029296875f};
    db_linear W;
    assert_int_equal(db_linear_init_f32(&W, 1, 16, DB_PREC_FP8, w, NULL), DB_OK);
    assert_int_equal(((const uint8_t *)W.data)[1], 0x05);
    assert_int_equal(((const uint8_t *)W.data)[3], 0x02);
    float x[17 * 16], y[17];
    for (int i = 0; i < 17 * 16; i++)
        x[i] = 1.0f;
    for (int B = 1; B <= 17; B += 16) {
        assert_int_equal(db_linear_forward(&W, x, y, B, NULL, NULL), DB_OK);
        for (int b = 0; b < B; b++)
            assert_float_equal(y[b], 448.015625f, 448.015625f * 0x1p-23f);
    }
    db_linear_free(&W);
}

static void synth_weights_are_scale_times_uniform_rounded(void **state) {
    (void)state;
    db_linear W;
    assert_int_equal(db_linear_init_synth(&W, 3, 10, DB_PREC_FP32, 99, 4, 0.25f, NULL), DB_OK);
    for (int n = 0; n < 3; n++)
        for (int k = 0; k < 10; k++)
            assert_float_equal(db_linear_get(&W, n, k),
                               0.25f * db_synth_uniform(99, 4, (uint64_t)(n * 10 + k)), 0.0f);
    db_linear_free(&W);
    assert_int_equal(db_linear_init_synth(&W, 3, 10, DB_PREC_BF16, 99, 4, 0.25f, NULL), DB_OK);
    assert_float_equal(db_linear_get(&W, 2, 3),
                       db_round_to_type(0.25f * db_synth_uniform(99, 4, 23), DB_NUM_BF16), 0.0f);
    db_linear_free(&W);
}

static void storage_bytes_per_scheme(void **state) {
    (void)state;
    /* N = 64, K = 256: fp32 4 B/elt = 65536; fp16/bf16 32768; fp8/int8 16384 + 64 fp32 row scales
     * = 16640; int4 64 rows x 128 bytes + 64 x 2 groups x 2-byte scales = 8448. */
    const size_t expect[] = {65536, 65536, 32768, 32768, 16640, 16640, 8448};
    for (int p = 0; p < N_PREC; p++) {
        db_linear W;
        assert_int_equal(db_linear_init_synth(&W, 64, 256, all_precisions[p], 1, 1, 1.0f, NULL),
                         DB_OK);
        assert_int_equal(db_linear_bytes(&W), expect[p]);
        db_linear_free(&W);
    }
    /* int4 with K = 200 pads rows to 256: the same 8448 bytes. */
    db_linear W;
    assert_int_equal(db_linear_init_synth(&W, 64, 200, DB_PREC_INT4, 1, 1, 1.0f, NULL), DB_OK);
    assert_int_equal(db_linear_bytes(&W), 8448);
    db_linear_free(&W);
}

static void rejects_bad_shapes_and_values(void **state) {
    (void)state;
    db_linear W;
    db_error err;
    assert_int_equal(db_linear_init_synth(&W, 0, 8, DB_PREC_FP32, 1, 1, 1.0f, &err),
                     DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "0 x 8"));
    assert_int_equal(db_linear_init_synth(&W, 4, 8, DB_PREC_COUNT, 1, 1, 1.0f, &err),
                     DB_ERR_INVALID);
    assert_int_equal(db_linear_init_synth(&W, 4, 8, DB_PREC_FP32, 1, 1, INFINITY, &err),
                     DB_ERR_INVALID);
    float w[6] = {1, 2, 3, 4, NAN, 6};
    assert_int_equal(db_linear_init_f32(&W, 2, 3, DB_PREC_INT8, w, &err), DB_ERR_INVALID);
    assert_non_null(strstr(err.msg, "row 1, column 1"));
    assert_null(W.data);
    assert_int_equal(db_linear_init_synth(&W, 4, 8, DB_PREC_FP32, 1, 1, 1.0f, &err), DB_OK);
    float x[8] = {0}, y[4];
    assert_int_equal(db_linear_forward(&W, x, y, 0, NULL, &err), DB_ERR_INVALID);
    db_linear_free(&W);
    db_linear_free(&W); /* freeing twice is safe */
}

static void round_buffer_matches_elementwise_rounding(void **state) {
    (void)state;
    float x[100], r[100];
    fill_activations(x, 100);
    for (int p = 0; p < N_PREC; p++) {
        memcpy(r, x, sizeof x);
        db_round_buffer_to_precision(r, 100, all_precisions[p]);
        for (int i = 0; i < 100; i++)
            assert_float_equal(r[i], db_round_to_precision(x[i], all_precisions[p]), 0.0f);
    }
    assert_int_equal(db_precision_act_type(DB_PREC_INT4), DB_NUM_BF16);
    assert_int_equal(db_precision_act_type(DB_PREC_FP8), DB_NUM_BF16);
    assert_int_equal(db_precision_act_type(DB_PREC_FP16), DB_NUM_F16);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_single_threaded_matches_reference),
        cmocka_unit_test(forward_on_two_threads_matches_reference),
        cmocka_unit_test(forward_on_three_threads_with_large_batch),
        cmocka_unit_test(forward_within_scheme_bound_of_fp32_product),
        cmocka_unit_test(fp8_zero_activation_row_gives_zero_output),
        cmocka_unit_test(fp8_subnormal_weights_contribute_exactly),
        cmocka_unit_test(synth_weights_are_scale_times_uniform_rounded),
        cmocka_unit_test(storage_bytes_per_scheme),
        cmocka_unit_test(rejects_bad_shapes_and_values),
        cmocka_unit_test(round_buffer_matches_elementwise_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
