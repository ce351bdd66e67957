/* Unit tests for the HTTP/1.1 head and chunked-body parsers (http_parse.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

static http_request_t req;
static http_response_t resp;

static int parse(const char *s, int *status)
{
    const char *why = NULL;
    *status = 0;
    return http_parse_request(s, strlen(s), &req, status, &why);
}

static void expect_error(const char *s, int want)
{
    int status;
    int rc = parse(s, &status);
    cr_assert_eq(rc, HTTP_ERROR, "accepted: %.60s", s);
    cr_assert_eq(status, want, "status %d, want %d for: %.60s", status, want, s);
}

static int value_is(const char *buf, const char *name, const char *want)
{
    int i = http_find_header(buf, req.headers, req.nheaders, name);
    if (i < 0)
        return 0;
    return req.headers[i].value_len == strlen(want) &&
           memcmp(buf + req.headers[i].value_off, want, strlen(want)) == 0;
}

Test(request, simple_get)
{
    const char *s = "GET /v1/users?limit=5 HTTP/1.1\r\nHost: api\r\nX-A:  spaced value \t\r\n\r\n";
    int status;
    cr_assert_eq(parse(s, &status), HTTP_OK);
    cr_assert_eq(req.method, HTTP_M_GET);
    cr_assert_eq(req.minor, 1);
    cr_assert_eq(req.path_len, strlen("/v1/users"));
    cr_assert_eq(req.target_len, strlen("/v1/users?limit=5"));
    cr_assert_eq(req.head_len, strlen(s));
    cr_assert_eq(req.nheaders, 2);
    cr_assert(value_is(s, "x-a", "spaced value"), "OWS trimmed");
    cr_assert(value_is(s, "HOST", "api"), "names are case-insensitive");
    cr_assert_eq(req.content_length, -1);
    cr_assert(req.keep_alive);
    cr_assert_not(req.chunked);
}

Test(request, incomplete_until_the_empty_line)
{
    const char *full = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    size_t head = strstr(full, "\r\n\r\n") + 4 - full;
    int status = 0;
    const char *why;
    for (size_t n = 0; n < head; n++)
        cr_assert_eq(http_parse_request(full, n, &req, &status, &why), HTTP_INCOMPLETE,
                     "complete after %zu bytes", n);
    cr_assert_eq(http_parse_request(full, strlen(full), &req, &status, &why), HTTP_OK);
    cr_assert_eq(req.head_len, head, "the body is not part of the head");
    cr_assert_eq(req.content_length, 3);
}

Test(request, keep_alive_rules)
{
    int status;
    cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &status), 0);
    cr_assert_not(req.keep_alive);
    cr_assert_eq(parse("GET / HTTP/1.0\r\n\r\n", &status), 0);
    cr_assert_not(req.keep_alive);
    cr_assert_eq(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &status), 0);
    cr_assert(req.keep_alive);
    cr_assert_eq(req.host, -1, "HTTP/1.0 may omit Host");
}

Test(request, chunked_and_expect)
{
    int status;
    const char *s = "PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nExpect: "
                    "100-continue\r\n\r\n";
    cr_assert_eq(parse(s, &status), HTTP_OK);
    cr_assert(req.chunked);
    cr_assert(req.expect_continue);
    cr_assert_eq(req.content_length, -1);
}

Test(request, leading_empty_lines_are_skipped)
{
    int status;
    cr_assert_eq(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &status), HTTP_OK);
    cr_assert_eq(req.method, HTTP_M_GET);
}

Test(request, pipelined_head_stops_at_the_first_request)
{
    const char *s = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    int status;
    cr_assert_eq(parse(s, &status), HTTP_OK);
    cr_assert_eq(req.head_len, strlen(s) / 2);
}

Test(request, unknown_methods_parse_as_other)
{
    int status;
    cr_assert_eq(parse("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", &status), HTTP_OK);
    cr_assert_eq(req.method, HTTP_M_OTHER);
    cr_assert_eq(req.method_len, 8);
}

Test(request, malformed)
{
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\nHost: a\n\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  folded\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400);
    expect_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    expect_error("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    expect_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    expect_error("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
    expect_error("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400);
    expect_error("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", 417);
}

Test(request, smuggling_vectors)
{
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n",
                 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
                 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n",
                 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 501);
    expect_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
    expect_error("POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n", 400);
}

static char *repeat(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + n + sl + 1);
    cr_assert_not_null(s);
    memcpy(s, prefix, pl);
    memset(s + pl, c, n);
    memcpy(s + pl + n, suffix, sl + 1);
    return s;
}

Test(request, limits)
{
    char *line = repeat("GET /", 'a', HTTP_MAX_LINE, " HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_error(line, 414);
    free(line);
    /* a long line still arriving is refused as soon as it is too long */
    char *partial = repeat("GET /", 'a', HTTP_MAX_LINE + 10, "");
    expect_error(partial, 414);
    free(partial);
    char *ok = repeat("GET /", 'a', HTTP_MAX_LINE - 20, " HTTP/1.1\r\nHost: a\r\n\r\n");
    int status;
    cr_assert_eq(parse(ok, &status), HTTP_OK);
    free(ok);
    char *big =
        repeat("GET / HTTP/1.1\r\nHost: a\r\nX-Big: ", 'v', HTTP_MAX_HEADER_BYTES, "\r\n\r\n");
    expect_error(big, 431);
    free(big);
    char many[8192] = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < HTTP_MAX_HEADERS; i++)
        strcat(many, "X: y\r\n");
    strcat(many, "\r\n");
    expect_error(many, 431);
    *strrchr(many, 'X') = '\0'; /* drop the last one: exactly 100 */
    strcat(many, "\r\n");
    cr_assert_eq(parse(many, &status), HTTP_OK);
    cr_assert_eq(req.nheaders, HTTP_MAX_HEADERS);
}

Test(request, list_helpers)
{
    cr_assert(http_list_has("keep-alive, Upgrade ,x", 22, "upgrade"));
    cr_assert(http_list_has("close", 5, "CLOSE"));
    cr_assert_not(http_list_has("closed, x", 9, "close"));
    cr_assert(http_method_idempotent(HTTP_M_PUT));
    cr_assert_not(http_method_idempotent(HTTP_M_POST));
    cr_assert_not(http_method_idempotent(HTTP_M_PATCH));
}

/* ------------------------------------------------------------------ responses */

static int parse_resp(const char *s)
{
    const char *why = NULL;
    return http_parse_response(s, strlen(s), &resp, &why);
}

Test(response, framing)
{
    cr_assert_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"), HTTP_OK);
    cr_assert_eq(resp.status, 200);
    cr_assert_eq(resp.content_length, 12);
    cr_assert(resp.keep_alive);
    cr_assert_eq(parse_resp("HTTP/1.1 201 \r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_OK);
    cr_assert(resp.chunked);
    cr_assert_eq(parse_resp("HTTP/1.1 204\r\n\r\n"), HTTP_OK, "empty reason, no space");
    cr_assert_eq(parse_resp("HTTP/1.0 200 OK\r\n\r\n"), HTTP_OK);
    cr_assert_not(resp.keep_alive);
    cr_assert_eq(parse_resp("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"), HTTP_OK);
    cr_assert_not(resp.keep_alive);
    cr_assert_eq(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"), HTTP_INCOMPLETE);
    cr_assert(http_response_bodyless(HTTP_M_HEAD, 200));
    cr_assert(http_response_bodyless(HTTP_M_GET, 304));
    cr_assert(http_response_bodyless(HTTP_M_GET, 204));
    cr_assert(http_response_bodyless(HTTP_M_GET, 100));
    cr_assert_not(http_response_bodyless(HTTP_M_GET, 200));
}

Test(response, garbage)
{
    const char *bad[] = {
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(parse_resp(bad[i]), HTTP_ERROR, "accepted: %s", bad[i]);
}

/* ------------------------------------------------------------------ chunked */

/* Feeds s in pieces of `step` bytes; returns the decoded data, total consumed in *used. */
static char *decode(const char *s, size_t len, size_t step, size_t *used, int *err)
{
    http_chunked_t c;
    http_chunked_init(&c);
    char *out = calloc(1, len + 1);
    size_t o = 0, pos = 0;
    *err = 0;
    while (pos < len && !c.done) {
        size_t avail = len - pos < step ? len - pos : step;
        size_t k = 0;
        while (k < avail && !c.done) {
            size_t off, dl;
            long n = http_chunked_step(&c, s + pos + k, avail - k, &off, &dl);
            if (n < 0) {
                *err = 1;
                *used = pos + k;
                return out;
            }
            memcpy(out + o, s + pos + k + off, dl);
            o += dl;
            k += (size_t)n;
        }
        pos += k;
    }
    *used = pos;
    *err = c.done ? 0 : -1;
    return out;
}

Test(chunked, decodes_in_any_pieces)
{
    const char *s = "5\r\nhello\r\na;name=v\r\n\r\n1234567\n\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    size_t len = strlen(s);
    for (size_t step = 1; step <= len; step++) {
        size_t used;
        int err;
        char *out = decode(s, len, step, &used, &err);
        cr_assert_eq(err, 0, "step %zu", step);
        cr_assert_str_eq(out, "hello\r\n1234567\n", "step %zu", step); /* data is opaque */
        cr_assert_eq(used, len - 4, "stops before pipelined bytes (step %zu)", step);
        free(out);
    }
}

Test(chunked, rejects_bad_framing)
{
    const char *bad[] = {
        "g\r\n",                    /* not hex */
        "5\nhello\r\n0\r\n\r\n",    /* bare LF */
        "5\r\nhelloX\r\n",          /* data not followed by CRLF */
        "\r\n",                     /* empty size */
        " 5\r\nhello\r\n",          /* leading space */
        "5 \r\nhello\r\n",          /* trailing space */
        "fffffffffffffffff\r\n",    /* 17 hex digits: overflow */
        "0\r\n folded: x\r\n\r\n",  /* folded trailer */
        "0\r\nX: a\x01\r\n\r\n",    /* control in trailer */
        "1;\x7f\r\na\r\n0\r\n\r\n", /* DEL in an extension */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t used;
        int err;
        free(decode(bad[i], strlen(bad[i]), 1, &used, &err));
        cr_assert_eq(err, 1, "accepted: %s", bad[i]);
    }
}

Test(chunked, limits_on_lines_and_trailers)
{
    char line[HTTP_MAX_CHUNK_LINE + 16] = "1;";
    memset(line + 2, 'e', HTTP_MAX_CHUNK_LINE);
    line[2 + HTTP_MAX_CHUNK_LINE] = '\0';
    size_t used;
    int err;
    free(decode(line, strlen(line), 7, &used, &err));
    cr_assert_eq(err, 1, "endless chunk extension");
    size_t n = HTTP_MAX_TRAILERS + 64;
    char *tr = malloc(n + 8);
    memcpy(tr, "0\r\nX: ", 6);
    memset(tr + 6, 'v', n);
    tr[6 + n] = '\0';
    free(decode(tr, strlen(tr), 100, &used, &err));
    cr_assert_eq(err, 1, "endless trailer");
    free(tr);
}

Test(chunked, counts_decoded_bytes)
{
    http_chunked_t c;
    http_chunked_init(&c);
    const char *s = "ff\r\n";
    size_t off, len;
    cr_assert_eq(http_chunked_step(&c, s, 4, &off, &len), 4);
    char data[255];
    memset(data, 'z', sizeof data);
    cr_assert_eq(http_chunked_step(&c, data, 100, &off, &len), 100);
    cr_assert_eq(len, 100);
    cr_assert_eq(c.total, 100);
    cr_assert_eq(c.remaining, 155);
}
