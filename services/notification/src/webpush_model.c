/*
 * Web Push's cryptography and rules, without I/O (webpush_model.h). P-256 through OpenSSL 3's
 * EVP interface; the key schedule of RFC 8291 §3.3-3.4 is four HMAC-SHA-256 calls (each HKDF
 * here needs one block of output).
 */
#include "webpush_model.h"

#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct webpush_key {
    EVP_PKEY *pkey;
    uint8_t pub[WEBPUSH_PUB_LEN];
};

/* An EVP key of the P-256 group from OSSL parameters (priv may be NULL: a public key). */
static EVP_PKEY *pkey_from(const BIGNUM *priv, const uint8_t pub[WEBPUSH_PUB_LEN])
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pc = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, WEBPUSH_PUB_LEN) ||
        (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
        goto cleanup;
    params = OSSL_PARAM_BLD_to_param(bld);
    pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
cleanup:
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

bool webpush_point_valid(const uint8_t pub[WEBPUSH_PUB_LEN])
{
    if (pub[0] != 0x04)
        return false;
    EVP_PKEY *k = pkey_from(NULL, pub);
    EVP_PKEY_CTX *c = k ? EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL) : NULL;
    bool ok = c && EVP_PKEY_public_check(c) == 1;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(k);
    return ok;
}

int webpush_key_from_private(const uint8_t d[WEBPUSH_PRIV_LEN], webpush_key_t **out)
{
    int rc = TC_ENOMEM;
    webpush_key_t *k = calloc(1, sizeof *k);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *p = g ? EC_POINT_new(g) : NULL;
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *bn = BN_bin2bn(d, WEBPUSH_PRIV_LEN, NULL);
    *out = NULL;
    if (!k || !p || !ctx || !bn)
        goto cleanup;
    rc = TC_EINVAL; /* the scalar must be in [1, n-1] */
    if (BN_is_zero(bn) || BN_cmp(bn, EC_GROUP_get0_order(g)) >= 0)
        goto cleanup;
    rc = TC_ERROR;
    if (EC_POINT_mul(g, p, bn, NULL, NULL, ctx) != 1 ||
        EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, k->pub, WEBPUSH_PUB_LEN, ctx) !=
            WEBPUSH_PUB_LEN)
        goto cleanup;
    if (!(k->pkey = pkey_from(bn, k->pub)))
        goto cleanup;
    *out = k;
    k = NULL;
    rc = TC_OK;
cleanup:
    BN_clear_free(bn);
    BN_CTX_free(ctx);
    EC_POINT_free(p);
    EC_GROUP_free(g);
    webpush_key_free(k);
    return rc;
}

int webpush_key_new(webpush_key_t **out)
{
    uint8_t d[WEBPUSH_PRIV_LEN];
    int rc = TC_EINVAL;
    /* a random 256-bit number is at or past the group order about once in 2^32 tries */
    for (int i = 0; i < 8 && rc == TC_EINVAL; i++) {
        rc = tc_random_bytes(d, sizeof d);
        if (rc == TC_OK)
            rc = webpush_key_from_private(d, out);
    }
    OPENSSL_cleanse(d, sizeof d);
    return rc;
}

