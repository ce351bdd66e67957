/* GET /v1/notifications/stream: the caller's live inbox over a WebSocket. The handshake is an
 * ordinary authenticated request (token, role, scope checked by the server); its answer is the
 * 101 that hands the connection to the hub (stream_hub.h). A browser, which cannot send
 * Authorization, offers its token as a Sec-WebSocket-Protocol entry (tc_ws.h) beside
 * STREAM_PROTOCOL, and the 101 names STREAM_PROTOCOL, as browsers require. */
#include "handlers.h"
#include "store.h"
#include "stream_hub.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The subprotocol: the server's JSON frames (README, "Live inbox"). */
#define STREAM_PROTOCOL "techcorp.notifications.v1"

typedef struct {
    stream_hub_t *hub;
    stream_who_t who;
} pending_t;

static void on_upgraded(int fd, const char *extra, size_t extra_len, void *ud)
{
    pending_t *p = ud;
    stream_hub_adopt(p->hub, fd, extra, extra_len, &p->who);
    free(p);
}

/* Refuses a request that is not a WebSocket handshake this server speaks (RFC 6455 §4.2.2). */
static bool handshake_ok(tc_req_t *req, tc_resp_t *resp)
{
    const char *upgrade = tc_req_header(req, "Upgrade");
    const char *version = tc_req_header(req, "Sec-WebSocket-Version");
    if (tc_ws_handshake_ok(upgrade, tc_req_header(req, "Connection"), version,
                           tc_req_header(req, "Sec-WebSocket-Key")))
        return true;
    if (!tc_ws_lists(upgrade, "websocket")) {
        tc_resp_error(resp, 426, "upgrade_required",
                      "This is a WebSocket endpoint: connect with Upgrade: websocket");
        tc_resp_header(resp, "Upgrade", "websocket");
        return false;
    }
    if (version && strcmp(version, "13") != 0) {
        tc_resp_error(resp, 426, "upgrade_required", "Sec-WebSocket-Version must be 13");
        tc_resp_header(resp, "Sec-WebSocket-Version", "13");
        return false;
    }
    tc_resp_error(resp, 400, "bad_request",
                  "Invalid WebSocket handshake: Connection must list upgrade and "
                  "Sec-WebSocket-Key must be 16 bytes in base64");
    return false;
}

/* Whether the client offers STREAM_PROTOCOL (*named), or no subprotocol at all; a list
 * without it is refused: a browser would fail the connection on a 101 that names none. */
static bool protocol_ok(tc_req_t *req, tc_resp_t *resp, bool *named)
{
    const char *offered = tc_req_header(req, "Sec-WebSocket-Protocol");
    *named = tc_ws_lists(offered, STREAM_PROTOCOL);
    if (!offered || *named)
        return true;
    tc_resp_error(resp, 400, "bad_request",
                  "Sec-WebSocket-Protocol must offer " STREAM_PROTOCOL
                  " (and a browser's token as " TC_WS_BEARER_PROTOCOL "<token>)");
    return false;
}

/* The stream number to resume after (?after=<inbox item id>), or -1 for live items only;
 * false after answering 404 (not one of the caller's items) or 503. */
static bool resume_point(tc_req_t *req, tc_resp_t *resp, notification_app_t *app,
                         const tc_principal_t *p, int64_t *after)
{
    const char *id = tc_req_query(req, "after");
    *after = -1;
    if (!id)
        return true;
    if (!tc_id_valid("ntf", id)) {
        tc_resp_error(resp, 404, "not_found", "Notification not found");
        return false;
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return false;
    int rc = store_inbox_seq_of(c, p->org, p->sub, id, after);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Notification");
        return false;
    }
    return true;
}

void h_stream(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    bool named;
    if (!handshake_ok(req, resp) || !protocol_ok(req, resp, &named))
        return;
    int64_t after;
    if (!resume_point(req, resp, app, p, &after))
        return;
    if (stream_hub_full(app->hub)) {
        tc_resp_error(resp, 503, "service_unavailable", "Too many live streams here: try again");
        tc_resp_header(resp, "Retry-After", "5");
        return;
    }
    char accept[TC_WS_ACCEPT_LEN];
    pending_t *pend = calloc(1, sizeof *pend);
    if (!pend || tc_ws_accept(tc_req_header(req, "Sec-WebSocket-Key"), accept) != TC_OK) {
        free(pend);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    pend->hub = app->hub;
    snprintf(pend->who.org, sizeof pend->who.org, "%s", p->org);
    snprintf(pend->who.user, sizeof pend->who.user, "%s", p->sub);
    pend->who.after = after;
    pend->who.exp_ms = p->exp > 0 ? p->exp * 1000 : 0;
    if (tc_resp_header(resp, "Upgrade", "websocket") != TC_OK ||
        tc_resp_header(resp, "Sec-WebSocket-Accept", accept) != TC_OK ||
        (named && tc_resp_header(resp, "Sec-WebSocket-Protocol", STREAM_PROTOCOL) != TC_OK)) {
        free(pend);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_resp_upgrade(resp, on_upgraded, pend, free);
}
