/* cuda_common.cuh — device helpers shared by the kernels: warp and block reductions, reading a
 * weight element in any storage format, storing a GEMM-input element in any activation type,
 * reading and writing KV-cache elements.
 *
 * What it is for: the one place where the kernels turn the formats of kernels/cuda_types.cuh into
 * fp32 and back, through the numerics of kernels/numerics.h, so every kernel rounds as the CPU
 * does. CUDA C++ only (included by the .cu files, never by C code). What it must not do: launch
 * anything itself or keep state.
 *
 * Launch syntax: the launchers write DB_LAUNCH(kernel, grid, block, smem, stream, args...) for
 * kernel<<<grid, block, smem, stream>>>(args...) (a template kernel whose name holds a comma goes
 * in parentheses: DB_LAUNCH((k<8, 4>), ...)), and a kernel's dynamic shared memory is
 * DB_DYNAMIC_SHARED(float, sm) for `extern __shared__ float sm[]`. With nvcc that is exactly the
 * CUDA syntax. With DB_CUDA_EMULATED (the emulated GPU tests: the .cu files compiled as C++ against
 * tests/emu, run on the CPU by tests/emu/simt.cpp) they become a call of the emulator.
 */
#ifndef DB_KERNELS_CUDA_COMMON_CUH
#define DB_KERNELS_CUDA_COMMON_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "cuda_types.cuh"
#include "numerics.h"

#define DB_FULL_MASK 0xFFFFFFFFu

#ifdef DB_CUDA_EMULATED
#define DB_LAUNCH(kernel, grid, block, smem, stream, ...)                                          \
    db_emu_launch(kernel, grid, block, smem, stream, [&] { kernel(__VA_ARGS__); })
#define DB_DYNAMIC_SHARED(type, name) type *name = (type *)db_emu_dynamic_shared()
#else
#define DB_LAUNCH(kernel, grid, block, smem, stream, ...)                                          \
    kernel<<<grid, block, smem, stream>>>(__VA_ARGS__)
#define DB_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

__device__ __forceinline__ float db_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(DB_FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float db_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(DB_FULL_MASK, v, o));
    return v;
}

/* Sum (op 0) or max (op 1) of v over the block; every thread gets the result. blockDim.x must be a
 * multiple of 32 and at most 1024. Contains __syncthreads: call from every thread of the block. */
__device__ __forceinline__ float db_block_reduce(float v, int op) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    v = op ? db_warp_max(v) : db_warp_sum(v);
    __syncthreads(); /* part[] may still be read by the previous call */
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float r = lane < n_warps ? part[lane] : (op ? -INFINITY : 0.0f);
    return op ? db_warp_max(r) : db_warp_sum(r);
}

/* ---- weights ------------------------------------------------------------------------------------
 */

/* W[n][k] dequantised (scale applied), as db_linear_get (engine/linear.h) reads it. */
__device__ __forceinline__ float db_dev_weight(const db_cuda_matrix &W, int n, int k) {
    size_t off = (size_t)n * (size_t)W.row_stride + (size_t)k;
    switch (W.fmt) {
    case DB_WFMT_F32:
        return ((const float *)W.data)[off];
    case DB_WFMT_F16:
        return __half2float(__ushort_as_half(((const uint16_t *)W.data)[off]));
    case DB_WFMT_BF16:
        return db_bf16_bits_to_f32(((const uint16_t *)W.data)[off]);
    case DB_WFMT_E4M3:
        return db_e4m3_to_f32(((const uint8_t *)W.data)[off]) * W.row_scale[n];
    case DB_WFMT_I8:
        return (float)((const int8_t *)W.data)[off] * W.row_scale[n];
    case DB_WFMT_I4: {
        const uint8_t *row = (const uint8_t *)W.data + (size_t)n * (size_t)(W.row_stride / 2);
        uint16_t sb = W.group_scale[(size_t)n * (size_t)(W.row_stride / DB_Q4_GROUP) +
                                    (size_t)(k / DB_Q4_GROUP)];
        return (float)db_q4_get(row, k) * db_bf16_bits_to_f32(sb);
    }
    }
    return 0.0f;
}

