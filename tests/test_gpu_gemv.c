/* The int8 / int4 weight-only linear layers of the CUDA backend against the CPU's db_linear_forward
 * on the same synthetic weights (db_linear_init_synth and db_cuda_matrix_synth with one seed,
 * tensor id and scale store the same values bit for bit, engine/cuda_weights.h):
 *   - the GEMV kernels (kernels/gemv.cu) for B = 1 (template <1>), 3 and 4 (<4>), 5 and 16 (<16>),
 *     K = 48, 136, 200, 1000, 1100 (tails of the int8 lanes' 16-element and the int4 lanes'
 *     32-element chunks, an int4 row's last chunk running past ldx, one to three chunks per lane)
 *     and N = 13 (the last block of 4 warps has one row);
 *   - the launcher's refusals of shapes outside gemv.cuh's contract;
 *   - the large-batch path of engine/cuda_gemm.c: the dequantised bf16 tiles (kernels/quant.cu)
 *     element by element against the CPU's stored weights, the GEMM epilogue, and the chain
 *     dequantise -> GEMM -> epilogue with a host fp32 GEMM standing in for cuBLAS (not emulated).
 * Outputs start as 0xFF bytes (NaN): every element of y (B, N) is compared and its padding columns
 * and the row after the batch must still hold 0xFF; tile padding columns must be bf16 zeros.
 *
 * Tolerance of a product, per element (b, n). Every term is exact in fp32 on both sides: int8 q * x
 * (8-bit q times a bf16 x: 16 significant bits), int4 s * q * x (bf16 s, 4-bit q, bf16 x: 20 bits).
 * GPU and CPU differ only in the order of their fp32 additions and where the scales are applied;
 * a term passes through at most K + 2 roundings (K - 1 additions, an int4 group scale, the int8
 * output scale), so each result is within gamma(K + 2) * S of the exact sum, S = sum_k |w_nk x_bk|,
 * gamma(m) = m u / (1 - m u), u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms,
 * 2nd ed., sections 3.1 and 3.5), and the two results within 2 gamma(K + 2) S. For K = 1100 that is
 * 1.3e-4 S; a misplaced nibble, scale or tail changes a result by a sizeable fraction of S. The
 * int4 bf16 tile rounds each s * q once more (bf16 unit roundoff 2^-8), adding 2^-8 (1 + gamma) S.
 * Tiles, scales and epilogue outputs are exact: compared bit for bit.
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
#include "cuda_weights.h"
#include "gemv.cuh"
#include "linear.h"
#include "quant.cuh"

enum { SEED = 20261207, TENSOR = 9, N_ROWS = 13, LARGE_B = 20 };

static const int k_cases[] = {48, 136, 200, 1000, 1100};
static const int b_cases[] = {1, 3, 4, 5, 16};

static int round16(int k) {
    return (k + 15) / 16 * 16;
}

static double gamma_fp32(int m) {
    double mu = (double)m * 0x1p-24;
    return mu / (1.0 - mu);
}

/* The CPU weights W and the device weights D of one (N, K) matrix of scheme p. */
static void synth_pair(db_precision p, int N, int K, db_linear *W, db_cuda_matrix *D) {
    db_error err;
    float scale = db_synth_matrix_scale(K);
    if (db_linear_init_synth(W, N, K, p, SEED, TENSOR, scale, &err) != DB_OK ||
        db_cuda_matrix_alloc(D, N, K, p, &err) != DB_OK ||
        db_cuda_matrix_synth(D, 0, N, SEED, TENSOR, scale, 0, &err) != DB_OK)
        fail_msg("%s %d x %d weights: %s", db_precision_name(p), N, K, err.msg);
}

/* Activations x (B, K) as the GEMV takes them: bf16 bits (B, ld), padding columns zero; xr (B, K)
 * gets the bf16 values as fp32 (what db_linear_forward multiplies). */
static uint16_t *bf16_rows(const float *x, int B, int K, int ld, float *xr) {
    uint16_t *h = calloc((size_t)B * (size_t)ld, sizeof *h);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            h[(size_t)b * ld + k] = db_f32_to_bf16_bits(x[(size_t)b * K + k]);
            xr[(size_t)b * K + k] = db_bf16_bits_to_f32(h[(size_t)b * ld + k]);
        }
    return h;
}

