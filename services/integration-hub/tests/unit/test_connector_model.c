/* connector_model and hub_schema: the catalog compiled into the hub loads; definitions that
 * break a rule are refused with the rule named; the JSON Schema subset; the exact request an
 * action builds (URL, percent-encoding, query, headers, authentication, body); OAuth token
 * requests and answers; Retry-After; JSON Pointers. */
#include "connector_model.h"
#include "hub_schema.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

static void fields_of(const tc_jv_t *jv, char *out, size_t n)
{
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, jv->errors)
    {
        strncat(out, tc_json_get_str(e, "field"), n - strlen(out) - 2);
        strncat(out, " ", n - strlen(out) - 1);
    }
}

/* ------------------------------------------------------------------ the catalog */

Test(catalog, the_compiled_in_catalog_loads_sorted)
{
    hub_catalog_t cat;
    char err[256] = "";
    cr_assert_eq(
        hub_catalog_load(&cat, hub_connector_files, hub_connector_files_count, err, sizeof err),
        TC_OK, "%s", err);
    cr_assert_eq(cat.n, hub_connector_files_count);
    for (size_t i = 1; i < cat.n; i++)
        cr_assert_lt(strcmp(cat.items[i - 1].id, cat.items[i].id), 0);
    const hub_connector_t *gh = hub_catalog_find(&cat, "github");
    cr_assert_not_null(gh);
    cr_assert(gh->base_fixed);
    cr_assert_eq(gh->auth, HUB_AUTH_BEARER);
    cr_assert_not_null(hub_connector_action(gh, "create_issue"));
    cr_assert_str_eq(hub_connector_test_action(gh), "get_authenticated_user");
    const hub_connector_t *oauth = hub_catalog_find(&cat, "http-oauth2");
    cr_assert_eq(oauth->auth, HUB_AUTH_OAUTH2_CC);
    cr_assert_not(oauth->base_fixed);
    cr_assert_null(hub_catalog_find(&cat, "nope"));
    /* actions are listed in name order whatever the file's order */
    cJSON *sum = hub_connector_summary(hub_catalog_find(&cat, "http"));
    char *names = cJSON_PrintUnformatted(cJSON_GetObjectItem(sum, "actions"));
    cr_assert_str_eq(names, "[\"delete\",\"get\",\"patch\",\"post\",\"put\"]");
    free(names);
    cJSON_Delete(sum);
    hub_catalog_free(&cat);
}

static int load_one(const char *text, char *err, size_t errlen)
{
    cJSON *d = parse(text);
    char name[64];
    snprintf(name, sizeof name, "%s.json", tc_json_get_str(d, "id"));
    cJSON_Delete(d);
    hub_connector_file_t f = {name, text};
    hub_catalog_t cat;
    int rc = hub_catalog_load(&cat, &f, 1, err, errlen);
    if (rc == TC_OK)
        hub_catalog_free(&cat);
    return rc;
}

#define BASE                                                                                       \
    "\"id\":\"x1\",\"name\":\"X\",\"category\":\"http\",\"description\":\"d\","                    \
    "\"base_url\":\"https://api.example.com\",\"auth\":{\"type\":\"none\"},"
#define INPUT_OWNER                                                                                \
    "\"input\":{\"type\":\"object\",\"required\":[\"owner\"],\"properties\":{\"owner\":{"          \
    "\"type\":\"string\"}}}"

Test(catalog, a_good_definition_loads)
{
    char err[256] = "";
    cr_assert_eq(load_one("{" BASE "\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\","
                          "\"method\":\"GET\",\"path\":\"/u/{owner}\"," INPUT_OWNER "}}}",
                          err, sizeof err),
                 TC_OK, "%s", err);
}

