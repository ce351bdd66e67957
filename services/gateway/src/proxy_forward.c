/*
 * The upstream exchange of a request: choose a target (canary group, weighted round-robin,
 * breakers), connect or reuse, send the rewritten head and stream the body, read the
 * response head, rewrite it, and relay the body back, with backpressure both ways.
 *
 * Retries: only while nothing of the response reached the client and the whole request is
 * still in our buffer, and only for failures that prove the upstream did not process the
 * request. A connection that could not be made (refused, timed out) carried nothing, so it is
 * retried for every method, POST included (issue 14): on another target when one is
 * available, else on the same after a short backoff, for up to the upstream's
 * connect_retry_ms from the first attempt and within its retry budget (a share of recent
 * requests may retry, per worker), so retries cannot multiply an outage's load. A reused keep-alive
 * connection found closed before any response byte may have carried the request: retried for
 * idempotent methods only. A POST is never sent twice to a target that may have received it.
 *
 * Targets: the balancer's healthy ones; when fewer than panic_threshold percent of a group is
 * healthy and the other group cannot serve, any target of the group (panic mode), so a
 * restarting single-target service is tried rather than answered 503 for eject_ms.
 *
 * Failure answers: no healthy target or connection refused → 503, timeout → 504, broken or
 * garbled response → 502, the client's body not arriving in time → 408, a head larger than
 * the services take → 431, all in the platform's error format.
 *
 * Breakers hear only what the target is to blame for (outcome_t below): a client can never
 * make a healthy target look unhealthy.
 */
#include "gw.h"
#include "canary.h"
#include "request_limits.h"
#include "upstream_health.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define WBUF_MAX (GW_IN_MAX + 8192)

/* Backoff before retrying the same target after a refused connection: 25, 50, 100, 200,
 * 250 ms … (a restarting service listens within a few hundred ms of its exec). */
#define BACKOFF_BASE_MS 25
#define BACKOFF_MAX_MS  250

/* What a 503 the gateway makes itself tells the client: try again shortly. */
#define RETRY_AFTER "Retry-After: 1\r\n"

typedef enum {
    F_CONNECT,         /* refused / unreachable: the request never left */
    F_CONNECT_TIMEOUT, /* no connection within connect_timeout_ms */
    F_STALE,           /* reused connection closed before any response byte */
    F_RESET,           /* connection broke after the request (part) went out */
    F_TIMEOUT,         /* no response head before the route's timeout */
    F_BAD_RESPONSE,    /* not HTTP, or framing we refuse */
} failure_t;

/*
 * What an exchange says about its target: the breaker's input. Only an exchange in which the
 * whole request reached the target can count against it. A request the client never finished
 * sending, or one the target stopped reading (it refused it early, as a service refuses an
 * oversized request), says nothing about the target's health; counting it would let any
 * client eject a healthy service with a few bad requests. A 4xx is the target answering the
 * client's mistake: a success.
 */
typedef enum {
    OUTCOME_SUCCESS, /* an answer below 500 */
    OUTCOME_FAILURE, /* 5xx; refused, timed-out or broken connection; garbled response */
    OUTCOME_NONE,    /* no verdict: stale pooled connection, request not (all) delivered */
} outcome_t;

static void attempt(gw_conn_t *c);
static void pump(gw_conn_t *c);

static const char *group_name(int g)
{
    return g == GW_GROUP_CANARY ? "canary" : "stable";
}

static void account_upstream(gw_conn_t *c, int status)
{
    gw_app_t *app = c->w->app;
    if (!c->upstream)
        return;
    double secs = (double)(tc_mono_ns() - c->up_start_ns) / 1e9;
    tc_metric_inc(app->m.up_requests, 1, c->upstream->name, group_name(c->group),
                  gw_status_class(status));
    tc_metric_observe(app->m.up_duration, secs, c->upstream->name, group_name(c->group));
}

/* Whether one more target of the group may be ejected (the ejection cap). The cap protects
 * the stable group; canary targets may all go, since stable takes their traffic. Only asked
 * on a failure, so counting here keeps the success path free of it. */
static bool may_eject(const gw_upstream_t *up, int group)
{
    if (group == GW_GROUP_CANARY)
        return true;
    const gw_group_t *g = &up->groups[group];
    int ejected = 0;
    for (int i = 0; i < g->n; i++)
        ejected += breaker_ejected(&g->targets[i].breaker);
    return uh_may_eject(g->n, ejected, up->max_ejection_percent);
}

