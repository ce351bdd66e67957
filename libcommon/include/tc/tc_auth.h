/*
 * tc_auth.h: access-token verification (RS256 JWT against a JWKS), principals and roles,
 * and RS256 signing for the token issuer (auth) and developer tools.
 *
 * Verification, in order: three base64url segments; header is JSON with alg exactly "RS256"
 * (anything else, "none" and HS256 included, is rejected before any key is touched) and a
 * kid present in the key set; RSA-SHA256 signature checked with OpenSSL against the cached
 * public key of that kid (keys are parsed once when the JWKS is loaded, never per token);
 * then claims: exp and nbf with a small leeway, iss and aud exactly as configured, sub, org
 * and role present. Verified tokens are cached by SHA-256 until they expire.
 *
 * The key set comes from a file or an URL. An unknown kid triggers a refetch (at most once
 * per `refetch_min_interval_ms`), and the set is refreshed every `refresh_interval_ms`, so
 * keys rotate without downtime.
 */
#ifndef TC_AUTH_H
#define TC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

typedef enum {
    TC_ROLE_NONE = 0,
    TC_ROLE_VIEWER = 1,
    TC_ROLE_EDITOR = 2,
    TC_ROLE_ADMIN = 3,
    TC_ROLE_OWNER = 4,
} tc_role_t;

tc_role_t tc_role_parse(const char *name); /* TC_ROLE_NONE when unknown */
const char *tc_role_name(tc_role_t role);  /* "viewer"… or NULL */

typedef struct {
    char sub[64];    /* user id (usr_…) or service client id */
    char org[64];    /* org id; empty for service tokens */
    tc_role_t role;  /* TC_ROLE_NONE for service tokens */
    char scope[512]; /* space-separated scopes (the whole vocabulary fits: auth's unit tests) */
    char plan[32];   /* billing plan for rate limits; "free" when absent */
    char jti[64];
    char sid[64];    /* session the token was issued for (user tokens from a login) */
    int64_t exp;     /* epoch seconds */
    int64_t iat;     /* epoch seconds; 0 when the token does not say */
    bool is_service; /* token_use "service" */
    bool is_api_key; /* principal_type "api_key": minted by auth for an API key, whose scopes
                      * (when it has any) bound the routes it may call */
} tc_principal_t;

bool tc_principal_has_scope(const tc_principal_t *p, const char *scope);
/* 1 when the principal is a user of at least `min` role. */
bool tc_principal_at_least(const tc_principal_t *p, tc_role_t min);

typedef struct tc_auth tc_auth_t;

typedef struct {
    const char *jwks_url;        /* http(s)://…; or */
    const char *jwks_file;       /* path to a JWKS JSON file */
    const char *issuer;          /* required iss */
    const char *audience;        /* required to appear in aud */
    int leeway_s;                /* clock skew tolerated on exp/nbf (default 30) */
    int refresh_interval_ms;     /* periodic JWKS refresh (default 300000) */
    int refetch_min_interval_ms; /* unknown-kid refetch rate limit (default 10000) */
    size_t cache_size;           /* verified-token cache slots (default 4096; 0 → default) */
    int manual;                  /* keys come only from tc_auth_set_jwks (the issuer itself) */
} tc_auth_opts_t;

tc_auth_t *tc_auth_new(const tc_auth_opts_t *opts);
void tc_auth_free(tc_auth_t *a);
/* Loads/refreshes the key set now. */
int tc_auth_reload(tc_auth_t *a);
/* Manual mode: installs a key set (JWKS JSON text). The issuer calls it whenever its own
 * keys change, so it verifies its tokens without fetching its own endpoint. */
int tc_auth_set_jwks(tc_auth_t *a, const char *jwks_json);
/* Number of keys currently loaded (0 before the first successful load). */
size_t tc_auth_key_count(tc_auth_t *a);

/*
 * Verifies a compact JWS. TC_OK and *out filled, or TC_EINVAL with *why set to a short
 * static reason ("expired", "bad_signature", "alg_not_allowed", "unknown_kid", …) that is
 * safe to log (never the token).
 */
int tc_auth_verify(tc_auth_t *a, const char *token, tc_principal_t *out, const char **why);
/*
 * The verified-token cache alone, for callers that must not block (an event loop): TC_OK and
 * *out when the token was verified before and is still valid; TC_EINVAL with *why "expired"
 * (or "malformed" for an empty or oversized string); TC_EAGAIN when it is not in the cache
 * and needs tc_auth_verify, which checks everything and may wait for a key-set fetch.
 */
int tc_auth_lookup(tc_auth_t *a, const char *token, tc_principal_t *out, const char **why);
/*
 * A token of another issuer (an OpenID provider's ID token): the compact JWS checked as above
 * (alg pinned to RS256, no crit) against the RS256 keys of jwks_json, the issuer's key set as
 * fetched: the key of the token's kid, or the set's only key when the token names none. TC_OK and
 * *claims (the payload object, owned by the caller); TC_EINVAL with *why ("alg_not_allowed",
 * "unknown_kid", "bad_signature", "no_usable_key", …). No claim is checked: which ones matter is
 * the caller's protocol.
 */
int tc_jws_verify_rs256(const char *jwks_json, const char *token, cJSON **claims, const char **why);
/* Refuses tokens of revoked sessions and subjects from now on (why "revoked"), in
 * tc_auth_verify and tc_auth_lookup alike; r is not owned and outlives a. NULL: none. */
typedef struct tc_revocations tc_revocations_t;
void tc_auth_set_revocations(tc_auth_t *a, tc_revocations_t *r);

/* Extracts the token from an "Authorization: Bearer …" header value; NULL when malformed. */
const char *tc_auth_bearer(const char *authorization);

/* --- signing (issuer side) --- */

/* Signs claims (a JSON object) as an RS256 compact JWS with header {alg,typ,kid}. */
int tc_jwt_sign_rs256(EVP_PKEY *key, const char *kid, const cJSON *claims, char **out);
/* Public JWK {kty,n,e,kid,alg,use} for an RSA key. */
cJSON *tc_jwk_from_pkey(EVP_PKEY *key, const char *kid);
/* RSA public key from a JWK object; NULL if not an RSA key. */
EVP_PKEY *tc_pkey_from_jwk(const cJSON *jwk);
/* Loads a PEM private key from file. */
EVP_PKEY *tc_pkey_load_pem(const char *path);

#endif
