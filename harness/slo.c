/* slo.c — parsing and formatting of service-level objectives (slo.h). */
#include "slo.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRIC_LIST "ttft, tpot, itl, e2e (or e2el), queue, norm"

typedef struct {
    const char *name;
    db_latency kind;
} metric_name;

static const metric_name metric_names[] = {
    {"ttft", DB_LAT_TTFT}, {"tpot", DB_LAT_TPOT},   {"itl", DB_LAT_ITL},   {"e2e", DB_LAT_E2E},
    {"e2el", DB_LAT_E2E},  {"queue", DB_LAT_QUEUE}, {"norm", DB_LAT_NORM},
};

typedef struct {
    const char *unit;
    double ns;
} unit_scale;

static const unit_scale units[] = {{"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};

void db_slo_init(db_slo_set *s) {
    memset(s, 0, sizeof *s);
    for (int k = 0; k < DB_LAT_COUNT; k++)
        s->per_request_ns[k] = -1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int db_slo_parse_duration(const char *text, int64_t *ns, char *err, size_t errlen) {
    const char *p = text;
    size_t digits = 0, dots = 0;
    while (isdigit((unsigned char)*p) || *p == '.') {
        if (*p == '.')
            dots++;
        else
            digits++;
        p++;
    }
    if (digits == 0 || dots > 1) {
        set_err(err, errlen,
                "duration '%s': expected a number followed by a unit (ns, us, ms or s), e.g. 200ms",
                text);
        return -1;
    }
    const unit_scale *u = NULL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(p, units[i].unit)) u = &units[i];
    if (!u) {
        set_err(err, errlen,
                "duration '%s': expected a unit ns, us, ms or s after the number, got '%s'", text,
                *p ? p : "nothing");
        return -1;
    }
    char number[64];
    size_t len = (size_t)(p - text);
    if (len >= sizeof number) {
        set_err(err, errlen, "duration '%s': number too long", text);
        return -1;
    }
    memcpy(number, text, len);
    number[len] = '\0';
    double v = strtod(number, NULL) * u->ns;
    if (!(v >= 0.5)) {
        set_err(err, errlen, "duration '%s': expected a positive duration (at least 1 ns)", text);
        return -1;
    }
    if (v > (double)DB_METRICS_HDR_HIGHEST) {
        set_err(err, errlen, "duration '%s': expected at most 1 h (3600s)", text);
        return -1;
    }
    *ns = (int64_t)llround(v);
    return 0;
}

static int find_metric(const char *name, db_latency *out) {
    for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
        if (!strcmp(name, metric_names[i].name)) {
            *out = metric_names[i].kind;
            return 0;
        }
    return -1;
}

/* "p99" -> 99, "p99.9" -> 99.9, "mean" -> -1. Returns -1 on a bad prefix. */
static int parse_aggregate_prefix(const char *prefix, double *percentile) {
    if (!strcmp(prefix, "mean")) {
        *percentile = -1;
        return 0;
    }
    if (prefix[0] != 'p' || !prefix[1]) return -1;
    size_t digits = 0, dots = 0;
    for (const char *q = prefix + 1; *q; q++) {
        if (*q == '.')
            dots++;
        else if (isdigit((unsigned char)*q))
            digits++;
        else
            return -1;
    }
    if (digits == 0 || dots > 1) return -1;
    double p = strtod(prefix + 1, NULL);
    if (!(p > 0 && p <= 100)) return -1;
    *percentile = p;
    return 0;
}

/* Parse one "NAME:DURATION" item (already trimmed) into s. */
static int parse_item(const char *item, db_slo_set *s, char *err, size_t errlen) {
    const char *colon = strchr(item, ':');
    if (!colon || colon == item) {
        set_err(err, errlen,
                "objective '%s': expected METRIC:DURATION (metric one of " METRIC_LIST
                ", optionally prefixed pNN_ or mean_), e.g. ttft:200ms or p99_ttft:300ms",
                item);
        return -1;
    }
    char name[64];
    size_t nlen = (size_t)(colon - item);
    if (nlen >= sizeof name) nlen = sizeof name - 1;
    memcpy(name, item, nlen);
    name[nlen] = '\0';

    double percentile = 0;
    int aggregate = 0;
    const char *metric = name;
    char *under = strchr(name, '_');
    if (under) {
        *under = '\0';
        if (parse_aggregate_prefix(name, &percentile) != 0) {
            set_err(
                err, errlen,
                "objective '%s': bad aggregate '%s'; expected pNN (0 < NN <= 100, e.g. p99, p99.9) "
                "or mean before '_'",
                item, name);
            return -1;
        }
        aggregate = 1;
        metric = under + 1;
    }
    db_latency kind;
    if (find_metric(metric, &kind) != 0) {
        set_err(err, errlen, "objective '%s': unknown metric '%s'; expected one of " METRIC_LIST,
                item, metric);
        return -1;
    }
    int64_t ns;
    char derr[192];
    if (db_slo_parse_duration(colon + 1, &ns, derr, sizeof derr) != 0) {
        set_err(err, errlen, "objective '%s': %s", item, derr);
        return -1;
    }
    if (!aggregate) {
        if (s->per_request_ns[kind] >= 0) {
            set_err(err, errlen,
                    "objective '%s': %s is given twice; expected each metric at most once", item,
                    db_latency_name(kind));
            return -1;
        }
        s->per_request_ns[kind] = ns;
        return 0;
    }
    for (size_t i = 0; i < s->n_aggregates; i++)
        if (s->aggregates[i].metric == kind && s->aggregates[i].percentile == percentile) {
            set_err(err, errlen,
                    "objective '%s': given twice; expected each objective at most once", item);
            return -1;
        }
    if (s->n_aggregates == DB_SLO_MAX_AGGREGATES) {
        set_err(err, errlen, "objective '%s': too many aggregate objectives; expected at most %d",
                item, DB_SLO_MAX_AGGREGATES);
        return -1;
    }
    s->aggregates[s->n_aggregates++] = (db_slo_aggregate){kind, percentile, ns};
    return 0;
}

int db_slo_parse(const char *text, db_slo_set *s, char *err, size_t errlen) {
    db_slo_init(s);
    if (!text) text = "";
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (!copy) {
        set_err(err, errlen, "out of memory parsing '%s'", text);
        return -1;
    }
    memcpy(copy, text, len + 1);
    int rc = 0, item_no = 0;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        item_no++;
        while (isspace((unsigned char)*p))
            p++;
        char *end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*p) {
            set_err(err, errlen,
                    "objective %d of '%s' is empty; expected METRIC:DURATION[,METRIC:DURATION...], "
                    "e.g. ttft:200ms,tpot:50ms",
                    item_no, text);
            rc = -1;
            break;
        }
        if (parse_item(p, s, err, errlen) != 0) {
            rc = -1;
            break;
        }
        if (!comma) break;
        p = comma + 1;
    }
    free(copy);
    if (rc != 0) db_slo_init(s);
    return rc;
}

