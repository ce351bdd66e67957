/* Unit tests for a route's transformations: the "transform" key (config_transform.c: what is
 * compiled, what is refused) and applying its rules (transform.c, header_rewrite.c,
 * transform_body.c) to the upstream request's head, path and query, to the client's response
 * head, and to JSON request and response bodies. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "header_rewrite.h"
#include "routes_config.h"
#include "transform.h"
#include "tc/tc_core.h"

#define DOC_HEAD                                                                                   \
    "{\"plans\": {\"free\": {\"per_minute\": 100, \"per_day\": null}},"                            \
    "\"upstreams\": [{\"name\": \"user\", \"targets\": [{\"url\": \"http://127.0.0.1:8082\"}]}],"  \
    "\"routes\": ["

static gw_config_t *cfg;
static cJSON *errors;

static void fini(void)
{
    if (cfg)
        gw_config_unref(cfg);
    cJSON_Delete(errors);
    cfg = NULL;
    errors = NULL;
}

/* Loads a document of the given routes; NULL (errors listed) when refused. */
static gw_config_t *load(const char *routes)
{
    char doc[8192];
    snprintf(doc, sizeof doc, "%s%s]}", DOC_HEAD, routes);
    errors = cJSON_CreateArray();
    cfg = NULL;
    gw_config_parse(doc, NULL, &cfg, errors);
    return cfg;
}

static bool has_error(const char *needle)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors) if (strstr(e->valuestring, needle)) return true;
    return false;
}

static const gw_route_t *route(const char *name)
{
    for (int i = 0; i < cfg->nroutes; i++)
        if (strcmp(cfg->routes[i].name, name) == 0)
            return &cfg->routes[i];
    cr_assert_fail("no route %s", name);
    return NULL;
}

static const gw_tx_ctx_t user_ctx = {
    .org = "org_1", .sub = "usr_7", .request_id = "req_9", .client_ip = "203.0.113.4"};

/* ------------------------------------------------------------------ compiling */

Test(transform_config, compiles_every_rule_type, .fini = fini)
{
    cr_assert_not_null(
        load(
            "{\"name\": \"u\", \"path\": \"/v1/users/{id}/files/{file}\", \"upstream\": \"user\","
            " \"transform\": {\"path\": \"/internal/{file}/of/{id}\","
            "  \"request_headers\": {\"remove\": [\"X-Debug\"], \"rename\": {\"X-Old\": \"X-New\"},"
            "   \"replace\": {\"Accept\": \"application/json\"},"
            "   \"add\": {\"X-Org\": \"org=$(principal.org)/$(path.id)\"}},"
            "  \"query\": {\"remove\": [\"debug\"], \"add\": {\"source\": \"$(request_id)\"}},"
            "  \"response_headers\": {\"remove\": [\"Server\"], \"add\": {\"X-Served-By\": "
            "\"gw\"}}}}"),
        "%s", cJSON_PrintUnformatted(errors));
    const gw_transform_t *t = route("u")->transform;
    cr_assert_not_null(t);
    cr_assert_eq(t->path_mode, GW_PATH_TEMPLATE);
    cr_assert_eq(t->path.nparts, 4); /* "/internal/" {file} "/of/" {id} */
    cr_assert_eq(t->path.parts[1].kind, GW_TV_PARAM);
    cr_assert_eq(t->path.parts[1].seg, 4);
    cr_assert_eq(t->path.parts[3].seg, 2);
    cr_assert_eq(t->req_headers.n[GW_TX_REMOVE], 1);
    cr_assert_eq(t->req_headers.n[GW_TX_RENAME], 1);
    cr_assert_str_eq(t->req_headers.rules[GW_TX_RENAME][0].to, "X-New");
    const gw_tpl_t *v = &t->req_headers.rules[GW_TX_ADD][0].value;
    cr_assert_eq(v->nparts, 4); /* "org=" org "/" path.id */
    cr_assert_eq(v->parts[1].kind, GW_TV_ORG);
    cr_assert_eq(v->parts[3].kind, GW_TV_PARAM);
    cr_assert_eq(v->parts[3].seg, 2);
    cr_assert_eq(t->resp_headers.n[GW_TX_ADD], 1);
}

