/*
 * The gateway application: its environment, the shared parts the workers use (routing
 * snapshot, blocking pool, API-key cache, fallback limiter, usage events), reloads, and the
 * public server handed to tc_service (start, quiesce, drain, stop).
 */
#include "apikey_cache.h"
#include "cache_events.h"
#include "gw.h"
#include "org_plans.h"
#include "ratelimit_async.h"
#include "usage_events.h"
#include "usage_meter.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define APIKEY_CACHE_SIZE 10000
/* orgs whose plan changed within the last token lifetime: beyond this many, the change
 * expiring first gives way (its org is limited by its tokens' claim again) */
#define ORG_PLAN_SLOTS 16384
#define LOCAL_RL_SLOTS 16384
#define POOL_QUEUE_MAX 1024

/* A numeric IPv4/IPv6 address to bind upstream connections to (port 0: any). */
static void source_addr(gw_app_t *app, tc_config_t *cfg, const char *text)
{
    app->source_len = 0;
    if (!text)
        return;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&app->source;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&app->source;
    memset(&app->source, 0, sizeof app->source);
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        app->source_len = sizeof *v4;
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        app->source_len = sizeof *v6;
    } else {
        tc_config_fail(cfg, "UPSTREAM_SOURCE_ADDR", "must be a numeric IPv4 or IPv6 address");
    }
}

