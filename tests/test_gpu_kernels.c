/* The CUDA backend's element-wise kernels against their CPU counterparts: fused residual add +
 * RMSNorm (engine/cpu_ops.h), RoPE, SwiGLU, the embedding gather (db_linear_dequant_row), the
 * KV-cache write (engine/cpu_kv.h, every KV dtype), activation preparation and row gather
 * (db_lin_prepare_row's rounding), and argmax (db_cpu_argmax).
 *
 * Inputs are seeded uniforms; device outputs start as 0xFF bytes (NaN), so an unwritten element
 * fails. Tolerances, as rel = max|gpu - cpu| / max|cpu| over the tensor: exact (bit-equal)
 * embedding gather, KV elements and scales, residual stream after the add, argmax; 1e-6 fp32
 * outputs whose sums run in a different order (RMSNorm's sum of squares: 200 terms, unit roundoff
 * 6e-8); 1e-5                RoPE and SwiGLU (sincosf / expf of the device vs glibc: a few ulps);
 *   one unit of the type  rounded outputs (a 1-ulp fp32 difference can move a rounding): tf32
 * 2^-10, fp16 2^-10, bf16 2^-7 (2 ulps), e4m3 2^-3 relative to the row maximum.
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
#include "argmax.cuh"
#include "cpu_kv.h"
#include "cpu_ops.h"
#include "cpu_sample.h"
#include "cpu_weights.h"
#include "cuda_weights.h"
#include "embedding.cuh"
#include "kv_cache.cuh"
#include "linear.h"
#include "model.h"
#include "quant.cuh"
#include "rmsnorm.cuh"
#include "rope.cuh"
#include "swiglu.cuh"

enum { SEED = 20261122 };

static size_t elem_bytes(db_num_type t) {
    return t == DB_NUM_E4M3 ? 1 : (t == DB_NUM_F16 || t == DB_NUM_BF16) ? 2 : 4;
}

/* Element (r, c) of a host copy of GEMM-input rows, as fp32 (e4m3: times the row's scale). */
static float act_get(const void *data, const float *scale, db_num_type t, int ld, int r, int c) {
    size_t i = (size_t)r * (size_t)ld + (size_t)c;
    switch (t) {
    case DB_NUM_F16:
        return db_f16_bits_to_f32(((const uint16_t *)data)[i]);
    case DB_NUM_BF16:
        return db_bf16_bits_to_f32(((const uint16_t *)data)[i]);
    case DB_NUM_E4M3:
        return db_e4m3_to_f32(((const uint8_t *)data)[i]) * scale[r];
    default:
        return ((const float *)data)[i];
    }
}

/* One unit of the type relative to the maximum (see the header comment). */
static double type_tolerance(db_num_type t) {
    switch (t) {
    case DB_NUM_TF32:
    case DB_NUM_F16:
        return 0x1p-10;
    case DB_NUM_BF16:
        return 0x1p-7;
    case DB_NUM_E4M3:
        return 0x1p-3;
    default:
        return 1e-6;
    }
}

/* The CPU's conversion of a row of fp32 values into type t (e4m3: per-row scale), back to fp32. */
static void cpu_act_row(const float *x, int n, db_num_type t, float *out) {
    float s = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    if (t == DB_NUM_E4M3) s = db_e4m3_scale(amax);
    for (int i = 0; i < n; i++)
        out[i] = t == DB_NUM_E4M3 ? db_e4m3_to_f32(db_e4m3_quantize(x[i], s)) * s
                                  : db_round_to_type(x[i], t);
}

/* Downloads rows (rows, ld) of type t and checks them against the CPU's rows ref (rows, n)
 * converted to t, and that the padding columns are zeros. */
