/* cuda_types.cuh — the data descriptors the CUDA kernels take across their C ABI: weight matrices
 * in a precision scheme's storage, blocks of GEMM-input rows, and one layer of the paged KV cache.
 *
 * What it is for: one C-compatible definition (this header compiles as C17 and as CUDA C++) shared
 * by the kernels (the .cu files of kernels/) and the host side of the CUDA backend
 * (engine/cuda_*.c), so both agree on every layout. Element formats are those of
 * kernels/numerics.h. What it must not do: contain code, allocate, or depend on engine/ headers.
 *
 * Layouts (device memory, row-major):
 *   matrix   W (N outputs, K inputs) stored as (n_rows_alloc, row_stride) elements of the format;
 *            row_stride = K rounded up to 16 (int4: to 128); the padding columns and rows hold
 * zeros (int4: the zero nibble 8). Scales: fp8/int8 row_scale (n_rows_alloc) fp32; int4 group_scale
 * (N, row_stride / 128) bf16 bits. fp8 rows are allocated up to a multiple of 16 (cuBLASLt's fp8
 * kernels want every dimension a multiple of 16). act      GEMM input rows: (rows, ld) of the type;
 * columns K .. ld-1 are zero. fp32 and tf32 are stored as float (tf32: already rounded), fp16/bf16
 * as 16-bit patterns, e4m3 as bytes of x / scale[row] with scale[row] = max|x_row| / 448. kv per
 * layer: K and V each (total_blocks, n_kv_heads, block_size, head_size) of the KV type; a token in
 * physical slot s = block * block_size + offset. fp8 (e4m3) has an fp32 scale per (slot, head) =
 * max|x_head| / 448, stored (total_blocks, n_kv_heads, block_size).
 */
#ifndef DB_KERNELS_CUDA_TYPES_CUH
#define DB_KERNELS_CUDA_TYPES_CUH

#include <stddef.h>
#include <stdint.h>

#include "numerics.h" /* db_num_type */

#ifdef __cplusplus
extern "C" {
#endif

/* Storage format of a weight matrix. */
typedef enum db_cuda_wfmt {
    DB_WFMT_F32 = 0, /* fp32 (the tf32 scheme stores tf32-rounded fp32) */
    DB_WFMT_F16,
    DB_WFMT_BF16,
    DB_WFMT_E4M3, /* per-row fp32 scale */
    DB_WFMT_I8,   /* per-row fp32 scale */
    DB_WFMT_I4,   /* group-128 bf16 scales, two nibbles per byte (low nibble = even k) */
} db_cuda_wfmt;

#define DB_CUDA_ROW_ALIGN                                                                          \
    16 /* row_stride, activation ld and fp8 row counts are multiples of this */

typedef struct db_cuda_matrix {
    int n_rows;       /* N */
    int n_cols;       /* K */
    int n_rows_alloc; /* N, or N rounded up to 16 for fp8 */
    int row_stride;   /* stored elements per row */
    db_cuda_wfmt fmt;
    int tf32;              /* fp32 storage multiplied on tf32 tensor cores */
    void *data;            /* (n_rows_alloc, row_stride) elements; int4: row_stride / 2 bytes/row */
    float *row_scale;      /* (n_rows_alloc): fp8, int8; NULL otherwise */
    uint16_t *group_scale; /* (n_rows, row_stride / 128): int4; NULL otherwise */
} db_cuda_matrix;

/* A block of GEMM-input rows (see the header comment). */
typedef struct db_cuda_act {
    void *data;
    float *scale; /* (rows): e4m3 only */
    int ld;       /* elements per row */
    db_num_type type;
} db_cuda_act;

/* One layer of the paged KV cache (see the header comment). type: F32, F16, BF16 or E4M3. */
typedef struct db_cuda_kv_layer {
    void *k;
    void *v;
    float *k_scale; /* e4m3 only */
    float *v_scale; /* e4m3 only */
    db_num_type type;
    int n_kv_heads;
    int head_size;
    int block_size;
} db_cuda_kv_layer;

#ifdef __cplusplus
}
#endif
#endif