static void breaker_outcome(gw_conn_t *c, outcome_t outcome)
{
    gw_target_t *t = c->target;
    if (!t)
        return;
    gw_upstream_t *up = c->upstream;
    bool changed = false;
    int64_t now = c->w->now_ms;
    if (outcome == OUTCOME_FAILURE) {
        bool cap_ok = c->probe || may_eject(up, c->group);
        changed = breaker_failure_policy(&t->breaker, c->probe, now, &up->eject, cap_ok);
    } else if (outcome == OUTCOME_SUCCESS) {
        changed = breaker_success_at(&t->breaker, c->probe, now);
        /* panic mode sent it to an ejected target, and it answered: it is back */
        if (!changed && c->panic)
            changed = breaker_restore(&t->breaker, now);
    } else {
        breaker_release(&t->breaker, c->probe); /* the next request probes instead */
    }
    c->probe = false;
    if (!changed)
        return;
    gw_app_t *app = c->w->app;
    gw_breaker_state_t st = breaker_state(&t->breaker);
    tc_metric_set(app->m.breaker, st, up->name, t->name);
    if (st == BREAKER_OPEN) {
        tc_metric_inc(app->m.ejections, 1, up->name, t->name);
        char ms[24];
        snprintf(ms, sizeof ms, "%lld", (long long)(atomic_load(&t->breaker.open_until_ms) - now));
        tc_log_kv(TC_LOG_WARN, "upstream target ejected", "upstream", up->name, "target", t->url,
                  "eject_ms", ms, NULL);
    } else {
        tc_log_kv(TC_LOG_INFO, "upstream target restored", "upstream", up->name, "target", t->url,
                  NULL);
    }
}

static void release_up(gw_conn_t *c, bool reusable)
{
    up_conn_t *u = c->up;
    if (!u)
        return;
    c->up = NULL;
    gw_upstream_release(u, reusable);
}

void gw_proxy_abort(gw_conn_t *c)
{
    breaker_outcome(c, OUTCOME_NONE); /* the client went away, or its body was refused */
    release_up(c, false);
}

static outcome_t failure_outcome(const gw_conn_t *c, failure_t kind)
{
    switch (kind) {
    case F_CONNECT:
    case F_CONNECT_TIMEOUT:
    case F_BAD_RESPONSE:
        return OUTCOME_FAILURE;
    case F_STALE:
        return OUTCOME_NONE; /* our stale connection says nothing about the target */
    default:                 /* F_RESET, F_TIMEOUT */
        return c->up && c->up->req_whole ? OUTCOME_FAILURE : OUTCOME_NONE;
    }
}

/* The exchange waits for the client: all of its body that arrived went upstream, and the rest
 * has not come. */
static bool waiting_for_client(const gw_conn_t *c)
{
    return c->up && !c->up->req_sent && !c->body_done && c->body_sent == c->body_end;
}

static const char *retry_reason(failure_t kind)
{
    return kind == F_CONNECT ? "connect" : kind == F_CONNECT_TIMEOUT ? "connect_timeout" : "stale";
}

/* Whether a target of the request's group is available and not yet tried by it. */
static bool untried_target(gw_conn_t *c)
{
    const gw_group_t *g = &c->upstream->groups[c->group];
    for (int i = 0; i < g->n; i++)
        if (!((c->tried >> i) & 1) && wrr_target_up(&g->targets[i], c->w->now_ms))
            return true;
    return false;
}

/* The worker's retry budget for the request's upstream. */
static uh_budget_t *retry_budget(gw_conn_t *c)
{
    gw_worker_t *w = c->w;
    int i = c->upstream->index;
    return w->budgets && i < w->nbudgets ? &w->budgets[i] : NULL;
}

/*
 * Retries a failure that proves the request never reached the target (the caller checked),
 * now on another target or after a backoff on the same. False: not retried (the per-request
 * time is up, or the retry budget is spent); the caller answers.
 */
static bool retry(gw_conn_t *c, failure_t kind)
{
    gw_worker_t *w = c->w;
    bool connect = kind == F_CONNECT || kind == F_CONNECT_TIMEOUT;
    /* the route's `retries` for idempotent requests, as before issue 14; a stale pooled
     * connection costs no retry */
    int budget = c->route->retries + (kind == F_STALE ? 1 : 0);
    bool counted = http_method_idempotent(c->method) && c->attempts <= budget;
    bool in_time = connect && w->now_ms < c->retry_until_ms;
    if ((!counted && !in_time) || w->now_ms >= c->deadline_ms)
        return false;
    uh_budget_t *b = retry_budget(c);
    /* The budget bounds retries that add load or wait: after a timeout, and against a target
     * that refused (backoff), which is what an outage multiplies. Free: our own stale
     * connection, and a refused connection handed at once to another healthy target (the
     * refusing one did no work; the request still reaches one target). */
    bool elsewhere = connect && untried_target(c);
    bool free_retry = kind == F_STALE || (kind == F_CONNECT && elsewhere);
    /* A request claims the budget once, at its first such retry; its later attempts within
     * its own connect_retry_ms are free. So the budget caps the share of requests that may
     * wait out an outage (the rest answer 503 at once), not the attempts of each. */
    if (!free_retry && !c->budgeted && b) {
        if (!uh_budget_retry(b, w->now_ms, c->upstream->retry_budget_percent,
                             c->upstream->retry_budget_min)) {
            tc_metric_inc(w->app->m.budget_spent, 1, c->upstream->name);
            return false;
        }
        c->budgeted = true;
    }
    tc_metric_inc(w->app->m.retries, 1, c->upstream->name, retry_reason(kind));
    if (!connect || elsewhere) {
        attempt(c);
        return true;
    }
    /* nowhere else to go: the same target again, once it had a moment to start listening */
    int64_t at = w->now_ms + uh_backoff_ms(c->backoffs++, BACKOFF_BASE_MS, BACKOFF_MAX_MS);
    if (at > c->retry_until_ms)
        at = c->retry_until_ms;
    c->backoff = true;
    if (gw_conn_arm(c, at) != TC_OK) {
        gw_conn_close(c);
        return true;
    }
    return true;
}

