/* rng.h — the seeded pseudo-random generator every workload draws from: xoshiro256** (Blackman &
 * Vigna, 2018) with its state expanded from a 64-bit seed by splitmix64, plus the few variates the
 * length and arrival models need (uniform, exponential, normal, gamma).
 * Must not: keep global state, read the clock or the environment (the same seed gives the same
 * numbers on every run and machine that has the same libm).
 */
#ifndef DB_RNG_H
#define DB_RNG_H

#include <stdint.h>

typedef struct db_rng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} db_rng;

/* One splitmix64 step: advances *state and returns the next output. */
uint64_t db_splitmix64(uint64_t *state);

/* Seeds r with four consecutive splitmix64 outputs of seed (the seeding the algorithm's authors
 * recommend). */
void db_rng_seed(db_rng *r, uint64_t seed);

/* A seed for an independent stream `stream` derived from `seed` (so that, e.g., arrival times do
 * not change when the length model changes). */
uint64_t db_rng_stream_seed(uint64_t seed, uint64_t stream);

/* Next raw 64-bit output of xoshiro256**. */
uint64_t db_rng_next(db_rng *r);

/* Uniform on [0, 1) with 53 random bits. */
double db_rng_uniform(db_rng *r);

/* Uniform on (0, 1]: safe to take the logarithm of. */
double db_rng_uniform_pos(db_rng *r);

/* Uniform integer in [0, n) without modulo bias (Lemire's multiply-and-reject); n >= 1. */
uint64_t db_rng_below(db_rng *r, uint64_t n);

/* Exponential with mean 1. */
double db_rng_exponential(db_rng *r);

/* Standard normal (mean 0, sd 1), Box-Muller; uses two uniforms per call, keeps no cached value. */
double db_rng_normal(db_rng *r);

/* Gamma with the given shape (> 0) and scale 1 (Marsaglia & Tsang 2000; shape < 1 via the
 * G(shape) = G(shape + 1) * U^(1/shape) boost, computed in logs so tiny shapes do not underflow
 * early). */
double db_rng_gamma(db_rng *r, double shape);

#endif
