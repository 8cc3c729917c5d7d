/* synth.h — the counter-based generator of synthetic weights, shared by the host and the device.
 *
 * What it is for: element i of tensor t under seed s is a pure function of (s, t, i), so the CPU
 * backend and the CUDA backend (which generates its weights on the device) build the very same
 * model, bit for bit, in any order and on any number of threads. Only 64-bit integer arithmetic
 * and one exact int -> float conversion followed by a multiply by a constant are used.
 * What it must not do: keep state, allocate, or use a library random generator.
 *
 * Construction (mix = the splitmix64 finaliser, gamma = 0x9E3779B97F4A7C15):
 *   - key = mix(mix(seed ^ 0x6A09E667F3BCC909) + (tensor_id + 1) gamma);
 *   - bits = mix(key + (i + 1) gamma);
 *   - db_synth_uniform: the top 24 bits v of bits give (2v + 1 - 2^24) 2^-24, the 2^24 odd
 *     multiples of 2^-24 in (-1, 1), equally likely: mean exactly 0, variance (1 - 2^-48) / 3;
 *   - db_synth_normal: the Irwin-Hall sum of the four 16-bit fields v_j of bits,
 *     t = sum_j (2 v_j + 1 - 2^16), times sqrt(3) / 2^17: mean exactly 0, variance 1 - 2^-32
 *     (to fp32 rounding), bounded by ±2 sqrt(3).
 */
#ifndef DB_KERNELS_SYNTH_H
#define DB_KERNELS_SYNTH_H

#include <stdint.h>

#include "numerics.h" /* DB_HD */

#ifdef __cplusplus
extern "C" {
#endif

#define DB_SYNTH_GAMMA 0x9E3779B97F4A7C15ull

/* The splitmix64 finaliser (a bijection of 64-bit words with full avalanche). */
DB_HD uint64_t db_synth_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The per-tensor key: compute once per tensor, then draw elements with db_synth_bits. */
DB_HD uint64_t db_synth_key(uint64_t seed, uint32_t tensor_id) {
    uint64_t s = db_synth_mix64(seed ^ 0x6A09E667F3BCC909ull);
    return db_synth_mix64(s + ((uint64_t)tensor_id + 1u) * DB_SYNTH_GAMMA);
}

/* 64 random bits of element `index` of the tensor with this key. */
DB_HD uint64_t db_synth_bits(uint64_t key, uint64_t index) {
    return db_synth_mix64(key + (index + 1u) * DB_SYNTH_GAMMA);
}

/* Uniform in (-1, 1): an odd multiple of 2^-24 (exact in fp32). */
DB_HD float db_synth_uniform_from_bits(uint64_t bits) {
    int32_t v = (int32_t)(bits >> 40);                              /* 0 .. 2^24 - 1 */
    return (float)(2 * v + 1 - 16777216) * 5.9604644775390625e-08f; /* 2^-24 */
}

/* Approximately standard normal (variance 1), in [-2 sqrt 3, 2 sqrt 3]. */
DB_HD float db_synth_normal_from_bits(uint64_t bits) {
    int32_t t = 0;
    for (int j = 0; j < 4; j++)
        t += 2 * (int32_t)((bits >> (16 * j)) & 0xFFFFu) + 1 - 65536;
    return (float)t * 1.32144989591131e-05f; /* sqrt(3) / 2^17; |t| < 2^18 converts exactly */
}

DB_HD float db_synth_uniform(uint64_t seed, uint32_t tensor_id, uint64_t index) {
    return db_synth_uniform_from_bits(db_synth_bits(db_synth_key(seed, tensor_id), index));
}

DB_HD float db_synth_normal(uint64_t seed, uint32_t tensor_id, uint64_t index) {
    return db_synth_normal_from_bits(db_synth_bits(db_synth_key(seed, tensor_id), index));
}

#ifdef __cplusplus
}
#endif
#endif