Test(transform_config, routes_without_a_transform_have_none, .fini = fini)
{
    cr_assert_not_null(
        load("{\"name\": \"u\", \"prefix\": \"/v1/users\", \"upstream\": \"user\"}"));
    cr_assert_null(route("u")->transform);
}

Test(transform_config, refuses_rules_on_headers_the_gateway_owns, .fini = fini)
{
    cr_assert_null(
        load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\", \"transform\": {"
             " \"request_headers\": {\"remove\": [\"Content-Length\", \"X-Forwarded-For\"],"
             "  \"add\": {\"Authorization\": \"Bearer x\", \"Connection\": \"close\"},"
             "  \"rename\": {\"X-Mine\": \"X-Request-Id\"}},"
             " \"response_headers\": {\"add\": {\"Access-Control-Allow-Origin\": \"*\","
             "  \"Strict-Transport-Security\": \"max-age=1\", \"Set-Cookie\": \"a=b\"},"
             "  \"remove\": [\"Transfer-Encoding\", \"RateLimit-Remaining\"]}}}"));
    const char *named[] = {"Content-Length",
                           "X-Forwarded-For",
                           "Authorization",
                           "Connection",
                           "X-Request-Id",
                           "Access-Control-Allow-Origin",
                           "Strict-Transport-Security",
                           "Set-Cookie",
                           "Transfer-Encoding",
                           "RateLimit-Remaining"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "\"%s\" cannot be changed by a rule", named[i]);
        cr_assert(has_error(needle), "%s not refused: %s", named[i],
                  cJSON_PrintUnformatted(errors));
    }
    cr_assert(has_error("routes[0].transform.request_headers.remove"));
    cr_assert(has_error("routes[0].transform.response_headers.add"));
}

Test(transform_config, refuses_malformed_rules_listing_every_problem, .fini = fini)
{
    cr_assert_null(load(
        "{\"name\": \"a\", \"path\": \"/a/{id}\", \"upstream\": \"user\", \"transform\": {"
        " \"path\": \"/b/{nope}\", \"prefix\": \"/c\", \"colour\": 1,"
        " \"request_headers\": {\"add\": {\"Bad Name\": \"x\", \"X-V\": \"$(principal.name)\","
        "  \"X-U\": \"$(request_id\", \"X-C\": \"a\\u0001b\"}, \"remove\": \"X-A\", \"merge\": {}},"
        " \"query\": {\"add\": {\"a&b\": \"1\"}, \"replace\": {\"q\": 5}},"
        " \"response_headers\": {\"add\": {\"X-P\": \"$(path.id)\"}}}},"
        "{\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"user\", \"strip_prefix\": true,"
        " \"transform\": {\"prefix\": \"/x\"}},"
        "{\"name\": \"c\", \"prefix\": \"/c\", \"upstream\": \"user\","
        " \"transform\": {\"path\": \"/x\"}},"
        "{\"name\": \"d\", \"path\": \"/d/{id}\", \"upstream\": \"user\","
        " \"transform\": {\"path\": \"/x/../{id}\"}}"));
    const char *problems[] = {
        "\"path\" and \"prefix\" exclude each other",
        "routes[0].transform: unknown key \"colour\"",
        "\"Bad Name\" is not a valid header name",
        "unknown variable $(principal.name)",
        "unterminated $(",
        "has a control character",
        "request_headers.remove: must be a list of names",
        "request_headers: unknown key \"merge\"",
        "\"a&b\" is not a valid parameter name",
        "names and values must be strings",
        "unknown variable $(path.id) (principal.org, principal.sub, request_id, client_ip)",
        "routes[1].transform.prefix: excludes strip_prefix",
        "routes[2].transform.path: a path template needs a \"path\" route",
        "routes[3].transform.path: must start with '/' and have no empty or dot segments",
    };
    for (size_t i = 0; i < sizeof problems / sizeof problems[0]; i++)
        cr_assert(has_error(problems[i]), "missing \"%s\" in %s", problems[i],
                  cJSON_PrintUnformatted(errors));
}

