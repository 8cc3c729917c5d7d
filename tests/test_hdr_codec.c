/* tests/test_hdr_codec.c — V2 encoding (uncompressed, zlib-compressed, base64 "HISTF…"): the known
 * blob from spec/hdr.md, exact bytes of small encodings, random round trips, and corrupt input that
 * must be rejected with an error (never a crash or an over-read; this file also runs under ASan).
 * Random round trips draw a fresh seed each run and print it; DB_HDR_SEED=<n> replays one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "../harness/hdr.h"

/* spec/hdr.md: one count at value 42, L=1, H=2, s=3. */
static const char KNOWN_BLOB[] = "HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=";

/* ---- helpers --------------------------------------------------------------------------------- */

static void put_be(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

typedef struct raw_header {
    uint32_t cookie, payload_len, offset;
    int32_t sig_figs;
    int64_t lowest, highest;
    uint64_t ratio_bits;
} raw_header;

static raw_header good_header(uint32_t payload_len) {
    raw_header h = {0x1c849313u, payload_len, 0, 3, 1, 3600000000LL, 0x3FF0000000000000ull};
    return h;
}

/* Uncompressed V2 buffer with exactly the given header fields and payload bytes; returns its
 * length. */
static size_t build_v2(unsigned char *out, raw_header h, const unsigned char *payload, size_t n) {
    put_be(out, h.cookie, 4);
    put_be(out + 4, h.payload_len, 4);
    put_be(out + 8, h.offset, 4);
    put_be(out + 12, (uint32_t)h.sig_figs, 4);
    put_be(out + 16, (uint64_t)h.lowest, 8);
    put_be(out + 24, (uint64_t)h.highest, 8);
    put_be(out + 32, h.ratio_bits, 8);
    memcpy(out + 40, payload, n);
    return 40 + n;
}

/* Wrap raw bytes as a compressed V2 buffer (cookie 0x1c849314, zlib length, zlib stream). */
static size_t wrap_compressed(unsigned char *out, size_t cap, const unsigned char *raw, size_t n) {
    uLongf zlen = (uLongf)(cap - 8);
    assert_int_equal(compress2(out + 8, &zlen, raw, (uLong)n, 9), Z_OK);
    put_be(out, 0x1c849314u, 4);
    put_be(out + 4, zlen, 4);
    return 8 + zlen;
}

static int decode_raw_payload(const unsigned char *payload, size_t n, db_hdr *out) {
    unsigned char raw[256], comp[512];
    size_t raw_len = build_v2(raw, good_header((uint32_t)n), payload, n);
    size_t len = wrap_compressed(comp, sizeof comp, raw, raw_len);
    char msg[256];
    return db_hdr_decode_compressed(comp, len, out, msg, sizeof msg);
}

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t test_seed(void) {
    const char *env = getenv("DB_HDR_SEED");
    if (env && *env) return strtoull(env, NULL, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
}

static void assert_same_histogram(const db_hdr *a, const db_hdr *b) {
    assert_int_equal(a->lowest, b->lowest);
    assert_int_equal(a->highest, b->highest);
    assert_int_equal(a->sig_figs, b->sig_figs);
    assert_int_equal(a->counts_len, b->counts_len);
    assert_int_equal(a->total_count, b->total_count);
    assert_memory_equal(a->counts, b->counts, (size_t)a->counts_len * sizeof *a->counts);
    assert_int_equal(db_hdr_min(a), db_hdr_min(b));
    assert_int_equal(db_hdr_max(a), db_hdr_max(b));
    const double ps[] = {0.0, 50.0, 90.0, 99.0, 99.9, 100.0};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_int_equal(db_hdr_value_at_percentile(a, ps[i]),
                         db_hdr_value_at_percentile(b, ps[i]));
}

/* ---- known encodings ------------------------------------------------------------------------- */

static void known_blob_decodes_to_one_count_at_42(void **state) {
    (void)state;
    db_hdr h;
    char msg[256];
    assert_int_equal(db_hdr_decode_base64(KNOWN_BLOB, strlen(KNOWN_BLOB), &h, msg, sizeof msg),
                     DB_HDR_OK);
    assert_int_equal(h.lowest, 1);
    assert_int_equal(h.highest, 2);
    assert_int_equal(h.sig_figs, 3);
    assert_int_equal(h.total_count, 1);
    assert_int_equal(db_hdr_count_at_value(&h, 42), 1);
    assert_int_equal(db_hdr_min(&h), 42);
    assert_int_equal(db_hdr_max(&h), 42);
    db_hdr_close(&h);
}

/* Encoding the same histogram reproduces the reference blob byte for byte (zlib level 9). */
static void encoding_42_reproduces_known_blob(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 2, 3), DB_HDR_OK);
    assert_true(
        db_hdr_record(&h, 42)); /* above H, inside counts_len (2048): accepted, as in Java */
    char *b64;
    assert_int_equal(db_hdr_encode_base64(&h, &b64), DB_HDR_OK);
    assert_string_equal(b64, KNOWN_BLOB);
    free(b64);
    db_hdr_close(&h);
}

