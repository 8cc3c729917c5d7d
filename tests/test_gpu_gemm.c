/* The CUDA backend's weights and GEMMs against the CPU's (engine/cpu_weights.h, engine/linear.h).
 *
 * Weights: the synthetic model generated on the device must be the CPU's bit for bit, in every
 * scheme (elements, fp8/int8 row scales, int4 nibbles and bf16 group scales, RMSNorm gains), the
 * fused wq|wk|wv and w1|w3 matrices holding each part's rows unchanged; padding columns are zeros.
 * GEMMs: y = x W^T through db_cuda_gemm_run (activations prepared on the device) against
 * db_linear_forward on the same weights and inputs. rel = max|gpu - cpu| / max|cpu| bounds, K = 300
 * (sums of 300 products; fp32 unit roundoff 6e-8):
 *   fp32 1e-5 (different summation order only); tf32, fp16, bf16 1e-4 (the products of pre-rounded
 *   inputs are exact, tensor cores accumulate in fp32 with their own rounding); fp8 1e-3 (e4m3
 *   products are exact, Hopper's fp8 tensor cores accumulate with fewer mantissa bits between
 *   promotions); int8 and int4 through the GEMV (batch <= 16) 1e-5; int8 through the dequantised
 * bf16 GEMM 1e-4 (q is exact in bf16); int4 through it 1e-2 (bf16(q * s) rounds each weight by up
 * to 2^-9 relative).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_gpu_common.h"

#ifdef DECODEBENCH_HAVE_CUDA
#include "cpu_weights.h"
#include "cuda_gemm.h"
#include "cuda_weights.h"
#include "gemv.cuh"
#include "linear.h"
#include "model.h"
#include "quant.cuh"

enum { SEED = 4242 };

static size_t fmt_elem_bytes(db_cuda_wfmt f) {
    return f == DB_WFMT_F32 ? 4 : (f == DB_WFMT_F16 || f == DB_WFMT_BF16) ? 2 : 1;
}

/* Rows [row0, row0 + C->n_rows) of the device matrix G against the CPU matrix C, bit for bit. */
static void compare_matrix(const db_linear *C, const db_cuda_matrix *G, int row0,
                           const char *what) {
    int K = C->n_cols;
    assert_int_equal(G->n_cols, K);
    size_t row_bytes = G->fmt == DB_WFMT_I4 ? (size_t)G->row_stride / 2
                                            : (size_t)G->row_stride * fmt_elem_bytes(G->fmt);
    size_t cpu_row_bytes =
        G->fmt == DB_WFMT_I4 ? (size_t)C->row_stride / 2 : (size_t)K * fmt_elem_bytes(G->fmt);
    size_t cmp = G->fmt == DB_WFMT_I4 ? row_bytes : cpu_row_bytes;
    uint8_t *h = malloc((size_t)G->n_rows_alloc * row_bytes);
    dev_download(h, G->data, (size_t)G->n_rows_alloc * row_bytes);
    for (int n = 0; n < C->n_rows; n++) {
        const uint8_t *g = h + (size_t)(row0 + n) * row_bytes,
                      *c = (const uint8_t *)C->data + (size_t)n * cpu_row_bytes;
        if (memcmp(g, c, cmp))
            fail_msg("%s (%s): row %d differs from the CPU's", what,
                     db_precision_name(C->precision), n);
        for (size_t b = cmp; b < row_bytes; b++)
            if (g[b]) fail_msg("%s: row %d padding byte %zu is %u, expected 0", what, n, b, g[b]);
    }
    if (C->row_scale) {
        float *s = malloc((size_t)G->n_rows_alloc * sizeof(float));
        dev_download(s, G->row_scale, (size_t)G->n_rows_alloc * sizeof(float));
        assert_memory_equal(s + row0, C->row_scale, (size_t)C->n_rows * sizeof(float));
        free(s);
    }
    if (C->group_scale) {
        size_t per_row = (size_t)G->row_stride / DB_Q4_GROUP;
        uint16_t *s = malloc((size_t)G->n_rows * per_row * sizeof(uint16_t));
        dev_download(s, G->group_scale, (size_t)G->n_rows * per_row * sizeof(uint16_t));
        assert_memory_equal(s + (size_t)row0 * per_row, C->group_scale,
                            (size_t)C->n_rows * per_row * sizeof(uint16_t));
        free(s);
    }
    free(h);
}

