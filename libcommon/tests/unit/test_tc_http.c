/*
 * The HTTP server end to end: a real tc_http server on an ephemeral port, called with libcurl.
 * Routing (404/405), body limits (413), media type and JSON parsing (415/400), validation
 * (422), request ids, trace context, bearer-token authentication and authorisation,
 * responses that forget to answer (500), header injection, graceful drain and metrics.
 */
#include <criterion/criterion.h>

#include "tc/tc_auth.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_http.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_metrics.h"
#include "tc/tc_time.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define ISS             "https://auth.techcorp.test"
#define AUD             "techcorp-api"
#define KID             "test-key-1"
#define CREATE_MAX_BODY 1024
#define TRACE           "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN            "00f067aa0ba902b7"

static tc_http_server_t *g_srv;
static tc_router_t *g_router;
static tc_auth_t *g_auth;
static EVP_PKEY *g_key;
static char g_dir[64];
static char g_jwks[128];

static atomic_int g_create_calls;
static atomic_int g_slow_entered;
static atomic_int g_slow_release;

/* ------------------------------------------------------------------------- handlers */

static void reply_json(tc_resp_t *resp, int status, cJSON *o)
{
    tc_resp_json(resp, status, o);
}

static void h_thing(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "id", tc_req_param(req, "id"));
    tc_json_add_str(o, "q", tc_req_query(req, "q"));
    tc_json_add_str(o, "tag", tc_req_query(req, "tag"));
    tc_json_add_str(o, "empty", tc_req_query(req, "empty"));
    tc_json_add_str(o, "flag", tc_req_query(req, "flag"));
    tc_json_add_str(o, "missing", tc_req_query(req, "missing"));
    tc_json_add_str(o, "route", tc_req_route(req));
    tc_json_add_str(o, "method", tc_req_method(req));
    tc_json_add_str(o, "path", tc_req_path(req));
    reply_json(resp, 200, o);
}

static void h_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    atomic_fetch_add(&g_create_calls, 1);
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *name = tc_jv_str(&jv, tc_req_json(req), "name", TC_JV_REQUIRED, 1, 2000);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    size_t len = 0;
    tc_req_body(req, &len);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "name", name);
    tc_json_add_int(o, "body_len", (int64_t)len);
    reply_json(resp, 201, o);
}

static void h_validate(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    static const char *const roles[] = {"viewer", "editor", "admin", "owner", NULL};
    const cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_email(&jv, body, "email", TC_JV_REQUIRED);
    tc_jv_str(&jv, body, "name", TC_JV_REQUIRED, 1, 50);
    tc_jv_enum(&jv, body, "role", TC_JV_REQUIRED, roles);
    tc_jv_int(&jv, body, "age", TC_JV_OPTIONAL, 0, 0, 150);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_resp_empty(resp, 204);
}

static void h_trace(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "traceparent", tc_req_traceparent(req));
    tc_json_add_str(o, "request_id", tc_req_id(req));
    tc_json_add_str(o, "client_ip", tc_req_client_ip(req));
    reply_json(resp, 200, o);
}

static void add_principal(cJSON *o, tc_req_t *req)
{
    const tc_principal_t *p = tc_req_principal(req);
    if (!p)
        return;
    tc_json_add_str(o, "sub", p->sub);
    tc_json_add_str(o, "org", p->org);
    tc_json_add_str(o, "role", tc_role_name(p->role));
    tc_json_add_str(o, "scope", p->scope);
    cJSON_AddBoolToObject(o, "is_service", p->is_service);
    tc_json_add_str(o, "token", tc_req_token(req));
}

static void h_me(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    cJSON *o = cJSON_CreateObject();
    add_principal(o, req);
    reply_json(resp, 200, o);
}

static void h_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_empty(resp, 204);
}

static void h_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    tc_resp_empty(resp, 204);
}

/* /v1/scoped/{id}: the id must be a thing id (thg_…) */
static void h_scoped(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    const char *id = tc_req_param_id(req, resp, "id", "thg", "Thing");
    if (!id)
        return;
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "id", id);
    reply_json(resp, 200, o);
}

static void h_none(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(resp);
    TC_UNUSED(ud);
}

static void h_header(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_int(o, "crlf", tc_resp_header(resp, "X-Evil", "a\r\nInjected: 1"));
    tc_json_add_int(o, "lf", tc_resp_header(resp, "X-Evil", "a\nInjected: 1"));
    tc_json_add_int(o, "cr", tc_resp_header(resp, "X-Evil", "a\rInjected: 1"));
    tc_json_add_int(o, "name_colon", tc_resp_header(resp, "X-Evil: 1", "a"));
    tc_json_add_int(o, "name_crlf", tc_resp_header(resp, "X-Evil\r\nInjected", "a"));
    tc_json_add_int(o, "ok", tc_resp_header(resp, "X-Test", "first"));
    tc_json_add_int(o, "replace", tc_resp_header(resp, "x-test", "second"));
    reply_json(resp, 200, o);
}

static void h_slow(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    TC_UNUSED(ud);
    atomic_store(&g_slow_entered, 1);
    int64_t deadline = tc_mono_ms() + 10000;
    while (!atomic_load(&g_slow_release) && tc_mono_ms() < deadline)
        tc_sleep_ms(5);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "slow", 1);
    reply_json(resp, 200, o);
}

/* An asynchronous handler: the answer comes from another thread after a pause, or, with
 * ?now=1, is resumed before the handler has even returned. */
typedef struct {
    tc_req_t *req;
    char id[64];
    int delay_ms;
} later_t;

static atomic_int g_later_answers;

static void later_answer(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    later_t *l = ud;
    atomic_fetch_add(&g_later_answers, 1);
    cJSON *o = cJSON_CreateObject();
    tc_json_add_str(o, "id", l->id);
    tc_json_add_str(o, "route", tc_req_route(req));
    free(l);
    reply_json(resp, 200, o);
}

static void *later_main(void *arg)
{
    later_t *l = arg;
    tc_sleep_ms(l->delay_ms);
    tc_req_resume(l->req, later_answer, l);
    return NULL;
}

static void h_later(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    later_t *l = calloc(1, sizeof *l);
    if (!l) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    l->req = req;
    snprintf(l->id, sizeof l->id, "%s", tc_req_param(req, "id"));
    l->delay_ms = tc_req_query(req, "slow") ? 300 : 20;
    tc_req_suspend(req);
    if (tc_req_query(req, "now")) {
        tc_req_resume(req, later_answer, l);
        return;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, later_main, l) != 0) {
        tc_req_resume(req, later_answer, l);
        return;
    }
    pthread_detach(t);
}

/* ------------------------------------------------------------------------- fixtures */

static void add_route(const char *method, const char *pattern, tc_handler_fn fn, unsigned flags,
                      tc_role_t min_role, size_t max_body)
{
    tc_route_t rt = {.method = method,
                     .pattern = pattern,
                     .fn = fn,
                     .flags = flags,
                     .min_role = min_role,
                     .max_body = max_body};
    cr_assert_eq(tc_router_add(g_router, &rt), TC_OK, "%s %s", method, pattern);
}

static void build_router(void)
{
    g_router = tc_router_new();
    cr_assert_not_null(g_router);
    add_route("GET", "/v1/things/{id}", h_thing, 0, TC_ROLE_NONE, 0);
    add_route("DELETE", "/v1/things/{id}", h_delete, TC_ROUTE_AUTH, TC_ROLE_ADMIN, 0);
    add_route("PATCH", "/v1/things/{id}", h_patch, TC_ROUTE_AUTH, TC_ROLE_EDITOR, 0);
    add_route("POST", "/v1/things", h_create, TC_ROUTE_JSON, TC_ROLE_NONE, CREATE_MAX_BODY);
    add_route("POST", "/v1/validate", h_validate, TC_ROUTE_JSON, TC_ROLE_NONE, 0);
    add_route("GET", "/v1/trace", h_trace, 0, TC_ROLE_NONE, 0);
    add_route("GET", "/v1/me", h_me, TC_ROUTE_AUTH, TC_ROLE_VIEWER, 0);
    add_route("GET", "/internal/ping", h_me, TC_ROUTE_SERVICE, TC_ROLE_NONE, 0);
    add_route("GET", "/v1/none", h_none, 0, TC_ROLE_NONE, 0);
    add_route("GET", "/v1/header", h_header, 0, TC_ROLE_NONE, 0);
    add_route("GET", "/v1/slow", h_slow, 0, TC_ROLE_NONE, 0);
    add_route("GET", "/v1/later/{id}", h_later, 0, TC_ROLE_NONE, 0);
    tc_route_t scoped[] = {
        {"GET", "/v1/scoped/{id}", h_scoped, NULL, TC_USER, TC_ROLE_VIEWER, 0, "things:read"},
        {"PATCH", "/v1/scoped/{id}", h_scoped, NULL, TC_USER_JSON, TC_ROLE_EDITOR, 0,
         "things:write"},
        {"DELETE", "/v1/scoped/{id}", h_scoped, NULL, TC_USER, TC_ROLE_VIEWER, 0, NULL},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(scoped); i++)
        cr_assert_eq(tc_router_add(g_router, &scoped[i]), TC_OK);
}

