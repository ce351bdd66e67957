/*
 * RS256 access-token verification against a JWKS, with OpenSSL and cJSON directly.
 *
 * Key set: parsed into EVP_PKEYs once per load and published as an immutable, refcounted
 * snapshot. Readers take a reference under a mutex held for two instructions; a reload
 * builds the next snapshot without any lock and swaps the pointer, so verification never
 * waits for a fetch (except a token whose kid is unknown, which waits for the one refetch
 * in flight because that refetch is its only chance to succeed).
 *
 * Verified-token cache: direct-mapped slots keyed by SHA-256 of the token, striped
 * mutexes. Entries carry the key-set epoch current when their verification started; a
 * reload that drops a kid bumps the epoch, so tokens of a withdrawn key stop verifying at
 * once instead of living on in the cache until they expire.
 */
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

/* ------------------------------------------------------------------------- roles */

static const char *const role_names[] = {NULL, "viewer", "editor", "admin", "owner"};

tc_role_t tc_role_parse(const char *name)
{
    if (!name)
        return TC_ROLE_NONE;
    for (int r = TC_ROLE_VIEWER; r <= TC_ROLE_OWNER; r++)
        if (strcmp(name, role_names[r]) == 0)
            return (tc_role_t)r;
    return TC_ROLE_NONE;
}

const char *tc_role_name(tc_role_t role)
{
    if (role < TC_ROLE_VIEWER || role > TC_ROLE_OWNER)
        return NULL;
    return role_names[role];
}

bool tc_principal_has_scope(const tc_principal_t *p, const char *scope)
{
    if (!p || !scope || !scope[0] || strchr(scope, ' '))
        return false;
    size_t n = strlen(scope);
    const char *s = p->scope;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t w = strcspn(s, " ");
        if (w == n && strncmp(s, scope, n) == 0)
            return true;
        s += w;
    }
    return false;
}

bool tc_principal_at_least(const tc_principal_t *p, tc_role_t min)
{
    /* Service principals act by scope, never by role. */
    if (!p || p->is_service || p->role < TC_ROLE_VIEWER || p->role > TC_ROLE_OWNER)
        return false;
    return p->role >= min;
}

const char *tc_auth_bearer(const char *authorization)
{
    if (!authorization)
        return NULL;
    const char *p = authorization;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || p[6] != ' ')
        return NULL;
    p += 6;
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    for (const char *q = p; *q; q++)
        if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q))
            return NULL;
    return p;
}

/* ------------------------------------------------------------------------- JSON helpers */

/* The member `name` (case-sensitive). -1 when it occurs twice: parsers disagree on which
 * duplicate wins, so a token carrying two "alg" or two "exp" members is refused. */
static int member(const cJSON *obj, const char *name, const cJSON **out)
{
    *out = NULL;
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (it->string && strcmp(it->string, name) == 0) {
            if (*out)
                return -1;
            *out = it;
        }
    }
    return 0;
}

/* base64url segment → JSON object; NULL when not exactly one object. */
static cJSON *segment_json(const char *seg, size_t n)
{
    if (n == 0)
        return NULL;
    char *buf = malloc(n + 1);
    if (!buf)
        return NULL;
    cJSON *j = NULL;
    const char *end = NULL;
    long len = tc_b64url_decode(seg, n, buf, n);
    if (len <= 0)
        goto cleanup;
    buf[len] = '\0';
    if (strlen(buf) != (size_t)len) /* an embedded NUL would hide trailing bytes */
        goto cleanup;
    j = cJSON_ParseWithOpts(buf, &end, 1);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
cleanup:
    free(buf);
    return j;
}

/* Copies a string claim. 0 ok, 1 absent, -1 wrong type, empty or too long. */
static int copy_claim(const cJSON *v, char *dst, size_t cap)
{
    if (!v)
        return 1;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= cap)
        return -1;
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

/* ------------------------------------------------------------------------- keys, JWK */

static int bn_b64url(const BIGNUM *bn, char **out)
{
    int n = BN_num_bytes(bn);
    if (n <= 0 || n > RSA_MAX_BYTES)
        return TC_EINVAL;
    uint8_t bin[RSA_MAX_BYTES];
    size_t cap = ((size_t)n + 2) / 3 * 4 + 1;
    *out = malloc(cap);
    if (!*out)
        return TC_ENOMEM;
    if (BN_bn2bin(bn, bin) != n || tc_b64url_encode(bin, (size_t)n, *out, cap) < 0) {
        free(*out);
        *out = NULL;
        return TC_ERROR;
    }
    return TC_OK;
}

