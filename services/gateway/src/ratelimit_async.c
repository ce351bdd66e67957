/*
 * Rate limiting inside the event loop (see ratelimit_async.h): key and spec per route mode,
 * the hiredis adapter for the worker's epoll loop, and the in-process fallback.
 *
 * Keys: gw:rl:{org_…}:rate and gw:rl:{org_…}:day for a plan (the braces keep the keys of
 * one script in one Redis Cluster slot), gw:rl:{ip}:rate for per-IP limits, and a route's own
 * limit under the same braces: gw:rl:{…}:route:<name>[:<sub> | :ip:<address>].
 */
#include "ratelimit_async.h"
#include "org_plans.h"
#include "tc/tc_core.h"
#include "tc/tc_hash.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <hiredis/async.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#define MINUTE_MS       60000
#define DAY_MS          86400000
#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  5000
#define LOG_INTERVAL_MS 10000
#define SETUP_MS        2000 /* connect + AUTH/SELECT + SCRIPT LOAD must finish within this */

#define ARGS_SLOTS 16

/* The script's ARGV but the count (tc_ratelimit.h), formatted for one limit. */
#define NARGS_MAX (TC_RL_ARGS_MAX - 1)

typedef struct {
    uint64_t gen; /* configuration generation the strings belong to (0: none) */
    int n;
    char v[NARGS_MAX][24];
} args_cache_t;

/* Requests of one key arriving in one loop turn are decided by one script run (the script
 * takes them in order, as single checks in a row would be): Redis runs the script once per
 * org and turn instead of once per request. */
#define BATCH_MAX    64 /* requests per script run */
#define OPEN_MAX     32 /* keys collecting requests in one turn; more go out at once */
#define BATCH_SPARES 64 /* batches kept for reuse */

struct gw_rl {
    gw_worker_t *w;
    gw_app_t *app;
    redisAsyncContext *ac;
    gw_ev_t ev;
    uint32_t mask; /* events registered in epoll; 0 when the fd is not in the set */
    int want_write;
    int ready; /* the script is loaded: checks may be sent */
    char sha[41];
    int backoff_ms;
    gw_timer_t timer; /* reconnect */
    args_cache_t args[ARGS_SLOTS];
    args_cache_t spare;              /* plans beyond the cache */
    struct rl_batch *open[OPEN_MAX]; /* collecting requests this turn */
    int nopen;
    struct rl_batch *spares; /* free list */
    int nspares;
};

/* ------------------------------------------------------------------ specs */

typedef struct {
    tc_rl_spec_t spec;
    char key[160];
    char quota_key[160];
    char extra_key[256]; /* the route's own limit (spec.extra_key), when it has one */
    const char *what;    /* "plan" or "ip", for metrics and messages */
    const char *route;   /* the route's name, for messages */
    int slot;            /* ARGV cache slot: 0 per-IP limit, 1 + plan index; ARGS_SLOTS and
                            above: not cached (a route's own limit) */
} rl_req_t;

typedef struct {
    uint32_t slot, seq; /* the conn, as waiting_conn finds it again */
} waiter_t;

typedef struct rl_batch {
    struct rl_batch *next; /* free list */
    rl_req_t r;
    char args[NARGS_MAX][24]; /* the script's ARGV but the count, formatted for this spec */
    int nargs;
    int n;
    waiter_t w[BATCH_MAX];
} rl_batch_t;

/* "gw:rl:{<who>}:<suffix>" (who is at most 63 bytes: an id or an address) */
static void make_key(char *out, size_t cap, const char *who, const char *suffix)
{
    size_t w = strnlen(who, 64), x = strlen(suffix);
    if (7 + w + 2 + x + 1 > cap) /* "gw:rl:{" who "}:" suffix NUL */
        w = cap - 7 - 2 - x - 1;
    memcpy(out, "gw:rl:{", 7);
    memcpy(out + 7, who, w);
    out[7 + w] = '}';
    out[8 + w] = ':';
    memcpy(out + 9 + w, suffix, x + 1);
}

/* The route's own limit beside the main one, keyed under the main key's braces (`who`), so
 * that both live in one Redis Cluster slot. */
