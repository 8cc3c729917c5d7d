/* linear_kernels.h — the kernels behind db_linear_forward (private to engine/linear_*.c).
 *
 * What it is for: the seam between the dispatcher (linear_forward.c), which prepares activations
 * and splits the rows of W into pool tasks, and the kernels that compute a task's rows: the AVX2
 * kernels (linear_kernels_avx2.c, built when the compiler targets AVX2 + FMA + F16C) and the
 * portable scalar kernels (linear_kernels_scalar.c) that compute the same sums.
 * What it must not do: allocate (scratch is passed in), use the thread pool, set OpenBLAS threads.
 *
 * Conventions every kernel follows, so the paths agree:
 *   - Prepared activations xa (B, ldx) hold the scheme-rounded activations; for fp8 they hold the
 *     e4m3 values of x / sx[b] times 2^60 (exact), and xscale[b] = sx[b].
 *   - int4 activations for the AVX2 GEMV are in "nibble order" (each block of 16 transposed as a
 *     4x4 matrix) when db_lin_have_avx2() is 1; in natural order otherwise and for the GEMM path.
 *   - fp8 weights are summed as e4m3 * 2^-120: the fp32 whose bits are the e4m3 sign, exponent and
 *     mantissa moved to bits 31, 26..23 and 22..20 (e4m3 subnormals become fp32 subnormals,
 *     exactly). Against activations times 2^60 the products stay normal; the output is
 *     acc * (2^60 sw[n] sx[b]).
 *   - int8 output is acc * s[n]; int4 applies its group scales inside the sum.
 */
#ifndef DB_LINEAR_KERNELS_H
#define DB_LINEAR_KERNELS_H

#include "linear.h"

typedef struct db_lin_args {
    const db_linear *W;
    const float *xa;     /* (B, ldx) prepared activations */
    int ldx;             /* >= row_stride */
    const float *xscale; /* (B): fp8 per-token scales; NULL otherwise */
    float *y;            /* (B, ldy) */
    int ldy;             /* N */
    int B;
} db_lin_args;

/* 1 when the AVX2 kernels are compiled in. */
int db_lin_have_avx2(void);

/* GEMV-style: rows [n0, n1) of W against all B activation rows, each row read once. */
void db_lin_gemv_avx2(const db_lin_args *a, int n0, int n1);
void db_lin_gemv_scalar(const db_lin_args *a, int n0, int n1);

/* Tile dequantisation for the GEMM path: rows [n0, n0 + rows) of W into tile (rows, ld >=
 * row_stride) as fp32 with the same per-format convention as the GEMV (fp8 values * 2^-120 and int8
 * q without their row scale; int4 with group scales applied, its zero padding written up to
 * row_stride). */
void db_lin_dequant_tile_avx2(const db_linear *W, int n0, int rows, float *tile, int ld);
void db_lin_dequant_tile_scalar(const db_linear *W, int n0, int rows, float *tile, int ld);

/* The per-format output scale of row n for batch row b (1 for fp32/tf32/fp16/bf16/int4). */
static inline float db_lin_out_scale(const db_lin_args *a, int n, int b) {
    switch (a->W->precision) {
    case DB_PREC_FP8:
        return 0x1p60f * a->W->row_scale[n] * a->xscale[b];
    case DB_PREC_INT8:
        return a->W->row_scale[n];
    default:
        return 1.0f;
    }
}

/* x[0..n) rounded in place to type t (tf32, f16 or bf16; others element by element), identical to
 * db_round_to_type. Scalar when AVX2 is not compiled in. */
void db_lin_round_avx2(float *x, size_t n, db_num_type t);
/* max |x[i]| over [0, n), NaNs ignored (as fmaxf does); 0 for n = 0. */
float db_lin_absmax_avx2(const float *x, size_t n);
/* out[i] = e4m3(x[i] / sx) * 2^60 as fp32, identical to db_e4m3_quantize + db_e4m3_to_f32 (0 for a
 * zero sx). Scalar when AVX2 is not compiled in. */
void db_lin_e4m3_avx2(const float *x, size_t n, float sx, float *out);

/* Which kernels db_lin_forward_path uses: the dispatcher's choice, or one forced (for benchmarks).
 */
typedef enum db_lin_path { DB_LIN_PATH_AUTO = 0, DB_LIN_PATH_GEMV, DB_LIN_PATH_GEMM } db_lin_path;

/* db_linear_forward with the path chosen by the caller. */
db_status db_lin_forward_path(const db_linear *W, const float *x, float *y, int B,
                              db_threadpool *pool, db_lin_path path, db_error *err);

/* Activation preparation of one row (K elements in, ldx written; columns K .. ldx are zeroed);
 * *xscale receives the fp8 per-token scale. q4_permuted: int4 GEMV order (linear_kernels_avx2.c).
 */
void db_lin_prepare_row(db_precision p, const float *x, int K, float *xa, int ldx, float *xscale,
                        int q4_permuted);

#endif
