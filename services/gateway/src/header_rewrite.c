/* Heads the gateway sends upstream and back to clients (see header_rewrite.h). */
#include "header_rewrite.h"
#include "tc/tc_ws.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *p;
    size_t len, cap;
    int overflow;
    int fields; /* header fields written */
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_header(out_t *o, const char *name, const char *value, size_t vlen)
{
    o->fields++;
    puts_(o, name);
    put(o, ": ", 2);
    put(o, value, vlen);
    put(o, "\r\n", 2);
}

static void copy_header(out_t *o, const char *buf, const http_hdr_t *h)
{
    o->fields++;
    put(o, buf + h->name_off, h->name_len);
    put(o, ": ", 2);
    put(o, buf + h->value_off, h->value_len);
    put(o, "\r\n", 2);
}

/* Sec-WebSocket-Protocol without its bearer entries (tc_ws.h), left out when none is left: a
 * browser's token travels on as Authorization only, and the service chooses among the rest. */
static void copy_protocols_sans_bearer(out_t *o, const char *buf, const http_hdr_t *h)
{
    const char *v = buf + h->value_off, *e;
    size_t pos = 0, elen;
    bool any = false;
    while (tc_ws_entry_next(v, h->value_len, &pos, &e, &elen)) {
        if (tc_ws_bearer_entry(e, elen))
            continue;
        if (any) {
            put(o, ",", 1);
        } else {
            o->fields++;
            put(o, buf + h->name_off, h->name_len);
            put(o, ": ", 2);
            any = true;
        }
        put(o, e, elen);
    }
    if (any)
        put(o, "\r\n", 2);
}

/* "Name: <the rule's value>"; false (nothing written) when the value is absent for this
 * request (an anonymous caller's $(principal.org)). */
static bool put_rule(out_t *o, const char *name, size_t nlen, const gw_tx_rule_t *r,
                     const gw_tx_ctx_t *x)
{
    size_t mark = o->len;
    int fields = o->fields++;
    put(o, name, nlen);
    put(o, ": ", 2);
    if (o->overflow)
        return true;
    long n = gw_tpl_expand(&r->value, x, false, o->p + o->len, o->cap - o->len);
    if (n == -2) {
        o->len = mark;
        o->fields = fields;
        return false;
    }
    if (n < 0) {
        o->overflow = 1;
        return true;
    }
    o->len += (size_t)n;
    put(o, "\r\n", 2);
    return true;
}

/* A header through the route's rules: removed, renamed, its value replaced, or as it was.
 * present[i] records that add rule i names a header the message has. */
static void tx_copy(out_t *o, const char *buf, const http_hdr_t *h, const gw_tx_set_t *s,
                    const gw_tx_ctx_t *x, bool present[GW_TX_MAX_RULES])
{
    const char *name = buf + h->name_off;
    size_t nlen = h->name_len;
    if (gw_tx_find(s, GW_TX_REMOVE, true, name, nlen))
        return;
    const gw_tx_rule_t *ren = gw_tx_find(s, GW_TX_RENAME, true, name, nlen);
    if (ren) {
        name = ren->to;
        nlen = ren->to_len;
    }
    for (int i = 0; i < s->n[GW_TX_ADD]; i++)
        if (s->rules[GW_TX_ADD][i].name_len == nlen &&
            strncasecmp(s->rules[GW_TX_ADD][i].name, name, nlen) == 0)
            present[i] = true;
    const gw_tx_rule_t *rep = gw_tx_find(s, GW_TX_REPLACE, true, name, nlen);
    if (rep && put_rule(o, name, nlen, rep, x))
        return;
    o->fields++;
    put(o, name, nlen);
    put(o, ": ", 2);
    put(o, buf + h->value_off, h->value_len);
    put(o, "\r\n", 2);
}

/* The add rules whose header the message does not have. */
static void tx_add(out_t *o, const gw_tx_set_t *s, const gw_tx_ctx_t *x,
                   const bool present[GW_TX_MAX_RULES])
{
    for (int i = 0; i < s->n[GW_TX_ADD]; i++)
        if (!present[i])
            put_rule(o, s->rules[GW_TX_ADD][i].name, s->rules[GW_TX_ADD][i].name_len,
                     &s->rules[GW_TX_ADD][i], x);
}

