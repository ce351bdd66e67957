/*
 * Admin API on the admin port (contract: proto/openapi/gateway.yaml), next to /health,
 * /ready and /metrics. Every call needs "Authorization: Bearer $GATEWAY_ADMIN_TOKEN",
 * compared in constant time (digests, so not even the length leaks).
 *
 *   GET  /admin/routes                    the configuration in force
 *   PUT  /admin/upstreams/{name}/canary   {"weight": 0..100} (until the next reload)
 *   GET  /admin/breakers                  every target's breaker
 *   POST /admin/reload                    reread GATEWAY_CONFIG (422 lists every problem)
 */
#include "admin_api.h"
#include "cache_tier.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

static const char *const auth_names[] = {"required", "optional", "none"};
static const char *const rl_names[] = {"plan", "ip", "none"};
static const char *const per_names[] = {"org", "principal", "ip"};

/* Whether the call carries the admin token (else the 401 is set). */
static bool authorized(gw_app_t *app, tc_req_t *req, tc_resp_t *resp)
{
    const char *tok = tc_auth_bearer(tc_req_header(req, "Authorization"));
    uint8_t a[TC_SHA256_LEN], b[TC_SHA256_LEN];
    tc_sha256(app->admin_token, strlen(app->admin_token), a);
    if (tok)
        tc_sha256(tok, strlen(tok), b);
    if (tok && tc_ct_equal(a, b, TC_SHA256_LEN))
        return true;
    tc_resp_header(resp, "WWW-Authenticate", "Bearer");
    tc_resp_error(resp, 401, "unauthorized", "The admin API needs the gateway admin token");
    return false;
}

/* ------------------------------------------------------------------ representations */

static cJSON *methods_json(unsigned mask)
{
    cJSON *a = cJSON_CreateArray();
    for (int m = HTTP_M_GET; a && m < HTTP_M_COUNT; m++)
        if (mask & (1u << m))
            cJSON_AddItemToArray(a, cJSON_CreateString(http_method_name((http_method_t)m)));
    return a;
}

/* The route's own limit, or null. */
static cJSON *route_limit_json(const gw_route_t *r)
{
    if (!r->rl_per_minute)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    tc_json_add_int(o, "per_minute", r->rl_per_minute);
    tc_json_add_int(o, "burst", r->rl_burst);
    tc_json_add_str(o, "per", per_names[r->rl_per]);
    return o;
}

/* A member of the route ("transform", "cache") as the file has it (the compiled rules keep no
 * names of their sections), or null. */
static cJSON *route_member_json(const gw_config_t *c, const gw_route_t *r, const char *key)
{
    const cJSON *routes = cJSON_GetObjectItemCaseSensitive(c->source, "routes");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(routes, r->order), key);
    return t ? cJSON_Duplicate(t, true) : cJSON_CreateNull();
}

static cJSON *route_json(const gw_config_t *c, const gw_route_t *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    tc_json_add_str(o, "name", r->name);
    tc_json_add_str(o, r->prefix ? "prefix" : "path", r->path);
    cJSON_AddItemToObject(o, "methods", methods_json(r->methods));
    tc_json_add_str(o, "upstream", r->upstream->name);
    tc_json_add_str(o, "auth", auth_names[r->auth]);
    tc_json_add_str(o, "rate_limit", rl_names[r->rate_limit]);
    tc_json_add_int(o, "timeout_ms", r->timeout_ms);
    tc_json_add_int(o, "retries", r->retries);
    tc_json_add_int(o, "max_body_bytes", r->max_body_bytes);
    cJSON_AddBoolToObject(o, "strip_prefix", r->strip_prefix);
    cJSON_AddBoolToObject(o, "usage_events", r->usage_events);
    cJSON_AddBoolToObject(o, "websocket", r->websocket);
    if (r->websocket)
        cJSON_AddNumberToObject(o, "websocket_idle_ms", r->websocket_idle_ms);
    tc_json_add_str(o, "min_role", tc_role_name(r->min_role));
    cJSON_AddItemToObject(o, "route_limit", route_limit_json(r));
    cJSON_AddItemToObject(o, "transform", route_member_json(c, r, "transform"));
    cJSON_AddItemToObject(o, "cache", route_member_json(c, r, "cache"));
    return o;
}

static cJSON *breaker_json(gw_target_t *t, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int st = breaker_state(&t->breaker);
    tc_json_add_str(o, "state", breaker_state_name(st));
    tc_json_add_int(o, "consecutive_failures", atomic_load(&t->breaker.failures));
    int64_t left = atomic_load(&t->breaker.open_until_ms) - now_ms;
    tc_json_add_int(o, "ejected_for_ms", st == BREAKER_OPEN && left > 0 ? left : 0);
    return o;
}

