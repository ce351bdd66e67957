/*
 * libFuzzer driver for the gateway's routing configuration (routes_config.c): arbitrary bytes
 * go to gw_config_parse, the entry GATEWAY_CONFIG files and POST /admin/routes/reload use.
 *
 * Whatever the input, the parser must not crash or leak, and it either installs nothing and
 * lists at least one problem, or returns a snapshot with no problem listed that keeps every
 * promise of routes_config.h and services/gateway/README.md:
 *   - every upstream has a unique valid name, 1..64 stable targets (a canary group, when
 *     present, also 1..64), weights 1..1000, canary weight 0..100, ports 1..65535, target
 *     indexes 0..ntargets-1 each used once, timeouts, retries, keepalive and breaker settings,
 *     the issue-14 settings (ejection policy, panic, health checks, retry budget, endpoints)
 *     within their documented ranges
 *   - every route references one of the snapshot's upstreams, has a non-empty method set (HEAD
 *     wherever GET), enums and limits within range, strip_prefix only on prefix routes, no
 *     "plan" limit without a caller, a minimum role only with auth; no two routes of the same
 *     kind and path share a method
 *   - routes are in match order: patterns first (most literal segments first), then prefixes
 *     (longest first), ties in file order; a pattern's segments are those of its path
 *   - every route is reachable: its own path (a pattern with its {params} filled in) with any
 *     of its methods finds a route
 *   - a route's transformations never name a header the gateway owns, a path rule suits the
 *     route's kind (a template for patterns, a prefix for prefixes, never with strip_prefix),
 *     and applying them to the route's own path and a query never overflows or crashes
 *   - a route's cache allows GET, its ttl, body limit and vary headers within their bounds
 *   - plans: at least one, the default among them, limits within range; CORS "*" never with
 *     credentials; trusted CIDRs have a valid prefix length
 *   - parsing the same text again with the snapshot as `prev` (a reload) gives the same shape
 *
 * Targets are resolved at load with getaddrinfo; the driver restricts it to numeric hosts so
 * random names never reach DNS (the run stays fast and offline). ${NAME} expansion sees the
 * variables set in LLVMFuzzerInitialize, so the checked-in configurations parse as in a stack.
 *
 * `make fuzz` builds it (clang, ASan+UBSan) and runs it from the seed corpus in
 * corpus/fuzz_config/ (scripts/fuzz.sh); `make test` runs it briefly. By hand:
 *   make fuzz-build && build/fuzz/fuzz/gateway/fuzz_config -max_total_time=300 \
 *       /tmp/cfg-corpus services/gateway/fuzz/corpus/fuzz_config
 * FUZZ_CONFIG_ERRORS=1 prints the problems of each rejected input (when writing seeds).
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes_config.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                              struct addrinfo **);

/* Numeric hosts only: the parser's resolve step without DNS. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static getaddrinfo_fn real;
    if (!real)
        real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    CHECK(real);
    struct addrinfo h = hints ? *hints : (struct addrinfo){0};
    h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    return real(node, service, &h, res);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tc_log_set_level(TC_LOG_ERROR); /* unresolved targets warn on every input otherwise */
    static const char *const peers[] = {"AUTH_URL",         "USER_URL",      "USER_CANARY_URL",
                                        "WORKFLOW_URL",     "ANALYTICS_URL", "SEARCH_URL",
                                        "NOTIFICATION_URL", "BILLING_URL",   "INTEGRATION_HUB_URL",
                                        "ML_INFERENCE_URL"};
    for (size_t i = 0; i < sizeof peers / sizeof *peers; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%zu", 8081 + i);
        setenv(peers[i], url, 0);
    }
    setenv("FUZZ_EMPTY", "", 0);
    return 0;
}

static int route_cmp_le(const gw_route_t *x, const gw_route_t *y)
{
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix;
    if (!x->prefix && x->literal_segments != y->literal_segments)
        return x->literal_segments > y->literal_segments;
    if (x->prefix && x->path_len != y->path_len)
        return x->path_len > y->path_len;
    return x->order < y->order;
}

