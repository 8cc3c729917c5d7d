/* harness/hdr.h — HDR histogram: fixed-precision latency recording, queries, merge, iteration, and
 * the ecosystem's interchange formats (V2 binary, zlib + base64 "HISTF…", .hlog interval log 1.3,
 * .hgrm text).
 *
 * Follows the Java HdrHistogram where ports disagree (value at percentile rounds the target count
 * up). Counts are 64-bit. A histogram is a plain struct with explicit init/close; there is no
 * global state. This module must not print (except to a FILE* the caller hands in), exit, or know
 * about requests, engines or metrics: it stores integers and answers questions about them.
 *
 * Errors: functions return DB_HDR_OK (0) or a negative db_hdr_status; decoders and readers also
 * fill a caller buffer with a message (naming the line for the .hlog reader). Recording returns
 * false for a value outside the trackable range instead of crashing or clamping.
 */
#ifndef DB_HDR_H
#define DB_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum db_hdr_status {
    DB_HDR_OK = 0,
    DB_HDR_EINVAL = -1,   /* bad configuration or argument (L < 1, H < 2L, s outside 1..5, NULL) */
    DB_HDR_ENOMEM = -2,   /* allocation failed or the requested layout is absurdly large */
    DB_HDR_ECORRUPT = -3, /* encoded input is malformed (base64, cookie, zlib, varint, header) */
    DB_HDR_EIO = -4,      /* reading from or writing to a FILE* failed */
    DB_HDR_ERANGE = -5,   /* decoded counts do not fit the histogram's layout */
} db_hdr_status;

/* Short English name of a status ("ok", "invalid argument", ...). Never NULL. */
const char *db_hdr_status_str(int status);

/* The histogram. Fields are readable; change them only through the functions below. */
typedef struct db_hdr {
    int64_t lowest;   /* lowest discernible value L (>= 1) */
    int64_t highest;  /* highest trackable value H (>= 2L) */
    int32_t sig_figs; /* significant decimal digits s (1..5) */

    /* layout, derived from (L, H, s) as in spec/hdr.md */
    int32_t unit_magnitude;                  /* floor(log2(L)) */
    int32_t sub_bucket_half_count_magnitude; /* log2(sub_bucket_half_count) */
    int32_t sub_bucket_count;                /* 2^ceil(log2(2 * 10^s)) */
    int32_t sub_bucket_half_count;           /* sub_bucket_count / 2 */
    int64_t sub_bucket_mask;                 /* (sub_bucket_count - 1) << unit_magnitude */
    int32_t bucket_count;                    /* buckets needed to cover H */
    int32_t counts_len;                      /* (bucket_count + 1) * sub_bucket_half_count */

    int64_t *counts;     /* (counts_len) count per index, contiguous */
    int64_t total_count; /* sum of counts */
    int64_t min_value;   /* smallest raw value recorded; INT64_MAX when empty */
    int64_t max_value;   /* largest raw value recorded; 0 when empty */
} db_hdr;

/* ---- lifetime -------------------------------------------------------------------------------- */

/* Lay out and allocate (zeroed) a histogram. DB_HDR_EINVAL for L < 1, H < 2L or s outside 1..5;
 * DB_HDR_ENOMEM when allocation fails. On failure *h is left closed (safe to db_hdr_close). */
int db_hdr_init(db_hdr *h, int64_t lowest, int64_t highest, int sig_figs);
/* Free the counts; *h becomes an empty closed histogram. Safe on a zeroed or closed struct. */
void db_hdr_close(db_hdr *h);
/* Zero every count, total, min and max; the layout stays. */
void db_hdr_reset(db_hdr *h);
/* Make *dst a new histogram with src's layout and counts (dst must not be initialised). */
int db_hdr_copy(db_hdr *dst, const db_hdr *src);

/* ---- recording ------------------------------------------------------------------------------- */

/* Record value v once / count times. False (nothing recorded) if v < 0, count < 0, v's index
 * falls outside counts (v above the trackable range) or the total count would pass 2^63 - 1. */
bool db_hdr_record(db_hdr *h, int64_t v);
bool db_hdr_record_n(db_hdr *h, int64_t v, int64_t count);
/* Coordinated-omission correction: record v, then v - I, v - 2I, ... while >= I (I = expected
 * interval; I <= 0 or v <= I records v alone). False if v itself does not fit. */
bool db_hdr_record_corrected(db_hdr *h, int64_t v, int64_t expected_interval);
bool db_hdr_record_corrected_n(db_hdr *h, int64_t v, int64_t count, int64_t expected_interval);

/* Merge src into dst. Same layout: counts added index by index; different layout: each non-empty
 * index of src is recorded in dst at its value with its count. Returns the number of values that
 * did not fit in dst (0 when everything was added). */
int64_t db_hdr_add(db_hdr *dst, const db_hdr *src);

/* ---- queries --------------------------------------------------------------------------------- */