static void check_act_rows(const void *dev, const float *dev_scale, db_num_type t, int rows, int n,
                           int ld, const float *ref) {
    size_t bytes = (size_t)rows * (size_t)ld * elem_bytes(t);
    uint8_t *h = malloc(bytes);
    float scale[64], *got = malloc((size_t)rows * n * sizeof(float)),
                     *want = malloc((size_t)rows * n * sizeof(float));
    dev_download(h, dev, bytes);
    if (t == DB_NUM_E4M3) dev_download(scale, dev_scale, (size_t)rows * sizeof(float));
    for (int r = 0; r < rows; r++) {
        cpu_act_row(ref + (size_t)r * n, n, t, want + (size_t)r * n);
        for (int c = 0; c < ld; c++) {
            float v = act_get(h, scale, t, ld, r, c);
            if (c < n)
                got[(size_t)r * n + c] = v;
            else if (v != 0.0f)
                fail_msg("row %d: padding column %d holds %g, expected 0", r, c, (double)v);
        }
    }
    double e = rel_err(got, want, (size_t)rows * n);
    if (!(e <= type_tolerance(t)))
        fail_msg("type %d: rel error %g > %g", (int)t, e, type_tolerance(t));
    free(h);
    free(got);
    free(want);
}

/* ---- RMSNorm -----------------------------------------------------------------------------------
 */

static void rmsnorm_case(db_num_type out_t, db_num_type res_round) {
    enum { R = 5, D = 200, LD = 208 };
    static float x[R * D], res[R * D], g[D], xr[R * D], ref[R * D], xg[R * D];
    fill_uniform(x, R * D, SEED, 1, 2.0f);
    fill_uniform(res, R * D, SEED, 2, 1.5f);
    for (int i = 0; i < D; i++)
        g[i] = 1.0f + 0.125f * test_uniform(SEED, 3, (uint64_t)i);
    for (int i = 0; i < R * D; i++)
        xr[i] = x[i] + db_round_to_type(res[i], res_round);
    db_cpu_rmsnorm(NULL, ref, xr, g, R, D, 1e-5f);
    float *dx = dev_upload_floats(x, R * D), *dres = dev_upload_floats(res, R * D),
          *dg = dev_upload_floats(g, D);
    void *dout = dev_poisoned((size_t)R * LD * elem_bytes(out_t));
    float *dscale = dev_poisoned(R * sizeof(float));
    db_cuda_act out = {dout, dscale, LD, out_t};
    GPU_OK(db_cuda_rmsnorm(dx, dres, res_round, dg, R, D, 1e-5f, out, 0));
    dev_download(xg, dx, sizeof xg);
    assert_memory_equal(xg, xr, sizeof xr); /* x + round(res): the same fp32 additions */
    check_act_rows(dout, dscale, out_t, R, D, LD, ref);
    cudaFree(dx), cudaFree(dres), cudaFree(dg), cudaFree(dout), cudaFree(dscale);
}

static void rmsnorm_with_residual_matches_cpu_in_every_input_type(void **state) {
    rmsnorm_case(DB_NUM_F32, DB_NUM_F32);
    rmsnorm_case(DB_NUM_TF32, DB_NUM_TF32);
    rmsnorm_case(DB_NUM_F16, DB_NUM_F16);
    rmsnorm_case(DB_NUM_BF16, DB_NUM_BF16);
    rmsnorm_case(DB_NUM_E4M3, DB_NUM_BF16);
}

/* ---- RoPE
 * ---------------------------------------------------------------------------------------- */

static void rope_case(db_num_type round) {
    enum { T = 6, HS = 16, QD = 64, KVD = 32, LD = QD + 2 * KVD };
    static float qkv[T * LD], got[T * LD], q[T * QD], k[T * KVD], v[T * KVD], freq[HS / 2];
    int pos[T] = {0, 1, 7, 130, 499, 4095};
    fill_uniform(qkv, T * LD, SEED, 10, 3.0f);
    db_cpu_rope_freq(freq, HS, 10000.0f);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < QD; i++)
            q[t * QD + i] = db_round_to_type(qkv[t * LD + i], round);
        for (int i = 0; i < KVD; i++)
            k[t * KVD + i] = db_round_to_type(qkv[t * LD + QD + i], round);
        for (int i = 0; i < KVD; i++)
            v[t * KVD + i] = db_round_to_type(qkv[t * LD + QD + KVD + i], round);
    }
    db_cpu_rope(NULL, q, k, pos, T, QD, KVD, HS, freq);
    float *d = dev_upload_floats(qkv, T * LD), *dfreq = dev_upload_floats(freq, HS / 2);
    int *dpos = dev_upload(pos, sizeof pos);
    GPU_OK(db_cuda_rope(d, LD, dpos, T, QD, KVD, HS, dfreq, round, 0));
    dev_download(got, d, sizeof got);
    for (int t = 0; t < T; t++) {
        assert_true(rel_err(got + t * LD, q + t * QD, QD) <= 1e-5);
        assert_true(rel_err(got + t * LD + QD, k + t * KVD, KVD) <= 1e-5);
        assert_memory_equal(got + t * LD + QD + KVD, v + t * KVD,
                            KVD * sizeof(float)); /* v: rounded only */
    }
    cudaFree(d), cudaFree(dfreq), cudaFree(dpos);
}