static void route_limit(const gw_conn_t *c, const char *who, bool by_ip, rl_req_t *r)
{
    const gw_route_t *route = c->route;
    char suffix[200];
    const char *name = route->name;
    if (route->rl_per == GW_PER_PRINCIPAL && !by_ip && c->principal.sub[0])
        snprintf(suffix, sizeof suffix, "route:%.64s:%.63s", name, c->principal.sub);
    else if (route->rl_per == GW_PER_IP && !by_ip)
        snprintf(suffix, sizeof suffix, "route:%.64s:ip:%.63s", name, c->fwd.client_ip);
    else /* per org; and per address when the main limit is the address's already */
        snprintf(suffix, sizeof suffix, "route:%.64s", name);
    make_key(r->extra_key, sizeof r->extra_key, who, suffix);
    r->spec.extra_key = r->extra_key;
    r->spec.extra_limit = route->rl_per_minute;
    r->spec.extra_period_ms = MINUTE_MS;
    r->spec.extra_burst = route->rl_burst;
    r->route = name;
    r->slot = ARGS_SLOTS; /* the arguments depend on the route too: formatted per request */
}

/* Whether a limit applies to the request (then *r says which). */
static bool rl_request(gw_conn_t *c, rl_req_t *r)
{
    const gw_route_t *route = c->route;
    const gw_config_t *cfg = c->cfg;
    memset(r, 0, sizeof *r);
    if (route->rate_limit == GW_RL_NONE)
        return false;
    const char *who = c->principal.org[0] ? c->principal.org : c->principal.sub;
    if (route->rate_limit == GW_RL_PLAN && who[0]) {
        /* an org's plan changed since its token was minted: the plan it has now applies */
        char changed[32];
        bool moved = c->principal.org[0] && gw_orgplans_get(c->w->app->orgplans, c->principal.org,
                                                            c->w->now_ms, changed, sizeof changed);
        const gw_plan_t *plan = gw_config_plan(cfg, moved ? changed : c->principal.plan);
        r->slot = 1 + (int)(plan - cfg->plans);
        r->what = "plan";
        make_key(r->key, sizeof r->key, who, "rate");
        r->spec =
            (tc_rl_spec_t){.limit = plan->per_minute, .period_ms = MINUTE_MS, .burst = plan->burst};
        if (plan->per_day > 0) {
            make_key(r->quota_key, sizeof r->quota_key, who, "day");
            r->spec.quota_key = r->quota_key;
            r->spec.quota_limit = plan->per_day;
            r->spec.quota_window_ms = DAY_MS;
        }
        if (route->rl_per_minute)
            route_limit(c, who, false, r);
        return true;
    }
    /* per client IP: auth "none" routes, and anonymous callers of "optional" plan routes */
    r->what = "ip";
    make_key(r->key, sizeof r->key, c->fwd.client_ip, "rate");
    r->spec =
        (tc_rl_spec_t){.limit = cfg->ip_per_minute, .period_ms = MINUTE_MS, .burst = cfg->ip_burst};
    if (route->rl_per_minute)
        route_limit(c, c->fwd.client_ip, true, r);
    return true;
}

