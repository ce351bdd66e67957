/*
 * The request pipeline: what happens to a request between its parsed head and the upstream
 * exchange, as one table of stages run in order (gw_stage_t, gw.h).
 *
 *   parse        client_conn.c     the head, strictly (400, 408, 414, 431, 501, 505)
 *   stages[]     below             identity → limits → body → path → cors → route →
 *                                  body limit → auth → rate limit → cache → body rules →
 *                                  proxy
 *   finish       client_conn.c     keep-alive (the next pipelined head) or close
 *   end          request_log.c     metrics, access log, usage event
 *
 * A stage returns GW_NEXT (go on), GW_WAIT (it handed the request to another thread or to
 * Redis; gw_request_resume goes on from the stage after it) or GW_DONE (it answered, or the
 * proxy took the request over). Everything up to the body limit is decided from the head
 * alone, before any of the body is read.
 */
#include "gw.h"
#include "request_limits.h"
#include "tc/tc_core.h"
#include "tc/tc_http.h"
#include "tc/tc_time.h"
#include "tc/tc_trace.h"

#include <stdio.h>
#include <string.h>

typedef gw_step_t (*gw_stage_fn)(gw_conn_t *c);

static gw_step_t stage_identity(gw_conn_t *c);
static gw_step_t stage_limits(gw_conn_t *c);
static gw_step_t stage_body(gw_conn_t *c);
static gw_step_t stage_path(gw_conn_t *c);
static gw_step_t stage_cors(gw_conn_t *c);
static gw_step_t stage_route(gw_conn_t *c);
static gw_step_t stage_body_limit(gw_conn_t *c);

static const gw_stage_fn stages[GW_STAGE_COUNT] = {
    [GW_STAGE_IDENTITY] = stage_identity,      /* request id, traceparent, client address */
    [GW_STAGE_LIMITS] = stage_limits,          /* 400 query parameters, 431 cookies */
    [GW_STAGE_BODY] = stage_body,              /* 400 malformed chunked body */
    [GW_STAGE_PATH] = stage_path,              /* 400 dot segments */
    [GW_STAGE_CORS] = stage_cors,              /* CORS headers; preflight 204 / 403 */
    [GW_STAGE_ROUTE] = stage_route,            /* 404, 405 */
    [GW_STAGE_BODY_LIMIT] = stage_body_limit,  /* 413 */
    [GW_STAGE_AUTH] = gw_auth_begin,           /* auth_gate.c: 401, 403, 503 */
    [GW_STAGE_RATELIMIT] = gw_ratelimit_begin, /* ratelimit_async.c: 429, 503 */
    [GW_STAGE_CACHE] = gw_cache_begin,         /* cache_stage.c: a cached 200 or 304 */
    [GW_STAGE_BODY_TX] = gw_body_tx_begin,     /* body_transform.c: 400, 413, 408 */
    [GW_STAGE_PROXY] = gw_proxy_begin,         /* proxy_forward.c: the exchange, 502/503/504 */
};

/* Runs the stages from c->stage on, until one waits or answers. */
static void run(gw_conn_t *c)
{
    while (c->stage < GW_STAGE_COUNT && stages[c->stage](c) == GW_NEXT)
        c->stage++;
}

void gw_request_resume(gw_conn_t *c)
{
    c->stage++;
    run(c);
}

void gw_request_start(gw_conn_t *c)
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
    c->stage = GW_STAGE_IDENTITY;
    run(c);
}

const char *gw_request_header(gw_conn_t *c, const char *name, size_t *len)
{
    int i = http_find_header(c->in, c->req.headers, c->req.nheaders, name);
    if (i < 0)
        return NULL;
    *len = c->req.headers[i].value_len;
    return c->in + c->req.headers[i].value_off;
}

/* ------------------------------------------------------------------ stages */

static gw_step_t stage_identity(gw_conn_t *c)
{
    size_t len = 0;
    const char *rid = gw_request_header(c, "x-request-id", &len);
    if (rid && tc_request_id_valid(rid, len)) {
        memcpy(c->request_id, rid, len);
        c->request_id[len] = '\0';
    } else {
        c->request_id[0] = '\0';
        gw_request_id_ensure(c);
    }
    char tp[64], trace[33], parent[17], flags[3];
    const char *v = gw_request_header(c, "traceparent", &len);
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
    const char *xff = gw_request_header(c, "x-forwarded-for", &xl);
    const char *xfp = gw_request_header(c, "x-forwarded-proto", &pl);
    gw_forwarded(c->cfg, c->family, c->peer, c->peer_text, xff, xl, xfp, pl, &c->fwd);
    const char *canary = gw_request_header(c, "x-canary", &len);
    c->canary_ov = canary ? canary_override(canary, len) : CANARY_AUTO;
    return GW_NEXT;
}

static gw_step_t stage_limits(gw_conn_t *c)
{
    gw_refusal_t why;
    if (gw_request_within_limits(c->in, &c->req, &why))
        return GW_NEXT;
    /* closed, as the services close on a head they refuse: whoever sends such heads gets no
     * connection to send more on */
    gw_respond_error(c, why.status, why.code, why.message, NULL, true);
    return GW_DONE;
}

static gw_step_t stage_body(gw_conn_t *c)
{
    gw_body_t rc = gw_body_scan(c);
    if (rc == GW_BODY_OK)
        return GW_NEXT;
    if (rc == GW_BODY_TOO_LARGE)
        gw_respond_error(c, 413, "payload_too_large", "The request body is too large", NULL, true);
    else
        gw_respond_error(c, 400, "bad_request", "Malformed chunked request body", NULL, true);
    return GW_DONE;
}

static gw_step_t stage_path(gw_conn_t *c)
{
    if (gw_path_safe(c->in + c->req.target_off, c->req.path_len))
        return GW_NEXT;
    gw_respond_error(c, 400, "bad_request", "The request path is not acceptable", NULL, false);
    return GW_DONE;
}

static gw_step_t stage_cors(gw_conn_t *c)
{
    gw_cors_headers(c);
    return gw_cors_preflight(c, c->in + c->req.target_off, c->req.path_len) ? GW_DONE : GW_NEXT;
}

static gw_step_t stage_route(gw_conn_t *c)
{
    unsigned allow = 0;
    gw_match_t m = gw_route_match(c->cfg, c->in + c->req.target_off, c->req.path_len, c->method,
                                  &c->route, &allow);
    if (m == GW_MATCH_OK)
        return GW_NEXT;
    if (m == GW_MATCH_NO_ROUTE) {
        gw_respond_error(c, 404, "not_found", "No route for this path", NULL, false);
        return GW_DONE;
    }
    char methods[96], headers[128];
    gw_methods_format(allow, methods, sizeof methods);
    snprintf(headers, sizeof headers, "Allow: %s\r\n", methods);
    gw_respond_error(c, 405, "method_not_allowed", "This method is not allowed here", headers,
                     false);
    return GW_DONE;
}

/* Content-Length says, or the chunked body already read (with the head) shows, more than the
 * route takes. Later chunks are counted as they arrive (request_body.c). */
static gw_step_t stage_body_limit(gw_conn_t *c)
{
    int64_t max = c->route->max_body_bytes;
    if (c->req.content_length <= max && (!c->chunked || (int64_t)c->chunk.total <= max))
        return GW_NEXT;
    gw_respond_error(c, 413, "payload_too_large", "The request body is too large", NULL, true);
    return GW_DONE;
}