Test(transform_config, refuses_dot_segments_however_written, .fini = fini)
{
    cr_assert_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                        " \"transform\": {\"prefix\": \"/api/v2/..\"}},"
                        "{\"name\": \"b\", \"path\": \"/b/{id}\", \"upstream\": \"user\","
                        " \"transform\": {\"path\": \"/x/{id}/%2e%2E\"}},"
                        "{\"name\": \"c\", \"prefix\": \"/c\", \"upstream\": \"user\","
                        " \"transform\": {\"prefix\": \"/x/./y\"}}"));
    cr_assert(
        has_error("routes[0].transform.prefix: must start with '/' and have no empty or dot"));
    cr_assert(has_error("routes[1].transform.path: must start with '/' and have no empty or dot"));
    cr_assert(
        has_error("routes[2].transform.prefix: must start with '/' and have no empty or dot"));
}

Test(transform_config, refuses_a_path_template_naming_an_unknown_param, .fini = fini)
{
    cr_assert_null(load("{\"name\": \"a\", \"path\": \"/a/{id}\", \"upstream\": \"user\","
                        " \"transform\": {\"path\": \"/b/{nope}\"}}"));
    cr_assert(has_error("{nope} is not a parameter of the route's path"));
}

/* ------------------------------------------------------------------ applying */

static char out[16384];

static const char *up_head(const char *in, const gw_tx_set_t *tx, const gw_tx_ctx_t *x)
{
    static http_request_t req;
    int status;
    const char *why;
    cr_assert_eq(http_parse_request(in, strlen(in), &req, &status, &why), HTTP_OK, "%s", why);
    gw_upreq_t u = {.path = in + req.target_off,
                    .path_len = req.path_len,
                    .host = "10.0.0.5:8082",
                    .xff = "203.0.113.9",
                    .proto = "https",
                    .request_id = "req_9",
                    .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01",
                    .tx = tx,
                    .txc = x};
    long n = gw_build_upstream_request(in, &req, &u, out, sizeof out, NULL);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    return out;
}

Test(transform_apply, request_headers_remove_rename_replace_add_in_order, .fini = fini)
{
    cr_assert_not_null(
        load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\", \"transform\": {"
             " \"request_headers\": {\"remove\": [\"x-debug\", \"X-Org\"],"
             "  \"rename\": {\"X-Old\": \"X-New\"}, \"replace\": {\"Accept\": \"application/json\","
             "   \"X-New\": \"renamed-then-replaced\", \"X-Absent\": \"never\"},"
             "  \"add\": {\"X-Org\": \"$(principal.org)\", \"X-Caller\": "
             "\"$(principal.sub)@$(client_ip)\","
             "   \"User-Agent\": \"kept-when-present\", \"X-Req\": \"$(request_id)\"}}}}"));
    const char *h = up_head("GET /a HTTP/1.1\r\nHost: x\r\nX-Debug: 1\r\nX-Org: org_forged\r\n"
                            "X-Old: v\r\nAccept: */*\r\nUser-Agent: curl\r\n\r\n",
                            &route("a")->transform->req_headers, &user_ctx);
    cr_assert_null(strstr(h, "X-Debug"), "%s", h);
    cr_assert_null(strstr(h, "org_forged"), "a client's X-Org must not survive: %s", h);
    cr_assert_null(strstr(h, "X-Old"), "%s", h);
    cr_assert_not_null(strstr(h, "\r\nX-New: renamed-then-replaced\r\n"), "%s", h);
    cr_assert_not_null(strstr(h, "\r\nAccept: application/json\r\n"), "%s", h);
    cr_assert_null(strstr(h, "X-Absent"), "replace only touches present headers: %s", h);
    cr_assert_not_null(strstr(h, "\r\nX-Org: org_1\r\n"), "%s", h);
    cr_assert_not_null(strstr(h, "\r\nX-Caller: usr_7@203.0.113.4\r\n"), "%s", h);
    cr_assert_not_null(strstr(h, "\r\nUser-Agent: curl\r\n"), "add keeps what is there: %s", h);
    cr_assert_null(strstr(h, "kept-when-present"), "%s", h);
    cr_assert_not_null(strstr(h, "\r\nX-Req: req_9\r\n"), "%s", h);
}