Test(catalog, broken_definitions_are_refused_with_the_rule)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{" BASE "\"actions\":{}}", "at least one action"},
        {"{" BASE "\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\",\"method\":\"GET\","
         "\"path\":\"/u/{owner}\",\"input\":{\"type\":\"object\"}}}}",
         "not a required string"},
        {"{" BASE "\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\",\"method\":\"GET\","
         "\"path\":\"/\",\"input\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":"
         "\"string\",\"pattern\":\"^a\"}}}}}}",
         "keyword \"pattern\" is not supported"},
        {"{" BASE "\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\",\"method\":\"TRACE\","
         "\"path\":\"/\",\"input\":{\"type\":\"object\"}}}}",
         "needs title"},
        {"{" BASE "\"test\":\"zz\",\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\","
         "\"method\":\"GET\",\"path\":\"/\",\"input\":{\"type\":\"object\"}}}}",
         "test names no action"},
        {"{\"id\":\"x1\",\"name\":\"X\",\"category\":\"http\",\"description\":\"d\","
         "\"base_url\":\"{settings.base}\",\"auth\":{\"type\":\"none\"},\"actions\":{\"a\":{"
         "\"title\":\"t\",\"description\":\"d\",\"method\":\"GET\",\"path\":\"/\",\"input\":{"
         "\"type\":\"object\"}}}}",
         "not a uri-format property"},
        {"{\"id\":\"x1\",\"name\":\"X\",\"category\":\"http\",\"description\":\"d\","
         "\"base_url\":\"https://a.example\",\"auth\":{\"type\":\"bearer\",\"field\":\"tok\"},"
         "\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\",\"method\":\"GET\","
         "\"path\":\"/\",\"input\":{\"type\":\"object\"}}}}",
         "credential tok"},
        {"{\"id\":\"X1\",\"name\":\"X\",\"category\":\"http\",\"description\":\"d\","
         "\"base_url\":\"https://api.example.com\",\"auth\":{\"type\":\"none\"},\"actions\":{}}",
         "[a-z][a-z0-9-]{1,39}"},
        {"{" BASE "\"actions\":{\"Bad-Name\":{\"title\":\"t\",\"description\":\"d\","
         "\"method\":\"GET\",\"path\":\"/\",\"input\":{\"type\":\"object\"}}}}",
         "action name Bad-Name"},
        {"{" BASE "\"surprise\":1,\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\","
         "\"method\":\"GET\",\"path\":\"/\",\"input\":{\"type\":\"object\"}}}}",
         "field surprise is not known"},
        {"{" BASE "\"actions\":{\"a\":{\"title\":\"t\",\"description\":\"d\",\"method\":\"POST\","
         "\"path\":\"/\",\"body\":\"nope\",\"input\":{\"type\":\"object\"}}}}",
         "body is none, rest or an input property"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        cr_assert_eq(load_one(cases[i].text, err, sizeof err), TC_EINVAL, "case %zu loaded", i);
        cr_assert_not_null(strstr(err, cases[i].want), "case %zu: %s", i, err);
    }
}

/* ------------------------------------------------------------------ the schema subset */

Test(schema, values_are_checked_field_by_field)
{
    cJSON *schema =
        parse("{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"url\",\"n\"],"
              "\"properties\":{\"url\":{\"type\":\"string\",\"format\":\"uri\"},"
              "\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},"
              "\"s\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":3},"
              "\"e\":{\"type\":\"string\",\"enum\":[\"a\",\"b\"]},"
              "\"tags\":{\"type\":\"array\",\"maxItems\":2,\"items\":{\"type\":\"string\"}}}}");
    cJSON *good = parse("{\"url\":\"https://x.example/a\",\"n\":5,\"s\":\"\xc3\xa9t\xc3\xa9\","
                        "\"e\":\"a\",\"tags\":[\"x\"]}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_schema_check(&jv, schema, good, "settings");
    cr_assert_not(tc_jv_failed(&jv));
    tc_jv_free(&jv);
    cJSON *bad = parse("{\"url\":\"ftp://x\",\"n\":1.5,\"s\":\"abcd\",\"e\":\"c\","
                       "\"tags\":[\"x\",2,\"z\"],\"zz\":1}");
    tc_jv_init(&jv);
    hub_schema_check(&jv, schema, bad, "settings");
    char fields[512];
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "settings.url settings.n settings.s settings.e settings.tags "
                             "settings.tags[1] settings.zz ");
    tc_jv_free(&jv);
    cJSON *missing = parse("{\"n\":0}");
    tc_jv_init(&jv);
    hub_schema_check(&jv, schema, missing, "settings");
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "settings.url settings.n ");
    tc_jv_free(&jv);
    cJSON_Delete(schema);
    cJSON_Delete(good);
    cJSON_Delete(bad);
    cJSON_Delete(missing);
}

