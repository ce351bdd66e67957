/*
 * tc_auth: RS256 verification against a JWKS written by the test (file) or served by an
 * in-test libmicrohttpd daemon (URL), with keys generated in the test.
 */
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

static EVP_PKEY *new_rsa(size_t bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    cr_assert_not_null(k, "RSA keygen failed");
    return k;
}

static void write_text(const char *path, const char *text)
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
static char *jwks_text(EVP_PKEY *const *keys, const char *const *kids, int n)
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

static void write_jwks(EVP_PKEY *const *keys, const char *const *kids, int n)
{
    char *text = jwks_text(keys, kids, n);
    write_text(g_jwks, text);
    cJSON_free(text);
}

static void setup(void)
{
    tc_log_set_level(TC_LOG_ERROR);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/tc_auth_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir));
    snprintf(g_jwks, sizeof g_jwks, "%s/jwks.json", g_dir);
    g_key1 = new_rsa(2048);
    write_jwks(&g_key1, (const char *const[]){"k1"}, 1);
}

static void teardown(void)
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

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

static tc_auth_t *auth_with(int refetch_ms, int refresh_ms, size_t cache)
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

static tc_auth_t *auth_default(void)
{
    return auth_with(1, 0, 0);
}

/* ------------------------------------------------------------------------- tokens */

static int64_t now_s(void)
{
    return tc_now_ms() / 1000;
}

static cJSON *user_claims(void)
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

static void set_str(cJSON *c, const char *k, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, k);
    if (v)
        cJSON_AddStringToObject(c, k, v);
}

static void set_num(cJSON *c, const char *k, double v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(c, k);
    cJSON_AddNumberToObject(c, k, v);
}

/* Signs and consumes the claims. */
static char *sign_with(EVP_PKEY *key, const char *kid, cJSON *claims)
{
    char *tok = NULL;
    cr_assert_eq(tc_jwt_sign_rs256(key, kid, claims, &tok), TC_OK);
    cJSON_Delete(claims);
    return tok;
}

static char *sign(cJSON *claims)
{
    return sign_with(g_key1, "k1", claims);
}

static char *b64url(const void *p, size_t n)
{
    size_t cap = (n + 2) / 3 * 4 + 1;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    cr_assert_geq(tc_b64url_encode(p, n, out, cap), 0);
    return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

static void rsa_sign(EVP_PKEY *key, const char *md, const char *in, uint8_t *sig, size_t *len)
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
static char *forge(const char *header, const char *payload, const char *how, EVP_PKEY *key,
                   const char *secret)
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

static char *claims_text(cJSON *claims)
{
    char *t = cJSON_PrintUnformatted(claims);
    cJSON_Delete(claims);
    return t;
}

static void expect_ok(tc_auth_t *a, const char *tok, tc_principal_t *p)
{
    const char *why = "unset";
    tc_principal_t tmp;
    int rc = tc_auth_verify(a, tok, p ? p : &tmp, &why);
    cr_assert_eq(rc, TC_OK, "rejected: %s", why ? why : "(null)");
    cr_assert_null(why);
}

static void expect_reject(tc_auth_t *a, const char *tok, const char *want)
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
static char *padded_token(size_t pad, int spaces)
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
static char *token_of_length(size_t want)
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

Test(auth, longest_token_accepted_one_more_refused)
{
    tc_auth_t *a = auth_default();
    char *tok = token_of_length(16384);
    cr_assert_not_null(tok, "no padding gives a 16384-character token");
    expect_ok(a, tok, NULL);
    expect_ok(a, tok, NULL); /* and again from the cache */
    char *longer = token_of_length(16385);
    cr_assert_not_null(longer, "no padding gives a 16385-character token");
    expect_reject(a, longer, "malformed"); /* refused before any parsing */
    free(longer);
    free(tok);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- happy paths */

Test(auth, valid_user_token_fills_principal)
{
    tc_auth_t *a = auth_default();
    cr_assert_eq(tc_auth_key_count(a), 1);
    cJSON *c = user_claims();
    int64_t exp = now_s() + 900;
    set_num(c, "exp", (double)exp);
    set_str(c, "plan", "pro");
    char *tok = sign(c);
    tc_principal_t p;
    expect_ok(a, tok, &p);
    cr_assert_str_eq(p.sub, "usr_01TESTUSER");
    cr_assert_str_eq(p.org, "org_01TESTORG");
    cr_assert_eq(p.role, TC_ROLE_EDITOR);
    cr_assert_str_eq(p.scope, "workflows:read workflows:write");
    cr_assert_str_eq(p.plan, "pro");
    cr_assert_str_eq(p.jti, "jti_0001");
    cr_assert_eq(p.exp, exp);
    cr_assert_eq(p.is_service, 0);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_VIEWER), 1);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_EDITOR), 1);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_ADMIN), 0);
    cr_assert_eq(tc_principal_has_scope(&p, "workflows:write"), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "workflows"), 0);
    free(tok);
    tc_auth_free(a);
}

