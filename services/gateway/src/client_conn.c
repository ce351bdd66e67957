/*
 * Client connections: reading request heads, the request pipeline (route → auth → rate
 * limit → proxy), responses the gateway makes itself, keep-alive and closing.
 *
 * A request is answered before its body is read whenever the head decides it (404, 405,
 * 413, 401, 429 …); the connection is then closed, because the unread body would otherwise
 * be taken for the next request. Closing after unread input uses a lingering close
 * (shutdown, discard, close), so the client reads our answer instead of a reset.
 */
#include "gw.h"
#include "ratelimit_async.h"
#include "usage_events.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_http.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_trace.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* A lingering close discards for at most 2 s and 16 MiB: enough for a client that sends a
 * whole multi-megabyte body before reading (most HTTP libraries) to get our 413 instead of
 * a reset (with 1 MiB, a 1.3 MB upload was reset mid-send), and little work for abuse. */
#define LINGER_MS       2000
#define LINGER_MAX      (16 << 20)
#define HEAD_PARSE_FROM 3 /* bytes of the previous scan that may start "\r\n\r\n" */

/* ------------------------------------------------------------------ objects */

static gw_conn_t *conn_alloc(gw_worker_t *w)
{
    gw_conn_t *c = w->free_conns;
    if (c) {
        w->free_conns = c->next_free;
        return c;
    }
    if (w->nconns == w->conns_cap) {
        uint32_t cap = w->conns_cap ? w->conns_cap * 2 : 256;
        gw_conn_t **t = realloc(w->conns, cap * sizeof *t);
        if (!t)
            return NULL;
        w->conns = t;
        w->conns_cap = cap;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->w = w;
    c->slot = w->nconns;
    c->ev.fd = -1;
    timer_init(&c->timer, TIMER_CLIENT);
    w->conns[w->nconns++] = c;
    return c;
}

/* Per-request state back to "no request" (keeps buffers and the connection). */
static void request_reset(gw_conn_t *c)
{
    c->route = NULL;
    c->principal = (tc_principal_t){0};
    c->ptype = PT_ANONYMOUS;
    c->key_id[0] = '\0';
    c->rl_set = 0;
    c->extra_len = 0;
    c->cors_ok = 0;
    c->up = NULL;
    c->upstream = NULL;
    c->target = NULL;
    c->probe = 0;
    c->attempts = 0;
    c->tried = 0;
    c->status = 0;
    c->out_len = c->out_sent = 0;
    c->response_started = c->close_after = c->head_dropped = c->body_done = 0;
    c->sent_continue = 0;
    c->request_id[0] = '\0';
    c->path[0] = '\0';
    c->bytes_in = c->bytes_out = 0;
}

void gw_conn_accept(gw_worker_t *w, int fd, const struct sockaddr_storage *sa)
{
    gw_conn_t *c = conn_alloc(w);
    if (!c) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->ev = (gw_ev_t){EV_CLIENT, fd};
    c->state = CS_HEAD;
    c->rd_ready = c->peer_closed = c->in_request = 0;
    c->wr_ready = 1;
    c->in_len = c->scan = 0;
    request_reset(c);
    c->family = sa->ss_family;
    if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        /* an IPv4 client on a dual-stack socket is an IPv4 client */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            c->family = AF_INET;
            memcpy(c->peer, &s6->sin6_addr.s6_addr[12], 4);
        } else {
            memcpy(c->peer, &s6->sin6_addr, 16);
        }
    } else {
        memcpy(c->peer, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
    gw_addr_text(c->family, c->peer, c->peer_text, sizeof c->peer_text);
    atomic_fetch_add(&w->open, 1);
    if (gw_epoll_add(w, fd, &c->ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) != TC_OK ||
        gw_conn_arm(c, w->now_ms + w->app->header_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return;
    }
}

int gw_conn_arm(gw_conn_t *c, int64_t deadline_ms)
{
    return heap_arm(&c->w->timers, &c->timer, deadline_ms);
}

static void release_buffers(gw_conn_t *c)
{
    gw_buf_put(c->w, c->in, c->in_cap);
    gw_buf_put(c->w, c->out, c->out_cap);
    c->in = c->out = NULL;
    c->in_cap = c->out_cap = c->in_len = c->scan = c->out_len = c->out_sent = 0;
}

int gw_conn_out_reserve(gw_conn_t *c, size_t n)
{
    if (c->out && c->out_cap >= n)
        return TC_OK;
    size_t cap = n <= GW_BUF_SIZE ? GW_BUF_SIZE : n;
    char *p = cap == GW_BUF_SIZE ? gw_buf_get(c->w) : malloc(cap);
    if (!p)
        return TC_ENOMEM;
    if (c->out && c->out_len)
        memcpy(p, c->out, c->out_len);
    gw_buf_put(c->w, c->out, c->out_cap);
    c->out = p;
    c->out_cap = (uint32_t)cap;
    return TC_OK;
}

/* ------------------------------------------------------------------ accounting */

static const char *method_label(http_method_t m)
{
    const char *s = http_method_name(m);
    return s ? s : "OTHER";
}

static void access_log(gw_conn_t *c, double ms)
{
    gw_app_t *app = c->w->app;
    int error = c->status >= 500;
    if (!app->access_log && !error)
        return;
    char status[8], dur[24];
    snprintf(status, sizeof status, "%d", c->status);
    snprintf(dur, sizeof dur, "%.3f", ms);
    char trace[33] = "";
    if (c->traceparent[0])
        snprintf(trace, sizeof trace, "%.32s", c->traceparent + 3);
    tc_log_set_context(c->request_id, trace);
    tc_log_kv(error ? TC_LOG_WARN : TC_LOG_INFO, "request", "method", method_label(c->method),
              "path", c->path, "route", c->route ? c->route->name : NULL, "status", status,
              "duration_ms", dur, "client_ip", c->fwd.client_ip, "upstream",
              c->upstream ? c->upstream->name : NULL, "target",
              c->target ? c->target->hostport : NULL, "principal",
              c->principal.sub[0] ? c->principal.sub : NULL, NULL);
    tc_log_set_context(NULL, NULL);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void usage_event(gw_conn_t *c, int64_t dur_ns)
{
    gw_app_t *app = c->w->app;
    if (!app->usage || !c->route || !c->route->usage_events)
        return;
    gw_usage_rec_t rec;
    memcpy(rec.request_id, c->request_id, sizeof rec.request_id);
    copy_str(rec.org, sizeof rec.org, c->principal.org);
    copy_str(rec.principal, sizeof rec.principal, c->principal.sub);
    copy_str(rec.route, sizeof rec.route, c->route->name);
    rec.ptype = (uint8_t)c->ptype;
    rec.method = (uint8_t)c->method;
    rec.status = (uint16_t)c->status;
    rec.latency_us = (uint32_t)(dur_ns / 1000);
    rec.bytes_in = c->bytes_in;
    rec.bytes_out = c->bytes_out;
    rec.occurred_ms = c->start_wall_ms;
    gw_usage_record(app->usage, c->w->usage_ring, &rec);
}

/* The end of a request, however it ended: metrics, logs, usage, references. */
static void request_end(gw_conn_t *c)
{
    if (!c->in_request)
        return;
    gw_worker_t *w = c->w;
    gw_app_t *app = w->app;
    if (!c->status)
        c->status = 499; /* the client went away before an answer */
    int64_t dur_ns = tc_mono_ns() - c->start_ns;
    char code[8];
    snprintf(code, sizeof code, "%d", c->status);
    const char *route = c->route ? c->route->name : "unmatched";
    tc_metric_inc(app->m.requests, 1, route, method_label(c->method), code);
    tc_metric_observe(app->m.duration, (double)dur_ns / 1e9, route);
    access_log(c, (double)dur_ns / 1e6);
    usage_event(c, dur_ns);
    if (c->cfg)
        gw_worker_cfg_release(w, c->cfg);
    c->cfg = NULL;
    c->route = NULL;
    c->in_request = 0;
    c->seq++;
    atomic_fetch_sub(&w->active, 1);
}

/* ------------------------------------------------------------------ closing */

void gw_conn_close(gw_conn_t *c)
{
    if (c->ev.fd < 0)
        return;
    gw_worker_t *w = c->w;
    if (c->up)
        gw_proxy_abort(c);
    request_end(c);
    heap_cancel(&w->timers, &c->timer);
    close(c->ev.fd); /* also leaves the epoll set */
    c->ev.fd = -1;
    c->seq++;
    release_buffers(c);
    atomic_fetch_sub(&w->open, 1);
    c->next_free = w->free_conns;
    w->free_conns = c;
}

static void linger_read(gw_conn_t *c)
{
    char sink[4096];
    while (c->rd_ready) {
        ssize_t n = read(c->ev.fd, sink, sizeof sink);
        if (n > 0) {
            c->bytes_in += (uint64_t)n;
            if (c->bytes_in > LINGER_MAX) {
                gw_conn_close(c);
                return;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            c->rd_ready = errno == EINTR;
            return;
        }
        gw_conn_close(c); /* EOF or error: the client has our answer */
        return;
    }
}

/* Closes once the client has seen our FIN, discarding what it still sends. */
static void linger_close(gw_conn_t *c)
{
    request_end(c);
    if (shutdown(c->ev.fd, SHUT_WR) != 0) {
        gw_conn_close(c);
        return;
    }
    c->state = CS_LINGER;
    c->bytes_in = 0;
    if (gw_conn_arm(c, c->w->now_ms + LINGER_MS) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    linger_read(c);
}

/* While shutting down: closes the connections waiting for a request that has not begun to
 * arrive, and returns how many are part-way through one (bytes of a head buffered here or
 * still in the socket). Those are in flight as much as a proxied request: their request is
 * read, answered with Connection: close, and the drain waits for them. */
int gw_conns_close_idle(gw_worker_t *w)
{
    int receiving = 0;
    for (uint32_t i = 0; i < w->nconns; i++) {
        gw_conn_t *c = w->conns[i];
        if (c->ev.fd < 0 || c->state != CS_HEAD || c->in_request)
            continue;
        int pending = 0;
        if (c->in_len > 0 || (ioctl(c->ev.fd, FIONREAD, &pending) == 0 && pending > 0))
            receiving++;
        else
            gw_conn_close(c);
    }
    return receiving;
}

void gw_conns_free(gw_worker_t *w)
{
    for (uint32_t i = 0; i < w->nconns; i++) {
        gw_conn_t *c = w->conns[i];
        if (c->ev.fd >= 0)
            gw_conn_close(c);
        free(c->fwd_auth);
        free(c);
    }
    free(w->conns);
    w->conns = NULL;
    w->nconns = w->conns_cap = 0;
    w->free_conns = NULL;
    w->ready = NULL;
}

/* ------------------------------------------------------------------ writing */

int gw_conn_flush(gw_conn_t *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = write(c->ev.fd, c->out + c->out_sent, c->out_len - c->out_sent);
        if (n > 0) {
            c->out_sent += (uint32_t)n;
            c->bytes_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->wr_ready = 0;
            return GW_WAIT;
        }
        gw_conn_close(c);
        return -1;
    }
    return GW_DONE;
}

static const char *reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static void continue_respond(gw_conn_t *c)
{
    if (gw_conn_flush(c) == GW_DONE)
        gw_request_finish(c);
}

static void ensure_request_id(gw_conn_t *c)
{
    if (!c->request_id[0] && tc_id_new("req", c->request_id, sizeof c->request_id) != TC_OK)
        snprintf(c->request_id, sizeof c->request_id, "req_unknown");
}

static int build_response(gw_conn_t *c, int status, const char *body, size_t len,
                          const char *headers)
{
    size_t need = 512 + strlen(headers ? headers : "") + c->extra_len + len;
    if (gw_conn_out_reserve(c, need) != TC_OK)
        return -1;
    int body_allowed = status != 204 && status != 304;
    int n = snprintf(c->out, c->out_cap, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n", status,
                     reason(status), c->request_id);
    if (body_allowed)
        n += snprintf(c->out + n, c->out_cap - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n",
                      len);
    n += snprintf(c->out + n, c->out_cap - (size_t)n, "%.*s%s%s\r\n", (int)c->extra_len, c->extra,
                  headers ? headers : "", c->close_after ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n + len > c->out_cap)
        return -1;
    if (body_allowed && c->method != HTTP_M_HEAD && len) {
        memcpy(c->out + n, body, len);
        n += (int)len;
    }
    c->out_len = (uint32_t)n;
    c->out_sent = 0;
    return 0;
}

/* A response the gateway makes itself (errors, CORS preflight). */
static void respond_raw(gw_conn_t *c, int status, const char *body, size_t len, const char *headers,
                        int close)
{
    ensure_request_id(c);
    if (!c->body_done || !c->in_request)
        close = 1; /* an unread body (or unparsable input) cannot be skipped reliably */
    c->close_after |= close;
    c->status = status;
    c->response_started = 1;
    if (build_response(c, status, body, len, headers) != 0 ||
        gw_conn_arm(c, c->w->now_ms + c->w->app->send_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    c->state = CS_RESPOND;
    continue_respond(c);
}

void gw_respond_error(gw_conn_t *c, int status, const char *code, const char *message,
                      const char *extra_headers, int close)
{
    ensure_request_id(c);
    char *body = tc_error_body(code, message, c->request_id, NULL);
    if (!body) {
        gw_conn_close(c);
        return;
    }
    respond_raw(c, status, body, strlen(body), extra_headers, close);
    free(body);
}

/* ------------------------------------------------------------------ request body framing */

/* Extends body_end over newly buffered bytes. -1 malformed chunked body, -2 over the limit. */
static int scan_body(gw_conn_t *c)
{
    if (c->body_done)
        return 0;
    if (!c->chunked) {
        uint32_t avail = c->in_len - c->body_end;
        uint32_t take = (int64_t)avail < c->body_left ? avail : (uint32_t)c->body_left;
        c->body_end += take;
        c->body_left -= take;
        c->body_done = c->body_left == 0;
        return 0;
    }
    while (c->body_end < c->in_len && !c->chunk.done) {
        size_t off, len;
        long n =
            http_chunked_step(&c->chunk, c->in + c->body_end, c->in_len - c->body_end, &off, &len);
        if (n < 0)
            return -1;
        c->body_end += (uint32_t)n;
    }
    c->body_done = c->chunk.done;
    if (c->route && (int64_t)c->chunk.total > c->route->max_body_bytes)
        return -2;
    return 0;
}

/* Reads more of the request body into the buffer (the proxy calls this when everything
 * buffered has been sent). GW_NEXT: bytes arrived; GW_WAIT: nothing yet; GW_DONE: the
 * connection failed or an error response was started. */
int gw_request_body_more(gw_conn_t *c)
{
    if (c->body_sent == c->in_len) {
        /* everything buffered is upstream: reuse the buffer from the start */
        c->head_dropped = 1;
        c->in_len = c->body_end = c->body_sent = 0;
    }
    if (!c->rd_ready)
        return GW_WAIT;
    ssize_t n = read(c->ev.fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->rd_ready = errno == EINTR;
        return GW_WAIT;
    }
    if (n <= 0) {
        gw_conn_close(c); /* the client went away in the middle of its body */
        return GW_DONE;
    }
    c->in_len += (uint32_t)n;
    c->bytes_in += (uint64_t)n;
    int rc = scan_body(c);
    if (rc == -2 && !c->response_started) {
        gw_proxy_abort(c);
        gw_respond_error(c, 413, "payload_too_large", "The request body is too large", NULL, 1);
        return GW_DONE;
    }
    if (rc != 0) {
        if (c->response_started) {
            gw_conn_close(c);
        } else {
            gw_proxy_abort(c);
            gw_respond_error(c, 400, "bad_request", "Malformed chunked request body", NULL, 1);
        }
        return GW_DONE;
    }
    return GW_NEXT;
}

/* ------------------------------------------------------------------ request start */

static const char *hdr(gw_conn_t *c, const char *name, size_t *len)
{
    int i = http_find_header(c->in, c->req.headers, c->req.nheaders, name);
    if (i < 0)
        return NULL;
    *len = c->req.headers[i].value_len;
    return c->in + c->req.headers[i].value_off;
}

static void set_identity(gw_conn_t *c)
{
    size_t len = 0;
    const char *rid = hdr(c, "x-request-id", &len);
    if (rid && tc_request_id_valid(rid, len)) {
        memcpy(c->request_id, rid, len);
        c->request_id[len] = '\0';
    } else {
        c->request_id[0] = '\0';
        ensure_request_id(c);
    }
    char tp[64], trace[33], parent[17], flags[3];
    const char *v = hdr(c, "traceparent", &len);
    c->trace_valid = 0;
    if (v && len < sizeof tp) {
        memcpy(tp, v, len);
        tp[len] = '\0';
        c->trace_valid = tc_traceparent_parse(tp, trace, parent, flags) == TC_OK;
    }
    if (tc_traceparent_child(c->trace_valid ? trace : NULL, c->trace_valid ? flags : "01",
                             c->traceparent) != TC_OK)
        c->traceparent[0] = '\0';
    size_t xl = 0, pl = 0;
    const char *xff = hdr(c, "x-forwarded-for", &xl);
    const char *xfp = hdr(c, "x-forwarded-proto", &pl);
    gw_forwarded(c->cfg, c->family, c->peer, c->peer_text, xff, xl, xfp, pl, &c->fwd);
    const char *canary = hdr(c, "x-canary", &len);
    c->canary_ov = canary ? canary_override(canary, len) : CANARY_AUTO;
}

static void extra_add(gw_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void extra_add(gw_conn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof c->extra - c->extra_len;
    int n = vsnprintf(c->extra + c->extra_len, room, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < room)
        c->extra_len += (uint32_t)n;
}

/* CORS for an allowed Origin; returns 1 when the origin is allowed. */
static int cors_setup(gw_conn_t *c)
{
    const gw_cors_t *cors = &c->cfg->cors;
    size_t len = 0;
    const char *origin = hdr(c, "origin", &len);
    if (!origin || !cors->norigins || len > 200)
        return 0;
    int ok = cors->any_origin;
    for (int i = 0; !ok && i < cors->norigins; i++)
        ok = strlen(cors->origins[i]) == len && memcmp(cors->origins[i], origin, len) == 0;
    if (!ok)
        return 0;
    if (cors->any_origin)
        extra_add(c, "Access-Control-Allow-Origin: *\r\n");
    else
        extra_add(c, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n", (int)len, origin);
    if (cors->credentials)
        extra_add(c, "Access-Control-Allow-Credentials: true\r\n");
    extra_add(c, "Access-Control-Expose-Headers: X-Request-Id, RateLimit-Limit, "
                 "RateLimit-Remaining, RateLimit-Reset, Retry-After\r\n");
    c->cors_ok = 1;
    return 1;
}

/* OPTIONS with Origin and Access-Control-Request-Method: answered here, never proxied. */
static int preflight(gw_conn_t *c, const char *path, size_t plen)
{
    size_t len = 0;
    const char *want = hdr(c, "access-control-request-method", &len);
    if (c->method != HTTP_M_OPTIONS || !want || !hdr(c, "origin", &len))
        return 0;
    size_t wl = 0;
    want = hdr(c, "access-control-request-method", &wl);
    const gw_route_t *r = NULL;
    unsigned allow = 0;
    gw_match_t m = gw_route_match(c->cfg, path, plen, http_method_parse(want, wl), &r, &allow);
    if (!c->cors_ok || m != GW_MATCH_OK) {
        gw_respond_error(c, 403, "cors_rejected",
                         c->cors_ok ? "This method is not allowed on this path"
                                    : "This origin is not allowed",
                         NULL, 0);
        return 1;
    }
    char methods[96], headers[1024];
    gw_methods_format(r->methods, methods, sizeof methods);
    snprintf(headers, sizeof headers,
             "Access-Control-Allow-Methods: %s\r\nAccess-Control-Allow-Headers: %s\r\n"
             "Access-Control-Max-Age: %d\r\n",
             methods, c->cfg->cors.allow_headers, c->cfg->cors.max_age);
    respond_raw(c, 204, NULL, 0, headers, 0);
    return 1;
}

static void run_pipeline(gw_conn_t *c)
{
    for (;;) {
        int rc;
        switch (c->stage) {
        case ST_AUTH:
            rc = gw_auth_begin(c);
            break;
        case ST_RATELIMIT:
            rc = gw_ratelimit_begin(c);
            break;
        default:
            gw_proxy_begin(c);
            return;
        }
        if (rc != GW_NEXT)
            return;
        c->stage++;
    }
}

void gw_request_resume(gw_conn_t *c)
{
    c->stage++;
    run_pipeline(c);
}

/* Everything the head decides, before any of the body is read. */
static void route_request(gw_conn_t *c)
{
    const char *path = c->in + c->req.target_off;
    size_t plen = c->req.path_len;
    if (!gw_path_safe(path, plen)) {
        gw_respond_error(c, 400, "bad_request", "The request path is not acceptable", NULL, 0);
        return;
    }
    cors_setup(c);
    if (preflight(c, path, plen))
        return;
    unsigned allow = 0;
    gw_match_t m = gw_route_match(c->cfg, path, plen, c->method, &c->route, &allow);
    if (m == GW_MATCH_NO_ROUTE) {
        gw_respond_error(c, 404, "not_found", "No route for this path", NULL, 0);
        return;
    }
    if (m == GW_MATCH_NO_METHOD) {
        char methods[96], headers[128];
        gw_methods_format(allow, methods, sizeof methods);
        snprintf(headers, sizeof headers, "Allow: %s\r\n", methods);
        gw_respond_error(c, 405, "method_not_allowed", "This method is not allowed here", headers,
                         0);
        return;
    }
    if (c->req.content_length > c->route->max_body_bytes) {
        gw_respond_error(c, 413, "payload_too_large", "The request body is too large", NULL, 1);
        return;
    }
    c->stage = ST_AUTH;
    run_pipeline(c);
}

static void start_request(gw_conn_t *c)
{
    gw_worker_t *w = c->w;
    c->in_request = 1;
    c->state = CS_STAGE;
    atomic_fetch_add(&w->active, 1);
    c->start_ns = tc_mono_ns();
    c->start_wall_ms = tc_now_ms();
    c->cfg = w->cfg;
    w->cfg_users++;
    c->method = c->req.method;
    c->client_minor = c->req.minor;
    c->keep_alive = c->req.keep_alive && !atomic_load(&w->app->quiescing);
    c->bytes_in = c->req.head_len;
    snprintf(c->path, sizeof c->path, "%.*s", (int)c->req.path_len, c->in + c->req.target_off);
    c->chunked = c->req.chunked;
    c->body_left = c->req.content_length > 0 ? c->req.content_length : 0;
    c->body_end = c->body_sent = c->req.head_len;
    c->body_done = !c->chunked && c->body_left == 0;
    if (c->chunked)
        http_chunked_init(&c->chunk);
    set_identity(c);
    int rc = scan_body(c);
    if (rc != 0) {
        gw_respond_error(
            c, rc == -2 ? 413 : 400, rc == -2 ? "payload_too_large" : "bad_request",
            rc == -2 ? "The request body is too large" : "Malformed chunked request body", NULL, 1);
        return;
    }
    route_request(c);
}

/* ------------------------------------------------------------------ reading heads */

static void queue_ready(gw_conn_t *c)
{
    if (c->on_ready)
        return;
    c->on_ready = 1;
    c->next_ready = c->w->ready;
    c->w->ready = c;
}

/* 1: a request started (or an error answer); 0: need more input. */
static int try_parse(gw_conn_t *c, uint32_t new_from)
{
    uint32_t from = c->scan > HEAD_PARSE_FROM ? c->scan - HEAD_PARSE_FROM : 0;
    int complete = memmem(c->in + from, c->in_len - from, "\r\n\r\n", 4) != NULL;
    int line_done = memchr(c->in + new_from, '\n', c->in_len - new_from) != NULL;
    c->scan = c->in_len;
    if (!complete && !line_done && c->in_len <= HTTP_MAX_LINE)
        return 0;
    int status = 400;
    const char *why = NULL;
    int rc = http_parse_request(c->in, c->in_len, &c->req, &status, &why);
    if (rc == HTTP_INCOMPLETE)
        return 0;
    if (rc == HTTP_ERROR) {
        c->method = HTTP_M_OTHER;
        gw_respond_error(c, status,
                         status == 431   ? "headers_too_large"
                         : status == 414 ? "uri_too_long"
                                         : "bad_request",
                         why, NULL, 1);
        return 1;
    }
    start_request(c);
    return 1;
}

static int grow_in(gw_conn_t *c)
{
    if (!c->in) {
        c->in = gw_buf_get(c->w);
        c->in_cap = GW_BUF_SIZE;
        return c->in ? 0 : -1;
    }
    if (c->in_cap >= GW_IN_MAX)
        return -1;
    char *p = malloc(GW_IN_MAX);
    if (!p)
        return -1;
    memcpy(p, c->in, c->in_len);
    gw_buf_put(c->w, c->in, c->in_cap);
    c->in = p;
    c->in_cap = GW_IN_MAX;
    return 0;
}

static void read_head(gw_conn_t *c)
{
    for (;;) {
        if (!c->rd_ready)
            return;
        if ((!c->in || c->in_len == c->in_cap) && grow_in(c) != 0) {
            c->method = HTTP_M_OTHER;
            gw_respond_error(c, 431, "headers_too_large", "Request head too large", NULL, 1);
            return;
        }
        ssize_t n = read(c->ev.fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->rd_ready = 0;
            return;
        }
        if (n <= 0) {
            gw_conn_close(c); /* closed between requests, or mid-head */
            return;
        }
        if ((size_t)n < c->in_cap - c->in_len && !c->peer_closed)
            c->rd_ready = 0; /* drained: edge-triggered epoll reports new data */
        uint32_t from = c->in_len;
        if (from == 0 && gw_conn_arm(c, c->w->now_ms + c->w->app->header_timeout_ms) != TC_OK) {
            gw_conn_close(c);
            return;
        }
        c->in_len += (uint32_t)n;
        if (try_parse(c, from))
            return;
    }
}

void gw_conns_run_ready(gw_worker_t *w)
{
    gw_conn_t *list = w->ready;
    w->ready = NULL;
    while (list) {
        gw_conn_t *c = list;
        list = c->next_ready;
        c->on_ready = 0;
        if (c->ev.fd < 0 || c->state != CS_HEAD || c->in_request)
            continue;
        if (c->in_len && try_parse(c, 0))
            continue;
        read_head(c);
    }
}

/* ------------------------------------------------------------------ finishing */

void gw_request_finish(gw_conn_t *c)
{
    gw_app_t *app = c->w->app;
    if (c->close_after || !c->keep_alive || atomic_load(&app->quiescing)) {
        if (c->body_done && c->body_end == c->in_len && !c->peer_closed) {
            request_end(c);
            gw_conn_close(c);
        } else {
            linger_close(c);
        }
        return;
    }
    request_end(c);
    /* pipelined bytes after this request's body become the start of the next head */
    uint32_t rest = c->in_len - c->body_end;
    if (rest && c->body_end)
        memmove(c->in, c->in + c->body_end, rest);
    c->in_len = rest;
    c->scan = 0;
    request_reset(c);
    c->state = CS_HEAD;
    if (!rest) {
        release_buffers(c);
        if (gw_conn_arm(c, c->w->now_ms + app->idle_timeout_ms) != TC_OK) {
            gw_conn_close(c);
            return;
        }
    } else if (gw_conn_arm(c, c->w->now_ms + app->header_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    if (rest || c->rd_ready)
        queue_ready(c);
}

/* ------------------------------------------------------------------ events */

void gw_conn_event(gw_conn_t *c, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP)) {
        gw_conn_close(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP))
        c->rd_ready = 1;
    if (events & EPOLLRDHUP)
        c->peer_closed = 1;
    if (events & EPOLLOUT)
        c->wr_ready = 1;
    switch (c->state) {
    case CS_HEAD:
        read_head(c);
        break;
    case CS_PROXY:
        gw_proxy_client_event(c);
        break;
    case CS_RESPOND:
        if (c->wr_ready)
            continue_respond(c);
        break;
    case CS_LINGER:
        linger_read(c);
        break;
    default:
        break; /* waiting for auth or Redis: readiness is remembered in the flags */
    }
}

void gw_conn_timeout(gw_conn_t *c)
{
    switch (c->state) {
    case CS_HEAD:
        if (c->in_len) {
            c->method = HTTP_M_OTHER;
            gw_respond_error(c, 408, "request_timeout", "The request head took too long", NULL, 1);
        } else {
            gw_conn_close(c); /* idle keep-alive connection */
        }
        break;
    case CS_AUTH:
        gw_respond_error(c, 503, "auth_unavailable",
                         "Authentication could not be completed in time", NULL, 0);
        break;
    case CS_RATELIMIT:
        gw_ratelimit_timeout(c);
        break;
    case CS_PROXY:
        gw_proxy_timeout(c);
        break;
    default:
        gw_conn_close(c); /* a client that does not read, or a lingering close */
        break;
    }
}