/* S[b][n] = sum_k |W[n][k] xr[b][k]| in double (the scale of the tolerance). */
static void abs_sums(const db_linear *W, const float *xr, int B, double *S) {
    int N = W->n_rows, K = W->n_cols;
    float *w = malloc((size_t)K * sizeof *w);
    for (int n = 0; n < N; n++) {
        db_linear_dequant_row(W, n, w);
        for (int b = 0; b < B; b++) {
            double s = 0.0;
            for (int k = 0; k < K; k++)
                s += fabs((double)w[k] * (double)xr[(size_t)b * K + k]);
            S[(size_t)b * N + n] = s;
        }
    }
    free(w);
}

/* Checks y (rows B + 1, ldy) from the device: y[b][n] within rel_bound * S[b][n] of ref (B, N),
 * padding columns N .. ldy-1 and row B still 0xFF. */
static void check_y(const char *what, const float *y, int ldy, const float *ref, const double *S,
                    int B, int N, double rel_bound) {
    for (int b = 0; b <= B; b++)
        for (int n = 0; n < ldy; n++) {
            float v = y[(size_t)b * ldy + n];
            uint32_t bits;
            memcpy(&bits, &v, sizeof bits);
            if (b == B || n >= N) {
                if (bits != 0xFFFFFFFFu)
                    fail_msg("%s: y[%d][%d] outside the output was written (%g)", what, b, n,
                             (double)v);
                continue;
            }
            double d = fabs((double)v - (double)ref[(size_t)b * N + n]),
                   tol = rel_bound * S[(size_t)b * N + n];
            if (!(d <= tol))
                fail_msg("%s: y[%d][%d] = %.9g, cpu %.9g (|diff| %.3g > %.3g)", what, b, n,
                         (double)v, (double)ref[(size_t)b * N + n], d, tol);
        }
}

/* ---- GEMV ---------------------------------------------------------------------------------------
 */

/* One matrix of scheme p and K columns against every batch size of b_cases. */
static void gemv_case(db_precision p, int K) {
    enum { N = N_ROWS, LDY = N_ROWS + 3, BMAX = 16 };
    int ld = round16(K);
    db_linear W;
    db_cuda_matrix D;
    db_error err;
    synth_pair(p, N, K, &W, &D);
    float *x = malloc((size_t)BMAX * K * sizeof *x), *xr = malloc((size_t)BMAX * K * sizeof *xr);
    float ref[BMAX * N], y[(BMAX + 1) * LDY];
    double S[BMAX * N];
    for (size_t i = 0; i < sizeof b_cases / sizeof b_cases[0]; i++) {
        int B = b_cases[i];
        char what[64];
        snprintf(what, sizeof what, "%s K=%d B=%d", db_precision_name(p), K, B);
        fill_uniform(x, (size_t)B * K, SEED, (uint32_t)(100 * B + K % 97), 2.0f);
        uint16_t *xh = bf16_rows(x, B, K, ld, xr);
        assert_int_equal(db_linear_forward(&W, x, ref, B, NULL, &err), DB_OK);
        abs_sums(&W, xr, B, S);
        uint16_t *dx = dev_upload(xh, (size_t)B * ld * sizeof *xh);
        float *dy = dev_poisoned((size_t)(B + 1) * LDY * sizeof(float));
        GPU_OK(db_cuda_gemv_q(D, dx, ld, B, dy, LDY, 0));
        dev_download(y, dy, (size_t)(B + 1) * LDY * sizeof(float));
        check_y(what, y, LDY, ref, S, B, N, 2.0 * gamma_fp32(K + 2));
        cudaFree(dx), cudaFree(dy);
        free(xh);
    }
    free(x), free(xr);
    db_cuda_matrix_free(&D);
    db_linear_free(&W);
}

static void int8_gemv_matches_cpu_forward_for_every_batch_template_and_k_tail(void **state) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++)
        gemv_case(DB_PREC_INT8, k_cases[i]);
}

static void int4_gemv_matches_cpu_forward_for_every_batch_template_and_k_tail(void **state) {
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++)
        gemv_case(DB_PREC_INT4, k_cases[i]);
}

/* The batch cases above reach the largest template (<16>) at its top: the GEMV takes B <= 16, the
 * dequantise path (engine/cuda_gemm.c) the rest. */