/* Regression: auth issues "scope": "" for user tokens without extra scopes, and the session
 * id as "sid"; the verifier once rejected the empty scope as bad_claims. */
Test(auth, empty_scope_and_session_id_of_a_login_token)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_str(c, "scope", "");
    set_str(c, "sid", "ses_01TESTSESSION");
    char *tok = sign(c);
    tc_principal_t p;
    expect_ok(a, tok, &p);
    cr_assert_str_eq(p.scope, "");
    cr_assert_str_eq(p.sid, "ses_01TESTSESSION");
    cr_assert(!tc_principal_has_scope(&p, "internal"));
    free(tok);
    cJSON *svc = user_claims();
    set_str(svc, "token_use", "service");
    set_str(svc, "scope", "");
    tok = sign(svc);
    expect_reject(a, tok, "missing_claims"); /* a service acts only by scope */
    free(tok);
    tc_auth_free(a);
}

/* The issuer verifies its own tokens against the keys it installs (no fetching). */
Test(auth, manual_key_set)
{
    tc_auth_opts_t o = {.issuer = ISS, .audience = AUD, .manual = 1};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    cr_assert_eq(tc_auth_key_count(a), 0);
    char *tok = sign(user_claims());
    expect_reject(a, tok, "no_keys");
    EVP_PKEY *keys[] = {g_key1};
    const char *kids[] = {"k1"};
    char *jwks = jwks_text(keys, kids, 1);
    cr_assert_eq(tc_auth_set_jwks(a, jwks), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 1);
    expect_ok(a, tok, NULL);
    cr_assert_eq(tc_auth_set_jwks(a, "{\"keys\":[]}"), TC_EINVAL, "an empty set is refused");
    expect_ok(a, tok, NULL);
    tc_auth_free(a);
    tc_auth_t *fetching = auth_default();
    cr_assert_eq(tc_auth_set_jwks(fetching, jwks), TC_EINVAL, "only manual verifiers take keys");
    tc_auth_free(fetching);
    tc_auth_opts_t bad = {.issuer = ISS, .audience = AUD, .manual = 1, .jwks_file = g_jwks};
    cr_assert_null(tc_auth_new(&bad), "manual excludes a JWKS source");
    free(jwks);
    free(tok);
}

Test(auth, plan_defaults_to_free_and_aud_array_accepted)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    cJSON_DeleteItemFromObjectCaseSensitive(c, "aud");
    cJSON *aud = cJSON_AddArrayToObject(c, "aud");
    cJSON_AddItemToArray(aud, cJSON_CreateString("billing-api"));
    cJSON_AddItemToArray(aud, cJSON_CreateString(AUD));
    char *tok = sign(c);
    tc_principal_t p;
    expect_ok(a, tok, &p);
    cr_assert_str_eq(p.plan, "free");
    free(tok);
    tc_auth_free(a);
}

Test(auth, service_token)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_str(c, "sub", "svc_workflow");
    set_str(c, "org", NULL);
    set_str(c, "role", NULL);
    set_str(c, "token_use", "service");
    set_str(c, "scope", "users:read internal");
    char *tok = sign(c);
    tc_principal_t p;
    expect_ok(a, tok, &p);
    cr_assert_eq(p.is_service, 1);
    cr_assert_str_eq(p.sub, "svc_workflow");
    cr_assert_str_eq(p.org, "");
    cr_assert_eq(p.role, TC_ROLE_NONE);
    cr_assert_eq(tc_principal_has_scope(&p, "internal"), 1);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_VIEWER), 0);
    free(tok);

    /* A service token even with a role claim is never "at least" a role. */
    c = user_claims();
    set_str(c, "token_use", "service");
    set_str(c, "role", "owner");
    tok = sign(c);
    expect_ok(a, tok, &p);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_VIEWER), 0);
    free(tok);

    c = user_claims();
    set_str(c, "token_use", "service");
    set_str(c, "scope", NULL);
    tok = sign(c);
    expect_reject(a, tok, "missing_claims");
    free(tok);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- algorithms */

static char *valid_payload(void)
{
    return claims_text(user_claims());
}