Test(schema, urls_need_a_scheme_and_a_host)
{
    cr_assert(hub_schema_url_valid("https://a.example"));
    cr_assert(hub_schema_url_valid("http://127.0.0.1:8080/x?y=1"));
    cr_assert_not(hub_schema_url_valid("https://"));
    cr_assert_not(hub_schema_url_valid("https:///path"));
    cr_assert_not(hub_schema_url_valid("file:///etc/passwd"));
    cr_assert_not(hub_schema_url_valid("https://a.example/ b"));
}

/* ------------------------------------------------------------------ building calls */

typedef struct {
    hub_catalog_t cat;
} fixture_t;

static fixture_t fx;

static void load_catalog(void)
{
    char err[256] = "";
    cr_assert_eq(
        hub_catalog_load(&fx.cat, hub_connector_files, hub_connector_files_count, err, sizeof err),
        TC_OK, "%s", err);
}

static void free_catalog(void)
{
    hub_catalog_free(&fx.cat);
}

static const char *header(const hub_call_t *call, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < call->nheaders; i++)
        if (strncmp(call->headers[i], name, n) == 0 && call->headers[i][n] == ':')
            return call->headers[i] + n + 2;
    return NULL;
}

static int build(const char *connector, const char *action, const char *settings,
                 const char *credentials, const char *base_url, const char *input, tc_jv_t *jv,
                 hub_call_t *call)
{
    const hub_connector_t *c = hub_catalog_find(&fx.cat, connector);
    cr_assert_not_null(c);
    cJSON *s = parse(settings), *cr = parse(credentials), *in = parse(input);
    hub_conn_view_t view = {
        .settings = s, .credentials = cr, .base_url = base_url, .idempotency_key = "idem-1"};
    int rc = hub_call_build(c, hub_connector_action(c, action), &view, in, jv, call);
    cJSON_Delete(s);
    cJSON_Delete(cr);
    cJSON_Delete(in);
    return rc;
}

TestSuite(call, .init = load_catalog, .fini = free_catalog);

Test(call, path_fields_are_percent_encoded_and_query_fields_follow)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_call_t call;
    cr_assert_eq(build("github", "list_repo_issues", "{}", "{\"token\":\"ghp_x\"}", NULL,
                       "{\"owner\":\"a b/c\",\"repo\":\"r\xc3\xa9\",\"state\":\"open\","
                       "\"per_page\":50}",
                       &jv, &call),
                 TC_OK);
    cr_assert_str_eq(call.url, "https://api.github.com/repos/a%20b%2Fc/r%C3%A9/issues"
                               "?state=open&per_page=50");
    cr_assert_str_eq(call.method, "GET");
    cr_assert_null(call.body);
    cr_assert_str_eq(header(&call, "Authorization"), "Bearer ghp_x");
    cr_assert_str_eq(header(&call, "X-GitHub-Api-Version"), "2022-11-28");
    cr_assert_eq(call.max_attempts, 3);
    hub_call_free(&call);
    tc_jv_free(&jv);
}

Test(call, a_connection_may_move_a_fixed_base_url)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_call_t call;
    cr_assert_eq(
        build("github", "create_issue", "{}", "{\"token\":\"t\"}", "https://ghe.example/api/v3/",
              "{\"owner\":\"o\",\"repo\":\"r\",\"title\":\"Hi\",\"labels\":[\"bug\"]}", &jv, &call),
        TC_OK);
    cr_assert_str_eq(call.url, "https://ghe.example/api/v3/repos/o/r/issues");
    cr_assert_str_eq(call.body, "{\"title\":\"Hi\",\"labels\":[\"bug\"]}");
    cr_assert_str_eq(header(&call, "Content-Type"), "application/json");
    cr_assert_eq(call.max_attempts, 1, "a POST without an idempotency header is sent once");
    hub_call_free(&call);
    tc_jv_free(&jv);
}