static void fail(gw_conn_t *c, failure_t kind)
{
    breaker_outcome(c, failure_outcome(c, kind));
    bool client_late = kind == F_TIMEOUT && waiting_for_client(c);
    release_up(c, false);
    bool never_sent = kind == F_CONNECT || kind == F_CONNECT_TIMEOUT || kind == F_STALE;
    /* a pod that went away: ask the resolver to look at the name soon (endpoints.c) */
    if ((kind == F_CONNECT || kind == F_CONNECT_TIMEOUT) && c->upstream->endpoints_all &&
        !atomic_load_explicit(&c->w->app->resolve_asked, memory_order_relaxed))
        atomic_store(&c->w->app->resolve_asked, 1);
    if (never_sent && !c->head_dropped && !c->response_started && retry(c, kind))
        return;
    if (c->response_started) {
        gw_conn_close(c); /* the client has part of a response: all we can do is cut it */
        return;
    }
    if (client_late) {
        account_upstream(c, 408);
        gw_respond_error(c, 408, "request_timeout", "The request body did not arrive in time", NULL,
                         true);
        return;
    }
    int status = kind == F_CONNECT                                ? 503
                 : kind == F_CONNECT_TIMEOUT || kind == F_TIMEOUT ? 504
                                                                  : 502;
    account_upstream(c, status);
    if (status == 503)
        gw_respond_error(c, 503, "upstream_unavailable", "The service is not available",
                         RETRY_AFTER, false);
    else if (status == 504)
        gw_respond_error(c, 504, "upstream_timeout", "The service did not answer in time", NULL,
                         false);
    else
        gw_respond_error(c, 502, "bad_gateway", "The service sent an invalid response", NULL,
                         false);
}

/* ------------------------------------------------------------------ target and head */

static gw_target_t *pick(gw_conn_t *c)
{
    gw_worker_t *w = c->w;
    gw_upstream_t *up = c->upstream;
    gw_group_t *g = &up->groups[c->group];
    int th = up->panic_threshold;
    bool panic = false, other_panic = false;
    c->panic = false;
    gw_target_t *t = wrr_pick_healthy(&w->wrr, g, w->now_ms, c->tried, th, &c->probe, &panic);
    if (!t && c->tried && panic) /* a retry in panic: a healthy target first, if any is left */
        t = wrr_pick(&w->wrr, g, w->now_ms, c->tried, &c->probe);
    if (!t && c->tried && !panic) /* a fresh connection to the same */
        t = wrr_pick_healthy(&w->wrr, g, w->now_ms, 0, th, &c->probe, &panic);
    if (t)
        return t;
    /* Nothing healthy in this group: the other group serves rather than failing the call
     * (a canary that is being ejected falls back to stable). */
    gw_group_t *other = &up->groups[!c->group];
    if (other->n &&
        (t = wrr_pick_healthy(&w->wrr, other, w->now_ms, 0, th, &c->probe, &other_panic))) {
        c->group = !c->group;
        c->tried = 0;
        return t;
    }
    if (!panic)
        return NULL; /* panic_threshold 0: no panic mode, every target ejected */
    /* Panic: too few healthy targets to carry the load; all of them take it, the way they
     * would if nothing had been ejected. A success there restores the target. */
    if (!(t = wrr_pick_any(&w->wrr, g, c->tried)))
        return NULL;
    c->panic = true;
    tc_metric_inc(w->app->m.panic_routed, 1, up->name);
    return t;
}

/* The path and query to send: the request's, or what the route's rules make of them (into
 * buf). TC_EINVAL with *why when the result is one a service would refuse. */
