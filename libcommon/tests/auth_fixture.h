/*
 * The token verifier's test fixture (libcommon/tests/unit/test_tc_{auth,auth_cache,jwk,jwks,
 * jws,principal}.c): keys generated in the test, a JWKS file written by it, tokens signed or
 * forged by it. Each suite that includes it gets its own copy.
 */
#ifndef TC_TEST_AUTH_FIXTURE_H
#define TC_TEST_AUTH_FIXTURE_H

#include "tc/tc_auth.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ISS "https://auth.techcorp.test"
#define AUD "techcorp-api"

static EVP_PKEY *g_key1;
static char g_dir[256];
static char g_jwks[300];

/* ------------------------------------------------------------------------- fixtures */

static __attribute__((unused)) EVP_PKEY *new_rsa(size_t bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    cr_assert_not_null(k, "RSA keygen failed");
    return k;
}

static __attribute__((unused)) void write_text(const char *path, const char *text)
{
    /* Write then rename, as a deployment would, so a reader never sees half a file. */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, path), 0);
}

/* JWKS JSON for keys[i] under kids[i]; caller frees. */
static __attribute__((unused)) char *jwks_text(EVP_PKEY *const *keys, const char *const *kids,
                                               int n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "keys");
    for (int i = 0; i < n; i++) {
        cJSON *jwk = tc_jwk_from_pkey(keys[i], kids[i]);
        cr_assert_not_null(jwk);
        cJSON_AddItemToArray(arr, jwk);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

static __attribute__((unused)) void write_jwks(EVP_PKEY *const *keys, const char *const *kids,
                                               int n)
{
    char *text = jwks_text(keys, kids, n);
    write_text(g_jwks, text);
    cJSON_free(text);
}

static __attribute__((unused)) void setup(void)
{
    tc_log_set_level(TC_LOG_ERROR);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/tc_auth_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir));
    snprintf(g_jwks, sizeof g_jwks, "%s/jwks.json", g_dir);
    g_key1 = new_rsa(2048);
    write_jwks(&g_key1, (const char *const[]){"k1"}, 1);
}

static __attribute__((unused)) void teardown(void)
{
    char path[320];
    const char *files[] = {"jwks.json", "jwks.json.tmp", "key.pem"};
    for (size_t i = 0; i < TC_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
        unlink(path);
    }
    rmdir(g_dir);
    EVP_PKEY_free(g_key1);
    g_key1 = NULL;
}

static __attribute__((unused)) tc_auth_t *auth_with(int refetch_ms, int refresh_ms, size_t cache)
{
    tc_auth_opts_t o = {.jwks_file = g_jwks,
                        .issuer = ISS,
                        .audience = AUD,
                        .leeway_s = 30,
                        .refresh_interval_ms = refresh_ms,
                        .refetch_min_interval_ms = refetch_ms,
                        .cache_size = cache};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    return a;
}

static __attribute__((unused)) tc_auth_t *auth_default(void)
{
    return auth_with(1, 0, 0);
}

/* ------------------------------------------------------------------------- tokens */

static __attribute__((unused)) int64_t now_s(void)
{
    return tc_now_ms() / 1000;
}

static __attribute__((unused)) cJSON *user_claims(void)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "iss", ISS);
    cJSON_AddStringToObject(c, "aud", AUD);
    cJSON_AddStringToObject(c, "sub", "usr_01TESTUSER");
    cJSON_AddStringToObject(c, "org", "org_01TESTORG");
    cJSON_AddStringToObject(c, "role", "editor");
    cJSON_AddStringToObject(c, "scope", "workflows:read workflows:write");
    cJSON_AddStringToObject(c, "jti", "jti_0001");
    cJSON_AddNumberToObject(c, "iat", (double)now_s());
    cJSON_AddNumberToObject(c, "exp", (double)(now_s() + 900));
    return c;
}

static __attribute__((unused)) void set_str(cJSON *c, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, k);
    if (v)
        cJSON_AddStringToObject(c, k, v);
}

static __attribute__((unused)) void set_num(cJSON *c, const char *k, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, k);
    cJSON_AddNumberToObject(c, k, v);
}

/* Signs and consumes the claims. */
static __attribute__((unused)) char *sign_with(EVP_PKEY *key, const char *kid, cJSON *claims)
{
    char *tok = NULL;
    cr_assert_eq(tc_jwt_sign_rs256(key, kid, claims, &tok), TC_OK);
    cJSON_Delete(claims);
    return tok;
}