void gw_app_config(gw_app_t *app, tc_config_t *cfg)
{
    static const char *const accept_modes[] = {"reuseport", "exclusive", NULL};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    app->config_path = tc_config_str(cfg, "GATEWAY_CONFIG", NULL);
    app->nworkers = (int)tc_config_int(cfg, "GATEWAY_WORKERS", cpus > 0 ? cpus : 1, 1, 256);
    app->reuseport = tc_config_enum(cfg, "GATEWAY_ACCEPT", accept_modes, 0) == 0;
    app->access_log = tc_config_bool(cfg, "GATEWAY_ACCESS_LOG", 1);
    app->fail_open = tc_config_bool(cfg, "RATE_LIMIT_FAIL_OPEN", 1);
    app->rl_timeout_ms = (int)tc_config_int(cfg, "RATE_LIMIT_TIMEOUT_MS", 100, 1, 10000);
    app->header_timeout_ms =
        (int)tc_config_int(cfg, "GATEWAY_HEADER_TIMEOUT_MS", 10000, 100, 600000);
    app->idle_timeout_ms = (int)tc_config_int(cfg, "GATEWAY_IDLE_TIMEOUT_MS", 60000, 100, 3600000);
    app->send_timeout_ms = (int)tc_config_int(cfg, "GATEWAY_SEND_TIMEOUT_MS", 30000, 100, 600000);
    app->auth_timeout_ms = (int)tc_config_int(cfg, "GATEWAY_AUTH_TIMEOUT_MS", 5000, 100, 60000);
    app->blocking_threads = (int)tc_config_int(cfg, "GATEWAY_BLOCKING_THREADS", 4, 1, 64);
    app->usage_enabled = tc_config_bool(cfg, "GATEWAY_USAGE_EVENTS", 1);
    app->usage_queue = (int)tc_config_int(cfg, "GATEWAY_USAGE_QUEUE", 8192, 1024, 1 << 22);
    app->meter_enabled = tc_config_bool(cfg, "GATEWAY_METER", 1);
    app->meter_window_ms = (int)tc_config_int(cfg, "GATEWAY_METER_WINDOW_MS", 1000, 100, 60000);
    app->meter_max_records =
        tc_config_int(cfg, "GATEWAY_METER_MAX_RECORDS", 200000, 1000, 100000000);
    app->meter_spool_dir = tc_config_opt(cfg, "GATEWAY_METER_SPOOL_DIR");
    app->cache_max_bytes =
        (size_t)tc_config_int(cfg, "GATEWAY_CACHE_MAX_BYTES", 64 << 20, 1 << 20, (int64_t)1 << 36);
    app->cache_shared = tc_config_bool(cfg, "GATEWAY_CACHE_SHARED", 1);
    app->cache_shared_timeout_ms =
        (int)tc_config_int(cfg, "GATEWAY_CACHE_SHARED_TIMEOUT_MS", 50, 1, 5000);
    app->cache_local_ms = tc_config_int(cfg, "GATEWAY_CACHE_LOCAL_MS", 1000, 100, 3600000);
    app->plan_change_ttl_ms =
        tc_config_int(cfg, "GATEWAY_PLAN_CHANGE_TTL_MS", 960000, 1000, 86400000);
    app->cache_shared_max_ms =
        1000 * tc_config_int(cfg, "GATEWAY_CACHE_SHARED_MAX_S", 3600, 1, 7 * 86400);
    app->cache_skew_ms = tc_config_int(cfg, "GATEWAY_CACHE_CLOCK_SKEW_MS", 1000, 0, 60000);
    app->cache_shared_max_entry = (size_t)tc_config_int(cfg, "GATEWAY_CACHE_SHARED_MAX_ENTRY_BYTES",
                                                        256 << 10, 1 << 10, 64 << 20);
    app->hsts = tc_config_opt(cfg, "GATEWAY_HSTS");
    app->csp = tc_config_str(cfg, "GATEWAY_CSP", GW_CSP_DEFAULT);
    if (!gw_sechdr_value_ok(app->hsts))
        tc_config_fail(cfg, "GATEWAY_HSTS",
                       "must be a header value (printable, at most 400 bytes)");
    else if (!gw_sechdr_value_ok(app->csp))
        tc_config_fail(cfg, "GATEWAY_CSP", "must be a header value (printable, at most 400 bytes)");
    else
        gw_sechdr_init(&app->sechdr, app->hsts, app->csp);
    app->admin_token = tc_config_secret(cfg, "GATEWAY_ADMIN_TOKEN", NULL);
    if (app->admin_token && strlen(app->admin_token) < 16)
        tc_config_fail(cfg, "GATEWAY_ADMIN_TOKEN", "must be at least 16 characters");
    app->auth_url = tc_config_str(cfg, "AUTH_URL", "http://127.0.0.1:8081");
    app->client_id = tc_config_opt(cfg, "AUTH_CLIENT_ID");
    app->client_secret = tc_config_opt(cfg, "AUTH_CLIENT_SECRET");
    app->redis_url = tc_config_secret(cfg, "REDIS_URL", NULL);
    app->bind_addr = tc_config_str(cfg, "BIND_ADDR", "0.0.0.0");
    app->shared_listen_fd = -1;
    source_addr(app, cfg, tc_config_opt(cfg, "UPSTREAM_SOURCE_ADDR"));
}

/* redis://[[user]:password@]host[:port][/db] → numeric host, port, db, password. */
static int redis_target(gw_app_t *app)
{
    const char *u = app->redis_url;
    if (strncmp(u, "redis://", 8) != 0)
        goto bad;
    u += 8;
    const char *at = strrchr(u, '@');
    if (at) {
        const char *colon = memchr(u, ':', (size_t)(at - u));
        if (colon && !(app->redis_password = strndup(colon + 1, (size_t)(at - colon - 1))))
            return TC_ENOMEM;
        u = at + 1;
    }
    char host[256];
    const char *end = u + strcspn(u, ":/");
    if (end == u || (size_t)(end - u) >= sizeof host)
        goto bad;
    snprintf(host, sizeof host, "%.*s", (int)(end - u), u);
    app->redis_port = 6379;
    if (*end == ':')
        app->redis_port = atoi(end + 1);
    const char *slash = strchr(end, '/');
    app->redis_db = slash && slash[1] ? atoi(slash + 1) : 0;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        goto bad;
    const void *addr = res->ai_family == AF_INET
                           ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                           : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, addr, app->redis_host, sizeof app->redis_host);
    freeaddrinfo(res);
    return app->redis_port > 0 && app->redis_port < 65536 ? TC_OK : TC_EINVAL;