void webpush_key_free(webpush_key_t *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const uint8_t *webpush_key_public(const webpush_key_t *k)
{
    return k->pub;
}

/* HMAC-SHA-256(key, a || b || c), the parts optional. */
static int hmac3(const uint8_t *key, size_t klen, const void *a, size_t alen, const void *b,
                 size_t blen, const void *c, size_t clen, uint8_t out[TC_SHA256_LEN])
{
    uint8_t buf[256];
    if (alen + blen + clen > sizeof buf)
        return TC_EINVAL;
    memcpy(buf, a, alen);
    if (blen)
        memcpy(buf + alen, b, blen);
    if (clen)
        memcpy(buf + alen + blen, c, clen);
    int rc = tc_hmac_sha256(key, klen, buf, alen + blen + clen, out);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* ECDH of our private key and their public point: the 32-byte x coordinate. */
static int ecdh(const webpush_key_t *ours, const uint8_t theirs[WEBPUSH_PUB_LEN],
                uint8_t secret[32])
{
    int rc = TC_EINVAL;
    EVP_PKEY *peer = theirs[0] == 0x04 ? pkey_from(NULL, theirs) : NULL;
    EVP_PKEY_CTX *c = peer ? EVP_PKEY_CTX_new_from_pkey(NULL, ours->pkey, NULL) : NULL;
    size_t len = 32;
    /* set_peer checks the point is on the curve */
    if (c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, peer) > 0 &&
        EVP_PKEY_derive(c, secret, &len) > 0 && len == 32)
        rc = TC_OK;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(peer);
    return rc;
}

/* RFC 8291 §3.3-3.4 and RFC 8188 §2.2-2.3: the content key and nonce of the one record. */
static int key_schedule(const webpush_key_t *as, const uint8_t salt[WEBPUSH_SALT_LEN],
                        const uint8_t ua_pub[WEBPUSH_PUB_LEN], const uint8_t auth[WEBPUSH_AUTH_LEN],
                        uint8_t cek[16], uint8_t nonce[12])
{
    static const char key_info[] = "WebPush: info"; /* with its NUL, as the RFC's 0x00 */
    static const char cek_info[] = "Content-Encoding: aes128gcm";
    static const char nonce_info[] = "Content-Encoding: nonce";
    static const uint8_t one = 0x01;
    uint8_t secret[32], prk_key[32], ikm[32], prk[32], t[32], keys[2 * WEBPUSH_PUB_LEN];
    memcpy(keys, ua_pub, WEBPUSH_PUB_LEN);
    memcpy(keys + WEBPUSH_PUB_LEN, as->pub, WEBPUSH_PUB_LEN);
    int rc = ecdh(as, ua_pub, secret);
    if (rc == TC_OK) /* PRK_key = HMAC(auth_secret, ecdh_secret) */
        rc = tc_hmac_sha256(auth, WEBPUSH_AUTH_LEN, secret, sizeof secret, prk_key);
    if (rc == TC_OK) /* IKM = HMAC(PRK_key, key_info || 0x01) */
        rc = hmac3(prk_key, 32, key_info, sizeof key_info, keys, sizeof keys, &one, 1, ikm);
    if (rc == TC_OK) /* PRK = HMAC(salt, IKM) */
        rc = tc_hmac_sha256(salt, WEBPUSH_SALT_LEN, ikm, sizeof ikm, prk);
    if (rc == TC_OK)
        rc = hmac3(prk, 32, cek_info, sizeof cek_info, NULL, 0, &one, 1, t);
    if (rc == TC_OK) {
        memcpy(cek, t, 16);
        rc = hmac3(prk, 32, nonce_info, sizeof nonce_info, NULL, 0, &one, 1, t);
    }
    if (rc == TC_OK)
        memcpy(nonce, t, 12);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(prk_key, sizeof prk_key);
    OPENSSL_cleanse(ikm, sizeof ikm);
    OPENSSL_cleanse(prk, sizeof prk);
    OPENSSL_cleanse(t, sizeof t);
    return rc;
}

static int gcm_seal(const uint8_t key[16], const uint8_t nonce[12], const uint8_t *in, size_t n,
                    uint8_t *out /* n + 16 */)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, rc = TC_ERROR;
    if (c && EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, nonce) == 1 &&
        EVP_EncryptUpdate(c, out, &len, in, (int)n) == 1 &&
        EVP_EncryptFinal_ex(c, out + len, &fin) == 1 && (size_t)(len + fin) == n &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + n) == 1)
        rc = TC_OK;
    EVP_CIPHER_CTX_free(c);
    return c ? rc : TC_ENOMEM;
}

int webpush_encrypt_with(const webpush_key_t *as, const uint8_t salt[WEBPUSH_SALT_LEN],
                         const uint8_t ua_pub[WEBPUSH_PUB_LEN],
                         const uint8_t auth[WEBPUSH_AUTH_LEN], const void *plain, size_t n,
                         uint8_t **out, size_t *outlen)
{
    uint8_t cek[16], nonce[12];
    uint8_t *padded = NULL, *body = NULL;
    *out = NULL;
    *outlen = 0;
    if (n > WEBPUSH_PLAINTEXT_MAX)
        return TC_EINVAL;
    int rc = key_schedule(as, salt, ua_pub, auth, cek, nonce);
    if (rc != TC_OK)
        goto cleanup;
    rc = TC_ENOMEM;
    padded = malloc(n + 1);
    body = malloc(WEBPUSH_HEADER_LEN + n + 1 + 16);
    if (!padded || !body)
        goto cleanup;
    if (n)
        memcpy(padded, plain, n);
    padded[n] = 0x02; /* the last (and only) record's delimiter, no padding */
    memcpy(body, salt, WEBPUSH_SALT_LEN);
    body[16] = (uint8_t)(WEBPUSH_RS >> 24);
    body[17] = (uint8_t)(WEBPUSH_RS >> 16);
    body[18] = (uint8_t)(WEBPUSH_RS >> 8);
    body[19] = (uint8_t)WEBPUSH_RS;
    body[20] = WEBPUSH_PUB_LEN; /* keyid: the sender's public key */
    memcpy(body + 21, as->pub, WEBPUSH_PUB_LEN);
    rc = gcm_seal(cek, nonce, padded, n + 1, body + WEBPUSH_HEADER_LEN);
    if (rc != TC_OK)
        goto cleanup;
    *out = body;
    *outlen = WEBPUSH_HEADER_LEN + n + 1 + 16;
    body = NULL;
cleanup:
    OPENSSL_cleanse(cek, sizeof cek);
    if (padded)
        OPENSSL_cleanse(padded, n + 1);
    free(padded);
    free(body);
    return rc;
}