static void gemv_max_batch_is_the_largest_template_16(void **state) {
    assert_int_equal(db_cuda_gemv_max_batch(), 16);
}

/* Refused calls return cudaErrorInvalidValue before launching anything; B = 0 does nothing. */
static void gemv_refuses_shapes_outside_its_contract_and_writes_nothing(void **state) {
    enum { N = 8, K = 48, LD = 48, LDY = 8, B = 17 };
    db_linear W;
    db_cuda_matrix D, F;
    db_error err;
    synth_pair(DB_PREC_INT8, N, K, &W, &D);
    assert_int_equal(db_cuda_matrix_alloc(&F, N, K, DB_PREC_BF16, &err), DB_OK);
    uint16_t xh[B * LD];
    for (int i = 0; i < B * LD; i++)
        xh[i] = db_f32_to_bf16_bits(test_uniform(SEED, 7, (uint64_t)i));
    uint16_t *dx = dev_upload(xh, sizeof xh);
    float *dy = dev_poisoned((size_t)B * LDY * sizeof(float));
    assert_int_equal(db_cuda_gemv_q(D, dx, LD, B, dy, LDY, 0), cudaErrorInvalidValue); /* B > 16 */
    assert_int_equal(db_cuda_gemv_q(D, dx, 32, 1, dy, LDY, 0), cudaErrorInvalidValue); /* ldx < K */
    assert_int_equal(db_cuda_gemv_q(D, dx, 56, 1, dy, LDY, 0),
                     cudaErrorInvalidValue); /* ldx not a multiple of 16 */
    assert_int_equal(db_cuda_gemv_q(D, dx, LD, 1, dy, N - 1, 0),
                     cudaErrorInvalidValue);                                           /* ldy < N */
    assert_int_equal(db_cuda_gemv_q(F, dx, LD, 1, dy, LDY, 0), cudaErrorInvalidValue); /* bf16 */
    assert_int_equal(db_cuda_gemv_q(D, dx, LD, 0, dy, LDY, 0), cudaSuccess);
    assert_int_equal(cudaGetLastError(), cudaSuccess);
    uint8_t y[B * LDY * sizeof(float)];
    dev_download(y, dy, sizeof y);
    for (size_t i = 0; i < sizeof y; i++)
        if (y[i] != 0xFF) fail_msg("byte %zu of y was written by a refused call", i);
    cudaFree(dx), cudaFree(dy);
    db_cuda_matrix_free(&F);
    db_cuda_matrix_free(&D);
    db_linear_free(&W);
}

/* ---- dequantisation and epilogue ----------------------------------------------------------------
 */

/* The bf16 bits the tile must hold for W[n][k] (quant.cuh): int8 q itself (|q| <= 127: exact in
 * bf16; the row scale comes from the epilogue), int4 bf16(q * s) (q * s exact in fp32). */
static uint16_t expected_tile_bits(const db_linear *W, int n, int k) {
    if (W->precision == DB_PREC_INT8)
        return db_f32_to_bf16_bits((float)((const int8_t *)W->data)[(size_t)n * W->n_cols + k]);
    return db_f32_to_bf16_bits(db_linear_get(W, n, k));
}

/* Rows [row0, row0 + rows) into a (rows + 1, ldo) buffer: each element bit-equal, padding columns
 * K .. ldo-1 zero, the row after the tile untouched. */
static void dequant_tile_case(const db_linear *W, const db_cuda_matrix *D, int row0, int rows,
                              int ldo) {
    size_t elems = (size_t)(rows + 1) * (size_t)ldo;
    uint16_t *dt = dev_poisoned(elems * sizeof(uint16_t)), *t = malloc(elems * sizeof *t);
    GPU_OK(db_cuda_dequant_bf16(*D, row0, rows, dt, ldo, 0));
    dev_download(t, dt, elems * sizeof *t);
    for (int r = 0; r <= rows; r++)
        for (int k = 0; k < ldo; k++) {
            uint16_t got = t[(size_t)r * ldo + k];
            uint16_t want = r == rows       ? 0xFFFF
                            : k < W->n_cols ? expected_tile_bits(W, row0 + r, k)
                                            : 0x0000;
            if (got != want)
                fail_msg("%s K=%d tile [%d, %d) row %d col %d: bits 0x%04x, expected 0x%04x",
                         db_precision_name(W->precision), W->n_cols, row0, row0 + rows, r, k, got,
                         want);
        }
    cudaFree(dt);
    free(t);
}