static void start_server(void)
{
    tc_http_opts_t o = {
        .service = "http-test",
        .bind_addr = "127.0.0.1",
        .port = 0,
        .threads = 4,
        .router = g_router,
        .auth = g_auth,
        .access_log = 1,
        .metrics = 1,
    };
    g_srv = tc_http_start(&o);
    cr_assert_not_null(g_srv);
    cr_assert_gt(tc_http_port(g_srv), 0);
}

static void setup(void)
{
    tc_log_init("http-test", "error");
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    build_router();
    start_server();
}

static void write_jwks(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/tc-http-test-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
    snprintf(g_jwks, sizeof g_jwks, "%s/jwks.json", g_dir);
    cJSON *root = cJSON_CreateObject();
    cJSON *keys = cJSON_AddArrayToObject(root, "keys");
    cJSON *jwk = tc_jwk_from_pkey(g_key, KID);
    cr_assert_not_null(jwk);
    cJSON_AddItemToArray(keys, jwk);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    FILE *f = fopen(g_jwks, "w");
    cr_assert_not_null(f);
    cr_assert_geq(fputs(text, f), 0);
    cr_assert_eq(fclose(f), 0);
    free(text);
}

static void setup_auth(void)
{
    tc_log_init("http-test", "error");
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    g_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    cr_assert_not_null(g_key);
    write_jwks();
    tc_auth_opts_t ao = {.jwks_file = g_jwks, .issuer = ISS, .audience = AUD};
    g_auth = tc_auth_new(&ao);
    cr_assert_not_null(g_auth);
    cr_assert_eq(tc_auth_key_count(g_auth), 1);
    build_router();
    start_server();
}

static void teardown(void)
{
    tc_http_stop(g_srv);
    g_srv = NULL;
    tc_router_free(g_router);
    tc_auth_free(g_auth);
    g_auth = NULL;
    EVP_PKEY_free(g_key);
    g_key = NULL;
    if (g_jwks[0]) {
        unlink(g_jwks);
        rmdir(g_dir);
    }
    tc_metrics_reset();
    curl_global_cleanup();
}

TestSuite(http, .init = setup, .fini = teardown);
TestSuite(http_auth, .init = setup_auth, .fini = teardown);

/* ------------------------------------------------------------------------- client */

typedef struct {
    const char *method; /* default GET */
    const char *target;
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    const char *body;
    size_t body_len;
    int chunked;        /* send the body with Transfer-Encoding: chunked */
    const char *bearer; /* Authorization: Bearer <bearer> */
} call_t;

typedef struct {
    long status;
    tc_buf_t body;
    tc_buf_t headers;
    cJSON *json; /* parsed body when it is JSON */
} reply_t;

typedef struct {
    const char *data;
    size_t len, off;
} upload_t;

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    tc_buf_append(ud, p, size * n);
    return size * n;
}

/* Hands the body out 100 bytes at a time, so a chunked upload has many chunks. */
static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    upload_t *u = ud;
    size_t left = u->len - u->off, want = size * n < 100 ? size * n : 100;
    size_t k = left < want ? left : want;
    memcpy(p, u->data + u->off, k);
    u->off += k;
    return k;
}

static struct curl_slist *request_headers(const call_t *c, char *auth, size_t authlen)
{
    struct curl_slist *h = NULL;
    for (int i = 0; c->headers && c->headers[i]; i++)
        h = curl_slist_append(h, c->headers[i]);
    if (c->bearer) {
        snprintf(auth, authlen, "Authorization: Bearer %s", c->bearer);
        h = curl_slist_append(h, auth);
    }
    if (c->chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    return h;
}

static CURLcode perform(const call_t *c, reply_t *r)
{
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", tc_http_port(g_srv), c->target);
    memset(r, 0, sizeof *r);
    CURL *h = curl_easy_init();
    cr_assert_not_null(h);
    char auth[4096];
    struct curl_slist *hdrs = request_headers(c, auth, sizeof auth);
    upload_t up = {.data = c->body, .len = c->body_len};
    const char *method = c->method ? c->method : "GET";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (c->chunked) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
    } else if (c->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)c->body_len);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    r->json = cJSON_Parse(tc_buf_cstr(&r->body));
    return rc;
}

static void call(const call_t *c, reply_t *r)
{
    CURLcode rc = perform(c, r);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", c->method ? c->method : "GET", c->target,
                 curl_easy_strerror(rc));
}

static void reply_free(reply_t *r)
{
    tc_buf_free(&r->body);
    tc_buf_free(&r->headers);
    cJSON_Delete(r->json);
}

static void get(const char *target, reply_t *r)
{
    call(&(call_t){.target = target}, r);
}

/* Value of response header `name` (last occurrence), or NULL. */
static const char *header(const reply_t *r, const char *name, char *out, size_t outlen)
{
    const char *found = NULL;
    size_t n = strlen(name);
    for (const char *line = tc_buf_cstr(&r->headers); *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - line)), v);
            found = out;
        }
        line += len + (eol ? 2 : 0);
    }
    return found;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    cr_assert(cJSON_IsString(v), "member %s is not a string", name);
    return v->valuestring;
}

static const cJSON *error_of(const reply_t *r)
{
    cr_assert_not_null(r->json, "body is not JSON: %s", tc_buf_cstr(&r->body));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
    cr_assert(cJSON_IsObject(e), "no error object: %s", tc_buf_cstr(&r->body));
    return e;
}

/* Checks status, error code and the platform error shape; returns the error object. */
static const cJSON *expect_error(const reply_t *r, long status, const char *code)
{
    cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status, status,
                 tc_buf_cstr(&r->body));
    const cJSON *e = error_of(r);
    cr_assert_str_eq(jstr(e, "code"), code);
    char docs[128], ctype[128], rid[128];
    tc_error_docs_url(code, docs, sizeof docs);
    cr_assert_str_eq(jstr(e, "docs_url"), docs);
    cr_assert_not_null(header(r, "X-Request-Id", rid, sizeof rid));
    cr_assert_str_eq(jstr(e, "request_id"), rid, "body and header carry the same request id");
    cr_assert_not_null(header(r, "Content-Type", ctype, sizeof ctype));
    cr_assert_str_eq(ctype, "application/json");
    return e;
}

static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};

static void post_json(const char *target, const char *body, reply_t *r)
{
    call(&(call_t){.method = "POST",
                   .target = target,
                   .headers = JSON_CT,
                   .body = body,
                   .body_len = strlen(body)},
         r);
}

/* ------------------------------------------------------------------------- routing */

Test(http, json_handler_with_params_and_query)
{
    reply_t r;
    get("/v1/things/thing%201?q=a%20b+c&tag=x%2By&empty=&flag&q=second", &r);
    cr_assert_eq(r.status, 200, "%s", tc_buf_cstr(&r.body));
    char ctype[64];
    cr_assert_str_eq(header(&r, "Content-Type", ctype, sizeof ctype), "application/json");
    cr_assert_str_eq(jstr(r.json, "id"), "thing 1");
    cr_assert_str_eq(jstr(r.json, "q"), "a b c", "first q wins, '+' is a space");
    cr_assert_str_eq(jstr(r.json, "tag"), "x+y");
    cr_assert_str_eq(jstr(r.json, "empty"), "");
    cr_assert_str_eq(jstr(r.json, "flag"), "");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(r.json, "missing")));
    cr_assert_str_eq(jstr(r.json, "route"), "/v1/things/{id}");
    cr_assert_str_eq(jstr(r.json, "method"), "GET");
    cr_assert_str_eq(jstr(r.json, "path"), "/v1/things/thing%201", "raw path");
    reply_free(&r);
}