static __attribute__((unused)) char *sign(cJSON *claims)
{
    return sign_with(g_key1, "k1", claims);
}

static __attribute__((unused)) char *b64url(const void *p, size_t n)
{
    size_t cap = (n + 2) / 3 * 4 + 1;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    cr_assert_geq(tc_b64url_encode(p, n, out, cap), 0);
    return out;
}

static __attribute__((unused)) char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

static __attribute__((unused)) void rsa_sign(EVP_PKEY *key, const char *md, const char *in,
                                             uint8_t *sig, size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert_not_null(ctx);
    cr_assert_eq(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL), 1);
    cr_assert_eq(EVP_DigestSign(ctx, sig, len, (const uint8_t *)in, strlen(in)), 1);
    EVP_MD_CTX_free(ctx);
}

/*
 * A token with an arbitrary header, signed the way `how` says: "none" (empty signature),
 * "RS256"/"RS512" with `key`, or "HS256" with `secret` as the HMAC key.
 */
static __attribute__((unused)) char *forge(const char *header, const char *payload, const char *how,
                                           EVP_PKEY *key, const char *secret)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    cr_assert_not_null(input);
    snprintf(input, n, "%s.%s", h, p);
    uint8_t sig[1024];
    size_t siglen = sizeof sig;
    if (strcmp(how, "none") == 0) {
        siglen = 0;
    } else if (strcmp(how, "HS256") == 0) {
        cr_assert_eq(tc_hmac_sha256(secret, strlen(secret), input, strlen(input), sig), TC_OK);
        siglen = TC_SHA256_LEN;
    } else {
        rsa_sign(key, strcmp(how, "RS512") == 0 ? "SHA512" : "SHA256", input, sig, &siglen);
    }
    char *s = b64url(sig, siglen);
    char *tok = join3(h, p, s);
    free(h);
    free(p);
    free(s);
    free(input);
    return tok;
}

static __attribute__((unused)) char *claims_text(cJSON *claims)
{
    char *t = cJSON_PrintUnformatted(claims);
    cJSON_Delete(claims);
    return t;
}

static __attribute__((unused)) void expect_ok(tc_auth_t *a, const char *tok, tc_principal_t *p)
{
    const char *why = "unset";
    tc_principal_t tmp;
    int rc = tc_auth_verify(a, tok, p ? p : &tmp, &why);
    cr_assert_eq(rc, TC_OK, "rejected: %s", why ? why : "(null)");
    cr_assert_null(why);
}

static __attribute__((unused)) void expect_reject(tc_auth_t *a, const char *tok, const char *want)
{
    const char *why = NULL;
    tc_principal_t p;
    memset(&p, 0x5a, sizeof p);
    cr_assert_eq(tc_auth_verify(a, tok, &p, &why), TC_EINVAL, "accepted, wanted %s", want);
    cr_assert_not_null(why);
    cr_assert_str_eq(why, want);
    cr_assert_eq(p.sub[0], '\0', "principal left filled on rejection");
}

/* An RS256 token padded by an unknown claim of `pad` bytes; `spaces` of JSON whitespace in
 * the header shift its length by other steps than the payload's. */
static __attribute__((unused)) char *padded_token(size_t pad, int spaces)
{
    cJSON *c = user_claims();
    char *filler = malloc(pad + 1);
    cr_assert_not_null(filler);
    memset(filler, 'x', pad);
    filler[pad] = '\0';
    cJSON_AddStringToObject(c, "pad", filler);
    free(filler);
    char header[64];
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"%.*s}",
             spaces, "   ");
    char *payload = claims_text(c);
    char *tok = forge(header, payload, "RS256", g_key1, NULL);
    free(payload);
    return tok;
}

/* A signed token of exactly `want` characters (three bytes of claim are four characters of
 * token, so the padding is searched near its estimate); NULL when none lands on it. */
static __attribute__((unused)) char *token_of_length(size_t want)
{
    char *tok = padded_token(0, 0);
    size_t base = strlen(tok);
    free(tok);
    cr_assert_lt(base, want);
    size_t guess = (want - base) * 3 / 4;
    for (int spaces = 0; spaces <= 3; spaces++)
        for (size_t pad = guess > 4 ? guess - 4 : 0; pad <= guess + 4; pad++) {
            tok = padded_token(pad, spaces);
            if (strlen(tok) == want)
                return tok;
            free(tok);
        }
    return NULL;
}

#endif
