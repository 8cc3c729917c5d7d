/* harness/hdr_codec.c — V2 binary encoding of HDR histograms, its zlib-compressed form and base64
 * ("HISTF…"), as Java HdrHistogram writes them (harness/hdr.h). Decoding never trusts a length
 * field: every read is bounded by the buffer actually given. */
#include "hdr.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum {
    V2_COOKIE = 0x1c849313,
    V2_COMPRESSED_COOKIE = 0x1c849314,
    V2_HEADER_LEN = 40,
    COMPRESSED_HEADER_LEN = 8,
    VARINT_MAX_LEN = 9,
};

__attribute__((format(printf, 4, 5))) static int fail(char *errmsg, size_t errlen, int status,
                                                      const char *fmt, ...) {
    if (errmsg && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errmsg, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- big-endian fields ----------------------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put_be64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_be64(const unsigned char *p) {
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- ZigZag LEB128 (at most 9 bytes; the 9th carries 8 bits) --------------------------------- */

static size_t put_varint(unsigned char *p, int64_t n) {
    uint64_t v = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
    size_t len = 0;
    while (len < VARINT_MAX_LEN - 1 && v >= 0x80) {
        p[len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[len++] = (unsigned char)v; /* the 9th byte holds the remaining 8 bits whole */
    return len;
}

/* Decode one varint from p[0..avail); returns bytes used, 0 if it runs past avail. */
static size_t get_varint(const unsigned char *p, size_t avail, int64_t *out) {
    uint64_t v = 0;
    size_t i = 0;
    for (;; i++) {
        if (i >= avail) return 0;
        if (i == VARINT_MAX_LEN - 1) {
            v |= (uint64_t)p[i] << 56;
            break;
        }
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) break;
    }
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return i + 1;
}

/* ---- encode ---------------------------------------------------------------------------------- */

int db_hdr_encode_v2(const db_hdr *h, unsigned char **buf, size_t *len) {
    if (!h || !h->counts || !buf || !len) return DB_HDR_EINVAL;
    /* counts 0 .. index(max); an empty histogram encodes the single zero count at index 0, as Java
     */
    int32_t limit = (h->total_count > 0 ? db_hdr_index_of(h, h->max_value) : 0) + 1;
    if (limit > h->counts_len) limit = h->counts_len;
    unsigned char *out = malloc(V2_HEADER_LEN + (size_t)limit * VARINT_MAX_LEN);
    if (!out) return DB_HDR_ENOMEM;
    size_t pos = V2_HEADER_LEN;
    for (int32_t i = 0; i < limit;) {
        int64_t count = h->counts[i++];
        int64_t zeros = 0;
        if (count == 0) {
            zeros = 1;
            while (i < limit && h->counts[i] == 0) {
                zeros++;
                i++;
            }
        }
        pos += put_varint(out + pos, zeros > 1 ? -zeros : count);
    }
    put_be32(out, V2_COOKIE);
    put_be32(out + 4, (uint32_t)(pos - V2_HEADER_LEN));
    put_be32(out + 8, 0); /* normalizing index offset */
    put_be32(out + 12, (uint32_t)h->sig_figs);
    put_be64(out + 16, (uint64_t)h->lowest);
    put_be64(out + 24, (uint64_t)h->highest);
    put_be64(out + 32, 0x3FF0000000000000ull); /* integer-to-double ratio 1.0 */
    *buf = out;
    *len = pos;
    return DB_HDR_OK;
}

int db_hdr_encode_compressed(const db_hdr *h, unsigned char **buf, size_t *len) {
    unsigned char *raw;
    size_t raw_len;
    int rc = db_hdr_encode_v2(h, &raw, &raw_len);
    if (rc != DB_HDR_OK) return rc;
    uLongf zlen = compressBound((uLong)raw_len);
    unsigned char *out = malloc(COMPRESSED_HEADER_LEN + zlen);
    if (!out) {
        free(raw);
        return DB_HDR_ENOMEM;
    }
    /* best compression, as Java HdrHistogram writes (its blobs start with the zlib header 78 DA) */
    int zrc =
        compress2(out + COMPRESSED_HEADER_LEN, &zlen, raw, (uLong)raw_len, Z_BEST_COMPRESSION);
    free(raw);
    if (zrc != Z_OK) {
        free(out);
        return zrc == Z_MEM_ERROR ? DB_HDR_ENOMEM : DB_HDR_EINVAL;
    }
    put_be32(out, V2_COMPRESSED_COOKIE);
    put_be32(out + 4, (uint32_t)zlen);
    *buf = out;
    *len = COMPRESSED_HEADER_LEN + zlen;
    return DB_HDR_OK;
}

int db_hdr_encode_base64(const db_hdr *h, char **out) {
    unsigned char *bin;
    size_t bin_len;
    int rc = db_hdr_encode_compressed(h, &bin, &bin_len);
    if (rc != DB_HDR_OK) return rc;
    rc = db_hdr_base64_encode(bin, bin_len, out);
    free(bin);
    return rc;
}

/* ---- decode ---------------------------------------------------------------------------------- */

/* Leave *out closed without reading it (the caller's struct may be uninitialised). */
static void clear(db_hdr *out) {
    memset(out, 0, sizeof *out);
    out->min_value = INT64_MAX;
}

typedef struct v2_header {
    uint32_t payload_len;
    int32_t sig_figs;
    int64_t lowest, highest;
} v2_header;

/* Check the 40-byte header and lay out *out from it. */
static int open_from_header(const unsigned char *p, v2_header *hd, db_hdr *out, char *errmsg,
                            size_t errlen) {
    uint32_t cookie = get_be32(p);
    if (cookie != V2_COOKIE)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "bad cookie 0x%08x (expected V2 encoding 0x%08x)", cookie, V2_COOKIE);
    hd->payload_len = get_be32(p + 4);
    hd->sig_figs = (int32_t)get_be32(p + 12);
    hd->lowest = (int64_t)get_be64(p + 16);
    hd->highest = (int64_t)get_be64(p + 24);
    if (hd->sig_figs < 1 || hd->sig_figs > 5)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "significant figures %d in header (expected 1..5)", hd->sig_figs);
    if (hd->lowest < 1 || hd->highest / 2 < hd->lowest)
        return fail(
            errmsg, errlen, DB_HDR_ECORRUPT,
            "lowest %lld / highest %lld in header (expected 1 <= lowest, 2*lowest <= highest)",
            (long long)hd->lowest, (long long)hd->highest);
    int rc = db_hdr_init(out, hd->lowest, hd->highest, hd->sig_figs);
    if (rc != DB_HDR_OK)
        return fail(errmsg, errlen, rc == DB_HDR_EINVAL ? DB_HDR_ECORRUPT : rc,
                    "cannot lay out lowest %lld, highest %lld, %d digits: %s",
                    (long long)hd->lowest, (long long)hd->highest, hd->sig_figs,
                    db_hdr_status_str(rc));
    /* every varint covers at least one index and takes at most 9 bytes */
    if ((uint64_t)hd->payload_len > (uint64_t)out->counts_len * VARINT_MAX_LEN) {
        db_hdr_close(out);
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "payload length %u is more than %d counts can take", hd->payload_len,
                    out->counts_len);
    }
    return DB_HDR_OK;
}

/* Fill out->counts from the varint payload. */
static int read_payload(const unsigned char *p, size_t len, db_hdr *out, char *errmsg,
                        size_t errlen) {
    int64_t index = 0, total = 0;
    size_t pos = 0;
    while (pos < len) {
        int64_t n;
        size_t used = get_varint(p + pos, len - pos, &n);
        if (used == 0)
            return fail(errmsg, errlen, DB_HDR_ECORRUPT, "count at payload byte %zu is cut off",
                        pos);
        pos += used;
        if (n == INT64_MIN)
            return fail(errmsg, errlen, DB_HDR_ECORRUPT, "zero run at payload byte %zu overflows",
                        pos - used);
        if (n < 0) {
            if (-n > out->counts_len - index)
                return fail(
                    errmsg, errlen, DB_HDR_ERANGE,
                    "run of %lld zero counts at index %lld passes the %d counts of the layout",
                    (long long)-n, (long long)index, out->counts_len);
            index += -n;
            continue;
        }
        if (index >= out->counts_len)
            return fail(errmsg, errlen, DB_HDR_ERANGE,
                        "count at index %lld is past the %d counts of the layout", (long long)index,
                        out->counts_len);
        if (__builtin_add_overflow(total, n, &total))
            return fail(errmsg, errlen, DB_HDR_ECORRUPT, "counts add up past 2^63");
        out->counts[index++] = n;
    }
    out->total_count = total;
    int64_t first = -1, last = -1;
    for (int32_t i = 0; i < out->counts_len && i < index; i++) {
        if (out->counts[i] > 0) {
            first = first < 0 ? i : first;
            last = i;
        }
    }
    out->min_value = first < 0 ? INT64_MAX : db_hdr_value_at_index(out, (int32_t)first);
    out->max_value = last < 0 ? 0 : db_hdr_value_at_index(out, (int32_t)last);
    return DB_HDR_OK;
}

int db_hdr_decode_v2(const unsigned char *buf, size_t len, db_hdr *out, char *errmsg,
                     size_t errlen) {
    if (!out) return fail(errmsg, errlen, DB_HDR_EINVAL, "no histogram to decode into");
    clear(out);
    if (!buf || len < V2_HEADER_LEN)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "%zu bytes is shorter than the %d-byte V2 header", buf ? len : 0,
                    V2_HEADER_LEN);
    v2_header hd = {0};
    int rc = open_from_header(buf, &hd, out, errmsg, errlen);
    if (rc != DB_HDR_OK) return rc;
    if (hd.payload_len > len - V2_HEADER_LEN) {
        db_hdr_close(out);
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "payload length %u but only %zu bytes follow the header", hd.payload_len,
                    len - V2_HEADER_LEN);
    }
    rc = read_payload(buf + V2_HEADER_LEN, hd.payload_len, out, errmsg, errlen);
    if (rc != DB_HDR_OK) db_hdr_close(out);
    return rc;
}

