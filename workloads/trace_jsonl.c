/* The Mooncake JSON Lines trace format, read with jansson one line at a time. */
#include "parse.h"
#include "trace_build.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A short rendering of a JSON value for messages ("nothing" when missing). */
static void show(const json_t *v, char *dst, size_t cap) {
    if (!v) {
        snprintf(dst, cap, "nothing");
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(dst, cap, "'%.60s%s'", s ? s : "?", s && strlen(s) > 60 ? "..." : "");
    free(s);
}

static int length_member(const char *path, size_t line, json_t *obj, const char *key, int64_t *v,
                         char *err, size_t errlen) {
    json_t *x = json_object_get(obj, key);
    if (json_is_integer(x) && json_integer_value(x) >= 0 && json_integer_value(x) <= 2147483647LL) {
        *v = (int64_t)json_integer_value(x);
        return 0;
    }
    char got[80];
    show(x, got, sizeof got);
    return db_errf(err, errlen, "%s:%zu: field %s: expected a non-negative integer, got %s", path,
                   line, key, got);
}

/* "timestamp": milliseconds since the trace start, an integer (or a non-negative number). */
static int time_member(const char *path, size_t line, json_t *obj, int64_t *ns, char *err,
                       size_t errlen) {
    json_t *x = json_object_get(obj, "timestamp");
    const double max_ms = 9.2e12; /* ~292 years in ns fits int64 */
    if (json_is_integer(x) && json_integer_value(x) >= 0 &&
        json_integer_value(x) <= (json_int_t)max_ms) {
        *ns = (int64_t)json_integer_value(x) * 1000000LL;
        return 0;
    }
    if (json_is_real(x) && json_real_value(x) >= 0 && json_real_value(x) <= max_ms) {
        *ns = llround(json_real_value(x) * 1e6);
        return 0;
    }
    char got[80];
    show(x, got, sizeof got);
    return db_errf(err, errlen,
                   "%s:%zu: field timestamp: expected non-negative milliseconds, got %s", path,
                   line, got);
}

static int parse_line(db_trace_builder *b, size_t line, const char *text, size_t len, char *err,
                      size_t errlen) {
    json_error_t jerr;
    json_t *obj = json_loadb(text, len, 0, &jerr);
    if (!obj)
        return db_errf(err, errlen, "%s:%zu: invalid JSON at column %d: %s", b->path, line,
                       jerr.column, jerr.text);
    int rc = -1;
    int64_t t_ns = 0, prompt = 0, output = 0;
    if (!json_is_object(obj)) {
        char got[80];
        show(obj, got, sizeof got);
        db_errf(err, errlen, "%s:%zu: expected a JSON object, got %s", b->path, line, got);
    } else if (time_member(b->path, line, obj, &t_ns, err, errlen) == 0 &&
               length_member(b->path, line, obj, "input_length", &prompt, err, errlen) == 0 &&
               length_member(b->path, line, obj, "output_length", &output, err, errlen) == 0) {
        rc = db_trace_push(b, line, "timestamp", t_ns, prompt, output, err, errlen);
    }
    json_decref(obj);
    return rc;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int db_trace_read_jsonl(const char *path, db_trace_builder *b, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return db_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    b->t->format = DB_TRACE_MOONCAKE;
    b->has_times = 1;
    b->relative = 1;
    char *text = NULL;
    size_t cap = 0, line = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&text, &cap, f)) >= 0) {
        line++;
        const char *s = text;
        if (line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            len -= 3;
        }
        if (blank(s, (size_t)len)) continue;
        rc = parse_line(b, line, s, (size_t)len, err, errlen);
    }
    if (rc == 0 && ferror(f))
        rc = db_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
    free(text);
    fclose(f);
    return rc;
}