Test(auth, rejects_alg_none)
{
    tc_auth_t *a = auth_default();
    char *pl = valid_payload();
    const char *headers[] = {"{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
                             "{\"alg\":\"None\",\"kid\":\"k1\"}",
                             "{\"alg\":\"NONE\",\"kid\":\"k1\"}", "{\"alg\":\"\",\"kid\":\"k1\"}"};
    for (size_t i = 0; i < TC_ARRAY_LEN(headers); i++) {
        char *tok = forge(headers[i], pl, "none", NULL, NULL);
        cr_assert_eq(tok[strlen(tok) - 1], '.', "signature must be empty");
        expect_reject(a, tok, "alg_not_allowed");
        free(tok);
    }
    cJSON_free(pl);
    tc_auth_free(a);
}

Test(auth, rejects_hs256_with_public_key_as_secret)
{
    tc_auth_t *a = auth_default();
    BIO *bio = BIO_new(BIO_s_mem());
    cr_assert_not_null(bio);
    cr_assert_eq(PEM_write_bio_PUBKEY(bio, g_key1), 1);
    char *pem = NULL;
    long n = BIO_get_mem_data(bio, &pem);
    cr_assert_gt(n, 0);
    char *secret = strndup(pem, (size_t)n);
    BIO_free(bio);
    char *pl = valid_payload();
    char *tok =
        forge("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", pl, "HS256", NULL, secret);
    expect_reject(a, tok, "alg_not_allowed");
    free(tok);
    free(secret);
    cJSON_free(pl);
    tc_auth_free(a);
}

Test(auth, rejects_other_and_missing_algs)
{
    tc_auth_t *a = auth_default();
    char *pl = valid_payload();
    char *tok = forge("{\"alg\":\"RS512\",\"kid\":\"k1\"}", pl, "RS512", g_key1, NULL);
    expect_reject(a, tok, "alg_not_allowed");
    free(tok);
    /* An RS256 signature under a header that names another alg is still refused. */
    const char *bad[] = {"{\"alg\":\"PS256\",\"kid\":\"k1\"}", "{\"alg\":\"rs256\",\"kid\":\"k1\"}",
                         "{\"kid\":\"k1\"}", "{\"alg\":256,\"kid\":\"k1\"}"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        tok = forge(bad[i], pl, "RS256", g_key1, NULL);
        expect_reject(a, tok, "alg_not_allowed");
        free(tok);
    }
    /* Control: the same construction with the right header is accepted. */
    tok = forge("{\"alg\":\"RS256\",\"kid\":\"k1\"}", pl, "RS256", g_key1, NULL);
    expect_ok(a, tok, NULL);
    free(tok);
    /* Duplicate members are ambiguous, and unknown critical extensions are refused. */
    tok = forge("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"k1\"}", pl, "RS256", g_key1, NULL);
    expect_reject(a, tok, "malformed");
    free(tok);
    tok = forge("{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", pl, "RS256", g_key1, NULL);
    expect_reject(a, tok, "malformed");
    free(tok);
    cJSON_free(pl);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- time claims */

Test(auth, expiry_with_leeway)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_num(c, "exp", (double)(now_s() - 120));
    char *tok = sign(c);
    expect_reject(a, tok, "expired");
    free(tok);

    c = user_claims();
    set_num(c, "exp", (double)(now_s() - 10)); /* within the 30 s leeway */
    tok = sign(c);
    expect_ok(a, tok, NULL);
    free(tok);

    c = user_claims();
    cJSON_DeleteItemFromObjectCaseSensitive(c, "exp");
    tok = sign(c);
    expect_reject(a, tok, "missing_claims");
    free(tok);

    c = user_claims();
    set_str(c, "exp", "tomorrow");
    tok = sign(c);
    expect_reject(a, tok, "bad_claims");
    free(tok);
    tc_auth_free(a);
}

Test(auth, not_before)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_num(c, "nbf", (double)(now_s() + 300));
    char *tok = sign(c);
    expect_reject(a, tok, "not_yet_valid");
    free(tok);

    c = user_claims();
    set_num(c, "nbf", (double)(now_s() + 10));
    tok = sign(c);
    expect_ok(a, tok, NULL);
    free(tok);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- iss, aud */

Test(auth, issuer_and_audience)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_str(c, "iss", "https://evil.example");
    char *tok = sign(c);
    expect_reject(a, tok, "bad_issuer");
    free(tok);

    c = user_claims();
    set_str(c, "iss", NULL);
    tok = sign(c);
    expect_reject(a, tok, "bad_issuer");
    free(tok);

    c = user_claims();
    set_str(c, "aud", "other-api");
    tok = sign(c);
    expect_reject(a, tok, "bad_audience");
    free(tok);

    c = user_claims();
    cJSON_DeleteItemFromObjectCaseSensitive(c, "aud");
    cJSON *aud = cJSON_AddArrayToObject(c, "aud");
    cJSON_AddItemToArray(aud, cJSON_CreateString("other-api"));
    cJSON_AddItemToArray(aud, cJSON_CreateString("techcorp-api-v2"));
    tok = sign(c);
    expect_reject(a, tok, "bad_audience");
    free(tok);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- keys */