/* Uncompressed bytes by hand: cookie 1c849313, payload length 2, offset 0, s=3, L=1, H=2,
 * ratio 1.0; payload: 42 zero counts -> ZigZag(-42) = 83 = 0x53, then count 1 -> ZigZag(1) = 0x02.
 */
static void uncompressed_bytes_of_42(void **state) {
    (void)state;
    static const unsigned char expected[] = {
        0x1c, 0x84, 0x93, 0x13, 0, 0, 0, 2, 0, 0, 0, 0,    0,    0, 0, 3, 0, 0, 0, 0,    0,
        0,    0,    1,    0,    0, 0, 0, 0, 0, 0, 2, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x53, 0x02};
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 2, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&h, 42));
    unsigned char *buf;
    size_t len;
    assert_int_equal(db_hdr_encode_v2(&h, &buf, &len), DB_HDR_OK);
    assert_int_equal(len, sizeof expected);
    assert_memory_equal(buf, expected, sizeof expected);
    free(buf);
    db_hdr_close(&h);
}

/* spec: a lone zero count is written as 0 (byte 00), a run of k > 1 zeros as -k. Counts at values
 * 0 and 2 -> 02 00 02; counts at 0 and 3 -> 02 03 02 (ZigZag(-2) = 3). */
static void lone_zero_is_written_as_zero(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(db_hdr_init(&h, 1, 1000, 3), DB_HDR_OK);
    assert_true(db_hdr_record(&h, 0));
    assert_true(db_hdr_record(&h, 2));
    unsigned char *buf;
    size_t len;
    assert_int_equal(db_hdr_encode_v2(&h, &buf, &len), DB_HDR_OK);
    assert_int_equal(len, 43);
    assert_memory_equal(buf + 40, "\x02\x00\x02", 3);
    free(buf);
    db_hdr_reset(&h);
    assert_true(db_hdr_record(&h, 0));
    assert_true(db_hdr_record(&h, 3));
    assert_int_equal(db_hdr_encode_v2(&h, &buf, &len), DB_HDR_OK);
    assert_memory_equal(buf + 40, "\x02\x03\x02", 3);
    free(buf);
    db_hdr_close(&h);
}

/* spec: readers also accept -1 (byte 01) for a lone zero. */
static void decoder_accepts_minus_one_for_a_lone_zero(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(decode_raw_payload((const unsigned char *)"\x02\x01\x02", 3, &h), DB_HDR_OK);
    assert_int_equal(h.total_count, 2);
    assert_int_equal(db_hdr_count_at_value(&h, 0), 1);
    assert_int_equal(db_hdr_count_at_value(&h, 1), 0);
    assert_int_equal(db_hdr_count_at_value(&h, 2), 1);
    db_hdr_close(&h);
}

/* As Java: an empty histogram encodes the single zero count at index 0 (payload 00). */
static void empty_histogram_round_trips(void **state) {
    (void)state;
    db_hdr h, back;
    assert_int_equal(db_hdr_init(&h, 1, 3600000000LL, 3), DB_HDR_OK);
    unsigned char *buf;
    size_t len;
    assert_int_equal(db_hdr_encode_v2(&h, &buf, &len), DB_HDR_OK);
    assert_int_equal(len, 41);
    assert_int_equal(buf[40], 0x00);
    free(buf);
    char *b64, msg[256];
    assert_int_equal(db_hdr_encode_base64(&h, &b64), DB_HDR_OK);
    assert_int_equal(db_hdr_decode_base64(b64, strlen(b64), &back, msg, sizeof msg), DB_HDR_OK);
    assert_int_equal(back.total_count, 0);
    assert_int_equal(db_hdr_max(&back), 0);
    free(b64);
    db_hdr_close(&h);
    db_hdr_close(&back);
}

