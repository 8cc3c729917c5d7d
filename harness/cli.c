#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int db_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "decodebench %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'decodebench %s --help'.\n", cmd);
    va_end(ap);
    return DB_EXIT_USAGE;
}

int db_cli_flag_value(const char *cmd, int argc, char **argv, int *i, char *name, size_t namelen,
                      const char **value) {
    const char *f = argv[*i], *eq = strchr(f, '=');
    if (strncmp(f, "--", 2) != 0) return db_cli_usage_error(cmd, "unexpected argument '%s'", f);
    if (eq) {
        snprintf(name, namelen, "%.*s", (int)(eq - f), f);
        *value = eq + 1;
        return 0;
    }
    snprintf(name, namelen, "%s", f);
    if (*i + 1 >= argc) return db_cli_usage_error(cmd, "%s needs a value", f);
    *value = argv[++*i];
    return 0;
}

int db_cli_int(const char *cmd, const char *flag, const char *value, long long lo, long long hi,
               long long *out) {
    char *end = NULL;
    errno = 0;
    long long v = value ? strtoll(value, &end, 10) : 0;
    if (!value || !*value || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "decodebench %s: %s expects an integer in %lld..%lld, got '%s'\n", cmd, flag,
                lo, hi, value ? value : "");
        return -1;
    }
    *out = v;
    return 0;
}

int db_cli_double(const char *cmd, const char *flag, const char *value, double lo, double hi,
                  double *out) {
    char *end = NULL;
    errno = 0;
    double v = value ? strtod(value, &end) : 0;
    if (!value || !*value || *end || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "decodebench %s: %s expects a number in %g..%g, got '%s'\n", cmd, flag, lo,
                hi, value ? value : "");
        return -1;
    }
    *out = v;
    return 0;
}

int db_cli_duration(const char *cmd, const char *flag, const char *value, double *seconds) {
    static const struct { const char *unit; double scale; } units[] = {
        {"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0}, {"m", 60.0}, {"h", 3600.0}, {"", 1.0}};
    char *end = NULL;
    errno = 0;
    double v = value ? strtod(value, &end) : NAN;
    if (value && *value && end != value && !errno && isfinite(v) && v >= 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcmp(end, units[i].unit) == 0) {
                *seconds = v * units[i].scale;
                return 0;
            }
        }
    }
    fprintf(stderr,
            "decodebench %s: %s expects a non-negative duration such as 30s, 500ms or 2m, got '%s'\n",
            cmd, flag, value ? value : "");
    return -1;
}

int db_cli_bytes(const char *cmd, const char *flag, const char *value, int64_t *bytes) {
    static const struct { const char *unit; double scale; } units[] = {
        {"", 1},      {"B", 1},          {"K", 1024.0}, {"KiB", 1024.0}, {"KB", 1e3},
        {"M", 1 << 20}, {"MiB", 1 << 20}, {"MB", 1e6},   {"G", 1 << 30},  {"GiB", 1 << 30},
        {"GB", 1e9},  {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12}};
    char *end = NULL;
    errno = 0;
    double v = value ? strtod(value, &end) : NAN;
    if (value && *value && end != value && !errno && isfinite(v) && v > 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcasecmp(end, units[i].unit) == 0 && v * units[i].scale < 9.2e18) {
                *bytes = (int64_t)(v * units[i].scale);
                return 0;
            }
        }
    }
    fprintf(stderr, "decodebench %s: %s expects a size such as 512MiB, 2GiB or 1e9, got '%s'\n",
            cmd, flag, value ? value : "");
    return -1;
}

int db_cli_make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    struct stat st;
    if (stat(buf, &st) || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}