/* Java rule: target = ceil(p/100 * total) (exact products are not rounded up), >= 1;
 * highest-equivalent value of the first index whose running count reaches target. p clamped to [0,
 * 100]; p = 0 gives the lowest-equivalent value of the smallest recorded value. 0 when empty. */
int64_t db_hdr_value_at_percentile(const db_hdr *h, double percentile);
/* Percentage (0..100) of recorded values at or below v's equivalence range; 100 when empty. */
double db_hdr_percentile_at_or_below(const db_hdr *h, int64_t v);
int64_t db_hdr_min(const db_hdr *h);   /* lowest_equivalent(min recorded); 0 when empty */
int64_t db_hdr_max(const db_hdr *h);   /* highest_equivalent(max recorded); 0 when empty */
double db_hdr_mean(const db_hdr *h);   /* sum(count * median_equivalent) / total; 0 when empty */
double db_hdr_stddev(const db_hdr *h); /* population form around db_hdr_mean; 0 when empty */

/* Equivalence ranges: all values in one index are "equivalent" (indistinguishable at s digits).
 * Negative v is treated as 0. */
int64_t db_hdr_size_of_range(const db_hdr *h, int64_t v);
int64_t db_hdr_lowest_equivalent(const db_hdr *h, int64_t v);
int64_t db_hdr_highest_equivalent(const db_hdr *h, int64_t v);
int64_t db_hdr_median_equivalent(const db_hdr *h, int64_t v);
/* lowest_equivalent + size_of_range, saturating at INT64_MAX for the top range */
int64_t db_hdr_next_non_equivalent(const db_hdr *h, int64_t v);
bool db_hdr_values_are_equivalent(const db_hdr *h, int64_t a, int64_t b);
/* Count stored in v's index; 0 when v lies outside the layout. */
int64_t db_hdr_count_at_value(const db_hdr *h, int64_t v);
/* Index of v in counts (may be >= counts_len or negative for out-of-range v: check before use) and
 * the lowest value of an index. */
int32_t db_hdr_index_of(const db_hdr *h, int64_t v);
int64_t db_hdr_value_at_index(const db_hdr *h, int32_t index);

/* ---- iteration ------------------------------------------------------------------------------- */

typedef enum db_hdr_iter_kind {
    DB_HDR_ITER_RECORDED = 0,   /* one step per non-empty index, ascending */
    DB_HDR_ITER_PERCENTILE = 1, /* the .hgrm percentile ladder, then one step at 100% */
} db_hdr_iter_kind;

typedef struct db_hdr_iter {
    /* read after db_hdr_iter_next returned true */
    int64_t value;             /* highest-equivalent value of the current index */
    int64_t lowest_equivalent; /* lowest value of the current index */
    int64_t count_at_index;    /* count stored in the current index */
    int64_t cumulative_count;  /* counts summed over indexes 0..current */
    int64_t count_since_last;  /* counts added since the previous step (recorded iteration) */
    double percentile;         /* percentile iteration: level reported by this step (0..100) */
    double percentile_reached; /* 100 * cumulative_count / total_count */
    int32_t index;             /* current index in counts */
    /* private */
    const db_hdr *h;
    db_hdr_iter_kind kind;
    int32_t ticks_per_half_distance;
    int32_t next_index;
    int64_t prev_cumulative;
    double level;
    bool reached_last;
    bool done;
} db_hdr_iter;

/* Recorded-value iteration over h (h must outlive and not change during the iteration). */
void db_hdr_iter_recorded(db_hdr_iter *it, const db_hdr *h);
/* Percentile iteration: ticks_per_half_distance (>= 1; the .hgrm default is 5) steps per halving of
 * the distance to 100%. An empty histogram yields no steps. */
void db_hdr_iter_percentiles(db_hdr_iter *it, const db_hdr *h, int32_t ticks_per_half_distance);
/* Advance; false when the iteration is over. */
bool db_hdr_iter_next(db_hdr_iter *it);

/* ---- V2 encoding (interchange with Java / C / JS HdrHistogram) ------------------------------- */

/* Uncompressed V2 (cookie 0x1c849313, 40-byte big-endian header, ZigZag-LEB128 counts up to max).
 * *buf is malloc'ed; the caller frees it. */
int db_hdr_encode_v2(const db_hdr *h, unsigned char **buf, size_t *len);
/* Compressed V2 (cookie 0x1c849314, zlib stream of the uncompressed form). *buf malloc'ed. */
int db_hdr_encode_compressed(const db_hdr *h, unsigned char **buf, size_t *len);
/* Decode an uncompressed / compressed V2 buffer into a new histogram *out (initialised by the call
 * with the encoded L, H, s; close it when done). Malformed input gives DB_HDR_ECORRUPT (or
 * DB_HDR_ERANGE / DB_HDR_ENOMEM) and a message in errmsg (errlen may be 0); *out is then left
 * closed. Never reads outside buf[0..len). The uncompressed decoder ignores bytes after the
 * declared payload (as Java does); the compressed one rejects a zlib stream that inflates to more
 * or fewer bytes than the header declares. */