static int target_parts(gw_conn_t *c, const gw_tx_ctx_t *x, char *buf, size_t cap, gw_upreq_t *ur,
                        gw_refusal_t *why)
{
    const gw_route_t *r = c->route;
    const gw_transform_t *t = r->transform;
    ur->path = x->path;
    ur->path_len = x->path_len;
    ur->query_len = c->req.target_len - c->req.path_len;
    ur->query = ur->query_len ? c->in + c->req.target_off + c->req.path_len : NULL;
    if (r->strip_prefix && r->path_len > 1) {
        ur->path += r->path_len;
        ur->path_len -= r->path_len;
        if (ur->path_len == 0) {
            ur->path = "/";
            ur->path_len = 1;
        }
    }
    if (!t || (t->path_mode == GW_PATH_KEEP && gw_tx_set_empty(&t->query)))
        return TC_OK; /* header rules only: the target is the request's */
    long pn = (long)ur->path_len;
    if (t->path_mode != GW_PATH_KEEP &&
        (pn = gw_tx_path(t, r->path_len > 1 ? r->path_len : 0, x, buf, cap)) >= 0) {
        ur->path = buf;
        ur->path_len = (size_t)pn;
        if (!gw_path_safe(ur->path, ur->path_len)) { /* the rules are checked at load: never */
            *why = (gw_refusal_t){400, "bad_request", "The rewritten path is not a safe path"};
            return TC_EINVAL;
        }
    }
    long qn = 0;
    int params = 0;
    if (pn >= 0 && !gw_tx_set_empty(&t->query)) {
        char *q = buf + (ur->path == buf ? pn : 0);
        size_t room = cap - (size_t)(q - buf);
        const char *in = ur->query ? ur->query + 1 : "";
        size_t inlen = ur->query ? ur->query_len - 1 : 0;
        qn = room > 1 ? gw_tx_query(&t->query, x, in, inlen, q + 1, room - 1, &params) : -1;
        if (qn >= 0) {
            q[0] = '?';
            ur->query = qn ? q : NULL;
            ur->query_len = qn ? (size_t)qn + 1 : 0;
        }
    }
    if (pn < 0 || qn < 0 || ur->path_len + ur->query_len > GW_MAX_UP_TARGET) {
        *why = (gw_refusal_t){414, "uri_too_long", "The rewritten request target is too long"};
        return TC_EINVAL;
    }
    if (params > GW_MAX_QUERY_PARAMS) {
        *why = (gw_refusal_t){400, "bad_request", "Too many query parameters"};
        return TC_EINVAL;
    }
    return TC_OK;
}

/* The upstream request head into u->wbuf. TC_ENOMEM when it does not fit WBUF_MAX,
 * TC_EINVAL (with *why) when it is one a service would refuse (request_limits.h). */
static int build_head(gw_conn_t *c, up_conn_t *u, gw_refusal_t *why)
{
    char target[GW_MAX_UP_TARGET + 2];
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    gw_upreq_t ur = {
        .host = c->target->hostport,
        .xff = c->fwd.xff,
        .proto = c->fwd.proto,
        .request_id = c->request_id,
        .traceparent = c->traceparent,
        .keep_tracestate = c->trace_valid,
        .authorization =
            c->fwd_auth && (c->ptype == PT_API_KEY || c->ws_bearer) ? c->fwd_auth : NULL,
        .drop_ws_bearer = c->ws, /* a credential in that form is for the gateway alone */
        .tx = c->route->transform && !gw_tx_set_empty(&c->route->transform->req_headers)
                  ? &c->route->transform->req_headers
                  : NULL,
        .txc = &x,
        .drop_conditional = c->cache_store,
        .body_rewritten = c->tx_body != NULL,
        .body_len = c->tx_body_len,
        .upgrade = c->ws,
    };
    if (target_parts(c, &x, target, sizeof target, &ur, why) != TC_OK)
        return TC_EINVAL;
    *why = (gw_refusal_t){431, "headers_too_large", "The request headers are too large to forward"};
    for (;;) {
        gw_head_size_t size;
        long n =
            u->wbuf ? gw_build_upstream_request(c->in, &c->req, &ur, u->wbuf, u->wcap, &size) : -1;
        if (n >= 0) {
            u->wlen = (uint32_t)n;
            u->wsent = 0;
            return gw_upstream_head_within_limits(size.fields, size.field_bytes) ? TC_OK
                                                                                 : TC_EINVAL;
        }
        uint32_t cap = u->wcap ? u->wcap * 2 : 4096;
        if (cap > WBUF_MAX)
            return TC_ENOMEM;
        char *p = realloc(u->wbuf, cap);
        if (!p)
            return TC_ENOMEM;
        u->wbuf = p;
        u->wcap = cap;
    }
}

static void attempt(gw_conn_t *c)
{
    gw_worker_t *w = c->w;
    gw_target_t *t = pick(c);
    if (!t) {
        account_upstream(c, 503);
        gw_respond_error(c, 503, "no_healthy_upstream",
                         "No healthy instance of the service is available", RETRY_AFTER, false);
        return;
    }
    c->target = t;
    c->attempts++;
    c->body_sent = c->req.head_len; /* a retry sends the whole request again */
    c->tx_body_sent = 0;
    c->tried |= (uint64_t)1 << (t - c->upstream->groups[c->group].targets);
    c->up_start_ns = tc_mono_ns();
    int err = 0;
    up_conn_t *u = gw_upstream_acquire(w, t, &err);
    if (!u) {
        fail(c, F_CONNECT);
        return;
    }
    u->owner = c;
    c->up = u;
    gw_refusal_t why;
    if (build_head(c, u, &why) != TC_OK) {
        release_up(c, u->reused);
        breaker_outcome(c, OUTCOME_NONE);
        gw_respond_error(c, why.status, why.code, why.message, NULL, true);
        return;
    }
    c->connect_deadline_ms = w->now_ms + c->upstream->connect_timeout_ms;
    int64_t due = u->connecting && c->connect_deadline_ms < c->deadline_ms ? c->connect_deadline_ms
                                                                           : c->deadline_ms;
    if (gw_conn_arm(c, due) != TC_OK) {
        gw_conn_close(c);
        return;
    }
    if (!u->connecting)
        gw_proxy_upstream_ready(c, u);
}