#define IS(h, lit) http_header_is(buf, (h), lit, sizeof lit - 1)

/* Hop-by-hop headers of RFC 9110 §7.6.1 (plus the non-standard Proxy-Connection). */
static bool hop_by_hop(const char *buf, const http_hdr_t *h)
{
    switch (h->name_len) {
    case 2:
        return IS(h, "te");
    case 7:
        return IS(h, "upgrade");
    case 10:
        return IS(h, "connection") || IS(h, "keep-alive");
    case 16:
        return IS(h, "proxy-connection");
    case 18:
        return IS(h, "proxy-authenticate");
    case 19:
        return IS(h, "proxy-authorization");
    default:
        return false;
    }
}

/* Headers only the edge may set, or that the gateway consumes. */
static bool edge_owned(const char *buf, const http_hdr_t *h)
{
    switch (h->name_len) {
    case 4:
        return IS(h, "host");
    case 6:
        return IS(h, "expect");
    case 8:
        return IS(h, "x-canary");
    case 9:
        return IS(h, "forwarded") || IS(h, "x-api-key") || IS(h, "x-real-ip");
    case 11:
        return IS(h, "traceparent");
    case 12:
        return IS(h, "x-request-id");
    case 15:
        return IS(h, "x-forwarded-for");
    case 16:
        return IS(h, "x-forwarded-host") || IS(h, "x-forwarded-port");
    case 17:
        return IS(h, "x-forwarded-proto");
    default:
        return false;
    }
}

/* Message framing is end-to-end whatever Connection says: dropping a nominated
 * Content-Length or Transfer-Encoding would let the next hop read the body as another
 * message. Host is rewritten by us anyway. */
static bool framing(const char *buf, const http_hdr_t *h)
{
    return IS(h, "content-length") || IS(h, "transfer-encoding") || IS(h, "host");
}

/* Whether some Connection header names h (a hop-by-hop header by declaration). */
static bool named_by_connection(const char *buf, const http_hdr_t *hs, int n, const http_hdr_t *h)
{
    if (framing(buf, h))
        return false;
    for (int i = 0; i < n; i++)
        if (IS(&hs[i], "connection") &&
            http_list_has_n(buf + hs[i].value_off, hs[i].value_len, buf + h->name_off, h->name_len))
            return true;
    return false;
}

/* Connection headers listing more than close / keep-alive are rare; skip the per-header
 * scan when there are none. */
static bool connection_names_headers(const char *buf, const http_hdr_t *hs, int n)
{
    for (int i = 0; i < n; i++) {
        if (!IS(&hs[i], "connection"))
            continue;
        const char *tok;
        size_t t, k = 0;
        while (http_list_next(buf + hs[i].value_off, hs[i].value_len, &k, &tok, &t))
            if (!(t == 5 && strncasecmp(tok, "close", 5) == 0) &&
                !(t == 10 && strncasecmp(tok, "keep-alive", 10) == 0))
                return true;
    }
    return false;
}

static void put_length(out_t *o, size_t n)
{
    char v[24];
    int k = snprintf(v, sizeof v, "%zu", n);
    put_header(o, "Content-Length", v, (size_t)k);
}