bad:
    tc_log_kv(TC_LOG_ERROR, "REDIS_URL is not redis://host:port[/db] with a resolvable host", NULL);
    return TC_EINVAL;
}

/* Each problem of a configuration that was not installed (messages are literals: tc_log). */
static void log_errors(bool reload, cJSON *errors)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors)
    {
        const char *problem = cJSON_IsString(e) ? e->valuestring : "?";
        if (reload)
            tc_log_kv(TC_LOG_ERROR,
                      "routing configuration reload rejected; keeping the current one", "problem",
                      problem, NULL);
        else
            tc_log_kv(TC_LOG_ERROR, "routing configuration rejected", "problem", problem, NULL);
    }
}

static int load_config(gw_app_t *app)
{
    cJSON *errors = cJSON_CreateArray();
    gw_config_t *c = NULL;
    int rc = errors ? gw_config_load(app->config_path, NULL, &c, errors) : TC_ENOMEM;
    if (rc != TC_OK)
        log_errors(false, errors);
    cJSON_Delete(errors);
    if (rc != TC_OK)
        return rc;
    app->cfg = c;
    atomic_store(&app->cfg_generation, c->generation);
    gw_metrics_breakers(&app->m, c);
    char n[16];
    snprintf(n, sizeof n, "%d", c->nroutes);
    tc_log_kv(TC_LOG_INFO, "routing configuration loaded", "file", app->config_path, "routes", n,
              NULL);
    return TC_OK;
}

static int service_token(gw_app_t *app)
{
    if (!app->client_id || !app->client_secret) {
        tc_log_kv(TC_LOG_WARN,
                  "AUTH_CLIENT_ID/AUTH_CLIENT_SECRET not set: API keys are refused with 503 "
                  "until they are",
                  NULL);
        return TC_OK;
    }
    tc_svctoken_opts_t o = {.auth_url = app->auth_url,
                            .client_id = app->client_id,
                            .client_secret = app->client_secret,
                            .scope = "internal"};
    return (app->svctoken = tc_svctoken_new(app->httpc, &o)) ? TC_OK : TC_ENOMEM;
}

static double cache_bytes(void *ud)
{
    gw_cache_stats_t st;
    gw_cache_stats(ud, &st);
    return (double)st.bytes;
}

static double cache_entries(void *ud)
{
    gw_cache_stats_t st;
    gw_cache_stats(ud, &st);
    return (double)st.entries;
}

/* The cache's gauges, read when /metrics is scraped (an expired entry dropped by a lookup
 * changes them without any writer). */
static int cache_gauges(gw_app_t *app)
{
    app->m.cache_bytes = tc_metric_gauge_fn(
        "gateway_cache_bytes", "Bytes held by the response cache", cache_bytes, app->cache);
    app->m.cache_entries = tc_metric_gauge_fn(
        "gateway_cache_entries", "Entries in the response cache", cache_entries, app->cache);
    return app->m.cache_bytes && app->m.cache_entries ? TC_OK : TC_ENOMEM;
}

static double meter_pending(void *ud)
{
    return (double)gw_meter_pending(ud);
}

/* Billing-grade usage records: without a spool directory they survive a broker outage but
 * not a crash, which is said once at start. */