/* "100 Continue" on the client's behalf: the upstream never sees Expect. */
void gw_send_continue(gw_conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (c->sent_continue || c->body_done || c->in_len != c->req.head_len)
        return;
    c->sent_continue = 1;
    if (write(c->ev.fd, cont, sizeof cont - 1) == (ssize_t)(sizeof cont - 1))
        c->bytes_out += sizeof cont - 1;
}

/* Whether the route's rules make a target a service takes; when not, the client is answered
 * before any upstream connection or retry budget is spent on the request. */
static bool target_acceptable(gw_conn_t *c)
{
    if (!c->route->transform)
        return true;
    char target[GW_MAX_UP_TARGET + 2];
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    gw_upreq_t ur = {0};
    gw_refusal_t why;
    if (target_parts(c, &x, target, sizeof target, &ur, &why) == TC_OK)
        return true;
    gw_respond_error(c, why.status, why.code, why.message, NULL, true);
    return false;
}

gw_step_t gw_proxy_begin(gw_conn_t *c)
{
    if (!target_acceptable(c))
        return GW_DONE;
    c->state = CS_PROXY;
    c->upstream = c->route->upstream;
    c->deadline_ms = c->w->now_ms + c->route->timeout_ms;
    c->retry_until_ms = c->w->now_ms + c->upstream->connect_retry_ms;
    c->backoff = c->budgeted = false;
    c->backoffs = 0;
    c->ws = gw_tunnel_wanted(c);
    uh_budget_t *b = retry_budget(c);
    if (b)
        uh_budget_request(b, c->w->now_ms);
    const char *key = c->principal.sub[0] ? c->principal.sub : c->fwd.client_ip;
    c->group = canary_choose(c->upstream, c->canary_ov, key, strlen(key));
    if (c->req.expect_continue)
        gw_send_continue(c);
    attempt(c);
    return GW_DONE;
}

/* ------------------------------------------------------------------ request out */

static void pump(gw_conn_t *c);

static void send_request(gw_conn_t *c)
{
    for (;;) {
        up_conn_t *u = c->up;
        struct iovec iov[2];
        int cnt = 0;
        if (u->wsent < u->wlen)
            iov[cnt++] = (struct iovec){u->wbuf + u->wsent, u->wlen - u->wsent};
        if (c->tx_body && c->tx_body_sent < c->tx_body_len) /* rewritten by body rules */
            iov[cnt++] =
                (struct iovec){c->tx_body + c->tx_body_sent, c->tx_body_len - c->tx_body_sent};
        else if (c->body_sent < c->body_end)
            iov[cnt++] = (struct iovec){c->in + c->body_sent, c->body_end - c->body_sent};
        if (!cnt) {
            if (c->body_done) {
                u->req_sent = u->req_whole = 1;
                return;
            }
            if (gw_request_body_more(c) != GW_NEXT)
                return; /* wait for the client, or the request already ended */
            continue;
        }
        if (!u->wr_ready)
            return;
        ssize_t n = writev(u->ev.fd, iov, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                u->wr_ready = 0;
                return;
            }
            if (u->wsent == u->wlen && (errno == EPIPE || errno == ECONNRESET)) {
                /* The head went out and the upstream stopped reading: a service answers an
                 * oversized body with 413 from the head alone and closes. Its answer stays
                 * readable after the reset, so relay it rather than call the upstream broken
                 * (pump still fails with 502 when nothing is there). Sending ends here, the
                 * connection is not reused, and the client's is closed after the answer. */
                u->req_sent = 1;
                u->hup = 1;
                u->rd_ready = 1;
                pump(c);
                return;
            }
            fail(c, u->reused && u->wsent == 0 ? F_STALE : F_RESET);
            return;
        }
        size_t left = (size_t)n;
        size_t head = u->wlen - u->wsent;
        size_t h = left < head ? left : head;
        u->wsent += (uint32_t)h;
        if (c->tx_body)
            c->tx_body_sent += left - h;
        else
            c->body_sent += (uint32_t)(left - h);
    }
}

/* ------------------------------------------------------------------ response in */

static int grow_upstream_in(up_conn_t *u)
{
    if (u->in_cap >= GW_IN_MAX)
        return TC_ENOMEM;
    char *p = malloc(GW_IN_MAX);
    if (!p)
        return TC_ENOMEM;
    memcpy(p, u->in, u->in_len);
    gw_buf_put(u->w, u->in, u->in_cap);
    u->in = p;
    u->in_cap = GW_IN_MAX;
    return TC_OK;
}

/* A response the body rules cannot take (larger than their limit, broken framing): nothing
 * of it reached the client, so a 502 does; the upstream connection is not reused. */
