/*
 * The request body as it arrives: how much of the buffered input belongs to it (Content-Length
 * or chunked framing, checked as it goes, and the route's limit for chunked bodies), and
 * reading more of it while the proxy streams it upstream.
 */
#include "gw.h"

#include <errno.h>
#include <unistd.h>

gw_body_t gw_body_scan(gw_conn_t *c)
{
    if (c->body_done)
        return GW_BODY_OK;
    if (!c->chunked) {
        uint32_t avail = c->in_len - c->body_end;
        uint32_t take = (int64_t)avail < c->body_left ? avail : (uint32_t)c->body_left;
        c->body_end += take;
        c->body_left -= take;
        c->body_done = c->body_left == 0;
        return GW_BODY_OK;
    }
    while (c->body_end < c->in_len && !c->chunk.done) {
        size_t off, len;
        long n =
            http_chunked_step(&c->chunk, c->in + c->body_end, c->in_len - c->body_end, &off, &len);
        if (n < 0)
            return GW_BODY_MALFORMED;
        c->body_end += (uint32_t)n;
    }
    c->body_done = c->chunk.done;
    if (c->route && (int64_t)c->chunk.total > c->route->max_body_bytes)
        return GW_BODY_TOO_LARGE;
    return GW_BODY_OK;
}

gw_step_t gw_request_body_more(gw_conn_t *c)
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
    gw_body_t rc = gw_body_scan(c);
    if (rc == GW_BODY_TOO_LARGE && !c->response_started) {
        gw_proxy_abort(c);
        gw_respond_error(c, 413, "payload_too_large", "The request body is too large", NULL, true);
        return GW_DONE;
    }
    if (rc != GW_BODY_OK) {
        if (c->response_started) {
            gw_conn_close(c);
        } else {
            gw_proxy_abort(c);
            gw_respond_error(c, 400, "bad_request", "Malformed chunked request body", NULL, true);
        }
        return GW_DONE;
    }
    return GW_NEXT;
}