Test(transform_apply, absent_values_skip_the_rule, .fini = fini)
{
    cr_assert_not_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                            " \"auth\": \"optional\", \"transform\": {\"request_headers\": {"
                            " \"add\": {\"X-Org\": \"$(principal.org)\", \"X-Lit\": \"1\"}}}}"));
    gw_tx_ctx_t anon = {.org = "", .sub = "", .request_id = "req_1", .client_ip = "::1"};
    const char *h =
        up_head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", &route("a")->transform->req_headers, &anon);
    cr_assert_null(strstr(h, "X-Org"), "an anonymous caller has no org: %s", h);
    cr_assert_not_null(strstr(h, "\r\nX-Lit: 1\r\n"), "%s", h);
    /* a value a header cannot carry is absent too */
    gw_tx_ctx_t bad = {.org = "org\r\nX-Evil: 1", .sub = "s", .request_id = "r", .client_ip = "i"};
    h = up_head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", &route("a")->transform->req_headers, &bad);
    cr_assert_null(strstr(h, "X-Evil"), "%s", h);
}

Test(transform_apply, response_headers, .fini = fini)
{
    cr_assert_not_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                            " \"transform\": {\"response_headers\": {\"remove\": [\"Server\"],"
                            " \"rename\": {\"X-Internal-Cost\": \"X-Cost\"},"
                            " \"add\": {\"X-Served-For\": \"$(principal.org)\"}}}}"));
    const char *in = "HTTP/1.1 200 OK\r\nServer: svc/1.2\r\nX-Internal-Cost: 3\r\n"
                     "Content-Length: 0\r\n\r\n";
    http_response_t resp;
    const char *why;
    cr_assert_eq(http_parse_response(in, strlen(in), &resp, &why), HTTP_OK);
    gw_resp_ctx_t ctx = {.request_id = "req_9",
                         .keep_alive = 1,
                         .client_minor = 1,
                         .tx = &route("a")->transform->resp_headers,
                         .txc = &user_ctx};
    long n = gw_build_client_response(in, &resp, &ctx, out, sizeof out);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_assert_null(strstr(out, "Server"), "%s", out);
    cr_assert_not_null(strstr(out, "\r\nX-Cost: 3\r\n"), "%s", out);
    cr_assert_not_null(strstr(out, "\r\nX-Served-For: org_1\r\n"), "%s", out);
    cr_assert_not_null(strstr(out, "\r\nContent-Length: 0\r\n"), "%s", out);
}

static const char *query(const gw_tx_set_t *s, const char *q, int *params)
{
    long n = gw_tx_query(s, &user_ctx, q, strlen(q), out, sizeof out, params);
    cr_assert_geq(n, 0);
    out[n] = '\0';
    return out;
}

