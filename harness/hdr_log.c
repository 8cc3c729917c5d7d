/* harness/hdr_log.c — the .hlog interval log (format version 1.3) that Java HdrHistogram's
 * HistogramLogWriter writes and HistogramLogReader / HistogramLogAnalyzer read (harness/hdr.h). */
#include "hdr.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_LEGEND                                                                                 \
    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
#define START_TIME_PREFIX "#[StartTime: "
#define BASE_TIME_PREFIX "#[BaseTime: "
/* Java's reader: a first timestamp more than a year before StartTime means "relative to StartTime".
 */
#define RELATIVE_TIMESTAMP_WINDOW_S (365.0 * 24 * 3600)

/* ---- writer ---------------------------------------------------------------------------------- */

int db_hdr_log_writer_open(db_hdr_log_writer *w, FILE *f, double start_time_s, double base_time_s) {
    if (!w || !f || !isfinite(start_time_s) || start_time_s < 0 || isnan(base_time_s))
        return DB_HDR_EINVAL;
    w->f = f;
    w->start_time_s = start_time_s;
    w->has_base_time = base_time_s >= 0.0;
    w->base_time_s = w->has_base_time ? base_time_s : start_time_s;
    w->max_value_divisor = 1e6;

    time_t whole = (time_t)floor(start_time_s);
    struct tm tm;
    char date[64] = "";
    if (gmtime_r(&whole, &tm)) strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
    int bad = fprintf(f, "#[Histogram log format version 1.3]\n") < 0;
    bad |=
        fprintf(f, START_TIME_PREFIX "%.3f (seconds since epoch), %s]\n", start_time_s, date) < 0;
    if (w->has_base_time)
        bad |= fprintf(f, BASE_TIME_PREFIX "%.3f (seconds since epoch)]\n", base_time_s) < 0;
    bad |= fprintf(f, LOG_LEGEND "\n") < 0;
    return bad ? DB_HDR_EIO : DB_HDR_OK;
}

static bool tag_is_valid(const char *tag) {
    return strpbrk(tag, ", \r\n") == NULL;
}

int db_hdr_log_write_interval(db_hdr_log_writer *w, const char *tag, double start_s,
                              double length_s, const db_hdr *h) {
    if (!w || !w->f || !h || !isfinite(start_s) || !isfinite(length_s) ||
        (tag && !tag_is_valid(tag)) || !(w->max_value_divisor > 0.0))
        return DB_HDR_EINVAL;
    char *b64;
    int rc = db_hdr_encode_base64(h, &b64);
    if (rc != DB_HDR_OK) return rc;
    int bad = 0;
    if (tag && tag[0]) bad = fprintf(w->f, "Tag=%s,", tag) < 0;
    bad |= fprintf(w->f, "%.3f,%.3f,%.3f,%s\n", start_s - w->base_time_s, length_s,
                   (double)db_hdr_max(h) / w->max_value_divisor, b64) < 0;
    free(b64);
    return bad ? DB_HDR_EIO : DB_HDR_OK;
}

int db_hdr_log_write_comment(db_hdr_log_writer *w, const char *text) {
    if (!w || !w->f || !text || strpbrk(text, "\r\n")) return DB_HDR_EINVAL;
    return fprintf(w->f, "#%s\n", text) < 0 ? DB_HDR_EIO : DB_HDR_OK;
}

/* ---- reader ---------------------------------------------------------------------------------- */

int db_hdr_log_reader_open(db_hdr_log_reader *r, FILE *f, const char *name) {
    if (!r || !f) return DB_HDR_EINVAL;
    memset(r, 0, sizeof *r);
    r->f = f;
    r->name = name ? name : "<hlog>";
    return DB_HDR_OK;
}

void db_hdr_log_reader_close(db_hdr_log_reader *r) {
    if (!r) return;
    free(r->line);
    r->line = NULL;
    r->line_cap = 0;
}