static void compare_gain(const float *cpu, const float *dev, int d) {
    float *h = malloc((size_t)d * sizeof(float));
    dev_download(h, dev, (size_t)d * sizeof(float));
    assert_memory_equal(h, cpu, (size_t)d * sizeof(float));
    free(h);
}

static void weights_case(const char *model, db_precision p) {
    db_model_config m;
    assert_int_equal(db_model_preset(model, &m), 0);
    db_cpu_weights cw;
    db_cuda_weights gw;
    db_error err;
    assert_int_equal(db_cpu_weights_synth(&cw, &m, p, SEED, &err), DB_OK);
    if (db_cuda_weights_synth(&gw, &m, p, SEED, 0, &err) != DB_OK) fail_msg("%s", err.msg);
    int q = m.n_heads * db_model_head_size(&m), kv = db_model_kv_dim(&m), h = m.hidden_dim;
    compare_matrix(&cw.token_embedding, &gw.embedding, 0, "token embedding");
    compare_gain(cw.rms_final, gw.rms_final, m.dim);
    if (!m.shared_classifier) compare_matrix(&cw.classifier, &gw.classifier, 0, "classifier");
    for (int l = 0; l < m.n_layers; l++) {
        const db_cpu_layer *C = &cw.layers[l];
        const db_cuda_layer *G = &gw.layers[l];
        compare_gain(C->rms_att, G->rms_att, m.dim);
        compare_gain(C->rms_ffn, G->rms_ffn, m.dim);
        compare_matrix(&C->wq, &G->wqkv, 0, "wq");
        compare_matrix(&C->wk, &G->wqkv, q, "wk");
        compare_matrix(&C->wv, &G->wqkv, q + kv, "wv");
        compare_matrix(&C->wo, &G->wo, 0, "wo");
        compare_matrix(&C->w1, &G->w13, 0, "w1");
        compare_matrix(&C->w3, &G->w13, h, "w3");
        compare_matrix(&C->w2, &G->w2, 0, "w2");
    }
    db_cuda_weights_free(&gw);
    db_cpu_weights_free(&cw);
}

static void synthetic_weights_are_the_cpu_model_bit_for_bit(void **state) {
    for (int p = 0; p < DB_PREC_COUNT; p++)
        weights_case("tiny", (db_precision)p);
    weights_case("llama2c-15m", DB_PREC_INT4); /* shared classifier, head size 48 */
}

/* ---- GEMMs
 * ----------------------------------------------------------------------------------------- */

static int ld16(int n) {
    return (n + 15) / 16 * 16;
}

static double gemm_tolerance(db_precision p, int T) {
    int gemv = T <= db_cuda_gemv_max_batch();
    switch (p) {
    case DB_PREC_FP32:
        return 1e-5;
    case DB_PREC_FP8:
        return 1e-3;
    case DB_PREC_INT8:
        return gemv ? 1e-5 : 1e-4;
    case DB_PREC_INT4:
        return gemv ? 1e-5 : 1e-2;
    default:
        return 1e-4;
    }
}

