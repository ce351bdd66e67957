/* tc_auth: RS256 verification of access tokens: algorithms, signatures, claims, identity,
 * malformed and forged tokens. */
#include "../auth_fixture.h"

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

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

Test(auth, rejects_bad_options)
{
    cr_assert_null(tc_auth_new(NULL));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){.jwks_file = g_jwks, .audience = AUD}));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){.jwks_file = g_jwks, .issuer = ISS}));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){.issuer = ISS, .audience = AUD}));
    cr_assert_null(tc_auth_new(&(tc_auth_opts_t){
        .jwks_file = g_jwks, .jwks_url = "http://127.0.0.1:1/", .issuer = ISS, .audience = AUD}));
}
