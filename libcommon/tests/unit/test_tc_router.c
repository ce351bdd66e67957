/*
 * tc_router: pattern validation, literal/parameter matching and precedence, percent-decoding
 * of parameters, 404 vs 405 (with the Allow list), and tc_url_decode.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_http.h"

#include <stdio.h>
#include <string.h>

static void noop(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(resp);
    TC_UNUSED(ud);
}

/* ud tags let a test tell which route matched. */
static int tag_a, tag_b, tag_c;

static int add(tc_router_t *r, const char *method, const char *pattern, void *ud)
{
    tc_route_t rt = {.method = method, .pattern = pattern, .fn = noop, .ud = ud};
    return tc_router_add(r, &rt);
}

static void add_ok(tc_router_t *r, const char *method, const char *pattern, void *ud)
{
    cr_assert_eq(add(r, method, pattern, ud), TC_OK, "%s %s", method, pattern);
}

typedef struct {
    tc_match_t m;
    const tc_route_t *route;
    tc_params_t params;
    char allow[128];
} match_t;

static match_t match(const tc_router_t *r, const char *method, const char *path)
{
    match_t out;
    memset(&out, 0, sizeof out);
    out.m = tc_router_match(r, method, path, &out.route, &out.params, out.allow, sizeof out.allow);
    return out;
}

static const char *param(const match_t *mt, const char *name)
{
    for (int i = 0; i < mt->params.n; i++)
        if (strcmp(mt->params.names[i], name) == 0)
            return mt->params.values[i];
    return NULL;
}

static void expect_found(const tc_router_t *r, const char *method, const char *path,
                         const char *pattern)
{
    match_t mt = match(r, method, path);
    cr_assert_eq(mt.m, TC_MATCH_FOUND, "%s %s", method, path);
    cr_assert_not_null(mt.route);
    cr_assert_str_eq(mt.route->pattern, pattern, "%s %s", method, path);
    tc_params_free(&mt.params);
}

static void expect_no_route(const tc_router_t *r, const char *method, const char *path)
{
    match_t mt = match(r, method, path);
    cr_assert_eq(mt.m, TC_MATCH_NO_ROUTE, "%s %s gave %d", method, path, (int)mt.m);
    cr_assert_null(mt.route);
    cr_assert_eq(mt.params.n, 0);
}

/* ------------------------------------------------------------------------- matching */

Test(router, literal_routes)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/health", &tag_a);
    add_ok(r, "GET", "/v1/users", &tag_b);
    match_t mt = match(r, "GET", "/health");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_a);
    cr_assert_eq(mt.params.n, 0);
    mt = match(r, "GET", "/v1/users");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_b);
    cr_assert_str_eq(mt.route->method, "GET");
    expect_no_route(r, "GET", "/v1");
    expect_no_route(r, "GET", "/v1/users/x");
    expect_no_route(r, "GET", "/V1/users"); /* case-sensitive */
    expect_no_route(r, "GET", "/healthz");
    tc_router_free(r);
}

Test(router, route_is_copied)
{
    tc_router_t *r = tc_router_new();
    char method[8] = "GET", pattern[32] = "/v1/things/{id}";
    add_ok(r, method, pattern, NULL);
    strcpy(method, "PUT");
    strcpy(pattern, "/zzzzzzzzzz");
    expect_found(r, "GET", "/v1/things/1", "/v1/things/{id}");
    tc_router_free(r);
}

Test(router, param_is_extracted)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", NULL);
    match_t mt = match(r, "GET", "/v1/users/usr_123");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.params.n, 1);
    cr_assert_str_eq(mt.params.names[0], "id");
    cr_assert_str_eq(mt.params.values[0], "usr_123");
    tc_params_free(&mt.params);
    cr_assert_eq(mt.params.n, 0);
    tc_router_free(r);
}