static void gemm_case(db_cuda_gemm *g, db_precision p, int T, int N, int K) {
    db_linear C;
    db_cuda_matrix G;
    db_error err;
    float scale = db_synth_matrix_scale(K);
    assert_int_equal(db_linear_init_synth(&C, N, K, p, SEED, 9, scale, &err), DB_OK);
    assert_int_equal(db_cuda_matrix_alloc(&G, N, K, p, &err), DB_OK);
    assert_int_equal(db_cuda_matrix_synth(&G, 0, N, SEED, 9, scale, 0, &err), DB_OK);
    float *x = malloc((size_t)T * K * sizeof(float)), *want = malloc((size_t)T * N * sizeof(float));
    float *got = malloc((size_t)T * N * sizeof(float));
    fill_uniform(x, (size_t)T * K, SEED, (uint32_t)(T * 1000 + N), 2.0f);
    assert_int_equal(db_linear_forward(&C, x, want, T, NULL, &err), DB_OK);
    db_num_type t = db_cuda_precision_act_in(p);
    size_t eb = t == DB_NUM_E4M3 ? 1 : (t == DB_NUM_F16 || t == DB_NUM_BF16) ? 2 : 4;
    db_cuda_act a = {dev_poisoned((size_t)ld16(T) * ld16(K) * eb),
                     dev_poisoned((size_t)ld16(T) * 4), ld16(K), t};
    GPU_OK(cudaMemset(a.data, 0, (size_t)ld16(T) * ld16(K) * eb)); /* fp8 reads 16-row padding */
    float *dx = dev_upload_floats(x, (size_t)T * K),
          *dy = dev_poisoned((size_t)T * N * sizeof(float));
    GPU_OK(db_cuda_act_prepare(dx, K, T, K, a, 0));
    if (db_cuda_gemm_reserve(g, &G, T, &err) != DB_OK ||
        db_cuda_gemm_run(g, &G, a, T, dy, &err) != DB_OK)
        fail_msg("%s gemm: %s", db_precision_name(p), err.msg);
    dev_download(got, dy, (size_t)T * N * sizeof(float));
    double e = rel_err(got, want, (size_t)T * N);
    if (!(e <= gemm_tolerance(p, T)))
        fail_msg("%s gemm T %d, N %d, K %d: rel error %g > %g", db_precision_name(p), T, N, K, e,
                 gemm_tolerance(p, T));
    cudaFree(a.data), cudaFree(a.scale), cudaFree(dx), cudaFree(dy);
    free(x), free(want), free(got);
    db_cuda_matrix_free(&G);
    db_linear_free(&C);
}

static void gemm_matches_db_linear_forward_in_every_scheme(void **state) {
    db_cuda_gemm g;
    db_error err;
    if (db_cuda_gemm_create(&g, 0, 0, &err) != DB_OK) fail_msg("%s", err.msg);
    const int batches[] = {1, 5, 37};
    for (int p = 0; p < DB_PREC_COUNT; p++) {
        if (p == DB_PREC_FP8 && g.cc_major * 10 + g.cc_minor < 89) {
            printf("  (fp8 skipped: compute capability %d.%d < 8.9)\n", g.cc_major, g.cc_minor);
            continue;
        }
        for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++)
            gemm_case(&g, (db_precision)p, batches[i], 200, 300);
    }
    db_cuda_gemm_destroy(&g);
}

static void fp8_gemm_is_refused_before_compute_capability_8_9(void **state) {
    db_cuda_gemm g;
    db_error err;
    if (db_cuda_gemm_create(&g, 0, 0, &err) != DB_OK) fail_msg("%s", err.msg);
    if (g.cc_major * 10 + g.cc_minor >= 89) {
        db_cuda_gemm_destroy(&g);
        skip();
    }
    db_cuda_matrix G;
    assert_int_equal(db_cuda_matrix_alloc(&G, 16, 32, DB_PREC_FP8, &err), DB_OK);
    db_cuda_act a = {dev_poisoned(16 * 32), dev_poisoned(64), 32, DB_NUM_E4M3};
    float *dy = dev_poisoned(16 * 16 * 4);
    assert_int_equal(db_cuda_gemm_reserve(&g, &G, 16, &err), DB_OK);
    assert_int_equal(db_cuda_gemm_run(&g, &G, a, 16, dy, &err), DB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "compute capability 8.9"));
    cudaFree(a.data), cudaFree(a.scale), cudaFree(dy);
    db_cuda_matrix_free(&G);
    db_cuda_gemm_destroy(&g);
}
#endif

int main(void) {
    if (gpu_test_skipped()) return 77;
#ifdef DECODEBENCH_HAVE_CUDA
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synthetic_weights_are_the_cpu_model_bit_for_bit),
        cmocka_unit_test(gemm_matches_db_linear_forward_in_every_scheme),
        cmocka_unit_test(fp8_gemm_is_refused_before_compute_capability_8_9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    return 77;
#endif
}
