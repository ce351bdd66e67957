/* Unit tests for the routing configuration: validation (every problem listed), ${VAR}
 * expansion, route order and matching, plans, trusted-proxy CIDRs. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes_config.h"
#include "tc/tc_core.h"

#define PLANS                                                                                      \
    "\"plans\": {\"free\": {\"per_minute\": 100, \"per_day\": 10000}, "                            \
    "\"enterprise\": {\"per_minute\": 10000, \"per_day\": null}}"

static const char *valid =
    "{" PLANS ", \"_comment\": \"${NOT_EXPANDED}\","
    "\"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": \"http://127.0.0.1:8082\"}]},"
    "  {\"name\": \"wf\", \"targets\": [{\"url\": \"http://127.0.0.1:8083\", \"weight\": 3},"
    "                                  {\"url\": \"http://127.0.0.1:8093\"}],"
    "   \"canary\": {\"targets\": [{\"url\": \"http://127.0.0.1:9093\"}], \"weight\": 10},"
    "   \"timeout_ms\": 5000, \"retries\": 2, \"breaker\": {\"failures\": 3, \"eject_ms\": 1000}}],"
    "\"routes\": ["
    "  {\"name\": \"users\", \"prefix\": \"/v1/users/\", \"upstream\": \"user\"},"
    "  {\"name\": \"prefs\", \"path\": \"/v1/users/{id}/preferences\", \"upstream\": \"user\","
    "   \"methods\": [\"GET\", \"PUT\"], \"timeout_ms\": 100},"
    "  {\"name\": \"login\", \"path\": \"/v1/auth/login\", \"upstream\": \"user\", \"auth\": "
    "\"none\", \"methods\": [\"POST\"]},"
    "  {\"name\": \"wf\", \"prefix\": \"/v1/workflows\", \"upstream\": \"wf\", \"strip_prefix\": "
    "true, \"min_role\": \"editor\", \"max_body_bytes\": 10},"
    "  {\"name\": \"root\", \"prefix\": \"/\", \"upstream\": \"user\", \"auth\": \"optional\"}"
    "]}";

static gw_config_t *load(const char *text, cJSON **errors)
{
    *errors = cJSON_CreateArray();
    gw_config_t *c = NULL;
    gw_config_parse(text, NULL, &c, *errors);
    return c;
}

static int has_error(cJSON *errors, const char *needle)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors)
    {
        if (strstr(e->valuestring, needle))
            return 1;
    }
    return 0;
}

static const gw_route_t *match(gw_config_t *c, const char *path, http_method_t m, gw_match_t want)
{
    const gw_route_t *r = NULL;
    unsigned allow = 0;
    gw_match_t got = gw_route_match(c, path, strlen(path), m, &r, &allow);
    cr_assert_eq(got, want, "%s: match %d, want %d", path, got, want);
    return r;
}

Test(config, valid_document)
{
    cJSON *errors;
    gw_config_t *c = load(valid, &errors);
    cr_assert_not_null(c, "errors: %s", cJSON_PrintUnformatted(errors));
    cr_assert_eq(c->nroutes, 5);
    cr_assert_eq(c->nupstreams, 2);
    cr_assert_eq(c->ntargets, 4, "stable and canary targets, each with an index");
    gw_upstream_t *wf = gw_config_upstream(c, "wf");
    cr_assert_eq(wf->groups[GW_GROUP_STABLE].n, 2);
    cr_assert_eq(wf->groups[GW_GROUP_STABLE].targets[0].weight, 3);
    cr_assert_eq(wf->groups[GW_GROUP_CANARY].n, 1);
    cr_assert_eq(atomic_load(&wf->canary_weight), 10);
    cr_assert_eq(wf->retries, 2);
    cr_assert_eq(wf->breaker_failures, 3);
    cr_assert_str_eq(wf->groups[0].targets[0].hostport, "127.0.0.1:8083");
    cr_assert(wf->groups[0].targets[0].resolved);
    /* metrics label targets by group and position, never by address */
    cr_assert_str_eq(wf->groups[GW_GROUP_STABLE].targets[0].name, "stable-0");
    cr_assert_str_eq(wf->groups[GW_GROUP_STABLE].targets[1].name, "stable-1");
    cr_assert_str_eq(wf->groups[GW_GROUP_CANARY].targets[0].name, "canary-0");
    gw_upstream_t *user = gw_config_upstream(c, "user");
    cr_assert_eq(user->timeout_ms, 30000, "defaults");
    cr_assert_eq(user->connect_timeout_ms, 1000);
    cr_assert_eq(user->keepalive, 32);
    cr_assert_eq(gw_config_plan(c, "enterprise")->per_day, -1, "null = unlimited");
    cr_assert_eq(gw_config_plan(c, "enterprise")->burst, 10000, "burst defaults to per_minute");
    cr_assert_str_eq(gw_config_plan(c, "gold")->name, "free", "unknown plan → default");
    cr_assert_str_eq(gw_config_plan(c, NULL)->name, "free");
    cr_assert_eq(c->ip_per_minute, 60);
    gw_config_unref(c);
    cJSON_Delete(errors);
}