/* ---- GEMM-input activations ---------------------------------------------------------------------
 */

/* Stores v as element (row, col) of a block of GEMM-input rows; scale is the row's e4m3 scale. */
__device__ __forceinline__ void db_dev_act_store(const db_cuda_act &a, int row, int col, float v,
                                                 float scale) {
    size_t i = (size_t)row * (size_t)a.ld + (size_t)col;
    switch (a.type) {
    case DB_NUM_F32:
        ((float *)a.data)[i] = v;
        break;
    case DB_NUM_TF32:
        ((float *)a.data)[i] = db_round_tf32(v);
        break;
    case DB_NUM_F16:
        ((uint16_t *)a.data)[i] = db_f32_to_f16_bits(v);
        break;
    case DB_NUM_BF16:
        ((uint16_t *)a.data)[i] = db_f32_to_bf16_bits(v);
        break;
    case DB_NUM_E4M3:
        ((uint8_t *)a.data)[i] = db_e4m3_quantize(v, scale);
        break;
    }
}

/* Bytes of one element of an activation type. */
__host__ __device__ __forceinline__ int db_act_elem_bytes(db_num_type t) {
    return t == DB_NUM_E4M3 ? 1 : (t == DB_NUM_F16 || t == DB_NUM_BF16) ? 2 : 4;
}

/* ---- KV cache -----------------------------------------------------------------------------------
 */

/* Element index of (slot, head, d) in a layer's K or V; the scale index is this / head_size. */
__device__ __forceinline__ size_t db_dev_kv_index(const db_cuda_kv_layer &kv, int64_t slot,
                                                  int head) {
    int64_t block = slot / kv.block_size, off = slot % kv.block_size;
    return (size_t)(((block * kv.n_kv_heads + head) * kv.block_size + off) * kv.head_size);
}

/* Element i of a K or V row (base = db_dev_kv_index) dequantised with the row's scale. */
__device__ __forceinline__ float db_dev_kv_get(const void *data, db_num_type t, size_t i,
                                               float scale) {
    switch (t) {
    case DB_NUM_F16:
        return __half2float(__ushort_as_half(((const uint16_t *)data)[i]));
    case DB_NUM_BF16:
        return db_bf16_bits_to_f32(((const uint16_t *)data)[i]);
    case DB_NUM_E4M3:
        return db_e4m3_to_f32(((const uint8_t *)data)[i]) * scale;
    default:
        return ((const float *)data)[i];
    }
}

/* Elements i and i + 1 (i even) of a K or V row, dequantised. */
__device__ __forceinline__ float2 db_dev_kv_get2(const void *data, db_num_type t, size_t i,
                                                 float scale) {
    switch (t) {
    case DB_NUM_F16: {
        uint32_t u = *(const uint32_t *)((const uint16_t *)data + i);
        return make_float2(__half2float(__ushort_as_half((unsigned short)(u & 0xFFFFu))),
                           __half2float(__ushort_as_half((unsigned short)(u >> 16))));
    }
    case DB_NUM_BF16: {
        uint32_t u = *(const uint32_t *)((const uint16_t *)data + i);
        return make_float2(db_bf16_bits_to_f32((uint16_t)(u & 0xFFFFu)),
                           db_bf16_bits_to_f32((uint16_t)(u >> 16)));
    }
    case DB_NUM_E4M3: {
        uint16_t u = *(const uint16_t *)((const uint8_t *)data + i);
        return make_float2(db_e4m3_to_f32((uint8_t)(u & 0xFFu)) * scale,
                           db_e4m3_to_f32((uint8_t)(u >> 8)) * scale);
    }
    default:
        return *(const float2 *)((const float *)data + i);
    }
}

#endif