/* A count of 2^62 + 5 needs all 9 varint bytes (ZigZag doubles it past 2^63). */
static void huge_count_uses_nine_byte_varint(void **state) {
    (void)state;
    db_hdr h, back;
    const int64_t big = ((int64_t)1 << 62) + 5;
    assert_int_equal(db_hdr_init(&h, 1, 1000, 2), DB_HDR_OK);
    assert_true(db_hdr_record_n(&h, 0, big));
    unsigned char *buf;
    size_t len;
    assert_int_equal(db_hdr_encode_v2(&h, &buf, &len), DB_HDR_OK);
    assert_int_equal(len, 40 + 9);
    char msg[256];
    assert_int_equal(db_hdr_decode_v2(buf, len, &back, msg, sizeof msg), DB_HDR_OK);
    assert_int_equal(back.total_count, big);
    assert_int_equal(db_hdr_count_at_value(&back, 0), big);
    free(buf);
    db_hdr_close(&h);
    db_hdr_close(&back);
}

/* spec: decoders ignore the normalizing index offset and the integer-to-double ratio. */
static void decoder_ignores_offset_and_ratio(void **state) {
    (void)state;
    unsigned char raw[64], comp[256];
    raw_header hd = good_header(2);
    hd.offset = 7;
    hd.ratio_bits = 0x4004000000000000ull; /* 2.5 */
    size_t raw_len = build_v2(raw, hd, (const unsigned char *)"\x53\x02", 2);
    size_t len = wrap_compressed(comp, sizeof comp, raw, raw_len);
    db_hdr h;
    char msg[256];
    assert_int_equal(db_hdr_decode_compressed(comp, len, &h, msg, sizeof msg), DB_HDR_OK);
    assert_int_equal(db_hdr_count_at_value(&h, 42), 1);
    db_hdr_close(&h);
}

/* RFC 4648 section 10 test vectors. */
static void base64_matches_rfc4648_vectors(void **state) {
    (void)state;
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *s;
        assert_int_equal(
            db_hdr_base64_encode((const unsigned char *)plain[i], strlen(plain[i]), &s), DB_HDR_OK);
        assert_string_equal(s, coded[i]);
        free(s);
        unsigned char *b;
        size_t n;
        assert_int_equal(db_hdr_base64_decode(coded[i], strlen(coded[i]), &b, &n), DB_HDR_OK);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(b, plain[i], n);
        free(b);
    }
}

/* ---- random round trips ---------------------------------------------------------------------- */

static void random_histogram(db_hdr *h, uint64_t *rng) {
    int sig = 1 + (int)(rng_next(rng) % 5);
    int64_t lowest = (int64_t)1 << (rng_next(rng) % 20);
    lowest += (int64_t)(rng_next(rng) % (uint64_t)lowest);
    int64_t highest =
        lowest * 2 + (int64_t)(rng_next(rng) % ((uint64_t)1 << (10 + rng_next(rng) % 30)));
    assert_int_equal(db_hdr_init(h, lowest, highest, sig), DB_HDR_OK);
    int n = (int)(rng_next(rng) % 600);
    for (int i = 0; i < n; i++) {
        /* log-uniform values over [0, 2H) so some land past H but inside the counts */
        int bits = 1 + (int)(rng_next(rng) % 63);
        int64_t v = (int64_t)(rng_next(rng) >> (64 - bits)) % (2 * highest);
        int64_t count = (rng_next(rng) % 8 == 0) ? (int64_t)(rng_next(rng) >> 24) : 1;
        db_hdr_record_n(h, v, count); /* out-of-range values are refused, which is fine here */
    }
}