Test(call, basic_api_key_and_webhook_url_authentication)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_call_t call;
    cr_assert_eq(build("jira", "get_issue", "{\"site_url\":\"https://acme.atlassian.net\"}",
                       "{\"email\":\"a@b.example\",\"api_token\":\"tok\"}", NULL,
                       "{\"issueIdOrKey\":\"PRJ-1\",\"fields\":\"summary\"}", &jv, &call),
                 TC_OK);
    cr_assert_str_eq(call.url, "https://acme.atlassian.net/rest/api/3/issue/PRJ-1?fields=summary");
    /* base64("a@b.example:tok") */
    cr_assert_str_eq(header(&call, "Authorization"), "Basic YUBiLmV4YW1wbGU6dG9r");
    hub_call_free(&call);
    cr_assert_eq(build("datadog", "validate_key", "{\"site_url\":\"https://api.datadoghq.eu\"}",
                       "{\"api_key\":\"k1\"}", NULL, "{}", &jv, &call),
                 TC_OK);
    cr_assert_str_eq(header(&call, "DD-API-KEY"), "k1");
    cr_assert_str_eq(call.output, "/valid");
    hub_call_free(&call);
    cr_assert_eq(build("discord", "post_message", "{}",
                       "{\"webhook_url\":\"https://discord.example/api/webhooks/1/abc\"}", NULL,
                       "{\"content\":\"hi\"}", &jv, &call),
                 TC_OK);
    cr_assert_str_eq(call.url, "https://discord.example/api/webhooks/1/abc?wait=true");
    cr_assert_str_eq(call.body, "{\"content\":\"hi\"}");
    cr_assert_null(header(&call, "Authorization"));
    hub_call_free(&call);
    tc_jv_free(&jv);
}

Test(call, the_generic_request_takes_query_headers_and_a_body_field)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_call_t call;
    cr_assert_eq(build("http", "post", "{\"base_url\":\"https://api.example.com/v1\"}", "{}", NULL,
                       "{\"path\":\"/items/a b\",\"query\":{\"q\":\"x&y\",\"n\":2,\"f\":true},"
                       "\"headers\":{\"X-Trace\":\"t1\"},\"body\":[1,2]}",
                       &jv, &call),
                 TC_OK, "%s", jv.errors ? cJSON_PrintUnformatted(jv.errors) : "");
    cr_assert_str_eq(call.url, "https://api.example.com/v1/items/a%20b?q=x%26y&n=2&f=true");
    cr_assert_str_eq(header(&call, "X-Trace"), "t1");
    cr_assert_str_eq(header(&call, "Idempotency-Key"), "idem-1");
    cr_assert_null(header(&call, "Authorization"), "no token in the connection: none sent");
    cr_assert_str_eq(call.body, "[1,2]");
    cr_assert_eq(call.max_attempts, 3, "an idempotency key makes a POST safe to repeat");
    hub_call_free(&call);
    /* a path keeps its slashes only: no query, fragment or userinfo slips in through it */
    cr_assert_eq(build("http", "get", "{\"base_url\":\"https://api.example.com/\"}", "{}", NULL,
                       "{\"path\":\"/s?q=1#x@y\"}", &jv, &call),
                 TC_OK);
    cr_assert_str_eq(call.url, "https://api.example.com/s%3Fq%3D1%23x%40y");
    hub_call_free(&call);
    tc_jv_free(&jv);
}

Test(call, a_query_only_path_adds_to_the_base_urls_query)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_call_t call;
    cr_assert_eq(build("discord", "post_message", "{}",
                       "{\"webhook_url\":\"https://discord.example/api/webhooks/1/a?thread_id=9\"}",
                       NULL, "{\"content\":\"hi\"}", &jv, &call),
                 TC_OK);
    cr_assert_str_eq(call.url, "https://discord.example/api/webhooks/1/a?thread_id=9&wait=true");
    hub_call_free(&call);
    tc_jv_free(&jv);
}