Test(auth, unknown_and_missing_kid)
{
    tc_auth_t *a = auth_default();
    char *tok = sign_with(g_key1, "nope", user_claims());
    expect_reject(a, tok, "unknown_kid");
    free(tok);
    tok = sign_with(g_key1, NULL, user_claims());
    expect_reject(a, tok, "missing_kid");
    free(tok);
    tc_auth_free(a);
}

Test(auth, tampered_payload)
{
    tc_auth_t *a = auth_default();
    char *tok = sign(user_claims());
    expect_ok(a, tok, NULL); /* now cached: the tampered copy must not ride on that */

    cJSON *c = user_claims();
    set_str(c, "role", "owner");
    char *pl_text = claims_text(c);
    char *pl = b64url(pl_text, strlen(pl_text));
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    *dot1 = '\0';
    char *forged = join3(tok, pl, dot2 + 1);
    *dot1 = '.';
    expect_reject(a, forged, "bad_signature");
    expect_ok(a, tok, NULL);
    free(forged);
    free(pl);
    cJSON_free(pl_text);
    free(tok);
    tc_auth_free(a);
}

Test(auth, tampered_signature)
{
    tc_auth_t *a = auth_default();
    char *tok = sign(user_claims());
    char *s = strrchr(tok, '.') + 1;
    size_t mid = strlen(s) / 2;
    s[mid] = s[mid] == 'A' ? 'B' : 'A';
    expect_reject(a, tok, "bad_signature");
    free(tok);

    /* Truncated signature. */
    tok = sign(user_claims());
    tok[strlen(tok) - 4] = '\0';
    expect_reject(a, tok, "bad_signature");
    free(tok);

    /* Signed by another key under our kid. */
    EVP_PKEY *other = new_rsa(2048);
    tok = sign_with(other, "k1", user_claims());
    expect_reject(a, tok, "bad_signature");
    free(tok);
    EVP_PKEY_free(other);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- identity claims */

Test(auth, user_identity_claims)
{
    tc_auth_t *a = auth_default();
    struct {
        const char *claim, *value, *why;
    } cases[] = {
        {"org", NULL, "missing_claims"},
        {"org", "", "bad_claims"},
        {"role", NULL, "missing_claims"},
        {"role", "superuser", "bad_role"},
        {"role", "Admin", "bad_role"},
        {"sub", NULL, "missing_claims"},
        {"token_use", "access", NULL},
        {"scope", NULL, NULL},
        /* only the uses auth issues: a refresh or id token is not an access token */
        {"token_use", "refresh", "bad_claims"},
        {"token_use", "id", "bad_claims"},
        {"token_use", "", "bad_claims"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        cJSON *c = user_claims();
        set_str(c, cases[i].claim, cases[i].value);
        char *tok = sign(c);
        if (cases[i].why)
            expect_reject(a, tok, cases[i].why);
        else
            expect_ok(a, tok, NULL);
        free(tok);
    }
    /* Over-long values are refused, never truncated into another identity. */
    char longv[80];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    const char *fields[] = {"sub", "org", "jti"};
    for (size_t i = 0; i < TC_ARRAY_LEN(fields); i++) {
        cJSON *c = user_claims();
        set_str(c, fields[i], longv);
        char *tok = sign(c);
        expect_reject(a, tok, "bad_claims");
        free(tok);
    }
    cJSON *c = user_claims();
    set_num(c, "org", 42);
    char *tok = sign(c);
    expect_reject(a, tok, "bad_claims");
    free(tok);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- malformed */

Test(auth, malformed_tokens)
{
    tc_auth_t *a = auth_default();
    char *good = sign(user_claims());
    char *dot2 = strrchr(good, '.');
    *dot2 = '\0';
    expect_reject(a, good, "malformed"); /* two segments */
    *dot2 = '.';
    char four[8192];
    snprintf(four, sizeof four, "%s.abc", good);
    expect_reject(a, four, "malformed");
    snprintf(four, sizeof four, "%s", good);
    four[1] = '!';
    expect_reject(a, four, "malformed"); /* not base64url */
    expect_reject(a, "", "malformed");
    expect_reject(a, "..", "malformed");
    expect_reject(a, NULL, "malformed");
    /* Header that decodes but is not a JSON object. */
    char *pl = valid_payload();
    const char *headers[] = {"not json", "[\"alg\",\"RS256\"]",
                             "{\"alg\":\"RS256\",\"kid\":\"k1\""};
    for (size_t i = 0; i < TC_ARRAY_LEN(headers); i++) {
        char *tok = forge(headers[i], pl, "RS256", g_key1, NULL);
        expect_reject(a, tok, "malformed");
        free(tok);
    }
    /* Base64 that is not canonical (non-zero trailing bits) in the header. */
    const char *hj = "{\"alg\":\"RS256\",\"kid\":\"k1\"}";
    char *h = b64url(hj, strlen(hj));
    size_t hl = strlen(h);
    cr_assert_neq(hl % 4, 0, "need a partial final group");
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    h[hl - 1] = alpha[(strchr(alpha, h[hl - 1]) - alpha) ^ 1]; /* set an unused low bit */
    char *tok = join3(h, "e30", "AAAA");
    expect_reject(a, tok, "malformed");
    free(tok);
    free(h);
    /* A signed payload that is not JSON. */
    tok = forge("{\"alg\":\"RS256\",\"kid\":\"k1\"}", "not json", "RS256", g_key1, NULL);
    expect_reject(a, tok, "malformed");
    free(tok);
    cJSON_free(pl);
    free(good);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- rotation */

Test(auth, rotation_refetches_on_unknown_kid)
{
    tc_auth_t *a = auth_default();
    char *old = sign(user_claims());
    expect_ok(a, old, NULL);

    EVP_PKEY *key2 = new_rsa(2048);
    write_jwks(&key2, (const char *const[]){"k2"}, 1);
    char *fresh = sign_with(key2, "k2", user_claims());
    expect_ok(a, fresh, NULL);
    cr_assert_eq(tc_auth_key_count(a), 1);
    /* k1 was withdrawn: its cached token stops verifying too. */
    expect_reject(a, old, "unknown_kid");

    free(old);
    free(fresh);
    EVP_PKEY_free(key2);
    tc_auth_free(a);
}

Test(auth, unknown_kid_refetch_is_rate_limited)
{
    tc_auth_t *a = auth_with(60000, 0, 0);
    EVP_PKEY *key2 = new_rsa(2048);
    char *t2 = sign_with(key2, "k2", user_claims());
    expect_reject(a, t2, "unknown_kid"); /* refetched once: not there yet */
    write_jwks((EVP_PKEY *const[]){g_key1, key2}, (const char *const[]){"k1", "k2"}, 2);
    expect_reject(a, t2, "unknown_kid"); /* within the interval: no refetch */
    cr_assert_eq(tc_auth_key_count(a), 1);
    cr_assert_eq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 2);
    expect_ok(a, t2, NULL);
    free(t2);
    EVP_PKEY_free(key2);
    tc_auth_free(a);
}

Test(auth, periodic_refresh)
{
    EVP_PKEY *key2 = new_rsa(2048);
    tc_auth_t *a = auth_with(60000, 300, 0);
    write_jwks((EVP_PKEY *const[]){g_key1, key2}, (const char *const[]){"k1", "k2"}, 2);
    char *t1 = sign(user_claims());
    expect_ok(a, t1, NULL);
    cr_assert_eq(tc_auth_key_count(a), 1);
    tc_sleep_ms(400);
    cJSON *c = user_claims();
    set_str(c, "jti", "jti_other"); /* a different token: not cached, so it needs the keys */
    char *t1b = sign(c);
    expect_ok(a, t1b, NULL);
    cr_assert_eq(tc_auth_key_count(a), 2);
    free(t1);
    free(t1b);
    EVP_PKEY_free(key2);
    tc_auth_free(a);
}

Test(auth, failed_reload_keeps_old_keys)
{
    tc_auth_t *a = auth_default();
    write_text(g_jwks, "{\"keys\": [ this is not json");
    cr_assert_neq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 1);
    write_text(g_jwks, "{\"keys\": []}");
    cr_assert_neq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 1);
    char *tok = sign(user_claims());
    expect_ok(a, tok, NULL);
    free(tok);
    tc_auth_free(a);
}

Test(auth, jwks_skips_unusable_keys)
{
    EVP_PKEY *small = new_rsa(1024), *key2 = new_rsa(2048);
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "keys");
    cJSON *weak = tc_jwk_from_pkey(small, "weak");
    cJSON *enc = tc_jwk_from_pkey(key2, "enc");
    set_str(enc, "use", "enc");
    cJSON *rs512 = tc_jwk_from_pkey(key2, "rs512");
    set_str(rs512, "alg", "RS512");
    cJSON *ec =
        cJSON_Parse("{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}");
    cJSON *good = tc_jwk_from_pkey(g_key1, "k1");
    cJSON *nokid = tc_jwk_from_pkey(key2, NULL);
    cJSON *items[] = {weak, enc, rs512, ec, good, nokid};
    for (size_t i = 0; i < TC_ARRAY_LEN(items); i++) {
        cr_assert_not_null(items[i]);
        cJSON_AddItemToArray(arr, items[i]);
    }
    char *text = cJSON_PrintUnformatted(root);
    write_text(g_jwks, text);
    cJSON_free(text);
    cJSON_Delete(root);

    tc_auth_t *a = auth_default();
    cr_assert_eq(tc_auth_key_count(a), 1);
    char *tok = sign_with(small, "weak", user_claims());
    expect_reject(a, tok, "unknown_kid");
    free(tok);
    tok = sign_with(key2, "rs512", user_claims());
    expect_reject(a, tok, "unknown_kid");
    free(tok);
    tc_auth_free(a);
    EVP_PKEY_free(small);
    EVP_PKEY_free(key2);
}