Test(config, route_defaults_and_order)
{
    cJSON *errors;
    gw_config_t *c = load(valid, &errors);
    cr_assert_not_null(c);
    /* patterns first, then prefixes longest first */
    cr_assert_str_eq(c->routes[0].name, "prefs");
    cr_assert_str_eq(c->routes[1].name, "login");
    cr_assert_str_eq(c->routes[2].name, "wf");
    cr_assert_str_eq(c->routes[3].name, "users");
    cr_assert_str_eq(c->routes[4].name, "root");
    const gw_route_t *users = &c->routes[3];
    cr_assert_str_eq(users->path, "/v1/users", "trailing slash dropped");
    cr_assert_eq(users->auth, GW_AUTH_REQUIRED);
    cr_assert_eq(users->rate_limit, GW_RL_PLAN);
    cr_assert_eq(users->max_body_bytes, 1048576);
    cr_assert_eq(users->timeout_ms, 30000, "inherits the upstream's timeout");
    cr_assert(users->methods & (1u << HTTP_M_HEAD));
    cr_assert_not(users->methods & (1u << HTTP_M_OPTIONS));
    cr_assert_eq(c->routes[1].rate_limit, GW_RL_IP, "auth none → per-IP limit");
    cr_assert_eq(c->routes[2].retries, 2, "inherits the upstream's retries");
    cr_assert_eq(c->routes[2].min_role, TC_ROLE_EDITOR);
    gw_config_unref(c);
    cJSON_Delete(errors);
}

Test(config, matching)
{
    cJSON *errors;
    gw_config_t *c = load(valid, &errors);
    cr_assert_not_null(c);
    cr_assert_str_eq(match(c, "/v1/users", HTTP_M_GET, GW_MATCH_OK)->name, "users");
    cr_assert_str_eq(match(c, "/v1/users/usr_1", HTTP_M_DELETE, GW_MATCH_OK)->name, "users");
    cr_assert_str_eq(match(c, "/v1/users/usr_1/preferences", HTTP_M_PUT, GW_MATCH_OK)->name,
                     "prefs");
    /* the pattern does not take DELETE: the prefix route below it does */
    cr_assert_str_eq(match(c, "/v1/users/usr_1/preferences", HTTP_M_DELETE, GW_MATCH_OK)->name,
                     "users");
    cr_assert_str_eq(match(c, "/v1/users/usr_1/preferences/x", HTTP_M_PUT, GW_MATCH_OK)->name,
                     "users", "a pattern matches whole paths only");
    cr_assert_str_eq(match(c, "/v1/usersx", HTTP_M_GET, GW_MATCH_OK)->name, "root",
                     "prefixes end on segment boundaries");
    cr_assert_str_eq(match(c, "/v1/workflows/wf_1", HTTP_M_HEAD, GW_MATCH_OK)->name, "wf");
    const gw_route_t *r = NULL;
    unsigned allow = 0;
    cr_assert_eq(gw_route_match(c, "/v1/auth/login", 14, HTTP_M_GET, &r, &allow), GW_MATCH_OK,
                 "the root prefix catches GET");
    cr_assert_str_eq(r->name, "root");
    gw_config_unref(c);
    cJSON_Delete(errors);
}

Test(config, method_not_allowed_reports_allowed_methods)
{
    const char *doc = "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
                      "\"http://127.0.0.1:1\"}]}], \"routes\": [{\"prefix\": \"/a\", \"upstream\": "
                      "\"u\", \"methods\": [\"GET\"]}, {\"path\": \"/a/{x}\", \"upstream\": \"u\", "
                      "\"methods\": [\"POST\"]}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    const gw_route_t *r;
    unsigned allow = 0;
    cr_assert_eq(gw_route_match(c, "/a/1", 4, HTTP_M_DELETE, &r, &allow), GW_MATCH_NO_METHOD);
    char text[64];
    gw_methods_format(allow, text, sizeof text);
    cr_assert_str_eq(text, "GET, HEAD, POST");
    cr_assert_eq(gw_route_match(c, "/b", 2, HTTP_M_GET, &r, &allow), GW_MATCH_NO_ROUTE);
    gw_config_unref(c);
    cJSON_Delete(errors);
}

/* Found by fuzz/fuzz_config.c (corpus/fuzz_config/regress_root_pattern.json): a pattern route
 * for "/" has no segments, and the matcher never matched it, so the route loaded but answered
 * nothing. */
Test(config, root_pattern_matches_the_root_only)
{
    const char *doc = "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
                      "\"http://127.0.0.1:1\"}]}], \"routes\": [{\"name\": \"root\", \"path\": "
                      "\"/\", \"upstream\": \"u\", \"methods\": [\"GET\"]}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    cr_assert_str_eq(match(c, "/", HTTP_M_GET, GW_MATCH_OK)->name, "root");
    match(c, "/", HTTP_M_POST, GW_MATCH_NO_METHOD);
    match(c, "/x", HTTP_M_GET, GW_MATCH_NO_ROUTE);
    match(c, "//", HTTP_M_GET, GW_MATCH_NO_ROUTE);
    match(c, "", HTTP_M_GET, GW_MATCH_NO_ROUTE);
    gw_config_unref(c);
    cJSON_Delete(errors);
}

/* Found by fuzz/fuzz_config.c (corpus/fuzz_config/regress_pattern_trailing_slash.json): a
 * pattern's trailing '/' was kept in its path but ignored by the matcher, so "/a/{id}/" never
 * matched "/a/1/" and was not seen as a duplicate of "/a/{id}". It now means the same as
 * without the slash, as for prefixes. */
