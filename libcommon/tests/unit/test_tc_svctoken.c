/*
 * tc_svctoken: the client-credentials token cache, against a stand-in for auth's token
 * endpoint (a tc_http server on a loopback ephemeral port inside the test process) that
 * counts its calls and answers as each test tells it to.
 */
#include "tc/tc_core.h"
#include "tc/tc_http.h"
#include "tc/tc_httpc.h"
#include "tc/tc_log.h"
#include "tc/tc_svctoken.h"
#include "tc/tc_time.h"

#include "../http_probe.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static tc_router_t *g_router;
static tc_http_server_t *g_srv;
static tc_httpc_t *g_http;
static char g_url[64];

/* what the stand-in answers */
static atomic_int g_status = 200;
static atomic_int g_expires_in = 900;
static atomic_int g_delay_ms;
static atomic_int g_malformed;
/* what it saw */
static atomic_int g_hits;
static char g_last_body[1024];
static char g_last_type[128];
static pthread_mutex_t g_seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void h_token(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    int n = atomic_fetch_add(&g_hits, 1) + 1;
    size_t len = 0;
    const char *body = tc_req_body(req, &len);
    const char *type = tc_req_header(req, "Content-Type");
    pthread_mutex_lock(&g_seen_lock);
    snprintf(g_last_body, sizeof g_last_body, "%.*s", (int)len, body ? body : "");
    snprintf(g_last_type, sizeof g_last_type, "%s", type ? type : "");
    pthread_mutex_unlock(&g_seen_lock);
    if (atomic_load(&g_delay_ms))
        tc_sleep_ms(atomic_load(&g_delay_ms));
    int status = atomic_load(&g_status);
    if (status != 200) {
        tc_resp_error(resp, status, "refused", "refused by the test");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    char tok[32];
    snprintf(tok, sizeof tok, "tok-%d", n);
    cJSON_AddStringToObject(o, atomic_load(&g_malformed) ? "token" : "access_token", tok);
    cJSON_AddStringToObject(o, "token_type", "Bearer");
    cJSON_AddNumberToObject(o, "expires_in", atomic_load(&g_expires_in));
    tc_resp_json(resp, 200, o);
}

/* a peer's internal endpoint: refuses the first token it is shown while g_peer_rejects_first */
static atomic_int g_peer_rejects_first;
static atomic_int g_peer_hits;

static void h_peer(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(ud);
    atomic_fetch_add(&g_peer_hits, 1);
    const char *authz = tc_req_header(req, "Authorization");
    if (atomic_load(&g_peer_rejects_first) && authz && strcmp(authz, "Bearer tok-1") == 0) {
        tc_resp_error(resp, 401, "unauthorized", "signed with a retired key");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "authorization", authz ? authz : "");
    tc_resp_json(resp, 200, o);
}

static void setup(void)
{
    tc_log_init("svctoken-test", "error");
    g_router = tc_router_new();
    tc_route_t r = {.method = "POST", .pattern = "/v1/auth/oauth/token", .fn = h_token};
    cr_assert_eq(tc_router_add(g_router, &r), TC_OK);
    tc_route_t peer = {.method = "POST", .pattern = "/internal/peer", .fn = h_peer};
    cr_assert_eq(tc_router_add(g_router, &peer), TC_OK);
    tc_http_opts_t o = {
        .service = "fake-auth", .bind_addr = "127.0.0.1", .port = 0, .router = g_router};
    g_srv = tc_http_start(&o);
    cr_assert_not_null(g_srv);
    snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d", tc_http_port(g_srv));
    tc_httpc_opts_t ho = {.max_retries = 0, .breaker_failures = 1000};
    g_http = tc_httpc_new(&ho);
    cr_assert_not_null(g_http);
}

static void teardown(void)
{
    tc_httpc_free(g_http);
    tc_http_stop(g_srv);
    tc_router_free(g_router);
}

TestSuite(svctoken, .init = setup, .fini = teardown, .timeout = 30);

static tc_svctoken_t *new_token(const char *scope, int margin_s)
{
    tc_svctoken_opts_t o = {.auth_url = g_url,
                            .client_id = "gateway",
                            .client_secret = "s3cr&t=1",
                            .scope = scope,
                            .refresh_margin_s = margin_s};
    tc_svctoken_t *t = tc_svctoken_new(g_http, &o);
    cr_assert_not_null(t);
    return t;
}

static void last_request(char *body, size_t n, char *type, size_t tn)
{
    pthread_mutex_lock(&g_seen_lock);
    snprintf(body, n, "%s", g_last_body);
    snprintf(type, tn, "%s", g_last_type);
    pthread_mutex_unlock(&g_seen_lock);
}

Test(svctoken, fetches_with_client_credentials_then_serves_from_cache)
{
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[128], body[1024], type[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-1");
    last_request(body, sizeof body, type, sizeof type);
    cr_assert_str_eq(type, "application/x-www-form-urlencoded");
    /* form-encoded, the secret escaped, the scope defaulting to "internal" */
    cr_assert_str_eq(body, "grant_type=client_credentials&client_id=gateway&"
                           "client_secret=s3cr%26t%3D1&scope=internal");
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
        cr_assert_str_eq(tok, "tok-1");
    }
    cr_assert_eq(atomic_load(&g_hits), 1, "a valid cached token needs no new request");
    tc_svctoken_free(t);
}

Test(svctoken, requested_scopes_are_sent_as_given)
{
    tc_svctoken_t *t = new_token("internal audit:read", 0);
    char tok[128], body[1024], type[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    last_request(body, sizeof body, type, sizeof type);
    cr_assert(strstr(body, "&scope=internal%20audit%3Aread"), "%s", body);
    tc_svctoken_free(t);
}

typedef struct {
    tc_svctoken_t *t;
    int rc;
    char tok[128];
} caller_t;

static void *call(void *arg)
{
    caller_t *c = arg;
    c->rc = tc_svctoken_get(c->t, c->tok, sizeof c->tok);
    return NULL;
}

Test(svctoken, concurrent_callers_share_one_fetch)
{
    atomic_store(&g_delay_ms, 300);
    tc_svctoken_t *t = new_token(NULL, 0);
    caller_t c[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        c[i] = (caller_t){.t = t};
        cr_assert_eq(pthread_create(&th[i], NULL, call, &c[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(c[i].rc, TC_OK);
        cr_assert_str_eq(c[i].tok, "tok-1");
    }
    cr_assert_eq(atomic_load(&g_hits), 1, "a burst of callers makes one request to auth");
    tc_svctoken_free(t);
}

Test(svctoken, renews_the_margin_before_expiry)
{
    /* 3 s token, 1 s margin: renewed after 2 s, not before */
    atomic_store(&g_expires_in, 3);
    tc_svctoken_t *t = new_token(NULL, 1);
    char tok[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-1");
    tc_sleep_ms(1500);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-1", "still inside its lifetime minus the margin");
    tc_sleep_ms(700);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-2", "renewed once the margin before expiry is reached");
    cr_assert_eq(atomic_load(&g_hits), 2);
    tc_svctoken_free(t);
}

Test(svctoken, a_short_lived_token_is_renewed_at_half_its_life)
{
    /* 2 s token with the default 30 s margin: the margin would exceed the life, so the token
     * is renewed halfway instead of on every call */
    atomic_store(&g_expires_in, 2);
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_eq(atomic_load(&g_hits), 1);
    tc_sleep_ms(1200);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-2");
    tc_svctoken_free(t);
}

Test(svctoken, invalidate_forces_a_new_token)
{
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    tc_svctoken_invalidate(t);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-2", "after a peer's 401 the next call fetches a fresh token");
    tc_svctoken_free(t);
}

Test(svctoken, refused_credentials_are_denied_and_not_cached)
{
    atomic_store(&g_status, 401);
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[128] = "untouched";
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_EDENIED);
    cr_assert_str_eq(tok, "untouched");
    atomic_store(&g_status, 200);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK, "a later call asks again");
    cr_assert_str_eq(tok, "tok-2");
    tc_svctoken_free(t);
}

Test(svctoken, auth_failing_is_unavailable)
{
    atomic_store(&g_status, 503);
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_EUNAVAIL);
    atomic_store(&g_status, 500);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_EUNAVAIL);
    tc_svctoken_free(t);
}

Test(svctoken, unreachable_auth_is_unavailable)
{
    int port = probe_free_port();
    cr_assert_gt(port, 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    tc_svctoken_opts_t o = {.auth_url = url, .client_id = "gateway", .client_secret = "x"};
    tc_svctoken_t *t = tc_svctoken_new(g_http, &o);
    cr_assert_not_null(t);
    char tok[128];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_EUNAVAIL);
    tc_svctoken_free(t);
}

Test(svctoken, an_answer_without_a_token_is_an_error_and_not_cached)
{
    atomic_store(&g_malformed, 1);
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[128];
    int rc = tc_svctoken_get(t, tok, sizeof tok);
    cr_assert_neq(rc, TC_OK);
    atomic_store(&g_malformed, 0);
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    cr_assert_str_eq(tok, "tok-2");
    tc_svctoken_free(t);
}

Test(svctoken, a_buffer_too_small_is_invalid)
{
    tc_svctoken_t *t = new_token(NULL, 0);
    char tok[4];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_EINVAL);
    char big[64];
    cr_assert_eq(tc_svctoken_get(t, big, sizeof big), TC_OK, "the token itself was cached");
    cr_assert_eq(atomic_load(&g_hits), 1);
    tc_svctoken_free(t);
}

Test(svctoken, new_requires_a_client_and_credentials)
{
    tc_svctoken_opts_t o = {.auth_url = g_url, .client_id = "gateway", .client_secret = "x"};
    cr_assert_null(tc_svctoken_new(NULL, &o));
    o.client_secret = NULL;
    cr_assert_null(tc_svctoken_new(g_http, &o));
    o.client_secret = "x";
    o.client_id = NULL;
    cr_assert_null(tc_svctoken_new(g_http, &o));
    o.client_id = "gateway";
    o.auth_url = NULL;
    cr_assert_null(tc_svctoken_new(g_http, &o));
    tc_svctoken_free(NULL);
}

static int call_peer(tc_svctoken_t *t, tc_httpc_resp_t *out)
{
    char url[96];
    snprintf(url, sizeof url, "%s/internal/peer", g_url);
    tc_httpc_req_t req = {.method = "POST", .url = url, .body = "{}", .body_len = 2};
    return tc_svctoken_do(t, &req, out);
}

Test(svctoken, a_call_carries_the_token_and_a_refused_token_is_renewed_once)
{
    tc_svctoken_t *t = new_token(NULL, 0);
    tc_httpc_resp_t out;
    cr_assert_eq(call_peer(t, &out), TC_OK);
    cr_assert_eq(out.status, 200);
    cr_assert(strstr(out.body, "Bearer tok-1"), "%s", out.body);
    tc_httpc_resp_free(&out);
    /* the peer now refuses tok-1 (a rotated signing key): one new token, one more try */
    atomic_store(&g_peer_rejects_first, 1);
    cr_assert_eq(call_peer(t, &out), TC_OK);
    cr_assert_eq(out.status, 200);
    cr_assert(strstr(out.body, "Bearer tok-2"), "%s", out.body);
    tc_httpc_resp_free(&out);
    cr_assert_eq(atomic_load(&g_hits), 2);
    cr_assert_eq(atomic_load(&g_peer_hits), 3);
    tc_svctoken_free(t);
}

Test(svctoken, a_call_refused_twice_returns_the_refusal)
{
    atomic_store(&g_peer_rejects_first, 1);
    atomic_store(&g_expires_in, 900);
    tc_svctoken_t *t = new_token(NULL, 0);
    tc_httpc_resp_t out;
    /* auth hands out tok-1 and then tok-2: tok-2 passes, so make auth fail the renewal */
    char tok[64];
    cr_assert_eq(tc_svctoken_get(t, tok, sizeof tok), TC_OK);
    atomic_store(&g_status, 503);
    cr_assert_eq(call_peer(t, &out), TC_EUNAVAIL, "no new token: the call cannot be made");
    tc_svctoken_free(t);
}

Test(svctoken, a_call_without_credentials_auth_accepts_is_denied)
{
    atomic_store(&g_status, 401);
    tc_svctoken_t *t = new_token(NULL, 0);
    tc_httpc_resp_t out;
    cr_assert_eq(call_peer(t, &out), TC_EDENIED);
    cr_assert_eq(atomic_load(&g_peer_hits), 0);
    tc_svctoken_free(t);
}
