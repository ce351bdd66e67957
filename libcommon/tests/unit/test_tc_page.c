/*
 * tc_page: cursor format (base64url of a versioned key), the list body shape, and
 * tc_page_parse through a real server (a tc_req_t only exists inside one).
 */
#include <criterion/criterion.h>

#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_http.h"
#include "tc/tc_log.h"
#include "tc/tc_page.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- cursor, body */

static void decode_cursor(const char *cursor, char *out, size_t outlen)
{
    long n = tc_b64url_decode(cursor, strlen(cursor), out, outlen - 1);
    cr_assert_geq(n, 0, "not base64url: %s", cursor);
    out[n] = '\0';
}

Test(page_cursor, format)
{
    char c[200], plain[200];
    cr_assert_eq(tc_page_cursor("2025-01-15T10:30:00.123Z|usr_01J", c, sizeof c), TC_OK);
    for (const char *p = c; *p; p++)
        cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p),
                  "cursor %s has '%c'", c, *p);
    decode_cursor(c, plain, sizeof plain);
    cr_assert_str_eq(plain, "v1:2025-01-15T10:30:00.123Z|usr_01J");

    cr_assert_eq(tc_page_cursor("usr_1", c, sizeof c), TC_OK);
    cr_assert_str_eq(c, "djE6dXNyXzE"); /* base64url("v1:usr_1"), no padding */
}

Test(page_cursor, output_too_small)
{
    char c[8];
    cr_assert_eq(tc_page_cursor("usr_0123456789", c, sizeof c), TC_EINVAL);
}

Test(page_cursor, keys_a_later_request_could_not_use_are_refused)
{
    char c[256], key[200];
    memset(key, 'k', sizeof key);
    key[127] = '\0'; /* the longest key tc_page_t.after can hold */
    cr_assert_eq(tc_page_cursor(key, c, sizeof c), TC_OK);
    key[127] = 'k';
    key[128] = '\0';
    cr_assert_eq(tc_page_cursor(key, c, sizeof c), TC_EINVAL, "128-char key");
    key[157] = '\0';
    cr_assert_eq(tc_page_cursor(key, c, sizeof c), TC_EINVAL);
    cr_assert_eq(tc_page_cursor("", c, sizeof c), TC_EINVAL);
    cr_assert_eq(tc_page_cursor("2025-01-15 10:30:00|usr_1", c, sizeof c), TC_EINVAL, "space");
    cr_assert_eq(tc_page_cursor("caf\xc3\xa9", c, sizeof c), TC_EINVAL, "non-ASCII");
    cr_assert_eq(tc_page_cursor("a\nb", c, sizeof c), TC_EINVAL);
}

static void expect_json(cJSON *v, const char *want)
{
    cr_assert_not_null(v);
    char *text = cJSON_PrintUnformatted(v);
    cr_assert_str_eq(text, want);
    free(text);
    cJSON_Delete(v);
}

Test(page_body, with_next_cursor)
{
    cJSON *data = cJSON_CreateArray();
    cJSON_AddItemToArray(data, cJSON_CreateString("a"));
    cJSON_AddItemToArray(data, cJSON_CreateNumber(2));
    expect_json(tc_page_body(data, "usr_1"),
                "{\"data\":[\"a\",2],\"next_cursor\":\"djE6dXNyXzE\"}");
}

Test(page_body, last_page)
{
    expect_json(tc_page_body(cJSON_CreateArray(), NULL), "{\"data\":[],\"next_cursor\":null}");
}

Test(page_body, cursor_round_trips)
{
    cJSON *body = tc_page_body(cJSON_CreateArray(), "2025-01-15T10:30:00.123Z|usr_9");
    cr_assert_not_null(body);
    const cJSON *next = cJSON_GetObjectItem(body, "next_cursor");
    cr_assert(cJSON_IsString(next));
    char plain[200];
    decode_cursor(next->valuestring, plain, sizeof plain);
    cr_assert_str_eq(plain, "v1:2025-01-15T10:30:00.123Z|usr_9");
    cJSON_Delete(body);
}

Test(page_body, unusable_key_fails_instead_of_ending_the_list)
{
    /* a null next_cursor would tell the client it saw everything */
    char key[200];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    cr_assert_null(tc_page_body(cJSON_CreateArray(), key)); /* data is freed either way */
}

/* ------------------------------------------------------------------------- tc_page_parse */

static tc_http_server_t *g_srv;
static tc_router_t *g_router;

static void h_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    tc_page_t pg;
    memset(&pg, 0x5a, sizeof pg);
    if (tc_page_parse(req, resp, &pg) != TC_OK)
        return; /* tc_page_parse answered 400 */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "limit", pg.limit);
    cJSON_AddStringToObject(o, "after", pg.after);
    tc_resp_json(resp, 200, o);
}

/* tc_page_respond: ?as=more (a next page), last, or down (the store failed) */
static void h_answer(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    const char *as = tc_req_query(req, "as");
    cJSON *data = cJSON_CreateArray();
    cJSON_AddItemToArray(data, cJSON_CreateString("a"));
    if (as && strcmp(as, "down") == 0)
        tc_page_respond(resp, TC_EUNAVAIL, data, NULL);
    else
        tc_page_respond(resp, TC_OK, data, as && strcmp(as, "more") == 0 ? "k1" : "");
}

