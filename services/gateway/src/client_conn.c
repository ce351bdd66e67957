/*
 * Client connections: accepting, reading and parsing request heads, keep-alive between
 * requests (pipelined input included), closing, and the connection's events and timeouts.
 * What happens to a parsed head is request_pipeline.c's job.
 *
 * A request is answered before its body is read whenever the head decides it (404, 405,
 * 413, 401, 429 …); the connection is then closed, because the unread body would otherwise
 * be taken for the next request. Closing after unread input uses a lingering close
 * (shutdown, discard, close), so the client reads our answer instead of a reset.
 */
#include "cache_tier.h"
#include "gw.h"
#include "ratelimit_async.h"
#include "tc/tc_core.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
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
    c->ws_bearer = false;
    c->key_id[0] = '\0';
    c->fwd.proto[0] = '\0'; /* until the identity stage: not known to be TLS */
    c->rl_set = 0;
    c->extra_len = 0;
    c->cors_ok = 0;
    c->up = NULL;
    c->upstream = NULL;
    c->target = NULL;
    c->probe = 0;
    c->panic = c->backoff = c->budgeted = c->reached_upstream = 0;
    c->backoffs = 0;
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

/* ------------------------------------------------------------------ closing */

void gw_conn_close(gw_conn_t *c)
{
    if (c->ev.fd < 0)
        return;
    gw_worker_t *w = c->w;
    if (c->up)
        gw_proxy_abort(c);
    gw_request_end(c);
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
    gw_request_end(c);
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
        if (c->ev.fd >= 0 && c->state == CS_TUNNEL) {
            /* a WebSocket has no end to wait for: its client reconnects to another replica */
            gw_conn_close(c);
            continue;
        }
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

/* One writev for the head and the body: written apart they cost two sends per answer (on
 * loopback, two passes through the receiver's stack as well). */
gw_io_t gw_conn_write(gw_conn_t *c, const char *p, size_t len, size_t *sent)
{
    for (;;) {
        struct iovec iov[2];
        int cnt = 0;
        if (c->out_sent < c->out_len)
            iov[cnt++] = (struct iovec){c->out + c->out_sent, c->out_len - c->out_sent};
        if (*sent < len)
            iov[cnt++] = (struct iovec){(char *)p + *sent, len - *sent};
        if (!cnt)
            return GW_IO_DONE;
        ssize_t n = writev(c->ev.fd, iov, cnt);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->wr_ready = 0;
            return GW_IO_WAIT;
        }
        if (n <= 0) {
            gw_conn_close(c);
            return GW_IO_CLOSED;
        }
        c->bytes_out += (uint64_t)n;
        size_t left = (size_t)n, head = c->out_len - c->out_sent;
        size_t h = left < head ? left : head;
        c->out_sent += (uint32_t)h;
        *sent += left - h;
    }
}

gw_io_t gw_conn_flush(gw_conn_t *c)
{
    size_t none = 0;
    return gw_conn_write(c, NULL, 0, &none);
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

/* True when a request started (or an error answer); false when more input is needed. */
static bool try_parse(gw_conn_t *c, uint32_t new_from)
{
    uint32_t from = c->scan > HEAD_PARSE_FROM ? c->scan - HEAD_PARSE_FROM : 0;
    bool complete = memmem(c->in + from, c->in_len - from, "\r\n\r\n", 4) != NULL;
    bool line_done = memchr(c->in + new_from, '\n', c->in_len - new_from) != NULL;
    c->scan = c->in_len;
    if (!complete && !line_done && c->in_len <= HTTP_MAX_LINE)
        return false;
    int status = 400;
    const char *why = NULL;
    http_parse_rc_t rc = http_parse_request(c->in, c->in_len, &c->req, &status, &why);
    if (rc == HTTP_INCOMPLETE)
        return false;
    if (rc == HTTP_ERROR) {
        c->method = HTTP_M_OTHER;
        gw_respond_error(c, status,
                         status == 431   ? "headers_too_large"
                         : status == 414 ? "uri_too_long"
                                         : "bad_request",
                         why, NULL, true);
        return true;
    }
    gw_request_start(c);
    return true;
}

/* The input buffer: a pooled one first, then one of GW_IN_MAX for a large head. TC_ENOMEM
 * also when the head would not fit even that. */
int gw_conn_grow_in(gw_conn_t *c)
{
    if (!c->in) {
        c->in = gw_buf_get(c->w);
        c->in_cap = GW_BUF_SIZE;
        return c->in ? TC_OK : TC_ENOMEM;
    }
    if (c->in_cap >= GW_IN_MAX)
        return TC_ENOMEM;
    char *p = malloc(GW_IN_MAX);
    if (!p)
        return TC_ENOMEM;
    memcpy(p, c->in, c->in_len);
    gw_buf_put(c->w, c->in, c->in_cap);
    c->in = p;
    c->in_cap = GW_IN_MAX;
    return TC_OK;
}

static void read_head(gw_conn_t *c)
{
    for (;;) {
        if (!c->rd_ready)
            return;
        if ((!c->in || c->in_len == c->in_cap) && gw_conn_grow_in(c) != TC_OK) {
            c->method = HTTP_M_OTHER;
            gw_respond_error(c, 431, "headers_too_large", "Request head too large", NULL, true);
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
            gw_request_end(c);
            gw_conn_close(c);
        } else {
            linger_close(c);
        }
        return;
    }
    gw_request_end(c);
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
    case CS_TUNNEL:
        gw_tunnel_event(c);
        break;
    case CS_RESPOND:
        if (c->wr_ready)
            gw_respond_continue(c);
        break;
    case CS_LINGER:
        linger_read(c);
        break;
    case CS_BODY:
        if (c->rd_ready)
            gw_body_tx_event(c);
        break;
    case CS_COALESCE:
    case CS_SHARED:
        if (c->peer_closed)
            gw_conn_close(c); /* nobody to answer: it would fetch for no one */
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
            gw_respond_error(c, 408, "request_timeout", "The request head took too long", NULL,
                             true);
        } else {
            gw_conn_close(c); /* idle keep-alive connection */
        }
        break;
    case CS_AUTH:
        gw_respond_error(c, 503, "auth_unavailable",
                         "Authentication could not be completed in time", NULL, false);
        break;
    case CS_RATELIMIT:
        gw_ratelimit_timeout(c);
        break;
    case CS_PROXY:
        gw_proxy_timeout(c);
        break;
    case CS_TUNNEL: /* nothing moved either way for the route's websocket_idle_ms */
        gw_conn_close(c);
        break;
    case CS_COALESCE:
        gw_cache_wait_timer(c);
        break;
    case CS_SHARED:
        gw_cache_tier_timeout(c);
        break;
    case CS_BODY:
        gw_body_tx_timeout(c);
        break;
    default:
        gw_conn_close(c); /* a client that does not read, or a lingering close */
        break;
    }
}