int db_slo_has_per_request(const db_slo_set *s) {
    for (int k = 0; k < DB_LAT_COUNT; k++)
        if (s->per_request_ns[k] >= 0) return 1;
    return 0;
}

/* Shortest exact rendering of ns with the largest unit that keeps it an integer or short decimal.
 */
static void format_duration(int64_t ns, char *buf, size_t len) {
    if (ns % 1000000000 == 0)
        snprintf(buf, len, "%llds", (long long)(ns / 1000000000));
    else if (ns % 1000000 == 0)
        snprintf(buf, len, "%lldms", (long long)(ns / 1000000));
    else if (ns % 1000 == 0)
        snprintf(buf, len, "%lldus", (long long)(ns / 1000));
    else
        snprintf(buf, len, "%lldns", (long long)ns);
}

int db_slo_aggregate_label(const db_slo_aggregate *a, char *buf, size_t len) {
    if (a->percentile < 0) return snprintf(buf, len, "mean_%s", db_latency_name(a->metric));
    return snprintf(buf, len, "p%g_%s", a->percentile, db_latency_name(a->metric));
}

int db_slo_format(const db_slo_set *s, char *buf, size_t len) {
    size_t used = 0;
    int total = 0;
    char item[96], dur[32], label[48];
    for (int k = 0; k < DB_LAT_COUNT + (int)s->n_aggregates; k++) {
        if (k < DB_LAT_COUNT) {
            if (s->per_request_ns[k] < 0) continue;
            format_duration(s->per_request_ns[k], dur, sizeof dur);
            snprintf(item, sizeof item, "%s%s:%s", total ? "," : "", db_latency_name((db_latency)k),
                     dur);
        } else {
            const db_slo_aggregate *a = &s->aggregates[k - DB_LAT_COUNT];
            db_slo_aggregate_label(a, label, sizeof label);
            format_duration(a->threshold_ns, dur, sizeof dur);
            snprintf(item, sizeof item, "%s%s:%s", total ? "," : "", label, dur);
        }
        int n = snprintf(buf && used < len ? buf + used : NULL, buf && used < len ? len - used : 0,
                         "%s", item);
        total += n;
        used += (size_t)n;
    }
    if (buf && len && total == 0) buf[0] = '\0';
    return total;
}