static int meter_init(gw_app_t *app)
{
    gw_meter_opts_t o = {.workers = app->nworkers,
                         .window_ms = app->meter_window_ms,
                         .max_records = (size_t)app->meter_max_records,
                         .retry_ms = 1000,
                         .spool_dir = app->meter_spool_dir,
                         .producer = app->producer,
                         .m_requests = app->m.meter_requests,
                         .m_dropped = app->m.meter_dropped};
    if (!app->producer)
        return TC_OK; /* no broker configured: nothing to publish to */
    if (!app->meter_spool_dir)
        tc_log_kv(TC_LOG_WARN,
                  "GATEWAY_METER_SPOOL_DIR unset: a crash loses unacknowledged usage records",
                  NULL);
    if (!(app->meter = gw_meter_new(&o)))
        return TC_ERROR;
    return tc_metric_gauge_fn("gateway_meter_pending_records",
                              "Usage records not yet acknowledged by the broker", meter_pending,
                              app->meter)
               ? TC_OK
               : TC_ENOMEM;
}

int gw_app_init(gw_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->auth = tc_service_auth(svc);
    app->producer = tc_service_producer(svc);
    app->httpc = tc_service_httpc(svc);
    pthread_mutex_init(&app->cfg_lock, NULL);
    pthread_mutex_init(&app->reload_lock, NULL);
    int rc = gw_metrics_init(&app->m);
    if (rc == TC_OK)
        rc = redis_target(app);
    if (rc == TC_OK)
        rc = load_config(app);
    if (rc == TC_OK &&
        (!(app->pool = gw_pool_new(app->blocking_threads, POOL_QUEUE_MAX)) ||
         !(app->apikeys = gw_apikeys_new(APIKEY_CACHE_SIZE)) ||
         !(app->orgplans = gw_orgplans_new(ORG_PLAN_SLOTS, app->plan_change_ttl_ms)) ||
         !(app->local_rl = gw_local_rl_new(LOCAL_RL_SLOTS)) ||
         !(app->cache = gw_cache_new(app->cache_max_bytes)) || !(app->fills = gw_fills_new())))
        rc = TC_ENOMEM;
    if (rc == TC_OK && app->usage_enabled &&
        !(app->usage = gw_usage_new(app, app->nworkers, app->usage_queue)))
        rc = TC_ENOMEM;
    if (rc == TC_OK && app->meter_enabled)
        rc = meter_init(app);
    if (rc == TC_OK)
        rc = cache_gauges(app);
    if (rc == TC_OK)
        rc = service_token(app);
    return rc;
}

void gw_app_free(gw_app_t *app)
{
    gw_resolver_stop(app);
    gw_hc_stop(app);
    if (app->workers)
        gw_workers_free(app);
    gw_pool_free(app->pool);
    gw_usage_free(app->usage);
    gw_meter_free(app->meter);
    gw_apikeys_free(app->apikeys);
    gw_orgplans_free(app->orgplans);
    gw_local_rl_free(app->local_rl);
    gw_cache_free(app->cache);
    gw_fills_free(app->fills);
    tc_svctoken_free(app->svctoken);
    gw_config_unref(app->cfg);
    free(app->redis_password);
    if (app->svc) {
        pthread_mutex_destroy(&app->cfg_lock);
        pthread_mutex_destroy(&app->reload_lock);
    }
    memset(app, 0, sizeof *app);
}

/* ------------------------------------------------------------------ configuration */

gw_config_t *gw_app_config_get(gw_app_t *app)
{
    pthread_mutex_lock(&app->cfg_lock);
    gw_config_t *c = app->cfg;
    gw_config_ref(c);
    pthread_mutex_unlock(&app->cfg_lock);
    return c;
}

/* Publishes next (the reload lock held): workers switch at their next loop turn. */
static void install(gw_app_t *app, gw_config_t *next)
{
    pthread_mutex_lock(&app->cfg_lock);
    gw_config_t *old = app->cfg;
    app->cfg = next;
    atomic_store(&app->cfg_generation, next->generation);
    pthread_mutex_unlock(&app->cfg_lock);
    gw_config_unref(old);
    gw_metrics_breakers(&app->m, next);
}