Test(http, head_is_answered_by_the_get_route)
{
    reply_t r;
    call(&(call_t){.method = "HEAD", .target = "/v1/things/abc"}, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body.len, 0);
    reply_free(&r);
}

Test(http, not_found_body_is_the_platform_error)
{
    reply_t r;
    get("/v1/nope", &r);
    cr_assert_eq(r.status, 404);
    char rid[128];
    cr_assert_not_null(header(&r, "X-Request-Id", rid, sizeof rid));
    cr_assert_eq(strncmp(rid, "req_", 4), 0, "%s", rid);
    char want[512];
    snprintf(want, sizeof want,
             "{\"error\":{\"code\":\"not_found\",\"message\":\"No route for GET /v1/nope\","
             "\"request_id\":\"%s\",\"docs_url\":\"https://docs.techcorp.com/errors/not-found\"}}",
             rid);
    cr_assert_str_eq(tc_buf_cstr(&r.body), want);
    expect_error(&r, 404, "not_found");
    reply_free(&r);
}

Test(http, malformed_escape_in_path_is_404)
{
    reply_t r;
    get("/v1/things/%zz", &r);
    expect_error(&r, 404, "not_found");
    reply_free(&r);
    get("/v1/things/%00", &r);
    expect_error(&r, 404, "not_found");
    reply_free(&r);
}

Test(http, undecodable_query_is_400)
{
    /* a parameter that cannot be decoded used to be dropped, so the filter it carried
     * silently did not apply (?role=admin%00 listing everyone) */
    char many[512] = "/v1/things/abc?";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "p%d=1&", i);
    const char *const targets[] = {"/v1/things/abc?q=%zz", "/v1/things/abc?q=a%00",
                                   "/v1/things/abc?q=%0", "/v1/things/abc?q=%", many};
    for (size_t i = 0; i < TC_ARRAY_LEN(targets); i++) {
        reply_t r;
        get(targets[i], &r);
        expect_error(&r, 400, "bad_request");
        reply_free(&r);
    }
    reply_t r;
    get("/v1/things/abc?q=%25zz&=x", &r); /* an escaped percent; an unnamed value is no parameter */
    cr_assert_eq(r.status, 200, "%s", tc_buf_cstr(&r.body));
    cr_assert_str_eq(jstr(r.json, "q"), "%zz");
    reply_free(&r);
}

Test(http, method_not_allowed_lists_allow)
{
    reply_t r;
    call(&(call_t){.method = "PUT", .target = "/v1/things/abc", .body = "", .body_len = 0}, &r);
    const cJSON *e = expect_error(&r, 405, "method_not_allowed");
    cr_assert_str_eq(jstr(e, "message"), "Method PUT is not allowed here");
    char allow[128];
    cr_assert_not_null(header(&r, "Allow", allow, sizeof allow));
    cr_assert_str_eq(allow, "GET, HEAD, DELETE, PATCH");
    reply_free(&r);

    call(&(call_t){.method = "DELETE", .target = "/v1/trace"}, &r);
    expect_error(&r, 405, "method_not_allowed");
    cr_assert_str_eq(header(&r, "Allow", allow, sizeof allow), "GET, HEAD");
    reply_free(&r);
}

/* ------------------------------------------------------------------------- bodies */

Test(http, json_body_accepted)
{
    reply_t r;
    post_json("/v1/things", "{\"name\":\"widget\"}", &r);
    cr_assert_eq(r.status, 201, "%s", tc_buf_cstr(&r.body));
    cr_assert_str_eq(jstr(r.json, "name"), "widget");
    cr_assert_eq(cJSON_GetObjectItem(r.json, "body_len")->valueint, 17);
    reply_free(&r);

    static const char *const ct_charset[] = {"Content-Type: application/json; charset=utf-8", NULL};
    call(&(call_t){.method = "POST",
                   .target = "/v1/things",
                   .headers = ct_charset,
                   .body = "{\"name\":\"w\"}",
                   .body_len = 12},
         &r);
    cr_assert_eq(r.status, 201);
    reply_free(&r);
    /* a JSON-based type (RFC 6839 +json): SCIM's, RFC 7644 section 3.1 */
    static const char *const ct_scim[] = {"Content-Type: application/scim+json; charset=utf-8",
                                          NULL};
    call(&(call_t){.method = "POST",
                   .target = "/v1/things",
                   .headers = ct_scim,
                   .body = "{\"name\":\"w\"}",
                   .body_len = 12},
         &r);
    cr_assert_eq(r.status, 201);
    reply_free(&r);
    cr_assert_eq(atomic_load(&g_create_calls), 3);
}

static void expect_too_large(const call_t *c)
{
    reply_t r;
    call(c, &r);
    const cJSON *e = expect_error(&r, 413, "payload_too_large");
    char want[96];
    snprintf(want, sizeof want, "Request body exceeds the limit of %d bytes", CREATE_MAX_BODY);
    cr_assert_str_eq(jstr(e, "message"), want);
    reply_free(&r);
    cr_assert_eq(atomic_load(&g_create_calls), 0, "the handler must not run");
}

static char *big_json(size_t n)
{
    char *body = malloc(n + 1);
    cr_assert_not_null(body);
    memset(body, 'a', n);
    memcpy(body, "{\"name\":\"", 9);
    memcpy(body + n - 2, "\"}", 2);
    body[n] = '\0';
    return body;
}

Test(http, content_length_over_the_route_limit_is_413)
{
    char *body = big_json(CREATE_MAX_BODY * 4);
    expect_too_large(&(call_t){.method = "POST",
                               .target = "/v1/things",
                               .headers = JSON_CT,
                               .body = body,
                               .body_len = CREATE_MAX_BODY * 4});
    /* without "Expect: 100-continue" the client sends the body straight away */
    static const char *const no_expect[] = {"Content-Type: application/json", "Expect:", NULL};
    expect_too_large(&(call_t){.method = "POST",
                               .target = "/v1/things",
                               .headers = no_expect,
                               .body = body,
                               .body_len = CREATE_MAX_BODY * 4});
    free(body);
}

Test(http, body_at_the_limit_is_accepted)
{
    char *body = big_json(CREATE_MAX_BODY);
    reply_t r;
    post_json("/v1/things", body, &r);
    cr_assert_eq(r.status, 201, "%s", tc_buf_cstr(&r.body));
    cr_assert_eq(cJSON_GetObjectItem(r.json, "body_len")->valueint, CREATE_MAX_BODY);
    reply_free(&r);
    free(body);
}

Test(http, chunked_body_over_the_limit_is_413)
{
    char *body = big_json(CREATE_MAX_BODY * 8);
    expect_too_large(&(call_t){.method = "POST",
                               .target = "/v1/things",
                               .headers = JSON_CT,
                               .body = body,
                               .body_len = CREATE_MAX_BODY * 8,
                               .chunked = 1});
    free(body);
}

Test(http, chunked_body_within_the_limit_is_read)
{
    char *body = big_json(CREATE_MAX_BODY - 10);
    reply_t r;
    call(&(call_t){.method = "POST",
                   .target = "/v1/things",
                   .headers = JSON_CT,
                   .body = body,
                   .body_len = CREATE_MAX_BODY - 10,
                   .chunked = 1},
         &r);
    cr_assert_eq(r.status, 201, "%s", tc_buf_cstr(&r.body));
    cr_assert_eq(cJSON_GetObjectItem(r.json, "body_len")->valueint, CREATE_MAX_BODY - 10);
    reply_free(&r);
    free(body);
}

Test(http, wrong_media_type_is_415)
{
    static const char *const plain[] = {"Content-Type: text/plain", NULL};
    static const char *const jsonx[] = {"Content-Type: application/jsonx", NULL};
    static const char *const none[] = {"Content-Type:", NULL};
    static const char *const bare[] = {"Content-Type: application/+json", NULL};
    static const char *const textjson[] = {"Content-Type: text/scim+json", NULL};
    const char *const *cases[] = {plain, jsonx, none, bare, textjson};
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        reply_t r;
        call(&(call_t){.method = "POST",
                       .target = "/v1/things",
                       .headers = cases[i],
                       .body = "{\"name\":\"x\"}",
                       .body_len = 12},
             &r);
        const cJSON *e = expect_error(&r, 415, "unsupported_media_type");
        cr_assert_str_eq(jstr(e, "message"), "Content-Type must be application/json");
        reply_free(&r);
    }
    cr_assert_eq(atomic_load(&g_create_calls), 0);
}