Test(call, inputs_that_would_leave_the_base_or_take_over_headers_are_refused)
{
    static const struct {
        const char *input, *fields;
    } cases[] = {
        {"{\"path\":\"@evil.example/x\"}", "input.path "},
        {"{\"path\":\"evil.example\"}", "input.path "},
        {"{\"path\":\"/a/../admin\"}", "input.path "},
        {"{\"path\":\"/a\",\"headers\":{\"Authorization\":\"Bearer x\",\"Host\":\"h\"}}",
         "input.headers.Authorization input.headers.Host "},
        {"{\"path\":\"/a\",\"headers\":{\"X-A\":\"one\\r\\nX-B: two\"}}", "input.headers.X-A "},
        {"{\"path\":\"/a\",\"query\":{\"q\":[1]}}", "input.query.q "},
        {"{}", "input.path "},
        {"{\"path\":\"/a\",\"extra\":1}", "input.extra "},
        {"{\"path\":\"/a\",\"headers\":{\"User-Agent\":\"x\"}}", "input.headers.User-Agent "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        hub_call_t call;
        cr_assert_eq(build("http", "get", "{\"base_url\":\"https://api.example.com\"}", "{}", NULL,
                           cases[i].input, &jv, &call),
                     TC_EINVAL, "case %zu built", i);
        char fields[256];
        fields_of(&jv, fields, sizeof fields);
        cr_assert_str_eq(fields, cases[i].fields, "case %zu", i);
        tc_jv_free(&jv);
    }
}

Test(call, a_path_field_may_not_be_a_dot_segment)
{
    for (int i = 0; i < 2; i++) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        hub_call_t call;
        cr_assert_eq(
            build("github", "list_repo_issues", "{}", "{\"token\":\"t\"}", NULL,
                  i ? "{\"owner\":\"..\",\"repo\":\"r\"}" : "{\"owner\":\"o\",\"repo\":\".\"}", &jv,
                  &call),
            TC_EINVAL);
        char fields[128];
        fields_of(&jv, fields, sizeof fields);
        cr_assert_str_eq(fields, i ? "input.owner " : "input.repo ");
        tc_jv_free(&jv);
    }
}

Test(call, a_missing_templated_base_url_is_the_connections_fault)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_call_t call;
    cr_assert_eq(build("slack", "post_message", "{}", "{}", NULL, "{\"text\":\"x\"}", &jv, &call),
                 TC_EINVAL);
    cr_assert_not(tc_jv_failed(&jv));
    tc_jv_free(&jv);
}