static void collect_refused(gw_conn_t *c)
{
    release_up(c, false);
    account_upstream(c, 502);
    gw_body_tx_free(c);
    c->status = 502;
    gw_respond_error(c, 502, "bad_gateway",
                     "The service's answer is larger than the route's body rules take, or "
                     "malformed",
                     NULL, false);
}

/* A response the route's body rules rewrite: its head is kept and its body read whole before
 * anything is answered (body_transform.c). */
static int collect_head(gw_conn_t *c, up_conn_t *u)
{
    if (u->mode == UP_LENGTH && u->resp.content_length > c->route->transform->body_max_bytes) {
        collect_refused(c);
        return TC_EINVAL;
    }
    if (gw_body_tx_response_head(c, u->in, &u->resp) != TC_OK)
        return TC_ENOMEM;
    if (u->mode == UP_CLOSE || !c->body_done || atomic_load(&c->w->app->quiescing))
        c->keep_alive = 0;
    u->collect = 1;
    u->head_done = 1;
    u->in_pos = u->fwd_end = u->resp.head_len;
    u->body_done = u->mode == UP_NONE || (u->mode == UP_LENGTH && u->left == 0);
    return gw_conn_arm(c, c->w->now_ms + c->route->timeout_ms);
}

/* A collected response's body bytes [at, at+n) of u->in: kept, and consumed. */
static int collect_data(gw_conn_t *c, up_conn_t *u, uint32_t at, size_t n)
{
    return n ? gw_body_tx_response_data(c, u->in + at, n) : TC_OK;
}

/* frame_body for a collected response: everything that arrives is kept, nothing written. */
static int collect_body(gw_conn_t *c, up_conn_t *u)
{
    int rc = TC_OK;
    uint32_t avail = u->in_len - u->fwd_end;
    switch (u->mode) {
    case UP_LENGTH: {
        uint32_t take = (int64_t)avail < u->left ? avail : (uint32_t)u->left;
        rc = collect_data(c, u, u->fwd_end, take);
        u->fwd_end += take;
        u->left -= take;
        u->body_done = u->left == 0;
        break;
    }
    case UP_CHUNKED:
        while (rc == TC_OK && u->fwd_end < u->in_len && !u->chunk.done) {
            size_t off, len;
            long n = http_chunked_step(&u->chunk, u->in + u->fwd_end, u->in_len - u->fwd_end, &off,
                                       &len);
            if (n < 0)
                return TC_EINVAL;
            rc = collect_data(c, u, u->fwd_end + (uint32_t)off, len);
            u->fwd_end += (uint32_t)n;
        }
        u->body_done = u->chunk.done;
        break;
    case UP_CLOSE:
        rc = collect_data(c, u, u->fwd_end, avail);
        u->fwd_end = u->in_len;
        break;
    default:
        u->body_done = 1;
        break;
    }
    u->in_pos = u->fwd_end;
    return rc;
}

static int response_head(gw_conn_t *c, up_conn_t *u)
{
    gw_app_t *app = c->w->app;
    int st = u->resp.status;
    c->status = st;
    c->reached_upstream = true;
    breaker_outcome(c, st >= 500 ? OUTCOME_FAILURE : OUTCOME_SUCCESS);
    if (http_response_bodyless(c->method, st)) {
        u->mode = UP_NONE;
    } else if (u->resp.chunked) {
        u->mode = UP_CHUNKED;
        u->dechunk = c->client_minor == 0;
        http_chunked_init(&u->chunk);
    } else if (u->resp.content_length >= 0) {
        u->mode = UP_LENGTH;
        u->left = u->resp.content_length;
    } else {
        u->mode = UP_CLOSE;
    }
    if (gw_body_tx_response_applies(c, u->in, &u->resp))
        return collect_head(c, u);
    /* every answer: one that cannot be stored (chunked, 304 …) ends a fill at once */
    gw_cache_capture_head(c, u->in, &u->resp);
    if (u->mode == UP_CLOSE || u->dechunk || !c->body_done || atomic_load(&app->quiescing))
        c->keep_alive = 0; /* the body ends with our FIN, or the request body is unread */
    gw_tx_ctx_t x = gw_tx_ctx_of(c);
    gw_resp_ctx_t ctx;
    gw_resp_ctx_of(c, &x, &ctx);
    ctx.dechunk = u->dechunk;
    if (gw_conn_build_head(c, u->in, &u->resp, &ctx) != TC_OK)
        return TC_ENOMEM;
    c->response_started = 1;
    u->head_done = 1;
    u->in_pos = u->fwd_end = u->resp.head_len;
    u->body_done = u->mode == UP_NONE || (u->mode == UP_LENGTH && u->left == 0);
    return gw_conn_arm(c, c->w->now_ms + c->route->timeout_ms);
}

/* Data spans of a chunked body copied to the client's buffer (HTTP/1.0 client). TC_EINVAL
 * when the framing is broken. */