long gw_build_upstream_request(const char *buf, const http_request_t *req, const gw_upreq_t *u,
                               char *out, size_t cap, gw_head_size_t *size)
{
    out_t o = {out, 0, cap, 0, 0};
    put(&o, buf + req->method_off, req->method_len);
    put(&o, " ", 1);
    put(&o, u->path, u->path_len);
    if (u->query)
        put(&o, u->query, u->query_len);
    puts_(&o, " HTTP/1.1\r\n");
    size_t line = o.len;
    put_header(&o, "Host", u->host, strlen(u->host));
    bool conn_named = connection_names_headers(buf, req->headers, req->nheaders);
    bool present[GW_TX_MAX_RULES] = {false};
    for (int i = 0; i < req->nheaders; i++) {
        const http_hdr_t *h = &req->headers[i];
        if (hop_by_hop(buf, h) || edge_owned(buf, h))
            continue;
        if (u->authorization && IS(h, "authorization"))
            continue;
        if (u->drop_ws_bearer && IS(h, "sec-websocket-protocol")) {
            copy_protocols_sans_bearer(&o, buf, h);
            continue;
        }
        if (u->body_rewritten && (IS(h, "content-length") || IS(h, "transfer-encoding")))
            continue;
        if (u->drop_conditional && (IS(h, "if-none-match") || IS(h, "if-modified-since")))
            continue;
        if (!u->keep_tracestate && IS(h, "tracestate"))
            continue;
        if (conn_named && named_by_connection(buf, req->headers, req->nheaders, h))
            continue;
        if (u->tx)
            tx_copy(&o, buf, h, u->tx, u->txc, present);
        else
            copy_header(&o, buf, h);
    }
    if (u->tx)
        tx_add(&o, u->tx, u->txc, present);
    if (u->authorization)
        put_header(&o, "Authorization", u->authorization, strlen(u->authorization));
    if (u->body_rewritten)
        put_length(&o, u->body_len);
    put_header(&o, "X-Forwarded-For", u->xff, strlen(u->xff));
    put_header(&o, "X-Forwarded-Proto", u->proto, strlen(u->proto));
    if (req->host >= 0)
        put_header(&o, "X-Forwarded-Host", buf + req->headers[req->host].value_off,
                   req->headers[req->host].value_len);
    put_header(&o, "X-Request-Id", u->request_id, strlen(u->request_id));
    put_header(&o, "traceparent", u->traceparent, strlen(u->traceparent));
    if (u->upgrade) /* hop-by-hop, so dropped above: this hop asks for the upgrade again */
        puts_(&o, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    if (size)
        *size = (gw_head_size_t){o.fields, o.len - line};
    put(&o, "\r\n", 2);
    return o.overflow ? -1 : (long)o.len;
}

static bool response_dropped(const char *buf, const http_hdr_t *h, const gw_resp_ctx_t *ctx)
{
    if (hop_by_hop(buf, h) || IS(h, "x-request-id"))
        return true;
    /* the gateway's own security headers replace the upstream's */
    if (ctx->security_len &&
        (IS(h, "x-content-type-options") || (ctx->hsts && IS(h, "strict-transport-security"))))
        return true;
    if ((ctx->dechunk || ctx->body_rewritten) && IS(h, "transfer-encoding"))
        return true;
    if (ctx->body_rewritten && IS(h, "content-length"))
        return true;
    return ctx->strip_cors && h->name_len > 15 &&
           strncasecmp(buf + h->name_off, "access-control-", 15) == 0;
}

long gw_build_client_response(const char *buf, const http_response_t *resp,
                              const gw_resp_ctx_t *ctx, char *out, size_t cap)
{
    out_t o = {out, 0, cap, 0, 0};
    /* status line: our version, the upstream's code and reason */
    const char *eol = memchr(buf, '\r', resp->head_len);
    if (!eol || eol - buf < 12)
        return -1;
    puts_(&o, "HTTP/1.1");
    put(&o, buf + 8, (size_t)(eol - buf - 8));
    put(&o, "\r\n", 2);
    bool conn_named = connection_names_headers(buf, resp->headers, resp->nheaders);
    bool present[GW_TX_MAX_RULES] = {false};
    for (int i = 0; i < resp->nheaders; i++) {
        const http_hdr_t *h = &resp->headers[i];
        if (response_dropped(buf, h, ctx))
            continue;
        if (conn_named && named_by_connection(buf, resp->headers, resp->nheaders, h))
            continue;
        if (ctx->tx)
            tx_copy(&o, buf, h, ctx->tx, ctx->txc, present);
        else
            copy_header(&o, buf, h);
    }
    if (ctx->tx)
        tx_add(&o, ctx->tx, ctx->txc, present);
    if (ctx->body_rewritten)
        put_length(&o, ctx->body_len);
    put_header(&o, "X-Request-Id", ctx->request_id, strlen(ctx->request_id));
    if (ctx->extra)
        put(&o, ctx->extra, ctx->extra_len);
    if (ctx->security)
        put(&o, ctx->security, ctx->security_len);
    if (ctx->upgrade)
        puts_(&o, "Connection: Upgrade\r\nUpgrade: websocket\r\n");
    else if (!ctx->keep_alive)
        puts_(&o, "Connection: close\r\n");
    else if (ctx->client_minor == 0)
        puts_(&o, "Connection: keep-alive\r\n");
    put(&o, "\r\n", 2);
    return o.overflow ? -1 : (long)o.len;
}

/* ------------------------------------------------------------------ client address */

void gw_addr_text(int family, const uint8_t *addr, char *out, size_t outlen)
{
    if (!inet_ntop(family, addr, out, (socklen_t)outlen))
        snprintf(out, outlen, "unknown");
}

static bool trusted(const gw_config_t *c, int family, const uint8_t *addr)
{
    for (int i = 0; i < c->ntrusted; i++)
        if (tc_cidr_contains(&c->trusted[i], family, addr))
            return true;
    return false;
}

/* An address of a forwarded chain, trimmed, into text and binary; false when it is none. */
static bool parse_ip(const char *s, size_t n, int *family, uint8_t addr[16], char *text,
                     size_t textlen)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= textlen)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    if (inet_pton(AF_INET, text, addr) == 1)
        *family = AF_INET;
    else if (inet_pton(AF_INET6, text, addr) == 1)
        *family = AF_INET6;
    else
        return false;
    return true;
}

