/*
 * WebSocket tunnels. The handshake is an ordinary request — matched, authenticated, rate
 * limited and proxied like any other, so the route's auth and limits apply at the handshake —
 * sent upstream with Connection/Upgrade (hop-by-hop headers the gateway otherwise drops). When
 * the service answers 101, the answer's head goes to the client and the two sockets are joined:
 * whatever arrives on one is written to the other, each direction reading only once the other
 * side has taken what it was given (backpressure), until either side closes or errs, or
 * nothing moves for the route's websocket_idle_ms (the service pings its clients well within
 * that). The gateway does not parse frames: the service speaks the protocol.
 *
 * Shutdown closes tunnels at quiesce (gw_conns_close_idle): a stream has no natural end to
 * wait for, and its client reconnects, to another replica, and resumes.
 */
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_ws.h"

#include <errno.h>
#include <unistd.h>

bool gw_tunnel_wanted(gw_conn_t *c)
{
    if (!c->route->websocket || c->method != HTTP_M_GET)
        return false;
    size_t ulen = 0, clen = 0;
    const char *up = gw_request_header(c, "upgrade", &ulen);
    const char *conn = gw_request_header(c, "connection", &clen);
    return up && conn && tc_ws_lists_n(up, ulen, "websocket") &&
           tc_ws_lists_n(conn, clen, "upgrade");
}

static void arm_idle(gw_conn_t *c)
{
    if (gw_conn_arm(c, c->w->now_ms + c->route->websocket_idle_ms) != TC_OK)
        gw_conn_close(c);
}

/* Moves what it can both ways; returns with the tunnel waiting for readiness, or closed. */
static void relay(gw_conn_t *c)
{
    bool moved = false;
    for (;;) {
        up_conn_t *u = c->up;
        bool progress = false;
        /* upstream → client: what is buffered first, then read more */
        size_t pos = u->in_pos;
        gw_io_t io = gw_conn_write(c, u->in, u->fwd_end, &pos);
        if (io == GW_IO_CLOSED)
            return;
        progress |= pos != u->in_pos;
        u->in_pos = (uint32_t)pos;
        if (io == GW_IO_DONE) {
            c->out_len = c->out_sent = 0;
            u->in_len = u->in_pos = u->fwd_end = 0;
            if (u->rd_ready) {
                ssize_t n = read(u->ev.fd, u->in, u->in_cap);
                if (n > 0) {
                    u->in_len = u->fwd_end = (uint32_t)n;
                    progress = true;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    gw_conn_close(c); /* the service ended the stream */
                    return;
                } else if (errno == EAGAIN) {
                    u->rd_ready = 0;
                }
            }
        }
        /* client → upstream: likewise */
        if (c->body_sent < c->body_end && u->wr_ready) {
            ssize_t n = write(u->ev.fd, c->in + c->body_sent, c->body_end - c->body_sent);
            if (n > 0) {
                c->body_sent += (uint32_t)n;
                c->bytes_in += (uint64_t)n;
                progress = true;
            } else if (n < 0 && errno == EAGAIN) {
                u->wr_ready = 0;
            } else if (n < 0 && errno != EINTR) {
                gw_conn_close(c);
                return;
            }
        }
        if (c->body_sent == c->body_end) {
            c->in_len = c->body_sent = c->body_end = 0;
            if (c->rd_ready) {
                ssize_t n = read(c->ev.fd, c->in, c->in_cap);
                if (n > 0) {
                    c->in_len = c->body_end = (uint32_t)n;
                    progress = true;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    gw_conn_close(c); /* the client left */
                    return;
                } else if (errno == EAGAIN) {
                    c->rd_ready = 0;
                }
            }
        }
        if (!progress)
            break;
        moved = true;
    }
    if (moved)
        arm_idle(c);
}

void gw_tunnel_begin(gw_conn_t *c, up_conn_t *u)
{
    if (atomic_load(&c->w->app->quiescing)) { /* too late: the client reconnects elsewhere */
        gw_conn_close(c);
        return;
    }
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    gw_resp_ctx_t ctx;
    gw_resp_ctx_of(c, &x, &ctx);
    ctx.upgrade = true;
    if (gw_conn_build_head(c, u->in, &u->resp, &ctx) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    c->state = CS_TUNNEL;
    c->response_started = 1;
    c->close_after = 1;
    u->head_done = 1;
    /* bytes after the 101 are the service's first frames; bytes after the client's head, its */
    u->in_pos = u->resp.head_len;
    u->fwd_end = u->in_len;
    c->body_sent = c->req.head_len;
    c->body_end = c->in_len;
    arm_idle(c);
    if (c->ev.fd >= 0)
        relay(c);
}

void gw_tunnel_event(gw_conn_t *c)
{
    if (c->state == CS_TUNNEL && c->up)
        relay(c);
}
