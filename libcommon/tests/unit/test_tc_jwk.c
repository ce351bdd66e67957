/* tc_jwk: RSA keys as JWKs and PEM files. */
#include "../auth_fixture.h"

TestSuite(auth, .init = setup, .fini = teardown, .timeout = 60);

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
    size_t head_len = strcspn(tok, ".");
    ssize_t n = tc_b64url_decode(tok, head_len, hdr, sizeof hdr - 1);
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
