/* harness/hdr_base64.c — RFC 4648 base64 (standard alphabet, '=' padding) for the "HISTF…" form of
 * compressed HDR histograms (harness/hdr.h). Decoding is strict: a length that is not a multiple of
 * 4, a character outside the alphabet or padding anywhere but the end is an error. */
#include "hdr.h"

#include <stdlib.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int db_hdr_base64_encode(const unsigned char *in, size_t len, char **out) {
    if ((!in && len > 0) || !out || len > (SIZE_MAX - 1) / 4 * 3 - 3) return DB_HDR_EINVAL;
    size_t out_len = (len + 2) / 3 * 4;
    char *s = malloc(out_len + 1);
    if (!s) return DB_HDR_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t b = (uint32_t)in[i] << 16;
        if (i + 1 < len) b |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) b |= in[i + 2];
        s[o++] = ALPHABET[(b >> 18) & 63];
        s[o++] = ALPHABET[(b >> 12) & 63];
        s[o++] = i + 1 < len ? ALPHABET[(b >> 6) & 63] : '=';
        s[o++] = i + 2 < len ? ALPHABET[b & 63] : '=';
    }
    s[o] = '\0';
    *out = s;
    return DB_HDR_OK;
}

/* 0..63 for an alphabet character, -1 otherwise. */
static int sextet(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int db_hdr_base64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len) {
    if ((!in && len > 0) || !out || !out_len) return DB_HDR_EINVAL;
    if (len % 4 != 0) return DB_HDR_ECORRUPT;
    size_t pad = 0;
    if (len >= 4 && in[len - 1] == '=') pad = in[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) return DB_HDR_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            bool padding_slot = last && k >= 4 - (int)pad;
            v[k] = padding_slot ? 0 : sextet(in[i + k]);
            if (v[k] < 0) {
                free(buf);
                return DB_HDR_ECORRUPT;
            }
        }
        uint32_t b =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        buf[o++] = (unsigned char)(b >> 16);
        if (o < n) buf[o++] = (unsigned char)(b >> 8);
        if (o < n) buf[o++] = (unsigned char)b;
    }
    *out = buf;
    *out_len = n;
    return DB_HDR_OK;
}
