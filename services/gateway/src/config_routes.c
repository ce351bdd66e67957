/* The "routes" section: paths (prefixes and {param} patterns), methods, authentication and
 * rate-limit modes, limits and timeouts; sorted into match order (route_match.c). */
#include "config_int.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_proto.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BODY 1048576
#define MAX_BODY_LIMIT   ((int64_t)1 << 30)
#define DEFAULT_METHODS                                                                            \
    ((1u << HTTP_M_GET) | (1u << HTTP_M_HEAD) | (1u << HTTP_M_POST) | (1u << HTTP_M_PUT) |         \
     (1u << HTTP_M_PATCH) | (1u << HTTP_M_DELETE))

/* A path a route may name: absolute, printable, no query, fragment or dot segments. */
static bool route_path_ok(const char *s)
{
    if (s[0] != '/')
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#')
            return false;
    return !strstr(s, "/./") && !strstr(s, "/../") && !strstr(s, "//");
}

/* Splits a pattern into segments; a problem is recorded (and the rest skipped) when a segment
 * is neither a literal nor a {param}. */
static void compile_pattern(gw_cv_t *v, gw_route_t *r, const char *p)
{
    const char *s = r->path + 1;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (r->nseg == GW_MAX_SEGMENTS) {
            gw_cv_error(v, p, "path has more than %d segments", GW_MAX_SEGMENTS);
            return;
        }
        if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
            bool ok = n > 2 && (isalpha((unsigned char)s[1]) || s[1] == '_');
            for (size_t k = 2; ok && k < n - 1; k++)
                ok = isalnum((unsigned char)s[k]) || s[k] == '_';
            if (!ok) {
                gw_cv_error(v, p, "path parameter %.*s is not a valid name", (int)n, s);
                return;
            }
            r->seg[r->nseg] = NULL;
        } else {
            if (n == 0 || memchr(s, '{', n) || memchr(s, '}', n)) {
                gw_cv_error(v, p, "path segment \"%.*s\" is not a literal or {param}", (int)n, s);
                return;
            }
            r->seg[r->nseg] = (char *)s;
            r->literal_segments++;
        }
        r->seg_len[r->nseg++] = n;
        if (!e)
            break;
        s = e + 1;
    }
}

static unsigned parse_methods(gw_cv_t *v, const cJSON *r, const char *p)
{
    char mp[256];
    gw_cv_path(mp, sizeof mp, p, "methods");
    const cJSON *arr = gw_cv_array(v, r, "methods", p, 0);
    if (!arr)
        return DEFAULT_METHODS;
    unsigned mask = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        http_method_t m = cJSON_IsString(it)
                              ? http_method_parse(it->valuestring, strlen(it->valuestring))
                              : HTTP_M_OTHER;
        if (m == HTTP_M_OTHER)
            gw_cv_error(v, mp,
                        "unsupported method %s (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
                        cJSON_IsString(it) ? it->valuestring : "(not a string)");
        else
            mask |= 1u << m;
    }
    if (mask & (1u << HTTP_M_GET))
        mask |= 1u << HTTP_M_HEAD;
    if (!mask)
        gw_cv_error(v, mp, "must name at least one method");
    return mask;
}

static int route_paths(gw_cv_t *v, const cJSON *r, const char *p, gw_route_t *rt)
{
    const char *prefix = gw_cv_str(v, r, "prefix", p, 0);
    const char *path = gw_cv_str(v, r, "path", p, 0);
    if (!!prefix == !!path) {
        gw_cv_error(v, p, "exactly one of \"prefix\" and \"path\" is required");
        return TC_OK;
    }
    const char *s = prefix ? prefix : path;
    if (!route_path_ok(s)) {
        gw_cv_error(v, p,
                    "%s \"%s\" must start with '/' and have no query, fragment, empty or dot "
                    "segments",
                    prefix ? "prefix" : "path", s);
        return TC_OK;
    }
    rt->prefix = prefix != NULL;
    if (!(rt->path = strdup(s)))
        return TC_ENOMEM;
    rt->path_len = strlen(rt->path);
    /* "/v1/users/" and "/v1/users" mean the same, for prefixes and patterns alike */
    if (rt->path_len > 1 && rt->path[rt->path_len - 1] == '/')
        rt->path[--rt->path_len] = '\0';
    if (rt->prefix && strchr(rt->path, '{'))
        gw_cv_error(v, p, "prefix cannot have {params}; use \"path\"");
    if (!rt->prefix)
        compile_pattern(v, rt, p);
    return TC_OK;
}

