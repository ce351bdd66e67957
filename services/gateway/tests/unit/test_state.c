/* Unit tests for the gateway's small stateful parts: the API-key cache (expiry, revocation,
 * the revocation race), the in-process GCRA used while Redis is away, the timer heap, and
 * the usage event's data. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey_cache.h"
#include "ratelimit_async.h"
#include "timer_heap.h"
#include "usage_events.h"
#include "tc/tc_core.h"

/* ------------------------------------------------------------------ API-key cache */

static void hash_of(const char *key, uint8_t h[TC_SHA256_LEN])
{
    tc_sha256(key, strlen(key), h);
}

static tc_principal_t principal(const char *sub)
{
    tc_principal_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.sub, sizeof p.sub, "%s", sub);
    snprintf(p.org, sizeof p.org, "org_1");
    p.role = TC_ROLE_EDITOR;
    return p;
}

Test(apikeys, positive_entries_until_token_expiry_minus_margin)
{
    gw_apikeys_t *k = gw_apikeys_new(100);
    uint8_t h[TC_SHA256_LEN];
    hash_of("tc_live_a", h);
    tc_principal_t p = principal("key_1"), got;
    char kid[64], *auth = NULL;
    size_t cap = 0;
    cr_assert_eq(gw_apikeys_get(k, h, 0, &got, kid, &auth, &cap), 0);
    /* token valid 50 s: cached 20 s (expiry - 30 s) */
    gw_apikeys_put(k, h, &p, "key_1", "jwt.a.b", 0, 50000, gw_apikeys_generation(k));
    cr_assert_eq(gw_apikeys_get(k, h, 19999, &got, kid, &auth, &cap), 1);
    cr_assert_str_eq(got.sub, "key_1");
    cr_assert_str_eq(kid, "key_1");
    cr_assert_str_eq(auth, "Bearer jwt.a.b");
    cr_assert_eq(gw_apikeys_get(k, h, 20000, &got, kid, &auth, &cap), 0, "expired");
    cr_assert_eq(gw_apikeys_count(k), 0, "expired entries are removed");
    /* token valid 15 min: cached at most 60 s */
    gw_apikeys_put(k, h, &p, "key_1", "jwt.a.b", 0, 900000, gw_apikeys_generation(k));
    cr_assert_eq(gw_apikeys_get(k, h, 59999, &got, kid, &auth, &cap), 1);
    cr_assert_eq(gw_apikeys_get(k, h, 60000, &got, kid, &auth, &cap), 0);
    /* a token already within the margin is not cached */
    gw_apikeys_put(k, h, &p, "key_1", "jwt.a.b", 0, 30000, gw_apikeys_generation(k));
    cr_assert_eq(gw_apikeys_count(k), 0);
    free(auth);
    gw_apikeys_free(k);
}

Test(apikeys, negative_entries_live_five_seconds)
{
    gw_apikeys_t *k = gw_apikeys_new(100);
    uint8_t h[TC_SHA256_LEN];
    hash_of("tc_live_bad", h);
    gw_apikeys_put_negative(k, h, 1000, gw_apikeys_generation(k));
    tc_principal_t got;
    char kid[64], *auth = NULL;
    size_t cap = 0;
    cr_assert_eq(gw_apikeys_get(k, h, 5999, &got, kid, &auth, &cap), -1);
    cr_assert_eq(gw_apikeys_get(k, h, 6000, &got, kid, &auth, &cap), 0);
    gw_apikeys_free(k);
}

Test(apikeys, revocation_evicts_every_entry_of_the_key)
{
    gw_apikeys_t *k = gw_apikeys_new(1000);
    tc_principal_t p = principal("key_x"), got;
    uint8_t h[TC_SHA256_LEN];
    char name[32], kid[64], *auth = NULL;
    size_t cap = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "tc_live_%d", i);
        hash_of(name, h);
        gw_apikeys_put(k, h, &p, i % 10 == 0 ? "key_x" : "key_other", "t", 0, 900000,
                       gw_apikeys_generation(k));
    }
    cr_assert_eq(gw_apikeys_count(k), 50);
    cr_assert_eq(gw_apikeys_revoke(k, "key_x"), 5);
    cr_assert_eq(gw_apikeys_count(k), 45);
    hash_of("tc_live_10", h);
    cr_assert_eq(gw_apikeys_get(k, h, 1, &got, kid, &auth, &cap), 0);
    hash_of("tc_live_11", h);
    cr_assert_eq(gw_apikeys_get(k, h, 1, &got, kid, &auth, &cap), 1);
    cr_assert_eq(gw_apikeys_revoke(k, "key_nobody"), 0);
    free(auth);
    gw_apikeys_free(k);
}

