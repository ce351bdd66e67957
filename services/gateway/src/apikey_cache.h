/*
 * apikey_cache.h: API keys resolved by auth's introspection, cached by SHA-256 of the key.
 *
 * A positive entry holds the principal and the short-lived access token auth minted for it
 * (forwarded instead of the key) until min(token expiry − 30 s, 60 s); a negative entry
 * ("not an active key") lives 5 s, so a client hammering with a bad key costs one
 * introspection per 5 s. Entries are evicted by key id when auth announces a revocation.
 *
 * A revocation can race with an introspection in flight: the lookup records the revocation
 * generation before calling auth, and its result is not cached if a revocation arrived in
 * between (it is still used for that one request, which started before the revocation).
 *
 * Shared by every worker; striped locks. Times are passed in, for tests.
 */
#ifndef GW_APIKEY_CACHE_H
#define GW_APIKEY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "tc/tc_auth.h"
#include "tc/tc_crypto.h"

#define GW_APIKEY_NEGATIVE_MS 5000
#define GW_APIKEY_MAX_MS      60000
#define GW_APIKEY_MARGIN_MS   30000

typedef struct gw_apikeys gw_apikeys_t;

gw_apikeys_t *gw_apikeys_new(int capacity);
void gw_apikeys_free(gw_apikeys_t *k);

typedef enum {
    GW_APIKEY_UNKNOWN = 0, /* not cached: introspect */
    GW_APIKEY_VALID,       /* *p, key_id and "Bearer <token>" into *auth (grown, caller owns it) */
    GW_APIKEY_INVALID,     /* known not to be an active key */
} gw_apikey_lookup_t;

gw_apikey_lookup_t gw_apikeys_get(gw_apikeys_t *k, const uint8_t hash[TC_SHA256_LEN],
                                  int64_t now_ms, tc_principal_t *p, char key_id[64], char **auth,
                                  size_t *auth_cap);

uint64_t gw_apikeys_generation(gw_apikeys_t *k);
/* Caches an introspection result obtained after reading generation `gen`. token_exp_ms is the
 * access token's expiry (same clock as now_ms). */
void gw_apikeys_put(gw_apikeys_t *k, const uint8_t hash[TC_SHA256_LEN], const tc_principal_t *p,
                    const char *key_id, const char *token, int64_t now_ms, int64_t token_exp_ms,
                    uint64_t gen);
void gw_apikeys_put_negative(gw_apikeys_t *k, const uint8_t hash[TC_SHA256_LEN], int64_t now_ms,
                             uint64_t gen);
/* Drops every entry of the key; returns how many. Bumps the generation. */
int gw_apikeys_revoke(gw_apikeys_t *k, const char *key_id);
int gw_apikeys_count(gw_apikeys_t *k);

/* "Bearer <token>" into a growable buffer; the token is n bytes (not NUL-terminated). */
int gw_bearer_copy_n(char **buf, size_t *cap, const char *token, size_t n);
/* The same for a NUL-terminated token. */
int gw_bearer_copy(char **buf, size_t *cap, const char *token);

#endif