Test(router, params_are_percent_decoded)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/files/{name}", NULL);
    match_t mt = match(r, "GET", "/v1/files/a%20b%2Fc%C3%A9%25");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_str_eq(param(&mt, "name"), "a b/c\xc3\xa9%");
    tc_params_free(&mt.params);
    /* '+' is not a space in a path */
    mt = match(r, "GET", "/v1/files/a+b");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_str_eq(param(&mt, "name"), "a+b");
    tc_params_free(&mt.params);
    tc_router_free(r);
}

Test(router, literal_segments_are_compared_decoded)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/me", NULL);
    expect_found(r, "GET", "/v1/users/%6De", "/v1/users/me");
    tc_router_free(r);
}

Test(router, several_params_deeper_paths)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/orgs/{org}/users/{user}/roles/{role}", NULL);
    add_ok(r, "GET", "/v1/orgs/{org}/users/{user}", NULL);
    match_t mt = match(r, "GET", "/v1/orgs/org_1/users/usr_2/roles/admin");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_str_eq(mt.route->pattern, "/v1/orgs/{org}/users/{user}/roles/{role}");
    cr_assert_eq(mt.params.n, 3);
    cr_assert_str_eq(param(&mt, "org"), "org_1");
    cr_assert_str_eq(param(&mt, "user"), "usr_2");
    cr_assert_str_eq(param(&mt, "role"), "admin");
    tc_params_free(&mt.params);
    mt = match(r, "GET", "/v1/orgs/org_1/users/usr_2");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_str_eq(mt.route->pattern, "/v1/orgs/{org}/users/{user}");
    cr_assert_eq(mt.params.n, 2);
    tc_params_free(&mt.params);
    expect_no_route(r, "GET", "/v1/orgs/org_1/users");
    expect_no_route(r, "GET", "/v1/orgs/org_1/people/usr_2");
    expect_no_route(r, "GET", "/v1/orgs/org_1/users/usr_2/roles/admin/extra");
    tc_router_free(r);
}

static void check_me_beats_id(tc_router_t *r)
{
    match_t mt = match(r, "GET", "/v1/users/me");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_a, "literal route must win");
    cr_assert_eq(mt.params.n, 0);
    mt = match(r, "GET", "/v1/users/usr_9");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_b);
    cr_assert_str_eq(param(&mt, "id"), "usr_9");
    tc_params_free(&mt.params);
}

Test(router, literal_beats_param_literal_first)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/me", &tag_a);
    add_ok(r, "GET", "/v1/users/{id}", &tag_b);
    check_me_beats_id(r);
    tc_router_free(r);
}

Test(router, literal_beats_param_param_first)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", &tag_b);
    add_ok(r, "GET", "/v1/users/me", &tag_a);
    check_me_beats_id(r);
    tc_router_free(r);
}

Test(router, earlier_literal_segment_wins)
{
    /* both match /a/b; the first differing segment is literal in /a/{y} */
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/{x}/b", &tag_b);
    add_ok(r, "GET", "/a/{y}", &tag_a);
    add_ok(r, "GET", "/{p}/{q}", &tag_c);
    match_t mt = match(r, "GET", "/a/b");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_a);
    tc_params_free(&mt.params);
    mt = match(r, "GET", "/z/b");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_b);
    tc_params_free(&mt.params);
    mt = match(r, "GET", "/z/z");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_c);
    tc_params_free(&mt.params);
    tc_router_free(r);
}

Test(router, root)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/", &tag_a);
    add_ok(r, "GET", "/{id}", &tag_b);
    match_t mt = match(r, "GET", "/");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_a);
    mt = match(r, "GET", "/x");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_b);
    tc_params_free(&mt.params);
    expect_no_route(r, "GET", "");
    expect_no_route(r, "GET", "x");
    expect_no_route(r, "GET", "//");
    tc_router_free(r);
}

Test(router, trailing_slash_not_matched)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users", NULL);
    add_ok(r, "GET", "/v1/users/{id}", NULL);
    expect_no_route(r, "GET", "/v1/users/usr_1/");
    /* "/v1/users/" would give {id} an empty value */
    expect_no_route(r, "GET", "/v1/users/");
    expect_found(r, "GET", "/v1/users", "/v1/users");
    tc_router_free(r);
}