static int64_t ceil_s(int64_t ms)
{
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

/* "Name: <value>\r\n" at buf + n (room for three is in the caller's buffer); new length. */
static size_t put_header(char *buf, size_t n, const char *name, int64_t v)
{
    char tmp[24];
    int k = (int)sizeof tmp;
    uint64_t u = v > 0 ? (uint64_t)v : 0;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t nl = strlen(name);
    memcpy(buf + n, name, nl);
    memcpy(buf + n + nl, tmp + k, sizeof tmp - (size_t)k);
    n += nl + sizeof tmp - (size_t)k;
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

/* Applies a decision: headers, and 429 when refused. GW_NEXT or GW_DONE. */
static gw_step_t decide(gw_conn_t *c, const rl_req_t *r, const tc_rl_result_t *res)
{
    char buf[160];
    size_t n = 0;
    n = put_header(buf, n, "RateLimit-Limit: ", res->limit);
    n = put_header(buf, n, "RateLimit-Remaining: ", res->remaining > 0 ? res->remaining : 0);
    n = put_header(buf, n, "RateLimit-Reset: ", ceil_s(res->reset_ms));
    if (n < sizeof c->extra - c->extra_len) {
        memcpy(c->extra + c->extra_len, buf, n);
        c->extra_len += (uint32_t)n;
    }
    c->rl = *res;
    c->rl_set = 1;
    if (res->allowed)
        return GW_NEXT;
    gw_app_t *app = c->w->app;
    tc_metric_inc(app->m.rl_rejected, 1,
                  res->quota_exceeded   ? "daily_quota"
                  : res->extra_exceeded ? "route"
                                        : r->what);
    int64_t retry = ceil_s(res->retry_after_ms);
    char headers[64], msg[200];
    snprintf(headers, sizeof headers, "Retry-After: %lld\r\n", (long long)(retry ? retry : 1));
    if (res->quota_exceeded)
        snprintf(msg, sizeof msg, "You have exceeded the daily quota of %lld requests",
                 (long long)r->spec.quota_limit);
    else if (res->extra_exceeded)
        snprintf(msg, sizeof msg,
                 "You have exceeded the rate limit of %lld requests/minute of route %.64s",
                 (long long)r->spec.extra_limit, r->route ? r->route : "");
    else
        snprintf(msg, sizeof msg, "You have exceeded the rate limit of %lld requests/minute",
                 (long long)r->spec.limit);
    gw_respond_error(c, 429, "rate_limit_exceeded", msg, headers, false);
    return GW_DONE;
}

/* The route's own limit in the in-process limiter, after the main one admitted the request
 * (which keeps that cell even when this one refuses: the fallback is approximate by design). */
static void local_route_check(gw_local_rl_t *l, const rl_req_t *r, int64_t now_us,
                              tc_rl_result_t *res)
{
    tc_rl_spec_t xs = {.limit = r->spec.extra_limit,
                       .period_ms = r->spec.extra_period_ms,
                       .burst = r->spec.extra_burst};
    tc_rl_result_t x;
    gw_local_rl_check(l, r->extra_key, &xs, now_us, &x);
    res->extra_remaining = x.remaining;
    if (!x.allowed) {
        res->allowed = 0;
        res->extra_exceeded = 1;
        res->retry_after_ms = x.retry_after_ms;
    }
    if (x.remaining < res->remaining || !x.allowed) {
        res->limit = x.limit;
        res->remaining = x.remaining;
        res->reset_ms = x.reset_ms;
    }
}

/* Redis could not decide: the in-process limiter does, or 503 when failing closed. */
static gw_step_t fail_open(gw_conn_t *c, const rl_req_t *r)
{
    gw_app_t *app = c->w->app;
    tc_metric_inc(app->m.fail_open, 1);
    atomic_fetch_add(&app->fail_open_since_log, 1);
    int64_t now = c->w->now_ms, last = atomic_load(&app->fail_open_logged_ms);
    if (now - last >= LOG_INTERVAL_MS &&
        atomic_compare_exchange_strong(&app->fail_open_logged_ms, &last, now)) {
        char count[24];
        snprintf(count, sizeof count, "%lld",
                 (long long)atomic_exchange(&app->fail_open_since_log, 0));
        tc_log_kv(TC_LOG_WARN, "redis unavailable for rate limiting", "mode",
                  app->fail_open ? "fail-open (in-process limiter)" : "fail-closed (503)",
                  "decisions_since_last_log", count, NULL);
    }
    if (!app->fail_open) {
        gw_respond_error(c, 503, "rate_limit_unavailable",
                         "Rate limiting is unavailable; try again shortly", NULL, false);
        return GW_DONE;
    }
    tc_rl_result_t res;
    int64_t now_us = tc_mono_ns() / 1000;
    gw_local_rl_check(app->local_rl, r->key, &r->spec, now_us, &res);
    if (r->spec.extra_key && res.allowed)
        local_route_check(app->local_rl, r, now_us, &res);
    return decide(c, r, &res);
}

/* ------------------------------------------------------------------ hiredis adapter */

static void send_open_batches(gw_rl_t *rl);

static void set_mask(gw_rl_t *rl, uint32_t mask)
{
    if (mask == rl->mask || !rl->ac)
        return;
    struct epoll_event e = {.events = mask, .data.ptr = &rl->ev};
    int op = rl->mask == 0 ? EPOLL_CTL_ADD : mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(rl->w->ep, op, rl->ev.fd, &e) != 0)
        tc_log_kv(TC_LOG_ERROR, "epoll_ctl for redis failed", "error", strerror(errno), NULL);
    rl->mask = mask;
}

static bool connected(const gw_rl_t *rl)
{
    return rl->ac && (rl->ac->c.flags & REDIS_CONNECTED);
}

static void ev_add_read(void *p)
{
    gw_rl_t *rl = p;
    set_mask(rl, rl->mask | EPOLLIN);
}

static void ev_del_read(void *p)
{
    gw_rl_t *rl = p;
    set_mask(rl, rl->mask & ~(uint32_t)EPOLLIN);
}

/* Writes are batched: the loop flushes once per turn (gw_rl_flush); EPOLLOUT is only
 * watched while connecting or when the socket buffer is full. */
static void ev_add_write(void *p)
{
    gw_rl_t *rl = p;
    rl->want_write = 1;
    if (!connected(rl))
        set_mask(rl, rl->mask | EPOLLOUT);
}

static void ev_del_write(void *p)
{
    gw_rl_t *rl = p;
    rl->want_write = 0;
    set_mask(rl, rl->mask & ~(uint32_t)EPOLLOUT);
}

static void ev_cleanup(void *p)
{
    gw_rl_t *rl = p;
    if (rl->mask) {
        epoll_ctl(rl->w->ep, EPOLL_CTL_DEL, rl->ev.fd, NULL);
        rl->mask = 0;
    }
    rl->want_write = 0;
}

static void schedule_reconnect(gw_rl_t *rl)
{
    rl->backoff_ms = rl->backoff_ms ? rl->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (rl->backoff_ms > BACKOFF_MAX_MS)
        rl->backoff_ms = BACKOFF_MAX_MS;
    if (heap_arm(&rl->w->timers, &rl->timer, rl->w->now_ms + rl->backoff_ms) != TC_OK)
        tc_log_kv(TC_LOG_ERROR, "cannot schedule the redis reconnect", NULL);
}

/* Forgets the connection; hiredis runs every pending callback with a NULL reply, so the
 * requests waiting on it fail open at once. */
static void drop(gw_rl_t *rl)
{
    redisAsyncContext *ac = rl->ac;
    if (!ac)
        return;
    rl->ac = NULL;
    rl->ready = 0;
    ev_cleanup(rl);
    schedule_reconnect(rl);
    redisAsyncFree(ac);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    gw_rl_t *rl = ac->data;
    if (status == REDIS_OK || rl->ac != ac)
        return;
    rl->ac = NULL; /* hiredis frees the context after this callback */
    rl->ready = 0;
    rl->mask = 0;
    schedule_reconnect(rl);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    gw_rl_t *rl = ac->data;
    if (rl->ac != ac)
        return; /* we dropped it ourselves */
    rl->ac = NULL;
    rl->ready = 0;
    rl->mask = 0;
    schedule_reconnect(rl);
}

static void on_script_loaded(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)priv;
    gw_rl_t *rl = ac->data;
    redisReply *r = reply;
    if (!r || rl->ac != ac)
        return;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        tc_log_kv(TC_LOG_ERROR, "redis refused the rate-limit script", "error",
                  r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply", NULL);
        drop(rl);
        return;
    }
    memcpy(rl->sha, r->str, 40);
    rl->sha[40] = '\0';
    rl->ready = 1;
    rl->backoff_ms = 0;
    heap_cancel(&rl->w->timers, &rl->timer);
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    gw_rl_t *rl = ac->data;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR && rl->ac == ac) {
        tc_log_kv(TC_LOG_ERROR, "redis command failed", "command", (const char *)priv, "error",
                  r->str, NULL);
        drop(rl);
    }
}