Test(config, pattern_trailing_slash_is_dropped_like_a_prefix)
{
    const char *doc = "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
                      "\"http://127.0.0.1:1\"}]}], \"routes\": [{\"name\": \"one\", \"path\": "
                      "\"/a/{id}/\", \"upstream\": \"u\", \"methods\": [\"GET\"]}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    cr_assert_str_eq(c->routes[0].path, "/a/{id}");
    cr_assert_str_eq(match(c, "/a/1", HTTP_M_GET, GW_MATCH_OK)->name, "one");
    gw_config_unref(c);
    cJSON_Delete(errors);

    const char *dup = "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
                      "\"http://127.0.0.1:1\"}]}], \"routes\": [{\"path\": \"/a/{id}\", "
                      "\"upstream\": \"u\"}, {\"path\": \"/a/{id}/\", \"upstream\": \"u\"}]}";
    cr_assert_null(load(dup, &errors));
    cr_assert(has_error(errors, "routes[1]: duplicates routes[0] (same path"), "%s",
              cJSON_PrintUnformatted(errors));
    cJSON_Delete(errors);
}

Test(config, every_problem_is_listed)
{
    const char *doc =
        "{\"plans\": {\"free\": {\"per_minute\": 0}, \"x\": 3}, \"default_plan\": \"gold\","
        " \"colour\": 1, \"ip_rate_limit\": {\"per_minute\": -1},"
        " \"cors\": {\"origins\": [\"*\"], \"credentials\": true},"
        " \"trusted_proxies\": [\"10.0.0.0/33\", \"nope\"],"
        " \"upstreams\": [{\"name\": \"A b\", \"targets\": []},"
        "   {\"name\": \"ok\", \"targets\": [{\"url\": \"https://x\"}, {\"url\": \"http://h/p\"},"
        "     {\"url\": \"http://h:0\"}, {\"weight\": 2}, 7], \"timout_ms\": 5,"
        "     \"canary\": {\"weight\": 101, \"targets\": []}, \"retries\": 9,"
        "     \"breaker\": {\"failures\": 0}},"
        "   {\"name\": \"ok\", \"targets\": [{\"url\": \"http://127.0.0.1:1\"}]}],"
        " \"routes\": [{\"prefix\": \"v1\", \"upstream\": \"ok\"},"
        "   {\"prefix\": \"/a\", \"path\": \"/b\", \"upstream\": \"ok\"},"
        "   {\"path\": \"/a/{1x}\", \"upstream\": \"ok\"},"
        "   {\"prefix\": \"/c\", \"upstream\": \"missing\", \"auth\": \"maybe\"},"
        "   {\"prefix\": \"/d\", \"upstream\": \"ok\", \"methods\": [\"BREW\"]},"
        "   {\"path\": \"/e\", \"upstream\": \"ok\", \"strip_prefix\": true},"
        "   {\"prefix\": \"/f\", \"upstream\": \"ok\", \"auth\": \"none\", \"rate_limit\": "
        "\"plan\","
        "    \"min_role\": \"boss\"},"
        "   {\"prefix\": \"/g/../h\", \"upstream\": \"ok\"},"
        "   {\"prefix\": \"/i\", \"upstream\": \"ok\", \"max_body_bytes\": 1.5},"
        "   {\"prefix\": \"/i\", \"upstream\": \"ok\"}]}";
    const char *want[] = {
        "plans.free.per_minute: must be an integer",
        "plans.free: per_day is required (null for unlimited)",
        "plans.x: must be an object",
        "default_plan: plan \"gold\" is not defined",
        "unknown key \"colour\"",
        "ip_rate_limit.per_minute: must be an integer",
        "origin \"*\" cannot be combined with credentials",
        "\"10.0.0.0/33\" is not an address or CIDR",
        "\"nope\" is not an address or CIDR",
        "upstreams[0]: name must use a-z",
        "upstreams[0].targets: must not be empty",
        "upstreams[1].targets[0]: url must be http://host[:port]",
        "upstreams[1].targets[1]: url must be",
        "upstreams[1].targets[2]: url must be",
        "upstreams[1].targets[3].url: is required",
        "upstreams[1].targets[4]: must be an object",
        "unknown key \"timout_ms\"",
        "upstreams[1].canary.weight: must be an integer from 0 to 100",
        "upstreams[1].canary.targets: must not be empty",
        "upstreams[1].retries: must be an integer from 0 to 5",
        "upstreams[1].breaker.failures: must be an integer",
        "upstreams[2]: duplicate upstream name \"ok\"",
        "routes[0]: prefix \"v1\" must start with '/'",
        "routes[1]: exactly one of \"prefix\" and \"path\"",
        "routes[2]: path parameter {1x} is not a valid name",
        "routes[3]: unknown upstream \"missing\"",
        "routes[3].auth: must be one of required, optional, none",
        "routes[4].methods: unsupported method BREW",
        "routes[4].methods: must name at least one method",
        "routes[5]: strip_prefix applies to prefix routes only",
        "routes[6]: rate_limit \"plan\" needs a caller",
        "routes[6]: min_role must be viewer, editor, admin or owner",
        "routes[6]: min_role needs auth \"required\"",
        "routes[7]: prefix \"/g/../h\" must start with '/' and have no",
        "routes[8].max_body_bytes: must be an integer",
        "routes[9]: duplicates routes[8]",
    };
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_null(c);
    char *all = cJSON_Print(errors);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(has_error(errors, want[i]), "missing: %s\nall: %s", want[i], all);
    cr_expect_eq(cJSON_GetArraySize(errors), (int)(sizeof want / sizeof want[0]), "%s", all);
    free(all);
    cJSON_Delete(errors);
}