Test(http, invalid_json_is_400)
{
    static const char *const bodies[] = {"{bad", "{\"name\":\"x\"", "{\"name\":\"x\"} trailing",
                                         "nul"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        reply_t r;
        post_json("/v1/things", bodies[i], &r);
        const cJSON *e = expect_error(&r, 400, "invalid_json");
        cr_assert_str_eq(jstr(e, "message"), "Request body is not valid JSON");
        reply_free(&r);
    }
    cr_assert_eq(atomic_load(&g_create_calls), 0);
}

Test(http, json_that_is_not_an_object_is_400)
{
    static const char *const bodies[] = {"[1,2]", "\"name\"", "42", "null"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        reply_t r;
        post_json("/v1/things", bodies[i], &r);
        const cJSON *e = expect_error(&r, 400, "bad_request");
        cr_assert_str_eq(jstr(e, "message"), "Request body must be a JSON object", "%s", bodies[i]);
        reply_free(&r);
    }
    reply_t r;
    post_json("/v1/things", "", &r);
    const cJSON *e = expect_error(&r, 400, "bad_request");
    cr_assert_str_eq(jstr(e, "message"), "A JSON object body is required");
    reply_free(&r);
    cr_assert_eq(atomic_load(&g_create_calls), 0);
}

Test(http, raw_nul_in_body_is_400)
{
    reply_t r;
    call(&(call_t){.method = "POST",
                   .target = "/v1/things",
                   .headers = JSON_CT,
                   .body = "{\"name\":\"a\0b\"}",
                   .body_len = 14},
         &r);
    expect_error(&r, 400, "bad_request");
    reply_free(&r);
    cr_assert_eq(atomic_load(&g_create_calls), 0);
}

Test(http, escaped_nul_in_body_is_400)
{
    /* cJSON would end the string at \u0000 and hand the handler a shortened value */
    reply_t r;
    post_json("/v1/things", "{\"name\":\"admin\\u0000x\"}", &r);
    const cJSON *e = expect_error(&r, 400, "bad_request");
    cr_assert_str_eq(jstr(e, "message"), "Request body contains an escaped NUL");
    reply_free(&r);
    cr_assert_eq(atomic_load(&g_create_calls), 0);
    /* an escaped backslash followed by "u0000" is ordinary text */
    post_json("/v1/things", "{\"name\":\"a\\\\u0000\"}", &r);
    cr_assert_eq(r.status, 201, "%s", tc_buf_cstr(&r.body));
    cr_assert_str_eq(jstr(r.json, "name"), "a\\u0000");
    reply_free(&r);
}

Test(http, duplicate_member_names_are_400)
{
    /* cJSON's lookups return the first of two same-named members while PostgreSQL's jsonb and
     * JavaScript clients keep the last, so a validator would check one value and the store or
     * the client use the other: such bodies are refused wherever the duplicate sits. */
    static const char *const bodies[] = {
        "{\"name\":\"ok\",\"name\":\"<script>\"}",
        "{\"name\":\"ok\",\"p\":{\"url\":\"https://a.b\",\"url\":\"javascript:x\"}}",
        "{\"name\":\"ok\",\"l\":[1,{\"k\":1,\"k\":2}]}",
        "{\"name\":\"ok\",\"na\\u006de\":\"escaped spelling of the same name\"}",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        reply_t r;
        post_json("/v1/things", bodies[i], &r);
        const cJSON *e = expect_error(&r, 400, "invalid_json");
        cr_assert_str_eq(jstr(e, "message"), "Request body has duplicate member names", "%s",
                         bodies[i]);
        reply_free(&r);
    }
    cr_assert_eq(atomic_load(&g_create_calls), 0);

    /* many distinct members, and the same name in different objects, are fine */
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "{\"name\":\"ok\"");
    for (int i = 0; i < 40; i++) /* more than the pairwise-compared size */
        tc_buf_printf(&b, ",\"k%d\":{\"name\":%d}", i, i);
    tc_buf_puts(&b, "}");
    reply_t r;
    post_json("/v1/things", tc_buf_cstr(&b), &r);
    cr_assert_eq(r.status, 201, "%s", tc_buf_cstr(&r.body));
    reply_free(&r);
    tc_buf_free(&b);
    /* and a duplicate among many members is still found */
    tc_buf_puts(&b, "{\"name\":\"ok\"");
    for (int i = 0; i < 40; i++)
        tc_buf_printf(&b, ",\"k%d\":%d", i % 39, i);
    tc_buf_puts(&b, "}");
    post_json("/v1/things", tc_buf_cstr(&b), &r);
    expect_error(&r, 400, "invalid_json");
    reply_free(&r);
    tc_buf_free(&b);
    cr_assert_eq(atomic_load(&g_create_calls), 1);
}

Test(http, validation_lists_every_bad_field)
{
    reply_t r;
    post_json("/v1/validate", "{\"email\":\"nope\",\"name\":\"Ada\",\"role\":\"root\",\"age\":-1}",
              &r);
    const cJSON *e = expect_error(&r, 422, "validation_failed");
    cr_assert_str_eq(jstr(e, "message"), "The request has 3 invalid fields");
    const cJSON *details = cJSON_GetObjectItem(e, "details");
    cr_assert(cJSON_IsArray(details));
    cr_assert_eq(cJSON_GetArraySize(details), 3);
    static const char *const fields[] = {"email", "role", "age"};
    static const char *const messages[] = {"must be a valid email address",
                                           "must be one of: viewer, editor, admin, owner",
                                           "must be between 0 and 150"};
    for (int i = 0; i < 3; i++) {
        const cJSON *d = cJSON_GetArrayItem(details, i);
        cr_assert_str_eq(jstr(d, "field"), fields[i]);
        cr_assert_str_eq(jstr(d, "message"), messages[i]);
    }
    reply_free(&r);

    post_json("/v1/validate", "{\"email\":\"a@b.co\",\"name\":\"Ada\",\"role\":\"admin\"}", &r);
    cr_assert_eq(r.status, 204);
    reply_free(&r);

    post_json("/v1/validate", "{}", &r);
    e = expect_error(&r, 422, "validation_failed");
    cr_assert_str_eq(jstr(e, "message"), "The request has 3 invalid fields");
    reply_free(&r);
}

/* ------------------------------------------------------------------------- identity */

static void expect_generated_id(const char *rid)
{
    cr_assert_eq(strncmp(rid, "req_", 4), 0, "%s", rid);
    cr_assert_eq(strlen(rid), 30, "%s", rid);
}

Test(http, request_id_echoed_when_valid)
{
    static const char *const hdrs[] = {"X-Request-Id: abc-123_x.y:z", NULL};
    reply_t r;
    call(&(call_t){.target = "/v1/trace", .headers = hdrs}, &r);
    char rid[128];
    cr_assert_str_eq(header(&r, "X-Request-Id", rid, sizeof rid), "abc-123_x.y:z");
    cr_assert_str_eq(jstr(r.json, "request_id"), "abc-123_x.y:z");
    reply_free(&r);

    /* error bodies carry it too */
    call(&(call_t){.target = "/v1/missing", .headers = hdrs}, &r);
    cr_assert_str_eq(jstr(error_of(&r), "request_id"), "abc-123_x.y:z");
    reply_free(&r);
}

Test(http, request_id_generated_when_absent_or_invalid)
{
    reply_t r;
    char a[128], b[128];
    get("/v1/trace", &r);
    cr_assert_not_null(header(&r, "X-Request-Id", a, sizeof a));
    expect_generated_id(a);
    cr_assert_str_eq(jstr(r.json, "request_id"), a);
    reply_free(&r);
    get("/v1/trace", &r);
    header(&r, "X-Request-Id", b, sizeof b);
    cr_assert_str_neq(a, b, "a new id per request");
    reply_free(&r);

    char long_id[100] = "X-Request-Id: ";
    memset(long_id + 14, 'a', 65);
    long_id[79] = '\0';
    static const char *const spaces[] = {"X-Request-Id: has spaces", NULL};
    static const char *const quote[] = {"X-Request-Id: a\"b", NULL};
    static const char *const slash[] = {"X-Request-Id: a/b", NULL};
    const char *const too_long[] = {long_id, NULL};
    const char *const *cases[] = {spaces, quote, slash, too_long};
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        call(&(call_t){.target = "/v1/trace", .headers = cases[i]}, &r);
        cr_assert_not_null(header(&r, "X-Request-Id", a, sizeof a));
        expect_generated_id(a);
        reply_free(&r);
    }
}