/* Inflate exactly `want` more bytes into dst; DB_HDR_OK, or a message saying what went wrong.
 * `last` says the stream must end right there (and must not hold more). */
static int inflate_exact(z_stream *zs, unsigned char *dst, size_t want, bool last, char *errmsg,
                         size_t errlen) {
    unsigned char spare;
    zs->next_out = dst;
    zs->avail_out = (uInt)want;
    int zrc = inflate(zs, Z_SYNC_FLUSH);
    while (zrc == Z_OK && zs->avail_out > 0)
        zrc = inflate(zs, Z_SYNC_FLUSH);
    if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT || zrc == Z_MEM_ERROR || zrc == Z_STREAM_ERROR)
        return fail(errmsg, errlen, zrc == Z_MEM_ERROR ? DB_HDR_ENOMEM : DB_HDR_ECORRUPT,
                    "zlib stream is invalid (%s)", zs->msg ? zs->msg : "inflate failed");
    if (zs->avail_out > 0)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    zrc == Z_STREAM_END ? "zlib stream ends %u bytes before the declared length"
                                        : "zlib stream is truncated (%u bytes missing)",
                    zs->avail_out);
    if (!last || zrc == Z_STREAM_END) return DB_HDR_OK;
    zs->next_out = &spare;
    zs->avail_out = 1;
    zrc = inflate(zs, Z_SYNC_FLUSH);
    if (zs->avail_out == 0)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT, "payload is longer than the declared length");
    if (zrc != Z_STREAM_END)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT, "zlib stream is truncated (no end marker)");
    return DB_HDR_OK;
}

