/* gemv.cuh — weight-only int8 / int4 matrix-vector products for small batches (C ABI of
 * kernels/gemv.cu).
 *
 * What it is for: y (B, N) = x (B, K) W^T for an int8 (per-row scale) or int4 (group-128 bf16
 * scales) matrix W and bf16 activations x, reading every weight byte once for all B rows:
 *   int8  y[b][n] = s[n] * sum_k q[n][k] x[b][k]
 *   int4  y[b][n] = sum_g s[n][g] * sum_{k in g} q[n][k] x[b][k]
 * (engine/linear.h's definition; fp32 accumulation, order unspecified). x is bf16 bits with row
 * stride ldx >= K, a multiple of 16 whose padding columns hold zeros; y is fp32 with row stride
 * ldy. 1 <= B <= db_cuda_gemv_max_batch(). What it must not do: handle other formats (cuBLAS does),
 * allocate.
 */
#ifndef DB_KERNELS_GEMV_CUH
#define DB_KERNELS_GEMV_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

int db_cuda_gemv_max_batch(void);
cudaError_t db_cuda_gemv_q(db_cuda_matrix W, const uint16_t *x, int ldx, int B, float *y, int ldy,
                           cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
