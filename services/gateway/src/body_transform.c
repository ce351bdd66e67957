/*
 * JSON body rules on the request path (issue 23; the rules themselves: transform_body.c).
 *
 * Request: a route with "request_body" rules reads a JSON request body whole before the
 * exchange (up to the route's transform.body_max_bytes: 413 beyond it; a chunked body is
 * decoded), rewrites it, and sends it with a Content-Length of its own; a body that is not a
 * JSON object is refused (400) rather than passed on unchanged. Other content types, and
 * routes without body rules, stream as before.
 *
 * Response: an answer with a JSON Content-Type on a route with "response_body" rules is read
 * whole (502 when larger than body_max_bytes, or not a JSON object: a rule that removes a field
 * must not be skipped by sending the field on), rewritten, and answered with its new length.
 * HEAD, bodiless statuses and other content types pass untouched.
 */
#include "gw.h"
#include "request_limits.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const gw_transform_t *tx_of(const gw_conn_t *c)
{
    return c->route ? c->route->transform : NULL;
}

/* Appends n bytes to a growing buffer of at most max bytes: TC_EINVAL beyond it. */
static int append(char **buf, size_t *len, size_t *cap, int64_t max, const char *p, size_t n)
{
    if ((int64_t)(*len + n) > max)
        return TC_EINVAL;
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap * 2 : 4096;
        while (want < *len + n + 1)
            want *= 2;
        char *q = realloc(*buf, want);
        if (!q)
            return TC_ENOMEM;
        *buf = q;
        *cap = want;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return TC_OK;
}

void gw_body_tx_free(gw_conn_t *c)
{
    free(c->tx_body);
    free(c->rx_head);
    free(c->rx_body);
    c->tx_body = c->rx_head = c->rx_body = NULL;
    c->tx_body_len = c->tx_body_cap = c->tx_body_sent = 0;
    c->rx_head_len = c->rx_body_len = c->rx_body_cap = c->rx_body_sent = 0;
    c->rx_ready = false;
}

/* ------------------------------------------------------------------ request */

static bool request_applies(gw_conn_t *c)
{
    const gw_transform_t *t = tx_of(c);
    if (!t || gw_tx_set_empty(&t->req_body) || (!c->chunked && c->req.content_length <= 0))
        return false;
    size_t n = 0;
    const char *type = gw_request_header(c, "content-type", &n);
    return type && gw_tx_is_json(type, n);
}

/* Moves the body bytes buffered after the head into tx_body (decoded when chunked), keeping
 * the head and any pipelined bytes after the body in c->in. */
static int take_buffered(gw_conn_t *c)
{
    const gw_transform_t *t = tx_of(c);
    uint32_t start = c->body_sent, end = c->body_end;
    int rc = TC_OK;
    if (!c->chunked) {
        rc = append(&c->tx_body, &c->tx_body_len, &c->tx_body_cap, t->body_max_bytes, c->in + start,
                    end - start);
    } else {
        uint32_t at = start;
        while (rc == TC_OK && at < end) {
            size_t off, len;
            long n = http_chunked_step(&c->tx_chunk, c->in + at, end - at, &off, &len);
            if (n < 0)
                return TC_EINVAL; /* gw_body_scan read the same bytes and found them fine */
            if (len)
                rc = append(&c->tx_body, &c->tx_body_len, &c->tx_body_cap, t->body_max_bytes,
                            c->in + at + off, len);
            at += (uint32_t)n;
        }
    }
    if (rc != TC_OK)
        return rc;
    /* what follows the body (a pipelined request) moves up behind the head */
    memmove(c->in + start, c->in + end, c->in_len - end);
    c->in_len -= end - start;
    c->body_end = c->body_sent = start;
    return TC_OK;
}

static void refuse_too_large(gw_conn_t *c)
{
    gw_respond_error(c, 413, "payload_too_large",
                     "The request body is larger than the route's body rules take", NULL, true);
}

/* The body is whole: rewrite it and go on to the exchange. */
static gw_step_t rewrite(gw_conn_t *c)
{
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    char *out = NULL;
    size_t len = 0;
    int rc = gw_tx_json(&tx_of(c)->req_body, &x, c->tx_body ? c->tx_body : "", c->tx_body_len, &out,
                        &len);
    if (rc == TC_EINVAL) {
        gw_respond_error(c, 400, "invalid_body", "The request body must be a JSON object", NULL,
                         true);
        return GW_DONE;
    }
    if (rc != TC_OK) {
        gw_respond_error(c, 503, "unavailable", "The gateway is out of memory",
                         "Retry-After: 1\r\n", true);
        return GW_DONE;
    }
    free(c->tx_body);
    c->tx_body = out;
    c->tx_body_len = c->tx_body_cap = len;
    c->tx_body_sent = 0;
    c->state = CS_STAGE;
    return GW_NEXT;
}

