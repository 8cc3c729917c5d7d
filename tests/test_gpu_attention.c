/* The CUDA attention kernels against the CPU backend's attention (engine/cpu_attention.h) over the
 * same paged KV cache: split-KV decode attention (1, several and the most splits; GQA groups 1, 2,
 * 3, 8 and 16; head sizes 16 to 256) and tiled causal prefill attention (chunks starting
 * mid-sequence, several sequences per launch, GQA, head size 256 which needs more than 48 KB of
 * shared memory).
 *
 * The cache holds seeded random K and V written by the CPU (db_cpu_kv_write) and by the GPU kernel
 * (db_cuda_kv_write, bit-identical: test_gpu_kernels.c), into blocks handed out in a scrambled
 * order. Bound: rel = max|gpu - cpu| / max|cpu| <= 2e-5 over all outputs. Both sides compute the
 * same fp32 softmax-weighted sums of up to 200 keys in a different order (online softmax, split
 * merge): the rounding differences are a few units of 2^-24 per term, ~1e-6 of the output; 2e-5
 * leaves a margin while one wrong key, head or position moves outputs by O(1). Outputs start as
 * NaN; padding rows (position -1) must come back as zeros.
 *
 * Built for the CPU emulator (tests/emu, DB_GPU_TEST_EMULATED), where every warp shuffle costs
 * context switches, each decode shape runs with one of the split counts 1, 5, 64 in turn rather
 * than all three (every shape and every split path still runs, not every pair); a GPU build runs
 * every pair.
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
#include "attention.cuh"
#include "cpu_attention.h"
#include "cpu_kv.h"
#include "kv_cache.cuh"
#include "model.h"

enum { SEED = 7031, BS = 4, MAX_SEQS = 4, MAX_T = 64 };

typedef struct cache_fixture {
    db_model_config m;
    int hs, kvd, n_seqs;
    int len[MAX_SEQS];
    int32_t *blocks[MAX_SEQS];
    db_backend_seq_view views[MAX_SEQS];
    int64_t total_blocks;
    db_cpu_kv cpu;
    db_cuda_kv_layer gpu;
    int32_t *flat; /* host block tables of all sequences, back to back */
    int *d_bt;     /* the same on the device */
    int bt_start[MAX_SEQS];
} cache_fixture;

static db_num_type num_type(db_kv_dtype k) {
    return k == DB_KV_FP16   ? DB_NUM_F16
           : k == DB_KV_BF16 ? DB_NUM_BF16
           : k == DB_KV_FP8  ? DB_NUM_E4M3
                             : DB_NUM_F32;
}