static cJSON *targets_json(const gw_group_t *g, int64_t now_ms)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < g->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        tc_json_add_str(o, "url", g->targets[i].url);
        tc_json_add_int(o, "weight", g->targets[i].weight);
        cJSON_AddBoolToObject(o, "resolved", g->targets[i].resolved);
        cJSON_AddItemToObject(o, "breaker", breaker_json(&g->targets[i], now_ms));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *upstream_json(gw_upstream_t *u, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    tc_json_add_str(o, "name", u->name);
    cJSON_AddItemToObject(o, "targets", targets_json(&u->groups[GW_GROUP_STABLE], now_ms));
    if (u->groups[GW_GROUP_CANARY].n) {
        cJSON *c = cJSON_AddObjectToObject(o, "canary");
        if (c) {
            tc_json_add_int(c, "weight", atomic_load(&u->canary_weight));
            cJSON_AddItemToObject(c, "targets", targets_json(&u->groups[GW_GROUP_CANARY], now_ms));
        }
    } else {
        cJSON_AddNullToObject(o, "canary");
    }
    tc_json_add_int(o, "connect_timeout_ms", u->connect_timeout_ms);
    tc_json_add_int(o, "timeout_ms", u->timeout_ms);
    tc_json_add_int(o, "retries", u->retries);
    cJSON *b = cJSON_AddObjectToObject(o, "breaker");
    if (b) {
        tc_json_add_int(b, "failures", u->breaker_failures);
        tc_json_add_int(b, "eject_ms", u->breaker_eject_ms);
    }
    tc_json_add_int(o, "keepalive", u->keepalive);
    tc_json_add_int(o, "keepalive_idle_ms", u->keepalive_idle_ms);
    return o;
}

static cJSON *plans_json(const gw_config_t *c)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < c->nplans; i++) {
        cJSON *p = cJSON_AddObjectToObject(o, c->plans[i].name);
        if (!p)
            break;
        tc_json_add_int(p, "per_minute", c->plans[i].per_minute);
        tc_json_add_int(p, "burst", c->plans[i].burst);
        if (c->plans[i].per_day > 0)
            tc_json_add_int(p, "per_day", c->plans[i].per_day);
        else
            cJSON_AddNullToObject(p, "per_day");
    }
    return o;
}

/* ------------------------------------------------------------------ handlers */

static void h_routes(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    gw_app_t *app = ud;
    if (!authorized(app, req, resp))
        return;
    gw_config_t *c = gw_app_config_get(app);
    int64_t now = tc_mono_ms();
    cJSON *o = cJSON_CreateObject();
    cJSON *routes = o ? cJSON_AddArrayToObject(o, "routes") : NULL;
    cJSON *ups = o ? cJSON_AddArrayToObject(o, "upstreams") : NULL;
    if (routes && ups) {
        tc_json_add_int(o, "generation", (int64_t)c->generation);
        for (int i = 0; i < c->nroutes; i++)
            cJSON_AddItemToArray(routes, route_json(c, &c->routes[i]));
        for (int i = 0; i < c->nupstreams; i++)
            cJSON_AddItemToArray(ups, upstream_json(&c->upstreams[i], now));
        cJSON_AddItemToObject(o, "plans", plans_json(c));
        tc_json_add_str(o, "default_plan", c->plans[c->default_plan].name);
    }
    gw_config_unref(c);
    tc_resp_json(resp, 200, o);
}

static void h_breakers(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    gw_app_t *app = ud;
    if (!authorized(app, req, resp))
        return;
    gw_config_t *c = gw_app_config_get(app);
    int64_t now = tc_mono_ms();
    cJSON *o = cJSON_CreateObject();
    cJSON *list = o ? cJSON_AddArrayToObject(o, "breakers") : NULL;
    for (int u = 0; list && u < c->nupstreams; u++) {
        for (int g = 0; g < 2; g++) {
            gw_group_t *grp = &c->upstreams[u].groups[g];
            for (int i = 0; i < grp->n; i++) {
                cJSON *b = breaker_json(&grp->targets[i], now);
                if (!b)
                    continue;
                tc_json_add_str(b, "upstream", c->upstreams[u].name);
                tc_json_add_str(b, "group", g ? "canary" : "stable");
                tc_json_add_str(b, "target", grp->targets[i].url);
                cJSON_AddItemToArray(list, b);
            }
        }
    }
    gw_config_unref(c);
    tc_resp_json(resp, 200, o);
}