static void check_upstreams(const gw_config_t *c)
{
    CHECK(c->nupstreams >= 1 && c->upstreams);
    CHECK(c->ntargets >= c->nupstreams);
    char *seen = calloc((size_t)c->ntargets, 1);
    CHECK(seen);
    for (int i = 0; i < c->nupstreams; i++) {
        const gw_upstream_t *u = &c->upstreams[i];
        CHECK(u->index == i && u->name && u->name[0]);
        for (const char *p = u->name; *p; p++)
            CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
        for (int j = 0; j < i; j++)
            CHECK(strcmp(c->upstreams[j].name, u->name) != 0);
        CHECK(gw_config_upstream(c, u->name) == u);
        CHECK(u->groups[GW_GROUP_STABLE].n >= 1);
        int cw = atomic_load(&u->canary_weight);
        CHECK(cw >= 0 && cw <= 100);
        CHECK(cw == 0 || u->groups[GW_GROUP_CANARY].n >= 1);
        CHECK(u->connect_timeout_ms >= 1 && u->connect_timeout_ms <= 60000);
        CHECK(u->timeout_ms >= 1 && u->timeout_ms <= 600000);
        CHECK(u->retries >= 0 && u->retries <= 5);
        CHECK(u->keepalive >= 0 && u->keepalive <= 10000);
        CHECK(u->keepalive_idle_ms >= 100 && u->keepalive_idle_ms <= 3600000);
        CHECK(u->breaker_failures >= 1 && u->breaker_failures <= 1000);
        CHECK(u->breaker_eject_ms >= 100 && u->breaker_eject_ms <= 3600000);
        /* issue 14: the ejection policy, panic, health checks, retries and endpoints */
        CHECK(u->eject.failures == u->breaker_failures && u->eject.base_ms == u->breaker_eject_ms);
        CHECK(u->eject.max_ms >= u->eject.base_ms && u->eject.reset_ms >= 0);
        CHECK(u->max_ejection_percent >= 0 && u->max_ejection_percent <= 100);
        CHECK(u->panic_threshold >= 0 && u->panic_threshold <= 100);
        CHECK(u->connect_retry_ms >= 0 && u->connect_retry_ms <= 60000);
        CHECK(u->retry_budget_percent >= 0 && u->retry_budget_min >= 0);
        CHECK(u->resolve_ms >= 100 && (u->endpoints_all == 0 || u->endpoints_all == 1));
        if (u->hc_enabled) {
            CHECK(u->hc_path && u->hc_path[0] == '/' && !strpbrk(u->hc_path, " \r\n"));
            CHECK(u->hc_timeout_ms <= u->hc_interval_ms && u->hc_interval_ms >= 100);
            CHECK(u->hc_healthy >= 1 && u->hc_unhealthy >= 1);
        }
        for (int g = 0; g < 2; g++) {
            const gw_group_t *grp = &u->groups[g];
            CHECK(grp->n >= 0 && grp->n <= GW_MAX_GROUP_TARGETS);
            for (int t = 0; t < grp->n; t++) {
                const gw_target_t *tg = &grp->targets[t];
                CHECK(tg->url && strncmp(tg->url, "http://", 7) == 0);
                CHECK(tg->weight >= 1 && tg->weight <= 1000);
                CHECK(tg->port >= 1 && tg->port <= 65535);
                CHECK(tg->host[0] && tg->hostport[0]);
                CHECK(memchr(tg->host, '\0', sizeof tg->host));
                CHECK(tg->index >= 0 && tg->index < c->ntargets && !seen[tg->index]);
                seen[tg->index] = 1;
                CHECK(!tg->resolved || tg->addrlen > 0);
            }
        }
    }
    for (int i = 0; i < c->ntargets; i++)
        CHECK(seen[i]);
    free(seen);
}

/* The path a route answers: its path text, each {param} of a pattern written as "p". */
static size_t route_example(const gw_route_t *r, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = r->path; *s; s++) {
        CHECK(n + 1 < cap);
        if (!r->prefix && *s == '{') {
            const char *e = strchr(s, '}');
            CHECK(e);
            out[n++] = 'p';
            s = e;
        } else {
            out[n++] = *s;
        }
    }
    return n;
}

/* A route's transformations applied to its own example path and a small query: the rules
 * never touch a header the gateway owns, a path template expands to an absolute path with
 * every segment the route captured, and nothing overflows what it was given. */