Test(config, documents_that_are_not_objects)
{
    cJSON *errors;
    cr_assert_null(load("{\"routes\": [", &errors));
    cr_assert(has_error(errors, "is not valid JSON"));
    cJSON_Delete(errors);
    cr_assert_null(load("[]", &errors));
    cr_assert(has_error(errors, "must be a JSON object"));
    cJSON_Delete(errors);
    cr_assert_null(load("{}", &errors));
    cr_assert(has_error(errors, "upstreams: is required"));
    cr_assert(has_error(errors, "routes: is required"));
    cr_assert(has_error(errors, "plans: is required"));
    cJSON_Delete(errors);
    cJSON *e = cJSON_CreateArray();
    gw_config_t *c = NULL;
    cr_assert_neq(gw_config_load("/nonexistent/gateway.json", NULL, &c, e), TC_OK);
    cr_assert(has_error(e, "cannot open"));
    cJSON_Delete(e);
}

Test(config, environment_expansion)
{
    setenv("GW_TEST_USER_URL", "http://127.0.0.1:18082", 1);
    setenv("GW_TEST_PORT", "18083", 1);
    const char *doc =
        "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
        "\"${GW_TEST_USER_URL}\"}, {\"url\": \"http://127.0.0.1:${GW_TEST_PORT}\"}]}],"
        " \"routes\": [{\"prefix\": \"/cost$x\", \"upstream\": \"u\"}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    cr_assert_str_eq(c->upstreams[0].groups[0].targets[0].url, "http://127.0.0.1:18082");
    cr_assert_eq(c->upstreams[0].groups[0].targets[1].port, 18083);
    cr_assert_str_eq(c->routes[0].path, "/cost$x", "only ${NAME} is special");
    gw_config_unref(c);
    cJSON_Delete(errors);
    unsetenv("GW_TEST_MISSING");
    const char *bad = "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
                      "\"${GW_TEST_MISSING}\"}]}], \"routes\": [{\"prefix\": \"/\", \"upstream\": "
                      "\"u\"}]}";
    cr_assert_null(load(bad, &errors));
    cr_assert(has_error(errors, "upstreams[0].targets[0].url: environment variable "
                                "GW_TEST_MISSING is not set"));
    cJSON_Delete(errors);
    char missing[64];
    char *x = gw_env_expand("a${GW_TEST_PORT}b${GW_TEST_PORT}", missing, sizeof missing);
    cr_assert_str_eq(x, "a18083b18083");
    free(x);
}

Test(config, unresolvable_hosts_are_not_fatal)
{
    const char *doc = "{" PLANS ", \"upstreams\": [{\"name\": \"u\", \"targets\": [{\"url\": "
                      "\"http://no-such-host.invalid:80\"}]}], \"routes\": [{\"prefix\": \"/\", "
                      "\"upstream\": \"u\"}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "a service not deployed yet must not block the gateway");
    cr_assert_not(c->upstreams[0].groups[0].targets[0].resolved);
    gw_config_unref(c);
    cJSON_Delete(errors);
}

Test(config, reload_keeps_breakers_of_targets_that_stay)
{
    cJSON *errors;
    gw_config_t *a = load(valid, &errors);
    cr_assert_not_null(a);
    gw_target_t *t = &gw_config_upstream(a, "wf")->groups[0].targets[1];
    for (int i = 0; i < 3; i++)
        breaker_failure(&t->breaker, 0, 1000, 3, 5000);
    cr_assert_eq(breaker_state(&t->breaker), BREAKER_OPEN);
    gw_config_t *b = NULL;
    cr_assert_eq(gw_config_parse(valid, a, &b, errors), TC_OK);
    cr_assert_gt(b->generation, a->generation);
    cr_assert_eq(breaker_state(&gw_config_upstream(b, "wf")->groups[0].targets[1].breaker),
                 BREAKER_OPEN);
    cr_assert_eq(breaker_state(&gw_config_upstream(b, "wf")->groups[0].targets[0].breaker),
                 BREAKER_CLOSED);
    gw_config_unref(a);
    gw_config_unref(b);
    cJSON_Delete(errors);
}

/* ------------------------------------------------------------------ issue 14 */

static const char *resilience_doc(const char *upstream_extra)
{
    static char doc[2048];
    snprintf(
        doc, sizeof doc,
        "{\"plans\": {\"free\": {\"per_minute\": 1, \"per_day\": null}},"
        " \"upstreams\": [{\"name\": \"svc\", \"targets\": [{\"url\": \"http://127.0.0.1:1\"}]%s}],"
        " \"routes\": [{\"prefix\": \"/\", \"upstream\": \"svc\"}]}",
        upstream_extra);
    return doc;
}

