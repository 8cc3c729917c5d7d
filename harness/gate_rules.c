#include "gate_rules.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

const char *db_gate_verdict_name(db_gate_verdict v) {
    switch (v) {
    case DB_GATE_PASS:
        return "PASS";
    case DB_GATE_IMPROVEMENT:
        return "IMPROVEMENT";
    case DB_GATE_INCONCLUSIVE:
        return "INCONCLUSIVE";
    case DB_GATE_REGRESSION:
        return "REGRESSION";
    case DB_GATE_CHANGED:
        return "CHANGED";
    }
    return "?";
}

/* ---- rules ----------------------------------------------------------------------------------- */

static const db_gate_rule default_rules[] = {
    {"request_throughput", -0.05, 0, 0},
    {"output_throughput", -0.05, 0, 0},
    {"total_token_throughput", -0.05, 0, 0},
    {"request_goodput", -0.05, 0, 0},
    {"median_ttft_ms", 0.10, 1, 0},
    {"p99_ttft_ms", 0.10, 1, 0},
    {"median_tpot_ms", 0.10, 1, 0},
    {"p99_tpot_ms", 0.10, 1, 0},
    {"median_itl_ms", 0.10, 1, 0},
    {"p99_itl_ms", 0.10, 1, 0},
    {"median_e2el_ms", 0.10, 1, 0},
    {"p99_e2el_ms", 0.10, 1, 0},
    /* the columns of `decodebench sweep --mode step` */
    {"tokens_per_s", -0.05, 0, 0},
    {"step_ms", 0.10, 1, 0},
};

const db_gate_rule *db_gate_default_rules(size_t *n) {
    *n = sizeof default_rules / sizeof default_rules[0];
    return default_rules;
}