/* Takes what is buffered and reads on until the body is whole or the socket is dry. */
static gw_step_t collect(gw_conn_t *c)
{
    for (;;) {
        int rc = take_buffered(c);
        if (rc == TC_EINVAL) {
            refuse_too_large(c);
            return GW_DONE;
        }
        if (rc != TC_OK) {
            gw_conn_close(c);
            return GW_DONE;
        }
        if (c->body_done)
            return rewrite(c);
        if (!c->rd_ready)
            return GW_WAIT;
        if (c->in_len == c->in_cap && gw_conn_grow_in(c) != TC_OK) {
            gw_conn_close(c);
            return GW_DONE;
        }
        ssize_t n = read(c->ev.fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            c->rd_ready = errno == EINTR;
            if (!c->rd_ready)
                return GW_WAIT;
            continue;
        }
        if (n <= 0) {
            gw_conn_close(c); /* the client went away in the middle of its body */
            return GW_DONE;
        }
        c->in_len += (uint32_t)n;
        c->bytes_in += (uint64_t)n;
        gw_body_t b = gw_body_scan(c);
        if (b == GW_BODY_TOO_LARGE) {
            refuse_too_large(c);
            return GW_DONE;
        }
        if (b != GW_BODY_OK) {
            gw_respond_error(c, 400, "bad_request", "Malformed chunked request body", NULL, true);
            return GW_DONE;
        }
    }
}

gw_step_t gw_body_tx_begin(gw_conn_t *c)
{
    if (!request_applies(c))
        return GW_NEXT;
    const gw_transform_t *t = tx_of(c);
    if (!c->chunked && c->req.content_length > t->body_max_bytes) {
        refuse_too_large(c);
        return GW_DONE;
    }
    if (c->chunked)
        http_chunked_init(&c->tx_chunk);
    if (c->req.expect_continue)
        gw_send_continue(c); /* it waits for this before sending the body we wait for */
    if (gw_conn_arm(c, c->w->now_ms + c->route->timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return GW_DONE;
    }
    c->state = CS_BODY;
    return collect(c);
}

void gw_body_tx_event(gw_conn_t *c)
{
    if (collect(c) == GW_NEXT)
        gw_request_resume(c);
}

void gw_body_tx_timeout(gw_conn_t *c)
{
    gw_respond_error(c, 408, "request_timeout", "The request body did not arrive in time", NULL,
                     true);
}

/* ------------------------------------------------------------------ response */

bool gw_body_tx_response_applies(gw_conn_t *c, const char *buf, const http_response_t *resp)
{
    const gw_transform_t *t = tx_of(c);
    if (!t || gw_tx_set_empty(&t->resp_body) || c->method == HTTP_M_HEAD ||
        http_response_bodyless(c->method, resp->status))
        return false;
    int i = http_find_header(buf, resp->headers, resp->nheaders, "content-type");
    return i >= 0 && gw_tx_is_json(buf + resp->headers[i].value_off, resp->headers[i].value_len);
}

int gw_body_tx_response_head(gw_conn_t *c, const char *buf, const http_response_t *resp)
{
    if (!(c->rx_head = malloc(resp->head_len)))
        return TC_ENOMEM;
    memcpy(c->rx_head, buf, resp->head_len);
    c->rx_head_len = resp->head_len;
    return TC_OK;
}

int gw_body_tx_response_data(gw_conn_t *c, const char *data, size_t n)
{
    return append(&c->rx_body, &c->rx_body_len, &c->rx_body_cap, tx_of(c)->body_max_bytes, data, n);
}

static void bad_answer(gw_conn_t *c, const char *message)
{
    gw_body_tx_free(c);
    c->status = 502;
    gw_respond_error(c, 502, "bad_gateway", message, NULL, false);
}

void gw_body_tx_response_end(gw_conn_t *c)
{
    http_response_t resp;
    const char *why;
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    char *out = NULL;
    size_t len = 0;
    if (!c->rx_head || http_parse_response(c->rx_head, c->rx_head_len, &resp, &why) != HTTP_OK) {
        bad_answer(c, "The service sent an invalid response");
        return;
    }
    int rc = gw_tx_json(&tx_of(c)->resp_body, &x, c->rx_body ? c->rx_body : "", c->rx_body_len,
                        &out, &len);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "response body rules: the answer is not a JSON object", "route",
                  c->route->name ? c->route->name : "-", NULL);
        bad_answer(c, "The service sent a body the route's rules cannot apply to");
        return;
    }
    free(c->rx_body);
    c->rx_body = out;
    c->rx_body_len = c->rx_body_cap = len;
    c->rx_body_sent = 0;
    c->rx_ready = true;
    gw_resp_ctx_t ctx;
    gw_resp_ctx_of(c, &x, &ctx);
    ctx.body_rewritten = true;
    ctx.body_len = len;
    if (gw_conn_build_head(c, c->rx_head, &resp, &ctx) != TC_OK ||
        gw_conn_arm(c, c->w->now_ms + c->w->app->send_timeout_ms) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    c->response_started = 1;
    c->state = CS_RESPOND;
    gw_respond_continue(c);
}

gw_io_t gw_body_tx_flush(gw_conn_t *c)
{
    return gw_conn_write(c, c->rx_body, c->rx_body_len, &c->rx_body_sent);
}
