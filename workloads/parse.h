/* parse.h — strict text-to-number conversions shared by the spec parsers and trace readers: whole
 * strings only (no trailing junk, no silent saturation), exact decimal seconds and calendar
 * timestamps as integer nanoseconds (no floating-point drift), and the error-message helper.
 * Must not: allocate, print, or accept a partially numeric string.
 */
#ifndef DB_PARSE_H
#define DB_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A finite double spelled as the whole of s (strtod syntax, no leading/trailing space). 0 or -1. */
int db_parse_double(const char *s, double *out);

/* A decimal integer spelled as the whole of s (optional sign, digits only). 0 or -1 (also on
 * overflow). */
int db_parse_int64(const char *s, int64_t *out);

/* Non-negative decimal seconds ("12", "12.5", "19440110.0", "0.000000001") to integer nanoseconds,
 * exactly: a tenth fractional digit rounds half up, later ones are ignored. 0 or -1 (sign,
 * exponent, junk, or more than ~292 years). */
int db_parse_seconds_ns(const char *s, int64_t *ns);

/* A calendar timestamp "YYYY-MM-DD HH:MM:SS[.fff...]" (a 'T' may replace the space; the fraction is
 * read as in db_parse_seconds_ns) with an optional zone "Z", "+HH:MM", "-HH:MM", "+HHMM" or "-HHMM"
 * (none = UTC), to integer nanoseconds since 1970-01-01T00:00:00Z. Fields are range-checked (month
 * 1-12, the month's days, hour 0-23, minute 0-59, second 0-59) and the instant must lie within
 * what int64 nanoseconds hold (years 1678 to 2261). 0 or -1. */
int db_parse_timestamp_ns(const char *s, int64_t *ns);

/* Seconds with an optional unit (ns, us, ms, s, m, h; a bare number is seconds), >= 0. 0 or -1. */
int db_parse_duration_s(const char *s, double *seconds);

/* snprintf into err (when err and errlen are non-zero); returns -1 so callers can `return
 * db_errf(..)`. */
int db_errf(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