static void rope_rounds_then_rotates_q_and_k_like_cpu(void **state) {
    rope_case(DB_NUM_F32);
    rope_case(DB_NUM_BF16);
}

/* ---- SwiGLU
 * -------------------------------------------------------------------------------------- */

static void swiglu_case(db_num_type round, db_num_type out_t) {
    enum { R = 3, H = 172, LD = 176 };
    static float h13[R * 2 * H], gate[R * H], up[R * H];
    fill_uniform(h13, R * 2 * H, SEED, 20, 4.0f);
    for (int r = 0; r < R; r++)
        for (int i = 0; i < H; i++) {
            gate[r * H + i] = db_round_to_type(h13[r * 2 * H + i], round);
            up[r * H + i] = db_round_to_type(h13[r * 2 * H + H + i], round);
        }
    db_cpu_swiglu(NULL, gate, up, R * H);
    float *d = dev_upload_floats(h13, R * 2 * H), *dscale = dev_poisoned(R * sizeof(float));
    void *dout = dev_poisoned((size_t)R * LD * elem_bytes(out_t));
    db_cuda_act out = {dout, dscale, LD, out_t};
    GPU_OK(db_cuda_swiglu(d, H, round, R, out, 0));
    check_act_rows(dout, dscale, out_t, R, H, LD, gate);
    cudaFree(d), cudaFree(dout), cudaFree(dscale);
}

static void swiglu_matches_cpu_and_writes_the_next_gemm_input(void **state) {
    swiglu_case(DB_NUM_F32, DB_NUM_F32);
    swiglu_case(DB_NUM_F16, DB_NUM_F16);
    swiglu_case(DB_NUM_BF16, DB_NUM_BF16);
    swiglu_case(DB_NUM_BF16, DB_NUM_E4M3);
}

/* ---- activation preparation and gather
 * ---------------------------------------------------------------- */

static void act_prepare_and_gather_keep_rows_and_scales(void **state) {
    enum { R = 4, K = 100, LD = 112 };
    static float x[R * K], picked[2 * K];
    const int rows[2] = {3, 1};
    fill_uniform(x, R * K, SEED, 30, 5.0f);
    memcpy(picked, x + 3 * K, K * sizeof(float));
    memcpy(picked + K, x + 1 * K, K * sizeof(float));
    db_num_type types[] = {DB_NUM_F32, DB_NUM_TF32, DB_NUM_F16, DB_NUM_BF16, DB_NUM_E4M3};
    float *dx = dev_upload_floats(x, R * K);
    int *drows = dev_upload(rows, sizeof rows);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        db_num_type t = types[i];
        db_cuda_act a = {dev_poisoned((size_t)R * LD * elem_bytes(t)),
                         dev_poisoned(R * sizeof(float)), LD, t};
        db_cuda_act g = {dev_poisoned((size_t)2 * LD * elem_bytes(t)),
                         dev_poisoned(2 * sizeof(float)), LD, t};
        GPU_OK(db_cuda_act_prepare(dx, K, R, K, a, 0));
        check_act_rows(a.data, a.scale, t, R, K, LD, x);
        GPU_OK(db_cuda_act_gather(a, drows, 2, g, 0));
        check_act_rows(g.data, g.scale, t, 2, K, LD, picked);
        cudaFree(a.data), cudaFree(a.scale), cudaFree(g.data), cudaFree(g.scale);
    }
    cudaFree(dx), cudaFree(drows);
}