static void dequant_case(db_precision p, int K) {
    db_linear W;
    db_cuda_matrix D;
    synth_pair(p, N_ROWS, K, &W, &D);
    dequant_tile_case(&W, &D, 0, 8, round16(K));               /* the engine's ld, first tile */
    dequant_tile_case(&W, &D, 8, N_ROWS - 8, round16(K) + 16); /* the rest, a wider ld */
    if (p == DB_PREC_INT8) {                                   /* the epilogue's scales */
        float s[N_ROWS];
        dev_download(s, D.row_scale, sizeof s);
        assert_memory_equal(s, W.row_scale, sizeof s);
    }
    db_cuda_matrix_free(&D);
    db_linear_free(&W);
}

static void int8_dequant_tile_holds_q_exactly_and_zero_padding(void **state) {
    dequant_case(DB_PREC_INT8, 48);
    dequant_case(DB_PREC_INT8, 200);
    dequant_case(DB_PREC_INT8, 1000);
}

static void int4_dequant_tile_holds_bf16_of_q_times_group_scale_and_zero_padding(void **state) {
    dequant_case(DB_PREC_INT4, 48);
    dequant_case(DB_PREC_INT4, 200);
    dequant_case(DB_PREC_INT4, 1000);
}

/* y[t][n] = d[t][n] * (wscale[n] * xscale[t]): the kernel's two fp32 products, bit for bit. N = 300
 * spans two blocks of 256 columns, the second partial; columns N .. ldy-1 stay 0xFF. */
static void epilogue_case(int bf16_in, int with_xscale) {
    enum { T = 3, N = 300, LDD = 304, LDY = 310 };
    static float d[T * LDD], ws[N], xs[T], y[T * LDY];
    static uint16_t dh[T * LDD];
    fill_uniform(d, T * LDD, SEED, 60, 50.0f);
    fill_uniform(ws, N, SEED, 61, 0.01f);
    fill_uniform(xs, T, SEED, 62, 0.5f);
    for (int i = 0; i < T * LDD; i++) {
        dh[i] = db_f32_to_bf16_bits(d[i]);
        if (bf16_in) d[i] = db_bf16_bits_to_f32(dh[i]);
    }
    void *dd = bf16_in ? dev_upload(dh, sizeof dh) : dev_upload(d, sizeof d);
    float *dws = dev_upload_floats(ws, N), *dxs = dev_upload_floats(xs, T),
          *dy = dev_poisoned(sizeof y), *xscale = with_xscale ? dxs : NULL;
    if (bf16_in)
        GPU_OK(db_cuda_gemm_epilogue_bf16(dd, LDD, dws, xscale, T, N, dy, LDY, 0));
    else
        GPU_OK(db_cuda_gemm_epilogue(dd, LDD, dws, xscale, T, N, dy, LDY, 0));
    dev_download(y, dy, sizeof y);
    for (int t = 0; t < T; t++)
        for (int n = 0; n < LDY; n++) {
            float got = y[t * LDY + n], want = NAN;
            if (n < N) {
                float s = with_xscale ? ws[n] * xs[t] : ws[n];
                want = d[t * LDD + n] * s;
            }
            uint32_t gb, wb;
            memcpy(&gb, &got, 4), memcpy(&wb, &want, 4);
            if (n < N ? gb != wb : gb != 0xFFFFFFFFu)
                fail_msg("epilogue bf16_in=%d xscale=%d: y[%d][%d] = %.9g, expected %.9g", bf16_in,
                         with_xscale, t, n, (double)got, (double)want);
        }
    cudaFree(dd), cudaFree(dws), cudaFree(dxs), cudaFree(dy);
}

static void gemm_epilogue_scales_by_row_and_token_scales_exactly(void **state) {
    epilogue_case(0, 0);
    epilogue_case(0, 1);
    epilogue_case(1, 0);
    epilogue_case(1, 1);
}

