/* Unit tests for the heads the gateway sends (header_rewrite.c): what is dropped, replaced
 * and added on the way to the upstream and back, X-Forwarded-For trust, path safety. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "header_rewrite.h"
#include "tc/tc_core.h"

static http_request_t req;
static http_response_t resp;
static char out[16384];
static gw_head_size_t last_size;

static const char *upstream_head_of(const char *in, const char *authorization, int keep_tracestate,
                                    bool drop_ws_bearer)
{
    int status;
    const char *why;
    cr_assert_eq(http_parse_request(in, strlen(in), &req, &status, &why), HTTP_OK, "%s", why);
    gw_upreq_t u = {.path = in + req.target_off,
                    .path_len = req.path_len,
                    .query =
                        req.target_len > req.path_len ? in + req.target_off + req.path_len : NULL,
                    .query_len = req.target_len - req.path_len,
                    .host = "10.0.0.5:8082",
                    .xff = "203.0.113.9",
                    .proto = "https",
                    .request_id = "req_1",
                    .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01",
                    .keep_tracestate = keep_tracestate,
                    .authorization = authorization,
                    .drop_ws_bearer = drop_ws_bearer};
    long n = gw_build_upstream_request(in, &req, &u, out, sizeof out, &last_size);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    return out;
}

static const char *upstream_head(const char *in, const char *authorization, int keep_tracestate)
{
    return upstream_head_of(in, authorization, keep_tracestate, false);
}

Test(upstream_request, rewrites_the_head)
{
    const char *in = "POST /v1/users?x=1 HTTP/1.1\r\nHost: api.techcorp.com\r\n"
                     "Content-Length: 2\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                     "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\n"
                     "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic x\r\n"
                     "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: http\r\nForwarded: for=x\r\n"
                     "X-Real-IP: 6.6.6.6\r\nX-Request-Id: client\r\ntraceparent: 00-x\r\n"
                     "tracestate: a=b\r\nX-API-Key: tc_live_k\r\nX-Canary: always\r\n"
                     "Expect: 100-continue\r\nAuthorization: Bearer abc\r\nAccept: */*\r\n\r\n";
    const char *h = upstream_head(in, NULL, 0);
    cr_assert(strncmp(h, "POST /v1/users?x=1 HTTP/1.1\r\nHost: 10.0.0.5:8082\r\n", 50) == 0, "%s",
              h);
    const char *gone[] = {"Connection:",
                          "X-Hop:",
                          "Keep-Alive:",
                          "TE:",
                          "Upgrade:",
                          "Proxy-Connection:",
                          "Proxy-Authorization:",
                          "6.6.6.6",
                          "Forwarded: for",
                          "client",
                          "00-x",
                          "tracestate",
                          "X-API-Key",
                          "X-Canary",
                          "Expect"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        cr_assert_null(strstr(h, gone[i]), "%s survived:\n%s", gone[i], h);
    const char *kept[] = {"Content-Length: 2\r\n",
                          "Authorization: Bearer abc\r\n",
                          "Accept: */*\r\n",
                          "X-Forwarded-For: 203.0.113.9\r\n",
                          "X-Forwarded-Proto: https\r\n",
                          "X-Forwarded-Host: api.techcorp.com\r\n",
                          "X-Request-Id: req_1\r\n",
                          "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        cr_assert_not_null(strstr(h, kept[i]), "%s missing:\n%s", kept[i], h);
    cr_assert(strlen(h) > 4 && strcmp(h + strlen(h) - 4, "\r\n\r\n") == 0);
}

Test(upstream_request, api_key_replaced_by_the_minted_token)
{
    const char *in = "GET /v1/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer tc_live_secret\r\n"
                     "tracestate: a=b\r\n\r\n";
    const char *h = upstream_head(in, "Bearer eyJ.minted.sig", 1);
    cr_assert_null(strstr(h, "tc_live_secret"));
    cr_assert_not_null(strstr(h, "Authorization: Bearer eyJ.minted.sig\r\n"));
    cr_assert_not_null(strstr(h, "tracestate: a=b\r\n"), "kept with a continued trace");
}

Test(upstream_request, a_browsers_websocket_token_becomes_authorization)
{
    const char *in = "GET /v1/notifications/stream HTTP/1.1\r\nHost: a\r\n"
                     "Sec-WebSocket-Protocol: techcorp.notifications.v1, techcorp.bearer.eyJ.b.c,"
                     " x\r\nSec-WebSocket-Key: k\r\n\r\n";
    const char *h = upstream_head_of(in, "Bearer eyJ.b.c", 0, true);
    cr_assert_null(strstr(h, "techcorp.bearer"), "%s", h);
    cr_assert_not_null(strstr(h, "Sec-WebSocket-Protocol: techcorp.notifications.v1,x\r\n"), "%s",
                       h);
    cr_assert_not_null(strstr(h, "Authorization: Bearer eyJ.b.c\r\n"), "%s", h);
    cr_assert_not_null(strstr(h, "Sec-WebSocket-Key: k\r\n"));

    /* only the bearer entry: the header goes, and the field count with it */
    in = "GET /s HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Protocol: techcorp.bearer.t\r\n\r\n";
    h = upstream_head_of(in, "Bearer t", 0, true);
    cr_assert_null(strstr(h, "Sec-WebSocket-Protocol"), "%s", h);
    int fields = last_size.fields;
    in = "GET /s HTTP/1.1\r\nHost: a\r\n\r\n";
    upstream_head_of(in, "Bearer t", 0, true);
    cr_assert_eq(last_size.fields, fields);

    /* no handshake (the flag unset): the header is copied as it came */
    in = "GET /s HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Protocol: techcorp.bearer.t, y\r\n\r\n";
    h = upstream_head(in, NULL, 0);
    cr_assert_not_null(strstr(h, "Sec-WebSocket-Protocol: techcorp.bearer.t, y\r\n"), "%s", h);
}

Test(upstream_request, overflow_is_reported)
{
    const char *in = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n";
    int status;
    const char *why;
    cr_assert_eq(http_parse_request(in, strlen(in), &req, &status, &why), HTTP_OK);
    gw_upreq_t u = {.path = "/",
                    .path_len = 1,
                    .host = "h",
                    .xff = "1.2.3.4",
                    .proto = "http",
                    .request_id = "r",
                    .traceparent = "t"};
    char small[40];
    cr_assert_eq(gw_build_upstream_request(in, &req, &u, small, sizeof small, NULL), -1);
}

/* Found by fuzz_http: a Connection header naming a framing header must not make the gateway
 * strip it, or the upstream reads the body as the next request (a desync). */
Test(upstream_request, connection_cannot_nominate_framing_headers)
{
    const char *in = "POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                     "Connection: Content-Length, Transfer-Encoding, Host, X-Hop\r\n"
                     "X-Hop: 1\r\n\r\nabc";
    const char *h = upstream_head(in, NULL, 0);
    cr_assert_not_null(strstr(h, "Content-Length: 3\r\n"), "%s", h);
    cr_assert_null(strstr(h, "X-Hop"), "%s", h);
    http_request_t again;
    int status;
    const char *why;
    cr_assert_eq(http_parse_request(h, strlen(h), &again, &status, &why), HTTP_OK);
    cr_assert_eq(again.content_length, 3);
}

static const char *client_head(const char *in, gw_resp_ctx_t ctx)
{
    const char *why;
    cr_assert_eq(http_parse_response(in, strlen(in), &resp, &why), HTTP_OK);
    long n = gw_build_client_response(in, &resp, &ctx, out, sizeof out);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    return out;
}

Test(client_response, rewrites_the_head)
{
    const char *in = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                     "Content-Length: 10\r\nConnection: keep-alive, X-Internal\r\nX-Internal: 1\r\n"
                     "Keep-Alive: timeout=30\r\nX-Request-Id: upstream-id\r\n"
                     "Access-Control-Allow-Origin: *\r\nSet-Cookie: a=b\r\n\r\n";
    const char *extra = "RateLimit-Limit: 100\r\n";
    gw_resp_ctx_t ctx = {.request_id = "req_1",
                         .extra = extra,
                         .extra_len = strlen(extra),
                         .keep_alive = 1,
                         .client_minor = 1};
    const char *h = client_head(in, ctx);
    cr_assert(strncmp(h, "HTTP/1.1 201 Created\r\n", 22) == 0);
    cr_assert_null(strstr(h, "Connection"));
    cr_assert_null(strstr(h, "X-Internal"));
    cr_assert_null(strstr(h, "Keep-Alive"));
    cr_assert_null(strstr(h, "upstream-id"));
    cr_assert_not_null(strstr(h, "X-Request-Id: req_1\r\n"));
    cr_assert_not_null(strstr(h, "Content-Length: 10\r\n"));
    cr_assert_not_null(strstr(h, "Set-Cookie: a=b\r\n"));
    cr_assert_not_null(strstr(h, "Access-Control-Allow-Origin: *\r\n"), "no CORS of ours");
    cr_assert_not_null(strstr(h, extra));
    ctx.strip_cors = 1;
    ctx.keep_alive = 0;
    h = client_head(in, ctx);
    cr_assert_null(strstr(h, "Access-Control-Allow-Origin: *"));
    cr_assert_not_null(strstr(h, "Connection: close\r\n"));
}

Test(upstream_request, reports_the_size_of_its_header_section)
{
    /* as libcommon's tc_http counts it: every field, "Name: value\r\n" each */
    const char *h =
        upstream_head("GET /a HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-A: 1\r\n\r\n", NULL, 0);
    const char *fields = strstr(h, "\r\n") + 2, *end = strstr(h, "\r\n\r\n") + 2;
    int n = 0;
    for (const char *p = fields; p < end; p = strstr(p, "\r\n") + 2)
        n++;
    /* Host, Accept, X-A, X-Forwarded-For, -Proto, -Host, X-Request-Id, traceparent */
    cr_assert_eq(n, 8, "%s", h);
    cr_assert_eq(last_size.fields, 8);
    cr_assert_eq(last_size.field_bytes, (size_t)(end - fields), "%s", h);
}

Test(client_response, the_gateways_security_headers_replace_the_upstreams)
{
    const char *in =
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Content-Type-Options: sniff-away\r\n"
        "Strict-Transport-Security: max-age=1\r\n\r\n";
    const char *sec = "X-Content-Type-Options: nosniff\r\n";
    gw_resp_ctx_t ctx = {.request_id = "r",
                         .security = sec,
                         .security_len = strlen(sec),
                         .keep_alive = 1,
                         .client_minor = 1};
    const char *h = client_head(in, ctx);
    cr_assert_null(strstr(h, "sniff-away"), "%s", h);
    cr_assert_not_null(strstr(h, sec), "%s", h);
    cr_assert_not_null(strstr(h, "Strict-Transport-Security: max-age=1\r\n"),
                       "the upstream's HSTS stays when the gateway sends none: %s", h);
    const char *tls = "X-Content-Type-Options: nosniff\r\nStrict-Transport-Security: max-age=9\r\n";
    ctx.security = tls;
    ctx.security_len = strlen(tls);
    ctx.hsts = true;
    h = client_head(in, ctx);
    cr_assert_null(strstr(h, "max-age=1"), "%s", h);
    cr_assert_not_null(strstr(h, tls), "%s", h);
}

Test(client_response, connection_cannot_nominate_framing_headers)
{
    const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                     "Connection: content-length, transfer-encoding\r\n\r\n";
    gw_resp_ctx_t ctx = {.request_id = "req_1", .keep_alive = 1, .client_minor = 1};
    const char *h = client_head(in, ctx);
    cr_assert_not_null(strstr(h, "Content-Length: 2\r\n"), "%s", h);
}

Test(client_response, http10_clients)
{
    const char *in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    gw_resp_ctx_t ctx = {.request_id = "r", .dechunk = 1, .keep_alive = 0, .client_minor = 0};
    const char *h = client_head(in, ctx);
    cr_assert_null(strstr(h, "Transfer-Encoding"));
    cr_assert_not_null(strstr(h, "Connection: close\r\n"));
    const char *cl = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    gw_resp_ctx_t ka = {.request_id = "r", .keep_alive = 1, .client_minor = 0};
    cr_assert_not_null(strstr(client_head(cl, ka), "Connection: keep-alive\r\n"));
}

/* ------------------------------------------------------------------ X-Forwarded-For */

static gw_config_t *trusting(const char *cidrs)
{
    char doc[1024];
    snprintf(
        doc, sizeof doc,
        "{\"plans\": {\"free\": {\"per_minute\": 1, \"per_day\": null}},"
        " \"trusted_proxies\": [%s],"
        " \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": \"http://127.0.0.1:1\"}]}],"
        " \"routes\": [{\"prefix\": \"/\", \"upstream\": \"u\"}]}",
        cidrs);
    cJSON *errors = cJSON_CreateArray();
    gw_config_t *c = NULL;
    cr_assert_eq(gw_config_parse(doc, NULL, &c, errors), TC_OK);
    cJSON_Delete(errors);
    return c;
}

static gw_forwarded_t fwd(gw_config_t *c, const char *peer, const char *xff, const char *xfp)
{
    uint8_t addr[16];
    inet_pton(AF_INET, peer, addr);
    gw_forwarded_t f;
    gw_forwarded(c, AF_INET, addr, peer, xff, xff ? strlen(xff) : 0, xfp, xfp ? strlen(xfp) : 0,
                 &f);
    return f;
}

Test(forwarded, untrusted_peers_are_the_client)
{
    gw_config_t *c = trusting("");
    gw_forwarded_t f = fwd(c, "198.51.100.4", "1.1.1.1", "https");
    cr_assert_str_eq(f.client_ip, "198.51.100.4");
    cr_assert_str_eq(f.xff, "198.51.100.4");
    cr_assert_str_eq(f.proto, "http");
    gw_config_unref(c);
}

Test(forwarded, trusted_chain)
{
    gw_config_t *c = trusting("\"10.0.0.0/8\"");
    gw_forwarded_t f = fwd(c, "10.0.0.1", "203.0.113.5, 10.2.3.4", "https");
    cr_assert_str_eq(f.client_ip, "203.0.113.5", "right-most untrusted hop");
    cr_assert_str_eq(f.xff, "203.0.113.5, 10.2.3.4, 10.0.0.1");
    cr_assert_str_eq(f.proto, "https");
    f = fwd(c, "10.0.0.1", "6.6.6.6, 203.0.113.5", NULL);
    cr_assert_str_eq(f.client_ip, "203.0.113.5", "a spoofed left part is not believed");
    f = fwd(c, "10.0.0.1", "10.9.9.9", "gopher");
    cr_assert_str_eq(f.client_ip, "10.9.9.9", "all trusted: the origin");
    cr_assert_str_eq(f.proto, "http");
    f = fwd(c, "10.0.0.1", "203.0.113.5, garbage", NULL);
    cr_assert_str_eq(f.client_ip, "10.0.0.1", "a malformed chain is ignored");
    cr_assert_str_eq(f.xff, "10.0.0.1");
    f = fwd(c, "10.0.0.1", NULL, NULL);
    cr_assert_str_eq(f.client_ip, "10.0.0.1");
    f = fwd(c, "192.0.2.1", "203.0.113.5", NULL);
    cr_assert_str_eq(f.client_ip, "192.0.2.1", "only trusted peers may speak for others");
    gw_config_unref(c);
}

Test(paths, dot_segments)
{
    const char *safe[] = {"/", "/v1/users", "/a/.b", "/a/b.", "/a/...", "/a%2fb", "/a//b"};
    const char *unsafe[] = {"/..",         "/a/../b",  "/a/./b",  "/a/.",
                            "/a/%2e%2e/b", "/a/%2E/b", "/a/.%2e", "x"};
    for (size_t i = 0; i < sizeof safe / sizeof safe[0]; i++)
        cr_assert(gw_path_safe(safe[i], strlen(safe[i])), "%s", safe[i]);
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
        cr_assert_not(gw_path_safe(unsafe[i], strlen(unsafe[i])), "%s", unsafe[i]);
}

Test(upstream_request, a_websocket_handshake_asks_this_hop_to_upgrade_again)
{
    const char *in = "GET /v1/notifications/stream HTTP/1.1\r\nHost: a\r\n"
                     "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    int status;
    const char *why;
    cr_assert_eq(http_parse_request(in, strlen(in), &req, &status, &why), HTTP_OK);
    gw_upreq_t u = {.path = "/v1/notifications/stream",
                    .path_len = 24,
                    .host = "h",
                    .xff = "1.2.3.4",
                    .proto = "http",
                    .request_id = "r",
                    .traceparent = "t"};
    long n = gw_build_upstream_request(in, &req, &u, out, sizeof out, NULL);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert_null(strstr(out, "Upgrade:"), "hop-by-hop: not forwarded on a plain request");
    cr_assert_not_null(strstr(out, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    u.upgrade = true;
    n = gw_build_upstream_request(in, &req, &u, out, sizeof out, NULL);
    out[n] = '\0';
    cr_assert_not_null(strstr(out, "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
    cr_assert_null(strstr(strstr(out, "Connection:") + 1, "Connection:"), "one Connection header");
}

Test(client_response, a_101_keeps_the_upgrade)
{
    const char *in =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    gw_resp_ctx_t ctx = {.request_id = "req_1", .keep_alive = 0, .client_minor = 1};
    const char *h = client_head(in, ctx);
    cr_assert_not_null(strstr(h, "Connection: close\r\n"), "without the flag: an ordinary answer");
    ctx.upgrade = true;
    h = client_head(in, ctx);
    cr_assert(strncmp(h, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
    cr_assert_not_null(strstr(h, "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
    cr_assert_null(strstr(h, "Connection: close"));
    cr_assert_not_null(strstr(h, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    cr_assert_not_null(strstr(h, "X-Request-Id: req_1\r\n"));
}