static void check_transform(const gw_route_t *r, const char *path, size_t plen)
{
    const gw_transform_t *t = r->transform;
    if (!t)
        return;
    const gw_tx_set_t *sets[] = {&t->req_headers, &t->resp_headers};
    for (int k = 0; k < 2; k++)
        for (int op = 0; op < GW_TX_OPS; op++) {
            CHECK(sets[k]->n[op] >= 0 && sets[k]->n[op] <= GW_TX_MAX_RULES);
            for (int i = 0; i < sets[k]->n[op]; i++) {
                const gw_tx_rule_t *rule = &sets[k]->rules[op][i];
                CHECK(!gw_tx_header_protected(rule->name, rule->name_len, k == 1));
                CHECK(!rule->to || !gw_tx_header_protected(rule->to, rule->to_len, k == 1));
            }
        }
    CHECK(t->path_mode == GW_PATH_KEEP || !r->strip_prefix);
    CHECK(t->path_mode != GW_PATH_TEMPLATE || !r->prefix);
    CHECK(t->path_mode != GW_PATH_PREFIX || r->prefix);
    gw_tx_ctx_t x = {.org = "org_1",
                     .sub = "usr_1",
                     .request_id = "req_1",
                     .client_ip = "127.0.0.1",
                     .path = path,
                     .path_len = plen};
    static char out[1 << 16];
    if (t->path_mode != GW_PATH_KEEP) {
        long n = gw_tx_path(t, r->path_len > 1 ? r->path_len : 0, &x, out, sizeof out);
        CHECK(n > 0 && out[0] == '/');
    }
    int params = 0;
    long q = gw_tx_query(&t->query, &x, "a=1&q=2&&b", 10, out, sizeof out, &params);
    CHECK(q >= 0 && params >= 0 && params <= 4 + t->query.n[GW_TX_ADD]);
    CHECK(gw_tx_query(&t->query, &x, "a=1", 3, out, 1, &params) <= 1);
    /* body rules: bounded, and an object in gives an object out */
    CHECK(t->body_max_bytes >= 1 && t->body_max_bytes <= 8388608);
    CHECK(!r->cache || gw_tx_set_empty(&t->resp_body));
    const gw_tx_set_t *bodies[] = {&t->req_body, &t->resp_body};
    for (int k = 0; k < 2; k++) {
        char *json = NULL;
        size_t jlen = 0;
        static const char in[] = "{\"a\": 1, \"b\": [2], \"org_id\": \"x\"}";
        int rc = gw_tx_json(bodies[k], &x, in, sizeof in - 1, &json, &jlen);
        CHECK(rc == TC_OK || rc == TC_ENOMEM);
        CHECK(rc != TC_OK || (jlen >= 2 && json[0] == '{' && json[jlen - 1] == '}'));
        free(json);
        CHECK(gw_tx_json(bodies[k], &x, "[1]", 3, &json, &jlen) == TC_EINVAL && !json);
    }
}

static void check_routes(const gw_config_t *c)
{
    CHECK(c->nroutes >= 1 && c->routes);
    char *orders = calloc((size_t)c->nroutes, 1);
    CHECK(orders);
    static char example[1 << 20];
    for (int i = 0; i < c->nroutes; i++) {
        const gw_route_t *r = &c->routes[i];
        CHECK(r->order >= 0 && r->order < c->nroutes && !orders[r->order]);
        orders[r->order] = 1;
        CHECK(r->name && r->path && r->path[0] == '/' && strlen(r->path) == r->path_len);
        CHECK(r->upstream && r->upstream >= c->upstreams &&
              r->upstream < c->upstreams + c->nupstreams);
        CHECK(r->methods != 0 && (r->methods & ~GW_MAX_METHODS_MASK) == 0);
        CHECK(!(r->methods & (1u << HTTP_M_OTHER)));
        CHECK(!(r->methods & (1u << HTTP_M_GET)) || (r->methods & (1u << HTTP_M_HEAD)));
        CHECK(r->auth >= GW_AUTH_REQUIRED && r->auth <= GW_AUTH_NONE);
        CHECK(r->rate_limit >= GW_RL_PLAN && r->rate_limit <= GW_RL_NONE);
        CHECK(!(r->auth == GW_AUTH_NONE && r->rate_limit == GW_RL_PLAN));
        CHECK(r->min_role >= TC_ROLE_NONE && r->min_role <= TC_ROLE_OWNER);
        CHECK(r->min_role == TC_ROLE_NONE || r->auth != GW_AUTH_NONE);
        CHECK(r->timeout_ms >= 1 && r->timeout_ms <= 600000);
        CHECK(r->retries >= 0 && r->retries <= 5);
        CHECK(r->max_body_bytes >= 0 && r->max_body_bytes <= ((int64_t)1 << 30));
        CHECK(!r->strip_prefix || r->prefix);
        if (r->prefix) {
            CHECK(!strchr(r->path, '{'));
            CHECK(r->path_len == 1 || r->path[r->path_len - 1] != '/');
        } else {
            int literal = 0;
            CHECK(r->nseg >= 0 && r->nseg <= GW_MAX_SEGMENTS);
            for (int s = 0; s < r->nseg; s++) {
                CHECK(r->seg_len[s] > 0);
                if (r->seg[s]) {
                    literal++;
                    CHECK(r->seg[s] > r->path &&
                          r->seg[s] + r->seg_len[s] <= r->path + r->path_len);
                    CHECK(!memchr(r->seg[s], '/', r->seg_len[s]));
                }
            }
            CHECK(literal == r->literal_segments);
        }
        if (i > 0)
            CHECK(route_cmp_le(&c->routes[i - 1], r));
        for (int j = 0; j < i; j++) {
            const gw_route_t *o = &c->routes[j];
            CHECK(!(o->prefix == r->prefix && strcmp(o->path, r->path) == 0 &&
                    (o->methods & r->methods)));
        }
        /* reachable with each of its methods */
        size_t n = route_example(r, example, sizeof example);
        check_transform(r, example, n);
        if (r->cache) {
            CHECK(r->methods & (1u << HTTP_M_GET));
            CHECK(r->cache->ttl_ms >= 0 && r->cache->ttl_ms <= 86400000);
            CHECK(r->cache->max_body_bytes >= 1 && r->cache->max_body_bytes <= 8388608);
            CHECK(r->cache->nvary >= 0 && r->cache->nvary <= GW_CACHE_MAX_VARY);
            for (int k = 0; k < r->cache->nvary; k++)
                CHECK(r->cache->vary[k] && r->cache->vary[k][0]);
        }
        for (int m = HTTP_M_GET; m < HTTP_M_COUNT; m++) {
            if (!(r->methods & (1u << m)))
                continue;
            const gw_route_t *found = NULL;
            unsigned allow = 0;
            CHECK(gw_route_match(c, example, n, (http_method_t)m, &found, &allow) == GW_MATCH_OK);
            CHECK(found && (found->methods & (1u << m)));
        }
        const gw_route_t *found = NULL;
        unsigned allow = 0;
        gw_match_t mr = gw_route_match(c, example, n, HTTP_M_OTHER, &found, &allow);
        CHECK(mr == GW_MATCH_NO_METHOD && !found && (allow & r->methods) == r->methods);
        char methods[128];
        gw_methods_format(r->methods, methods, sizeof methods);
        CHECK(methods[0]);
    }
    free(orders);
}

