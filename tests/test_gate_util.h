/* test_gate_util.h — helpers shared by the gate tests: seeded log-normal samples with a given
 * coefficient of variation, and binomial acceptance limits for rates measured over many seeds.
 *
 * Why binomial limits: a rate measured over N independent seeds is Binomial(N, p). A test that
 * asserts "rate <= p" would fail by chance; it asserts instead that the count is below the value a
 * true rate p exceeds with probability under 1e-3 (and, for detection, above the value a true rate
 * p falls below with probability under 1e-3). The seeds are fixed, so each test is deterministic;
 * the limits say how surprising a failure would be if the claimed rate held.
 */
#ifndef DB_TEST_GATE_UTIL_H
#define DB_TEST_GATE_UTIL_H

#include <math.h>
#include <stddef.h>

#include "rng.h"

/* n samples of median * LogNormal(0, sigma) with sigma chosen so the coefficient of variation is
 * cv: CV^2 = exp(sigma^2) - 1 for a log-normal, so sigma = sqrt(log(1 + cv^2)). */
static inline void gate_lognormal(db_rng *r, double median, double cv, double *out, size_t n) {
    double sigma = sqrt(log(1 + cv * cv));
    for (size_t i = 0; i < n; i++)
        out[i] = median * exp(sigma * db_rng_normal(r));
}

static inline double gate_binom_log_pmf(int n, int k, double p) {
    return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + k * log(p) +
           (n - k) * log1p(-p);
}

/* The largest count c with P(X > c) < tail for X ~ Binomial(n, p): counts above c would be
 * surprising at that level if the true rate were p. */
static inline int gate_binom_upper_limit(int n, double p, double tail) {
    double above = 1.0; /* P(X > c) for c = -1 */
    for (int c = 0; c <= n; c++) {
        above -= exp(gate_binom_log_pmf(n, c, p));
        if (above < tail) return c;
    }
    return n;
}

/* The smallest count c with P(X < c) < tail for X ~ Binomial(n, p). */
static inline int gate_binom_lower_limit(int n, double p, double tail) {
    double below = 0.0; /* P(X < c) */
    for (int c = 0; c <= n; c++) {
        double next = below + exp(gate_binom_log_pmf(n, c, p));
        if (next >= tail) return c;
        below = next;
    }
    return n;
}

#endif
