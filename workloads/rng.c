#include "rng.h"

#include <math.h>

uint64_t db_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void db_rng_seed(db_rng *r, uint64_t seed) {
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = db_splitmix64(&sm);
    /* splitmix64 is a bijection of its counter, so four zero outputs in a row cannot happen;
     * guard anyway, xoshiro must never start from the all-zero state. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

uint64_t db_rng_stream_seed(uint64_t seed, uint64_t stream) {
    uint64_t sm = seed ^ (stream * 0xd1342543de82ef95ULL);
    (void)db_splitmix64(&sm);
    return db_splitmix64(&sm);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t db_rng_next(db_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double db_rng_uniform(db_rng *r) {
    return (double)(db_rng_next(r) >> 11) * 0x1.0p-53;
}

double db_rng_uniform_pos(db_rng *r) {
    return (double)((db_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

uint64_t db_rng_below(db_rng *r, uint64_t n) {
    /* Lemire, "Fast random integer generation in an interval" (2019). */
    unsigned __int128 m = (unsigned __int128)db_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = (unsigned __int128)db_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double db_rng_exponential(db_rng *r) {
    return -log(db_rng_uniform_pos(r));
}

double db_rng_normal(db_rng *r) {
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = db_rng_uniform_pos(r);
    double u2 = db_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* Marsaglia & Tsang, "A simple method for generating gamma variables" (2000), shape >= 1. */
static double gamma_ge1(db_rng *r, double shape) {
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = db_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = db_rng_uniform_pos(r);
        if (u < 1.0 - 0.0331 * (x * x) * (x * x)) return d * v;
        if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

double db_rng_gamma(db_rng *r, double shape) {
    if (shape >= 1.0) return gamma_ge1(r, shape);
    double g = gamma_ge1(r, shape + 1.0);
    double log_u = log(db_rng_uniform_pos(r));
    return exp(log(g) + log_u / shape);
}