Test(http, traceparent_is_continued)
{
    static const char *const hdrs[] = {"traceparent: 00-" TRACE "-" SPAN "-01", NULL};
    reply_t r;
    call(&(call_t){.target = "/v1/trace", .headers = hdrs}, &r);
    const char *tp = jstr(r.json, "traceparent");
    cr_assert_eq(strlen(tp), 55, "%s", tp);
    cr_assert_eq(strncmp(tp, "00-" TRACE "-", 36), 0, "same trace: %s", tp);
    cr_assert_neq(strncmp(tp + 36, SPAN, 16), 0, "a new span: %s", tp);
    cr_assert_str_eq(tp + 52, "-01");
    reply_free(&r);

    static const char *const unsampled[] = {"traceparent: 00-" TRACE "-" SPAN "-00", NULL};
    call(&(call_t){.target = "/v1/trace", .headers = unsampled}, &r);
    cr_assert_str_eq(jstr(r.json, "traceparent") + 52, "-00", "flags are kept");
    reply_free(&r);
}

Test(http, invalid_traceparent_starts_a_new_trace)
{
    static const char *const upper[] = {
        "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01", NULL};
    static const char *const zero[] = {
        "traceparent: 00-00000000000000000000000000000000-" SPAN "-01", NULL};
    const char *const *cases[] = {upper, zero, NULL};
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        reply_t r;
        call(&(call_t){.target = "/v1/trace", .headers = cases[i]}, &r);
        const char *tp = jstr(r.json, "traceparent");
        cr_assert_eq(strlen(tp), 55);
        cr_assert_eq(strncmp(tp, "00-", 3), 0);
        cr_assert_neq(strncasecmp(tp + 3, TRACE, 32), 0, "not the invalid trace: %s", tp);
        cr_assert_neq(strncmp(tp + 3, "00000000000000000000000000000000", 32), 0);
        reply_free(&r);
    }
}

/* Sends raw bytes on one connection and reads until the server closes it (or 3 s pass). */
static void raw_exchange(const char *request, tc_buf_t *out, int *closed)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)tc_http_port(g_srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* a server refusing a large head may answer and close before it has all of it */
    size_t len = strlen(request), sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    cr_assert_gt(sent, 0);
    *closed = 0;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            *closed = 1;
        if (n <= 0)
            break;
        tc_buf_append(out, buf, (size_t)n);
    }
    close(fd);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

Test(http, ambiguous_framing_is_400_and_closes_the_connection)
{
    /* A front proxy that frames by Content-Length (or by the other of two Content-Lengths)
     * would forward "GET /v1/things/smuggled" as body; this server must not serve it as a
     * second request (RFC 9112 6.1, 6.3: reject, and close the connection). */
    static const char *const requests[] = {
        "POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        "c\r\n{\"name\":\"a\"}\r\n0\r\n\r\nGET /v1/things/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 12\r\nContent-Length: 60\r\n\r\n"
        "{\"name\":\"a\"}GET /v1/things/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding : chunked\r\nContent-Length: 12\r\n\r\n"
        "{\"name\":\"a\"}GET /v1/things/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        /* obs-fold: libmicrohttpd files " 12" under the name and sees no length at all */
        "POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length:\r\n 12\r\n\r\n"
        "{\"name\":\"a\"}GET /v1/things/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(requests); i++) {
        tc_buf_t out = TC_BUF_INIT;
        int closed = 0;
        raw_exchange(requests[i], &out, &closed);
        const char *text = tc_buf_cstr(&out);
        cr_assert_eq(count_of(text, "HTTP/1.1 "), 1, "case %zu: one response only:\n%s", i, text);
        cr_assert(strncmp(text, "HTTP/1.1 400", 12) == 0, "case %zu:\n%s", i, text);
        cr_assert(strstr(text, "\"code\":\"bad_request\""), "case %zu: platform error:\n%s", i,
                  text);
        cr_assert(!strstr(text, "smuggled"), "case %zu:\n%s", i, text);
        cr_assert(closed, "case %zu: the connection must be closed", i);
        tc_buf_free(&out);
    }
    cr_assert_eq(atomic_load(&g_create_calls), 0);

    /* one Content-Length, or chunked alone, keep working on a kept-alive connection */
    tc_buf_t out = TC_BUF_INIT;
    int closed = 0;
    raw_exchange("POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 12\r\n\r\n{\"name\":\"a\"}"
                 "POST /v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 "c\r\n{\"name\":\"b\"}\r\n0\r\n\r\n",
                 &out, &closed);
    cr_assert_eq(count_of(tc_buf_cstr(&out), "HTTP/1.1 201"), 2, "%s", tc_buf_cstr(&out));
    tc_buf_free(&out);
}

/* A request head the server will not take: a status line, the platform error where the server
 * answers itself, and the connection closed, all within the 3 s the exchange waits. */
static void expect_refused_head(const char *what, const char *request, const char *status,
                                const char *code)
{
    tc_buf_t out = TC_BUF_INIT;
    int closed = 0;
    int64_t t0 = tc_mono_ms();
    raw_exchange(request, &out, &closed);
    const char *text = tc_buf_cstr(&out);
    cr_assert(strncmp(text, status, strlen(status)) == 0, "%s: expected %s, got:\n%.300s", what,
              status, text);
    if (code) {
        char want[64];
        snprintf(want, sizeof want, "\"code\":\"%s\"", code);
        cr_assert(strstr(text, want), "%s: platform error %s expected:\n%.600s", what, code, text);
        cr_assert(strstr(text, "\"request_id\":\"req_"), "%s:\n%.600s", what, text);
    }
    cr_assert(closed, "%s: the connection must be closed", what);
    cr_assert_lt(tc_mono_ms() - t0, 2500, "%s: answered late", what);
    tc_buf_free(&out);
}

static char *repeat_request(const char *head, const char *unit, int n, const char *tail)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_append(&b, head, strlen(head));
    for (int i = 0; i < n; i++)
        tc_buf_printf(&b, unit, i);
    tc_buf_append(&b, tail, strlen(tail));
    return tc_buf_detach(&b);
}

Test(http, oversized_request_heads_are_answered_and_closed, .timeout = 60)
{
    /* Each of these once left the connection open with no answer (the connection's memory
     * pool ran out while libmicrohttpd parsed the query), or answered outside the platform
     * error format. */
    char *many_params =
        repeat_request("GET /v1/things/1?", "b%d=&", 600, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused_head("600 query parameters", many_params, "HTTP/1.1 400", "bad_request");
    free(many_params);
    char *dense_params =
        repeat_request("GET /v1/things/1?", "&", 4000, "a=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused_head("separators only", dense_params, "HTTP/1.1 400", "bad_request");
    free(dense_params);
    char *long_uri =
        repeat_request("GET /v1/things/1?q=", "aaaaaaaaaa", 1000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused_head("10 KB target", long_uri, "HTTP/1.1 414", "uri_too_long");
    free(long_uri);
    char *huge_uri =
        repeat_request("GET /v1/things/1?q=", "aaaaaaaaaa", 20000, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused_head("200 KB target", huge_uri, "HTTP/1.1 414", NULL);
    free(huge_uri);
    char *many_headers =
        repeat_request("GET /v1/things/1 HTTP/1.1\r\nHost: x\r\n", "X-H%d: v\r\n", 150, "\r\n");
    expect_refused_head("150 header fields", many_headers, "HTTP/1.1 431", "headers_too_large");
    free(many_headers);
    char *big_header = repeat_request(
        "GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nX-Big: ", "aaaaaaaaaa", 2000, "\r\n\r\n");
    expect_refused_head("20 KB header field", big_header, "HTTP/1.1 431", "headers_too_large");
    free(big_header);
    char *cookies = repeat_request("GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nCookie: ", "c%d=1; ",
                                   1500, "z=1\r\n\r\n");
    expect_refused_head("1500 cookies", cookies, "HTTP/1.1 431", NULL);
    free(cookies);
    char *flood =
        repeat_request("GET /v1/things/1 HTTP/1.1\r\nHost: x\r\n",
                       "X-Flood-%d: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n", 5000, "\r\n");
    expect_refused_head("200 KB header block", flood, "HTTP/1.1 431", NULL);
    free(flood);

    /* the server keeps serving */
    reply_t r;
    get("/v1/things/7?q=ok", &r);
    cr_assert_eq(r.status, 200);
    reply_free(&r);
}

Test(http, client_ip)
{
    reply_t r;
    get("/v1/trace", &r);
    cr_assert_str_eq(jstr(r.json, "client_ip"), "127.0.0.1");
    reply_free(&r);
}

/* ------------------------------------------------------------------------- handler faults */

static void expect_client_ip(const char *xff, const char *want)
{
    char line[256];
    snprintf(line, sizeof line, "X-Forwarded-For: %s", xff ? xff : "");
    const char *const headers[] = {line, NULL};
    reply_t r;
    call(&(call_t){.target = "/v1/trace", .headers = xff ? headers : NULL}, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(jstr(r.json, "client_ip"), want, "X-Forwarded-For: %s", xff ? xff : "-");
    reply_free(&r);
}

Test(http, forwarded_for_is_believed_only_from_trusted_proxies)
{
    /* from a peer that is not a trusted proxy the header is the client's own text */
    expect_client_ip("203.0.113.9", "127.0.0.1");

    tc_http_stop(g_srv);
    tc_cidr_t *trusted = NULL;
    size_t n = 0;
    cr_assert_eq(tc_cidr_list_parse("127.0.0.1/32, 10.0.0.0/8", &trusted, &n), TC_OK);
    cr_assert_eq(n, 2);
    tc_http_opts_t o = {.service = "http-test",
                        .bind_addr = "127.0.0.1",
                        .router = g_router,
                        .trusted_proxies = trusted,
                        .ntrusted_proxies = n};
    g_srv = tc_http_start(&o);
    cr_assert_not_null(g_srv);
    expect_client_ip(NULL, "127.0.0.1");
    expect_client_ip("203.0.113.9", "203.0.113.9");
    /* the rightmost entry that is not a trusted proxy: what the client put first proves nothing */
    expect_client_ip("198.51.100.1, 203.0.113.9", "203.0.113.9");
    expect_client_ip("203.0.113.9, 10.1.2.3", "203.0.113.9");
    expect_client_ip("not-an-address, 203.0.113.9", "203.0.113.9");
    expect_client_ip("2001:db8::7", "2001:db8::7");
    /* an entry that is not an address ends the walk at the last hop vouched for */
    expect_client_ip("203.0.113.9, bogus", "127.0.0.1");
    expect_client_ip("203.0.113.9, 10.1.2.3, ", "127.0.0.1");
    tc_http_stop(g_srv);
    g_srv = NULL;
    free(trusted);
    start_server();
}

Test(http, every_answer_forbids_type_sniffing)
{
    const char *targets[] = {"/v1/trace", "/v1/nowhere", "/v1/none"};
    for (size_t i = 0; i < TC_ARRAY_LEN(targets); i++) {
        reply_t r;
        get(targets[i], &r);
        char v[32];
        cr_assert(header(&r, "X-Content-Type-Options", v, sizeof v), "%s", targets[i]);
        cr_assert_str_eq(v, "nosniff");
        reply_free(&r);
    }
}

Test(http, handler_without_response_is_500)
{
    reply_t r;
    get("/v1/none", &r);
    const cJSON *e = expect_error(&r, 500, "internal_error");
    cr_assert_str_eq(jstr(e, "message"), "Something went wrong");
    reply_free(&r);
}

Test(http, resp_header_rejects_injection)
{
    reply_t r;
    get("/v1/header", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "crlf")->valueint, TC_EINVAL);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "lf")->valueint, TC_EINVAL);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "cr")->valueint, TC_EINVAL);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "name_colon")->valueint, TC_EINVAL);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "name_crlf")->valueint, TC_EINVAL);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "ok")->valueint, TC_OK);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "replace")->valueint, TC_OK);
    char v[64];
    cr_assert_null(header(&r, "Injected", v, sizeof v));
    cr_assert_null(header(&r, "X-Evil", v, sizeof v));
    cr_assert_str_eq(header(&r, "X-Test", v, sizeof v), "second");
    cr_assert_null(strstr(tc_buf_cstr(&r.headers), "first"));
    reply_free(&r);
}