Test(config, resilience_defaults)
{
    cJSON *errors;
    gw_config_t *c = load(resilience_doc(""), &errors);
    cr_assert_not_null(c);
    gw_upstream_t *up = gw_config_upstream(c, "svc");
    cr_assert_eq(up->max_ejection_percent, 50);
    cr_assert_eq(up->panic_threshold, 50);
    cr_assert_eq(up->eject.failures, 5);
    cr_assert_eq(up->eject.base_ms, 30000);
    cr_assert_eq(up->eject.max_ms, 300000);
    cr_assert_eq(up->eject.reset_ms, 60000);
    cr_assert_eq(up->connect_retry_ms, 1000);
    cr_assert_eq(up->retry_budget_percent, 20);
    cr_assert_eq(up->retry_budget_min, 10);
    cr_assert_eq(up->hc_enabled, 0, "health checks only where configured");
    cr_assert_eq(atomic_load(&up->groups[0].targets[0].hc_ok), 1, "targets start healthy");
    gw_config_unref(c);
    cJSON_Delete(errors);
}

Test(config, health_check_defaults_and_settings)
{
    cJSON *errors;
    gw_config_t *c = load(resilience_doc(", \"health_check\": {}"), &errors);
    cr_assert_not_null(c);
    gw_upstream_t *up = gw_config_upstream(c, "svc");
    cr_assert_eq(up->hc_enabled, 1);
    cr_assert_str_eq(up->hc_path, "/ready");
    cr_assert_eq(up->hc_port, 0, "the target's port + 1000: the admin port");
    cr_assert_eq(up->hc_interval_ms, 1000);
    cr_assert_eq(up->hc_timeout_ms, 500);
    cr_assert_eq(up->hc_healthy, 1);
    cr_assert_eq(up->hc_unhealthy, 2);
    gw_config_unref(c);
    cJSON_Delete(errors);
    c = load(
        resilience_doc(", \"health_check\": {\"path\": \"/health\", \"port\": 9999,"
                       " \"interval_ms\": 300, \"timeout_ms\": 200, \"healthy\": 2,"
                       " \"unhealthy\": 3}, \"panic_threshold\": 0,"
                       " \"breaker\": {\"max_ejection_percent\": 100, \"max_eject_ms\": 1000,"
                       " \"eject_ms\": 500, \"reset_ms\": 0},"
                       " \"connect_retry_ms\": 0, \"retry_budget\": {\"percent\": 5, \"min\": 0}"),
        &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    up = gw_config_upstream(c, "svc");
    cr_assert_str_eq(up->hc_path, "/health");
    cr_assert_eq(up->hc_port, 9999);
    cr_assert_eq(up->hc_interval_ms, 300);
    cr_assert_eq(up->panic_threshold, 0);
    cr_assert_eq(up->max_ejection_percent, 100);
    cr_assert_eq(up->eject.max_ms, 1000);
    cr_assert_eq(up->connect_retry_ms, 0);
    cr_assert_eq(up->retry_budget_percent, 5);
    gw_config_unref(c);
    cJSON_Delete(errors);
}

Test(config, resilience_problems_are_listed)
{
    cJSON *errors;
    cr_assert_null(
        load(resilience_doc(", \"health_check\": {\"path\": \"ready\", \"interval_ms\": 100,"
                            " \"timeout_ms\": 200, \"unhealthy\": 0, \"method\": \"HEAD\"},"
                            " \"panic_threshold\": 101,"
                            " \"breaker\": {\"eject_ms\": 5000, \"max_eject_ms\": 1000,"
                            " \"max_ejection_percent\": -1},"
                            " \"retry_budget\": {\"share\": 1}"),
             &errors));
    const char *want[] = {
        "upstreams[0].health_check: path must start with /",
        "upstreams[0].health_check: timeout_ms must not exceed interval_ms",
        "upstreams[0].health_check.unhealthy: must be an integer",
        "unknown key \"method\"",
        "upstreams[0].panic_threshold: must be an integer from 0 to 100",
        "upstreams[0].breaker: max_eject_ms must be at least eject_ms",
        "upstreams[0].breaker.max_ejection_percent: must be an integer",
        "unknown key \"share\"",
    };
    char *all = cJSON_Print(errors);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(has_error(errors, want[i]), "missing: %s\nall: %s", want[i], all);
    cr_expect_eq(cJSON_GetArraySize(errors), (int)(sizeof want / sizeof want[0]), "%s", all);
    free(all);
    cJSON_Delete(errors);
    cr_assert_null(
        load(resilience_doc(", \"health_check\": {\"path\": \"/a b\\r\\nX: y\"}"), &errors),
        "a path that would inject into the check's request line");
    cJSON_Delete(errors);
}

Test(config, reload_keeps_health_check_verdicts)
{
    cJSON *errors;
    gw_config_t *a = load(resilience_doc(", \"health_check\": {}"), &errors);
    cr_assert_not_null(a);
    atomic_store(&a->upstreams[0].groups[0].targets[0].hc_ok, 0);
    gw_config_t *b = NULL;
    cr_assert_eq(gw_config_parse(resilience_doc(", \"health_check\": {}"), a, &b, errors), TC_OK);
    cr_assert_eq(atomic_load(&b->upstreams[0].groups[0].targets[0].hc_ok), 0);
    cr_assert_not(b->upstreams[0].groups[0].targets[0].hc.healthy);
    gw_config_unref(a);
    gw_config_unref(b);
    cJSON_Delete(errors);
}

/* ------------------------------------------------------------------ pod-level endpoints */

static void hosts_file(const char *path, const char *lines)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(lines, f);
    fclose(f);
}