/* Whether a pattern names at least one catalogued event type (a typo would purge nothing) and
 * not the gateway's own usage event (one per request: every request would purge). */
static bool names_an_event(const char *pattern)
{
    if (tc_event_type_match(pattern, TC_EV_API_REQUEST->type))
        return false;
    for (size_t i = 0; i < TC_EVENT_TYPES_COUNT; i++)
        if (tc_event_type_match(pattern, tc_event_types[i].type))
            return true;
    return false;
}

/* "invalidate_on": [event types or "prefix.*"]: each must name a catalogued type. */
static int route_invalidate(gw_cv_t *v, const cJSON *obj, const char *cp, gw_cache_rule_t *cr)
{
    const cJSON *inv = gw_cv_array(v, obj, "invalidate_on", cp, false);
    const cJSON *it;
    cJSON_ArrayForEach(it, inv)
    {
        const char *t = cJSON_GetStringValue(it);
        if (!t || strlen(t) > 128 || strcmp(t, "*") == 0 || !names_an_event(t)) {
            gw_cv_error(v, cp,
                        "invalidate_on: \"%s\" names no event type (a type such as "
                        "com.techcorp.user.updated, or com.techcorp.user.*; not the gateway's "
                        "per-request com.techcorp.api.request)",
                        t ? t : "(not a string)");
            continue;
        }
        if (cr->ninvalidate == GW_CACHE_MAX_INV) {
            gw_cv_error(v, cp, "invalidate_on: at most %d event types", GW_CACHE_MAX_INV);
            break;
        }
        if (!(cr->invalidate[cr->ninvalidate++] = strdup(t)))
            return TC_ENOMEM;
    }
    return TC_OK;
}

/* "cache": {"ttl_s": n, "stale_while_revalidate_s": n, "coalesce": bool, "max_body_bytes": n,
 * "vary": [header names], "share": "principal" | "org", "invalidate_on": [event types]}.
 * TC_ENOMEM only. */
