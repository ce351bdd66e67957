/* Unit tests for the API-key cache (apikey_cache.c): expiry, negative entries, revocation,
 * the revocation race, bounded capacity. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey_cache.h"
#include "tc/tc_core.h"

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
    cr_assert_eq(gw_apikeys_get(k, h, 0, &got, kid, &auth, &cap), GW_APIKEY_UNKNOWN);
    /* token valid 50 s: cached 20 s (expiry - 30 s) */
    gw_apikeys_put(k, h, &p, "key_1", "jwt.a.b", 0, 50000, gw_apikeys_generation(k));
    cr_assert_eq(gw_apikeys_get(k, h, 19999, &got, kid, &auth, &cap), GW_APIKEY_VALID);
    cr_assert_str_eq(got.sub, "key_1");
    cr_assert_str_eq(kid, "key_1");
    cr_assert_str_eq(auth, "Bearer jwt.a.b");
    cr_assert_eq(gw_apikeys_get(k, h, 20000, &got, kid, &auth, &cap), GW_APIKEY_UNKNOWN, "expired");
    cr_assert_eq(gw_apikeys_count(k), 0, "expired entries are removed");
    /* token valid 15 min: cached at most 60 s */
    gw_apikeys_put(k, h, &p, "key_1", "jwt.a.b", 0, 900000, gw_apikeys_generation(k));
    cr_assert_eq(gw_apikeys_get(k, h, 59999, &got, kid, &auth, &cap), GW_APIKEY_VALID);
    cr_assert_eq(gw_apikeys_get(k, h, 60000, &got, kid, &auth, &cap), GW_APIKEY_UNKNOWN);
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
    cr_assert_eq(gw_apikeys_get(k, h, 5999, &got, kid, &auth, &cap), GW_APIKEY_INVALID);
    cr_assert_eq(gw_apikeys_get(k, h, 6000, &got, kid, &auth, &cap), GW_APIKEY_UNKNOWN);
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
    cr_assert_eq(gw_apikeys_get(k, h, 1, &got, kid, &auth, &cap), GW_APIKEY_UNKNOWN);
    hash_of("tc_live_11", h);
    cr_assert_eq(gw_apikeys_get(k, h, 1, &got, kid, &auth, &cap), GW_APIKEY_VALID);
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