Test(call, oauth_token_requests_follow_rfc6749)
{
    const hub_connector_t *c = hub_catalog_find(&fx.cat, "http-oauth2");
    cJSON *s = parse("{\"base_url\":\"https://api.example.com\","
                     "\"token_url\":\"https://id.example/token\",\"scope\":\"read write\"}");
    cJSON *cr = parse("{\"client_id\":\"app:1\",\"client_secret\":\"s&cret\"}");
    hub_conn_view_t view = {.settings = s, .credentials = cr};
    hub_call_t call;
    cr_assert_eq(hub_oauth_token_call(c, &view, &call), TC_OK);
    cr_assert_str_eq(call.url, "https://id.example/token");
    cr_assert_str_eq(call.body, "grant_type=client_credentials&scope=read%20write");
    /* base64("app%3A1:s%26cret"): each part form-encoded first (RFC 6749 §2.3.1) */
    cr_assert_str_eq(header(&call, "Authorization"), "Basic YXBwJTNBMTpzJTI2Y3JldA==");
    hub_call_free(&call);
    view.access_token = "tok-9";
    cJSON *in = parse("{\"path\":\"/me\"}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    cr_assert_eq(hub_call_build(c, hub_connector_action(c, "get"), &view, in, &jv, &call), TC_OK);
    cr_assert_str_eq(header(&call, "Authorization"), "Bearer tok-9");
    hub_call_free(&call);
    tc_jv_free(&jv);
    cJSON_Delete(in);
    cJSON_Delete(s);
    cJSON_Delete(cr);
}

Test(oauth, token_answers)
{
    char *token = NULL;
    int64_t exp = 0;
    const char *why = NULL;
    const char *good = "{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"expires_in\":120}";
    cr_assert_eq(hub_oauth_token_parse(good, strlen(good), &token, &exp, &why), TC_OK);
    cr_assert_str_eq(token, "abc");
    cr_assert_eq(exp, 120);
    free(token);
    const char *noexp = "{\"access_token\":\"abc\"}";
    cr_assert_eq(hub_oauth_token_parse(noexp, strlen(noexp), &token, &exp, &why), TC_OK);
    cr_assert_eq(exp, 3600);
    free(token);
    static const char *const bad[] = {"[]",
                                      "{\"token_type\":\"bearer\"}",
                                      "{\"access_token\":\"a\\u0001b\"}",
                                      "{\"access_token\":\"a\"} trailing",
                                      "{\"access_token\":\"a\",\"token_type\":\"mac\"}",
                                      "{\"access_token\":\"a\",\"expires_in\":-1}",
                                      "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(hub_oauth_token_parse(bad[i], strlen(bad[i]), &token, &exp, &why), TC_EINVAL,
                     "%s", bad[i]);
        cr_assert_null(token);
    }
    cr_assert_eq(hub_oauth_refresh_at(1000, 3600), 1000 + 3540 * 1000);
    cr_assert_eq(hub_oauth_refresh_at(1000, 60), 1000 + 30 * 1000);
}

Test(answers, retry_after_and_backoff)
{
    cr_assert_eq(hub_retry_after_ms("2", 0), 2000);
    cr_assert_eq(hub_retry_after_ms(" 0", 0), 0);
    cr_assert_eq(hub_retry_after_ms("soon", 0), -1);
    cr_assert_eq(hub_retry_after_ms(NULL, 0), -1);
    /* years away is "not now", never "absent" (which would retry at once) */
    cr_assert_gt(hub_retry_after_ms("99999999999", 0), HUB_RETRY_AFTER_MAX_MS);
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    cr_assert_eq(hub_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111770000LL), 7000);
    cr_assert_eq(hub_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111790000LL), 0);
    cr_assert(hub_status_retryable(429) && hub_status_retryable(503));
    cr_assert_not(hub_status_retryable(500) || hub_status_retryable(404));
    cr_assert_eq(hub_backoff_ms(2), 200);
    cr_assert_eq(hub_backoff_ms(3), 400);
    cr_assert_eq(hub_backoff_ms(10), 2000);
}

Test(answers, a_parse_must_take_the_whole_answer)
{
    /* cJSON stops after the first value: "404 page not found" parses as 404 */
    const char *texts[] = {"404 page not found", "[1]\x89PNG", "{\"a\":1} x", "2024-01-01,ok\n"};
    for (size_t i = 0; i < 4; i++) {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(texts[i], strlen(texts[i]), &end, false);
        cr_assert_not_null(j, "%s", texts[i]);
        cr_assert_not(hub_json_whole(end, texts[i] + strlen(texts[i])), "%s", texts[i]);
        cJSON_Delete(j);
    }
    const char *ok = " {\"a\": [1, 2]} \r\n";
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(ok, strlen(ok), &end, false);
    cr_assert(hub_json_whole(end, ok + strlen(ok)));
    cJSON_Delete(j);
}