static int jwk_add_strings(cJSON *jwk, const char *n, const char *e, const char *kid)
{
    if (!cJSON_AddStringToObject(jwk, "kty", "RSA") || !cJSON_AddStringToObject(jwk, "n", n) ||
        !cJSON_AddStringToObject(jwk, "e", e) || !cJSON_AddStringToObject(jwk, "alg", "RS256") ||
        !cJSON_AddStringToObject(jwk, "use", "sig"))
        return TC_ENOMEM;
    if (kid && !cJSON_AddStringToObject(jwk, "kid", kid))
        return TC_ENOMEM;
    return TC_OK;
}

cJSON *tc_jwk_from_pkey(EVP_PKEY *key, const char *kid)
{
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    char *n = NULL, *e = NULL;
    cJSON *jwk = NULL;
    if (!key || !EVP_PKEY_is_a(key, "RSA"))
        return NULL;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1 ||
        bn_b64url(bn_n, &n) != TC_OK || bn_b64url(bn_e, &e) != TC_OK)
        goto cleanup;
    jwk = cJSON_CreateObject();
    if (jwk && jwk_add_strings(jwk, n, e, kid) != TC_OK) {
        cJSON_Delete(jwk);
        jwk = NULL;
    }
cleanup:
    BN_free(bn_n);
    BN_free(bn_e);
    free(n);
    free(e);
    return jwk;
}

/* Big-endian unsigned integer from a base64url JWK member. */
static BIGNUM *jwk_bn(const cJSON *jwk, const char *name, size_t max_bytes)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(jwk, name);
    uint8_t bin[RSA_MAX_BYTES + 1];
    if (!cJSON_IsString(v) || max_bytes > sizeof bin)
        return NULL;
    long n = tc_b64url_decode(v->valuestring, strlen(v->valuestring), bin, max_bytes);
    if (n <= 0)
        return NULL;
    return BN_bin2bn(bin, (int)n, NULL);
}

static EVP_PKEY *rsa_from_params(const BIGNUM *n, const BIGNUM *e)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto cleanup;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
cleanup:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