Test(transform_apply, query_parameters, .fini = fini)
{
    cr_assert_not_null(load(
        "{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\", \"transform\": {\"query\": {"
        " \"remove\": [\"debug\"], \"rename\": {\"q\": \"query\"}, \"replace\": {\"limit\": "
        "\"10\"},"
        " \"add\": {\"org\": \"$(principal.org)\", \"query\": \"unused\", \"note\": \"a "
        "b&c\"}}}}"));
    const gw_tx_set_t *s = &route("a")->transform->query;
    int params = 0;
    cr_assert_str_eq(query(s, "q=cats&debug=1&limit=500&x", &params),
                     "query=cats&limit=10&x&org=org_1&note=a%20b%26c");
    cr_assert_eq(params, 5);
    cr_assert_str_eq(query(s, "", &params), "org=org_1&query=unused&note=a%20b%26c");
    cr_assert_eq(params, 3);
    /* empty pieces are kept: the services count them */
    cr_assert_str_eq(query(s, "a=1&&debug", &params), "a=1&&org=org_1&query=unused&note=a%20b%26c");
    cr_assert_eq(params, 5);
    /* names are matched as the services read them: decoded */
    cr_assert_str_eq(query(s, "%64ebug=1&%71=x&lim%69t=2&org=forged", &params),
                     "query=x&lim%69t=10&org=forged&note=a%20b%26c");
    /* too small a buffer is an overflow, never a cut */
    cr_assert_eq(gw_tx_query(s, &user_ctx, "q=1", 3, out, 8, &params), -1);
}

Test(transform_apply, query_names_set_by_remove_and_add_cannot_be_forged, .fini = fini)
{
    cr_assert_not_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                            " \"transform\": {\"query\": {\"remove\": [\"org\", \"ab\"],"
                            " \"add\": {\"org\": \"$(principal.org)\"}}}}"));
    int params = 0;
    cr_assert_str_eq(
        query(&route("a")->transform->query, "org=x&%6Frg=y&%6f%72%67=z&a%62=1&a+b=2&k", &params),
        "a+b=2&k&org=org_1");
    cr_assert_eq(params, 3);
}

Test(transform_apply, captured_segments_keep_their_escapes_in_query_values, .fini = fini)
{
    cr_assert_not_null(load("{\"name\": \"a\", \"path\": \"/u/{id}\", \"upstream\": \"user\","
                            " \"transform\": {\"query\": {\"add\": {\"user\": \"$(path.id)\"}}}}"));
    gw_tx_ctx_t x = user_ctx;
    x.path = "/u/J%C3%BCrgen%2";
    x.path_len = strlen(x.path);
    int params = 0;
    long n = gw_tx_query(&route("a")->transform->query, &x, "", 0, out, sizeof out, &params);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    /* a valid escape stays one; a stray '%' is encoded */
    cr_assert_str_eq(out, "user=J%C3%BCrgen%252");
}

static const char *path(const gw_transform_t *t, size_t prefix_len, const char *p)
{
    gw_tx_ctx_t x = user_ctx;
    x.path = p;
    x.path_len = strlen(p);
    long n = gw_tx_path(t, prefix_len, &x, out, sizeof out);
    cr_assert_geq(n, 0);
    out[n] = '\0';
    return out;
}

Test(transform_apply, path_templates_and_prefixes, .fini = fini)
{
    cr_assert_not_null(
        load("{\"name\": \"t\", \"path\": \"/v1/users/{id}/files/{file}\", \"upstream\": \"user\","
             " \"transform\": {\"path\": \"/internal/{file}/of/{id}\"}},"
             "{\"name\": \"p\", \"prefix\": \"/v1/things\", \"upstream\": \"user\","
             " \"transform\": {\"prefix\": \"/v2/stuff\"}},"
             "{\"name\": \"s\", \"prefix\": \"/v1/strip\", \"upstream\": \"user\","
             " \"transform\": {\"prefix\": \"/\"}}"));
    cr_assert_str_eq(path(route("t")->transform, 0, "/v1/users/usr_1/files/a%20b"),
                     "/internal/a%20b/of/usr_1");
    cr_assert_str_eq(path(route("p")->transform, 10, "/v1/things/x/y"), "/v2/stuff/x/y");
    cr_assert_str_eq(path(route("p")->transform, 10, "/v1/things"), "/v2/stuff");
    cr_assert_str_eq(path(route("s")->transform, 9, "/v1/strip/x"), "/x");
    cr_assert_str_eq(path(route("s")->transform, 9, "/v1/strip"), "/");
}