Test(auth, no_keys)
{
    char missing[320];
    snprintf(missing, sizeof missing, "%s/absent.json", g_dir);
    tc_auth_opts_t o = {.jwks_file = missing, .issuer = ISS, .audience = AUD};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    cr_assert_eq(tc_auth_key_count(a), 0);
    char *tok = sign(user_claims());
    expect_reject(a, tok, "no_keys");
    free(tok);
    tc_auth_free(a);
}

Test(auth, rejects_bad_options)
{
    cr_assert_null(tc_auth_new(NULL));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){.jwks_file = g_jwks, .audience = AUD}));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){.jwks_file = g_jwks, .issuer = ISS}));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){.issuer = ISS, .audience = AUD}));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){
        .jwks_file = g_jwks, .jwks_url = "http://127.0.0.1:1/", .issuer = ISS, .audience = AUD}));
}

/* ------------------------------------------------------------------------- cache */

Test(auth, cache_rechecks_expiry)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_num(c, "exp", (double)(now_s() + 60));
    char *tok = sign(c);
    expect_ok(a, tok, NULL);
    tc_principal_t p;
    expect_ok(a, tok, &p); /* served from the cache */
    cr_assert_str_eq(p.sub, "usr_01TESTUSER");
    cr_assert_eq(p.role, TC_ROLE_EDITOR);

    tc_time_set_offset_ms((60 + 20) * 1000); /* past exp, within leeway */
    expect_ok(a, tok, NULL);
    tc_time_set_offset_ms((60 + 30 + 5) * 1000); /* past exp + leeway */
    expect_reject(a, tok, "expired");
    expect_reject(a, tok, "expired");
    tc_time_set_offset_ms(0);
    tc_auth_free(a);
    free(tok);
}

