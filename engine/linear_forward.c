/* linear_forward.c — db_linear_forward: activation preparation, the choice between the GEMV kernels
 * and the tile-dequantise + cblas_sgemm path, and the split of W's rows over the thread pool.
 *
 * Paths (thresholds measured with tests/bench/bench_engine_linear.c on a 2-core Zen 3):
 *   B < gemm_min_batch(precision): the GEMV kernels; W's rows are streamed once for all B
 * activation rows, in tasks of rows claimed by the pool's threads. otherwise: one cblas_sgemm per
 * task of rows: on W's own rows for fp32/tf32, and on a per-thread fp32 tile (up to 1 MiB) the
 * task's rows were dequantised into for the other schemes, followed by the per-row / per-token
 * output scales.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "linear_kernels.h"

#define DB_LIN_TILE_FLOATS (256 * 1024) /* per-thread dequantised tile: at most 1 MiB */
#define DB_LIN_ROW_ALIGN 8              /* task row ranges are multiples of 8 rows */
#define DB_LIN_TASKS_PER_THREAD 8

/* The batch from which the GEMM path is faster, measured on the llama2c-110m layer set with
 * bench_engine_linear --path gemv|gemm (2 threads, ms per pass, GEMV vs GEMM): fp32 B = 12: 28.5 vs
 * 34.3, B = 16: 44.8 vs 38.6; int4 B = 16: 38.1 vs 39.6, B = 24: 61.7 vs 48.9; bf16 B = 16: 31.2 vs
 * 40.2, B = 24: 47.7 vs 49.8, B = 32: 63.0 vs 60.2; int8 B = 24: 44.6 vs 48.1, B = 32: 59.3
 * vs 58.1, B = 48: 88.0 vs 78.1 (fp8 widens as cheaply as int8, fp16 as bf16). */