Test(config, endpoints_all_expands_a_name_into_a_target_per_address)
{
    char path[] = "/tmp/gw-hosts-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    hosts_file(path, "# pods of the user Service\n127.0.0.4 pods.test\n127.0.0.2 pods.test other\n"
                     "127.0.0.3 pods.test\n10.0.0.9 unrelated\n");
    setenv("GATEWAY_HOSTS_FILE", path, 1);
    cJSON *errors;
    gw_config_t *a;
    const char *doc =
        "{\"plans\": {\"free\": {\"per_minute\": 1, \"per_day\": null}},"
        " \"upstreams\": [{\"name\": \"svc\", \"endpoints\": \"all\", \"resolve_ms\": 300,"
        "   \"targets\": [{\"url\": \"http://pods.test:8082\", \"weight\": 2}],"
        "   \"canary\": {\"targets\": [{\"url\": \"http://127.0.0.9:8082\"}], \"weight\": 5}}],"
        " \"routes\": [{\"prefix\": \"/\", \"upstream\": \"svc\"}]}";
    a = load(doc, &errors);
    cr_assert_not_null(a);
    gw_upstream_t *up = gw_config_upstream(a, "svc");
    cr_assert_eq(up->endpoints_all, 1);
    cr_assert_eq(up->resolve_ms, 300);
    gw_group_t *g = &up->groups[GW_GROUP_STABLE];
    cr_assert_eq(g->n, 3, "one target per address of the name");
    const char *want[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
    for (int i = 0; i < 3; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "stable-0.%d", i);
        cr_assert_str_eq(g->targets[i].name, name);
        cr_assert_eq(g->targets[i].entry, 0);
        cr_assert_eq(g->targets[i].weight, 2);
        cr_assert_str_eq(g->targets[i].hostport, "pods.test:8082", "Host stays the name");
        struct sockaddr_in *sin = (struct sockaddr_in *)&g->targets[i].addr;
        inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
        cr_assert_str_eq(text, want[i]);
        cr_assert_eq(ntohs(sin->sin_port), 8082);
    }
    cr_assert_eq(up->groups[GW_GROUP_CANARY].n, 1);
    cr_assert_eq(a->ntargets, 4);
    /* 127.0.0.3 ejected; the name loses 127.0.0.2 and gains 127.0.0.5 */
    breaker_failure(&g->targets[1].breaker, 0, 0, 1, 30000);
    hosts_file(path, "127.0.0.3 pods.test\n127.0.0.4 pods.test\n127.0.0.5 pods.test\n");
    gw_config_t *b = NULL;
    cr_assert_eq(gw_config_rebuild(a, &b, errors), TC_OK);
    cr_assert_gt(b->generation, a->generation);
    g = &gw_config_upstream(b, "svc")->groups[GW_GROUP_STABLE];
    cr_assert_eq(g->n, 3);
    cr_assert_eq(((struct sockaddr_in *)&g->targets[0].addr)->sin_addr.s_addr,
                 inet_addr("127.0.0.3"));
    cr_assert_eq(breaker_state(&g->targets[0].breaker), BREAKER_OPEN,
                 "an address that stays keeps its breaker");
    cr_assert_eq(breaker_state(&g->targets[2].breaker), BREAKER_CLOSED);
    /* a name that no longer resolves keeps one unresolved target (it fails until it does) */
    hosts_file(path, "");
    unsetenv("GATEWAY_HOSTS_FILE");
    unlink(path);
    gw_config_unref(a);
    gw_config_unref(b);
    cJSON_Delete(errors);
    unlink(path);
}

Test(config, endpoints_must_be_first_or_all)
{
    cJSON *errors;
    cr_assert_null(load(resilience_doc(", \"endpoints\": \"some\", \"resolve_ms\": 10"), &errors));
    cr_assert(has_error(errors, "upstreams[0].endpoints: must be one of first, all"), "%s",
              cJSON_PrintUnformatted(errors));
    cr_assert(has_error(errors, "upstreams[0].resolve_ms: must be an integer"));
    cJSON_Delete(errors);
}