/* Rejects moduli/exponents that are malformed (even, tiny exponent…) before first use. */
static int rsa_public_ok(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

EVP_PKEY *tc_pkey_from_jwk(const cJSON *jwk)
{
    if (!cJSON_IsObject(jwk))
        return NULL;
    const cJSON *kty = cJSON_GetObjectItemCaseSensitive(jwk, "kty");
    if (!cJSON_IsString(kty) || strcmp(kty->valuestring, "RSA") != 0)
        return NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = jwk_bn(jwk, "n", RSA_MAX_BYTES + 1); /* +1: tolerate a leading zero byte */
    BIGNUM *e = jwk_bn(jwk, "e", 8);
    if (n && e)
        pkey = rsa_from_params(n, e);
    if (pkey && !rsa_public_ok(pkey)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    BN_free(n);
    BN_free(e);
    return pkey;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    TC_UNUSED(buf);
    TC_UNUSED(size);
    TC_UNUSED(rwflag);
    TC_UNUSED(u);
    return 0; /* never prompt on a terminal from inside a service */
}

EVP_PKEY *tc_pkey_load_pem(const char *path)
{
    if (!path)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    return pkey;
}

/* ------------------------------------------------------------------------- signing */

static int buf_b64url(tc_buf_t *b, const void *p, size_t n)
{
    size_t cap = (n + 2) / 3 * 4 + 1;
    if (tc_buf_reserve(b, cap) != TC_OK)
        return TC_ENOMEM;
    long len = tc_b64url_encode(p, n, b->data + b->len, cap);
    if (len < 0)
        return TC_ERROR;
    b->len += (size_t)len;
    return TC_OK;
}

static int rs256_sign(EVP_PKEY *key, const void *in, size_t n, uint8_t **sig, size_t *siglen)
{
    int rc = TC_ERROR;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    *sig = NULL;
    if (!ctx)
        return TC_ENOMEM;
    if (EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(ctx, NULL, siglen, in, n) != 1)
        goto cleanup;
    *sig = malloc(*siglen);
    if (!*sig) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    if (EVP_DigestSign(ctx, *sig, siglen, in, n) == 1)
        rc = TC_OK;
cleanup:
    if (rc != TC_OK) {
        free(*sig);
        *sig = NULL;
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

static char *jws_header_json(const char *kid)
{
    char *text = NULL;
    cJSON *h = cJSON_CreateObject();
    if (h && cJSON_AddStringToObject(h, "alg", "RS256") &&
        cJSON_AddStringToObject(h, "typ", "JWT") &&
        (!kid || cJSON_AddStringToObject(h, "kid", kid)))
        text = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    return text;
}

int tc_jwt_sign_rs256(EVP_PKEY *key, const char *kid, const cJSON *claims, char **out)
{
    if (!out)
        return TC_EINVAL;
    *out = NULL;
    if (!key || !cJSON_IsObject(claims) || !EVP_PKEY_is_a(key, "RSA"))
        return TC_EINVAL;
    tc_buf_t b = TC_BUF_INIT;
    uint8_t *sig = NULL;
    size_t siglen = 0;
    char *header = jws_header_json(kid);
    char *payload = cJSON_PrintUnformatted(claims);
    int rc = header && payload ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc = buf_b64url(&b, header, strlen(header));
    if (rc == TC_OK && (rc = tc_buf_putc(&b, '.')) == TC_OK)
        rc = buf_b64url(&b, payload, strlen(payload));
    if (rc == TC_OK)
        rc = rs256_sign(key, b.data, b.len, &sig, &siglen);
    if (rc == TC_OK && (rc = tc_buf_putc(&b, '.')) == TC_OK)
        rc = buf_b64url(&b, sig, siglen);
    if (rc == TC_OK) {
        *out = tc_buf_detach(&b);
        rc = *out ? TC_OK : TC_ENOMEM;
    }
    cJSON_free(header);
    cJSON_free(payload);
    free(sig);
    tc_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------- key sets */

static void keyset_free(keyset_t *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    free(ks);
}

static keyset_t *keyset_acquire(tc_auth_t *a)
{
    pthread_mutex_lock(&a->ks_mu);
    keyset_t *ks = a->ks;
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    pthread_mutex_unlock(&a->ks_mu);
    return ks;
}

static void keyset_release(keyset_t *ks)
{
    if (ks && atomic_fetch_sub(&ks->refs, 1) == 1)
        keyset_free(ks);
}

static EVP_PKEY *keyset_find(const keyset_t *ks, const char *kid)
{
    for (size_t i = 0; ks && i < ks->n; i++)
        if (strcmp(ks->keys[i].kid, kid) == 0)
            return ks->keys[i].pkey;
    return NULL;
}

/* 1 when some kid of `old` is missing from `next`. */
static int keyset_dropped_keys(const keyset_t *old, const keyset_t *next)
{
    for (size_t i = 0; old && i < old->n; i++)
        if (!keyset_find(next, old->keys[i].kid))
            return 1;
    return 0;
}

/* Only RSA signing keys meant for RS256 (or not saying) and of a sane size are used. */
static EVP_PKEY *jwk_for_rs256(const cJSON *jwk, const char **kid)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(jwk, "kid");
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(jwk, "use");
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwk, "alg");
    if (!cJSON_IsString(k) || !k->valuestring[0] || strlen(k->valuestring) >= KID_MAX)
        return NULL;
    if ((use && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig") != 0)) ||
        (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0)))
        return NULL;
    EVP_PKEY *pkey = tc_pkey_from_jwk(jwk);
    int bits = pkey ? EVP_PKEY_get_bits(pkey) : 0;
    if (pkey && (bits < RSA_MIN_BITS || bits > RSA_MAX_BYTES * 8)) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    *kid = k->valuestring;
    return pkey;
}

static int keyset_parse(const char *text, keyset_t **out)
{
    *out = NULL;
    keyset_t *ks = NULL;
    const cJSON *jwk = NULL;
    cJSON *root = cJSON_Parse(text);
    const cJSON *keys = root ? cJSON_GetObjectItemCaseSensitive(root, "keys") : NULL;
    int rc = TC_EINVAL;
    if (!cJSON_IsArray(keys))
        goto cleanup;
    ks = calloc(1, sizeof *ks + (size_t)cJSON_GetArraySize(keys) * sizeof ks->keys[0]);
    if (!ks) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    atomic_init(&ks->refs, 1);
    cJSON_ArrayForEach(jwk, keys)
    {
        const char *kid = NULL;
        EVP_PKEY *pkey = jwk_for_rs256(jwk, &kid);
        if (!pkey)
            continue; /* other algorithms and encryption keys may share the set */
        if (keyset_find(ks, kid)) {
            EVP_PKEY_free(pkey); /* first occurrence of a kid wins */
            continue;
        }
        snprintf(ks->keys[ks->n].kid, KID_MAX, "%s", kid);
        ks->keys[ks->n++].pkey = pkey;
    }
    /* An empty or unusable set is treated as a failed load so the current keys stay. */
    if (ks->n == 0) {
        keyset_free(ks);
        goto cleanup;
    }
    *out = ks;
    rc = TC_OK;
cleanup:
    cJSON_Delete(root);
    return rc;
}

static int read_file(const char *path, char **out)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return TC_ENOTFOUND;
    int rc = TC_ENOMEM;
    size_t n = 0;
    char *buf = malloc(JWKS_MAX + 1);
    if (!buf)
        goto cleanup;
    n = fread(buf, 1, JWKS_MAX + 1, f);
    if (ferror(f) || n > JWKS_MAX) {
        rc = TC_EINVAL;
        free(buf);
        goto cleanup;
    }
    buf[n] = '\0';
    *out = buf;
    rc = TC_OK;
cleanup:
    fclose(f);
    return rc;
}

static int fetch_url(tc_auth_t *a, char **out)
{
    *out = NULL;
    tc_httpc_resp_t r;
    int rc = tc_httpc_do(a->http, &(tc_httpc_req_t){.url = a->jwks_url}, &r);
    if (rc == TC_OK && r.status != 200)
        rc = TC_EUNAVAIL;
    else if (rc == TC_OK && r.body_len > JWKS_MAX)
        rc = TC_EINVAL;
    if (rc == TC_OK) {
        *out = r.body; /* ownership moves to the caller */
        r.body = NULL;
    }
    tc_httpc_resp_free(&r);
    return rc;
}

static void keyset_install(tc_auth_t *a, keyset_t *next)
{
    pthread_mutex_lock(&a->ks_mu);
    keyset_t *old = a->ks;
    a->ks = next;
    pthread_mutex_unlock(&a->ks_mu);
    /* After the swap, so no verification can start on the old set with the new epoch. */
    if (keyset_dropped_keys(old, next))
        atomic_fetch_add(&a->epoch, 1);
    keyset_release(old);
}

static int keyset_load(tc_auth_t *a)
{
    if (a->manual) {
        /* nothing to fetch: the owner installs keys with tc_auth_set_jwks */
        keyset_t *ks = keyset_acquire(a);
        int rc = ks && ks->n ? TC_OK : TC_EUNAVAIL;
        keyset_release(ks);
        return rc;
    }
    char *text = NULL;
    keyset_t *ks = NULL;
    const char *source = a->jwks_url ? a->jwks_url : a->jwks_file;
    int rc = a->jwks_url ? fetch_url(a, &text) : read_file(a->jwks_file, &text);
    if (rc == TC_OK)
        rc = keyset_parse(text, &ks);
    free(text);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_WARN, "jwks load failed, keeping current keys", "source", source, "error",
                  tc_strerror(rc), NULL);
        return rc;
    }
    char count[24];
    snprintf(count, sizeof count, "%zu", ks->n);
    keyset_install(a, ks);
    tc_log_kv(TC_LOG_INFO, "jwks loaded", "source", source, "keys", count, NULL);
    return TC_OK;
}