/* A cache of n sequences of the given lengths, K and V random, blocks scrambled. */
static void cache_build(cache_fixture *f, int n_heads, int n_kv_heads, int hs, db_kv_dtype dt,
                        int n, const int *len) {
    memset(f, 0, sizeof *f);
    assert_int_equal(db_model_preset("tiny", &f->m), 0);
    f->m.n_layers = 1, f->m.n_heads = n_heads, f->m.n_kv_heads = n_kv_heads,
    f->m.dim = n_heads * hs;
    f->hs = hs, f->kvd = n_kv_heads * hs, f->n_seqs = n;
    int64_t need = 0;
    for (int s = 0; s < n; s++)
        f->len[s] = len[s], need += (len[s] + BS - 1) / BS;
    f->total_blocks = need + 3;
    if (f->total_blocks % 5 == 0) f->total_blocks++; /* so that 5 is coprime: a permutation below */
    db_error err;
    assert_int_equal(db_cpu_kv_create(&f->cpu, &f->m, dt, f->total_blocks, BS, &err), DB_OK);
    size_t cells = (size_t)f->total_blocks * BS * n_kv_heads, eb = f->cpu.elem_bytes;
    f->gpu = (db_cuda_kv_layer){dev_poisoned(cells * hs * eb),
                                dev_poisoned(cells * hs * eb),
                                dev_poisoned(cells * 4),
                                dev_poisoned(cells * 4),
                                num_type(dt),
                                n_kv_heads,
                                hs,
                                BS};
    int32_t *flat = malloc((size_t)need * sizeof(int32_t));
    int64_t next = 0;
    for (int s = 0; s < n; s++) {
        int nb = (len[s] + BS - 1) / BS;
        f->blocks[s] = flat + next;
        f->bt_start[s] = (int)next;
        for (int j = 0; j < nb; j++, next++)
            flat[next] = (int32_t)((next * 5 + 2) % f->total_blocks); /* 5 coprime */
        f->views[s] = (db_backend_seq_view){f->blocks[s], nb};
        float *kv = malloc((size_t)len[s] * 2 * f->kvd * sizeof(float));
        int64_t *slot = malloc((size_t)len[s] * sizeof(int64_t));
        fill_uniform(kv, (size_t)len[s] * 2 * f->kvd, SEED, 100 + (uint32_t)s, 2.0f);
        for (int p = 0; p < len[s]; p++) {
            int32_t b = f->blocks[s][p / BS];
            slot[p] = (int64_t)b * BS + p % BS;
            db_cpu_kv_write(&f->cpu, db_cpu_kv_row(&f->cpu, 0, b, p % BS),
                            kv + (size_t)p * 2 * f->kvd, kv + (size_t)p * 2 * f->kvd + f->kvd);
        }
        float *dkv = dev_upload_floats(kv, (size_t)len[s] * 2 * f->kvd);
        int64_t *dslot = dev_upload(slot, (size_t)len[s] * sizeof(int64_t));
        GPU_OK(db_cuda_kv_write(f->gpu, dkv, dkv + f->kvd, 2 * f->kvd, dslot, len[s], 0));
        GPU_OK(cudaDeviceSynchronize());
        cudaFree(dkv), cudaFree(dslot);
        free(kv), free(slot);
    }
    f->flat = flat;
    f->d_bt = dev_upload(flat, (size_t)need * sizeof(int32_t));
}

static void cache_free(cache_fixture *f) {
    free(f->flat);
    db_cpu_kv_destroy(&f->cpu);
    cudaFree(f->gpu.k), cudaFree(f->gpu.v), cudaFree(f->gpu.k_scale), cudaFree(f->gpu.v_scale),
        cudaFree(f->d_bt);
}

/* CPU attention of T query rows (item[t] = sequence, pos[t] = position). */
static void cpu_attention(cache_fixture *f, int T, const float *q, const int *pos, const int *item,
                          float *out) {
    int max_ctx = 1;
    for (int t = 0; t < T; t++)
        max_ctx = pos[t] + 1 > max_ctx ? pos[t] + 1 : max_ctx;
    size_t stride = db_cpu_attention_scratch_floats(f->m.n_heads, f->m.n_kv_heads, f->hs, max_ctx);
    float *scratch = malloc(stride * sizeof(float));
    db_cpu_attention_args a = {&f->cpu, 0,    f->m.n_heads, T,       q,     out,
                               pos,     item, f->views,     scratch, stride};
    db_cpu_attention(NULL, &a);
    free(scratch);
}

/* Device-side inputs of T rows: tok_pos, tok_bt and the attention descriptor. */
typedef struct gpu_rows {
    int *d_pos, *d_bts;
    float *d_q, *d_out;
    db_cuda_attn a;
} gpu_rows;

static gpu_rows gpu_rows_make(cache_fixture *f, int T, const float *q, const int *pos,
                              const int *item) {
    int bts[MAX_T];
    for (int t = 0; t < T; t++)
        bts[t] = pos[t] < 0 ? 0 : f->bt_start[item[t]];
    gpu_rows g;
    int qd = f->m.n_heads * f->hs;
    g.d_pos = dev_upload(pos, (size_t)T * sizeof(int));
    g.d_bts = dev_upload(bts, (size_t)T * sizeof(int));
    g.d_q = dev_upload_floats(q, (size_t)T * qd);
    g.d_out = dev_poisoned((size_t)T * qd * sizeof(float));
    g.a = (db_cuda_attn){g.d_q, qd, g.d_out, qd, f->gpu, g.d_pos, g.d_bts, f->d_bt, f->m.n_heads};
    return g;
}