static int route_cache(gw_cv_t *v, const cJSON *r, const char *p, gw_route_t *rt)
{
    static const char *const keys[] = {"ttl_s",         "stale_while_revalidate_s",
                                       "coalesce",      "max_body_bytes",
                                       "vary",          "share",
                                       "invalidate_on", NULL};
    static const char *const shares[] = {"principal", "org", NULL};
    const cJSON *obj = gw_cv_obj(v, r, "cache", p, false);
    if (!obj)
        return TC_OK;
    char cp[96];
    gw_cv_path(cp, sizeof cp, p, "cache");
    gw_cv_keys(v, obj, cp, keys);
    gw_cache_rule_t *cr = calloc(1, sizeof *cr);
    if (!cr)
        return TC_ENOMEM;
    rt->cache = cr;
    cr->ttl_ms = gw_cv_int(v, obj, "ttl_s", cp, 0, 0, 86400) * 1000;
    cr->swr_ms = gw_cv_int(v, obj, "stale_while_revalidate_s", cp, 0, 0, 86400) * 1000;
    cr->coalesce = gw_cv_bool(v, obj, "coalesce", cp, true);
    cr->max_body_bytes = gw_cv_int(v, obj, "max_body_bytes", cp, 1048576, 1, 8388608);
    cr->share_org = gw_cv_enum(v, obj, "share", cp, shares, 0) == 1;
    if (!(rt->methods & (1u << HTTP_M_GET)))
        gw_cv_error(v, cp, "caches GET and HEAD answers: the route must allow GET");
    const cJSON *vary = gw_cv_array(v, obj, "vary", cp, false);
    const cJSON *it;
    cJSON_ArrayForEach(it, vary)
    {
        const char *name = cJSON_GetStringValue(it);
        size_t n = name ? strlen(name) : 0;
        if (!n || n > 64 ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-_") != n) {
            gw_cv_error(v, cp, "vary: \"%s\" is not a header name", name ? name : "(not a string)");
            continue;
        }
        if (cr->nvary == GW_CACHE_MAX_VARY) {
            gw_cv_error(v, cp, "vary: at most %d headers", GW_CACHE_MAX_VARY);
            break;
        }
        if (!(cr->vary[cr->nvary] = strdup(name)))
            return TC_ENOMEM;
        for (char *s = cr->vary[cr->nvary]; *s; s++)
            *s = (char)tolower((unsigned char)*s);
        cr->nvary++;
    }
    int rc = route_invalidate(v, obj, cp, cr);
    /* the entries carry the route's name: the events find them by it */
    if (rc == TC_OK && cr->ninvalidate && !cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")))
        gw_cv_error(v, cp,
                    "invalidate_on: the route needs a \"name\" (its entries are found by it)");
    return rc;
}

/* "rate_limit": {"per_minute": n, "burst": b, "per": "org" | "principal" | "ip"}: the route's
 * own limit, beside the plan limit (or the per-IP one) that applies as without it. */
static void route_limit(gw_cv_t *v, const cJSON *r, const char *p, gw_route_t *rt,
                        gw_rl_mode_t mode)
{
    static const char *const keys[] = {"per_minute", "burst", "per", NULL};
    static const char *const pers[] = {"org", "principal", "ip", NULL};
    char lp[96];
    gw_cv_path(lp, sizeof lp, p, "rate_limit");
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(r, "rate_limit");
    gw_cv_keys(v, rl, lp, keys);
    rt->rate_limit = mode;
    /* the name keys the route's counters in Redis: it must be there, short and plain */
    const char *name = gw_cv_str(v, r, "name", p, false);
    size_t n = name ? strlen(name) : 0;
    if (!name || n > 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") != n)
        gw_cv_error(v, lp,
                    "a route with its own limit needs a \"name\" of 1 to 64 of "
                    "[A-Za-z0-9._-] (it keys the limit's counters)");
    gw_cv_rate(v, rl, lp, &rt->rl_per_minute, &rt->rl_burst);
    rt->rl_per = (gw_rl_per_t)gw_cv_enum(v, rl, "per", lp, pers,
                                         rt->auth == GW_AUTH_NONE ? GW_PER_IP : GW_PER_ORG);
    if (rt->auth == GW_AUTH_NONE && rt->rl_per != GW_PER_IP)
        gw_cv_error(v, lp, "per \"%s\" needs a caller: auth \"none\" routes count per \"ip\"",
                    pers[rt->rl_per]);
}

static int parse_route(gw_cv_t *v, const cJSON *r, const char *p, gw_config_t *c, gw_route_t *rt)
{
    static const char *const keys[] = {
        "name",         "prefix",     "path",    "methods",   "upstream",          "auth",
        "rate_limit",   "timeout_ms", "retries", "min_role",  "max_body_bytes",    "strip_prefix",
        "usage_events", "transform",  "cache",   "websocket", "websocket_idle_ms", NULL};
    static const char *const auth_modes[] = {"required", "optional", "none", NULL};
    static const char *const rl_modes[] = {"plan", "ip", "none", NULL};
    gw_cv_keys(v, r, p, keys);
    if (route_paths(v, r, p, rt) != TC_OK)
        return TC_ENOMEM;
    const char *name = gw_cv_str(v, r, "name", p, 0);
    if (!(rt->name = strdup(name ? name : rt->path ? rt->path : "?")))
        return TC_ENOMEM;
    rt->methods = parse_methods(v, r, p);
    rt->auth = (gw_auth_mode_t)gw_cv_enum(v, r, "auth", p, auth_modes, GW_AUTH_REQUIRED);
    gw_rl_mode_t rl_default = rt->auth == GW_AUTH_NONE ? GW_RL_IP : GW_RL_PLAN;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "rate_limit")))
        route_limit(v, r, p, rt, rl_default);
    else
        rt->rate_limit = (gw_rl_mode_t)gw_cv_enum(v, r, "rate_limit", p, rl_modes, rl_default);
    if (rt->auth == GW_AUTH_NONE && rt->rate_limit == GW_RL_PLAN)
        gw_cv_error(v, p,
                    "rate_limit \"plan\" needs a caller: use auth required/optional, or \"ip\"");
    rt->max_body_bytes = gw_cv_int(v, r, "max_body_bytes", p, DEFAULT_MAX_BODY, 0, MAX_BODY_LIMIT);
    rt->strip_prefix = gw_cv_bool(v, r, "strip_prefix", p, 0);
    rt->usage_events = gw_cv_bool(v, r, "usage_events", p, 1);
    rt->websocket = gw_cv_bool(v, r, "websocket", p, 0);
    /* longer than the services' ping interval (30 s), so a healthy stream is never cut */
    rt->websocket_idle_ms = (int)gw_cv_int(v, r, "websocket_idle_ms", p, 75000, 1000, 3600000);
    if (cJSON_GetObjectItemCaseSensitive(r, "websocket_idle_ms") && !rt->websocket)
        gw_cv_error(v, p, "websocket_idle_ms applies to websocket routes only");
    if (rt->strip_prefix && !rt->prefix)
        gw_cv_error(v, p, "strip_prefix applies to prefix routes only");
    const char *role = gw_cv_str(v, r, "min_role", p, 0);
    if (role && (rt->min_role = tc_role_parse(role)) == TC_ROLE_NONE)
        gw_cv_error(v, p, "min_role must be viewer, editor, admin or owner");
    if (role && rt->auth == GW_AUTH_NONE)
        gw_cv_error(v, p, "min_role needs auth \"required\"");
    const char *up = gw_cv_str(v, r, "upstream", p, 1);
    rt->upstream = up ? gw_config_upstream(c, up) : NULL;
    if (up && !rt->upstream)
        gw_cv_error(v, p, "unknown upstream \"%s\"", up);
    int up_timeout = rt->upstream ? rt->upstream->timeout_ms : 30000;
    int up_retries = rt->upstream ? rt->upstream->retries : 1;
    rt->timeout_ms = (int)gw_cv_int(v, r, "timeout_ms", p, up_timeout, 1, 600000);
    rt->retries = (int)gw_cv_int(v, r, "retries", p, up_retries, 0, 5);
    if (route_cache(v, r, p, rt) != TC_OK || gw_config_parse_transform(v, r, p, rt) != TC_OK)
        return TC_ENOMEM;
    /* what the service is sent must not differ between requests that share an entry */
    if (rt->cache && (gw_transform_uses(rt->transform, GW_TV_REQUEST_ID) ||
                      gw_transform_uses(rt->transform, GW_TV_CLIENT_IP) ||
                      (rt->cache->share_org && gw_transform_uses(rt->transform, GW_TV_SUB))))
        gw_cv_error(v, p,
                    "cache: the request rules send $(request_id), $(client_ip) or (with share "
                    "\"org\") $(principal.sub), which differ between the requests of one entry");
    /* the cache keeps and serves what the service sent; a body rule applies after it */
    if (rt->websocket &&
        (rt->cache || (rt->transform && !gw_tx_set_empty(&rt->transform->resp_body))))
        gw_cv_error(v, p,
                    "websocket: a tunnel's bytes are neither cached nor rewritten (no cache, "
                    "no transform.response_body)");
    if (rt->cache && rt->transform && !gw_tx_set_empty(&rt->transform->resp_body))
        gw_cv_error(v, p,
                    "cache: excludes transform.response_body (the cache keeps the service's "
                    "answer as it was sent)");
    return TC_OK;
}