Test(router, empty_segment_not_matched)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/orgs/{org}/users", NULL);
    add_ok(r, "GET", "/v1/a/b", NULL);
    expect_no_route(r, "GET", "/v1/orgs//users");
    expect_no_route(r, "GET", "/v1//a/b");
    expect_no_route(r, "GET", "//v1/a/b");
    expect_no_route(r, "GET", "/v1/a//b");
    tc_router_free(r);
}

Test(router, malformed_escapes_give_no_route)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", NULL);
    add_ok(r, "POST", "/v1/users/{id}", NULL);
    static const char *const bad[] = {
        "/v1/users/%zz", "/v1/users/%4",  "/v1/users/%",   "/v1/users/%00",
        "/v1/users/a%0", "/v1/users/%g1", "/v1/users/ab%", "/v1/%7users/x",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        expect_no_route(r, "GET", bad[i]);
        /* not a 405 either: the path is unusable before methods are considered */
        expect_no_route(r, "DELETE", bad[i]);
    }
    tc_router_free(r);
}

Test(router, very_long_path_is_no_route)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/{x}", NULL);
    char path[5000] = "/v1/";
    memset(path + 4, 'a', sizeof path - 5);
    path[sizeof path - 1] = '\0';
    expect_no_route(r, "GET", path);
    tc_router_free(r);
}

/* ------------------------------------------------------------------------- methods */

Test(router, no_method_lists_allow)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", NULL);
    add_ok(r, "PATCH", "/v1/users/{id}", NULL);
    add_ok(r, "DELETE", "/v1/users/{id}", NULL);
    add_ok(r, "POST", "/v1/users", NULL);
    match_t mt = match(r, "PUT", "/v1/users/usr_1");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_null(mt.route);
    cr_assert_eq(mt.params.n, 0);
    cr_assert_str_eq(mt.allow, "GET, HEAD, PATCH, DELETE");
    mt = match(r, "GET", "/v1/users");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_str_eq(mt.allow, "POST");
    tc_router_free(r);
}

Test(router, allow_collects_methods_of_every_matching_pattern_without_duplicates)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", NULL);
    add_ok(r, "GET", "/v1/users/me", NULL);
    add_ok(r, "HEAD", "/v1/users/me", NULL);
    add_ok(r, "PUT", "/v1/users/me", NULL);
    add_ok(r, "DELETE", "/v1/users/{id}", NULL);
    match_t mt = match(r, "POST", "/v1/users/me");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_str_eq(mt.allow, "GET, HEAD, PUT, DELETE");
    /* /v1/users/x only matches the {id} routes */
    mt = match(r, "POST", "/v1/users/x");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_str_eq(mt.allow, "GET, HEAD, DELETE");
    tc_router_free(r);
}

Test(router, allow_with_similar_method_names)
{
    /* "POST" must not be mistaken for a duplicate because "PO" or "ST" appear */
    tc_router_t *r = tc_router_new();
    add_ok(r, "PUT", "/x", NULL);
    add_ok(r, "PU", "/x", NULL);
    add_ok(r, "UT", "/x", NULL);
    match_t mt = match(r, "GET", "/x");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_str_eq(mt.allow, "PUT, PU, UT");
    tc_router_free(r);
}

Test(router, allow_buffer_optional)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "POST", "/x", NULL);
    const tc_route_t *rt = NULL;
    tc_params_t p;
    cr_assert_eq(tc_router_match(r, "GET", "/x", &rt, &p, NULL, 0), TC_MATCH_NO_METHOD);
    tc_router_free(r);
}

Test(router, head_matches_get_routes)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", &tag_a);
    match_t mt = match(r, "HEAD", "/v1/users/usr_1");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_a);
    cr_assert_str_eq(param(&mt, "id"), "usr_1");
    tc_params_free(&mt.params);
    /* but GET does not match a HEAD-only route */
    add_ok(r, "HEAD", "/probe", &tag_b);
    mt = match(r, "GET", "/probe");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_str_eq(mt.allow, "HEAD");
    tc_router_free(r);
}

