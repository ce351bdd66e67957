/* tc_jws: RS256 signing — the compact serialization a verifier expects, and what it refuses to
 * sign. */
#include "../auth_fixture.h"

#include <ctype.h>

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

static cJSON *segment(const char *tok, int which)
{
    const char *start = tok;
    for (int i = 0; i < which; i++)
        start = strchr(start, '.') + 1;
    size_t n = strcspn(start, ".");
    char *raw = malloc(n + 1);
    cr_assert_not_null(raw);
    ssize_t len = tc_b64url_decode(start, n, raw, n);
    cr_assert_geq(len, 0);
    raw[len] = '\0';
    cJSON *j = cJSON_Parse(raw);
    free(raw);
    return j;
}

Test(auth, a_signed_token_has_header_payload_and_verifies)
{
    cJSON *claims = user_claims();
    char *tok = NULL;
    cr_assert_eq(tc_jwt_sign_rs256(g_key1, "k1", claims, &tok), TC_OK);
    int dots = 0;
    for (const char *c = tok; *c; c++) {
        dots += *c == '.';
        cr_assert(*c == '.' || *c == '-' || *c == '_' || isalnum((unsigned char)*c),
                  "base64url only: %c", *c);
    }
    cr_assert_eq(dots, 2);
    cJSON *h = segment(tok, 0), *p = segment(tok, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(h, "alg")->valuestring, "RS256");
    cr_assert_str_eq(cJSON_GetObjectItem(h, "typ")->valuestring, "JWT");
    cr_assert_str_eq(cJSON_GetObjectItem(h, "kid")->valuestring, "k1");
    cr_assert(cJSON_Compare(p, claims, 1), "the payload is the claims");
    tc_auth_t *a = auth_default();
    tc_principal_t pr;
    expect_ok(a, tok, &pr);
    tc_auth_free(a);
    cJSON_Delete(h);
    cJSON_Delete(p);
    cJSON_Delete(claims);
    free(tok);
}

Test(auth, what_cannot_be_signed_is_refused)
{
    char *tok = (char *)"untouched";
    cJSON *claims = user_claims();
    cJSON *array = cJSON_CreateArray();
    cr_assert_eq(tc_jwt_sign_rs256(NULL, "k1", claims, &tok), TC_EINVAL);
    cr_assert_null(tok, "the out pointer is cleared");
    cr_assert_eq(tc_jwt_sign_rs256(g_key1, "k1", array, &tok), TC_EINVAL);
    cr_assert_eq(tc_jwt_sign_rs256(g_key1, "k1", NULL, &tok), TC_EINVAL);
    cr_assert_eq(tc_jwt_sign_rs256(g_key1, "k1", claims, NULL), TC_EINVAL);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cr_assert_not_null(ec);
    cr_assert_eq(tc_jwt_sign_rs256(ec, "k1", claims, &tok), TC_EINVAL, "RSA keys only");
    EVP_PKEY_free(ec);
    cJSON_Delete(array);
    cJSON_Delete(claims);
}

/* ---- tc_jws_verify_rs256: another issuer's token against its key set ---- */

static void expect_foreign_reject(const char *jwks, const char *tok, const char *want)
{
    cJSON *claims = (cJSON *)0x1;
    const char *why = NULL;
    cr_assert_neq(tc_jws_verify_rs256(jwks, tok, &claims, &why), TC_OK, "%s accepted", want);
    cr_assert_null(claims, "no claims from a refused token");
    cr_assert_str_eq(why, want);
}

Test(auth, a_foreign_token_verifies_against_its_key_set_and_gives_its_claims)
{
    EVP_PKEY *other = new_rsa(2048);
    char *jwks = jwks_text((EVP_PKEY *const[]){other, g_key1}, (const char *const[]){"a", "b"}, 2);
    cJSON *claims = user_claims();
    char *tok = sign_with(g_key1, "b", cJSON_Duplicate(claims, 1));
    cJSON *got = NULL;
    const char *why = "untouched";
    cr_assert_eq(tc_jws_verify_rs256(jwks, tok, &got, &why), TC_OK);
    cr_assert_null(why);
    cr_assert(cJSON_Compare(got, claims, 1), "the payload comes back as it was signed");
    cJSON_Delete(got);
    cJSON_Delete(claims);
    free(tok);
    cJSON_free(jwks);
    EVP_PKEY_free(other);
}

Test(auth, a_foreign_token_is_refused_for_its_alg_key_signature_or_shape)
{
    EVP_PKEY *other = new_rsa(2048);
    char *jwks = jwks_text(&g_key1, (const char *const[]){"k1"}, 1);
    char *pl = claims_text(user_claims());
    char *none = forge("{\"alg\":\"none\",\"kid\":\"k1\"}", pl, "none", NULL, NULL);
    char *hs = forge("{\"alg\":\"HS256\",\"kid\":\"k1\"}", pl, "HS256", NULL, "k1");
    char *rs512 = forge("{\"alg\":\"RS512\",\"kid\":\"k1\"}", pl, "RS512", g_key1, NULL);
    char *foreign = forge("{\"alg\":\"RS256\",\"kid\":\"k1\"}", pl, "RS256", other, NULL);
    char *unknown = forge("{\"alg\":\"RS256\",\"kid\":\"k9\"}", pl, "RS256", g_key1, NULL);
    char *nokid = forge("{\"alg\":\"RS256\"}", pl, "RS256", g_key1, NULL);
    char *array = forge("{\"alg\":\"RS256\",\"kid\":\"k1\"}", "[1]", "RS256", g_key1, NULL);
    expect_foreign_reject(jwks, none, "alg_not_allowed");
    expect_foreign_reject(jwks, hs, "alg_not_allowed");
    expect_foreign_reject(jwks, rs512, "alg_not_allowed");
    expect_foreign_reject(jwks, foreign, "bad_signature");
    expect_foreign_reject(jwks, unknown, "unknown_kid");
    cJSON *got = NULL;
    const char *why = NULL;
    cr_assert_eq(tc_jws_verify_rs256(jwks, nokid, &got, &why), TC_OK,
                 "no kid: the set's only key (OpenID Connect Core 10.1)");
    cJSON_Delete(got);
    cJSON *lone = tc_jwk_from_pkey(g_key1, "k1"), *set = cJSON_CreateObject();
    cJSON_DeleteItemFromObject(lone, "kid");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(set, "keys"), lone);
    char *kidless = cJSON_PrintUnformatted(set);
    cr_assert_eq(tc_jws_verify_rs256(kidless, nokid, &got, &why), TC_OK,
                 "a provider's only key may have no kid either");
    cJSON_Delete(got);
    expect_foreign_reject(kidless, unknown, "unknown_kid");
    cJSON_free(kidless);
    cJSON_Delete(set);
    char *two = jwks_text((EVP_PKEY *const[]){g_key1, other}, (const char *const[]){"k1", "k2"}, 2);
    expect_foreign_reject(two, nokid, "missing_kid");
    cJSON_free(two);
    expect_foreign_reject(jwks, array, "malformed");
    expect_foreign_reject(jwks, "a.b", "malformed");
    expect_foreign_reject("{\"keys\":[]}", foreign, "no_usable_key");
    expect_foreign_reject("not json", foreign, "no_usable_key");
    char *tok[] = {none, hs, rs512, foreign, unknown, nokid, array};
    for (size_t i = 0; i < TC_ARRAY_LEN(tok); i++)
        free(tok[i]);
    cJSON_free(pl);
    cJSON_free(jwks);
    EVP_PKEY_free(other);
}