static int route_cmp(const void *a, const void *b)
{
    const gw_route_t *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix - y->prefix; /* patterns first */
    if (!x->prefix && x->literal_segments != y->literal_segments)
        return y->literal_segments - x->literal_segments;
    if (x->prefix && x->path_len != y->path_len)
        return y->path_len > x->path_len ? 1 : -1;
    return x->order - y->order;
}

int gw_config_parse_routes(gw_cv_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *arr = gw_cv_array(v, root, "routes", "", 1);
    if (!arr)
        return TC_OK;
    c->nroutes = cJSON_GetArraySize(arr);
    c->routes = calloc((size_t)c->nroutes, sizeof *c->routes);
    if (!c->routes)
        return TC_ENOMEM;
    const cJSON *r;
    int i = 0;
    cJSON_ArrayForEach(r, arr)
    {
        char p[64];
        snprintf(p, sizeof p, "routes[%d]", i);
        gw_route_t *rt = &c->routes[i];
        rt->order = i++;
        if (!cJSON_IsObject(r)) {
            gw_cv_error(v, p, "must be an object");
            continue;
        }
        if (parse_route(v, r, p, c, rt) != TC_OK)
            return TC_ENOMEM;
        for (int j = 0; rt->path && j < rt->order; j++) {
            gw_route_t *o = &c->routes[j];
            bool keyed = o->rl_per_minute || rt->rl_per_minute ||
                         (o->cache && o->cache->ninvalidate) ||
                         (rt->cache && rt->cache->ninvalidate);
            if (keyed && o->name && rt->name && strcmp(o->name, rt->name) == 0)
                gw_cv_error(v, p,
                            "has the name of routes[%d]: a route with its own limit or with "
                            "cache.invalidate_on needs a name of its own",
                            j);
            if (o->path && o->prefix == rt->prefix && strcmp(o->path, rt->path) == 0 &&
                (o->methods & rt->methods))
                gw_cv_error(v, p, "duplicates routes[%d] (same %s and overlapping methods)", j,
                            rt->prefix ? "prefix" : "path");
        }
    }
    qsort(c->routes, (size_t)c->nroutes, sizeof *c->routes, route_cmp);
    return TC_OK;
}
