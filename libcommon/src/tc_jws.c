/* Compact JWS: decoding a segment into JSON, reading claims, and RS256 signing (the issuer's
 * side and developer tools). */
#include "tc_auth_int.h"

/* ------------------------------------------------------------------------- JSON helpers */

/* The member `name` (case-sensitive) into *out (NULL when absent). TC_EINVAL when it occurs
 * twice: parsers disagree on which duplicate wins, so a token carrying two "alg" or two "exp"
 * members is refused. */
int auth_json_member(const cJSON *obj, const char *name, const cJSON **out)
{
    *out = NULL;
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (it->string && strcmp(it->string, name) == 0) {
            if (*out)
                return TC_EINVAL;
            *out = it;
        }
    }
    return TC_OK;
}

/* base64url segment → JSON object; NULL when not exactly one object. */
cJSON *auth_segment_json(const char *seg, size_t n)
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

/* Copies a string claim: TC_OK, TC_ENOTFOUND when absent, TC_EINVAL for a wrong type, an
 * empty value or one too long. */
int auth_copy_claim(const cJSON *v, char *dst, size_t cap)
{
    if (!v)
        return TC_ENOTFOUND;
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= cap)
        return TC_EINVAL;
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return TC_OK;
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
