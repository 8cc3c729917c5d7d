/* gate_stats.h — the statistics behind the regression gate, as pure functions of their arguments:
 * medians and quantiles, the normal distribution, a seeded bootstrap confidence interval of the
 * ratio of two medians (percentile or BCa), the Mann-Whitney U test (exact null distribution or the
 * normal approximation with tie correction), and the sample size that would decide an undecided
 * comparison.
 *
 * Must not: read files, print, keep global state, or know what a metric, rule or verdict is (that
 * is gate_rules.h). Functions that allocate free what they allocate and return -1 when allocation
 * fails or an argument is invalid, 0 on success.
 */
#ifndef DB_GATE_STATS_H
#define DB_GATE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* ---- order statistics ------------------------------------------------------------------------ */

/* Quantile q in [0, 1] of an ascending array (linear interpolation between order statistics,
 * Hyndman & Fan type 7: h = (n - 1) q). n >= 1. */
double db_stats_quantile_sorted(const double *sorted, size_t n, double q);

/* Median of x[0..n) (the mean of the two middle values when n is even); x is not modified.
 * Returns NAN when n == 0 or allocation fails. */
double db_stats_median(const double *x, size_t n);

/* Arithmetic mean and sample standard deviation (n - 1 denominator; 0 when n < 2). */
double db_stats_mean(const double *x, size_t n);
double db_stats_stddev(const double *x, size_t n);

/* ---- normal distribution --------------------------------------------------------------------- */

/* Standard normal CDF Phi(z). */
double db_stats_normal_cdf(double z);
/* Its inverse, Phi^-1(p) for p in (0, 1) (Wichura 1988, AS 241 PPND16: ~1e-16 relative error);
 * -INFINITY / INFINITY at p = 0 / 1, NAN outside [0, 1]. */
double db_stats_normal_quantile(double p);

/* ---- bootstrap confidence interval of a ratio of medians ------------------------------------- */

typedef enum db_ci_method {
    DB_CI_PERCENTILE = 0, /* quantiles (1-c)/2 and (1+c)/2 of the bootstrap replicates */
    DB_CI_BCA = 1,        /* bias-corrected and accelerated (Efron 1987; two-sample jackknife) */
} db_ci_method;

typedef struct db_ratio_ci {
    double ratio;       /* median(cur) / median(base), the point estimate */
    double lo, hi;      /* the confidence interval of the ratio */
    double sd_log_base; /* bootstrap standard deviation of log(median) of the baseline samples */
    double sd_log_cur;  /* ... and of the current samples */
} db_ratio_ci;

/* Confidence interval at level `confidence` (in (0, 1)) of median(cur)/median(base) from
 * `resamples` (>= 100) bootstrap replicates: each replicate draws nb baseline and nc current values
 * with replacement, independently. Every value must be finite and > 0; nb, nc >= 1. The same seed
 * gives the same interval. Returns -1 (and leaves *out unspecified) on invalid input or no memory.
 */
int db_stats_bootstrap_ratio_ci(const double *base, size_t nb, const double *cur, size_t nc,
                                double confidence, int resamples, db_ci_method method,
                                uint64_t seed, db_ratio_ci *out);

/* ---- Mann-Whitney U -------------------------------------------------------------------------- */

typedef struct db_mwu_result {
    double u;           /* U of x: #{(i, j): x_i > y_j} + #{x_i == y_j} / 2; ranges 0..nx*ny */
    double z;           /* (U - nx ny / 2) / sd with tie and continuity correction */
    double p_less;      /* one-sided p-value for "x tends to be smaller than y": P(U <= u) */
    double p_greater;   /* one-sided p-value for "x tends to be larger than y": P(U >= u) */
    double p_two_sided; /* min(1, 2 min(p_less, p_greater)) */
    int exact;          /* 1: from the exact null distribution; 0: normal approximation */
    int ties;           /* 1 if any value occurs more than once in the pooled sample */
} db_mwu_result;

/* The exact null distribution is used when there are no ties and nx + ny <= DB_MWU_EXACT_MAX_N
 * (as R's wilcox.test does); otherwise the normal approximation with the tie-corrected variance
 * nx ny / 12 ((N + 1) - sum(t^3 - t) / (N (N - 1))) and a 0.5 continuity correction. */
#define DB_MWU_EXACT_MAX_N 50

int db_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
                          db_mwu_result *out);

/* Number of arrangements with U = u for sizes (nx, ny), u = 0..nx*ny, written to counts[] (length
 * nx*ny + 1); their sum is C(nx + ny, nx). Exact in doubles while that sum is below 2^53
 * (nx + ny <= 50 with the smaller side <= 25 is always safe). */
int db_stats_mwu_null_counts(size_t nx, size_t ny, double *counts);

/* The smallest two-sided p-value an untied exact test with these sizes can give: 2 / C(nx+ny, nx)
 * (capped at 1). When it exceeds 1 - confidence no outcome can be significant. */
double db_stats_mwu_min_p_two_sided(size_t nx, size_t ny);

/* ---- sample size ----------------------------------------------------------------------------- */

/* Samples per side at which an interval whose half-width on one side is `half_width` (now, with n
 * samples per side) would shrink below `distance`, assuming the half-width falls as 1/sqrt(n):
 * ceil(n (half_width / distance)^2). Returns INFINITY when distance <= 0. */
double db_stats_samples_to_decide(double n, double half_width, double distance);

#endif