/* ------------------------------------------------------------------------- reloads */

static int reload_claim(tc_auth_t *a, reload_kind_t kind, int *rc)
{
    if (a->reloading) {
        if (kind == RELOAD_PERIODIC) {
            *rc = TC_EAGAIN; /* someone else is on it; keep using the current set */
            return 0;
        }
        uint64_t gen = a->reload_gen;
        while (a->reloading && a->reload_gen == gen)
            pthread_cond_wait(&a->reload_cv, &a->reload_mu);
        if (kind == RELOAD_UNKNOWN_KID) {
            *rc = a->last_reload_rc; /* that refetch was ours too */
            return 0;
        }
        while (a->reloading)
            pthread_cond_wait(&a->reload_cv, &a->reload_mu);
    }
    int64_t now = tc_mono_ms();
    if (kind == RELOAD_PERIODIC && now < atomic_load(&a->next_refresh_ms)) {
        *rc = TC_OK; /* refreshed while we were deciding */
        return 0;
    }
    if (kind == RELOAD_UNKNOWN_KID) {
        if (a->last_refetch_ms != NEVER && now - a->last_refetch_ms < a->refetch_ms) {
            *rc = TC_EAGAIN;
            return 0;
        }
        a->last_refetch_ms = now;
    }
    a->reloading = 1;
    return 1;
}

/* Runs at most one load at a time; see reload_claim for who waits and who does not. */
static int reload(tc_auth_t *a, reload_kind_t kind)
{
    int rc = TC_OK;
    pthread_mutex_lock(&a->reload_mu);
    int mine = reload_claim(a, kind, &rc);
    pthread_mutex_unlock(&a->reload_mu);
    if (!mine)
        return rc;

    rc = keyset_load(a);

    int64_t retry = a->refetch_ms < a->refresh_ms ? a->refetch_ms : a->refresh_ms;
    pthread_mutex_lock(&a->reload_mu);
    a->reloading = 0;
    a->reload_gen++;
    a->last_reload_rc = rc;
    atomic_store(&a->next_refresh_ms, tc_mono_ms() + (rc == TC_OK ? a->refresh_ms : retry));
    pthread_cond_broadcast(&a->reload_cv);
    pthread_mutex_unlock(&a->reload_mu);
    return rc;
}

