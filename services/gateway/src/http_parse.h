/*
 * http_parse.h: HTTP/1.1 message heads and chunked bodies, as pure functions over a buffer.
 *
 * Nothing here allocates, does I/O or keeps hidden state, so the parsers can be unit tested
 * and fuzzed directly (services/gateway/fuzz/). Headers are reported as offsets into the
 * caller's buffer.
 *
 * The grammar is deliberately strict, because a proxy that is lenient where its upstream is
 * strict (or the other way round) is how request smuggling happens: lines end in CRLF only;
 * no whitespace between a field name and its colon; no obsolete line folding; no control
 * characters (except HTAB) or NUL anywhere in a head; exactly one, all-digit Content-Length;
 * Transfer-Encoding only as exactly "chunked"; never both; HTTP/1.0 and 1.1 only.
 */
#ifndef GW_HTTP_PARSE_H
#define GW_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS      100
#define HTTP_MAX_LINE         8192  /* request line */
#define HTTP_MAX_HEADER_BYTES 16384 /* every header line together */
#define HTTP_MAX_CHUNK_LINE   1024  /* chunk size line with extensions */
#define HTTP_MAX_TRAILERS     8192  /* trailer section of a chunked body */

typedef enum {
    HTTP_M_OTHER = 0,
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_PATCH,
    HTTP_M_DELETE,
    HTTP_M_OPTIONS,
    HTTP_M_COUNT
} http_method_t;

/* "GET" … or NULL for HTTP_M_OTHER. */
const char *http_method_name(http_method_t m);
http_method_t http_method_parse(const char *s, size_t n);
/* GET, HEAD, PUT, DELETE, OPTIONS: a repeat has the same effect (RFC 9110 §9.2.2). */
bool http_method_idempotent(http_method_t m);

typedef struct {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len; /* value without surrounding whitespace */
} http_hdr_t;

typedef enum {
    HTTP_INCOMPLETE = 1, /* need more bytes */
    HTTP_OK = 0,
    HTTP_ERROR = -1, /* see *status and *why */
} http_parse_rc_t;

typedef struct {
    http_method_t method;
    uint32_t method_off, method_len;
    uint32_t target_off, target_len;
    uint32_t path_len; /* target up to '?' */
    int minor;         /* HTTP/1.<minor> */
    uint32_t head_len; /* bytes up to and including the empty line */
    int nheaders;
    http_hdr_t headers[HTTP_MAX_HEADERS];
    int64_t content_length; /* -1 when absent */
    int chunked;
    int keep_alive;      /* persistent connection after this exchange */
    int expect_continue; /* Expect: 100-continue */
    int host;            /* index of the Host header, -1 when absent */
} http_request_t;

typedef struct {
    int status;
    int minor;
    uint32_t head_len;
    int nheaders;
    http_hdr_t headers[HTTP_MAX_HEADERS];
    int64_t content_length; /* -1 when absent */
    int chunked;
    int keep_alive;
} http_response_t;

/*
 * Parses a request head at the start of buf. HTTP_OK (out filled), HTTP_INCOMPLETE, or
 * HTTP_ERROR with *status the answer to give (400, 414, 431, 501, 505) and *why a short
 * static reason for logs.
 */
http_parse_rc_t http_parse_request(const char *buf, size_t len, http_request_t *out, int *status,
                                   const char **why);

/* Parses a response head; HTTP_ERROR means the upstream spoke garbage (answer 502). */
http_parse_rc_t http_parse_response(const char *buf, size_t len, http_response_t *out,
                                    const char **why);

/* Whether a response to `method` with `status` carries no body whatever its headers say. */
bool http_response_bodyless(http_method_t method, int status);

/* Header lookup (case-insensitive name); index or -1. */
int http_find_header(const char *buf, const http_hdr_t *h, int n, const char *name);
/* Whether the header at i has the given name. */
bool http_header_is(const char *buf, const http_hdr_t *h, const char *name, size_t name_len);
/* Whether the comma-separated value contains token (case-insensitive). */
bool http_list_has(const char *value, size_t len, const char *token);
bool http_list_has_n(const char *value, size_t len, const char *token, size_t tlen);
/* The next element of a comma- or space-separated list value from *pos on: false when there
 * is none left (Connection, Vary, If-None-Match). */
bool http_list_next(const char *value, size_t len, size_t *pos, const char **tok, size_t *tlen);

/* ------------------------------------------------------------------ chunked bodies */

typedef struct {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    uint32_t line;      /* bytes of the current size line / trailer line */
    uint32_t trailer_bytes;
    uint64_t total; /* decoded body bytes so far */
    int done;
} http_chunked_t;

void http_chunked_init(http_chunked_t *c);

/*
 * Consumes bytes of a chunked body. Returns how many bytes of p were consumed (stopping
 * exactly at the end of the body, so pipelined data after it is left alone), or -1 on a
 * framing error. When some of them are chunk data, *data_off and *data_len give the first data
 * span inside p (the call stops after it, so loop until everything is consumed). c->done
 * becomes 1 after the final CRLF.
 */
long http_chunked_step(http_chunked_t *c, const char *p, size_t n, size_t *data_off,
                       size_t *data_len);

#endif