Test(auth, lookup_answers_from_the_cache_only)
{
    tc_auth_t *a = auth_default();
    cJSON *c = user_claims();
    set_num(c, "exp", (double)(now_s() + 60));
    char *tok = sign(c);
    tc_principal_t p;
    const char *why = "unset";
    cr_assert_eq(tc_auth_lookup(a, tok, &p, &why), TC_EAGAIN, "never verified: not cached");
    cr_assert_null(why);
    expect_ok(a, tok, NULL);
    cr_assert_eq(tc_auth_lookup(a, tok, &p, &why), TC_OK);
    cr_assert_str_eq(p.sub, "usr_01TESTUSER");
    char *tampered = strdup(tok);
    tampered[strlen(tampered) - 2] ^= 1;
    cr_assert_eq(tc_auth_lookup(a, tampered, &p, &why), TC_EAGAIN, "a different token");
    cr_assert_eq(tc_auth_lookup(a, "", &p, &why), TC_EINVAL);
    cr_assert_str_eq(why, "malformed");
    tc_time_set_offset_ms((60 + 30 + 5) * 1000);
    cr_assert_eq(tc_auth_lookup(a, tok, &p, &why), TC_EINVAL);
    cr_assert_str_eq(why, "expired");
    cr_assert_eq(p.sub[0], '\0');
    tc_time_set_offset_ms(0);
    free(tampered);
    tc_auth_free(a);
    free(tok);
}

Test(auth, small_cache_evicts_without_confusion)
{
    tc_auth_t *a = auth_with(1, 0, 2);
    char *toks[8];
    char sub[32];
    for (int i = 0; i < 8; i++) {
        cJSON *c = user_claims();
        snprintf(sub, sizeof sub, "usr_%d", i);
        set_str(c, "sub", sub);
        toks[i] = sign(c);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) {
            tc_principal_t p;
            expect_ok(a, toks[i], &p);
            snprintf(sub, sizeof sub, "usr_%d", i);
            cr_assert_str_eq(p.sub, sub);
        }
    }
    for (int i = 0; i < 8; i++)
        free(toks[i]);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- JWK, PEM */