int tc_auth_set_jwks(tc_auth_t *a, const char *jwks_json)
{
    keyset_t *ks = NULL;
    if (!a || !a->manual || !jwks_json)
        return TC_EINVAL;
    int rc = keyset_parse(jwks_json, &ks);
    if (rc == TC_OK)
        keyset_install(a, ks);
    return rc;
}

int tc_auth_reload(tc_auth_t *a)
{
    return a ? reload(a, RELOAD_EXPLICIT) : TC_EINVAL;
}

size_t tc_auth_key_count(tc_auth_t *a)
{
    if (!a)
        return 0;
    keyset_t *ks = keyset_acquire(a);
    int n = ks ? (int)ks->n : 0;
    keyset_release(ks);
    return n;
}

/* The key for `kid`, with a reference on the set that holds it (release after use). */
static keyset_t *key_for(tc_auth_t *a, const char *kid, EVP_PKEY **pkey, const char **why)
{
    if (tc_mono_ms() >= atomic_load(&a->next_refresh_ms))
        reload(a, RELOAD_PERIODIC);
    keyset_t *ks = keyset_acquire(a);
    *pkey = keyset_find(ks, kid);
    if (*pkey)
        return ks;
    keyset_release(ks);
    /* Whatever the refetch reports, a concurrent one may have brought the key: look again. */
    reload(a, RELOAD_UNKNOWN_KID);
    ks = keyset_acquire(a);
    *pkey = keyset_find(ks, kid);
    if (*pkey)
        return ks;
    *why = ks ? "unknown_kid" : "no_keys";
    keyset_release(ks);
    return NULL;
}

/* ------------------------------------------------------------------------- cache */

static size_t cache_slot(const tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN])
{
    uint64_t v;
    memcpy(&v, hash, sizeof v);
    return (size_t)(v % a->cache_n);
}

/* 1 hit (copied to *out), 0 miss, -1 cached but expired. */
static int cache_get(tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN], uint64_t epoch, int64_t now_s,
                     tc_principal_t *out)
{
    size_t slot = cache_slot(a, hash);
    pthread_mutex_t *mu = &a->cache_mu[slot % CACHE_STRIPES];
    cache_entry_t *e = &a->cache[slot];
    int res = 0;
    pthread_mutex_lock(mu);
    if (e->used && CRYPTO_memcmp(e->hash, hash, TC_SHA256_LEN) == 0) {
        if (e->epoch != epoch) {
            e->used = 0;
        } else if (now_s > e->p.exp + a->leeway_s) {
            e->used = 0;
            res = -1;
        } else {
            *out = e->p;
            res = 1;
        }
    }
    pthread_mutex_unlock(mu);
    return res;
}

static void cache_put(tc_auth_t *a, const uint8_t hash[TC_SHA256_LEN], uint64_t epoch,
                      const tc_principal_t *p)
{
    size_t slot = cache_slot(a, hash);
    pthread_mutex_t *mu = &a->cache_mu[slot % CACHE_STRIPES];
    cache_entry_t *e = &a->cache[slot];
    pthread_mutex_lock(mu);
    memcpy(e->hash, hash, TC_SHA256_LEN);
    e->epoch = epoch;
    e->p = *p;
    e->used = 1;
    pthread_mutex_unlock(mu);
}

/* ------------------------------------------------------------------------- verification */

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static int jws_split(const char *token, jws_t *j)
{
    const char *dots[2];
    int ndots = 0;
    size_t i = 0;
    for (; token[i]; i++) {
        if (i >= TOKEN_MAX)
            return TC_EINVAL;
        if (token[i] == '.') {
            if (ndots == 2)
                return TC_EINVAL;
            dots[ndots++] = token + i;
        } else if (!b64url_char(token[i])) {
            return TC_EINVAL;
        }
    }
    if (ndots != 2)
        return TC_EINVAL;
    j->total = i;
    j->header = token;
    j->header_len = (size_t)(dots[0] - token);
    j->payload = dots[0] + 1;
    j->payload_len = (size_t)(dots[1] - j->payload);
    j->sig = dots[1] + 1;
    j->sig_len = i - (size_t)(j->sig - token);
    j->signed_len = (size_t)(dots[1] - token);
    return TC_OK;
}