static void gpu_rows_free(gpu_rows *g) {
    cudaFree(g->d_pos), cudaFree(g->d_bts), cudaFree(g->d_q), cudaFree(g->d_out);
}

/* ---- decode
 * ---------------------------------------------------------------------------------------- */

/* One decode row per sequence at its last position, plus a padding row; every split count given. */
static void decode_case(int n_heads, int n_kv_heads, int hs, db_kv_dtype dt) {
    const int len[3] = {1, 37, 200};
    cache_fixture f;
    cache_build(&f, n_heads, n_kv_heads, hs, dt, 3, len);
    int T = 4, qd = n_heads * hs, pos[4] = {0, 36, 199, -1}, item[4] = {0, 1, 2, 0};
    float *q = malloc((size_t)T * qd * sizeof(float)),
          *want = malloc((size_t)T * qd * sizeof(float));
    float *got = malloc((size_t)T * qd * sizeof(float));
    fill_uniform(q, (size_t)T * qd, SEED, 200, 1.0f);
    cpu_attention(&f, 3, q, pos, item, want);
    memset(want + 3 * qd, 0, (size_t)qd * sizeof(float)); /* the padding row: zeros */
    const int splits[] = {1, 5, DB_CUDA_ATTN_MAX_SPLITS};
#ifdef DB_GPU_TEST_EMULATED
    static size_t next_split; /* one split count per shape, in turn (header comment) */
    size_t first = next_split++ % 3, step = 3;
#else
    size_t first = 0, step = 1;
#endif
    for (size_t i = first; i < sizeof splits / sizeof splits[0]; i += step) {
        gpu_rows g = gpu_rows_make(&f, T, q, pos, item);
        float *partial = dev_poisoned(
            db_cuda_attention_decode_partial_floats(T, n_heads, hs, splits[i]) * 4 + 4);
        GPU_OK(db_cuda_attention_decode(&g.a, NULL, T, splits[i], partial, 0));
        dev_download(got, g.d_out, (size_t)T * qd * sizeof(float));
        double e = rel_err(got, want, (size_t)T * qd);
        if (!(e <= 2e-5))
            fail_msg("decode heads %d/%d, head size %d, KV %s, %d splits: rel error %g", n_heads,
                     n_kv_heads, hs, db_kv_dtype_name(dt), splits[i], e);
        cudaFree(partial);
        gpu_rows_free(&g);
    }
    free(q), free(want), free(got);
    cache_free(&f);
}

static void decode_attention_matches_cpu_for_every_group_and_head_size(void **state) {
    decode_case(4, 2, 16, DB_KV_FP32);   /* GQA 2, one dimension pair per lane, lanes idle */
    decode_case(6, 6, 48, DB_KV_FP32);   /* MHA, llama2c-15m's head size */
    decode_case(6, 2, 64, DB_KV_FP32);   /* group 3 in a block of 4 heads */
    decode_case(8, 1, 128, DB_KV_FP32);  /* group 8 */
    decode_case(16, 1, 256, DB_KV_FP32); /* group 16: two head chunks; 4 pairs per lane */
}

static void decode_attention_reads_every_kv_dtype(void **state) {
    decode_case(4, 2, 64, DB_KV_FP16);
    decode_case(4, 2, 64, DB_KV_BF16);
    decode_case(4, 2, 64, DB_KV_FP8);
}

static void decode_attention_takes_a_row_list(void **state) {
    const int len[2] = {9, 30};
    cache_fixture f;
    cache_build(&f, 4, 2, 32, DB_KV_FP32, 2, len);
    int qd = 4 * 32, pos[3] = {8, 17, 29}, item[3] = {0, 1, 1}, rows[2] = {2, 0};
    float q[3 * 128], want[3 * 128], got[3 * 128];
    fill_uniform(q, 3 * qd, SEED, 300, 1.0f);
    cpu_attention(&f, 3, q, pos, item, want);
    gpu_rows g = gpu_rows_make(&f, 3, q, pos, item);
    int *drows = dev_upload(rows, sizeof rows);
    float *partial = dev_poisoned(db_cuda_attention_decode_partial_floats(2, 4, 32, 3) * 4);
    GPU_OK(db_cuda_attention_decode(&g.a, drows, 2, 3, partial, 0));
    dev_download(got, g.d_out, sizeof got);
    assert_true(rel_err(got, want, (size_t)qd) <= 2e-5);                   /* row 0 */
    assert_true(rel_err(got + 2 * qd, want + 2 * qd, (size_t)qd) <= 2e-5); /* row 2 */
    for (int i = 0; i < qd; i++)
        assert_true(isnan(got[qd + i])); /* row 1 was not in the list */
    cudaFree(drows), cudaFree(partial);
    gpu_rows_free(&g);
    cache_free(&f);
}

