/* Private to libcommon's token verifier (tc_auth.h): its state, shared by tc_auth.c (verify,
 * lifecycle), tc_jws.c, tc_jwk.c, tc_jwks.c (key sets) and tc_auth_cache.c. */
#ifndef TC_AUTH_INT_H
#define TC_AUTH_INT_H

#include "tc/tc_auth.h"
#include "tc/tc_revoke.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_httpc.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define TOKEN_MAX     16384
#define KID_MAX       128
#define JWKS_MAX      (1 << 20)
#define RSA_MIN_BITS  2048
#define RSA_MAX_BYTES 1024 /* 8192-bit modulus */
#define CACHE_STRIPES 64
#define CACHE_DEFAULT 4096
#define CACHE_MAX     (1u << 20)
#define NEVER         INT64_MIN

typedef struct {
    char kid[KID_MAX];
    EVP_PKEY *pkey;
} auth_key_t;

/* Immutable once published; freed when the last reference goes. */
typedef struct {
    atomic_int refs;
    size_t n;
    auth_key_t keys[];
} keyset_t;

typedef struct {
    uint8_t hash[TC_SHA256_LEN];
    uint64_t epoch;
    int used;
    tc_principal_t p;
} cache_entry_t;

typedef enum { RELOAD_EXPLICIT, RELOAD_PERIODIC, RELOAD_UNKNOWN_KID } reload_kind_t;

struct tc_auth {
    char *jwks_url;
    char *jwks_file;
    char *issuer;
    char *audience;
    int manual; /* keys installed by tc_auth_set_jwks only */
    int leeway_s;
    int refresh_ms;
    int refetch_ms;
    tc_httpc_t *http; /* only with jwks_url */

    pthread_mutex_t ks_mu; /* guards the pointer swap and reference grab only */
    keyset_t *ks;
    atomic_uint_fast64_t epoch;

    pthread_mutex_t reload_mu; /* guards the fields below; never held during I/O */
    pthread_cond_t reload_cv;
    int reloading;
    uint64_t reload_gen;
    int last_reload_rc;
    int64_t last_refetch_ms;         /* monotonic; NEVER before the first unknown-kid refetch */
    _Atomic int64_t next_refresh_ms; /* monotonic; read lock-free on every verify */

    size_t cache_n;
    cache_entry_t *cache;
    pthread_mutex_t cache_mu[CACHE_STRIPES];
    _Atomic(tc_revocations_t *) revoked; /* not owned; NULL: none */
};

/* The three segments of a compact JWS, pointing into the caller's token. */
typedef struct {
    const char *header, *payload, *sig;
    size_t header_len, payload_len, sig_len;
    size_t signed_len; /* "header.payload" */
    size_t total;
} jws_t;

/* Claims of interest, each the unique member of that name (NULL when absent). */
typedef struct {
    const cJSON *exp, *nbf, *iat, *iss, *aud, *sub, *org, *role, *scope, *plan, *jti, *use, *sid,
        *ptype;
} claims_t;

/* tc_jws.c: JSON of a token's segments */
/* The unique member of that name into *out (NULL when absent); TC_EINVAL when repeated. */
int auth_json_member(const cJSON *obj, const char *name, const cJSON **out);
/* base64url segment -> JSON object; NULL when not exactly one object. */
cJSON *auth_segment_json(const char *seg, size_t n);
/* A string claim into dst: TC_OK, TC_ENOTFOUND when absent, TC_EINVAL when not a non-empty
 * string that fits. */
int auth_copy_claim(const cJSON *v, char *dst, size_t cap);
/* tc_jwks.c: key sets */
/* Drops a reference; the last frees the set. */
void auth_keyset_release(keyset_t *ks);
/* The RS256 signing keys of a JWKS text (TC_EINVAL: none usable); *out has one reference.
 * kidless: keys without a kid are kept too (another issuer's set). */
int auth_keyset_parse(const char *text, bool kidless, keyset_t **out);
/* The key of a kid in a set; NULL when absent. Borrowed from ks. */
EVP_PKEY *auth_keyset_find(const keyset_t *ks, const char *kid);
/* Publishes next as the current set (bumping the epoch when keys were dropped). */
void auth_keyset_install(tc_auth_t *a, keyset_t *next);
/* Reloads the key set (one load at a time; others wait for its result). */
int auth_reload(tc_auth_t *a, reload_kind_t kind);
/* The key for `kid`, with a reference on the set that holds it (release after use). */
keyset_t *auth_key_for(tc_auth_t *a, const char *kid, EVP_PKEY **pkey, const char **why);
/* tc_auth_cache.c: verified tokens */
typedef enum { AUTH_CACHE_MISS, AUTH_CACHE_HIT, AUTH_CACHE_EXPIRED } auth_cache_hit_t;
/* A valid cached token (its principal copied to *out), one cached but expired, or a miss. */
auth_cache_hit_t auth_cache_get(tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN], uint64_t epoch,
                                int64_t now_s, tc_principal_t *out);
/* Remembers a verified principal. */
void auth_cache_put(tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN], uint64_t epoch,
                    const tc_principal_t *p);

#endif