/* alg pinned to RS256 before anything else, then a kid to look up. */
static const char *check_header(const jws_t *j, char kid[KID_MAX])
{
    const char *why = NULL;
    const cJSON *alg = NULL, *k = NULL, *crit = NULL;
    cJSON *h = segment_json(j->header, j->header_len);
    if (!h)
        return "malformed";
    if (member(h, "alg", &alg) || member(h, "kid", &k) || member(h, "crit", &crit))
        why = "malformed";
    else if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0)
        why = "alg_not_allowed";
    else if (crit) /* we implement no extension, so none can be critical */
        why = "malformed";
    else if (!cJSON_IsString(k) || !k->valuestring[0])
        why = "missing_kid";
    else if (strlen(k->valuestring) >= KID_MAX)
        why = "unknown_kid";
    else
        memcpy(kid, k->valuestring, strlen(k->valuestring) + 1);
    cJSON_Delete(h);
    return why;
}

static int rs256_verify(EVP_PKEY *pkey, const jws_t *j)
{
    uint8_t sig[RSA_MAX_BYTES];
    int size = EVP_PKEY_get_size(pkey);
    if (size <= 0 || size > RSA_MAX_BYTES)
        return 0;
    long n = tc_b64url_decode(j->sig, j->sig_len, sig, sizeof sig);
    if (n != size)
        return 0;
    int ok = 0;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", NULL, NULL, pkey, NULL) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1)
        ok = EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)j->header,
                              j->signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int claims_collect(const cJSON *obj, claims_t *c)
{
    if (member(obj, "exp", &c->exp) || member(obj, "nbf", &c->nbf) || member(obj, "iss", &c->iss) ||
        member(obj, "aud", &c->aud) || member(obj, "sub", &c->sub) || member(obj, "org", &c->org) ||
        member(obj, "role", &c->role) || member(obj, "scope", &c->scope) ||
        member(obj, "plan", &c->plan) || member(obj, "jti", &c->jti) ||
        member(obj, "token_use", &c->use) || member(obj, "sid", &c->sid) ||
        member(obj, "iat", &c->iat) || member(obj, "principal_type", &c->ptype))
        return TC_EINVAL;
    return TC_OK;
}

/* NumericDate within a sane range (year 1970 … ~33658). */
static int numeric_date(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 1e12)
        return 0;
    *out = v->valuedouble;
    return 1;
}

static const char *check_times(const tc_auth_t *a, const claims_t *c, int64_t now,
                               tc_principal_t *p)
{
    double exp = 0, nbf = 0, iat = 0;
    if (!c->exp)
        return "missing_claims";
    if (!numeric_date(c->exp, &exp) || (c->nbf && !numeric_date(c->nbf, &nbf)) ||
        (c->iat && !numeric_date(c->iat, &iat)))
        return "bad_claims";
    p->iat = (int64_t)floor(iat);
    if ((double)now > exp + a->leeway_s)
        return "expired";
    if (c->nbf && (double)(now + a->leeway_s) < nbf)
        return "not_yet_valid";
    p->exp = (int64_t)floor(exp);
    return NULL;
}

static int audience_ok(const cJSON *aud, const char *want)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud))
        return 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, aud)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
            return 1;
    }
    return 0;
}

/* Optional string claim: absent is fine, anything else must fit. */
static int optional_claim(const cJSON *v, char *dst, size_t cap)
{
    return copy_claim(v, dst, cap) >= 0;
}