static void check_rest(const gw_config_t *c)
{
    CHECK(c->nplans >= 1 && c->default_plan >= 0 && c->default_plan < c->nplans);
    CHECK(gw_config_plan(c, NULL) == &c->plans[c->default_plan]);
    for (int i = 0; i < c->nplans; i++) {
        const gw_plan_t *p = &c->plans[i];
        CHECK(p->name[0] && memchr(p->name, '\0', sizeof p->name));
        CHECK(p->per_minute >= 1 && p->per_minute <= 10000000);
        CHECK(p->burst >= 1 && p->burst <= 10000000);
        CHECK(p->per_day == -1 || (p->per_day >= 1 && p->per_day <= 1000000000000));
    }
    CHECK(c->ip_per_minute >= 1 && c->ip_burst >= 1);
    CHECK(c->cors.allow_headers && c->cors.allow_headers[0]);
    CHECK(c->cors.max_age >= 0 && c->cors.max_age <= 86400);
    CHECK(!(c->cors.any_origin && c->cors.credentials));
    for (int i = 0; i < c->cors.norigins; i++)
        CHECK(c->cors.origins[i] && c->cors.origins[i][0]);
    for (int i = 0; i < c->ntrusted; i++) {
        const tc_cidr_t *t = &c->trusted[i];
        CHECK(t->family == AF_INET || t->family == AF_INET6);
        CHECK(t->bits >= 0 && t->bits <= (t->family == AF_INET ? 32 : 128));
        CHECK(tc_cidr_contains(&c->trusted[i], t->family, t->addr));
    }
    CHECK(c->source && cJSON_IsObject(c->source));
    CHECK(atomic_load(&c->refs) == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    cJSON *errors = cJSON_CreateArray();
    CHECK(errors);
    gw_config_t *c = NULL;
    int rc = gw_config_parse(text, NULL, &c, errors);
    if (rc != 0) {
        /* nothing installed, and the operator is told why */
        CHECK(!c && cJSON_GetArraySize(errors) >= 1);
        if (getenv("FUZZ_CONFIG_ERRORS")) { /* why a seed is rejected, when writing seeds */
            char *list = cJSON_Print(errors);
            fprintf(stderr, "%s\n", list ? list : "?");
            free(list);
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, errors) CHECK(cJSON_IsString(e) && e->valuestring[0]);
        goto cleanup;
    }
    CHECK(c && cJSON_GetArraySize(errors) == 0);
    check_upstreams(c);
    check_routes(c);
    check_rest(c);

    /* a reload of the same text keeps the shape (and inherits the breakers) */
    gw_config_t *c2 = NULL;
    CHECK(gw_config_parse(text, c, &c2, errors) == 0 && c2);
    CHECK(c2->generation > c->generation);
    CHECK(c2->nroutes == c->nroutes && c2->nupstreams == c->nupstreams &&
          c2->ntargets == c->ntargets && c2->nplans == c->nplans);
    for (int i = 0; i < c->nroutes; i++)
        CHECK(strcmp(c->routes[i].path, c2->routes[i].path) == 0 &&
              c->routes[i].order == c2->routes[i].order);
    gw_config_ref(c2);
    gw_config_unref(c2);
    gw_config_unref(c2);

cleanup:
    gw_config_unref(c);
    cJSON_Delete(errors);
    free(text);
    return 0;
}
