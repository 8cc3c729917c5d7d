#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_errf(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int db_parse_double(const char *s, double *out) {
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int db_parse_int64(const char *s, int64_t *out) {
    const char *p = s;
    if (!p || !*p) return -1;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return -1;
    *out = (int64_t)v;
    return 0;
}

/* Reads exactly n digits at *p into *v. */
static int digits(const char **p, int n, int *v) {
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

/* Reads the digits of a fraction (just past its '.') as nanoseconds: nine digits are kept, the
 * tenth rounds half up, later ones are ignored. Returns the number of digits read (0 = none). */
static int fraction_ns(const char **p, int64_t *ns) {
    const char *q = *p;
    int64_t v = 0;
    int n = 0, round = 0;
    while (isdigit((unsigned char)*q)) {
        if (n < 9)
            v = v * 10 + (*q - '0');
        else if (n == 9)
            round = *q >= '5';
        n++;
        q++;
    }
    for (int i = n; i < 9; i++)
        v *= 10;
    *p = q;
    *ns = v + round;
    return n;
}

int db_parse_seconds_ns(const char *s, int64_t *ns) {
    if (!s) return -1;
    const char *p = s;
    int64_t whole = 0;
    int nd = 0;
    for (; isdigit((unsigned char)*p); p++, nd++) {
        if (whole > (INT64_MAX / 1000000000LL - 10) / 10) return -1;
        whole = whole * 10 + (*p - '0');
    }
    int64_t frac = 0;
    int nf = 0;
    if (*p == '.') {
        p++;
        nf = fraction_ns(&p, &frac);
    }
    if (*p || nd + nf == 0) return -1;
    *ns = whole * 1000000000LL + frac;
    return 0;
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (H. Hinnant, "chrono-compatible
 * low-level date algorithms"). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return dm[m - 1] + (m == 2 && leap);
}

/* Parses an optional zone at *p into seconds east of UTC. */
static int zone_offset_s(const char *p, int64_t *offset_s) {
    *offset_s = 0;
    if (*p == 0) return 0;
    if (p[0] == 'Z' && p[1] == 0) return 0;
    if (*p != '+' && *p != '-') return -1;
    int sign = *p == '-' ? -1 : 1, hh, mm;
    p++;
    if (digits(&p, 2, &hh)) return -1;
    if (*p == ':') p++;
    if (digits(&p, 2, &mm) || *p || hh > 23 || mm > 59) return -1;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int db_parse_timestamp_ns(const char *s, int64_t *ns) {
    if (!s) return -1;
    const char *p = s;
    int y, mo, d, h, mi, se;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (*p != ' ' && *p != 'T') return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
        return -1;
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        if (fraction_ns(&p, &frac) == 0) return -1;
    }
    int64_t offset_s;
    if (zone_offset_s(p, &offset_s)) return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    const int64_t max_s = INT64_MAX / 1000000000LL - 1; /* int64 ns reach 1677..2262 */
    if (secs > max_s || secs < -max_s) return -1;
    *ns = secs * 1000000000LL + frac;
    return 0;
}

int db_parse_duration_s(const char *s, double *seconds) {
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6},  {"ms", 1e-3}, {"s", 1.0},
                 {"m", 60.0},  {"h", 3600.0}, {"", 1.0}};
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v) || v < 0) return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *seconds = v * units[i].scale;
            return 0;
        }
    }
    return -1;
}