Test(auth, jwk_round_trip_verifies_signature)
{
    cJSON *jwk = tc_jwk_from_pkey(g_key1, "k9");
    cr_assert_not_null(jwk);
    cr_assert_str_eq(cJSON_GetObjectItem(jwk, "kty")->valuestring, "RSA");
    cr_assert_str_eq(cJSON_GetObjectItem(jwk, "e")->valuestring, "AQAB");
    cr_assert_str_eq(cJSON_GetObjectItem(jwk, "kid")->valuestring, "k9");
    cr_assert_str_eq(cJSON_GetObjectItem(jwk, "alg")->valuestring, "RS256");
    cr_assert_str_eq(cJSON_GetObjectItem(jwk, "use")->valuestring, "sig");
    const char *n = cJSON_GetObjectItem(jwk, "n")->valuestring;
    cr_assert_eq(strlen(n), 342); /* 256 bytes, base64url without padding */
    cr_assert_null(strchr(n, '='));

    EVP_PKEY *pub = tc_pkey_from_jwk(jwk);
    cr_assert_not_null(pub);
    cr_assert_eq(EVP_PKEY_eq(pub, g_key1), 1);

    const char *msg = "signed by the private half";
    uint8_t sig[512];
    size_t siglen = sizeof sig;
    rsa_sign(g_key1, "SHA256", msg, sig, &siglen);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL), 1);
    cr_assert_eq(EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(ctx);
    sig[0] ^= 1;
    ctx = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pub, NULL), 1);
    cr_assert_neq(EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);

    /* Not RSA, or incomplete. */
    cJSON_ReplaceItemInObject(jwk, "kty", cJSON_CreateString("EC"));
    cr_assert_null(tc_pkey_from_jwk(jwk));
    cJSON_ReplaceItemInObject(jwk, "kty", cJSON_CreateString("RSA"));
    cJSON_DeleteItemFromObject(jwk, "n");
    cr_assert_null(tc_pkey_from_jwk(jwk));
    cJSON_AddStringToObject(jwk, "n", "not*base64");
    cr_assert_null(tc_pkey_from_jwk(jwk));
    cJSON_Delete(jwk);
}

Test(auth, pem_private_key_signs_verifiable_tokens)
{
    char path[320];
    snprintf(path, sizeof path, "%s/key.pem", g_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(PEM_write_PrivateKey(f, g_key1, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY *k = tc_pkey_load_pem(path);
    cr_assert_not_null(k);
    tc_auth_t *a = auth_default();
    char *tok = sign_with(k, "k1", user_claims());
    /* Compact form: header is exactly what the contract says. */
    char hdr[128];
    long n = tc_b64url_decode(tok, (size_t)(strchr(tok, '.') - tok), hdr, sizeof hdr - 1);
    cr_assert_gt(n, 0);
    hdr[n] = '\0';
    cr_assert_str_eq(hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}");
    cr_assert_null(strchr(tok, '='));
    expect_ok(a, tok, NULL);
    free(tok);
    EVP_PKEY_free(k);
    cr_assert_null(tc_pkey_load_pem("/nonexistent/key.pem"));
    cr_assert_null(tc_pkey_load_pem(g_jwks)); /* not a PEM */
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- helpers */

Test(auth, roles_and_scopes)
{
    cr_assert_eq(tc_role_parse("viewer"), TC_ROLE_VIEWER);
    cr_assert_eq(tc_role_parse("owner"), TC_ROLE_OWNER);
    cr_assert_eq(tc_role_parse("root"), TC_ROLE_NONE);
    cr_assert_eq(tc_role_parse(NULL), TC_ROLE_NONE);
    cr_assert_str_eq(tc_role_name(TC_ROLE_ADMIN), "admin");
    cr_assert_null(tc_role_name(TC_ROLE_NONE));
    cr_assert_null(tc_role_name((tc_role_t)9));

    tc_principal_t p = {.role = TC_ROLE_ADMIN};
    snprintf(p.scope, sizeof p.scope, "%s", "a:read  b:write c");
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_OWNER), 0);
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_ADMIN), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "b:write"), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "c"), 1);
    cr_assert_eq(tc_principal_has_scope(&p, "a"), 0);
    cr_assert_eq(tc_principal_has_scope(&p, "b:writ"), 0);
    cr_assert_eq(tc_principal_has_scope(&p, "a:read b:write"), 0);
    cr_assert_eq(tc_principal_has_scope(&p, ""), 0);
    p.role = TC_ROLE_NONE;
    cr_assert_eq(tc_principal_at_least(&p, TC_ROLE_NONE), 0);
    cr_assert_eq(tc_principal_at_least(NULL, TC_ROLE_VIEWER), 0);
}