static void server_up(void)
{
    tc_log_init("page-test", "error");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_router = tc_router_new();
    tc_route_t rt = {.method = "GET", .pattern = "/v1/items", .fn = h_list};
    cr_assert_eq(tc_router_add(g_router, &rt), TC_OK);
    tc_route_t answer = {.method = "GET", .pattern = "/v1/answer", .fn = h_answer};
    cr_assert_eq(tc_router_add(g_router, &answer), TC_OK);
    tc_http_opts_t o = {
        .service = "page-test", .bind_addr = "127.0.0.1", .threads = 2, .router = g_router};
    g_srv = tc_http_start(&o);
    cr_assert_not_null(g_srv);
}

static void server_down(void)
{
    tc_http_stop(g_srv);
    tc_router_free(g_router);
    curl_global_cleanup();
}

TestSuite(page_parse, .init = server_up, .fini = server_down);

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    tc_buf_append(ud, p, size * n);
    return size * n;
}

/* GET target; returns the status and the parsed JSON body (caller deletes). */
static long get(const char *target, cJSON **json)
{
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", tc_http_port(g_srv), target);
    tc_buf_t body = TC_BUF_INIT;
    CURL *c = curl_easy_init();
    cr_assert_not_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s: %s", target, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    *json = cJSON_Parse(tc_buf_cstr(&body));
    cr_assert_not_null(*json, "%s: body is not JSON: %s", target, tc_buf_cstr(&body));
    tc_buf_free(&body);
    return status;
}

static void expect_page(const char *target, int limit, const char *after)
{
    cJSON *j = NULL;
    cr_assert_eq(get(target, &j), 200, "%s", target);
    cr_assert_eq(cJSON_GetObjectItem(j, "limit")->valueint, limit, "%s", target);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "after")->valuestring, after, "%s", target);
    cJSON_Delete(j);
}

static void expect_400(const char *target, const char *code)
{
    cJSON *j = NULL;
    cr_assert_eq(get(target, &j), 400, "%s", target);
    const cJSON *err = cJSON_GetObjectItem(j, "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "code")->valuestring, code, "%s", target);
    cJSON_Delete(j);
}

Test(page_parse, defaults)
{
    expect_page("/v1/items", TC_PAGE_DEFAULT, "");
    expect_page("/v1/items?other=1", TC_PAGE_DEFAULT, "");
}

Test(page_parse, limit)
{
    expect_page("/v1/items?limit=1", 1, "");
    expect_page("/v1/items?limit=50", 50, "");
    expect_page("/v1/items?limit=100", 100, "");
    static const char *const bad[] = {"0", "101", "-1", "abc", "5x", "", "1e2", "2147483648"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        char target[64];
        snprintf(target, sizeof target, "/v1/items?limit=%s", bad[i]);
        expect_400(target, "invalid_parameter");
    }
    cJSON *j = NULL;
    cr_assert_eq(get("/v1/items?limit=0", &j), 400);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message")->valuestring,
                     "limit must be an integer from 1 to 100");
    cJSON_Delete(j);
}

static void expect_cursor_round_trip(const char *key)
{
    char c[200], target[300];
    cr_assert_eq(tc_page_cursor(key, c, sizeof c), TC_OK);
    snprintf(target, sizeof target, "/v1/items?limit=10&cursor=%s", c);
    expect_page(target, 10, key);
}

Test(page_parse, cursor_round_trip)
{
    expect_cursor_round_trip("usr_1");
    expect_cursor_round_trip("2025-01-15T10:30:00.123Z|usr_01JABCDEFGHJKMNPQRSTVWXYZ");
    expect_cursor_round_trip("~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./");
    char key[128];
    memset(key, 'z', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    expect_cursor_round_trip(key); /* the longest key that fits */
}

static void expect_bad_cursor_plain(const char *plain, size_t n)
{
    char c[400], target[500];
    cr_assert_geq(tc_b64url_encode(plain, n, c, sizeof c), 0);
    snprintf(target, sizeof target, "/v1/items?cursor=%s", c);
    expect_400(target, "invalid_cursor");
}

Test(page_parse, invalid_cursors)
{
    expect_400("/v1/items?cursor=", "invalid_cursor");
    expect_400("/v1/items?cursor=!!!!", "invalid_cursor");
    expect_bad_cursor_plain("v2:usr_1", 8);    /* other version */
    expect_bad_cursor_plain("usr_1", 5);       /* no version */
    expect_bad_cursor_plain("v1:", 3);         /* empty key */
    expect_bad_cursor_plain("v1:a b", 6);      /* space */
    expect_bad_cursor_plain("v1:a\0b", 6);     /* NUL */
    expect_bad_cursor_plain("v1:\xc3\xa9", 5); /* non-ASCII */
    char plain[140] = "v1:";
    memset(plain + 3, 'k', 128);
    expect_bad_cursor_plain(plain, 131); /* longer than tc_page_t.after */
    char huge[300];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    char target[400];
    snprintf(target, sizeof target, "/v1/items?cursor=%s", huge);
    expect_400(target, "invalid_cursor");
}

Test(page_parse, respond_answers_the_page_or_the_failure)
{
    cJSON *j = NULL;
    cr_assert_eq(get("/v1/answer?as=more", &j), 200);
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0)->valuestring, "a");
    char cursor[256];
    cr_assert_eq(tc_page_cursor("k1", cursor, sizeof cursor), TC_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "next_cursor")->valuestring, cursor);
    cJSON_Delete(j);
    cr_assert_eq(get("/v1/answer?as=last", &j), 200);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
    cJSON_Delete(j);
    cr_assert_eq(get("/v1/answer?as=down", &j), 503);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring,
                     "service_unavailable");
    cJSON_Delete(j);
}