/* ------------------------------------------------------------------------- asynchronous handlers
 */

typedef struct {
    int n;
    long status[8];
    char body[8][256];
} later_client_t;

static void *later_client(void *arg)
{
    later_client_t *c = arg;
    for (int i = 0; i < 8; i++) {
        char target[64];
        snprintf(target, sizeof target, "/v1/later/c%d-%d%s", c->n, i, i % 2 ? "?now=1" : "");
        reply_t r;
        if (perform(&(call_t){.target = target}, &r) == CURLE_OK) {
            c->status[i] = r.status;
            snprintf(c->body[i], sizeof c->body[i], "%s", tc_buf_cstr(&r.body));
        }
        reply_free(&r);
    }
    return NULL;
}

Test(http, suspended_requests_are_answered_after_resume)
{
    enum { CLIENTS = 6 };
    later_client_t c[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].n = i;
        cr_assert_eq(pthread_create(&t[i], NULL, later_client, &c[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < CLIENTS; i++) {
        for (int j = 0; j < 8; j++) {
            char want[64];
            snprintf(want, sizeof want, "\"id\":\"c%d-%d\"", i, j);
            cr_assert_eq(c[i].status[j], 200, "request %d/%d: %ld", i, j, c[i].status[j]);
            cr_assert_not_null(strstr(c[i].body[j], want), "%s", c[i].body[j]);
            cr_assert_not_null(strstr(c[i].body[j], "/v1/later/{id}"));
        }
    }
    /* a request leaves the count when libmicrohttpd completes it, just after its answer went
     * out: the clients may have read every answer a moment before */
    int64_t deadline = tc_mono_ms() + 3000;
    while (tc_http_in_flight(g_srv) != 0 && tc_mono_ms() < deadline)
        tc_sleep_ms(5);
    cr_assert_eq(tc_http_in_flight(g_srv), 0);
}

Test(http, a_continuation_runs_once_when_the_client_has_gone)
{
    int before = atomic_load(&g_later_answers);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)tc_http_port(g_srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char req[] = "GET /v1/later/gone?slow=1 HTTP/1.1\r\nHost: t\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    tc_sleep_ms(50); /* the handler has suspended the request */
    close(fd);
    int64_t deadline = tc_mono_ms() + 5000;
    while ((atomic_load(&g_later_answers) == before || tc_http_in_flight(g_srv) > 0) &&
           tc_mono_ms() < deadline)
        tc_sleep_ms(10);
    tc_sleep_ms(100); /* a second run would show up by now */
    cr_assert_eq(atomic_load(&g_later_answers), before + 1);
    cr_assert_eq(tc_http_in_flight(g_srv), 0);
}

/* ------------------------------------------------------------------------- graceful stop */

typedef struct {
    long status;
    CURLcode rc;
    char connection[64];
} slow_result_t;

static void *slow_client(void *arg)
{
    slow_result_t *res = arg;
    reply_t r;
    res->rc = perform(&(call_t){.target = "/v1/slow"}, &r);
    res->status = r.status;
    if (!header(&r, "Connection", res->connection, sizeof res->connection))
        res->connection[0] = '\0';
    reply_free(&r);
    return NULL;
}

static int connect_refused(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    return rc != 0 && err == ECONNREFUSED;
}

Test(http, quiesce_then_drain_finishes_in_flight_requests)
{
    slow_result_t res = {0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, slow_client, &res), 0);
    int64_t deadline = tc_mono_ms() + 5000;
    while (!atomic_load(&g_slow_entered) && tc_mono_ms() < deadline)
        tc_sleep_ms(2);
    cr_assert(atomic_load(&g_slow_entered), "the slow request never reached its handler");
    cr_assert_eq(tc_http_in_flight(g_srv), 1);

    int port = tc_http_port(g_srv);
    tc_http_quiesce(g_srv);
    tc_http_quiesce(g_srv); /* idempotent */
    cr_assert(connect_refused(port), "new connections must be refused after quiesce");

    /* the request is still running: a short drain times out */
    cr_assert_eq(tc_http_drain(g_srv, 50), TC_ETIMEDOUT);
    cr_assert_eq(tc_http_in_flight(g_srv), 1);

    atomic_store(&g_slow_release, 1);
    cr_assert_eq(tc_http_drain(g_srv, 5000), TC_OK);
    cr_assert_eq(tc_http_in_flight(g_srv), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(res.rc, CURLE_OK, "%s", curl_easy_strerror(res.rc));
    cr_assert_eq(res.status, 200);
    cr_assert_str_eq(res.connection, "close", "clients are told to go away");
}

Test(http, a_stalled_request_head_does_not_hold_the_drain)
{
    /* a client that sent a request line and stopped (or sends a byte a minute) */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)tc_http_port(g_srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *partial = "GET /v1/things/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    cr_assert_eq(send(fd, partial, strlen(partial), 0), (ssize_t)strlen(partial));
    int64_t deadline = tc_mono_ms() + 3000;
    while (tc_http_in_flight(g_srv) == 0 && tc_mono_ms() < deadline)
        tc_sleep_ms(5);
    cr_assert_eq(tc_http_in_flight(g_srv), 1, "the request line is counted");

    tc_http_quiesce(g_srv);
    int64_t t0 = tc_mono_ms();
    cr_assert_eq(tc_http_drain(g_srv, 15000), TC_OK);
    int64_t took = tc_mono_ms() - t0;
    cr_assert_lt(took, 5000, "the stalled head held the drain for %lld ms", (long long)took);
    cr_assert_geq(took, 900, "a head still arriving gets its moment (%lld ms)", (long long)took);
    close(fd);
}

Test(http, drain_with_nothing_in_flight)
{
    reply_t r;
    get("/v1/trace", &r);
    reply_free(&r);
    cr_assert_eq(tc_http_drain(g_srv, 3000), TC_OK);
    cr_assert_eq(tc_http_in_flight(g_srv), 0);
}

/* ------------------------------------------------------------------------- metrics */

static double requests(const char *route, const char *method, const char *code)
{
    tc_metric_t *m =
        tc_metric_counter("http_requests_total", "HTTP requests handled", "route,method,code");
    cr_assert_not_null(m);
    return tc_metric_value(m, route, method, code);
}

/* Metrics are recorded when the connection reports completion, just after the reply. */
static void wait_for_requests(const char *route, const char *method, const char *code, double n)
{
    int64_t deadline = tc_mono_ms() + 5000;
    while (requests(route, method, code) < n && tc_mono_ms() < deadline)
        tc_sleep_ms(2);
    cr_assert_eq(requests(route, method, code), n, "%s %s %s", route, method, code);
}

Test(http, client_chosen_methods_cannot_exhaust_the_metric_series, .timeout = 120)
{
    /* The method label comes from the request line. An unauthenticated client inventing
     * methods must not fill http_requests_total's series table (it holds 10000), or the
     * service's own series created afterwards (a first 5xx, a new route) would go unrecorded.
     * (libmicrohttpd closes the connection after an unknown method: one connection each.) */
    enum { N = 10050 };
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)tc_http_port(g_srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < N; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert_geq(fd, 0);
        cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        char req[96], buf[4096];
        int len = snprintf(req, sizeof req, "X%05d /v1/things/1 HTTP/1.1\r\nHost: x\r\n\r\n", i);
        cr_assert_eq(send(fd, req, (size_t)len, 0), len);
        while (recv(fd, buf, sizeof buf, 0) > 0)
            ;
        close(fd);
    }
    reply_t r;
    get("/v1/things/abc", &r);
    cr_assert_eq(r.status, 200);
    reply_free(&r);
    wait_for_requests("/v1/things/{id}", "GET", "200", 1);
    wait_for_requests("unmatched", "OTHER", "405", N);
}

Test(http, metrics_use_the_route_pattern)
{
    reply_t r;
    get("/v1/things/abc", &r);
    reply_free(&r);
    get("/v1/things/def", &r);
    reply_free(&r);
    get("/v1/nope", &r);
    reply_free(&r);
    call(&(call_t){.method = "DELETE", .target = "/v1/trace"}, &r);
    reply_free(&r);
    wait_for_requests("/v1/things/{id}", "GET", "200", 2);
    wait_for_requests("unmatched", "GET", "404", 1);
    wait_for_requests("unmatched", "DELETE", "405", 1);

    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_metrics_render(&b), TC_OK);
    const char *text = tc_buf_cstr(&b);
    cr_assert(strstr(text, "# TYPE http_requests_total counter\n") != NULL, "%s", text);
    cr_assert(strstr(text, "http_requests_total{route=\"/v1/things/{id}\",method=\"GET\","
                           "code=\"200\"} 2\n") != NULL,
              "%s", text);
    cr_assert(strstr(text, "http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} "
                           "1\n") != NULL,
              "%s", text);
    cr_assert(strstr(text, "http_request_duration_seconds_count{route=\"/v1/things/{id}\","
                           "method=\"GET\"} 2\n") != NULL,
              "%s", text);
    cr_assert_null(strstr(text, "/v1/things/abc"), "raw paths never become labels");
    cr_assert_null(strstr(text, "/v1/nope"));
    tc_buf_free(&b);
}