static void h_canary(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    gw_app_t *app = ud;
    if (!authorized(app, req, resp))
        return;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const cJSON *body = tc_req_json(req);
    tc_jv_no_unknown(&jv, body, (const char *const[]){"weight", NULL});
    int64_t weight = tc_jv_int(&jv, body, "weight", TC_JV_REQUIRED, 0, 0, 100);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    tc_jv_free(&jv);
    const char *name = tc_req_param(req, "name");
    gw_config_t *c = gw_app_config_get(app);
    gw_upstream_t *up = gw_config_upstream(c, name);
    if (!up) {
        tc_resp_error(resp, 404, "not_found", "No upstream named %s", name);
    } else if (!up->groups[GW_GROUP_CANARY].n) {
        tc_resp_error(resp, 409, "no_canary", "Upstream %s has no canary targets", name);
    } else {
        int before = atomic_exchange(&up->canary_weight, (int)weight);
        char b[8], a[8];
        snprintf(b, sizeof b, "%d", before);
        snprintf(a, sizeof a, "%d", (int)weight);
        tc_log_kv(TC_LOG_INFO, "admin: canary weight changed", "upstream", name, "before", b,
                  "after", a, NULL);
        cJSON *o = cJSON_CreateObject();
        if (o) {
            tc_json_add_str(o, "upstream", name);
            tc_json_add_int(o, "weight", weight);
            tc_json_add_int(o, "previous_weight", before);
            tc_json_add_int(o, "generation", (int64_t)c->generation);
        }
        tc_resp_json(resp, 200, o);
    }
    gw_config_unref(c);
}

static void h_reload(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    gw_app_t *app = ud;
    if (!authorized(app, req, resp))
        return;
    cJSON *errors = cJSON_CreateArray();
    if (!errors) {
        tc_resp_error(resp, 500, "internal_error", "Out of memory");
        return;
    }
    if (gw_app_reload(app, errors) == TC_OK) {
        gw_config_t *c = gw_app_config_get(app);
        cJSON *o = cJSON_CreateObject();
        if (o) {
            tc_json_add_str(o, "status", "reloaded");
            tc_json_add_int(o, "generation", (int64_t)c->generation);
        }
        gw_config_unref(c);
        tc_resp_json(resp, 200, o);
    } else {
        tc_jv_t jv;
        tc_jv_init(&jv);
        const cJSON *e;
        cJSON_ArrayForEach(e, errors)
        {
            tc_jv_error(&jv, "GATEWAY_CONFIG", "%s", cJSON_IsString(e) ? e->valuestring : "?");
        }
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
    }
    cJSON_Delete(errors);
}

/* DELETE /admin/cache[?prefix=/v1/x]: drops the cached answers under a path prefix (every
 * one without it), for an operator who cannot wait for their freshness to end. */
static void h_cache_purge(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    gw_app_t *app = ud;
    if (!authorized(app, req, resp))
        return;
    const char *prefix = tc_req_query(req, "prefix");
    if (prefix && prefix[0] != '/') {
        tc_resp_error(resp, 400, "bad_request", "prefix must be a path starting with /");
        return;
    }
    size_t len = prefix ? strlen(prefix) : 0;
    if (len > 1 && prefix[len - 1] == '/')
        len--; /* "/v1/users/" means "/v1/users" */
    /* the shared tier first: markers every replica's reads heed (their local copies end within
     * GATEWAY_CACHE_LOCAL_MS); then this replica's copies, so a read that missed a marker
     * finds its copy unstorable (the purge's generation) */
    gw_config_t *cfg = gw_app_config_get(app);
    int shared = gw_tier_mark(app, cfg, NULL, NULL, prefix && len > 1 ? GW_MARK_PFX : GW_MARK_ALL,
                              prefix ? prefix : "", prefix && len > 1 ? len : 0);
    gw_config_unref(cfg);
    size_t n = gw_cache_purge(app->cache, prefix ? prefix : "", prefix && len > 1 ? len : 0);
    tc_metric_inc(app->m.cache_purged, (double)n, "admin");
    char count[24];
    snprintf(count, sizeof count, "%zu", n);
    tc_log_kv(TC_LOG_INFO, "admin: cache purged", "prefix", prefix ? prefix : "(all)", "entries",
              count, NULL);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        tc_json_add_int(o, "purged", (int64_t)n);
        /* "pending": Redis did not take the markers; this replica stops using the shared tier
         * until every route's are written */
        cJSON_AddStringToObject(o, "shared",
                                !app->cache_shared ? "off"
                                : shared == TC_OK  ? "purged"
                                                   : "pending");
    }
    tc_resp_json(resp, 200, o);
}

int gw_admin_routes(gw_app_t *app)
{
    tc_router_t *r = tc_service_admin_router(app->svc);
    const tc_route_t routes[] = {
        {.method = "GET", .pattern = "/admin/routes", .fn = h_routes, .ud = app},
        {.method = "GET", .pattern = "/admin/breakers", .fn = h_breakers, .ud = app},
        {.method = "PUT",
         .pattern = "/admin/upstreams/{name}/canary",
         .fn = h_canary,
         .ud = app,
         .flags = TC_ROUTE_JSON,
         .max_body = 4096},
        {.method = "POST", .pattern = "/admin/reload", .fn = h_reload, .ud = app},
        {.method = "DELETE", .pattern = "/admin/cache", .fn = h_cache_purge, .ud = app},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(routes); i++)
        if (tc_router_add(r, &routes[i]) != TC_OK)
            return TC_ERROR;
    return TC_OK;
}
