/* argmax.cuh — greedy next tokens from rows of logits (C ABI of kernels/argmax.cu).
 *
 * What it is for: out[r] = the index of the largest of logits[r*n .. r*n + n), the lowest index
 * among equal maxima, NaNs never chosen, 0 when every logit is NaN — exactly db_cpu_argmax
 * (engine/cpu_sample.h).
 * What it must not do: modify the logits.
 */
#ifndef DB_KERNELS_ARGMAX_CUH
#define DB_KERNELS_ARGMAX_CUH

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t db_cuda_argmax(const float *logits, int rows, int n, int32_t *out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif
