/*
 * libFuzzer driver for the gateway's HTTP parsing and head rewriting.
 *
 * The first input byte picks a mode and a feeding step; the rest is the message:
 *   request heads → http_parse_request, then (when accepted) the request limits, and the
 *                   upstream head is built and re-parsed: what the gateway sends must itself
 *                   be a valid request, and its reported size must be the real one, so a head
 *                   within the services' limits is never refused by them
 *   response heads → http_parse_response, then the client head is built and re-parsed
 *   chunked bodies → http_chunked_step fed in pieces of `step` bytes: it must consume
 *                    exactly up to the end of the body whatever the piece size
 *
 * `make fuzz` builds it (clang, ASan+UBSan) and runs it from the seed corpus in
 * corpus/fuzz_http/ (scripts/fuzz.sh); `make test` runs it briefly. By hand:
 *   make fuzz-build && build/fuzz/fuzz/gateway/fuzz_http -max_len=40000 \
 *       -max_total_time=300 /tmp/gw-corpus services/gateway/fuzz/corpus/fuzz_http
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "header_rewrite.h"
#include "http_parse.h"
#include "request_limits.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static http_request_t req, req2;
static http_response_t resp, resp2;
static char out[65536];

static void headers_in_bounds(const http_hdr_t *h, int n, size_t len)
{
    for (int i = 0; i < n; i++) {
        CHECK(h[i].name_len > 0);
        CHECK((size_t)h[i].name_off + h[i].name_len <= len);
        CHECK((size_t)h[i].value_off + h[i].value_len <= len);
    }
}

static void fuzz_request(const char *buf, size_t len)
{
    int status = 0;
    const char *why = NULL;
    int rc = http_parse_request(buf, len, &req, &status, &why);
    if (rc == HTTP_ERROR) {
        CHECK(status >= 400 && status < 600 && why);
        return;
    }
    if (rc != HTTP_OK)
        return;
    CHECK(req.head_len <= len);
    CHECK((size_t)req.target_off + req.target_len <= req.head_len);
    CHECK(req.path_len <= req.target_len);
    CHECK(!(req.chunked && req.content_length >= 0));
    headers_in_bounds(req.headers, req.nheaders, len);
    (void)gw_path_safe(buf + req.target_off, req.path_len);
    gw_refusal_t why_not;
    if (gw_request_within_limits(buf, &req, &why_not)) {
        size_t q = req.target_len > req.path_len ? req.target_len - req.path_len - 1 : 0;
        CHECK(gw_query_params(buf + req.target_off + req.path_len + 1, q) <= GW_MAX_QUERY_PARAMS);
    } else {
        CHECK((why_not.status == 400 || why_not.status == 431) && why_not.code && why_not.message);
    }
    gw_upreq_t u = {.path = buf + req.target_off,
                    .path_len = req.path_len,
                    .query =
                        req.target_len > req.path_len ? buf + req.target_off + req.path_len : NULL,
                    .query_len = req.target_len - req.path_len,
                    .host = "127.0.0.1:8082",
                    .xff = "192.0.2.1",
                    .proto = "http",
                    .request_id = "req_fuzz",
                    .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    .keep_tracestate = (int)(len & 1),
                    .authorization = (len & 2) ? "Bearer x.y.z" : NULL};
    gw_head_size_t size;
    long n = gw_build_upstream_request(buf, &req, &u, out, sizeof out, &size);
    if (n < 0)
        return;
    /* the size reported is the header section's: from after the request line to the empty
     * line, one field per line */
    const char *fields = memchr(out, '\n', (size_t)n) + 1;
    CHECK(size.field_bytes == (size_t)(out + n - 2 - fields));
    int lines = 0;
    for (const char *p = fields; p < out + n - 2;
         p = (const char *)memchr(p, '\n', (size_t)(out + n - p)) + 1)
        lines++;
    CHECK(lines == size.fields);
    /* what we send upstream parses as one complete request with the same framing; a head
     * over the limits is never sent (the gateway answers 431) */
    int rc2 = http_parse_request(out, (size_t)n, &req2, &status, &why);
    if (!gw_upstream_head_within_limits(size.fields, size.field_bytes))
        return;
    CHECK(rc2 == HTTP_OK);
    CHECK(req2.head_len == (uint32_t)n);
    CHECK(req2.content_length == req.content_length);
    CHECK(req2.chunked == req.chunked);
}

static void fuzz_response(const char *buf, size_t len)
{
    const char *why = NULL;
    if (http_parse_response(buf, len, &resp, &why) != HTTP_OK)
        return;
    CHECK(resp.head_len <= len && resp.status >= 100 && resp.status <= 999);
    headers_in_bounds(resp.headers, resp.nheaders, len);
    gw_resp_ctx_t ctx = {.request_id = "req_fuzz",
                         .extra = "RateLimit-Limit: 1\r\n",
                         .extra_len = 20,
                         .strip_cors = (int)(len & 1),
                         .dechunk = resp.chunked && (len & 2),
                         .keep_alive = (int)(len & 4),
                         .client_minor = (len & 2) ? 0 : 1};
    long n = gw_build_client_response(buf, &resp, &ctx, out, sizeof out);
    if (n < 0)
        return;
    /* the headers we add can push a head that was at a limit over it */
    if (resp.nheaders + 4 > HTTP_MAX_HEADERS || resp.head_len + 256 > HTTP_MAX_HEADER_BYTES)
        return;
    CHECK(http_parse_response(out, (size_t)n, &resp2, &why) == HTTP_OK);
    CHECK(resp2.status == resp.status);
    CHECK(resp2.head_len == (uint32_t)n);
}

static void fuzz_chunked(const char *buf, size_t len, size_t step)
{
    http_chunked_t a, b;
    http_chunked_init(&a);
    http_chunked_init(&b);
    size_t off, dl, pos_a = 0, data_a = 0, data_b = 0;
    int err_a = 0, err_b = 0;
    /* all at once */
    while (pos_a < len && !a.done) {
        long n = http_chunked_step(&a, buf + pos_a, len - pos_a, &off, &dl);
        if (n < 0) {
            err_a = 1;
            break;
        }
        CHECK((size_t)n <= len - pos_a && off + dl <= (size_t)n);
        CHECK(n > 0);
        data_a += dl;
        pos_a += (size_t)n;
    }
    /* in pieces */
    size_t pos_b = 0;
    while (pos_b < len && !b.done && !err_b) {
        size_t piece = len - pos_b < step ? len - pos_b : step, k = 0;
        while (k < piece && !b.done) {
            long n = http_chunked_step(&b, buf + pos_b + k, piece - k, &off, &dl);
            if (n < 0) {
                err_b = 1;
                break;
            }
            data_b += dl;
            k += (size_t)n;
        }
        pos_b += k;
    }
    CHECK(err_a == err_b);
    if (!err_a) {
        CHECK(a.done == b.done && data_a == data_b && a.total == data_a);
        CHECK(!a.done || pos_a == pos_b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    switch (mode % 3) {
    case 0:
        fuzz_request(buf, len);
        break;
    case 1:
        fuzz_response(buf, len);
        break;
    default:
        fuzz_chunked(buf, len, (size_t)(mode / 3) % 16 + 1);
        break;
    }
    return 0;
}
