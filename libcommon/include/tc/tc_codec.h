/*
 * tc_codec.h: text encodings of bytes — hex, base64 (RFC 4648 section 4, padded) and
 * base64url (section 5, unpadded), percent-decoding. Decoders return the decoded length or -1
 * for input they cannot represent exactly (odd hex, a foreign character, wrong padding,
 * non-zero leftover bits, an output buffer too small), so one byte string has one accepted
 * encoding.
 */
#ifndef TC_CODEC_H
#define TC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One hex digit (either case) into *value. */
static inline bool tc_hex_nibble(char c, unsigned *value)
{
    if (c >= '0' && c <= '9')
        *value = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
        *value = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
        *value = (unsigned)(c - 'A' + 10);
    else
        return false;
    return true;
}

/* Lower-case hex; out needs 2n+1 bytes (NUL-terminated). */
void tc_hex_encode(const void *in, size_t n, char *out);
/* n hex digits into n/2 bytes. */
ssize_t tc_hex_decode(const char *in, size_t n, void *out, size_t outlen);

/* encode: out needs 4*ceil(n/3)+1 bytes; returns the length written (NUL not counted).
 * url variants: no padding on output; the decoder accepts correct padding or none. */
ssize_t tc_b64url_encode(const void *in, size_t n, char *out, size_t outlen);
ssize_t tc_b64url_decode(const char *in, size_t n, void *out, size_t outlen);
ssize_t tc_b64_encode(const void *in, size_t n, char *out, size_t outlen);
ssize_t tc_b64_decode(const char *in, size_t n, void *out, size_t outlen);

/* Percent-decodes n bytes into out (NUL-terminated); -1 on a malformed escape, an encoded NUL
 * or a buffer too small. '+' is left as is (callers decoding form data map it first). */
ssize_t tc_url_decode(const char *in, size_t n, char *out, size_t outlen);

#endif