/* ---- embedding gather
 * -------------------------------------------------------------------------------- */

static void embedding_gather_equals_dequantised_rows_in_every_scheme(void **state) {
    enum { V = 50, D = 136, T = 4 };
    const int32_t tokens[T] = {49, 0, 17, 17};
    static float got[T * D], want[D];
    float scale = db_synth_matrix_scale(D);
    for (int p = 0; p < DB_PREC_COUNT; p++) {
        db_linear W;
        db_cuda_matrix E;
        db_error err;
        assert_int_equal(db_linear_init_synth(&W, V, D, (db_precision)p, SEED, 77, scale, &err),
                         DB_OK);
        assert_int_equal(db_cuda_matrix_alloc(&E, V, D, (db_precision)p, &err), DB_OK);
        assert_int_equal(db_cuda_matrix_synth(&E, 0, V, SEED, 77, scale, 0, &err), DB_OK);
        int32_t *dtok = dev_upload(tokens, sizeof tokens);
        float *dx = dev_poisoned(sizeof got);
        GPU_OK(db_cuda_embedding(E, dtok, T, dx, 0));
        dev_download(got, dx, sizeof got);
        for (int t = 0; t < T; t++) {
            db_linear_dequant_row(&W, tokens[t], want);
            if (memcmp(got + t * D, want, sizeof want))
                fail_msg("%s: embedding row %d differs from the CPU's",
                         db_precision_name((db_precision)p), tokens[t]);
        }
        cudaFree(dtok), cudaFree(dx);
        db_cuda_matrix_free(&E);
        db_linear_free(&W);
    }
}

/* ---- KV-cache write
 * ------------------------------------------------------------------------------------ */

static void kv_case(db_kv_dtype dt, db_num_type t) {
    enum { NB = 8, BS = 4, H = 2, HS = 16, KVD = H * HS, LD = 2 * KVD + 8, T = 6 };
    const int block[T] = {5, 5, 2, 7, 0, 3}, off[T] = {0, 3, 1, 2, 0, 1};
    int64_t slot[T];
    static float kv_rows[T * LD];
    fill_uniform(kv_rows, T * LD, SEED, 40 + (uint32_t)dt, 3.0f);
    db_model_config m;
    assert_int_equal(db_model_preset("tiny", &m), 0);
    m.n_layers = 1, m.n_heads = 4, m.n_kv_heads = H, m.dim = 4 * HS;
    db_cpu_kv ref;
    db_error err;
    assert_int_equal(db_cpu_kv_create(&ref, &m, dt, NB, BS, &err), DB_OK);
    for (int i = 0; i < T; i++) {
        slot[i] = i == T - 1 ? -1 : (int64_t)block[i] * BS + off[i]; /* the last row is padding */
        if (slot[i] >= 0)
            db_cpu_kv_write(&ref, db_cpu_kv_row(&ref, 0, block[i], off[i]), kv_rows + i * LD,
                            kv_rows + i * LD + KVD);
    }
    size_t eb = elem_bytes(t), cells = (size_t)NB * H * BS * HS, scales = (size_t)NB * H * BS;
    db_cuda_kv_layer L = {dev_poisoned(cells * eb),
                          dev_poisoned(cells * eb),
                          dev_poisoned(scales * 4),
                          dev_poisoned(scales * 4),
                          t,
                          H,
                          HS,
                          BS};
    float *drows = dev_upload_floats(kv_rows, T * LD);
    int64_t *dslot = dev_upload(slot, sizeof slot);
    GPU_OK(db_cuda_kv_write(L, drows, drows + KVD, LD, dslot, T, 0));
    uint8_t *got[2] = {malloc(cells * eb), malloc(cells * eb)};
    float *got_s[2] = {malloc(scales * 4), malloc(scales * 4)};
    dev_download(got[0], L.k, cells * eb), dev_download(got[1], L.v, cells * eb);
    dev_download(got_s[0], L.k_scale, scales * 4), dev_download(got_s[1], L.v_scale, scales * 4);
    int written[NB * H * BS] = {0};
    for (int i = 0; i < T - 1; i++)
        for (int h = 0; h < H; h++) {
            size_t cell = ((size_t)block[i] * H + h) * BS + off[i];
            size_t cpu_row = db_cpu_kv_row(&ref, 0, block[i], off[i]);
            written[cell] = 1;
            for (int w = 0; w < 2; w++) {
                const uint8_t *cpu =
                    (const uint8_t *)(w ? ref.v : ref.k) + (cpu_row * KVD + (size_t)h * HS) * eb;
                assert_memory_equal(got[w] + cell * HS * eb, cpu, HS * eb);
                if (t == DB_NUM_E4M3)
                    assert_true(got_s[w][cell] ==
                                (w ? ref.v_scale : ref.k_scale)[cpu_row * H + (size_t)h]);
            }
        }
    for (int w = 0; w < 2; w++) /* nothing else written in K or V (0xFF remains), nor its scale */
        for (size_t cell = 0; cell < (size_t)NB * H * BS; cell++) {
            if (written[cell]) continue;
            for (size_t b = 0; b < HS * eb; b++)
                assert_int_equal(got[w][cell * HS * eb + b], 0xFF);
            uint32_t bits;
            memcpy(&bits, &got_s[w][cell], sizeof bits);
            if (t == DB_NUM_E4M3) assert_int_equal(bits, 0xFFFFFFFFu);
        }
    for (int w = 0; w < 2; w++)
        free(got[w]), free(got_s[w]);
    cudaFree(L.k), cudaFree(L.v), cudaFree(L.k_scale), cudaFree(L.v_scale), cudaFree(drows),
        cudaFree(dslot);
    db_cpu_kv_destroy(&ref);
}