static void rl_connect(gw_rl_t *rl)
{
    gw_app_t *app = rl->app;
    redisAsyncContext *ac = redisAsyncConnect(app->redis_host, app->redis_port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(rl);
        return;
    }
    ac->data = rl;
    ac->ev.data = rl;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    rl->ac = ac;
    rl->mask = 0;
    rl->ev = (gw_ev_t){EV_REDIS, ac->c.fd};
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    redisAsyncSetConnectCallback(ac, on_connect); /* registers for the first write event */
    int ok = REDIS_OK;
    if (app->redis_password)
        ok |= redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s", app->redis_password);
    if (app->redis_db)
        ok |= redisAsyncCommand(ac, on_setup_reply, "SELECT", "SELECT %d", app->redis_db);
    ok |= redisAsyncCommand(ac, on_script_loaded, NULL, "SCRIPT LOAD %s",
                            tc_ratelimit_script()->source);
    if (ok != REDIS_OK || heap_arm(&rl->w->timers, &rl->timer, rl->w->now_ms + SETUP_MS) != TC_OK)
        drop(rl);
}

gw_rl_t *gw_rl_new(gw_worker_t *w)
{
    gw_rl_t *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->w = w;
    rl->app = w->app;
    timer_init(&rl->timer, TIMER_REDIS);
    rl_connect(rl);
    return rl;
}