Test(router, explicit_head_route_preferred_over_get_only_when_more_specific)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/me", &tag_a);
    add_ok(r, "HEAD", "/v1/users/{id}", &tag_b);
    match_t mt = match(r, "HEAD", "/v1/users/me");
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.route->ud, &tag_a, "the literal pattern wins for HEAD too");
    tc_router_free(r);
}

Test(router, methods_are_case_sensitive)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/x", NULL);
    match_t mt = match(r, "get", "/x");
    cr_assert_eq(mt.m, TC_MATCH_NO_METHOD);
    cr_assert_str_eq(mt.allow, "GET, HEAD");
    tc_router_free(r);
}

/* ------------------------------------------------------------------------- registration */

Test(router, duplicate_method_and_pattern_rejected)
{
    tc_router_t *r = tc_router_new();
    add_ok(r, "GET", "/v1/users/{id}", &tag_a);
    cr_assert_eq(add(r, "GET", "/v1/users/{id}", &tag_b), TC_EINVAL);
    cr_assert_eq(add(r, "GET", "/v1/users/{user}", &tag_b), TC_EINVAL,
                 "a renamed parameter is the same, ambiguous route");
    add_ok(r, "POST", "/v1/users/{id}", NULL); /* another method is fine */
    add_ok(r, "GET", "/v1/users", NULL);       /* another pattern is fine */
    match_t mt = match(r, "GET", "/v1/users/1");
    cr_assert_eq(mt.route->ud, &tag_a, "the first registration stays");
    tc_params_free(&mt.params);
    tc_router_free(r);
}

Test(router, malformed_patterns_rejected)
{
    static const char *const bad[] = {
        "",      "users",   "v1/users", "/a/{",    "/a/{}",   "/a//b",   "/a/",
        "//",    "/a/{x",   "/a/x}",    "/a/{x}y", "/a/x{y}", "/{}/b",   "/a/b/",
        "/a/}{", "/a{b}/c", "a/{id}",   "/a/{x}/", "/a/b//c", "/a/{x}}",
    };
    tc_router_t *r = tc_router_new();
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_expect_eq(add(r, "GET", bad[i], NULL), TC_EINVAL, "accepted \"%s\"", bad[i]);
    /* nothing was registered, so a valid pattern is still accepted */
    add_ok(r, "GET", "/a/{x}", NULL);
    expect_found(r, "GET", "/a/1", "/a/{x}");
    tc_router_free(r);
}

Test(router, missing_fields_rejected)
{
    tc_router_t *r = tc_router_new();
    tc_route_t rt = {.method = "GET", .pattern = "/x", .fn = NULL};
    cr_assert_eq(tc_router_add(r, &rt), TC_EINVAL);
    rt.fn = noop;
    rt.method = NULL;
    cr_assert_eq(tc_router_add(r, &rt), TC_EINVAL);
    rt.method = "GET";
    rt.pattern = NULL;
    cr_assert_eq(tc_router_add(r, &rt), TC_EINVAL);
    cr_assert_eq(tc_router_add(r, NULL), TC_EINVAL);
    tc_router_free(r);
}

static void build_params_pattern(char *out, size_t outlen, int nparams)
{
    size_t off = 0;
    for (int i = 0; i < nparams; i++)
        off += (size_t)snprintf(out + off, outlen - off, "/{p%d}", i);
}