static void kv_write_stores_the_cpu_bits_for_every_kv_dtype(void **state) {
    kv_case(DB_KV_FP32, DB_NUM_F32);
    kv_case(DB_KV_FP16, DB_NUM_F16);
    kv_case(DB_KV_BF16, DB_NUM_BF16);
    kv_case(DB_KV_FP8, DB_NUM_E4M3);
}

/* ---- argmax
 * ---------------------------------------------------------------------------------------- */

static void argmax_picks_the_lowest_index_of_the_maximum_and_skips_nans(void **state) {
    enum { R = 5, N = 1000 };
    static float logits[R * N];
    int32_t got[R];
    fill_uniform(logits, R * N, SEED, 50, 10.0f);
    logits[1 * N + 700] = logits[1 * N + 300] = 25.0f; /* a tie: index 300 wins */
    logits[2 * N + 0] = NAN, logits[2 * N + 999] = 30.0f;
    for (int i = 0; i < N; i++)
        logits[3 * N + i] = NAN, logits[4 * N + i] = -1.0f;
    float *d = dev_upload_floats(logits, R * N);
    int32_t *dout = dev_poisoned(sizeof got);
    GPU_OK(db_cuda_argmax(d, R, N, dout, 0));
    dev_download(got, dout, sizeof got);
    for (int r = 0; r < R; r++)
        assert_int_equal(got[r], db_cpu_argmax(logits + r * N, N));
    assert_int_equal(got[1], 300);
    assert_int_equal(got[2], 999);
    assert_int_equal(got[3], 0);
    assert_int_equal(got[4], 0);
    cudaFree(d), cudaFree(dout);
}
#endif

int main(void) {
    if (gpu_test_skipped()) return 77;
#ifdef DECODEBENCH_HAVE_CUDA
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rmsnorm_with_residual_matches_cpu_in_every_input_type),
        cmocka_unit_test(rope_rounds_then_rotates_q_and_k_like_cpu),
        cmocka_unit_test(swiglu_matches_cpu_and_writes_the_next_gemm_input),
        cmocka_unit_test(act_prepare_and_gather_keep_rows_and_scales),
        cmocka_unit_test(embedding_gather_equals_dequantised_rows_in_every_scheme),
        cmocka_unit_test(kv_write_stores_the_cpu_bits_for_every_kv_dtype),
        cmocka_unit_test(argmax_picks_the_lowest_index_of_the_maximum_and_skips_nans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    return 77;
#endif
}
