/* The shared cache tier's I/O (see cache_tier.h). */
#include "cache_tier.h"
#include "ratelimit_async.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_redis.h"
#include "tc/tc_time.h"

#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPAIR_EVERY_MS  1000
#define QUIET_MS         1000 /* after a read that timed out, the worker asks no more so long */
#define WAITER_SLOT_BITS 32

_Static_assert(sizeof(uintptr_t) >= 8, "a waiter (slot, seq) travels as the reply's pointer");

bool gw_tier_on(const gw_conn_t *c)
{
    const gw_app_t *app = c->w->app;
    return app->cache_shared && !atomic_load(&app->cache_tier_broken) && c->route->name;
}

/* ------------------------------------------------------------------ reads */

static void *waiter_of(const gw_conn_t *c)
{
    return (void *)(((uintptr_t)c->slot << WAITER_SLOT_BITS) | c->seq);
}

static gw_conn_t *waiting_conn(gw_worker_t *w, void *priv)
{
    uintptr_t v = (uintptr_t)priv;
    uint32_t slot = (uint32_t)(v >> WAITER_SLOT_BITS), seq = (uint32_t)v;
    gw_conn_t *c = slot < (uint32_t)w->nconns ? w->conns[slot] : NULL;
    if (!c || c->ev.fd < 0 || c->seq != seq || c->state != CS_SHARED)
        return NULL; /* timed out already, or the client left */
    return c;
}

/* A marker's time; one that does not read as a time counts as the latest possible (its
 * entries are not served): someone wrote it to purge. */
static int64_t marker_ms(const redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_NIL)
        return 0;
    if (r->type != REDIS_REPLY_STRING || !r->len || r->len > 20)
        return GW_SHARED_TIME_MAX;
    char buf[24], *end;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    long long t = strtoll(buf, &end, 10);
    return *end || t < 0 || t > GW_SHARED_TIME_MAX ? GW_SHARED_TIME_MAX : (int64_t)t;
}

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    const redisReply *r = reply;
    gw_conn_t *c = waiting_conn(gw_rl_worker(ac->data), priv);
    if (!c)
        return;
    gw_metrics_t *m = &c->w->app->m;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        tc_metric_inc(m->cache_shared, 1, "error");
        gw_cache_tier_answer(c, NULL, 0);
        return;
    }
    int64_t newest = 0;
    for (size_t i = 1; i < r->elements; i++) {
        int64_t t = marker_ms(r->element[i]);
        if (t > newest)
            newest = t;
    }
    const redisReply *v = r->element[0];
    gw_shared_entry_t e;
    if (v->type != REDIS_REPLY_STRING || gw_shared_decode(v->str, v->len, &e) != TC_OK) {
        tc_metric_inc(m->cache_shared, 1, v->type == REDIS_REPLY_NIL ? "miss" : "error");
        gw_cache_tier_answer(c, NULL, 0);
        return;
    }
    gw_cache_tier_answer(c, &e, newest);
}

bool gw_tier_ask(gw_conn_t *c, const char *key, size_t key_len)
{
    redisAsyncContext *ac = gw_rl_redis(c->w->rl);
    if (!ac || c->w->now_ms < c->w->tier_quiet_ms)
        return false; /* Redis down, or stalled a moment ago: the service, at once */
    const char *route = c->route->name;
    const char *org = c->ptype == PT_ANONYMOUS ? "" : c->principal.org;
    char entry[128];
    /* on the worker's stack (8 MiB): a thread-local buffer would cost every thread of the
     * process its size */
    char buf[GW_SHARED_MAX_MARKERS * GW_SHARED_NAME_MAX];
    const char *argv[2 + GW_SHARED_MAX_MARKERS] = {"MGET", entry};
    size_t lens[2 + GW_SHARED_MAX_MARKERS];
    if (gw_shared_entry_name(route, key, key_len, entry, sizeof entry) != TC_OK)
        return false;
    int n = gw_shared_markers(route, org, key, key_len, buf, sizeof buf, argv + 2, lens + 2);
    if (n < 0)
        return false; /* a path too long or deep for the tier */
    lens[0] = 4;
    lens[1] = strlen(entry);
    if (gw_conn_arm(c, c->w->now_ms + c->w->app->cache_shared_timeout_ms) != TC_OK)
        return false;
    if (redisAsyncCommandArgv(ac, on_read, waiter_of(c), 2 + n, argv, lens) != REDIS_OK) {
        heap_cancel(&c->w->timers, &c->timer);
        return false;
    }
    c->shared_asked = true;
    c->state = CS_SHARED;
    return true;
}

void gw_tier_timed_out(gw_worker_t *w)
{
    w->tier_quiet_ms = w->now_ms + QUIET_MS;
}

/* ------------------------------------------------------------------ writes */

/* What Redis said to a write (nothing when the connection went: a lost write is a miss). */
static void on_stored(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)priv;
    const redisReply *r = reply;
    if (r)
        tc_metric_inc(gw_rl_worker(ac->data)->app->m.cache_shared, 1,
                      r->type == REDIS_REPLY_STATUS ? "stored" : "store_failed");
}