static int decode_zlib(z_stream *zs, db_hdr *out, char *errmsg, size_t errlen) {
    unsigned char header[V2_HEADER_LEN];
    int rc = inflate_exact(zs, header, V2_HEADER_LEN, false, errmsg, errlen);
    if (rc != DB_HDR_OK) return rc;
    v2_header hd = {0};
    rc = open_from_header(header, &hd, out, errmsg, errlen);
    if (rc != DB_HDR_OK) return rc;
    unsigned char *payload = malloc(hd.payload_len ? hd.payload_len : 1);
    if (!payload) {
        db_hdr_close(out);
        return fail(errmsg, errlen, DB_HDR_ENOMEM, "no memory for a %u-byte payload",
                    hd.payload_len);
    }
    rc = inflate_exact(zs, payload, hd.payload_len, true, errmsg, errlen);
    if (rc == DB_HDR_OK) rc = read_payload(payload, hd.payload_len, out, errmsg, errlen);
    free(payload);
    if (rc != DB_HDR_OK) db_hdr_close(out);
    return rc;
}

int db_hdr_decode_compressed(const unsigned char *buf, size_t len, db_hdr *out, char *errmsg,
                             size_t errlen) {
    if (!out) return fail(errmsg, errlen, DB_HDR_EINVAL, "no histogram to decode into");
    clear(out);
    if (!buf || len < COMPRESSED_HEADER_LEN)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "%zu bytes is shorter than the 8-byte compressed header", buf ? len : 0);
    uint32_t cookie = get_be32(buf);
    if (cookie != V2_COMPRESSED_COOKIE)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "bad cookie 0x%08x (expected compressed V2 encoding 0x%08x)", cookie,
                    V2_COMPRESSED_COOKIE);
    uint32_t zlen = get_be32(buf + 4);
    if (zlen > len - COMPRESSED_HEADER_LEN)
        return fail(errmsg, errlen, DB_HDR_ECORRUPT,
                    "zlib length %u but only %zu bytes follow the header", zlen,
                    len - COMPRESSED_HEADER_LEN);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return fail(errmsg, errlen, DB_HDR_ENOMEM, "zlib could not start");
    zs.next_in =
        (unsigned char *)(uintptr_t)(buf + COMPRESSED_HEADER_LEN); /* zlib does not write */
    zs.avail_in = zlen;
    int rc = decode_zlib(&zs, out, errmsg, errlen);
    inflateEnd(&zs);
    return rc;
}

int db_hdr_decode_base64(const char *b64, size_t len, db_hdr *out, char *errmsg, size_t errlen) {
    if (!out) return fail(errmsg, errlen, DB_HDR_EINVAL, "no histogram to decode into");
    clear(out);
    unsigned char *bin;
    size_t bin_len;
    int rc = db_hdr_base64_decode(b64, len, &bin, &bin_len);
    if (rc != DB_HDR_OK)
        return fail(errmsg, errlen, rc, "not valid base64 (standard alphabet, padded, length %zu)",
                    len);
    rc = db_hdr_decode_compressed(bin, bin_len, out, errmsg, errlen);
    free(bin);
    return rc;
}
