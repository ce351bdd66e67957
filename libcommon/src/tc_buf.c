#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tc_buf_init(tc_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void tc_buf_free(tc_buf_t *b)
{
    free(b->data);
    tc_buf_init(b);
}

void tc_buf_reset(tc_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int tc_buf_reserve(tc_buf_t *b, size_t extra)
{
    if (b->oom)
        return TC_ENOMEM;
    if (b->len + extra + 1 <= b->cap)
        return TC_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return TC_ENOMEM;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return TC_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return TC_OK;
}

int tc_buf_append(tc_buf_t *b, const void *p, size_t n)
{
    if (tc_buf_reserve(b, n) != TC_OK)
        return TC_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return TC_OK;
}

int tc_buf_puts(tc_buf_t *b, const char *s)
{
    return tc_buf_append(b, s, strlen(s));
}

int tc_buf_putc(tc_buf_t *b, char c)
{
    return tc_buf_append(b, &c, 1);
}

int tc_buf_vprintf(tc_buf_t *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->oom = 1;
        return TC_ERROR;
    }
    if (tc_buf_reserve(b, (size_t)n) != TC_OK)
        return TC_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return TC_OK;
}

int tc_buf_printf(tc_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tc_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int tc_buf_json_escape(tc_buf_t *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                tc_hex_encode(&c, 1, u + 4);
                esc = u;
            }
        }
        if (esc) {
            tc_buf_append(b, s + start, i - start);
            tc_buf_puts(b, esc);
            start = i + 1;
        }
    }
    tc_buf_append(b, s + start, n - start);
    return b->oom ? TC_ENOMEM : TC_OK;
}

static const char *html_entity(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    case '`':
        return "&#x60;";
    case '=':
        return "&#x3D;";
    default:
        return NULL;
    }
}

int tc_buf_html_escape(tc_buf_t *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = html_entity(s[i]);
        if (esc) {
            tc_buf_append(b, s + start, i - start);
            tc_buf_puts(b, esc);
            start = i + 1;
        }
    }
    tc_buf_append(b, s + start, n - start);
    return b->oom ? TC_ENOMEM : TC_OK;
}

int tc_buf_url_encode(tc_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            tc_buf_putc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            tc_buf_append(b, esc, sizeof esc);
        }
    }
    return b->oom ? TC_ENOMEM : TC_OK;
}

int tc_buf_b64(tc_buf_t *b, const void *in, size_t n)
{
    if (n > (SIZE_MAX - 8) / 4 * 3)
        return TC_ENOMEM;
    size_t need = 4 * ((n + 2) / 3);
    if (tc_buf_reserve(b, need) != TC_OK)
        return TC_ENOMEM;
    ssize_t w = tc_b64_encode(in, n, b->data + b->len, b->cap - b->len);
    if (w < 0)
        return TC_ERROR;
    b->len += (size_t)w;
    return TC_OK;
}

char *tc_buf_detach(tc_buf_t *b)
{
    if (b->oom) {
        tc_buf_free(b);
        return NULL;
    }
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    tc_buf_init(b);
    return p;
}

const char *tc_buf_cstr(const tc_buf_t *b)
{
    return b->data ? b->data : "";
}
