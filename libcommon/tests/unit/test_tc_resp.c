/*
 * tc_resp: responses and the platform's error body (DESIGN §3 errors). The body builders are
 * called directly; the response setters through a tc_http server on a loopback ephemeral
 * port, since a response only exists inside a request.
 */
#include "tc/tc_core.h"
#include "tc/tc_http.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"

#include "../http_probe.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ error body */

Test(error_body, has_code_message_request_id_and_docs_url)
{
    char *text = tc_error_body("not_found", "No such user", "req_123", NULL);
    cr_assert_not_null(text);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "%s", text);
    cr_assert_eq(cJSON_GetArraySize(root), 1, "only the error object: %s", text);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "code")->valuestring, "not_found");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring, "No such user");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "request_id")->valuestring, "req_123");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "docs_url")->valuestring,
                     "https://docs.techcorp.com/errors/not-found");
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(e, "details"));
    cJSON_Delete(root);
    free(text);
}

Test(error_body, without_a_request_id_says_null)
{
    char *text = tc_error_body("internal_error", "Boom", NULL, NULL);
    cJSON *root = cJSON_Parse(text);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "request_id")), "%s", text);
    cJSON_Delete(root);
    free(text);
}

Test(error_body, takes_over_the_details)
{
    cJSON *details = cJSON_CreateArray();
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "field", "email");
    cJSON_AddStringToObject(d, "message", "must be an email address");
    cJSON_AddItemToArray(details, d);
    char *text = tc_error_body("validation_failed", "1 invalid field", "req_1", details);
    cJSON *root = cJSON_Parse(text);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(e, "details");
    cr_assert_eq(cJSON_GetArraySize(got), 1, "%s", text);
    cr_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(got, 0), "field")->valuestring,
        "email");
    cJSON_Delete(root);
    free(text);
}

Test(error_body, message_is_escaped_json)
{
    char *text = tc_error_body("bad_request", "quote \" and \\ and \n newline", NULL, NULL);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "%s", text);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring,
                     "quote \" and \\ and \n newline");
    cJSON_Delete(root);
    free(text);
}

Test(docs_url, replaces_underscores_and_truncates_safely)
{
    char out[128];
    tc_error_docs_url("rate_limit_exceeded", out, sizeof out);
    cr_assert_str_eq(out, "https://docs.techcorp.com/errors/rate-limit-exceeded");
    char small[40];
    tc_error_docs_url("rate_limit_exceeded", small, sizeof small);
    cr_assert_eq(strlen(small), sizeof small - 1);
    cr_assert(strncmp(small, "https://docs.techcorp.com/errors/", 33) == 0);
}

/* ------------------------------------------------------------------ responses */

static tc_router_t *g_router;
static tc_http_server_t *g_srv;
static char g_base[64];

/* GET /fail/{rc}: tc_resp_fail with -rc */
static void h_fail(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    tc_resp_fail(resp, -atoi(tc_req_param(req, "rc")));
}

static void h_raw(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_raw(resp, 200, "text/csv", strdup("a,b\n1,2\n"), 8);
}

static void h_empty(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_empty(resp, 204);
}

/* what the handlers saw (asserted on the test's thread, not the server's) */
static int g_header_rc[4];
static int g_status_seen;

static void h_header(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    g_header_rc[0] = tc_resp_header(resp, "X-Thing", "first");
    g_header_rc[1] = tc_resp_header(resp, "x-thing", "second");
    g_header_rc[2] = tc_resp_header(resp, "X-Bad", "a\r\nSet-Cookie: x=1");
    g_header_rc[3] = tc_resp_header(resp, "X-Bad:Name", "v");
    tc_resp_empty(resp, 204);
}

static void h_error(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_error(resp, 418, "teapot_here", "I am a teapot %d times", 3);
    g_status_seen = tc_resp_status(resp);
}

static void h_null_json(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_json(resp, 200, NULL);
}

