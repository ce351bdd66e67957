/*
 * tc_buf.h: growable byte buffer (always NUL-terminated), in the spirit of Redis' sds.
 *
 * Appends never fail silently: on allocation failure the buffer sets `oom` and further
 * appends are ignored, so a caller can build a whole message and check once at the end.
 */
#ifndef TC_BUF_H
#define TC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    int oom;
} tc_buf_t;

#define TC_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void tc_buf_init(tc_buf_t *b);
void tc_buf_free(tc_buf_t *b);
void tc_buf_reset(tc_buf_t *b); /* len = 0, keeps the allocation */
int tc_buf_reserve(tc_buf_t *b, size_t extra);
int tc_buf_append(tc_buf_t *b, const void *p, size_t n);
int tc_buf_puts(tc_buf_t *b, const char *s);
int tc_buf_putc(tc_buf_t *b, char c);
int tc_buf_printf(tc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tc_buf_vprintf(tc_buf_t *b, const char *fmt, va_list ap);
/* Appends s as the body of a JSON string (escaped, without the quotes). */
int tc_buf_json_escape(tc_buf_t *b, const char *s, size_t n);
/* Appends s escaped for HTML text and attribute values: & < > " ' ` = become entities (the
 * set Mustache escapes: safe in quoted and unquoted attributes too). */
int tc_buf_html_escape(tc_buf_t *b, const char *s, size_t n);
/* Appends s percent-encoded (RFC 3986 §2.1): every byte but the unreserved A-Z a-z 0-9 - . _ ~
 * as %XX — a query component or a form-urlencoded value. */
int tc_buf_url_encode(tc_buf_t *b, const char *s);
/* Appends the n bytes at in as standard base64 (RFC 4648 §4, padded): a Basic credential, a
 * binary body carried in JSON. */
int tc_buf_b64(tc_buf_t *b, const void *in, size_t n);
/* Returns the data (caller frees) and leaves the buffer empty; "" if nothing was appended;
 * NULL if an allocation failed at any point. */
char *tc_buf_detach(tc_buf_t *b);
/* The contents as a C string ("" when empty). Valid until the next append. */
const char *tc_buf_cstr(const tc_buf_t *b);

#endif
