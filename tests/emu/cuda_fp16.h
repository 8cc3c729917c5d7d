/* cuda_fp16.h (tests/emu) — the fp16 type and the two conversions the kernels use
 * (kernels/cuda_common.cuh), for running the CUDA kernels as C++ on the CPU (tests/emu/simt.cpp).
 *
 * __half2float is kernels/numerics.h's exact fp16 -> fp32 conversion, which is what the hardware
 * computes (the conversion is exact). What it does NOT model: __half arithmetic, half2, or any
 * other intrinsic of the real header; a kernel that uses one does not compile here.
 */
#ifndef DB_TESTS_EMU_CUDA_FP16_H
#define DB_TESTS_EMU_CUDA_FP16_H

#include <stdint.h>

#include "numerics.h"

struct __half {
    unsigned short x;
};

static inline __half __ushort_as_half(unsigned short bits) {
    __half h;
    h.x = bits;
    return h;
}

static inline float __half2float(__half h) {
    return db_f16_bits_to_f32(h.x);
}

#endif