Test(router, at_most_max_params)
{
    char pattern[256], path[256] = "";
    tc_router_t *r = tc_router_new();
    build_params_pattern(pattern, sizeof pattern, TC_MAX_PARAMS + 1);
    cr_assert_eq(add(r, "GET", pattern, NULL), TC_EINVAL, "%s", pattern);
    build_params_pattern(pattern, sizeof pattern, TC_MAX_PARAMS);
    add_ok(r, "GET", pattern, NULL);

    size_t off = 0;
    for (int i = 0; i < TC_MAX_PARAMS; i++)
        off += (size_t)snprintf(path + off, sizeof path - off, "/v%d", i);
    match_t mt = match(r, "GET", path);
    cr_assert_eq(mt.m, TC_MATCH_FOUND);
    cr_assert_eq(mt.params.n, TC_MAX_PARAMS);
    for (int i = 0; i < TC_MAX_PARAMS; i++) {
        char name[16], value[16];
        snprintf(name, sizeof name, "p%d", i);
        snprintf(value, sizeof value, "v%d", i);
        cr_assert_str_eq(param(&mt, name), value);
    }
    tc_params_free(&mt.params);
    tc_router_free(r);
}

Test(router, many_routes)
{
    /* growth past the initial capacity keeps earlier routes intact */
    tc_router_t *r = tc_router_new();
    char pattern[64];
    for (int i = 0; i < 100; i++) {
        snprintf(pattern, sizeof pattern, "/v1/r%d/{id}", i);
        add_ok(r, "GET", pattern, NULL);
    }
    for (int i = 0; i < 100; i += 7) {
        char path[64];
        snprintf(pattern, sizeof pattern, "/v1/r%d/{id}", i);
        snprintf(path, sizeof path, "/v1/r%d/x", i);
        expect_found(r, "GET", path, pattern);
    }
    tc_router_free(r);
}

Test(router, free_null)
{
    tc_router_free(NULL);
}

/* ------------------------------------------------------------------------- tc_url_decode */

static void expect_decode(const char *in, const char *want)
{
    char out[64];
    memset(out, 'X', sizeof out);
    long n = tc_url_decode(in, strlen(in), out, sizeof out);
    cr_assert_eq(n, (long)strlen(want), "\"%s\" → %ld", in, n);
    cr_assert_str_eq(out, want);
}

static void expect_decode_fails(const char *in)
{
    char out[64];
    cr_assert_eq(tc_url_decode(in, strlen(in), out, sizeof out), -1, "\"%s\"", in);
}

Test(url_decode, valid)
{
    expect_decode("", "");
    expect_decode("abc", "abc");
    expect_decode("%41%42c", "ABc");
    expect_decode("%e2%82%ac", "\xe2\x82\xac");
    expect_decode("%E2%82%AC", "\xe2\x82\xac");
    expect_decode("a+b", "a+b");
    expect_decode("%2B%20", "+ ");
    expect_decode("%25", "%");
    expect_decode("%2525", "%25"); /* decoded once only */
    expect_decode("%7F", "\x7f");
}

Test(url_decode, malformed)
{
    expect_decode_fails("%");
    expect_decode_fails("%4");
    expect_decode_fails("a%4");
    expect_decode_fails("%zz");
    expect_decode_fails("%4g");
    expect_decode_fails("%g4");
    expect_decode_fails("%00");
    expect_decode_fails("abc%00def");
    expect_decode_fails("% 41");
    expect_decode_fails("%-1");
}

Test(url_decode, respects_n)
{
    char out[16];
    /* only the first 3 bytes are read: "%41" */
    cr_assert_eq(tc_url_decode("%41%42", 3, out, sizeof out), 1);
    cr_assert_str_eq(out, "A");
    /* an escape cut by n is malformed, even if more bytes follow in memory */
    cr_assert_eq(tc_url_decode("%41", 2, out, sizeof out), -1);
    cr_assert_eq(tc_url_decode("abc", 0, out, sizeof out), 0);
    cr_assert_str_eq(out, "");
}

Test(url_decode, output_too_small)
{
    char out[4];
    cr_assert_eq(tc_url_decode("abc", 3, out, 4), 3);
    cr_assert_str_eq(out, "abc");
    cr_assert_eq(tc_url_decode("abcd", 4, out, 4), -1);
    cr_assert_eq(tc_url_decode("%41%42%43%44", 12, out, 4), -1);
    cr_assert_eq(tc_url_decode("", 0, out, 0), -1, "no room for the terminator");
    cr_assert_eq(tc_url_decode("a", 1, out, 1), -1);
}