static int dechunk(gw_conn_t *c, up_conn_t *u)
{
    while (u->fwd_end < u->in_len && !u->chunk.done) {
        size_t off, len;
        long n =
            http_chunked_step(&u->chunk, u->in + u->fwd_end, u->in_len - u->fwd_end, &off, &len);
        if (n < 0)
            return TC_EINVAL;
        if (len) {
            if (gw_conn_out_reserve(c, c->out_len + len) != TC_OK)
                return TC_ENOMEM;
            memcpy(c->out + c->out_len, u->in + u->fwd_end + off, len);
            c->out_len += (uint32_t)len;
        }
        u->fwd_end += (uint32_t)n;
    }
    u->in_pos = u->fwd_end;
    u->body_done = u->chunk.done;
    return TC_OK;
}

/* Decides how much of the buffered response can go to the client. TC_EINVAL when the
 * response is malformed (the caller fails the exchange). */
static int frame_body(gw_conn_t *c, up_conn_t *u)
{
    if (u->body_done)
        return TC_OK;
    if (u->collect)
        return collect_body(c, u);
    uint32_t avail = u->in_len - u->fwd_end;
    switch (u->mode) {
    case UP_LENGTH: {
        uint32_t take = (int64_t)avail < u->left ? avail : (uint32_t)u->left;
        if (c->capture)
            gw_cache_capture_body(c, u->in + u->fwd_end, take);
        u->fwd_end += take;
        u->left -= take;
        u->body_done = u->left == 0;
        return TC_OK;
    }
    case UP_CHUNKED:
        if (u->dechunk)
            return dechunk(c, u);
        while (u->fwd_end < u->in_len && !u->chunk.done) {
            size_t off, len;
            long n = http_chunked_step(&u->chunk, u->in + u->fwd_end, u->in_len - u->fwd_end, &off,
                                       &len);
            if (n < 0)
                return TC_EINVAL;
            u->fwd_end += (uint32_t)n;
        }
        u->body_done = u->chunk.done;
        return TC_OK;
    case UP_CLOSE:
        u->fwd_end = u->in_len;
        return TC_OK;
    default:
        u->body_done = 1;
        return TC_OK;
    }
}

/* Parses what arrived. True: fine (maybe more is needed); false: the exchange ended (failed
 * and was handled). */
static bool process(gw_conn_t *c, up_conn_t *u)
{
    while (!u->head_done) {
        const char *why = NULL;
        http_parse_rc_t rc = http_parse_response(u->in, u->in_len, &u->resp, &why);
        if (rc == HTTP_INCOMPLETE) {
            if (u->in_len == u->in_cap && grow_upstream_in(u) != TC_OK)
                goto bad;
            return true;
        }
        if (rc == HTTP_OK && u->resp.status == 101 && c->ws) {
            /* the service took the WebSocket: from here on bytes, not HTTP */
            c->status = 101;
            c->reached_upstream = true;
            breaker_outcome(c, OUTCOME_SUCCESS);
            account_upstream(c, 101);
            gw_tunnel_begin(c, u);
            return false;
        }
        if (rc == HTTP_ERROR || u->resp.status == 101)
            goto bad;
        if (u->resp.status < 200) {
            /* interim response (100 Continue, 103): not forwarded, the final one follows */
            memmove(u->in, u->in + u->resp.head_len, u->in_len - u->resp.head_len);
            u->in_len -= u->resp.head_len;
            continue;
        }
        int hrc = response_head(c, u);
        if (hrc == TC_EINVAL)
            return false; /* answered already: an answer the body rules cannot take */
        if (hrc != TC_OK) {
            gw_conn_close(c);
            return false;
        }
    }
    int frc = frame_body(c, u);
    if (frc == TC_EINVAL && u->collect) {
        collect_refused(c);
        return false;
    }
    if (frc != TC_OK) {
        gw_conn_close(c); /* the head is out: cut the response */
        return false;
    }
    return true;
bad:
    tc_log_kv(TC_LOG_WARN, "invalid response from upstream", "upstream", c->upstream->name,
              "target", c->target->url, NULL);
    fail(c, F_BAD_RESPONSE);
    return false;
}

/* Writes the pending head and body span (GW_IO_CLOSED: the client is gone and its connection
 * was closed). */
static gw_io_t client_write(gw_conn_t *c, up_conn_t *u)
{
    if (c->out_sent == c->out_len && u->in_pos >= u->fwd_end)
        return GW_IO_DONE;
    if (!c->wr_ready)
        return GW_IO_WAIT;
    size_t pos = u->in_pos;
    gw_io_t rc = gw_conn_write(c, u->in, u->fwd_end, &pos);
    if (rc == GW_IO_CLOSED)
        return rc;
    u->in_pos = (uint32_t)pos;
    if (c->out_sent == c->out_len)
        c->out_len = c->out_sent = 0;
    return rc;
}

static void complete(gw_conn_t *c, up_conn_t *u)
{
    bool reusable = u->resp.keep_alive && u->mode != UP_CLOSE && u->req_sent &&
                    u->fwd_end == u->in_len && !u->hup;
    bool collected = u->collect;
    account_upstream(c, c->status);
    gw_cache_capture_end(c);
    release_up(c, reusable);
    if (!c->body_done)
        c->close_after = 1; /* the upstream answered before the whole body arrived */
    if (collected)
        gw_body_tx_response_end(c); /* rewrites the body, then answers */
    else
        gw_request_finish(c);
}

