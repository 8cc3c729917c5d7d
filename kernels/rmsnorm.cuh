/* rmsnorm.cuh — RMSNorm of the residual stream, fused with the residual add before it and the
 * conversion of its output into the next GEMM's input type (C ABI of kernels/rmsnorm.cu).
 *
 * What it is for: llama2.c's `x += proj; xb = rmsnorm(x, g)` of one step's token rows in one pass:
 *   x[r]   += round(residual[r])        (when residual is not NULL; round = the scheme's activation
 *                                        type, as the CPU rounds every GEMM output)
 *   out[r]  = act(g * (x[r] * (1 / sqrt(mean(x[r]^2) + eps))))
 * where act stores into the GEMM-input type (fp8: e4m3 with the row's scale max|.|/448), and the
 * padding columns dim .. out.ld-1 are written as zeros. x and residual are (rows, dim) fp32.
 * What it must not do: read or write anything but these rows.
 */
#ifndef DB_KERNELS_RMSNORM_CUH
#define DB_KERNELS_RMSNORM_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_rmsnorm(float *x, const float *residual, db_num_type residual_round,
                            const float *gain, int rows, int dim, float eps, db_cuda_act out,
                            cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
