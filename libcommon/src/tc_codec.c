/*
 * Text encodings of bytes: hex, base64 (RFC 4648 sections 4 and 5) and percent-decoding. The
 * one place each is written; every decoder refuses what it cannot represent exactly.
 */
#include "tc/tc_codec.h"

#include <limits.h>
#include <stdint.h>

static const char hex_digits[] = "0123456789abcdef";
static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ------------------------------------------------------------------------- hex */

void tc_hex_encode(const void *in, size_t n, char *out)
{
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

ssize_t tc_hex_decode(const char *in, size_t n, void *out, size_t outlen)
{
    if (n % 2 || n / 2 > outlen || n / 2 > SSIZE_MAX || (n && (!in || !out)))
        return -1;
    uint8_t *o = out;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned hi, lo;
        if (!tc_hex_nibble(in[2 * i], &hi) || !tc_hex_nibble(in[2 * i + 1], &lo))
            return -1;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return (ssize_t)(n / 2);
}

/* ------------------------------------------------------------------------- base64 */

static ssize_t b64_encode_alpha(const char *alpha, bool pad, const void *in, size_t n, char *out,
                                size_t outlen)
{
    const uint8_t *p = in;
    size_t full = n / 3, rem = n % 3;
    if (full > (SSIZE_MAX - 8) / 4 || !out || (!in && n))
        return -1;
    size_t need = full * 4 + (rem ? (pad ? 4 : rem + 1) : 0);
    if (need + 1 > outlen)
        return -1;
    char *o = out;
    for (size_t i = 0; i < full; i++, p += 3) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        *o++ = alpha[(v >> 6) & 63];
        *o++ = alpha[v & 63];
    }
    if (rem) {
        uint32_t v = (uint32_t)p[0] << 16 | (rem == 2 ? (uint32_t)p[1] << 8 : 0);
        *o++ = alpha[v >> 18];
        *o++ = alpha[(v >> 12) & 63];
        if (rem == 2)
            *o++ = alpha[(v >> 6) & 63];
        else if (pad)
            *o++ = '=';
        if (pad)
            *o++ = '=';
    }
    *o = '\0';
    return (ssize_t)need;
}

static int b64_value(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Length without padding, or -1 when the padding is not exactly what RFC 4648 prescribes. */
static ssize_t b64_unpadded_len(const char *in, size_t n, bool pad_required)
{
    size_t pad = 0;
    while (pad < n && pad < 3 && in[n - 1 - pad] == '=')
        pad++;
    size_t m = n - pad;
    if (m % 4 == 1 || pad > 2)
        return -1;
    if (pad && (n % 4 != 0 || pad != 4 - m % 4))
        return -1;
    if (pad_required && n % 4 != 0)
        return -1;
    return m > SSIZE_MAX ? -1 : (ssize_t)m;
}

static ssize_t b64_decode_alpha(bool url, bool pad_required, const char *in, size_t n, void *out,
                                size_t outlen)
{
    if (!in && n)
        return -1;
    long lm = b64_unpadded_len(in, n, pad_required);
    if (lm < 0)
        return -1;
    size_t m = (size_t)lm, tail = m % 4;
    size_t need = m / 4 * 3 + (tail ? tail - 1 : 0);
    if (need > outlen || (need && !out))
        return -1;
    uint8_t *o = out;
    uint32_t acc = 0;
    for (size_t i = 0; i < m; i++) {
        int v = b64_value(in[i], url);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            *o++ = (uint8_t)(acc >> 16);
            *o++ = (uint8_t)(acc >> 8);
            *o++ = (uint8_t)acc;
            acc = 0;
        }
    }
    /* Leftover bits must be zero: one byte string has exactly one accepted encoding, so a
     * signed token cannot be altered into a different string that decodes the same. */
    if (tail == 2) {
        if (acc & 0xF)
            return -1;
        *o++ = (uint8_t)(acc >> 4);
    } else if (tail == 3) {
        if (acc & 0x3)
            return -1;
        *o++ = (uint8_t)(acc >> 10);
        *o++ = (uint8_t)(acc >> 2);
    }
    return (ssize_t)need;
}

ssize_t tc_b64url_encode(const void *in, size_t n, char *out, size_t outlen)
{
    return b64_encode_alpha(b64_url, false, in, n, out, outlen);
}

ssize_t tc_b64url_decode(const char *in, size_t n, void *out, size_t outlen)
{
    return b64_decode_alpha(true, false, in, n, out, outlen);
}

ssize_t tc_b64_encode(const void *in, size_t n, char *out, size_t outlen)
{
    return b64_encode_alpha(b64_std, true, in, n, out, outlen);
}

ssize_t tc_b64_decode(const char *in, size_t n, void *out, size_t outlen)
{
    return b64_decode_alpha(false, true, in, n, out, outlen);
}

/* ------------------------------------------------------------------------- percent-encoding */

ssize_t tc_url_decode(const char *in, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            unsigned hi, lo;
            if (i + 2 >= n)
                return -1;
            if (!tc_hex_nibble(in[i + 1], &hi) || !tc_hex_nibble(in[i + 2], &lo))
                return -1;
            c = (char)(hi * 16 + lo);
            if (c == '\0')
                return -1;
            i += 2;
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return (ssize_t)o;
}
