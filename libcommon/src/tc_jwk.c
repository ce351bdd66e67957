/* RSA keys as JWKs and PEM files, with the sizes and shapes a verifier accepts. */
#include "tc_auth_int.h"

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
static bool rsa_public_ok(EVP_PKEY *pkey)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    bool ok = ctx && EVP_PKEY_public_check(ctx) == 1;
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