int webpush_encrypt(const uint8_t ua_pub[WEBPUSH_PUB_LEN], const uint8_t auth[WEBPUSH_AUTH_LEN],
                    const void *plain, size_t n, uint8_t **out, size_t *outlen)
{
    webpush_key_t *as = NULL;
    uint8_t salt[WEBPUSH_SALT_LEN];
    *out = NULL;
    *outlen = 0;
    int rc = tc_random_bytes(salt, sizeof salt);
    if (rc == TC_OK)
        rc = webpush_key_new(&as);
    if (rc == TC_OK)
        rc = webpush_encrypt_with(as, salt, ua_pub, auth, plain, n, out, outlen);
    webpush_key_free(as);
    return rc;
}

int webpush_origin(const char *endpoint, char *out, size_t outlen)
{
    size_t skip;
    if (strncasecmp(endpoint, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(endpoint, "http://", 7) == 0)
        skip = 7;
    else
        return TC_EINVAL;
    const char *host = endpoint + skip;
    size_t hlen = strcspn(host, "/?#");
    if (hlen == 0 || memchr(host, '@', hlen) || host[0] == ':')
        return TC_EINVAL; /* no host, or credentials in the authority */
    if (skip + hlen >= outlen)
        return TC_EINVAL;
    for (size_t i = 0; i < skip + hlen; i++) {
        char ch = endpoint[i];
        out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[skip + hlen] = '\0';
    return TC_OK;
}

static int b64url_text(const void *in, size_t n, char **out)
{
    size_t cap = (n + 2) / 3 * 4 + 1;
    *out = malloc(cap);
    if (!*out)
        return TC_ENOMEM;
    if (tc_b64url_encode(in, n, *out, cap) < 0) {
        free(*out);
        *out = NULL;
        return TC_ERROR;
    }
    return TC_OK;
}

/* ES256 over input: the JWS form, r || s, 32 bytes each (RFC 7518 §3.4), not DER. */
static int es256_sign(EVP_PKEY *key, const char *input, uint8_t sig[64])
{
    int rc = TC_ERROR;
    unsigned char der[80];
    size_t derlen = sizeof der;
    ECDSA_SIG *s = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return TC_ENOMEM;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, strlen(input)) != 1)
        goto cleanup;
    const unsigned char *p = der;
    s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    const BIGNUM *r = NULL, *sv = NULL;
    if (!s)
        goto cleanup;
    ECDSA_SIG_get0(s, &r, &sv);
    if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(sv, sig + 32, 32) == 32)
        rc = TC_OK;
cleanup:
    ECDSA_SIG_free(s);
    EVP_MD_CTX_free(md);
    return rc;
}

int webpush_vapid_header(const webpush_key_t *vapid, const char *endpoint, const char *subject,
                         int64_t now_s, int64_t ttl_s, char **out)
{
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
    char origin[WEBPUSH_ENDPOINT_MAX + 1];
    char *h64 = NULL, *c64 = NULL, *s64 = NULL, *claims = NULL, *input = NULL, *k64 = NULL;
    uint8_t sig[64];
    cJSON *c = NULL;
    *out = NULL;
    if (ttl_s <= 0 || ttl_s > WEBPUSH_VAPID_TTL_MAX_S)
        return TC_EINVAL;
    int rc = webpush_origin(endpoint, origin, sizeof origin);
    if (rc != TC_OK)
        return rc;
    rc = TC_ENOMEM;
    c = cJSON_CreateObject();
    if (!c || !cJSON_AddStringToObject(c, "aud", origin) ||
        !cJSON_AddNumberToObject(c, "exp", (double)(now_s + ttl_s)) ||
        !cJSON_AddStringToObject(c, "sub", subject) || !(claims = cJSON_PrintUnformatted(c)))
        goto cleanup;
    if ((rc = b64url_text(header, strlen(header), &h64)) != TC_OK ||
        (rc = b64url_text(claims, strlen(claims), &c64)) != TC_OK)
        goto cleanup;
    rc = TC_ENOMEM;
    size_t ilen = strlen(h64) + 1 + strlen(c64) + 1;
    if (!(input = malloc(ilen)))
        goto cleanup;
    snprintf(input, ilen, "%s.%s", h64, c64);
    if ((rc = es256_sign(vapid->pkey, input, sig)) != TC_OK ||
        (rc = b64url_text(sig, sizeof sig, &s64)) != TC_OK ||
        (rc = b64url_text(vapid->pub, WEBPUSH_PUB_LEN, &k64)) != TC_OK)
        goto cleanup;
    size_t olen =
        strlen("vapid t=") + strlen(input) + 1 + strlen(s64) + strlen(", k=") + strlen(k64) + 1;
    rc = TC_ENOMEM;
    if (!(*out = malloc(olen)))
        goto cleanup;
    snprintf(*out, olen, "vapid t=%s.%s, k=%s", input, s64, k64);
    rc = TC_OK;
cleanup:
    cJSON_Delete(c);
    free(claims);
    free(h64);
    free(c64);
    free(s64);
    free(k64);
    free(input);
    return rc;
}