/* The right-most untrusted address of a trusted peer's X-Forwarded-For; false if malformed. */
static bool client_from_chain(const gw_config_t *c, const char *xff, size_t len, char *client,
                              size_t clen)
{
    size_t end = len;
    char text[64];
    for (;;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        int family;
        uint8_t addr[16];
        if (!parse_ip(xff + start, end - start, &family, addr, text, sizeof text))
            return false;
        snprintf(client, clen, "%s", text);
        if (!trusted(c, family, addr) || start == 0)
            return true; /* the first hop we cannot vouch for, or the origin */
        end = start - 1;
    }
}

void gw_forwarded(const gw_config_t *c, int family, const uint8_t *peer, const char *peer_text,
                  const char *xff, size_t xff_len, const char *xfp, size_t xfp_len,
                  gw_forwarded_t *out)
{
    snprintf(out->client_ip, sizeof out->client_ip, "%s", peer_text);
    snprintf(out->xff, sizeof out->xff, "%s", peer_text);
    snprintf(out->proto, sizeof out->proto, "http");
    if (!c->ntrusted || !trusted(c, family, peer))
        return;
    if (xff && xff_len && xff_len + strlen(peer_text) + 3 < sizeof out->xff &&
        client_from_chain(c, xff, xff_len, out->client_ip, sizeof out->client_ip))
        snprintf(out->xff, sizeof out->xff, "%.*s, %s", (int)xff_len, xff, peer_text);
    else
        snprintf(out->client_ip, sizeof out->client_ip, "%s", peer_text);
    if (xfp && ((xfp_len == 5 && strncasecmp(xfp, "https", 5) == 0) ||
                (xfp_len == 4 && strncasecmp(xfp, "http", 4) == 0)))
        snprintf(out->proto, sizeof out->proto, "%s", xfp_len == 5 ? "https" : "http");
}

/* ------------------------------------------------------------------ validation */

bool gw_path_safe(const char *path, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (path[i] != '/')
            return false;
        i++;
        int dots = 0, other = 0;
        while (i < len && path[i] != '/') {
            if (path[i] == '.') {
                dots++;
                i++;
            } else if (path[i] == '%' && i + 2 < len && path[i + 1] == '2' &&
                       (path[i + 2] == 'e' || path[i + 2] == 'E')) {
                dots++;
                i += 3;
            } else {
                other = 1;
                i++;
            }
        }
        if (!other && (dots == 1 || dots == 2))
            return false;
    }
    return true;
}
