/* quant.cuh — conversions around the GEMMs (C ABI of kernels/quant.cu): fp32 rows into a GEMM-input
 * type, a gather of GEMM-input rows, int8/int4 weights dequantised to bf16 for cuBLAS, and the
 * per-row / per-token output scales applied after a GEMM.
 *
 * What it is for:
 *   prepare   out[r] = act(x[r]) for rows of K fp32 values: the scheme's rounding, or fp8 e4m3 with
 *             the per-token scale max|x_r| / 448 (db_lin_prepare_row, engine/linear_kernels.h);
 *             padding columns K .. out.ld-1 are zeros.
 *   gather    dst row r = src row rows[r] (elements and the fp8 scale); src.ld == dst.ld.
 *   dequant   rows [row0, row0 + rows) of an int8 / int4 matrix as bf16 (rows, ldo): int8 stores q
 *             (exact; the row scale is applied by the epilogue), int4 stores bf16(q * group scale)
 *             (q * s is exact in fp32, the bf16 rounding is the only error); columns K .. ldo-1
 * zero. epilogue  y[t][n] = d[t][n] * (wscale[n] * xscale[t]) for t < T, n < N (xscale NULL: 1), as
 * the CPU scales fp8 (sw * sx) and int8 (s) outputs; in place when d == y and ldd == ldy. What it
 * must not do: anything but these element-wise maps.
 */
#ifndef DB_KERNELS_QUANT_CUH
#define DB_KERNELS_QUANT_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_act_prepare(const float *x, int ldx, int rows, int K, db_cuda_act out,
                                cudaStream_t stream);
cudaError_t db_cuda_act_gather(db_cuda_act src, const int *rows, int n, db_cuda_act dst,
                               cudaStream_t stream);
cudaError_t db_cuda_dequant_bf16(db_cuda_matrix W, int row0, int rows, uint16_t *out, int ldo,
                                 cudaStream_t stream);
cudaError_t db_cuda_gemm_epilogue(const float *d, int ldd, const float *wscale, const float *xscale,
                                  int T, int N, float *y, int ldy, cudaStream_t stream);
/* The same with d as bf16 bits (a GEMM that wrote bf16). */
cudaError_t db_cuda_gemm_epilogue_bf16(const uint16_t *d, int ldd, const float *wscale,
                                       const float *xscale, int T, int N, float *y, int ldy,
                                       cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