/* ---- prefill
 * ---------------------------------------------------------------------------------------- */

/* Sequence 0: a 40-token chunk at positions 10..49 of a 50-token cache; sequence 1: its first 13
 * tokens. Tiles of db_cuda_attention_prefill_tile_tokens tokens. */
static void prefill_case(int n_heads, int n_kv_heads, int hs, db_kv_dtype dt) {
    const int len[2] = {50, 13};
    cache_fixture f;
    cache_build(&f, n_heads, n_kv_heads, hs, dt, 2, len);
    int T = 53, qd = n_heads * hs, pos[53], item[53], tiles[2 * 53], n_tiles = 0;
    for (int t = 0; t < 40; t++)
        pos[t] = 10 + t, item[t] = 0;
    for (int t = 0; t < 13; t++)
        pos[40 + t] = t, item[40 + t] = 1;
    int tt = db_cuda_attention_prefill_tile_tokens(n_heads, n_kv_heads);
    for (int s = 0, t0 = 0; s < 2; t0 += s == 0 ? 40 : 13, s++)
        for (int j = 0, n = s == 0 ? 40 : 13; j < n; j += tt, n_tiles++)
            tiles[2 * n_tiles] = t0 + j, tiles[2 * n_tiles + 1] = n - j < tt ? n - j : tt;
    float *q = malloc((size_t)T * qd * sizeof(float)),
          *want = malloc((size_t)T * qd * sizeof(float));
    float *got = malloc((size_t)T * qd * sizeof(float));
    fill_uniform(q, (size_t)T * qd, SEED, 400, 1.0f);
    cpu_attention(&f, T, q, pos, item, want);
    gpu_rows g = gpu_rows_make(&f, T, q, pos, item);
    int *dtiles = dev_upload(tiles, (size_t)n_tiles * 2 * sizeof(int));
    GPU_OK(db_cuda_attention_prefill(&g.a, dtiles, n_tiles, 0));
    dev_download(got, g.d_out, (size_t)T * qd * sizeof(float));
    double e = rel_err(got, want, (size_t)T * qd);
    if (!(e <= 2e-5))
        fail_msg("prefill heads %d/%d, head size %d, KV %s: rel error %g", n_heads, n_kv_heads, hs,
                 db_kv_dtype_name(dt), e);
    cudaFree(dtiles);
    gpu_rows_free(&g);
    free(q), free(want), free(got);
    cache_free(&f);
}

static void prefill_attention_matches_cpu_with_the_causal_mask(void **state) {
    prefill_case(4, 2, 16, DB_KV_FP32);
    prefill_case(8, 2, 128, DB_KV_FP32);
    prefill_case(4, 4, 256, DB_KV_FP32); /* 82 KB of shared memory */
    prefill_case(32, 1, 64, DB_KV_FP32); /* group 32: one token per tile, two head chunks */
    prefill_case(6, 2, 48, DB_KV_BF16);
    prefill_case(4, 2, 32, DB_KV_FP8);
}
#endif

int main(void) {
    if (gpu_test_skipped()) return 77;
#ifdef DECODEBENCH_HAVE_CUDA
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_attention_matches_cpu_for_every_group_and_head_size),
        cmocka_unit_test(decode_attention_reads_every_kv_dtype),
        cmocka_unit_test(decode_attention_takes_a_row_list),
        cmocka_unit_test(prefill_attention_matches_cpu_with_the_causal_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    return 77;
#endif
}