Test(apikeys, result_of_a_lookup_racing_a_revocation_is_not_cached)
{
    gw_apikeys_t *k = gw_apikeys_new(100);
    uint8_t h[TC_SHA256_LEN];
    hash_of("tc_live_race", h);
    tc_principal_t p = principal("key_r");
    uint64_t gen = gw_apikeys_generation(k); /* introspection starts */
    gw_apikeys_revoke(k, "key_r");           /* revocation arrives meanwhile */
    gw_apikeys_put(k, h, &p, "key_r", "t", 0, 900000, gen);
    cr_assert_eq(gw_apikeys_count(k), 0);
    gw_apikeys_put_negative(k, h, 0, gen);
    cr_assert_eq(gw_apikeys_count(k), 0);
    gw_apikeys_free(k);
}

Test(apikeys, capacity_is_bounded)
{
    gw_apikeys_t *k = gw_apikeys_new(160);
    tc_principal_t p = principal("key_c");
    uint8_t h[TC_SHA256_LEN];
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "tc_live_%d", i);
        hash_of(name, h);
        gw_apikeys_put(k, h, &p, "key_c", "t", i, 900000 + i, gw_apikeys_generation(k));
    }
    cr_assert_leq(gw_apikeys_count(k), 160);
    gw_apikeys_free(k);
}

/* ------------------------------------------------------------------ in-process GCRA */

Test(local_limiter, burst_refusal_recovery)
{
    gw_local_rl_t *l = gw_local_rl_new(1024);
    tc_rl_spec_t spec = {.limit = 60, .period_ms = 60000, .burst = 3};
    tc_rl_result_t r;
    int64_t t = 1000000000; /* µs */
    for (int i = 0; i < 3; i++) {
        gw_local_rl_check(l, "org_a", &spec, t, &r);
        cr_assert(r.allowed, "burst request %d", i);
        cr_assert_eq(r.remaining, 2 - i);
        cr_assert_eq(r.limit, 60);
    }
    gw_local_rl_check(l, "org_a", &spec, t, &r);
    cr_assert_not(r.allowed);
    cr_assert_eq(r.retry_after_ms, 1000);
    gw_local_rl_check(l, "org_b", &spec, t, &r);
    cr_assert(r.allowed, "keys are independent");
    gw_local_rl_check(l, "org_a", &spec, t + 999999, &r);
    cr_assert_not(r.allowed);
    gw_local_rl_check(l, "org_a", &spec, t + 1000000, &r);
    cr_assert(r.allowed, "one cell per second");
    gw_local_rl_free(l);
}

/* ------------------------------------------------------------------ timers */

Test(timers, fire_in_deadline_order_with_moves_and_cancels)
{
    enum { N = 500 };
    gw_heap_t h;
    heap_init(&h);
    static gw_timer_t t[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        timer_init(&t[i], 1);
        cr_assert_eq(heap_arm(&h, &t[i], rand() % 10000), TC_OK);
    }
    for (int i = 0; i < N; i += 3)
        heap_arm(&h, &t[i], rand() % 10000); /* re-arm: move up or down */
    for (int i = 1; i < N; i += 5)
        heap_cancel(&h, &t[i]);
    heap_cancel(&h, &t[1]); /* cancelling twice is harmless */
    int64_t last = -1;
    int n = 0;
    gw_timer_t *top;
    while ((top = heap_top(&h))) {
        cr_assert_geq(top->deadline_ms, last);
        last = top->deadline_ms;
        heap_cancel(&h, top);
        cr_assert_eq(top->idx, -1);
        n++;
    }
    cr_assert_eq(n, N - N / 5);
    heap_free(&h);
}

/* ------------------------------------------------------------------ usage events */

Test(usage, data_is_json_with_nulls_for_anonymous)
{
    gw_usage_rec_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.request_id, sizeof r.request_id, "req_1");
    snprintf(r.route, sizeof r.route, "we\"ird\\route");
    r.method = HTTP_M_POST;
    r.status = 201;
    r.latency_us = 1500;
    r.bytes_in = 10;
    r.bytes_out = 20;
    r.occurred_ms = 1700000000123;
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(gw_usage_format(&r, &b), TC_OK);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert_not_null(j, "%s", b.data);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "org_id")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "principal")));
    cr_assert_str_eq(cJSON_GetObjectItem(j, "principal_type")->valuestring, "anonymous");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "route")->valuestring, "we\"ird\\route");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "POST");
    cr_assert_eq(cJSON_GetObjectItem(j, "status")->valueint, 201);
    cr_assert_float_eq(cJSON_GetObjectItem(j, "latency_ms")->valuedouble, 1.5, 1e-9);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "occurred_at")->valuestring,
                     "2023-11-14T22:13:20.123Z");
    cJSON_Delete(j);
    snprintf(r.org, sizeof r.org, "org_9");
    snprintf(r.principal, sizeof r.principal, "key_9");
    r.ptype = PT_API_KEY;
    gw_usage_format(&r, &b);
    j = cJSON_Parse(b.data);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "org_id")->valuestring, "org_9");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "principal_type")->valuestring, "api_key");
    cJSON_Delete(j);
    tc_buf_free(&b);
}
