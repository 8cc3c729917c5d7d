/* harness/hdr_hgrm.c — the percentile distribution table (".hgrm") that Java HdrHistogram's
 * outputPercentileDistribution writes and hdr-plot / HistogramLogAnalyzer read (harness/hdr.h). */
#include "hdr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FIXED_DIGITS = 360 };

/* Round a decimal digit string up by one unit in its last place; returns false on carry out. */
static bool increment_digits(char *d, int n) {
    for (int i = n - 1; i >= 0; i--) {
        if (d[i] != '9') {
            d[i]++;
            return true;
        }
        d[i] = '0';
    }
    return false;
}

/* Java's Formatter "%{width}.{frac}f": take the shortest decimal that reads back as x (the digits
 * of Double.toString) and round it half-up to frac places. C's printf rounds the exact binary value
 * half-to-even instead, which differs on ties such as 0.9997802734375 at 12 places. */
static void format_fixed_java(char *out, size_t cap, double x, int width, int frac) {
    if (!isfinite(x)) {
        snprintf(out, cap, "%*f", width, x);
        return;
    }
    char sci[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, x);
        if (strtod(sci, NULL) == x) break;
    }
    char digits[20] = {0};
    int nd = 0;
    const char *s = sci + (sci[0] == '-');
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits[nd++] = *s;
    int point = atoi(s + 1) + 1; /* digits before the decimal point */
    int keep = point + frac;     /* leading digits of x * 10^frac */
    if (keep > MAX_FIXED_DIGITS || frac > 40) {
        snprintf(out, cap, "%*.*f", width, frac, x);
        return;
    }
    /* scaled = round_half_up(x * 10^frac) as decimal digits, with one spare slot for a carry */
    char scaled[MAX_FIXED_DIGITS + 2] = {0};
    int n = 0;
    for (int i = 0; i < keep; i++)
        scaled[n++] = i < nd ? digits[i] : '0';
    char next = (keep >= 0 && keep < nd) ? digits[keep] : '0';
    if (next >= '5' && !increment_digits(scaled, n)) {
        memmove(scaled + 1, scaled, (size_t)n);
        scaled[0] = '1';
        n++;
    }
    if (n == 0) scaled[n++] = '0';
    scaled[n] = '\0';
    /* lay out: [-]int.frac, at least one integer digit */
    char body[MAX_FIXED_DIGITS + 8];
    int b = 0;
    bool zero = strspn(scaled, "0") >= (size_t)n;
    if (x < 0 && !zero) body[b++] = '-';
    int int_digits = n - frac;
    if (int_digits <= 0) body[b++] = '0';
    for (int i = 0; i < int_digits; i++)
        body[b++] = scaled[i];
    if (frac > 0) {
        body[b++] = '.';
        for (int i = int_digits; i < n; i++)
            body[b++] = i < 0 ? '0' : scaled[i];
    }
    body[b] = '\0';
    snprintf(out, cap, "%*s", width, body);
}

static int write_row(FILE *f, const db_hdr *h, const db_hdr_iter *it, double value_scale) {
    char value[400], level[400], inverse[400];
    double fraction = it->percentile / 100.0;
    format_fixed_java(value, sizeof value, (double)it->value / value_scale, 12, h->sig_figs);
    format_fixed_java(level, sizeof level, fraction, 2, 12);
    if (it->percentile == 100.0) /* the final row has no 1/(1-p) column */
        return fprintf(f, "%s %s %10lld\n", value, level, (long long)it->cumulative_count) < 0;
    format_fixed_java(inverse, sizeof inverse, 1.0 / (1.0 - fraction), 14, 2);
    return fprintf(f, "%s %s %10lld %s\n", value, level, (long long)it->cumulative_count, inverse) <
           0;
}

static int write_footer(FILE *f, const db_hdr *h, double value_scale) {
    char mean[400], stddev[400], max[400];
    int digits = h->sig_figs;
    format_fixed_java(mean, sizeof mean, db_hdr_mean(h) / value_scale, 12, digits);
    format_fixed_java(stddev, sizeof stddev, db_hdr_stddev(h) / value_scale, 12, digits);
    format_fixed_java(max, sizeof max, (double)db_hdr_max(h) / value_scale, 12, digits);
    int bad = fprintf(f, "#[Mean    = %s, StdDeviation   = %s]\n", mean, stddev) < 0;
    bad |= fprintf(f, "#[Max     = %s, Total count    = %12lld]\n", max,
                   (long long)h->total_count) < 0;
    bad |= fprintf(f, "#[Buckets = %12d, SubBuckets     = %12d]\n", h->bucket_count,
                   h->sub_bucket_count) < 0;
    return bad;
}

int db_hdr_write_percentiles(FILE *f, const db_hdr *h, int32_t ticks_per_half_distance,
                             double value_scale) {
    if (!f || !h || !h->counts || !(value_scale > 0.0)) return DB_HDR_EINVAL;
    int bad = fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                      "1/(1-Percentile)") < 0;
    db_hdr_iter it;
    db_hdr_iter_percentiles(&it, h, ticks_per_half_distance);
    while (!bad && db_hdr_iter_next(&it))
        bad = write_row(f, h, &it, value_scale);
    if (!bad) bad = write_footer(f, h, value_scale);
    return bad || ferror(f) ? DB_HDR_EIO : DB_HDR_OK;
}