static void h_invalid(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    cJSON *body = cJSON_Parse("{\"name\":\"\",\"age\":-4}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_str(&jv, body, "name", TC_JV_REQUIRED, 1, 10);
    tc_jv_int(&jv, body, "age", TC_JV_REQUIRED, 0, 0, 150);
    tc_resp_invalid(resp, &jv);
    cJSON_Delete(body);
}

/* Upgrades: fn writes a greeting on the detached socket and closes it; drop counts releases
 * of a ud no callback took. */
static atomic_int g_upgraded, g_dropped;

static void count_drop(void *ud)
{
    TC_UNUSED(ud);
    atomic_fetch_add(&g_dropped, 1);
}

static void greet(int fd, const char *extra, size_t extra_len, void *ud)
{
    TC_UNUSED(extra);
    TC_UNUSED(extra_len);
    TC_UNUSED(ud);
    atomic_fetch_add(&g_upgraded, 1);
    static const char hello[] = "hello, upgraded";
    if (write(fd, hello, sizeof hello - 1) != (ssize_t)(sizeof hello - 1))
        atomic_fetch_add(&g_upgraded, 100);
    close(fd);
}

static void h_upgrade(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_header(resp, "Upgrade", "greeting");
    tc_resp_upgrade(resp, greet, &g_upgraded, count_drop);
}

static void h_upgrade_then_error(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_upgrade(resp, greet, &g_upgraded, count_drop);
    tc_resp_error(resp, 404, "not_found", "Changed its mind");
}

static void setup(void)
{
    tc_log_init("resp-test", "error");
    g_router = tc_router_new();
    const tc_route_t routes[] = {
        {.method = "GET", .pattern = "/fail/{rc}", .fn = h_fail},
        {.method = "GET", .pattern = "/raw", .fn = h_raw},
        {.method = "GET", .pattern = "/empty", .fn = h_empty},
        {.method = "GET", .pattern = "/header", .fn = h_header},
        {.method = "GET", .pattern = "/error", .fn = h_error},
        {.method = "GET", .pattern = "/null", .fn = h_null_json},
        {.method = "GET", .pattern = "/invalid", .fn = h_invalid},
        {.method = "GET", .pattern = "/upgrade", .fn = h_upgrade},
        {.method = "GET", .pattern = "/upgrade-then-error", .fn = h_upgrade_then_error},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(routes); i++)
        cr_assert_eq(tc_router_add(g_router, &routes[i]), TC_OK);
    tc_http_opts_t o = {
        .service = "resp-test", .bind_addr = "127.0.0.1", .port = 0, .router = g_router};
    g_srv = tc_http_start(&o);
    cr_assert_not_null(g_srv);
    snprintf(g_base, sizeof g_base, "http://127.0.0.1:%d", tc_http_port(g_srv));
}

static void teardown(void)
{
    tc_http_stop(g_srv);
    tc_router_free(g_router);
}

TestSuite(resp, .init = setup, .fini = teardown, .timeout = 30);

static void get(const char *path, const char *header, probe_resp_t *out)
{
    char url[160];
    snprintf(url, sizeof url, "%s%s", g_base, path);
    cr_assert_eq(probe("GET", url, NULL, NULL, header, out), 0, "no response to %s", path);
}

static const char *error_code(const char *body, char *out, size_t n)
{
    cJSON *root = cJSON_Parse(body);
    const cJSON *code =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "error"), "code");
    snprintf(out, n, "%s", cJSON_IsString(code) ? code->valuestring : "");
    cJSON_Delete(root);
    return out;
}