/* engine/cuda_gemm.c's gemm_dequant for B > 16: tiles of rows (here 8) dequantised with ld
 * round16(K), each multiplied by x (here on the host in fp32, as cuBLAS's bf16 x bf16 -> fp32 GEMM
 * computes, over k < K), then for int8 the in-place row-scale epilogue. Tolerance: the header
 * comment's 2 gamma(K + 2) S, plus 2^-8 (1 + gamma) S for int4's bf16 tile. */
static void large_batch_case(db_precision p, int K) {
    enum { B = LARGE_B, N = N_ROWS, TILE = 8 };
    int ldq = round16(K);
    db_linear W;
    db_cuda_matrix D;
    db_error err;
    synth_pair(p, N, K, &W, &D);
    float *x = malloc((size_t)B * K * sizeof *x), *xr = malloc((size_t)B * K * sizeof *xr);
    float ref[B * N], d[B * N], y[(B + 1) * N];
    double S[B * N];
    fill_uniform(x, (size_t)B * K, SEED, (uint32_t)(70 + K), 2.0f);
    uint16_t *xh = bf16_rows(x, B, K, ldq, xr);
    uint16_t *tile = malloc((size_t)TILE * ldq * sizeof *tile),
             *dtile = dev_poisoned((size_t)TILE * ldq * sizeof *dtile);
    for (int r0 = 0; r0 < N; r0 += TILE) {
        int rows = N - r0 < TILE ? N - r0 : TILE;
        GPU_OK(db_cuda_dequant_bf16(D, r0, rows, dtile, ldq, 0));
        dev_download(tile, dtile, (size_t)rows * ldq * sizeof *tile);
        for (int b = 0; b < B; b++)
            for (int r = 0; r < rows; r++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++)
                    s += db_bf16_bits_to_f32(tile[(size_t)r * ldq + k]) *
                         db_bf16_bits_to_f32(xh[(size_t)b * ldq + k]);
                d[b * N + r0 + r] = s;
            }
    }
    float *dy = dev_poisoned(sizeof y);
    GPU_OK(cudaMemcpy(dy, d, sizeof d, cudaMemcpyHostToDevice));
    if (p == DB_PREC_INT8) GPU_OK(db_cuda_gemm_epilogue(dy, N, D.row_scale, NULL, B, N, dy, N, 0));
    dev_download(y, dy, sizeof y);
    assert_int_equal(db_linear_forward(&W, x, ref, B, NULL, &err), DB_OK);
    abs_sums(&W, xr, B, S);
    double g = gamma_fp32(K + 2), bound = 2.0 * g + (p == DB_PREC_INT4 ? 0x1p-8 * (1.0 + g) : 0.0);
    char what[64];
    snprintf(what, sizeof what, "%s K=%d B=%d dequant path", db_precision_name(p), K, B);
    check_y(what, y, N, ref, S, B, N, bound);
    cudaFree(dtile), cudaFree(dy);
    free(tile), free(xh), free(x), free(xr);
    db_cuda_matrix_free(&D);
    db_linear_free(&W);
}

static void dequant_gemm_epilogue_chain_matches_cpu_forward_past_the_gemv_batch(void **state) {
    large_batch_case(DB_PREC_INT8, 200);
    large_batch_case(DB_PREC_INT8, 1000);
    large_batch_case(DB_PREC_INT4, 200);
    large_batch_case(DB_PREC_INT4, 1000);
}
#endif

int main(void) {
    if (gpu_test_skipped()) return 77;
#ifdef DECODEBENCH_HAVE_CUDA
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int8_gemv_matches_cpu_forward_for_every_batch_template_and_k_tail),
        cmocka_unit_test(int4_gemv_matches_cpu_forward_for_every_batch_template_and_k_tail),
        cmocka_unit_test(gemv_max_batch_is_the_largest_template_16),
        cmocka_unit_test(gemv_refuses_shapes_outside_its_contract_and_writes_nothing),
        cmocka_unit_test(int8_dequant_tile_holds_q_exactly_and_zero_padding),
        cmocka_unit_test(int4_dequant_tile_holds_bf16_of_q_times_group_scale_and_zero_padding),
        cmocka_unit_test(gemm_epilogue_scales_by_row_and_token_scales_exactly),
        cmocka_unit_test(dequant_gemm_epilogue_chain_matches_cpu_forward_past_the_gemv_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    return 77;
#endif
}