static void random_histograms_round_trip(void **state) {
    (void)state;
    uint64_t seed = test_seed();
    printf("random_histograms_round_trip: seed %llu (DB_HDR_SEED=%llu replays it)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    uint64_t rng = seed;
    for (int round = 0; round < 60; round++) {
        db_hdr h, back, back_raw;
        random_histogram(&h, &rng);
        char *b64, msg[256];
        assert_int_equal(db_hdr_encode_base64(&h, &b64), DB_HDR_OK);
        assert_memory_equal(b64, "HISTF", 5);
        int rc = db_hdr_decode_base64(b64, strlen(b64), &back, msg, sizeof msg);
        if (rc != DB_HDR_OK)
            fail_msg("seed %llu round %d: %s", (unsigned long long)seed, round, msg);
        assert_same_histogram(&h, &back);
        unsigned char *raw;
        size_t raw_len;
        assert_int_equal(db_hdr_encode_v2(&h, &raw, &raw_len), DB_HDR_OK);
        assert_int_equal(db_hdr_decode_v2(raw, raw_len, &back_raw, msg, sizeof msg), DB_HDR_OK);
        assert_same_histogram(&h, &back_raw);
        free(raw);
        free(b64);
        db_hdr_close(&h);
        db_hdr_close(&back);
        db_hdr_close(&back_raw);
    }
}

/* ---- corrupt input --------------------------------------------------------------------------- */

static int decode_b64(const char *s) {
    db_hdr h;
    char msg[256] = "";
    int rc = db_hdr_decode_base64(s, strlen(s), &h, msg, sizeof msg);
    if (rc == DB_HDR_OK)
        db_hdr_close(&h);
    else
        assert_true(msg[0] != '\0'); /* every error says what was wrong */
    return rc;
}

static void bad_base64_is_rejected(void **state) {
    (void)state;
    assert_int_equal(decode_b64("HISTF*AAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM="),
                     DB_HDR_ECORRUPT);
    assert_int_equal(decode_b64("HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM"),
                     DB_HDR_ECORRUPT);
    assert_int_equal(decode_b64("HIS=FAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM="),
                     DB_HDR_ECORRUPT);
    assert_int_equal(decode_b64("HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAt\n="),
                     DB_HDR_ECORRUPT);
    assert_int_equal(decode_b64(""), DB_HDR_ECORRUPT);
    assert_int_equal(decode_b64("===="), DB_HDR_ECORRUPT);
}

static void every_truncation_of_known_blob_is_rejected(void **state) {
    (void)state;
    size_t full = strlen(KNOWN_BLOB);
    for (size_t cut = 0; cut < full; cut++) {
        char *s = malloc(cut + 1); /* exact size, so ASan sees any over-read */
        memcpy(s, KNOWN_BLOB, cut);
        s[cut] = '\0';
        db_hdr h;
        char msg[256];
        assert_int_not_equal(db_hdr_decode_base64(s, cut, &h, msg, sizeof msg), DB_HDR_OK);
        free(s);
    }
}

static void bad_compressed_cookie_is_rejected(void **state) {
    (void)state;
    unsigned char *bin;
    size_t n;
    assert_int_equal(db_hdr_base64_decode(KNOWN_BLOB, strlen(KNOWN_BLOB), &bin, &n), DB_HDR_OK);
    bin[3] = 0x15; /* 0x1c849315 */
    db_hdr h;
    char msg[256];
    assert_int_equal(db_hdr_decode_compressed(bin, n, &h, msg, sizeof msg), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "cookie"));
    free(bin);
}

static void bad_inner_cookie_is_rejected(void **state) {
    (void)state;
    unsigned char raw[64], comp[256];
    raw_header hd = good_header(2);
    hd.cookie = 0x1c849301u; /* V1 encoding: not supported */
    size_t len = wrap_compressed(comp, sizeof comp, raw,
                                 build_v2(raw, hd, (const unsigned char *)"\x53\x02", 2));
    db_hdr h;
    char msg[256];
    assert_int_equal(db_hdr_decode_compressed(comp, len, &h, msg, sizeof msg), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "cookie"));
}