void gw_tier_store(gw_conn_t *c, const gw_shared_entry_t *e)
{
    gw_app_t *app = c->w->app;
    redisAsyncContext *ac = gw_rl_redis(c->w->rl);
    if (!ac || !gw_tier_on(c))
        return;
    /* alive for its freshness and stale window, and at most the maximum from its fetch: purge
     * markers (written after a fetch they concern) live longer than that */
    int64_t end = e->stored_ms + e->ttl_ms + e->swr_ms;
    if (end > e->fetched_ms + app->cache_shared_max_ms)
        end = e->fetched_ms + app->cache_shared_max_ms;
    int64_t life = end - tc_now_ms();
    char name[128], px[24];
    size_t len = 0;
    if (life <= 0 ||
        gw_shared_entry_name(c->route->name, e->key, e->key_len, name, sizeof name) != TC_OK)
        return;
    char *v = gw_shared_encode(e, &len);
    if (!v)
        return;
    snprintf(px, sizeof px, "%lld", (long long)life);
    const char *argv[] = {"SET", name, v, "PX", px};
    const size_t lens[] = {3, strlen(name), len, 2, strlen(px)};
    if (redisAsyncCommandArgv(ac, on_stored, NULL, 5, argv, lens) != REDIS_OK)
        tc_metric_inc(app->m.cache_shared, 1, "store_failed");
    free(v);
}

/* One marker, on a pooled connection, timed when it is written: TC_OK or TC_EUNAVAIL. */
static int set_marker(gw_app_t *app, tc_redis_t *redis, const char *name, const char *px)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)tc_now_ms());
    const char *argv[] = {"SET", name, now, "PX", px};
    redisReply *r = redis ? tc_redis_cmd(redis, 5, argv, NULL) : NULL;
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    tc_metric_inc(app->m.cache_shared, 1, ok ? "marked" : "mark_failed");
    return ok ? TC_OK : TC_EUNAVAIL;
}

static int write_markers(gw_app_t *app, const gw_config_t *cfg, gw_tier_route_fn which, void *ud,
                         gw_mark_t kind, const char *value, size_t len)
{
    char px[24], name[GW_SHARED_NAME_MAX + 64];
    /* a marker outlives every entry written before it, skew included */
    snprintf(px, sizeof px, "%lld", (long long)(app->cache_shared_max_ms + 2 * app->cache_skew_ms));
    tc_redis_t *redis = tc_service_redis(app->svc);
    for (int i = 0; i < cfg->nroutes; i++) {
        const gw_route_t *rt = &cfg->routes[i];
        if (!rt->cache || !rt->name || (which && !which(rt, ud)))
            continue;
        if (gw_shared_marker_name(rt->name, kind, value, len, name, sizeof name) != TC_OK)
            kind = GW_MARK_ALL, len = 0, i--; /* too long to name: the whole route */
        else if (set_marker(app, redis, name, px) != TC_OK)
            return TC_EUNAVAIL; /* the repair marks every route anyway */
    }
    return TC_OK;
}

int gw_tier_mark(gw_app_t *app, const gw_config_t *cfg, gw_tier_route_fn which, void *ud,
                 gw_mark_t kind, const char *value, size_t len)
{
    if (!app->cache_shared)
        return TC_OK;
    int rc = write_markers(app, cfg, which, ud, kind, value, len);
    if (rc != TC_OK && atomic_fetch_add(&app->cache_tier_broken, 1) == 0)
        tc_log_kv(TC_LOG_WARN,
                  "cache: a purge could not reach Redis; the shared tier is unused until it can",
                  NULL);
    return rc;
}

static void repair(void *ud)
{
    gw_app_t *app = ud;
    int seen = atomic_load(&app->cache_tier_broken);
    if (!seen)
        return;
    /* a purge that fails meanwhile counts again: only the failures seen here are repaired */
    gw_config_t *cfg = gw_app_config_get(app);
    int rc = write_markers(app, cfg, NULL, NULL, GW_MARK_ALL, "", 0);
    gw_config_unref(cfg);
    if (rc == TC_OK) {
        if (atomic_compare_exchange_strong(&app->cache_tier_broken, &seen, 0))
            tc_log_kv(TC_LOG_INFO, "cache: the shared tier is in use again (every route purged)",
                      NULL);
    }
}

static bool purged_by_events(const gw_route_t *rt, void *ud)
{
    (void)ud;
    return rt->cache->ninvalidate > 0;
}

int gw_tier_start(gw_app_t *app)
{
    if (!app->cache_shared)
        return TC_OK;
    /* events published while no replica ran purged nothing: the routes they purge start
     * afresh (until that is written, this replica does not use the tier) */
    gw_config_t *cfg = gw_app_config_get(app);
    int rc = gw_tier_mark(app, cfg, purged_by_events, NULL, GW_MARK_ALL, "", 0);
    gw_config_unref(cfg);
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "cache: could not mark the event-purged routes at start", NULL);
    return tc_service_every(app->svc, "cache-tier-repair", REPAIR_EVERY_MS, repair, app);
}