Test(resp, dependency_failures_map_to_statuses_in_the_platform_format)
{
    const struct {
        int rc;
        long status;
        const char *code;
    } cases[] = {
        {TC_EUNAVAIL, 503, "service_unavailable"}, {TC_EAGAIN, 503, "service_unavailable"},
        {TC_ECONFLICT, 409, "conflict"},           {TC_ENOTFOUND, 404, "not_found"},
        {TC_EINVAL, 400, "bad_request"},           {TC_EDENIED, 403, "forbidden"},
        {TC_ERROR, 500, "internal_error"},         {TC_ENOMEM, 500, "internal_error"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        char path[32], code[64];
        snprintf(path, sizeof path, "/fail/%d", -cases[i].rc);
        probe_resp_t r;
        get(path, "Retry-After", &r);
        cr_assert_eq(r.status, cases[i].status, "%s -> %ld", tc_strerror(cases[i].rc), r.status);
        cr_assert_str_eq(error_code(r.body, code, sizeof code), cases[i].code, "%s", r.body);
        cr_assert(strstr(r.body, "\"request_id\":\"req_"), "%s", r.body);
        if (cases[i].status == 503)
            cr_assert_str_eq(r.header, "1", "a 503 tells the client when to retry");
        else
            cr_assert_str_eq(r.header, "", "only 503s carry Retry-After");
    }
}

Test(resp, raw_keeps_its_content_type)
{
    probe_resp_t r;
    get("/raw", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "text/csv");
    cr_assert_str_eq(r.body, "a,b\n1,2\n");
}

Test(resp, empty_has_no_body)
{
    probe_resp_t r;
    get("/empty", NULL, &r);
    cr_assert_eq(r.status, 204);
    cr_assert_eq(r.body_len, 0);
}

Test(resp, a_header_set_twice_keeps_the_last_value_and_injection_is_refused)
{
    probe_resp_t r;
    get("/header", "X-Thing", &r);
    cr_assert_eq(r.status, 204);
    cr_assert_str_eq(r.header, "second");
    cr_assert_eq(g_header_rc[0], TC_OK);
    cr_assert_eq(g_header_rc[1], TC_OK);
    cr_assert_eq(g_header_rc[2], TC_EINVAL, "CR/LF in a value");
    cr_assert_eq(g_header_rc[3], TC_EINVAL, "a colon in a name");
    get("/header", "Set-Cookie", &r);
    cr_assert_str_eq(r.header, "", "a CR/LF value must not split the response");
}

Test(resp, error_formats_its_message)
{
    probe_resp_t r;
    char code[64];
    get("/error", NULL, &r);
    cr_assert_eq(r.status, 418);
    cr_assert_eq(g_status_seen, 418, "tc_resp_status reads back what was set");
    cr_assert_str_eq(error_code(r.body, code, sizeof code), "teapot_here");
    cr_assert(strstr(r.body, "I am a teapot 3 times"), "%s", r.body);
    cr_assert(strstr(r.body, "https://docs.techcorp.com/errors/teapot-here"), "%s", r.body);
}

Test(resp, json_without_a_body_is_a_500_in_the_platform_format)
{
    probe_resp_t r;
    char code[64];
    get("/null", NULL, &r);
    cr_assert_eq(r.status, 500);
    cr_assert_str_eq(error_code(r.body, code, sizeof code), "internal_error", "%s", r.body);
}

Test(resp, invalid_lists_every_bad_field)
{
    probe_resp_t r;
    char code[64];
    get("/invalid", NULL, &r);
    cr_assert_eq(r.status, 422);
    cr_assert_str_eq(error_code(r.body, code, sizeof code), "validation_failed");
    cr_assert(strstr(r.body, "2 invalid fields"), "%s", r.body);
    cr_assert(strstr(r.body, "\"field\":\"name\""), "%s", r.body);
    cr_assert(strstr(r.body, "\"field\":\"age\""), "%s", r.body);
}

/* The whole exchange on a raw socket (an upgrade is no HTTP response curl would end). */
static size_t raw_exchange(const char *request, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tc_http_port(g_srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t n = 0;
    for (ssize_t r; n + 1 < cap && (r = read(fd, out + n, cap - 1 - n)) > 0;)
        n += (size_t)r;
    out[n] = '\0';
    close(fd);
    return n;
}

Test(resp, an_upgrade_hands_the_socket_over_after_the_101)
{
    char out[2048];
    raw_exchange("GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                 "Upgrade: greeting\r\n\r\n",
                 out, sizeof out);
    cr_assert(strncmp(out, "HTTP/1.1 101", 12) == 0, "%s", out);
    cr_assert_not_null(strcasestr(out, "\r\nUpgrade: greeting\r\n"), "%s", out);
    cr_assert_not_null(strcasestr(out, "\r\nConnection: Upgrade\r\n"), "%s", out);
    cr_assert_null(strcasestr(out, "\r\nContent-Type:"), "no body, no type: %s", out);
    const char *body = strstr(out, "\r\n\r\n");
    cr_assert_not_null(body);
    /* the server closed its side at once, yet the socket lived on for the callback */
    cr_assert_str_eq(body + 4, "hello, upgraded");
    cr_assert_eq(atomic_load(&g_upgraded), 1);
    cr_assert_eq(atomic_load(&g_dropped), 0, "ud was taken by the callback, not dropped");
}

Test(resp, an_answer_set_after_an_upgrade_replaces_it_and_drops_its_ud)
{
    char out[2048];
    raw_exchange("GET /upgrade-then-error HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                 sizeof out);
    cr_assert(strncmp(out, "HTTP/1.1 404", 12) == 0, "%s", out);
    cr_assert_not_null(strstr(out, "Changed its mind"));
    cr_assert_eq(atomic_load(&g_upgraded), 0);
    cr_assert_eq(atomic_load(&g_dropped), 1, "dropped once");
}