/* Each prefix of the zlib stream, with the length field saying so, is a truncated stream. */
static void truncated_zlib_stream_is_rejected(void **state) {
    (void)state;
    unsigned char *bin;
    size_t n;
    assert_int_equal(db_hdr_base64_decode(KNOWN_BLOB, strlen(KNOWN_BLOB), &bin, &n), DB_HDR_OK);
    for (size_t cut = 8; cut < n; cut++) {
        unsigned char *part = malloc(cut);
        memcpy(part, bin, cut);
        put_be(part + 4, cut - 8, 4);
        db_hdr h;
        char msg[256];
        assert_int_not_equal(db_hdr_decode_compressed(part, cut, &h, msg, sizeof msg), DB_HDR_OK);
        free(part);
    }
    /* and a zlib length larger than the bytes given */
    db_hdr h;
    char msg[256];
    put_be(bin + 4, 0x7fffffff, 4);
    assert_int_equal(db_hdr_decode_compressed(bin, n, &h, msg, sizeof msg), DB_HDR_ECORRUPT);
    free(bin);
}

static void payload_longer_than_declared_is_rejected(void **state) {
    (void)state;
    unsigned char raw[64], comp[256];
    size_t len =
        wrap_compressed(comp, sizeof comp, raw,
                        build_v2(raw, good_header(1), (const unsigned char *)"\x53\x02", 2));
    db_hdr h;
    char msg[256];
    assert_int_equal(db_hdr_decode_compressed(comp, len, &h, msg, sizeof msg), DB_HDR_ECORRUPT);
    assert_non_null(strstr(msg, "longer"));
}

static void payload_shorter_than_declared_is_rejected(void **state) {
    (void)state;
    unsigned char raw[64], comp[256];
    size_t raw_len = build_v2(raw, good_header(5), (const unsigned char *)"\x53\x02", 2);
    size_t len = wrap_compressed(comp, sizeof comp, raw, raw_len);
    db_hdr h;
    char msg[256];
    assert_int_equal(db_hdr_decode_compressed(comp, len, &h, msg, sizeof msg), DB_HDR_ECORRUPT);
    /* the uncompressed decoder checks the same against the buffer it is given */
    assert_int_equal(db_hdr_decode_v2(raw, raw_len, &h, msg, sizeof msg), DB_HDR_ECORRUPT);
}

static int decode_with_header(raw_header hd) {
    unsigned char raw[64], comp[256];
    size_t len = wrap_compressed(comp, sizeof comp, raw,
                                 build_v2(raw, hd, (const unsigned char *)"\x02", 1));
    db_hdr h;
    char msg[256] = "";
    int rc = db_hdr_decode_compressed(comp, len, &h, msg, sizeof msg);
    if (rc == DB_HDR_OK) db_hdr_close(&h);
    return rc;
}

static void absurd_header_values_are_rejected(void **state) {
    (void)state;
    raw_header hd = good_header(1);
    assert_int_equal(decode_with_header(hd), DB_HDR_OK); /* the control case decodes */
    hd.sig_figs = 9;
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
    hd = good_header(1);
    hd.sig_figs = -3;
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
    hd = good_header(1);
    hd.lowest = 5000, hd.highest = 100; /* lowest > highest */
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
    hd = good_header(1);
    hd.lowest = 0;
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
    hd = good_header(1);
    hd.lowest = INT64_MIN, hd.highest = -1;
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
    hd = good_header(1);
    hd.lowest = (int64_t)1 << 60, hd.highest = INT64_MAX; /* sub-buckets would pass 2^63 */
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
    hd = good_header(0xffffffffu); /* payload length far past what any layout needs */
    assert_int_equal(decode_with_header(hd), DB_HDR_ECORRUPT);
}

/* L=1, H=3.6e9, s=3 has 23552 counts: a zero run or a count beyond them does not fit. */
static void counts_beyond_the_layout_are_rejected(void **state) {
    (void)state;
    db_hdr h;
    /* ZigZag(-23552) = 47103 = LEB128 ff ef 02, then a count of 1 */
    assert_int_equal(decode_raw_payload((const unsigned char *)"\xff\xef\x02\x02", 4, &h),
                     DB_HDR_ERANGE);
    /* ZigZag(-23553) = 47105 = 81 f0 02: the run alone passes the end */
    assert_int_equal(decode_raw_payload((const unsigned char *)"\x81\xf0\x02", 3, &h),
                     DB_HDR_ERANGE);
    /* a run up to the end, with nothing after it, is fine */
    assert_int_equal(decode_raw_payload((const unsigned char *)"\xff\xef\x02", 3, &h), DB_HDR_OK);
    db_hdr_close(&h);
}