__attribute__((format(printf, 5, 6))) static int line_error(const db_hdr_log_reader *r,
                                                            char *errmsg, size_t errlen, int status,
                                                            const char *fmt, ...) {
    if (errmsg && errlen > 0) {
        int n = snprintf(errmsg, errlen, "%s:%lld: ", r->name, (long long)r->line_no);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(errmsg + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return status;
}

/* Parse a whole field as a finite number. */
static bool parse_seconds(const char *s, double *out) {
    char *end;
    if (!*s) return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* "#[StartTime: 1441812279.474 (seconds since epoch), ...]": the number up to the first space. */
static bool parse_header_time(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return end != s && (*end == ' ' || *end == ']' || *end == '\0') && isfinite(*out);
}

/* Split s at commas into at most max fields; returns the number of fields found (max + 1 if more).
 */
static int split_commas(char *s, char **fields, int max) {
    int n = 0;
    for (char *p = s;; p++) {
        if (n == max) return max + 1;
        fields[n++] = p;
        p = strchr(p, ',');
        if (!p) return n;
        *p = '\0';
    }
}

static int parse_interval(db_hdr_log_reader *r, char *line, db_hdr_log_interval *iv, char *errmsg,
                          size_t errlen) {
    iv->tag = NULL;
    if (strncmp(line, "Tag=", 4) == 0) {
        char *comma = strchr(line + 4, ',');
        if (!comma)
            return line_error(r, errmsg, errlen, DB_HDR_ECORRUPT,
                              "expected ',' after the tag in 'Tag=<name>,<start>,...'");
        *comma = '\0';
        iv->tag = line[4] ? line + 4 : NULL;
        line = comma + 1;
    }
    char *fields[4];
    int n = split_commas(line, fields, 4);
    if (n != 4)
        return line_error(
            r, errmsg, errlen, DB_HDR_ECORRUPT,
            "expected 4 comma-separated fields (start, length, max, histogram), found %s%d",
            n > 4 ? "more than " : "", n > 4 ? 4 : n);
    if (!parse_seconds(fields[0], &iv->start_s))
        return line_error(r, errmsg, errlen, DB_HDR_ECORRUPT,
                          "expected a start timestamp in seconds, got '%.40s'", fields[0]);
    if (!parse_seconds(fields[1], &iv->length_s))
        return line_error(r, errmsg, errlen, DB_HDR_ECORRUPT,
                          "expected an interval length in seconds, got '%.40s'", fields[1]);
    char why[160];
    int rc = db_hdr_decode_base64(fields[3], strlen(fields[3]), &iv->hist, why, sizeof why);
    if (rc != DB_HDR_OK) return line_error(r, errmsg, errlen, rc, "interval histogram: %s", why);
    if (!r->has_base_time) { /* deduce as Java does, from the first interval */
        bool relative =
            r->has_start_time && iv->start_s < r->start_time_s - RELATIVE_TIMESTAMP_WINDOW_S;
        r->base_time_s = relative ? r->start_time_s : 0.0;
        r->has_base_time = true;
    }
    iv->abs_start_s = iv->start_s + r->base_time_s;
    return 1;
}

int db_hdr_log_reader_next(db_hdr_log_reader *r, db_hdr_log_interval *iv, char *errmsg,
                           size_t errlen) {
    if (!r || !r->f || !iv) return DB_HDR_EINVAL;
    memset(iv, 0, sizeof *iv);
    iv->hist.min_value = INT64_MAX;
    for (;;) {
        ssize_t n = getline(&r->line, &r->line_cap, r->f);
        if (n < 0)
            return ferror(r->f) ? line_error(r, errmsg, errlen, DB_HDR_EIO, "read failed") : 0;
        r->line_no++;
        while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
            r->line[--n] = '\0';
        if ((size_t)n != strlen(r->line))
            return line_error(r, errmsg, errlen, DB_HDR_ECORRUPT, "NUL byte in a text line");
        char *line = r->line;
        if (strncmp(line, START_TIME_PREFIX, strlen(START_TIME_PREFIX)) == 0) {
            if (!parse_header_time(line + strlen(START_TIME_PREFIX), &r->start_time_s))
                return line_error(r, errmsg, errlen, DB_HDR_ECORRUPT,
                                  "expected seconds since the epoch after 'StartTime: '");
            r->has_start_time = true;
        } else if (strncmp(line, BASE_TIME_PREFIX, strlen(BASE_TIME_PREFIX)) == 0) {
            if (!parse_header_time(line + strlen(BASE_TIME_PREFIX), &r->base_time_s))
                return line_error(r, errmsg, errlen, DB_HDR_ECORRUPT,
                                  "expected seconds since the epoch after 'BaseTime: '");
            r->has_base_time = true;
        } else if (line[0] != '\0' && line[0] != '#' && line[0] != '"') {
            return parse_interval(r, line, iv, errmsg, errlen);
        }
    }
}
