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