void gw_rl_free(gw_rl_t *rl)
{
    if (!rl)
        return;
    heap_cancel(&rl->w->timers, &rl->timer);
    redisAsyncContext *ac = rl->ac;
    rl->ac = NULL;
    if (ac)
        redisAsyncFree(ac); /* the callbacks find no connection waiting any more */
    for (int i = 0; i < rl->nopen; i++)
        free(rl->open[i]);
    for (rl_batch_t *b = rl->spares, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(rl);
}

/* Either time to redial, or a connection that did not get ready in time (a Redis that
 * accepts connections but does not answer): drop it and redial with backoff. */
void gw_rl_timer(gw_rl_t *rl)
{
    if (!rl->ac)
        rl_connect(rl);
    else if (!rl->ready)
        drop(rl);
}

void gw_rl_event(gw_rl_t *rl, uint32_t events)
{
    redisAsyncContext *ac = rl->ac;
    if (!ac)
        return;
    /* hiredis reads a connect result from errno when SO_ERROR is 0: clear stale values */
    errno = 0;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        redisAsyncHandleRead(ac);
    if (rl->ac == ac && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        errno = 0;
        redisAsyncHandleWrite(ac);
    }
}

redisAsyncContext *gw_rl_redis(gw_rl_t *rl)
{
    return rl && rl->ready && connected(rl) ? rl->ac : NULL;
}

gw_worker_t *gw_rl_worker(void *ac_data)
{
    return ((gw_rl_t *)ac_data)->w;
}

void gw_rl_flush(gw_rl_t *rl)
{
    if (!rl)
        return;
    send_open_batches(rl);
    if (!rl->want_write || !connected(rl))
        return;
    redisAsyncHandleWrite(rl->ac);
    /* still pending: the socket is full, wait for it to drain */
    if (rl->ac && rl->want_write)
        set_mask(rl, rl->mask | EPOLLOUT);
}

/* ------------------------------------------------------------------ checks */

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* ARGV of the script for a limit but the batch's count: they depend on the plan only, so
 * they are formatted once per configuration and worker instead of per request. */
static const args_cache_t *script_args(gw_rl_t *rl, const gw_conn_t *c, const rl_req_t *r)
{
    args_cache_t *e = r->slot < ARGS_SLOTS ? &rl->args[r->slot] : &rl->spare;
    if (e->gen == c->cfg->generation && r->slot < ARGS_SLOTS)
        return e;
    tc_rl_call_t call;
    if (tc_ratelimit_prepare(r->key, &r->spec, 1, &call) != TC_OK || call.nargs < 2 ||
        call.nargs - 1 > NARGS_MAX)
        return NULL;
    e->n = call.nargs - 1;
    for (int i = 0; i < e->n; i++)
        memcpy(e->v[i], call.buf[i], sizeof e->v[i]);
    e->gen = c->cfg->generation;
    return e;
}

/* One RESP bulk string; 0 when it does not fit. */
static size_t resp_bulk(char *out, size_t cap, const char *s, size_t n)
{
    char head[24];
    int h = snprintf(head, sizeof head, "$%zu\r\n", n);
    if (h < 0 || (size_t)h + n + 2 > cap)
        return 0;
    memcpy(out, head, (size_t)h);
    memcpy(out + h, s, n);
    memcpy(out + h + n, "\r\n", 2);
    return (size_t)h + n + 2;
}

static bool same_limit(const rl_req_t *a, const rl_req_t *b)
{
    if (a->slot != b->slot || a->spec.limit != b->spec.limit || a->spec.burst != b->spec.burst ||
        a->spec.period_ms != b->spec.period_ms || a->spec.quota_limit != b->spec.quota_limit ||
        strcmp(a->key, b->key) != 0 || !a->spec.quota_key != !b->spec.quota_key ||
        !a->spec.extra_key != !b->spec.extra_key)
        return false;
    return !a->spec.extra_key ||
           (a->spec.extra_limit == b->spec.extra_limit &&
            a->spec.extra_burst == b->spec.extra_burst && strcmp(a->extra_key, b->extra_key) == 0);
}

static rl_batch_t *batch_new(gw_rl_t *rl, gw_conn_t *c, const rl_req_t *r)
{
    const args_cache_t *args = script_args(rl, c, r);
    if (!args)
        return NULL;
    rl_batch_t *b = rl->spares;
    if (b) {
        rl->spares = b->next;
        rl->nspares--;
    } else if (!(b = malloc(sizeof *b))) {
        return NULL;
    }
    b->next = NULL;
    b->r = *r;
    if (b->r.spec.quota_key) /* they pointed into the caller's copy */
        b->r.spec.quota_key = b->r.quota_key;
    if (b->r.spec.extra_key)
        b->r.spec.extra_key = b->r.extra_key;
    memcpy(b->args, args->v, sizeof b->args);
    b->nargs = args->n;
    b->n = 0;
    return b;
}

static void batch_free(gw_rl_t *rl, rl_batch_t *b)
{
    if (rl->nspares >= BATCH_SPARES) {
        free(b);
        return;
    }
    b->next = rl->spares;
    rl->spares = b;
    rl->nspares++;
}

static gw_conn_t *waiting_conn(gw_rl_t *rl, waiter_t wt)
{
    gw_worker_t *w = rl->w;
    gw_conn_t *c = wt.slot < w->nconns ? w->conns[wt.slot] : NULL;
    if (!c || c->ev.fd < 0 || c->seq != wt.seq || c->state != CS_RATELIMIT)
        return NULL; /* answered by the fallback already, or the client left */
    return c;
}

/* Decides every request still waiting in b without Redis, and recycles b. */
static void batch_fail_open(gw_rl_t *rl, rl_batch_t *b)
{
    for (int i = 0; i < b->n; i++) {
        gw_conn_t *c = waiting_conn(rl, b->w[i]);
        if (c) {
            c->state = CS_STAGE;
            if (fail_open(c, &b->r) == GW_NEXT)
                gw_request_resume(c);
        }
    }
    batch_free(rl, b);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* The batch as one EVALSHA (EVAL with the full script) in RESP, formatted here: hiredis' own
 * formatting allocates per argument. */
/* TC_OK; TC_ENOMEM, or TC_ERROR when hiredis could not queue the command (broken context). */
static int send_batch(gw_rl_t *rl, rl_batch_t *b, bool full_script)
{
    const rl_req_t *r = &b->r;
    const char *script = full_script ? tc_ratelimit_script()->source : rl->sha;
    static const char *const nkeys_text[] = {"0", "1", "2", "3"};
    char count[16];
    snprintf(count, sizeof count, "%d", b->n);
    /* EVAL(SHA) script nkeys key [quota key] [route key], the arguments and the count */
    const char *argv[3 + TC_RL_KEYS_MAX + TC_RL_ARGS_MAX] = {full_script ? "EVAL" : "EVALSHA",
                                                             script};
    int argc = 3, nkeys = 0;
    argv[argc++] = r->key, nkeys++;
    if (r->spec.quota_key)
        argv[argc++] = r->spec.quota_key, nkeys++;
    if (r->spec.extra_key)
        argv[argc++] = r->spec.extra_key, nkeys++;
    argv[2] = nkeys_text[nkeys];
    for (int i = 0; i < b->nargs; i++)
        argv[argc++] = b->args[i];
    argv[argc++] = count;
    size_t cap = strlen(script) + 1024, len = 0;
    char stack[2048];
    char *buf = cap <= sizeof stack ? stack : malloc(cap); /* EVAL: the whole script, rarely */
    if (!buf)
        return TC_ENOMEM;
    len = (size_t)snprintf(buf, cap, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t n = resp_bulk(buf + len, cap - len, argv[i], strlen(argv[i]));
        if (!n) {
            len = 0;
            break;
        }
        len += n;
    }
    int rc = len && redisAsyncFormattedCommand(rl->ac, on_reply, b, buf, len) == REDIS_OK
                 ? TC_OK
                 : TC_ERROR;
    if (buf != stack)
        free(buf);
    return rc;
}

static bool is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Request i of the batch gets the i-th answer, whether or not its client is still there: the
 * script counted it. */
static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    gw_rl_t *rl = ac->data;
    rl_batch_t *b = priv;
    const redisReply *rep = reply;
    if (rep && is_noscript(rep) && rl->ac == ac && send_batch(rl, b, true) == TC_OK)
        return; /* Redis lost its script cache (restart, SCRIPT FLUSH): EVAL once */
    tc_rl_result_t res;
    if (!rep || tc_ratelimit_parse_nth(rep, &b->r.spec, 0, &res) != TC_OK) {
        batch_fail_open(rl, b);
        return;
    }
    for (int i = 0; i < b->n; i++) {
        gw_conn_t *c = waiting_conn(rl, b->w[i]);
        if (!c || tc_ratelimit_parse_nth(rep, &b->r.spec, i, &res) != TC_OK)
            continue;
        if (decide(c, &b->r, &res) == GW_NEXT) {
            c->state = CS_STAGE;
            gw_request_resume(c);
        }
    }
    batch_free(rl, b);
}

/* Sends b, or decides its requests without Redis when it cannot be sent. */
static void batch_send_or_fail(gw_rl_t *rl, rl_batch_t *b)
{
    /* requests whose clients left before anything was sent take no cell */
    int n = 0;
    for (int i = 0; i < b->n; i++)
        if (waiting_conn(rl, b->w[i]))
            b->w[n++] = b->w[i];
    b->n = n;
    if (n == 0) {
        batch_free(rl, b);
        return;
    }
    if (!rl->ready || !rl->ac) { /* lost since these requests arrived: redialling */
        batch_fail_open(rl, b);
        return;
    }
    if (send_batch(rl, b, false) != TC_OK) { /* out of memory or a broken context: start afresh */
        drop(rl);
        batch_fail_open(rl, b);
    }
}

static void send_open_batches(gw_rl_t *rl)
{
    int n = rl->nopen;
    rl->nopen = 0;
    for (int i = 0; i < n; i++)
        batch_send_or_fail(rl, rl->open[i]);
}

/* Joins the batch collecting this key's requests in this turn, or opens one. TC_ENOMEM when
 * no batch could be made. */
static int enqueue(gw_rl_t *rl, gw_conn_t *c, const rl_req_t *r)
{
    rl_batch_t *b = NULL;
    int i = 0;
    for (; i < rl->nopen; i++)
        if (same_limit(&rl->open[i]->r, r)) {
            b = rl->open[i];
            break;
        }
    if (!b) {
        if (rl->nopen == OPEN_MAX)
            send_open_batches(rl); /* many orgs in one turn: send what there is */
        if (!(b = batch_new(rl, c, r)))
            return TC_ENOMEM;
        i = rl->nopen;
        rl->open[rl->nopen++] = b;
    }
    b->w[b->n++] = (waiter_t){c->slot, c->seq};
    if (b->n == BATCH_MAX) { /* full: it leaves now, the next request opens another */
        rl->open[i] = rl->open[--rl->nopen];
        batch_send_or_fail(rl, b);
    }
    return TC_OK;
}

gw_step_t gw_ratelimit_begin(gw_conn_t *c)
{
    rl_req_t r;
    if (!rl_request(c, &r))
        return GW_NEXT;
    gw_rl_t *rl = c->w->rl;
    if (!rl->ready || !rl->ac)
        return fail_open(c, &r);
    if (gw_conn_arm(c, c->w->now_ms + c->w->app->rl_timeout_ms) != TC_OK)
        return fail_open(c, &r);
    /* waiting from here: a full batch may be sent (or decided without Redis) at once */
    c->state = CS_RATELIMIT;
    uint32_t seq = c->seq;
    if (enqueue(rl, c, &r) != TC_OK) {
        c->state = CS_STAGE;
        return fail_open(c, &r);
    }
    return c->seq == seq && c->state == CS_RATELIMIT ? GW_WAIT : GW_DONE;
}

void gw_ratelimit_timeout(gw_conn_t *c)
{
    gw_rl_t *rl = c->w->rl;
    uint32_t seq = c->seq;
    /* A stalled Redis (overloaded, paused, partitioned) would stall every request of this
     * worker: drop the connection, which fails every waiting request open at once. */
    char ms[24];
    tc_log_kv(TC_LOG_WARN, "redis did not answer in time; reconnecting", "timeout_ms",
              tc_log_int(ms, c->w->app->rl_timeout_ms), NULL);
    drop(rl);
    if (c->ev.fd >= 0 && c->seq == seq && c->state == CS_RATELIMIT) {
        rl_req_t r;
        rl_request(c, &r);
        c->state = CS_STAGE;
        if (fail_open(c, &r) == GW_NEXT)
            gw_request_resume(c);
    }
}

/* ------------------------------------------------------------------ in-process GCRA */

#define LOCAL_STRIPES 32

typedef struct {
    uint64_t hash;
    int64_t tat_us;
} local_slot_t;

struct gw_local_rl {
    pthread_mutex_t mu[LOCAL_STRIPES];
    local_slot_t *slots;
    int n;
};

gw_local_rl_t *gw_local_rl_new(int slots)
{
    gw_local_rl_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->n = slots;
    if (!(l->slots = calloc((size_t)slots, sizeof *l->slots))) {
        free(l);
        return NULL;
    }
    for (int i = 0; i < LOCAL_STRIPES; i++)
        pthread_mutex_init(&l->mu[i], NULL);
    return l;
}

void gw_local_rl_free(gw_local_rl_t *l)
{
    if (!l)
        return;
    for (int i = 0; i < LOCAL_STRIPES; i++)
        pthread_mutex_destroy(&l->mu[i]);
    free(l->slots);
    free(l);
}

static uint64_t key_hash(const char *s)
{
    uint64_t h = tc_fnv1a64(s, strlen(s));
    return h ? h : 1; /* 0 marks an empty slot */
}

void gw_local_rl_check(gw_local_rl_t *l, const char *key, const tc_rl_spec_t *spec, int64_t now_us,
                       tc_rl_result_t *out)
{
    /* the same arithmetic as the Redis script: T = period / limit, tau = T * burst */
    int64_t interval = (spec->period_ms * 1000 + spec->limit - 1) / spec->limit;
    int64_t tolerance = interval * spec->burst;
    uint64_t h = key_hash(key);
    size_t i = (size_t)(h % (uint64_t)l->n);
    pthread_mutex_t *mu = &l->mu[i % LOCAL_STRIPES];
    pthread_mutex_lock(mu);
    local_slot_t *s = &l->slots[i];
    int64_t tat = s->hash == h && s->tat_us > now_us ? s->tat_us : now_us;
    int64_t next = tat + interval;
    int allowed = next - tolerance <= now_us;
    if (allowed) {
        s->hash = h;
        s->tat_us = tat = next;
    }
    pthread_mutex_unlock(mu);
    memset(out, 0, sizeof *out);
    out->allowed = allowed;
    out->limit = spec->limit;
    int64_t left = (now_us + tolerance - tat) / interval;
    out->remaining = left > 0 ? left : 0;
    out->reset_ms = (tat - now_us + 999) / 1000;
    out->retry_after_ms = allowed ? 0 : (next - tolerance - now_us + 999) / 1000;
    out->quota_remaining = -1;
    out->extra_remaining = -1;
}