/* ------------------------------------------------------------------------- auth */

static char *sign(cJSON *claims)
{
    char *tok = NULL;
    cr_assert_eq(tc_jwt_sign_rs256(g_key, KID, claims, &tok), TC_OK);
    cJSON_Delete(claims);
    return tok;
}

static char *user_token(const char *role, int64_t exp_in_s)
{
    int64_t now = tc_now_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "usr_42");
    cJSON_AddStringToObject(c, "org", "org_7");
    cJSON_AddStringToObject(c, "role", role);
    cJSON_AddStringToObject(c, "iss", ISS);
    cJSON_AddStringToObject(c, "aud", AUD);
    cJSON_AddNumberToObject(c, "iat", (double)(now - 60));
    cJSON_AddNumberToObject(c, "nbf", (double)(now - 60));
    cJSON_AddNumberToObject(c, "exp", (double)(now + exp_in_s));
    return sign(c);
}

/* A token auth mints for an API key (principal_type "api_key"), with the key's scopes. */
static char *key_token(const char *role, const char *scope)
{
    int64_t now = tc_now_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "key_01");
    cJSON_AddStringToObject(c, "org", "org_7");
    cJSON_AddStringToObject(c, "role", role);
    cJSON_AddStringToObject(c, "scope", scope);
    cJSON_AddStringToObject(c, "principal_type", "api_key");
    cJSON_AddStringToObject(c, "iss", ISS);
    cJSON_AddStringToObject(c, "aud", AUD);
    cJSON_AddNumberToObject(c, "iat", (double)(now - 60));
    cJSON_AddNumberToObject(c, "exp", (double)(now + 600));
    return sign(c);
}

static char *service_token(const char *scope)
{
    int64_t now = tc_now_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "svc_billing");
    cJSON_AddStringToObject(c, "token_use", "service");
    cJSON_AddStringToObject(c, "scope", scope);
    cJSON_AddStringToObject(c, "iss", ISS);
    cJSON_AddStringToObject(c, "aud", AUD);
    cJSON_AddNumberToObject(c, "iat", (double)now);
    cJSON_AddNumberToObject(c, "exp", (double)(now + 300));
    return sign(c);
}

static void expect_status(const char *method, const char *target, const char *bearer, long status,
                          const char *code)
{
    reply_t r;
    call(&(call_t){.method = method, .target = target, .bearer = bearer}, &r);
    if (code)
        expect_error(&r, status, code);
    else
        cr_assert_eq(r.status, status, "%s %s: %ld %s", method, target, r.status,
                     tc_buf_cstr(&r.body));
    reply_free(&r);
}

Test(http, protected_route_without_verifier_is_401)
{
    const char *tok = "aaa.bbb.ccc";
    expect_status("GET", "/v1/me", tok, 401, "unauthorized");
}