static const char *check_identity(const claims_t *c, tc_principal_t *p)
{
    int rc = copy_claim(c->sub, p->sub, sizeof p->sub);
    if (rc)
        return rc > 0 ? "missing_claims" : "bad_claims";
    /* only the uses auth issues: an unknown one (id tokens, "refresh", …) is not an access
     * token, whatever else it carries */
    if (c->use && (!cJSON_IsString(c->use) || (strcmp(c->use->valuestring, "access") != 0 &&
                                               strcmp(c->use->valuestring, "service") != 0)))
        return "bad_claims";
    p->is_service = c->use && strcmp(c->use->valuestring, "service") == 0;
    /* a token auth minted for an API key: its scopes bound what it may do (tc_http) */
    if (c->ptype && (!cJSON_IsString(c->ptype) || (strcmp(c->ptype->valuestring, "user") != 0 &&
                                                   strcmp(c->ptype->valuestring, "api_key") != 0)))
        return "bad_claims";
    p->is_api_key = c->ptype && strcmp(c->ptype->valuestring, "api_key") == 0;
    if (p->is_api_key && p->is_service)
        return "bad_claims";
    /* an empty scope is a user token with no extra scopes; other claims must not be empty */
    if (!(c->scope && cJSON_IsString(c->scope) && !c->scope->valuestring[0]) &&
        !optional_claim(c->scope, p->scope, sizeof p->scope))
        return "bad_claims";
    if (!optional_claim(c->plan, p->plan, sizeof p->plan) ||
        !optional_claim(c->jti, p->jti, sizeof p->jti) ||
        !optional_claim(c->sid, p->sid, sizeof p->sid))
        return "bad_claims";
    if (!p->plan[0])
        memcpy(p->plan, "free", sizeof "free");
    if (p->is_service) {
        /* A service acts by scope; org is kept when present, role never applies. */
        if (!p->scope[0])
            return "missing_claims";
        return optional_claim(c->org, p->org, sizeof p->org) ? NULL : "bad_claims";
    }
    rc = copy_claim(c->org, p->org, sizeof p->org);
    if (rc)
        return rc > 0 ? "missing_claims" : "bad_claims";
    if (!c->role)
        return "missing_claims";
    p->role = cJSON_IsString(c->role) ? tc_role_parse(c->role->valuestring) : TC_ROLE_NONE;
    return p->role == TC_ROLE_NONE ? "bad_role" : NULL;
}

static const char *check_claims(const tc_auth_t *a, const jws_t *j, int64_t now, tc_principal_t *p)
{
    claims_t c = {0};
    const char *why = NULL;
    cJSON *obj = segment_json(j->payload, j->payload_len);
    if (!obj)
        return "malformed";
    if (claims_collect(obj, &c) != TC_OK)
        why = "malformed";
    if (!why)
        why = check_times(a, &c, now, p);
    if (!why && !(cJSON_IsString(c.iss) && strcmp(c.iss->valuestring, a->issuer) == 0))
        why = "bad_issuer";
    if (!why && !audience_ok(c.aud, a->audience))
        why = "bad_audience";
    if (!why)
        why = check_identity(&c, p);
    cJSON_Delete(obj);
    return why;
}

static const char *verify_uncached(tc_auth_t *a, const jws_t *j, int64_t now, tc_principal_t *p)
{
    char kid[KID_MAX];
    const char *why = check_header(j, kid);
    if (why)
        return why;
    EVP_PKEY *pkey = NULL;
    keyset_t *ks = key_for(a, kid, &pkey, &why);
    if (!ks)
        return why;
    int ok = rs256_verify(pkey, j);
    keyset_release(ks);
    if (!ok)
        return "bad_signature";
    return check_claims(a, j, now, p);
}

static const char *verify(tc_auth_t *a, const char *token, tc_principal_t *p)
{
    jws_t j;
    size_t n = token ? strnlen(token, TOKEN_MAX + 1) : 0;
    if (!a || n == 0 || n > TOKEN_MAX) /* the bounds of tc_auth_lookup and jws_split */
        return "malformed";
    uint8_t hash[TC_SHA256_LEN];
    tc_sha256(token, n, hash);
    /* Read before verification starts: see keyset_install. */
    uint64_t epoch = atomic_load(&a->epoch);
    int64_t now = tc_now_ms() / 1000;
    /* Only a token that passed every check below is in the cache, so a hit needs no parsing
     * (the same reasoning as tc_auth_lookup): most requests carry a token seen before. */
    int hit = cache_get(a, hash, epoch, now, p);
    if (hit > 0)
        return NULL;
    if (hit < 0)
        return "expired";
    if (jws_split(token, &j) != TC_OK)
        return "malformed";
    const char *why = verify_uncached(a, &j, now, p);
    if (!why)
        cache_put(a, hash, epoch, p);
    return why;
}

int tc_auth_verify(tc_auth_t *a, const char *token, tc_principal_t *out, const char **why)
{
    tc_principal_t scratch;
    tc_principal_t *p = out ? out : &scratch;
    memset(p, 0, sizeof *p);
    const char *reason = verify(a, token, p);
    if (!reason && tc_revocations_refuse(atomic_load(&a->revoked), p))
        reason = "revoked";
    if (why)
        *why = reason;
    if (reason) /* nothing of a rejected token reaches the caller */
        memset(p, 0, sizeof *p);
    return reason ? TC_EINVAL : TC_OK;
}