int db_gate_rule_parse(const char *spec, db_gate_rule *out, char *msg, size_t msg_len) {
    const char *colon = spec ? strrchr(spec, ':') : NULL;
    memset(out, 0, sizeof *out);
    if (!colon || colon == spec || (size_t)(colon - spec) >= DB_GATE_NAME_MAX) {
        snprintf(msg, msg_len, "--rule expects METRIC:+P%% or METRIC:-P%% or METRIC:off, got '%s'",
                 spec ? spec : "");
        return -1;
    }
    memcpy(out->metric, spec, (size_t)(colon - spec));
    const char *v = colon + 1;
    if (!strcmp(v, "off")) {
        out->off = 1;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double pct = strtod(v, &end);
    int signed_ok = v[0] == '+' || v[0] == '-';
    if (!signed_ok || end == v + 1 || errno || strcmp(end, "%") != 0 || !isfinite(pct) ||
        (v[0] == '-' && pct <= -100) || (v[0] == '+' && pct > 1000)) {
        snprintf(msg, msg_len,
                 "--rule %s: the threshold must be a signed percent such as -5%% (a drop is bad; "
                 "above -100%%) or +10%% (a rise is bad; at most +1000%%), got '%s'",
                 out->metric, v);
        return -1;
    }
    out->bad_up = v[0] == '+';
    out->threshold = pct / 100.0;
    return 0;
}

void db_gate_rule_format(const db_gate_rule *r, char *buf, size_t len) {
    if (r->off)
        snprintf(buf, len, "off");
    else
        snprintf(buf, len, "%c%g%%", r->bad_up ? '+' : '-', fabs(r->threshold) * 100.0);
}

/* ---- exact comparison ------------------------------------------------------------------------ */

static int all_equal(const double *x, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}

int db_gate_looks_deterministic(const double *base, size_t nb, const double *cur, size_t nc,
                                size_t min_n) {
    return nb >= min_n && nc >= min_n && nb > 0 && nc > 0 && all_equal(base, nb) &&
           all_equal(cur, nc);
}

static void range_of(const double *x, size_t n, double *lo, double *hi) {
    *lo = *hi = x[0];
    for (size_t i = 1; i < n; i++) {
        if (x[i] < *lo) *lo = x[i];
        if (x[i] > *hi) *hi = x[i];
    }
}

static void result_init(db_gate_result *out, size_t nb, size_t nc) {
    memset(out, 0, sizeof *out);
    out->verdict = DB_GATE_INCONCLUSIVE;
    out->n_base = nb;
    out->n_cur = nc;
    out->base_median = out->cur_median = out->ratio = NAN;
    out->ci_lo = out->ci_hi = out->p_bad = out->p_good = out->p_value = NAN;
    out->need_base = out->need_cur = INFINITY;
}

void db_gate_judge_exact(const double *base, size_t nb, const double *cur, size_t nc,
                         db_gate_result *out) {
    result_init(out, nb, nc);
    out->method = DB_GATE_EXACT;
    out->need_base = out->need_cur = 0;
    if (nb == 0 || nc == 0) {
        snprintf(out->note, sizeof out->note, "no samples in the %s", nb ? "current" : "baseline");
        out->verdict = DB_GATE_CHANGED;
        return;
    }
    out->base_median = db_stats_median(base, nb);
    out->cur_median = db_stats_median(cur, nc);
    out->ratio = out->base_median != 0 ? out->cur_median / out->base_median : NAN;
    double lo, hi;
    if (!all_equal(base, nb) || !all_equal(cur, nc)) {
        int b = !all_equal(base, nb);
        range_of(b ? base : cur, b ? nb : nc, &lo, &hi);
        snprintf(out->note, sizeof out->note, "not deterministic: %s samples range %.10g..%.10g",
                 b ? "baseline" : "current", lo, hi);
        out->verdict = DB_GATE_CHANGED;
    } else if (base[0] == cur[0]) {
        snprintf(out->note, sizeof out->note, "identical (%.10g)", base[0]);
        out->verdict = DB_GATE_PASS;
    } else {
        if (base[0] != 0)
            snprintf(out->note, sizeof out->note, "changed: %.10g -> %.10g (%+.3g%%)", base[0],
                     cur[0], (cur[0] / base[0] - 1) * 100);
        else
            snprintf(out->note, sizeof out->note, "changed: %.10g -> %.10g", base[0], cur[0]);
        out->verdict = DB_GATE_CHANGED;
    }
}

/* ---- statistical verdict --------------------------------------------------------------------- */

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* One-sided Mann-Whitney p-values of cur against the baseline scaled by `factor`: *p_bad for
 * "current worse than baseline x factor", *p_good for "better"; *z is the normal statistic (sign:
 * positive = current larger). */
static int mwu_scaled(const db_gate_rule *r, const double *base, size_t nb, const double *cur,
                      size_t nc, double factor, double *p_bad, double *p_good, double *z,
                      int *exact) {
    double *scaled = malloc(nb * sizeof *scaled);
    if (!scaled) return -1;
    for (size_t i = 0; i < nb; i++)
        scaled[i] = base[i] * factor;
    db_mwu_result m;
    int rc = db_stats_mann_whitney(cur, nc, scaled, nb, &m);
    free(scaled);
    if (rc) return -1;
    *p_bad = r->bad_up ? m.p_greater : m.p_less;
    *p_good = r->bad_up ? m.p_less : m.p_greater;
    *z = m.z;
    *exact = m.exact;
    return 0;
}

/* Grows (nb, nc) in proportion until the exact Mann-Whitney test could reach p <= alpha two-sided.
 */
static void grow_until_attainable(double *nb, double *nc, double alpha) {
    if (*nb < 2) *nb = 2;
    if (*nc < 2) *nc = 2;
    while (db_stats_mwu_min_p_two_sided((size_t)*nb, (size_t)*nc) > alpha) {
        if (*nb <= *nc)
            *nb += 1;
        else
            *nc += 1;
    }
}

/* Samples per side that would decide an undecided comparison: the factor k by which both sample
 * counts must grow so that (a) the interval's half-width on the threshold's side falls below the
 * distance from the estimate to the threshold (width ~ 1/sqrt(n)) and (b) the Mann-Whitney z
 * against the threshold reaches z_(1-alpha/2) (z ~ sqrt(n)), with the dispersion and estimate
 * observed now. */
static void samples_to_decide(db_gate_result *o, double bound, double z, double alpha) {
    double lr = log(o->ratio), lb = log(bound);
    double half = lb < lr ? lr - log(o->ci_lo) : log(o->ci_hi) - lr;
    double k_ci = db_stats_samples_to_decide(1.0, half, fabs(lr - lb));
    double zc = db_stats_normal_quantile(1 - alpha / 2);
    double k_mwu = z != 0 ? (zc / z) * (zc / z) : INFINITY;
    double k = fmax(1.0, fmax(k_ci, k_mwu));
    if (!isfinite(k) || k * (double)(o->n_base + o->n_cur) > 1e6) {
        o->need_base = o->need_cur = INFINITY;
        return;
    }
    o->need_base = ceil(k * (double)o->n_base);
    o->need_cur = ceil(k * (double)o->n_cur);
    grow_until_attainable(&o->need_base, &o->need_cur, alpha);
}

int db_gate_judge(const db_gate_rule *r, const double *base, size_t nb, const double *cur,
                  size_t nc, const db_gate_params *p, db_gate_result *out) {
    result_init(out, nb, nc);
    if (nb == 0 || nc == 0) {
        snprintf(out->note, sizeof out->note, "no samples in the %s", nb ? "current" : "baseline");
        out->need_base = out->need_cur = 0;
        return 0;
    }
    out->base_median = db_stats_median(base, nb);
    out->cur_median = db_stats_median(cur, nc);
    if (out->base_median > 0 && out->cur_median > 0)
        out->ratio = out->cur_median / out->base_median;
    double alpha = 1 - p->confidence;
    if (nb < 2 || nc < 2 || db_stats_mwu_min_p_two_sided(nb, nc) > alpha) {
        out->need_base = (double)nb, out->need_cur = (double)nc;
        grow_until_attainable(&out->need_base, &out->need_cur, alpha);
        snprintf(out->note, sizeof out->note,
                 "too few samples (%zu baseline, %zu current): no outcome reaches confidence %g",
                 nb, nc, p->confidence);
        return 0;
    }
    db_ratio_ci ci;
    uint64_t seed = db_rng_stream_seed(p->seed, name_hash(r->metric));
    if (db_stats_bootstrap_ratio_ci(base, nb, cur, nc, p->confidence, p->resamples, p->ci, seed,
                                    &ci)) {
        snprintf(out->note, sizeof out->note, "ratio undefined: samples must be positive numbers");
        out->need_base = out->need_cur = 0; /* more samples would not help */
        return 0;
    }
    out->ratio = ci.ratio, out->ci_lo = ci.lo, out->ci_hi = ci.hi;

    /* The decision rule (README, "Decision rule"): B = 1 + t, its mirror M = 1 / B. */
    double bound = 1 + r->threshold, mirror = 1 / bound, z, pb_m, pg_m, z_m;
    int exact;
    if (mwu_scaled(r, base, nb, cur, nc, bound, &out->p_bad, &out->p_good, &z, &exact) ||
        mwu_scaled(r, base, nb, cur, nc, mirror, &pb_m, &pg_m, &z_m, &exact))
        return -1;
    out->mwu_exact = exact;
    double tail = alpha / 2;
    int bad_b = r->bad_up ? ci.lo > bound : ci.hi < bound;    /* CI wholly worse than B */
    int good_b = r->bad_up ? ci.hi < bound : ci.lo > bound;   /* CI wholly better than B */
    int good_m = r->bad_up ? ci.hi < mirror : ci.lo > mirror; /* CI wholly better than M */
    if (bad_b && out->p_bad <= tail) {
        out->verdict = DB_GATE_REGRESSION;
        out->p_value = out->p_bad;
    } else if (good_m && pg_m <= tail) {
        out->verdict = DB_GATE_IMPROVEMENT;
        out->p_value = pg_m;
    } else if (good_b && out->p_good <= tail) {
        out->verdict = DB_GATE_PASS;
        out->p_value = out->p_good;
    } else {
        out->verdict = DB_GATE_INCONCLUSIVE;
        out->p_value = fmin(out->p_bad, out->p_good);
        if (bad_b || good_b)
            snprintf(out->note, sizeof out->note,
                     "interval clears x%.4g but Mann-Whitney p = %.3g > %.3g", bound,
                     bad_b ? out->p_bad : out->p_good, tail);
        else
            snprintf(out->note, sizeof out->note, "interval [%.4g, %.4g] contains x%.4g", ci.lo,
                     ci.hi, bound);
        samples_to_decide(out, bound, z, alpha);
        return 0;
    }
    out->need_base = out->need_cur = 0;
    return 0;
}