int db_hdr_decode_v2(const unsigned char *buf, size_t len, db_hdr *out, char *errmsg,
                     size_t errlen);
int db_hdr_decode_compressed(const unsigned char *buf, size_t len, db_hdr *out, char *errmsg,
                             size_t errlen);

/* Base64 of the compressed form ("HISTF…"): *out is a malloc'ed NUL-terminated string. */
int db_hdr_encode_base64(const db_hdr *h, char **out);
/* Decode len characters of b64 (standard alphabet, padding required). */
int db_hdr_decode_base64(const char *b64, size_t len, db_hdr *out, char *errmsg, size_t errlen);

/* Plain base64 (RFC 4648, standard alphabet, padded). Encode: *out malloc'ed, NUL-terminated.
 * Decode: *out malloc'ed with *out_len bytes; DB_HDR_ECORRUPT on a bad character, bad length or
 * misplaced padding. */
int db_hdr_base64_encode(const unsigned char *in, size_t len, char **out);
int db_hdr_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

/* ---- .hlog interval log, format version 1.3 -------------------------------------------------- */

typedef struct db_hdr_log_writer {
    FILE *f;
    double start_time_s;      /* StartTime, seconds since the epoch */
    double base_time_s;       /* interval timestamps are written relative to this */
    bool has_base_time;       /* a BaseTime line was written */
    double max_value_divisor; /* Interval_Max column = max / divisor; 1e6 (ns -> ms) by default */
} db_hdr_log_writer;

/* Write the header: version line, StartTime (with a human UTC date), BaseTime if base_time_s >= 0,
 * and the column legend. Timestamps are then relative to BaseTime if given, else to StartTime. */
int db_hdr_log_writer_open(db_hdr_log_writer *w, FILE *f, double start_time_s, double base_time_s);
/* Write one interval: optional tag (NULL or "" for none; DB_HDR_EINVAL if it holds ',', ' ', CR or
 * LF), absolute start (epoch seconds), length in seconds, the histogram (compressed base64). */
int db_hdr_log_write_interval(db_hdr_log_writer *w, const char *tag, double start_s,
                              double length_s, const db_hdr *h);
/* Write a "#" comment line (text must not contain newlines). */
int db_hdr_log_write_comment(db_hdr_log_writer *w, const char *text);

typedef struct db_hdr_log_reader {
    FILE *f;
    const char *name;    /* file name used in messages */
    int64_t line_no;     /* 1-based number of the line last read */
    double start_time_s; /* StartTime header (valid if has_start_time) */
    double base_time_s;  /* BaseTime header, or deduced as in Java (valid if has_base_time) */
    bool has_start_time;
    bool has_base_time;
    char *line; /* private: line buffer */
    size_t line_cap;
} db_hdr_log_reader;

typedef struct db_hdr_log_interval {
    const char *tag;    /* NULL when untagged; owned by the reader, valid until the next call */
    double start_s;     /* start timestamp as written (relative to the base time) */
    double abs_start_s; /* start_s + base time (seconds since the epoch when the log says so) */
    double length_s;    /* interval length in seconds */
    db_hdr hist;        /* decoded interval histogram; caller closes it */
} db_hdr_log_interval;

/* Start reading f (name is used in messages; the reader does not close f). */
int db_hdr_log_reader_open(db_hdr_log_reader *r, FILE *f, const char *name);
/* Next interval: 1 with *iv filled (close iv->hist), 0 at end of file, or a negative status with a
 * message naming "<name>:<line>: what was expected" (iv->hist is then closed). Comment, legend and
 * blank lines are skipped; CR LF line ends are accepted; StartTime and BaseTime lines set the
 * reader's fields. Without BaseTime, the base is StartTime when the first timestamp lies more
 * than a year before it (relative timestamps), else 0 (absolute), as Java's reader decides. */
int db_hdr_log_reader_next(db_hdr_log_reader *r, db_hdr_log_interval *iv, char *errmsg,
                           size_t errlen);
void db_hdr_log_reader_close(db_hdr_log_reader *r);

/* ---- .hgrm percentile distribution text ------------------------------------------------------ */

/* Write the percentile table HdrHistogram's outputPercentileDistribution writes: header, one row
 * per percentile-iteration step (value / value_scale, level as fraction, cumulative count,
 * 1/(1-level)), then Mean/StdDeviation, Max/Total count, Buckets/SubBuckets footer lines.
 * Numbers are rounded as Java's Formatter rounds them (shortest decimal, half-up). value_scale
 * e.g. 1e6 for ns recorded, ms shown. An empty histogram gets the header and footer only.
 * DB_HDR_EIO if a write fails. */
int db_hdr_write_percentiles(FILE *f, const db_hdr *h, int32_t ticks_per_half_distance,
                             double value_scale);

#ifdef __cplusplus
}
#endif

#endif /* DB_HDR_H */