Test(transform_apply, path_segments)
{
    const char *s;
    size_t n;
    cr_assert(gw_path_segment("/a/bc/d", 7, 1, &s, &n));
    cr_assert_eq(n, 2);
    cr_assert(strncmp(s, "bc", 2) == 0);
    cr_assert_not(gw_path_segment("/a/bc", 5, 2, &s, &n));
    cr_assert_not(gw_path_segment("/a//c", 5, 1, &s, &n), "empty segments are none");
}

Test(transform_apply, protected_headers)
{
    cr_assert(gw_tx_header_protected("x-forwarded-host", 16, false));
    cr_assert(gw_tx_header_protected("Proxy-Anything", 14, true));
    cr_assert(gw_tx_header_protected("authorization", 13, false));
    cr_assert_not(gw_tx_header_protected("authorization", 13, true));
    cr_assert_not(gw_tx_header_protected("X-Org", 5, false));
    cr_assert_not(gw_tx_header_protected("Server", 6, true));
}

/* ------------------------------------------------------------------ JSON bodies */

static const gw_tx_ctx_t body_ctx = {.org = "org_1", .sub = "usr_7", .request_id = "req_9"};

/* The set's result on a body, as text ("EINVAL" when refused). */
static char *apply_json(const gw_tx_set_t *s, const gw_tx_ctx_t *x, const char *in)
{
    char *out = NULL;
    size_t len = 0;
    int rc = gw_tx_json(s, x, in, strlen(in), &out, &len);
    if (rc == TC_EINVAL)
        return strdup("EINVAL");
    cr_assert_eq(rc, TC_OK);
    cr_assert_eq(strlen(out), len);
    return out;
}

Test(transform_body, every_operation_in_order, .fini = fini)
{
    cr_assert_not_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                            " \"transform\": {\"request_body\": {"
                            "  \"remove\": [\"secret\", \"org_id\"],"
                            "  \"rename\": {\"old\": \"new\"},"
                            "  \"replace\": {\"owner\": \"$(principal.sub)\", \"gone\": \"x\"},"
                            "  \"add\": {\"org_id\": \"$(principal.org)\", \"new\": \"kept?\","
                            "            \"via\": \"gw-$(request_id)\"}}}}"),
                       "%s", cJSON_PrintUnformatted(errors));
    const gw_transform_t *t = cfg->routes[0].transform;
    cr_assert_eq(t->body_max_bytes, 1048576, "the default bound");
    char *out = apply_json(&t->req_body, &body_ctx,
                           "{\"secret\": 1, \"org_id\": \"org_forged\", \"old\": [1, 2],"
                           " \"owner\": \"someone\", \"keep\": {\"deep\": true}}");
    /* the caller's org_id is removed, then the gateway's added; rename keeps the value (an
     * array, as written), replace only touches a present field, add only an absent one */
    cr_assert_str_eq(out, "{\"new\":[1, 2],\"owner\":\"usr_7\",\"keep\":{\"deep\": true},"
                          "\"org_id\":\"org_1\",\"via\":\"gw-req_9\"}");
    free(out);
    out = apply_json(&t->req_body, &body_ctx, "{\"new\": 5, \"old\": 6}");
    cr_assert_str_eq(out, "{\"new\":6,\"org_id\":\"org_1\",\"via\":\"gw-req_9\"}",
                     "a renamed field replaces one of the new name");
    free(out);
    const gw_tx_ctx_t anon = {.request_id = "req_2"};
    out = apply_json(&t->req_body, &anon, "{\"owner\": \"x\"}");
    cr_assert_str_eq(out, "{\"owner\":\"x\",\"new\":\"kept?\",\"via\":\"gw-req_2\"}",
                     "an absent value skips its rule");
    free(out);
    /* a value longer than a rule may expand to skips the rule (a header rule does the same) */
    char id[2100];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    const gw_tx_ctx_t big = {.org = id, .sub = "usr_7", .request_id = "req_9"};
    out = apply_json(&t->req_body, &big, "{\"org_id\": \"x\"}");
    cr_assert_str_eq(out, "{\"new\":\"kept?\",\"via\":\"gw-req_9\"}");
    free(out);
}