static int gemm_min_batch(db_precision p) {
    switch (p) {
    case DB_PREC_FP16:
    case DB_PREC_BF16:
        return 24;
    case DB_PREC_FP8:
    case DB_PREC_INT8:
        return 32;
    default:
        return 16; /* fp32, tf32, int4 */
    }
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_threaded(void) {
    openblas_set_num_threads(1);
}

/* Permutes activations into the int4 GEMV's nibble order: each block of 16 is transposed as a 4x4
 * matrix (position 4r + i holds element 4i + r), matching the lanes unpack_q4_32 produces. */
static void permute_q4(float *xa, int n) {
    float tmp[16];
    for (int k0 = 0; k0 < n; k0 += 16) {
        for (int r = 0; r < 4; r++)
            for (int i = 0; i < 4; i++)
                tmp[4 * r + i] = xa[k0 + 4 * i + r];
        memcpy(xa + k0, tmp, sizeof tmp);
    }
}

void db_lin_prepare_row(db_precision p, const float *x, int K, float *xa, int ldx, float *xscale,
                        int q4_permuted) {
    if (p == DB_PREC_FP8) {
        float sx = db_e4m3_scale(db_lin_absmax_avx2(x, (size_t)K));
        *xscale = sx;
        db_lin_e4m3_avx2(x, (size_t)K, sx, xa);
    } else {
        memcpy(xa, x, (size_t)K * sizeof(float));
        db_round_buffer_to_precision(xa, (size_t)K, p);
    }
    memset(xa + K, 0, (size_t)(ldx - K) * sizeof(float));
    if (q4_permuted) permute_q4(xa, ldx);
}

typedef struct forward_job {
    db_lin_args a;
    int use_gemm;
    int tile_rows;     /* rows dequantised at once on the GEMM path */
    int rows_per_task; /* rows of W per pool task */
    float **tiles; /* (pool size): per-worker tile buffers (tile_rows, row_stride); NULL for fp32 */
} forward_job;

/* Rows [n0, n1) through cblas_sgemm, dequantising tiles unless the storage is already fp32. */
static void gemm_rows(const forward_job *j, float *tile, int n0, int n1) {
    const db_lin_args *a = &j->a;
    const db_linear *W = a->W;
    int K = W->n_cols, ld = W->row_stride;
    int direct = W->precision == DB_PREC_FP32 || W->precision == DB_PREC_TF32;
    int step = direct ? n1 - n0 : j->tile_rows;
    for (int r0 = n0; r0 < n1; r0 += step) {
        int rows = n1 - r0 < step ? n1 - r0 : step;
        const float *w = (const float *)W->data + (size_t)r0 * (size_t)ld;
        if (!direct) {
            if (db_lin_have_avx2())
                db_lin_dequant_tile_avx2(W, r0, rows, tile, ld);
            else
                db_lin_dequant_tile_scalar(W, r0, rows, tile, ld);
            w = tile;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->B, rows, K, 1.0f, a->xa, a->ldx, w,
                    ld, 0.0f, a->y + r0, a->ldy);
        if (W->precision == DB_PREC_FP8 || W->precision == DB_PREC_INT8)
            for (int b = 0; b < a->B; b++)
                for (int n = r0; n < r0 + rows; n++)
                    a->y[(size_t)b * (size_t)a->ldy + (size_t)n] *= db_lin_out_scale(a, n, b);
    }
}

static void forward_task(void *arg, int task, int worker) {
    const forward_job *j = arg;
    int n0 = task * j->rows_per_task;
    int n1 = n0 + j->rows_per_task < j->a.W->n_rows ? n0 + j->rows_per_task : j->a.W->n_rows;
    if (j->use_gemm)
        gemm_rows(j, j->tiles ? j->tiles[worker] : NULL, n0, n1);
    else if (db_lin_have_avx2())
        db_lin_gemv_avx2(&j->a, n0, n1);
    else
        db_lin_gemv_scalar(&j->a, n0, n1);
}

/* Rows per task. GEMV: about DB_LIN_TASKS_PER_THREAD tasks per thread (so a thread that falls
 * behind is helped by the others). GEMM: one tile per task, as many rows as fit DB_LIN_TILE_FLOATS
 * (each cblas_sgemm call packs all of x again, so tiles are kept large) but at least two tasks per
 * thread. Multiples of 8 rows. */
static int rows_per_task(const db_linear *W, int use_gemm, int n_threads) {
    int N = W->n_rows, parts = use_gemm ? 2 * n_threads : DB_LIN_TASKS_PER_THREAD * n_threads;
    int per = (N + parts - 1) / parts;
    per = (per + DB_LIN_ROW_ALIGN - 1) / DB_LIN_ROW_ALIGN * DB_LIN_ROW_ALIGN;
    if (use_gemm) {
        int fit = DB_LIN_TILE_FLOATS / W->row_stride / DB_LIN_ROW_ALIGN * DB_LIN_ROW_ALIGN;
        per = per < fit ? per : fit;
    }
    return per < DB_LIN_ROW_ALIGN ? DB_LIN_ROW_ALIGN : per;
}

/* Scratch: slot nt (shared) holds the prepared activations (xa_floats), the B activation scales and
 * the tile pointers; slots 0..nt-1 hold the tiles. Without a pool one malloc'd block holds it all
 * and is returned in *owned for the caller to free. */
static db_status get_scratch(db_threadpool *pool, forward_job *j, size_t xa_floats,
                             size_t tile_floats, void **owned, db_error *err) {
    int nt = db_threadpool_size(pool);
    size_t head = (xa_floats + (size_t)j->a.B + 15) / 16 * 16 * sizeof(float);
    size_t shared = head + (size_t)nt * sizeof(float *);
    char *base = NULL;
    *owned = NULL;
    if (pool)
        base = db_threadpool_scratch(pool, nt, shared);
    else
        base = *owned = malloc(shared + tile_floats * sizeof(float) + 64);
    if (!base) return db_error_set(err, DB_ERR_NOMEM, "linear layer: out of memory for scratch");
    float **tiles = (float **)(void *)(base + head);
    for (int t = 0; tile_floats && t < nt; t++) {
        tiles[t] = pool ? db_threadpool_scratch(pool, t, tile_floats * sizeof(float))
                        : (float *)(void *)(base + (shared + 63) / 64 * 64);
        if (!tiles[t])
            return db_error_set(err, DB_ERR_NOMEM, "linear layer: out of memory for scratch");
    }
    j->a.xa = (const float *)(void *)base;
    j->a.xscale = (const float *)(void *)base + xa_floats;
    j->tiles = tile_floats ? tiles : NULL;
    return DB_OK;
}

db_status db_linear_forward(const db_linear *W, const float *x, float *y, int B,
                            db_threadpool *pool, db_error *err) {
    return db_lin_forward_path(W, x, y, B, pool, DB_LIN_PATH_AUTO, err);
}

db_status db_lin_forward_path(const db_linear *W, const float *x, float *y, int B,
                              db_threadpool *pool, db_lin_path path, db_error *err) {
    if (!W || !W->data || !x || !y)
        return db_error_set(err, DB_ERR_INVALID, "linear forward: missing weights or buffers");
    if (B < 1)
        return db_error_set(err, DB_ERR_INVALID, "linear forward: batch %d, expected >= 1", B);
    pthread_once(&blas_once, blas_single_threaded);
    db_precision p = W->precision;
    int K = W->n_cols;
    forward_job j = {.a = {.W = W, .xa = x, .ldx = K, .y = y, .ldy = W->n_rows, .B = B}};
    j.use_gemm = path == DB_LIN_PATH_AUTO ? B >= gemm_min_batch(p) : path == DB_LIN_PATH_GEMM;
    int direct = p == DB_PREC_FP32 || p == DB_PREC_TF32;
    j.rows_per_task = rows_per_task(W, j.use_gemm, db_threadpool_size(pool));
    j.tile_rows = j.rows_per_task;
    void *owned = NULL;
    if (p != DB_PREC_FP32) {
        int permuted = p == DB_PREC_INT4 && !j.use_gemm && db_lin_have_avx2();
        size_t tile_floats =
            j.use_gemm && !direct ? (size_t)j.tile_rows * (size_t)W->row_stride : 0;
        db_status st =
            get_scratch(pool, &j, (size_t)B * (size_t)W->row_stride, tile_floats, &owned, err);
        if (st) {
            free(owned);
            return st;
        }
        j.a.ldx = W->row_stride;
        float *xa = (float *)j.a.xa;
        for (int b = 0; b < B; b++)
            db_lin_prepare_row(p, x + (size_t)b * (size_t)K, K, xa + (size_t)b * (size_t)j.a.ldx,
                               j.a.ldx, (float *)j.a.xscale + b, permuted);
    }
    int n_tasks = (W->n_rows + j.rows_per_task - 1) / j.rows_per_task;
    db_threadpool_run_tasks(pool, n_tasks, forward_task, &j);
    free(owned);
    return DB_OK;
}