static void cut_off_varint_is_rejected(void **state) {
    (void)state;
    db_hdr h;
    assert_int_equal(decode_raw_payload((const unsigned char *)"\x02\x80", 2, &h), DB_HDR_ECORRUPT);
    /* ZigZag(INT64_MIN) = 2^64 - 1: nine bytes, all ones */
    assert_int_equal(
        decode_raw_payload((const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9, &h),
        DB_HDR_ECORRUPT);
}

static void counts_overflowing_int64_are_rejected(void **state) {
    (void)state;
    db_hdr h;
    /* two counts of 2^62 + 2^62 ... ZigZag(2^62) = 2^63: LEB128 80 x8 then 80 (9th byte, 8 bits) */
    static const unsigned char big[] = "\x80\x80\x80\x80\x80\x80\x80\x80\x80";
    unsigned char payload[27];
    for (int i = 0; i < 3; i++)
        memcpy(payload + 9 * i, big, 9);
    assert_int_equal(decode_raw_payload(payload, 9, &h), DB_HDR_OK);
    assert_int_equal(h.total_count, (int64_t)1 << 62);
    db_hdr_close(&h);
    assert_int_equal(decode_raw_payload(payload, 27, &h),
                     DB_HDR_ECORRUPT); /* 3 * 2^62 > 2^63 - 1 */
}

/* Random byte flips in valid buffers: any status, never a crash; what decodes is consistent. */
static void flipped_bytes_never_crash(void **state) {
    (void)state;
    uint64_t seed = test_seed();
    printf("flipped_bytes_never_crash: seed %llu\n", (unsigned long long)seed);
    uint64_t rng = seed;
    for (int round = 0; round < 300; round++) {
        db_hdr h;
        random_histogram(&h, &rng);
        unsigned char *buf;
        size_t len;
        assert_int_equal(db_hdr_encode_compressed(&h, &buf, &len), DB_HDR_OK);
        db_hdr_close(&h);
        int flips = 1 + (int)(rng_next(&rng) % 4);
        for (int f = 0; f < flips; f++)
            buf[rng_next(&rng) % len] ^= (unsigned char)(1u << (rng_next(&rng) % 8));
        db_hdr back;
        char msg[256];
        if (db_hdr_decode_compressed(buf, len, &back, msg, sizeof msg) == DB_HDR_OK) {
            int64_t sum = 0;
            for (int32_t i = 0; i < back.counts_len; i++)
                sum += back.counts[i];
            assert_int_equal(sum, back.total_count);
            db_hdr_close(&back);
        }
        free(buf);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_blob_decodes_to_one_count_at_42),
        cmocka_unit_test(encoding_42_reproduces_known_blob),
        cmocka_unit_test(uncompressed_bytes_of_42),
        cmocka_unit_test(lone_zero_is_written_as_zero),
        cmocka_unit_test(decoder_accepts_minus_one_for_a_lone_zero),
        cmocka_unit_test(empty_histogram_round_trips),
        cmocka_unit_test(huge_count_uses_nine_byte_varint),
        cmocka_unit_test(decoder_ignores_offset_and_ratio),
        cmocka_unit_test(base64_matches_rfc4648_vectors),
        cmocka_unit_test(random_histograms_round_trip),
        cmocka_unit_test(bad_base64_is_rejected),
        cmocka_unit_test(every_truncation_of_known_blob_is_rejected),
        cmocka_unit_test(bad_compressed_cookie_is_rejected),
        cmocka_unit_test(bad_inner_cookie_is_rejected),
        cmocka_unit_test(truncated_zlib_stream_is_rejected),
        cmocka_unit_test(payload_longer_than_declared_is_rejected),
        cmocka_unit_test(payload_shorter_than_declared_is_rejected),
        cmocka_unit_test(absurd_header_values_are_rejected),
        cmocka_unit_test(counts_beyond_the_layout_are_rejected),
        cmocka_unit_test(cut_off_varint_is_rejected),
        cmocka_unit_test(counts_overflowing_int64_are_rejected),
        cmocka_unit_test(flipped_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