/* A base64url member of keys decoding to exactly n bytes, else an error on keys.<name>. */
static bool key_bytes(tc_jv_t *jv, const cJSON *keys, const char *name, uint8_t *out, size_t n)
{
    char field[32];
    snprintf(field, sizeof field, "keys.%s", name);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(keys, name);
    uint8_t buf[WEBPUSH_PUB_LEN + 8];
    if (!cJSON_IsString(v)) {
        tc_jv_error(jv, field, "required, a base64url string");
        return false;
    }
    /* browsers give unpadded base64url; the decoder takes padded too */
    ssize_t got = tc_b64url_decode(v->valuestring, strlen(v->valuestring), buf, sizeof buf);
    if (got != (ssize_t)n) {
        tc_jv_error(jv, field, "must be %zu bytes in base64url", n);
        return false;
    }
    memcpy(out, buf, n);
    return true;
}

void webpush_sub_validate(tc_jv_t *jv, const cJSON *body, bool allow_http, webpush_sub_t *out)
{
    static const char *const top[] = {"endpoint", "keys", "expirationTime", NULL};
    static const char *const key_names[] = {"p256dh", "auth", NULL};
    memset(out, 0, sizeof *out);
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, top);
    const char *ep = tc_jv_str(jv, body, "endpoint", TC_JV_REQUIRED, 10, WEBPUSH_ENDPOINT_MAX);
    char origin[WEBPUSH_ENDPOINT_MAX + 1];
    if (ep) {
        bool https = strncmp(ep, "https://", 8) == 0;
        if (!https && !(allow_http && strncmp(ep, "http://", 7) == 0))
            tc_jv_error(jv, "endpoint",
                        allow_http ? "must be an http or https URL" : "must be an https URL");
        else if (webpush_origin(ep, origin, sizeof origin) != TC_OK || strchr(ep, ' '))
            tc_jv_error(jv, "endpoint", "must be an absolute URL with a host");
        else
            out->endpoint = ep;
    }
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(body, "expirationTime");
    if (exp && !cJSON_IsNull(exp) && !cJSON_IsNumber(exp))
        tc_jv_error(jv, "expirationTime", "must be a number (ms since the epoch) or null");
    const cJSON *keys = tc_jv_obj(jv, body, "keys", TC_JV_REQUIRED);
    if (!keys)
        return;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        bool known = false;
        for (int i = 0; key_names[i]; i++)
            known |= strcmp(k->string, key_names[i]) == 0;
        if (!known)
            tc_jv_error(jv, "keys", "unknown key %s (p256dh, auth)", k->string);
    }
    if (key_bytes(jv, keys, "p256dh", out->p256dh, WEBPUSH_PUB_LEN) &&
        !webpush_point_valid(out->p256dh))
        tc_jv_error(jv, "keys.p256dh", "must be an uncompressed point on P-256");
    key_bytes(jv, keys, "auth", out->auth, WEBPUSH_AUTH_LEN);
}

webpush_verdict_t webpush_verdict(bool answered, long status)
{
    if (!answered)
        return WEBPUSH_TRANSIENT;
    if (status == 200 || status == 201 || status == 202)
        return WEBPUSH_ACCEPTED;
    if (status == 404 || status == 410)
        return WEBPUSH_GONE;
    if (status == 429 || status >= 500)
        return WEBPUSH_TRANSIENT;
    return WEBPUSH_REJECTED;
}

void webpush_topic(const char *delivery_id, char out[33])
{
    uint8_t d[TC_SHA256_LEN];
    tc_sha256(delivery_id, strlen(delivery_id), d);
    if (tc_b64url_encode(d, 24, out, 33) != 32)
        out[0] = '\0';
}