Test(http_auth, user_route_without_or_with_bad_tokens_is_401)
{
    reply_t r;
    get("/v1/me", &r);
    const cJSON *e = expect_error(&r, 401, "unauthorized");
    cr_assert_str_eq(jstr(e, "message"), "Missing or malformed bearer token");
    char v[128];
    cr_assert_str_eq(header(&r, "WWW-Authenticate", v, sizeof v), "Bearer");
    reply_free(&r);

    static const char *const basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    call(&(call_t){.target = "/v1/me", .headers = basic}, &r);
    expect_error(&r, 401, "unauthorized");
    reply_free(&r);

    static const char *const empty_bearer[] = {"Authorization: Bearer ", NULL};
    call(&(call_t){.target = "/v1/me", .headers = empty_bearer}, &r);
    expect_error(&r, 401, "unauthorized");
    reply_free(&r);

    call(&(call_t){.target = "/v1/me", .bearer = "garbage"}, &r);
    e = expect_error(&r, 401, "unauthorized");
    cr_assert_str_eq(jstr(e, "message"), "Invalid or expired access token");
    cr_assert_str_eq(header(&r, "WWW-Authenticate", v, sizeof v), "Bearer error=\"invalid_token\"");
    reply_free(&r);

    expect_status("GET", "/v1/me", "eyJhbGciOiJub25lIn0.e30.", 401, "unauthorized");
}

Test(http_auth, expired_token_is_401)
{
    char *tok = user_token("admin", -3600);
    expect_status("GET", "/v1/me", tok, 401, "unauthorized");
    free(tok);
}

Test(http_auth, tampered_token_is_401)
{
    char *tok = user_token("viewer", 600);
    char *dot = strrchr(tok, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A'; /* flip a signature character */
    expect_status("GET", "/v1/me", tok, 401, "unauthorized");
    free(tok);
}

Test(http_auth, valid_user_token_reaches_the_handler)
{
    char *tok = user_token("viewer", 600);
    reply_t r;
    call(&(call_t){.target = "/v1/me", .bearer = tok}, &r);
    cr_assert_eq(r.status, 200, "%s", tc_buf_cstr(&r.body));
    cr_assert_str_eq(jstr(r.json, "sub"), "usr_42");
    cr_assert_str_eq(jstr(r.json, "org"), "org_7");
    cr_assert_str_eq(jstr(r.json, "role"), "viewer");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "is_service")));
    cr_assert_str_eq(jstr(r.json, "token"), tok);
    reply_free(&r);
    /* the second call is served from the verified-token cache and sees the same principal */
    call(&(call_t){.target = "/v1/me", .bearer = tok}, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(jstr(r.json, "sub"), "usr_42");
    reply_free(&r);
    free(tok);
}

Test(http_auth, role_below_minimum_is_403)
{
    char *viewer = user_token("viewer", 600);
    char *editor = user_token("editor", 600);
    char *admin = user_token("admin", 600);
    char *owner = user_token("owner", 600);
    reply_t r;
    call(&(call_t){.method = "DELETE", .target = "/v1/things/t1", .bearer = viewer}, &r);
    const cJSON *e = expect_error(&r, 403, "forbidden");
    cr_assert_str_eq(jstr(e, "message"), "Your role does not allow this action");
    reply_free(&r);
    expect_status("DELETE", "/v1/things/t1", editor, 403, "forbidden");
    expect_status("DELETE", "/v1/things/t1", admin, 204, NULL);
    expect_status("DELETE", "/v1/things/t1", owner, 204, NULL);
    expect_status("PATCH", "/v1/things/t1", viewer, 403, "forbidden");
    expect_status("PATCH", "/v1/things/t1", editor, 204, NULL);
    free(viewer);
    free(editor);
    free(admin);
    free(owner);
}

Test(http_auth, service_token_on_a_user_route_is_403)
{
    char *svc = service_token("internal");
    reply_t r;
    call(&(call_t){.target = "/v1/me", .bearer = svc}, &r);
    const cJSON *e = expect_error(&r, 403, "forbidden");
    cr_assert_str_eq(jstr(e, "message"), "This endpoint requires a user token");
    reply_free(&r);
    free(svc);
}

Test(http_auth, service_route)
{
    char *internal = service_token("internal");
    char *multi = service_token("read internal write");
    char *read = service_token("read internal-ish");
    char *user = user_token("owner", 600);

    reply_t r;
    call(&(call_t){.target = "/internal/ping", .bearer = internal}, &r);
    cr_assert_eq(r.status, 200, "%s", tc_buf_cstr(&r.body));
    cr_assert_str_eq(jstr(r.json, "sub"), "svc_billing");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "is_service")));
    cr_assert_str_eq(jstr(r.json, "scope"), "internal");
    reply_free(&r);

    expect_status("GET", "/internal/ping", multi, 200, NULL);

    call(&(call_t){.target = "/internal/ping", .bearer = read}, &r);
    const cJSON *e = expect_error(&r, 403, "forbidden");
    cr_assert_str_eq(jstr(e, "message"), "The service token lacks the internal scope");
    reply_free(&r);

    call(&(call_t){.target = "/internal/ping", .bearer = user}, &r);
    e = expect_error(&r, 403, "forbidden");
    cr_assert_str_eq(jstr(e, "message"), "This endpoint is for internal callers only");
    reply_free(&r);

    expect_status("GET", "/internal/ping", NULL, 401, "unauthorized");
    free(internal);
    free(multi);
    free(read);
    free(user);
}

Test(http_auth, public_route_ignores_tokens)
{
    expect_status("GET", "/v1/things/x", "garbage", 200, NULL);
}

Test(http_auth, api_key_scopes_bound_the_routes_it_may_call)
{
    char thing[TC_ID_MAX], path[96];
    cr_assert_eq(tc_id_new("thg", thing, sizeof thing), TC_OK);
    snprintf(path, sizeof path, "/v1/scoped/%s", thing);
    char *user = user_token("admin", 600);
    char *reader = key_token("admin", "things:read");
    char *writer = key_token("admin", "things:read things:write");
    char *unrestricted = key_token("editor", "");
    /* users and keys without scopes: role alone */
    expect_status("GET", path, user, 200, NULL);
    expect_status("DELETE", path, user, 200, NULL);
    expect_status("GET", path, unrestricted, 200, NULL);
    expect_status("DELETE", path, unrestricted, 200, NULL);
    /* a read-only key reads and cannot write, even as an admin */
    expect_status("GET", path, reader, 200, NULL);
    reply_t r;
    call(&(call_t){.method = "PATCH",
                   .target = path,
                   .bearer = reader,
                   .headers = JSON_CT,
                   .body = "{}",
                   .body_len = 2},
         &r);
    expect_error(&r, 403, "insufficient_scope");
    char challenge[160];
    cr_assert(header(&r, "WWW-Authenticate", challenge, sizeof challenge));
    cr_assert(strstr(challenge, "insufficient_scope") && strstr(challenge, "things:write"), "%s",
              challenge);
    reply_free(&r);
    call(&(call_t){.method = "PATCH",
                   .target = path,
                   .bearer = writer,
                   .headers = JSON_CT,
                   .body = "{}",
                   .body_len = 2},
         &r);
    cr_assert_eq(r.status, 200, "%s", tc_buf_cstr(&r.body));
    reply_free(&r);
    /* a route that names no scope is closed to every key restricted to scopes */
    expect_status("DELETE", path, writer, 403, "insufficient_scope");
    /* a scope is matched whole, never as a prefix */
    char *prefix = key_token("admin", "things:rea things");
    expect_status("GET", path, prefix, 403, "insufficient_scope");
    free(prefix);
    /* a principal type auth never issues is no token at all */
    int64_t now = tc_now_ms() / 1000;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", "key_01");
    cJSON_AddStringToObject(c, "org", "org_7");
    cJSON_AddStringToObject(c, "role", "admin");
    cJSON_AddStringToObject(c, "principal_type", "robot");
    cJSON_AddStringToObject(c, "iss", ISS);
    cJSON_AddStringToObject(c, "aud", AUD);
    cJSON_AddNumberToObject(c, "exp", (double)(now + 600));
    char *robot = sign(c);
    expect_status("GET", path, robot, 401, "unauthorized");
    free(robot);
    free(user);
    free(reader);
    free(writer);
    free(unrestricted);
}

Test(http_auth, malformed_path_ids_are_404)
{
    char *user = user_token("viewer", 600);
    expect_status("GET", "/v1/scoped/usr_01M8XMDAXYZA74881EJQEATQJ6", user, 404, "not_found");
    expect_status("GET", "/v1/scoped/thg_short", user, 404, "not_found");
    expect_status("GET", "/v1/scoped/thg_01M8XMDAXYZA74881EJQEATQJ6%00", user, 404, "not_found");
    expect_status("GET", "/v1/scoped/thg_01M8XMDAXYZA74881EJQEATQJ6", user, 200, NULL);
    free(user);
}