Test(transform_body, only_json_objects_with_unique_names, .fini = fini)
{
    cr_assert_not_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                            " \"transform\": {\"response_body\": {\"remove\": [\"x\"]}}}"));
    const gw_tx_set_t *s = &cfg->routes[0].transform->resp_body;
    /* a name given twice: which one a service reads depends on its parser */
    const char *bad[] = {"[1,2]",
                         "\"x\"",
                         "12",
                         "null",
                         "{\"x\": ",
                         "",
                         "{} {}",
                         "{\"a\": 1, \"a\": 2}",
                         "{\"a\": 1, \"\\u0061\": 2}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out = apply_json(s, &body_ctx, bad[i]);
        cr_assert_str_eq(out, "EINVAL", "%s", bad[i]);
        free(out);
    }
    /* what no rule touches is copied as written: numbers keep their digits (no double in
     * between), strings their escapes, nested values their spacing */
    char *out = apply_json(s, &body_ctx,
                           " {\"x\": 1, \"big\": 9007199254740993 , \"e\": 1E+400,"
                           "\"s\": \"\\u0000\\u00e9\", \"n\": [ {\"x\" : -0.10} ]} \n");
    cr_assert_str_eq(out, "{\"big\":9007199254740993,\"e\":1E+400,\"s\":\"\\u0000\\u00e9\","
                          "\"n\":[ {\"x\" : -0.10} ]}");
    free(out);
    out = apply_json(s, &body_ctx, "{}");
    cr_assert_str_eq(out, "{}");
    free(out);
    out = apply_json(s, &body_ctx, "{\"x\": {\"}\": \"{,\"}}");
    cr_assert_str_eq(out, "{}", "braces and commas inside strings are not structure");
    free(out);
}

Test(transform_body, json_content_types)
{
    const char *yes[] = {"application/json", "application/json; charset=utf-8", "Application/JSON",
                         "application/problem+json", "application/vnd.techcorp.v1+json;q=1"};
    const char *no[] = {"text/json",
                        "application/jsonx",
                        "application/x-www-form-urlencoded",
                        "application/+json",
                        "text/plain",
                        "",
                        "json"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        cr_assert(gw_tx_is_json(yes[i], strlen(yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_assert_not(gw_tx_is_json(no[i], strlen(no[i])), "%s", no[i]);
}

Test(transform_body, refused_rules, .fini = fini)
{
    cr_assert_null(load("{\"name\": \"a\", \"prefix\": \"/a\", \"upstream\": \"user\","
                        " \"transform\": {\"body_max_bytes\": 0, \"request_body\": {"
                        "  \"remove\": [\"\", 3], \"rename\": {\"a\": \"\\u0001\"},"
                        "  \"add\": {\"x\": \"$(nope)\"}, \"drop\": []},"
                        " \"response_body\": {\"add\": {\"p\": \"$(path.id)\"}}}},"
                        "{\"name\": \"b\", \"prefix\": \"/b\", \"upstream\": \"user\","
                        " \"cache\": {\"ttl_s\": 5},"
                        " \"transform\": {\"response_body\": {\"remove\": [\"x\"]}}}"));
    cr_assert(has_error("routes[0].transform.body_max_bytes: must be an integer"), "%s",
              cJSON_PrintUnformatted(errors));
    cr_assert(has_error("routes[0].transform.request_body.remove: \"\" is not a valid field"));
    cr_assert(has_error("routes[0].transform.request_body.remove: names and values must be "
                        "strings"));
    cr_assert(has_error("is not a valid field name"));
    cr_assert(has_error("routes[0].transform.request_body: unknown key \"drop\""));
    cr_assert(has_error("$(nope)"));
    cr_assert(has_error("routes[0].transform.response_body.add.p"));
    cr_assert(has_error("routes[1]: cache: excludes transform.response_body"));
}
