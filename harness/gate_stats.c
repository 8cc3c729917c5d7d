#include "gate_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* ---- order statistics ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double db_stats_quantile_sorted(const double *sorted, size_t n, double q) {
    if (n == 0) return NAN;
    if (q <= 0) return sorted[0];
    if (q >= 1) return sorted[n - 1];
    double h = (double)(n - 1) * q;
    size_t i = (size_t)floor(h);
    if (i + 1 >= n) return sorted[n - 1];
    return sorted[i] + (h - (double)i) * (sorted[i + 1] - sorted[i]);
}

/* Rearranges a[0..n) so that a[k] holds the value it would have if sorted, with nothing larger
 * before it and nothing smaller after it (Hoare's selection; expected O(n)). */
static void select_kth(double *a, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j], a[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* The type-7 quantile q of a[0..n) without a full sort (reorders a). */
static double quantile_select(double *a, size_t n, double q) {
    if (q <= 0) q = 0;
    if (q >= 1) q = 1;
    double h = (double)(n - 1) * q;
    size_t i = (size_t)floor(h);
    select_kth(a, n, i);
    if (i + 1 >= n || h == (double)i) return a[i];
    double next = a[i + 1];
    for (size_t j = i + 2; j < n; j++)
        next = a[j] < next ? a[j] : next;
    return a[i] + (h - (double)i) * (next - a[i]);
}

/* Median of an ascending array. */
static double median_sorted(const double *s, size_t n) {
    return (n % 2) ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

double db_stats_median(const double *x, size_t n) {
    if (n == 0) return NAN;
    double *s = malloc(n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = median_sorted(s, n);
    free(s);
    return m;
}

double db_stats_mean(const double *x, size_t n) {
    if (n == 0) return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    return sum / (double)n;
}

double db_stats_stddev(const double *x, size_t n) {
    if (n < 2) return 0;
    double mean = db_stats_mean(x, n), ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

/* ---- normal distribution --------------------------------------------------------------------- */

double db_stats_normal_cdf(double z) {
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* Polynomial c[0] + c[1] x + ... + c[n-1] x^(n-1) by Horner's rule. */
static double horner(const double *c, int n, double x) {
    double v = c[n - 1];
    for (int i = n - 2; i >= 0; i--)
        v = v * x + c[i];
    return v;
}

/* Wichura, "Algorithm AS 241: The percentage points of the normal distribution", Applied Statistics
 * 37 (1988) 477-484, PPND16: rational approximations in three ranges, coefficients lowest order
 * first. */
static const double as241_a[8] = {
    3.387132872796366608,  133.14166789178437745, 1971.5909503065514427, 13731.693765509461125,
    45921.953931549871457, 67265.770927008700853, 33430.575583588128105, 2509.0809287301226727};
static const double as241_b[8] = {1.0,
                                  42.313330701600911252,
                                  687.1870074920579083,
                                  5394.1960214247511077,
                                  21213.794301586595867,
                                  39307.89580009271061,
                                  28729.085735721942674,
                                  5226.495278852545925};
static const double as241_c[8] = {1.42343711074968357734,   4.6303378461565452959,
                                  5.7694972214606914055,    3.64784832476320460504,
                                  1.27045825245236838258,   0.24178072517745061177,
                                  0.0227238449892691845833, 7.7454501427834140764e-4};
static const double as241_d[8] = {1.0,
                                  2.05319162663775882187,
                                  1.6763848301838038494,
                                  0.68976733498510000455,
                                  0.14810397642748007459,
                                  0.0151986665636164571966,
                                  5.475938084995344946e-4,
                                  1.05075007164441684324e-9};
static const double as241_e[8] = {6.6579046435011037772,     5.4637849111641143699,
                                  1.7848265399172913358,     0.29656057182850489123,
                                  0.026532189526576123093,   0.0012426609473880784386,
                                  2.71155556874348757815e-5, 2.01033439929228813265e-7};
static const double as241_f[8] = {1.0,
                                  0.59983220655588793769,
                                  0.13692988092273580531,
                                  0.0148753612908506148525,
                                  7.868691311456132591e-4,
                                  1.8463183175100546818e-5,
                                  1.4215117583164458887e-7,
                                  2.04426310338993978564e-15};

double db_stats_normal_quantile(double p) {
    if (isnan(p) || p < 0 || p > 1) return NAN;
    if (p == 0) return -INFINITY;
    if (p == 1) return INFINITY;
    double q = p - 0.5;
    if (fabs(q) <= 0.425) {
        double r = 0.180625 - q * q;
        return q * horner(as241_a, 8, r) / horner(as241_b, 8, r);
    }
    double r = sqrt(-log(q < 0 ? p : 1 - p)), v;
    if (r <= 5)
        v = horner(as241_c, 8, r - 1.6) / horner(as241_d, 8, r - 1.6);
    else
        v = horner(as241_e, 8, r - 5) / horner(as241_f, 8, r - 5);
    return q < 0 ? -v : v;
}

/* ---- bootstrap ------------------------------------------------------------------------------- */

/* Median of a resample of the ascending array s[0..n) drawn with replacement: draws n indices,
 * counts how often each was drawn (hits[n], zeroed here), then walks the cumulative counts to the
 * middle order statistic(s). O(n) per call, no sort. Indices come two per 64-bit draw, each 32-bit
 * half mapped to [0, n) by multiply-shift (Lemire 2019); for n < 2^32 the bias is below n / 2^32,
 * far under the bootstrap's own Monte-Carlo error. */
static double resample_median(const double *s, size_t n, size_t *hits, db_rng *rng) {
    memset(hits, 0, n * sizeof *hits);
    uint64_t n64 = n;
    for (size_t k = 0; k < n; k += 2) {
        uint64_t r = db_rng_next(rng);
        hits[((r & 0xffffffffu) * n64) >> 32]++;
        if (k + 1 < n) hits[((r >> 32) * n64) >> 32]++;
    }
    size_t lo_rank = (n - 1) / 2, hi_rank = n / 2; /* 0-based ranks of the middle values */
    double lo = NAN, hi = NAN;
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        seen += hits[i];
        if (isnan(lo) && seen > lo_rank) lo = s[i];
        if (seen > hi_rank) {
            hi = s[i];
            break;
        }
    }
    return 0.5 * (lo + hi);
}

/* Median of the ascending array s[0..n) with element `skip` left out (n >= 2). */
static double median_without(const double *s, size_t n, size_t skip) {
    size_t m = n - 1;
#define AT(k) s[(k) < skip ? (k) : (k) + 1]
    return (m % 2) ? AT(m / 2) : 0.5 * (AT(m / 2 - 1) + AT(m / 2));
#undef AT
}

/* BCa acceleration from the two-sample jackknife (Efron & Tibshirani 1993, section 14.3; the same
 * form as scipy.stats.bootstrap): for each sample j leave out one value at a time, U_ji =
 * (n_j - 1)(mean_i theta_ji - theta_ji); a = sum_j sum_i U_ji^3 / n_j^3 /
 * (6 (sum_j sum_i U_ji^2 / n_j^2)^(3/2)). A sample of one value contributes nothing. */
static double bca_acceleration(const double *sb, size_t nb, const double *sc, size_t nc) {
    const double *sorted[2] = {sb, sc};
    const size_t n[2] = {nb, nc};
    double med[2] = {median_sorted(sb, nb), median_sorted(sc, nc)};
    double num = 0, den = 0;
    for (int j = 0; j < 2; j++) {
        if (n[j] < 2) continue;
        double mean_theta = 0;
        for (size_t i = 0; i < n[j]; i++) {
            double m = median_without(sorted[j], n[j], i);
            mean_theta += (j == 0 ? med[1] / m : m / med[0]);
        }
        mean_theta /= (double)n[j];
        double s2 = 0, s3 = 0, nj = (double)n[j];
        for (size_t i = 0; i < n[j]; i++) {
            double m = median_without(sorted[j], n[j], i);
            double u = (nj - 1) * (mean_theta - (j == 0 ? med[1] / m : m / med[0]));
            s2 += u * u;
            s3 += u * u * u;
        }
        num += s3 / (nj * nj * nj);
        den += s2 / (nj * nj);
    }
    return den > 0 ? num / (6.0 * pow(den, 1.5)) : 0.0;
}

/* Adjusted percentile levels of the BCa interval for nominal tail probabilities. */
static void bca_levels(const double *reps, size_t b, double theta, double a, double alpha,
                       double *p_lo, double *p_hi) {
    size_t below = 0, equal = 0;
    for (size_t i = 0; i < b; i++) {
        below += reps[i] < theta;
        equal += reps[i] == theta;
    }
    /* Bias correction; ties with the estimate (frequent for medians) count half. */
    double frac = ((double)below + 0.5 * (double)equal) / (double)b;
    double lim = 0.5 / (double)b;
    frac = frac < lim ? lim : (frac > 1 - lim ? 1 - lim : frac);
    double z0 = db_stats_normal_quantile(frac);
    double zl = db_stats_normal_quantile(alpha / 2), zh = db_stats_normal_quantile(1 - alpha / 2);
    *p_lo = db_stats_normal_cdf(z0 + (z0 + zl) / (1 - a * (z0 + zl)));
    *p_hi = db_stats_normal_cdf(z0 + (z0 + zh) / (1 - a * (z0 + zh)));
}

static int all_positive(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(x[i] > 0) || !isfinite(x[i])) return 0;
    return 1;
}

int db_stats_bootstrap_ratio_ci(const double *base, size_t nb, const double *cur, size_t nc,
                                double confidence, int resamples, db_ci_method method,
                                uint64_t seed, db_ratio_ci *out) {
    if (!base || !cur || !out || nb == 0 || nc == 0 || nb > UINT32_MAX || nc > UINT32_MAX ||
        resamples < 100 || !(confidence > 0) || !(confidence < 1) || !all_positive(base, nb) ||
        !all_positive(cur, nc))
        return -1;
    size_t b = (size_t)resamples, nmax = nb > nc ? nb : nc;
    double *sb = malloc(nb * sizeof *sb), *sc = malloc(nc * sizeof *sc);
    double *reps = malloc(b * sizeof *reps);
    size_t *hits = malloc(nmax * sizeof *hits);
    if (!sb || !sc || !reps || !hits) {
        free(sb), free(sc), free(reps), free(hits);
        return -1;
    }
    memcpy(sb, base, nb * sizeof *sb);
    memcpy(sc, cur, nc * sizeof *sc);
    qsort(sb, nb, sizeof *sb, cmp_double);
    qsort(sc, nc, sizeof *sc, cmp_double);
    double theta = median_sorted(sc, nc) / median_sorted(sb, nb);

    db_rng rng;
    db_rng_seed(&rng, seed);
    double sum_lb = 0, sum_lb2 = 0, sum_lc = 0, sum_lc2 = 0;
    for (size_t r = 0; r < b; r++) {
        double mb = resample_median(sb, nb, hits, &rng);
        double mc = resample_median(sc, nc, hits, &rng);
        double lb = log(mb), lc = log(mc);
        sum_lb += lb, sum_lb2 += lb * lb, sum_lc += lc, sum_lc2 += lc * lc;
        reps[r] = mc / mb;
    }
    double bd = (double)b;
    out->ratio = theta;
    out->sd_log_base = sqrt(fmax(0.0, sum_lb2 / bd - (sum_lb / bd) * (sum_lb / bd)));
    out->sd_log_cur = sqrt(fmax(0.0, sum_lc2 / bd - (sum_lc / bd) * (sum_lc / bd)));

    double alpha = 1 - confidence, p_lo = alpha / 2, p_hi = 1 - alpha / 2;
    if (method == DB_CI_BCA)
        bca_levels(reps, b, theta, bca_acceleration(sb, nb, sc, nc), alpha, &p_lo, &p_hi);
    out->lo = quantile_select(reps, b, p_lo);
    out->hi = quantile_select(reps, b, p_hi);
    free(sb), free(sc), free(reps), free(hits);
    return 0;
}

/* ---- Mann-Whitney U -------------------------------------------------------------------------- */

int db_stats_mwu_null_counts(size_t nx, size_t ny, double *counts) {
    /* The counts are the coefficients of the Gaussian binomial [nx+ny choose m]_q with m the
     * smaller size: prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i). Each factor is applied as a multiply
     * then an exact division, so every partial product is a polynomial with integer coefficients.
     */
    if (!counts) return -1;
    size_t m = nx < ny ? nx : ny, n = nx < ny ? ny : nx;
    size_t len = m * n + m + 1;
    double *c = calloc(len, sizeof *c);
    if (!c) return -1;
    c[0] = 1;
    size_t deg = 0;
    for (size_t i = 1; i <= m; i++) {
        size_t k = n + i;
        for (size_t j = deg + k; j >= k; j--)
            c[j] -= c[j - k]; /* times (1 - q^k) */
        deg += k;
        for (size_t j = i; j <= deg; j++)
            c[j] += c[j - i]; /* divided by (1 - q^i) */
        deg -= i;
    }
    memcpy(counts, c, (nx * ny + 1) * sizeof *counts);
    free(c);
    return 0;
}

double db_stats_mwu_min_p_two_sided(size_t nx, size_t ny) {
    if (nx == 0 || ny == 0) return 1;
    /* log C(nx + ny, nx) via lgamma: exact enough for a threshold comparison. */
    double log_c =
        lgamma((double)(nx + ny + 1)) - lgamma((double)(nx + 1)) - lgamma((double)(ny + 1));
    double p = 2 * exp(-log_c);
    return p > 1 ? 1 : p;
}

typedef struct {
    double v;
    int from_x;
} pooled_value;

static int cmp_pooled(const void *a, const void *b) {
    return cmp_double(&((const pooled_value *)a)->v, &((const pooled_value *)b)->v);
}

/* Rank sum of x in the pooled sample with midranks for ties; *tie_sum = sum over tie groups of
 * t^3 - t. */
static int rank_sum_x(const double *x, size_t nx, const double *y, size_t ny, double *rank_sum,
                      double *tie_sum) {
    size_t n = nx + ny;
    pooled_value *p = malloc(n * sizeof *p);
    if (!p) return -1;
    for (size_t i = 0; i < nx; i++)
        p[i] = (pooled_value){x[i], 1};
    for (size_t j = 0; j < ny; j++)
        p[nx + j] = (pooled_value){y[j], 0};
    qsort(p, n, sizeof *p, cmp_pooled);
    double rs = 0, ts = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && p[j + 1].v == p[i].v)
            j++;
        double t = (double)(j - i + 1), midrank = 0.5 * (double)(i + j) + 1.0;
        for (size_t k = i; k <= j; k++)
            if (p[k].from_x) rs += midrank;
        ts += t * t * t - t;
        i = j + 1;
    }
    free(p);
    *rank_sum = rs;
    *tie_sum = ts;
    return 0;
}

static int mwu_exact(size_t nx, size_t ny, double u, db_mwu_result *out) {
    size_t len = nx * ny + 1;
    double *counts = malloc(len * sizeof *counts);
    if (!counts || db_stats_mwu_null_counts(nx, ny, counts)) {
        free(counts);
        return -1;
    }
    double total = 0, le = 0, ge = 0;
    size_t uo = (size_t)llround(u);
    for (size_t k = 0; k < len; k++) {
        total += counts[k];
        if (k <= uo) le += counts[k];
        if (k >= uo) ge += counts[k];
    }
    free(counts);
    out->p_less = le / total;
    out->p_greater = ge / total;
    out->exact = 1;
    return 0;
}

int db_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
                          db_mwu_result *out) {
    if (!x || !y || !out || nx == 0 || ny == 0) return -1;
    for (size_t i = 0; i < nx; i++)
        if (isnan(x[i])) return -1;
    for (size_t j = 0; j < ny; j++)
        if (isnan(y[j])) return -1;
    double rank_sum, tie_sum;
    if (rank_sum_x(x, nx, y, ny, &rank_sum, &tie_sum)) return -1;
    double fx = (double)nx, fy = (double)ny, n = fx + fy;
    memset(out, 0, sizeof *out);
    out->u = rank_sum - fx * (fx + 1) / 2;
    out->ties = tie_sum > 0;
    double mean = fx * fy / 2;
    double var = fx * fy / 12 * ((n + 1) - (n > 1 ? tie_sum / (n * (n - 1)) : 0));
    double d = out->u - mean, sd = sqrt(var > 0 ? var : 0);
    out->z = sd > 0 ? copysign(fmax(fabs(d) - 0.5, 0.0), d) / sd : 0;
    if (!out->ties && nx + ny <= DB_MWU_EXACT_MAX_N) {
        if (mwu_exact(nx, ny, out->u, out)) return -1;
    } else if (sd > 0) {
        out->p_less = db_stats_normal_cdf((d + 0.5) / sd);
        out->p_greater = db_stats_normal_cdf(-(d - 0.5) / sd);
    } else { /* every value tied: no evidence either way */
        out->p_less = out->p_greater = 1;
    }
    if (out->p_less > 1) out->p_less = 1;
    if (out->p_greater > 1) out->p_greater = 1;
    double p2 = 2 * fmin(out->p_less, out->p_greater);
    out->p_two_sided = p2 > 1 ? 1 : p2;
    return 0;
}

/* ---- sample size ----------------------------------------------------------------------------- */

double db_stats_samples_to_decide(double n, double half_width, double distance) {
    if (!(distance > 0)) return INFINITY;
    double k = half_width / distance;
    return ceil(n * k * k);
}