int tc_auth_lookup(tc_auth_t *a, const char *token, tc_principal_t *out, const char **why)
{
    *why = NULL;
    memset(out, 0, sizeof *out);
    size_t n = token ? strnlen(token, TOKEN_MAX + 1) : 0;
    if (!a || n == 0 || n > TOKEN_MAX) {
        *why = "malformed";
        return TC_EINVAL;
    }
    /* No syntax check here: only a token that passed verify() can hash to a cache entry, and
     * anything else goes to tc_auth_verify, which checks everything. */
    uint8_t hash[TC_SHA256_LEN];
    tc_sha256(token, n, hash);
    int hit = cache_get(a, hash, atomic_load(&a->epoch), tc_now_ms() / 1000, out);
    if (hit < 0)
        *why = "expired";
    if (hit > 0 && tc_revocations_refuse(atomic_load(&a->revoked), out)) {
        memset(out, 0, sizeof *out);
        *why = "revoked";
        return TC_EINVAL;
    }
    return hit > 0 ? TC_OK : hit < 0 ? TC_EINVAL : TC_EAGAIN;
}

void tc_auth_set_revocations(tc_auth_t *a, tc_revocations_t *r)
{
    atomic_store(&a->revoked, r);
}

/* ------------------------------------------------------------------------- lifecycle */

static int opts_valid(const tc_auth_opts_t *o)
{
    if (!o || !o->issuer || !o->issuer[0] || !o->audience || !o->audience[0])
        return 0;
    int url = o->jwks_url && o->jwks_url[0], file = o->jwks_file && o->jwks_file[0];
    if (o->manual)
        return !url && !file;
    return url != file; /* exactly one source, so there is no doubt which one is trusted */
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

static int auth_init(tc_auth_t *a, const tc_auth_opts_t *o)
{
    a->jwks_url = dup_or_null(o->jwks_url);
    a->jwks_file = dup_or_null(o->jwks_file);
    a->issuer = strdup(o->issuer);
    a->audience = strdup(o->audience);
    a->manual = o->manual;
    a->leeway_s = o->leeway_s > 0 ? o->leeway_s : (o->leeway_s < 0 ? 0 : 30);
    a->refresh_ms = o->refresh_interval_ms > 0 ? o->refresh_interval_ms : 300000;
    a->refetch_ms = o->refetch_min_interval_ms > 0 ? o->refetch_min_interval_ms : 10000;
    a->cache_n = o->cache_size ? o->cache_size : CACHE_DEFAULT;
    if (a->cache_n > CACHE_MAX)
        a->cache_n = CACHE_MAX;
    a->cache = calloc(a->cache_n, sizeof *a->cache);
    a->last_refetch_ms = NEVER;
    atomic_init(&a->epoch, 0);
    atomic_init(&a->next_refresh_ms, 0);
    pthread_mutex_init(&a->ks_mu, NULL);
    pthread_mutex_init(&a->reload_mu, NULL);
    pthread_cond_init(&a->reload_cv, NULL);
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_init(&a->cache_mu[i], NULL);
    if (!a->issuer || !a->audience || !a->cache || (o->jwks_url && !a->jwks_url) ||
        (o->jwks_file && !a->jwks_file))
        return TC_ENOMEM;
    if (a->jwks_url) {
        /* Short, one retry: threads holding an unknown kid wait for this fetch. Fetches are
         * already rate-limited, so the breaker only needs to stay open briefly; a long open
         * period would delay picking up keys once the issuer is back. */
        tc_httpc_opts_t ho = {.connect_timeout_ms = 1000,
                              .timeout_ms = 2000,
                              .max_retries = 1,
                              .breaker_open_ms = 2000,
                              .pool_size = 2};
        a->http = tc_httpc_new(&ho);
        if (!a->http)
            return TC_ENOMEM;
    }
    return TC_OK;
}

tc_auth_t *tc_auth_new(const tc_auth_opts_t *opts)
{
    if (!opts_valid(opts)) {
        tc_log_kv(TC_LOG_ERROR, "invalid auth options", "reason",
                  "issuer, audience and exactly one of jwks_url/jwks_file required", NULL);
        return NULL;
    }
    tc_auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (auth_init(a, opts) != TC_OK) {
        tc_auth_free(a);
        return NULL;
    }
    /* A failed first load is not fatal: the issuer may start after us, and every verify
     * retries (rate-limited) until keys arrive. */
    reload(a, RELOAD_EXPLICIT);
    return a;
}

void tc_auth_free(tc_auth_t *a)
{
    if (!a)
        return;
    keyset_release(a->ks);
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_destroy(&a->cache_mu[i]);
    pthread_cond_destroy(&a->reload_cv);
    pthread_mutex_destroy(&a->reload_mu);
    pthread_mutex_destroy(&a->ks_mu);
    free(a->cache);
    tc_httpc_free(a->http);
    free(a->jwks_url);
    free(a->jwks_file);
    free(a->issuer);
    free(a->audience);
    free(a);
}
