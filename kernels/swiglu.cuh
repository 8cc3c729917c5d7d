/* swiglu.cuh — the SwiGLU activation between the fused w1|w3 GEMM and w2, writing w2's input
 * (C ABI of kernels/swiglu.cu).
 *
 * What it is for: per token row r of h13 (rows, 2 * hidden) = [gate (hidden) | up (hidden)]:
 *   out[r][i] = act(silu(g) * u), g = round(gate[i]), u = round(up[i]), silu(g) = g / (1 + exp(-g))
 * evaluated as the CPU does (g * (1 / (1 + expf(-g))) * u), round = the scheme's activation type,
 * act = the GEMM-input type (fp8: e4m3 with the row's scale). Padding columns hidden .. out.ld-1
 * are zeros. What it must not do: modify h13.
 */
#ifndef DB_KERNELS_SWIGLU_CUH
#define DB_KERNELS_SWIGLU_CUH

#include <cuda_runtime_api.h>

#include "cuda_types.cuh"

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_swiglu(const float *h13, int hidden, db_num_type round, int rows,
                           db_cuda_act out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
