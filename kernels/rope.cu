/* rope.cu — activation rounding and RoPE of the QKV rows (contract in rope.cuh). One block per
 * token row; each thread takes pairs of elements (a q or k pair is rotated, a v pair only rounded).
 */
#include "cuda_common.cuh"
#include "rope.cuh"

#define DB_ROPE_THREADS 128

__global__ void __launch_bounds__(DB_ROPE_THREADS)
    rope_kernel(float *qkv, int ld, const int *pos, int q_dim, int kv_dim, int head_size,
                const float *freq, db_num_type round) {
    int t = blockIdx.x;
    float *row = qkv + (size_t)t * (size_t)ld;
    int p = pos[t] < 0 ? 0 : pos[t];
    int rotated = q_dim + kv_dim, total = q_dim + 2 * kv_dim;
    for (int i = 2 * threadIdx.x; i < total; i += 2 * blockDim.x) {
        float v0 = db_round_to_type(row[i], round), v1 = db_round_to_type(row[i + 1], round);
        if (i < rotated) {
            int pair =
                (i < q_dim ? i : i - q_dim) % head_size; /* even: heads start at even offsets */
            float val = (float)p * freq[pair / 2];
            float fci, fcr;
            sincosf(val, &fci, &fcr);
            float r0 = v0 * fcr - v1 * fci, r1 = v0 * fci + v1 * fcr;
            v0 = r0, v1 = r1;
        }
        row[i] = v0;
        row[i + 1] = v1;
    }
}

extern "C" cudaError_t db_cuda_rope(float *qkv, int ld, const int *pos, int T, int q_dim,
                                    int kv_dim, int head_size, const float *freq, db_num_type round,
                                    cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (head_size <= 0 || (head_size & 1) || q_dim % head_size || kv_dim % head_size ||
        ld < q_dim + 2 * kv_dim)
        return cudaErrorInvalidValue;
    DB_LAUNCH(rope_kernel, T, DB_ROPE_THREADS, 0, stream, qkv, ld, pos, q_dim, kv_dim, head_size,
              freq, round);
    return cudaGetLastError();
}