Test(config, route_rate_limits_beside_the_plan)
{
    const char *doc =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"name\": \"s\", \"prefix\": \"/v1/search\", \"upstream\": \"user\","
        " \"rate_limit\": {\"per_minute\": 1000, \"per\": \"principal\"}},"
        "{\"name\": \"o\", \"prefix\": \"/v1/open\", \"upstream\": \"user\", \"auth\": \"none\","
        " \"rate_limit\": {\"per_minute\": 10, \"burst\": 2}},"
        "{\"name\": \"p\", \"prefix\": \"/v1/plain\", \"upstream\": \"user\"}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    const gw_route_t *s = match(c, "/v1/search", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_eq(s->rate_limit, GW_RL_PLAN, "the plan limit applies as without a route limit");
    cr_assert_eq(s->rl_per_minute, 1000);
    cr_assert_eq(s->rl_burst, 1000, "burst defaults to per_minute");
    cr_assert_eq(s->rl_per, GW_PER_PRINCIPAL);
    const gw_route_t *o = match(c, "/v1/open", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_eq(o->rate_limit, GW_RL_IP);
    cr_assert_eq(o->rl_per, GW_PER_IP, "open routes count per address");
    cr_assert_eq(o->rl_burst, 2);
    cr_assert_eq(match(c, "/v1/plain", HTTP_M_GET, GW_MATCH_OK)->rl_per_minute, 0);
    gw_config_unref(c);
    cJSON_Delete(errors);

    const char *bad =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\", \"auth\": \"none\","
        " \"rate_limit\": {\"per_minute\": 10, \"per\": \"org\"}},"
        "{\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"user\","
        " \"rate_limit\": {\"burst\": 3, \"window\": 5}},"
        "{\"name\": \"c\", \"prefix\": \"/c\", \"upstream\": \"user\","
        " \"rate_limit\": {\"per_minute\": 0, \"per\": \"team\"}}]}";
    cr_assert_null(load(bad, &errors));
    cr_assert(has_error(errors, "routes[0].rate_limit: per \"org\" needs a caller"));
    cr_assert(has_error(errors, "routes[1].rate_limit: per_minute is required"));
    cr_assert(has_error(errors, "routes[1].rate_limit: unknown key \"window\""));
    cr_assert(has_error(errors, "routes[2].rate_limit.per_minute: must be an integer"));
    cr_assert(has_error(errors, "routes[2].rate_limit.per"), "%s", cJSON_PrintUnformatted(errors));
    cJSON_Delete(errors);

    /* the name keys the counters: present, plain, and its own */
    const char *names =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"prefix\": \"/a\", \"upstream\": \"user\", \"rate_limit\": {\"per_minute\": 10}},"
        "{\"name\": \"x:y\", \"prefix\": \"/b\", \"upstream\": \"user\","
        " \"rate_limit\": {\"per_minute\": 10}},"
        "{\"name\": \"s\", \"prefix\": \"/c\", \"upstream\": \"user\","
        " \"rate_limit\": {\"per_minute\": 10}},"
        "{\"name\": \"s\", \"prefix\": \"/d\", \"upstream\": \"user\"},"
        "{\"name\": \"t\", \"prefix\": \"/e\", \"upstream\": \"user\","
        " \"rate_limit\": {\"per_minute\": 1, \"burst\": 9000000}}]}";
    cr_assert_null(load(names, &errors));
    cr_assert(
        has_error(errors, "routes[0].rate_limit: a route with its own limit needs a \"name\""));
    cr_assert(
        has_error(errors, "routes[1].rate_limit: a route with its own limit needs a \"name\""));
    cr_assert(has_error(errors, "routes[3]: has the name of routes[2]"), "%s",
              cJSON_PrintUnformatted(errors));
    cr_assert(
        has_error(errors, "routes[4].rate_limit: burst 9000000 is too large for 1 per minute"));
    cJSON_Delete(errors);
}

Test(config, route_caches)
{
    const char *doc =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
        " \"cache\": {\"ttl_s\": 30, \"vary\": [\"Accept-Language\"]}},"
        "{\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"user\", \"cache\": {},"
        " \"transform\": {\"request_headers\": {\"add\": {\"X-U\": \"$(principal.sub)\"}}}},"
        "{\"name\": \"c\", \"prefix\": \"/c\", \"upstream\": \"user\","
        " \"cache\": {\"share\": \"org\"}}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    const gw_route_t *a = match(c, "/a", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_eq(a->cache->ttl_ms, 30000);
    cr_assert_eq(a->cache->max_body_bytes, 1048576);
    cr_assert_eq(a->cache->nvary, 1);
    cr_assert_str_eq(a->cache->vary[0], "accept-language", "lowercased");
    const gw_route_t *b = match(c, "/b", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_eq(b->cache->ttl_ms, 0, "only what the service says");
    cr_assert_not(b->cache->share_org, "per caller unless the route says otherwise");
    cr_assert(match(c, "/c", HTTP_M_GET, GW_MATCH_OK)->cache->share_org);
    gw_config_unref(c);
    cJSON_Delete(errors);

    const char *bad =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\", \"methods\": [\"POST\"],"
        " \"cache\": {\"ttl_s\": 90000, \"max_body_bytes\": 0, \"vary\": [\"Bad Name\", 3],"
        " \"stale\": 1}},"
        "{\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"user\","
        " \"cache\": {\"share\": \"org\"},"
        " \"transform\": {\"query\": {\"add\": {\"u\": \"$(principal.sub)\"}}}},"
        "{\"name\": \"c\", \"prefix\": \"/c\", \"upstream\": \"user\", \"cache\": {},"
        " \"transform\": {\"request_headers\": {\"add\": {\"X-R\": \"$(request_id)\"}}}}]}";
    cr_assert_null(load(bad, &errors));
    cr_assert(has_error(errors, "routes[0].cache: caches GET and HEAD answers"));
    cr_assert(has_error(errors, "routes[0].cache.ttl_s: must be an integer"));
    cr_assert(has_error(errors, "routes[0].cache.max_body_bytes: must be an integer"));
    cr_assert(has_error(errors, "routes[0].cache: vary: \"Bad Name\" is not a header name"));
    cr_assert(has_error(errors, "routes[0].cache: vary: \"(not a string)\""));
    cr_assert(has_error(errors, "routes[0].cache: unknown key \"stale\""), "%s",
              cJSON_PrintUnformatted(errors));
    cr_assert(has_error(errors, "routes[1]: cache: the request rules send"));
    cr_assert(has_error(errors, "routes[2]: cache: the request rules send"));
    cJSON_Delete(errors);
}

Test(config, route_cache_coalescing_stale_and_events)
{
    const char *doc =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
        " \"cache\": {\"stale_while_revalidate_s\": 30, \"coalesce\": false,"
        " \"invalidate_on\": [\"com.techcorp.user.updated\", \"com.techcorp.org.*\"]}},"
        "{\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"user\", \"cache\": {}}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    const gw_route_t *a = match(c, "/a", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_eq(a->cache->swr_ms, 30000);
    cr_assert_not(a->cache->coalesce);
    cr_assert_eq(a->cache->ninvalidate, 2);
    cr_assert_str_eq(a->cache->invalidate[1], "com.techcorp.org.*");
    const gw_route_t *b = match(c, "/b", HTTP_M_GET, GW_MATCH_OK);
    cr_assert(b->cache->coalesce, "coalescing by default");
    cr_assert_eq(b->cache->swr_ms, 0);
    cr_assert_eq(b->cache->ninvalidate, 0);
    gw_config_unref(c);
    cJSON_Delete(errors);

    const char *bad =
        "{" PLANS ", \"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8082\"}]}], \"routes\": ["
        "{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
        " \"cache\": {\"coalesce\": 1, \"stale_while_revalidate_s\": -1,"
        " \"invalidate_on\": [\"com.techcorp.usr.updated\", \"*\", 7, \"com.techcorp.api.*\"]}},"
        "{\"prefix\": \"/b\", \"upstream\": \"user\","
        " \"cache\": {\"invalidate_on\": [\"com.techcorp.user.*\"]}},"
        "{\"name\": \"a\", \"prefix\": \"/c\", \"upstream\": \"user\","
        " \"cache\": {\"invalidate_on\": [\"com.techcorp.user.*\"]}}]}";
    cr_assert_null(load(bad, &errors));
    cr_assert(has_error(errors, "routes[0].cache.coalesce: must be"), "%s",
              cJSON_PrintUnformatted(errors));
    cr_assert(has_error(errors, "routes[0].cache.stale_while_revalidate_s: must be an integer"));
    cr_assert(has_error(errors, "\"com.techcorp.usr.updated\" names no event type"),
              "a typo would purge nothing");
    cr_assert(has_error(errors, "invalidate_on: \"*\" names no event type"),
              "every event of every topic: refused");
    cr_assert(has_error(errors, "invalidate_on: \"(not a string)\""));
    cr_assert(has_error(errors, "\"com.techcorp.api.*\" names no event type"),
              "the per-request usage event would purge on every request");
    cr_assert(has_error(errors, "routes[1].cache: invalidate_on: the route needs a \"name\""));
    cr_assert(has_error(errors, "routes[2]: has the name of routes[0]"), "%s",
              cJSON_PrintUnformatted(errors));
    cJSON_Delete(errors);
}

Test(config, websocket_routes)
{
    const char *doc =
        "{" PLANS ", \"upstreams\": [{\"name\": \"n\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8085\"}]}],"
        "\"routes\": ["
        "  {\"name\": \"stream\", \"path\": \"/v1/notifications/stream\", \"upstream\": \"n\","
        "   \"websocket\": true},"
        "  {\"name\": \"short\", \"path\": \"/v1/short\", \"upstream\": \"n\", \"websocket\": true,"
        "   \"websocket_idle_ms\": 5000},"
        "  {\"name\": \"plain\", \"prefix\": \"/v1/notifications\", \"upstream\": \"n\"}]}";
    cJSON *errors;
    gw_config_t *c = load(doc, &errors);
    cr_assert_not_null(c, "%s", cJSON_PrintUnformatted(errors));
    const gw_route_t *r = match(c, "/v1/notifications/stream", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_str_eq(r->name, "stream");
    cr_assert(r->websocket);
    cr_assert_eq(r->websocket_idle_ms, 75000, "longer than the services' 30 s pings");
    r = match(c, "/v1/short", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_eq(r->websocket_idle_ms, 5000);
    r = match(c, "/v1/notifications", HTTP_M_GET, GW_MATCH_OK);
    cr_assert_not(r->websocket, "off unless asked for");
    gw_config_unref(c);
    cJSON_Delete(errors);

    const char *bad =
        "{" PLANS ", \"upstreams\": [{\"name\": \"n\", \"targets\": [{\"url\": "
        "\"http://127.0.0.1:8085\"}]}],"
        "\"routes\": ["
        "  {\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"n\", \"websocket_idle_ms\": 5000},"
        "  {\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"n\", \"websocket\": true,"
        "   \"cache\": {\"ttl_s\": 5}},"
        "  {\"name\": \"c\", \"prefix\": \"/c\", \"upstream\": \"n\", \"websocket\": true,"
        "   \"websocket_idle_ms\": 10}]}";
    c = load(bad, &errors);
    cr_assert_null(c);
    cr_assert(has_error(errors, "routes[0]: websocket_idle_ms applies to websocket routes only"),
              "%s", cJSON_PrintUnformatted(errors));
    cr_assert(has_error(errors, "routes[1]: websocket: a tunnel's bytes are neither cached"));
    cr_assert(has_error(errors, "routes[2].websocket_idle_ms: must be an integer from 1000"));
    cJSON_Delete(errors);
}