/* EOF or an error while reading the response. */
static void read_failed(gw_conn_t *c, up_conn_t *u, bool eof)
{
    if (u->head_done && u->mode == UP_CLOSE && eof) {
        u->body_done = 1; /* close-delimited body ends here */
        return;
    }
    if (u->head_done) {
        tc_log_kv(TC_LOG_WARN, "upstream closed mid-response", "upstream", c->upstream->name,
                  "target", c->target->url, NULL);
        breaker_outcome(c, OUTCOME_FAILURE);
        if (u->collect) { /* nothing of it reached the client: it gets a 502 */
            collect_refused(c);
            return;
        }
        gw_conn_close(c);
        return;
    }
    /* a reused connection that closed before answering was stale in our pool */
    fail(c, u->reused && !u->got_bytes ? F_STALE : u->got_bytes ? F_BAD_RESPONSE : F_RESET);
}

static void pump(gw_conn_t *c)
{
    for (;;) {
        up_conn_t *u = c->up;
        if (!u)
            return;
        if (u->head_done) {
            if (client_write(c, u) != GW_IO_DONE)
                return;
            if (u->body_done && u->in_pos == u->fwd_end) {
                complete(c, u);
                return;
            }
            if (u->fwd_end < u->in_len) {
                if (!process(c, u))
                    return;
                continue;
            }
        }
        if (!u->rd_ready)
            return;
        if (u->head_done && u->in_pos == u->in_len)
            u->in_len = u->in_pos = u->fwd_end = 0;
        if (u->in_len == u->in_cap) {
            if (u->head_done)
                return; /* wait until the client takes what we have */
            if (grow_upstream_in(u) != TC_OK) {
                fail(c, F_BAD_RESPONSE);
                return;
            }
        }
        size_t room = u->in_cap - u->in_len;
        ssize_t n = read(u->ev.fd, u->in + u->in_len, room);
        if (n > 0) {
            u->got_bytes = 1;
            u->in_len += (uint32_t)n;
            if ((size_t)n < room && !u->hup)
                u->rd_ready = 0;
            if (!process(c, u))
                return;
            if (u->head_done && gw_conn_arm(c, c->w->now_ms + c->route->timeout_ms) != TC_OK) {
                gw_conn_close(c);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            u->rd_ready = 0;
            return;
        }
        read_failed(c, u, n == 0);
        if (c->up != u || !u->body_done)
            return;
    }
}

/* ------------------------------------------------------------------ events */

void gw_proxy_upstream_ready(gw_conn_t *c, up_conn_t *u)
{
    if (c->state == CS_TUNNEL) {
        gw_tunnel_event(c);
        return;
    }
    if (u->connecting) {
        if (!u->wr_ready)
            return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(u->ev.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
            fail(c, F_CONNECT);
            return;
        }
        u->connecting = 0;
        u->rd_ready = 0;
        if (gw_conn_arm(c, c->deadline_ms) != TC_OK) {
            gw_conn_close(c);
            return;
        }
    }
    if (!u->req_sent) {
        send_request(c);
        if (c->up != u || c->state != CS_PROXY)
            return;
    }
    if (u->rd_ready)
        pump(c);
}

void gw_proxy_client_event(gw_conn_t *c)
{
    up_conn_t *u = c->up;
    if (!u || u->connecting)
        return;
    if (!u->req_sent && c->rd_ready) {
        send_request(c);
        if (c->up != u || c->state != CS_PROXY)
            return;
    }
    if (c->wr_ready && u->head_done)
        pump(c);
}

void gw_proxy_timeout(gw_conn_t *c)
{
    up_conn_t *u = c->up;
    if (!u && c->backoff) {
        c->backoff = false; /* the backoff is over: try again */
        attempt(c);
        return;
    }
    if (!u) {
        gw_conn_close(c);
        return;
    }
    if (u->connecting && c->w->now_ms >= c->connect_deadline_ms && c->w->now_ms < c->deadline_ms) {
        fail(c, F_CONNECT_TIMEOUT);
        return;
    }
    if (!u->head_done) {
        if (!waiting_for_client(c))
            tc_log_kv(TC_LOG_WARN, "upstream timed out", "upstream", c->upstream->name, "target",
                      c->target->url, NULL);
        fail(c, u->connecting ? F_CONNECT_TIMEOUT : F_TIMEOUT);
        return;
    }
    /* the body stalled: the upstream fell silent, or the client does not read */
    breaker_outcome(c, !u->rd_ready && c->wr_ready ? OUTCOME_FAILURE : OUTCOME_NONE);
    if (u->collect) { /* a body read whole for the body rules: nothing was answered yet */
        release_up(c, false);
        account_upstream(c, 504);
        gw_body_tx_free(c);
        c->status = 504;
        gw_respond_error(c, 504, "upstream_timeout", "The service did not answer in time", NULL,
                         false);
        return;
    }
    gw_conn_close(c);
}