int gw_app_reload(gw_app_t *app, cJSON *errors)
{
    pthread_mutex_lock(&app->reload_lock);
    gw_config_t *cur = gw_app_config_get(app);
    gw_config_t *next = NULL;
    int rc = gw_config_load(app->config_path, cur, &next, errors);
    if (rc == TC_OK) {
        install(app, next);
        gw_cache_events_check(app, next);
        tc_metric_inc(app->m.reloads, 1, "ok");
        char gen[24], n[16];
        snprintf(gen, sizeof gen, "%llu", (unsigned long long)next->generation);
        snprintf(n, sizeof n, "%d", next->nroutes);
        tc_log_kv(TC_LOG_INFO, "routing configuration reloaded", "generation", gen, "routes", n,
                  NULL);
    } else {
        tc_metric_inc(app->m.reloads, 1, "rejected");
        log_errors(true, errors);
    }
    gw_config_unref(cur);
    pthread_mutex_unlock(&app->reload_lock);
    return rc;
}

int gw_app_rebuild(gw_app_t *app)
{
    cJSON *errors = cJSON_CreateArray();
    if (!errors)
        return TC_ENOMEM;
    pthread_mutex_lock(&app->reload_lock);
    gw_config_t *cur = gw_app_config_get(app);
    gw_config_t *next = NULL;
    int rc = gw_config_rebuild(cur, &next, errors);
    if (rc == TC_OK) {
        install(app, next);
        char gen[24], n[16];
        snprintf(gen, sizeof gen, "%llu", (unsigned long long)next->generation);
        snprintf(n, sizeof n, "%d", next->ntargets);
        tc_log_kv(TC_LOG_INFO, "routing rebuilt with the names' current addresses", "generation",
                  gen, "targets", n, NULL);
    } else {
        log_errors(true, errors); /* the document was valid: only memory can fail here */
    }
    gw_config_unref(cur);
    pthread_mutex_unlock(&app->reload_lock);
    cJSON_Delete(errors);
    return rc;
}

void gw_app_on_sighup(void *ud)
{
    cJSON *errors = cJSON_CreateArray();
    if (errors)
        gw_app_reload(ud, errors);
    cJSON_Delete(errors);
}

/* ------------------------------------------------------------------ the public server */

static int srv_start(void *ud, int port)
{
    gw_app_t *app = ud;
    if (app->usage && gw_usage_start(app->usage) != TC_OK)
        return TC_ERROR;
    if (app->meter && gw_meter_start(app->meter) != TC_OK)
        return TC_ERROR;
    int rc = gw_workers_start(app, port);
    if (rc == TC_OK)
        rc = gw_hc_start(app); /* health checks and target gauges, off the workers' loops */
    if (rc == TC_OK)
        rc = gw_resolver_start(app); /* names of endpoints "all" upstreams, re-resolved */
    return rc;
}

static void srv_quiesce(void *ud)
{
    gw_workers_quiesce(ud);
}

static int srv_drain(void *ud, int timeout_ms)
{
    return gw_workers_drain(ud, timeout_ms);
}

/* Order matters: the resolver and the health checks stop (they read the configuration), the
 * loops stop, then the blocking pool (its last results land in the workers' queues), then the
 * workers are freed, then the usage thread drains its rings into the producer and the meter
 * sends the window it was counting; tc_service flushes the producer afterwards. */
static void srv_stop(void *ud)
{
    gw_app_t *app = ud;
    gw_resolver_stop(app);
    gw_hc_stop(app);
    gw_workers_stop(app);
    gw_pool_free(app->pool);
    app->pool = NULL;
    gw_workers_free(app);
    gw_usage_stop(app->usage);
    gw_meter_stop(app->meter); /* the window being counted, sent before the producer's flush */
}

tc_service_server_t gw_app_server(gw_app_t *app)
{
    return (tc_service_server_t){.start = srv_start,
                                 .quiesce = srv_quiesce,
                                 .drain = srv_drain,
                                 .stop = srv_stop,
                                 .ud = app};
}