Test(auth, bearer_header)
{
    cr_assert_str_eq(tc_auth_bearer("Bearer abc.def.ghi"), "abc.def.ghi");
    cr_assert_str_eq(tc_auth_bearer("bearer   abc"), "abc");
    cr_assert_null(tc_auth_bearer("Basic dXNlcjpwYXNz"));
    cr_assert_null(tc_auth_bearer("Bearer"));
    cr_assert_null(tc_auth_bearer("Bearer "));
    cr_assert_null(tc_auth_bearer("Bearerabc"));
    cr_assert_null(tc_auth_bearer("Bearer a b"));
    cr_assert_null(tc_auth_bearer(NULL));
}

/* ------------------------------------------------------------------------- concurrency */

typedef struct {
    tc_auth_t *a;
    char **toks;
    int ntoks;
    int ok;
} verifier_t;

static void *verifier(void *arg)
{
    verifier_t *v = arg;
    for (int i = 0; i < 400; i++) {
        tc_principal_t p;
        const char *why;
        if (tc_auth_verify(v->a, v->toks[i % v->ntoks], &p, &why) == TC_OK)
            v->ok++;
    }
    return NULL;
}

Test(auth, concurrent_verify_during_reloads)
{
    enum { THREADS = 6, TOKS = 24 };
    tc_auth_t *a = auth_with(1, 0, 8);
    char *toks[TOKS];
    char sub[32];
    for (int i = 0; i < TOKS; i++) {
        cJSON *c = user_claims();
        snprintf(sub, sizeof sub, "usr_%d", i);
        set_str(c, "sub", sub);
        toks[i] = sign(c);
    }
    pthread_t th[THREADS];
    verifier_t v[THREADS];
    for (int i = 0; i < THREADS; i++) {
        v[i] = (verifier_t){.a = a, .toks = toks, .ntoks = TOKS};
        cr_assert_eq(pthread_create(&th[i], NULL, verifier, &v[i]), 0);
    }
    for (int i = 0; i < 20; i++)
        cr_assert_eq(tc_auth_reload(a), TC_OK);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(v[i].ok, 400);
    }
    for (int i = 0; i < TOKS; i++)
        free(toks[i]);
    tc_auth_free(a);
}

/* ------------------------------------------------------------------------- JWKS over HTTP */

static pthread_mutex_t g_served_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_served;
static atomic_int g_jwks_hits;

static enum MHD_Result serve_jwks(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    (void)cls;
    (void)version;
    (void)data;
    (void)data_size;
    (void)state;
    if (strcmp(method, "GET") != 0)
        return MHD_NO;
    int found = strcmp(url, "/.well-known/jwks.json") == 0;
    if (found)
        atomic_fetch_add(&g_jwks_hits, 1);
    pthread_mutex_lock(&g_served_mu);
    const char *body = found && g_served ? g_served : "{\"error\":\"not_found\"}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&g_served_mu);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, found ? 200 : 404, r);
    MHD_destroy_response(r);
    return ok;
}

static void serve(char *text)
{
    pthread_mutex_lock(&g_served_mu);
    cJSON_free(g_served);
    g_served = text;
    pthread_mutex_unlock(&g_served_mu);
}

Test(auth, jwks_over_http)
{
    serve(jwks_text(&g_key1, (const char *const[]){"k1"}, 1));
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, serve_jwks, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    cr_assert_not_null(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    cr_assert_not_null(info);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/.well-known/jwks.json", (unsigned)info->port);

    tc_auth_opts_t o = {
        .jwks_url = url, .issuer = ISS, .audience = AUD, .refetch_min_interval_ms = 1};
    tc_auth_t *a = tc_auth_new(&o);
    cr_assert_not_null(a);
    cr_assert_eq(tc_auth_key_count(a), 1);
    cr_assert_eq(atomic_load(&g_jwks_hits), 1);
    char *tok = sign(user_claims());
    tc_principal_t p;
    expect_ok(a, tok, &p);
    cr_assert_str_eq(p.org, "org_01TESTORG");
    free(tok);

    /* Rotation through the URL. */
    EVP_PKEY *key2 = new_rsa(2048);
    serve(jwks_text((EVP_PKEY *const[]){g_key1, key2}, (const char *const[]){"k1", "k2"}, 2));
    tok = sign_with(key2, "k2", user_claims());
    expect_ok(a, tok, NULL);
    cr_assert_eq(tc_auth_key_count(a), 2);
    cr_assert_eq(atomic_load(&g_jwks_hits), 2);
    free(tok);

    /* The issuer going away does not lose the keys we have. */
    MHD_stop_daemon(d);
    cr_assert_neq(tc_auth_reload(a), TC_OK);
    cr_assert_eq(tc_auth_key_count(a), 2);
    tok = sign(user_claims());
    expect_ok(a, tok, NULL);
    free(tok);

    tc_auth_free(a);
    EVP_PKEY_free(key2);
    serve(NULL);
}