Test(answers, json_pointers)
{
    cJSON *doc = parse("{\"data\":{\"a/b\":[10,{\"~x\":true}]},\"\":1}");
    cr_assert_eq(hub_json_pointer(doc, ""), doc);
    cr_assert(cJSON_IsTrue(hub_json_pointer(doc, "/data/a~1b/1/~0x")));
    cr_assert_eq(hub_json_pointer(doc, "/data/a~1b/0")->valueint, 10);
    cr_assert_eq(hub_json_pointer(doc, "/")->valueint, 1);
    cr_assert_null(hub_json_pointer(doc, "/data/a~1b/01"));
    cr_assert_null(hub_json_pointer(doc, "/data/a~1b/+1"));
    cr_assert_null(hub_json_pointer(doc, "/data/a~1b/ 1"));
    cr_assert_null(hub_json_pointer(doc, "/data/a~1b/4294967296"));
    cr_assert_null(hub_json_pointer(doc, "/data/missing"));
    cr_assert_null(hub_json_pointer(doc, "data"));
    cJSON_Delete(doc);
}

Test(connections, bodies_are_checked_against_the_connector)
{
    load_catalog();
    cJSON *body = parse("{\"connector\":\"github\",\"name\":\"gh\",\"settings\":{\"x\":1},"
                        "\"credentials\":{\"token\":5},\"base_url\":\"https://ghe.example\"}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    hub_connection_in_t in;
    hub_connection_validate(&jv, &fx.cat, body, NULL, false, &in);
    char fields[256];
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "settings.x credentials.token ");
    tc_jv_free(&jv);
    cJSON_Delete(body);
    body = parse("{\"connector\":\"jira\",\"name\":\"j\",\"base_url\":\"https://x.example\","
                 "\"settings\":{\"site_url\":\"not a url\"}}");
    tc_jv_init(&jv);
    hub_connection_validate(&jv, &fx.cat, body, NULL, false, &in);
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "base_url settings.site_url credentials.email credentials.api_token ");
    tc_jv_free(&jv);
    cJSON_Delete(body);
    /* credentials become header values: no control characters */
    body = parse(
        "{\"connector\":\"github\",\"name\":\"g\",\"credentials\":{\"token\":\"a\\r\\nX: 1\"}}");
    tc_jv_init(&jv);
    hub_connection_validate(&jv, &fx.cat, body, NULL, false, &in);
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "credentials.token ");
    tc_jv_free(&jv);
    cJSON_Delete(body);
    /* a PATCH moving where stored credentials go must give them again */
    const hub_connector_t *gh = hub_catalog_find(&fx.cat, "github");
    body = parse("{\"base_url\":\"https://elsewhere.example\"}");
    tc_jv_init(&jv);
    hub_connection_validate(&jv, &fx.cat, body, gh, true, &in);
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "credentials ");
    tc_jv_free(&jv);
    tc_jv_init(&jv);
    hub_connection_validate(&jv, &fx.cat, body, gh, false, &in);
    cr_assert_not(tc_jv_failed(&jv), "nothing stored, nothing to protect");
    tc_jv_free(&jv);
    cJSON_Delete(body);
    body = parse("{\"connector\":\"nope\",\"name\":\"\"}");
    tc_jv_init(&jv);
    hub_connection_validate(&jv, &fx.cat, body, NULL, false, &in);
    fields_of(&jv, fields, sizeof fields);
    cr_assert_str_eq(fields, "connector name ");
    tc_jv_free(&jv);
    cJSON_Delete(body);
    /* the tail is 4 characters, not bytes: a hint never splits a character */
    cJSON *creds = parse("{\"token\":\"ghp_abcdefgh1234\",\"short\":\"abc\","
                         "\"ru\":\"\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c\xd0\xb4\xd0\xbb"
                         "\xd1\x8f\xd1\x82\xd0\xb5\xd1\x81\xd1\x82\xd0\xb0\"}");
    cJSON *hint = hub_credentials_hint(creds);
    char *text = cJSON_PrintUnformatted(hint);
    cr_assert_str_eq(text, "{\"token\":\"\xe2\x80\xa6"
                           "1234\",\"short\":\"\xe2\x80\xa6\","
                           "\"ru\":\"\xe2\x80\xa6\xd0\xb5\xd1\x81\xd1\x82\xd0\xb0\"}");
    free(text);
    cJSON_Delete(hint);
    cJSON_Delete(creds);
    free_catalog();
}
