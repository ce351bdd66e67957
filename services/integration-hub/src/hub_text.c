#include "hub_text.h"

#include <stdbool.h>

/* Bytes of the sequence a lead byte starts, 0 when it cannot start one. */
static size_t seq_len(unsigned char c)
{
    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0; /* NUL, continuation bytes, overlong leads C0/C1, F5.. */
}

static bool cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The second byte's range where the lead restricts it (no overlong, surrogate, > U+10FFFF). */
static bool second_ok(unsigned char lead, unsigned char b)
{
    if (lead == 0xE0)
        return b >= 0xA0 && b <= 0xBF;
    if (lead == 0xED)
        return b >= 0x80 && b <= 0x9F;
    if (lead == 0xF0)
        return b >= 0x90 && b <= 0xBF;
    if (lead == 0xF4)
        return b >= 0x80 && b <= 0x8F;
    return cont(b);
}

size_t hub_utf8_prefix(const char *s, size_t n, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t end = n < max ? n : max, i = 0;
    while (i < end) {
        size_t len = seq_len(u[i]);
        if (len == 0 || i + len > end)
            break;
        if (len > 1 && !second_ok(u[i], u[i + 1]))
            break;
        size_t k = 2;
        while (k < len && cont(u[i + k]))
            k++;
        if (len > 2 && k < len)
            break;
        i += len;
    }
    return i;
}
