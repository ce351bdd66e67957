/* webpush_model: RFC 8291's worked example byte for byte, VAPID tokens checked with OpenSSL's
 * verifier, subscriptions and push-service answers. */
#include <criterion/criterion.h>

#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "webpush_model.h"

#include <openssl/bn.h>
#include <openssl/ec.h> /* ECDSA_SIG */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8291, Appendix A */
static const char *const A_PLAIN = "When I grow up, I want to be a watermelon";
static const char *const A_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
static const char *const A_AS_PUBLIC =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmY"
    "WAmS6TlzAC8wEqKK6PBru3jl7A8";
static const char *const A_UA_PUBLIC =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4"
    "bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
static const char *const A_AUTH = "BTBZMqHH6r4Tts7J_aSIgg";
static const char *const A_SALT = "DGv6ra1nlYgDCS1FRnbzlw";
static const char *const A_BODY =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmY"
    "WAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSg"
    "Sxsj_Qulcy4a-fN";

static size_t b64(const char *s, uint8_t *out, size_t cap)
{
    ssize_t n = tc_b64url_decode(s, strlen(s), out, cap);
    cr_assert(n > 0, "decodes: %s", s);
    return (size_t)n;
}

static webpush_key_t *key_of(const char *priv_b64)
{
    uint8_t d[WEBPUSH_PRIV_LEN];
    cr_assert_eq(b64(priv_b64, d, sizeof d), WEBPUSH_PRIV_LEN);
    webpush_key_t *k = NULL;
    cr_assert_eq(webpush_key_from_private(d, &k), TC_OK);
    return k;
}

Test(webpush, encrypts_rfc_8291_appendix_a_byte_for_byte)
{
    webpush_key_t *as = key_of(A_AS_PRIVATE);
    uint8_t pub[WEBPUSH_PUB_LEN], ua[WEBPUSH_PUB_LEN], auth[WEBPUSH_AUTH_LEN];
    uint8_t salt[WEBPUSH_SALT_LEN], want[512];
    b64(A_AS_PUBLIC, pub, sizeof pub);
    cr_assert_arr_eq(webpush_key_public(as), pub, WEBPUSH_PUB_LEN, "public key from the scalar");
    b64(A_UA_PUBLIC, ua, sizeof ua);
    b64(A_AUTH, auth, sizeof auth);
    b64(A_SALT, salt, sizeof salt);
    size_t wlen = b64(A_BODY, want, sizeof want);
    uint8_t *body = NULL;
    size_t len = 0;
    cr_assert_eq(webpush_encrypt_with(as, salt, ua, auth, A_PLAIN, strlen(A_PLAIN), &body, &len),
                 TC_OK);
    cr_assert_eq(len, wlen);
    cr_assert_arr_eq(body, want, wlen);
    free(body);
    webpush_key_free(as);
}

Test(webpush, each_message_has_its_own_key_and_salt)
{
    uint8_t ua[WEBPUSH_PUB_LEN], auth[WEBPUSH_AUTH_LEN];
    b64(A_UA_PUBLIC, ua, sizeof ua);
    b64(A_AUTH, auth, sizeof auth);
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    cr_assert_eq(webpush_encrypt(ua, auth, "hi", 2, &a, &alen), TC_OK);
    cr_assert_eq(webpush_encrypt(ua, auth, "hi", 2, &b, &blen), TC_OK);
    cr_assert_eq(alen, WEBPUSH_HEADER_LEN + 2 + 1 + 16);
    cr_assert_eq(a[20], WEBPUSH_PUB_LEN, "keyid length");
    cr_assert_eq(a[18], 0x10, "rs 4096");
    cr_assert(memcmp(a, b, WEBPUSH_SALT_LEN) != 0, "salt");
    cr_assert(memcmp(a + 21, b + 21, WEBPUSH_PUB_LEN) != 0, "sender key");
    free(a);
    free(b);
}

Test(webpush, refuses_what_cannot_be_sent)
{
    webpush_key_t *as = key_of(A_AS_PRIVATE);
    uint8_t ua[WEBPUSH_PUB_LEN], auth[WEBPUSH_AUTH_LEN], salt[WEBPUSH_SALT_LEN] = {0};
    b64(A_UA_PUBLIC, ua, sizeof ua);
    b64(A_AUTH, auth, sizeof auth);
    static char big[WEBPUSH_PLAINTEXT_MAX + 1];
    memset(big, 'x', sizeof big);
    uint8_t *out = NULL;
    size_t len = 0;
    cr_assert_eq(webpush_encrypt_with(as, salt, ua, auth, big, sizeof big, &out, &len), TC_EINVAL);
    cr_assert_eq(webpush_encrypt_with(as, salt, ua, auth, big, WEBPUSH_PLAINTEXT_MAX, &out, &len),
                 TC_OK);
    cr_assert_eq(len, 4096, "the largest message is the 4096 bytes every push service takes");
    free(out);
    ua[64] ^= 1; /* off the curve */
    cr_assert_eq(webpush_encrypt_with(as, salt, ua, auth, "x", 1, &out, &len), TC_EINVAL);
    cr_assert_null(out);
    webpush_key_free(as);

    uint8_t zero[WEBPUSH_PRIV_LEN] = {0}, ff[WEBPUSH_PRIV_LEN];
    memset(ff, 0xff, sizeof ff);
    webpush_key_t *k = NULL;
    cr_assert_eq(webpush_key_from_private(zero, &k), TC_EINVAL);
    cr_assert_eq(webpush_key_from_private(ff, &k), TC_EINVAL, "past the group order");
    cr_assert_null(k);
}

/* The token's parts, checked the way a push service does: an ES256 signature over
 * header.claims by the key in k=. */
static cJSON *verified_claims(const char *header_value, const uint8_t pub[WEBPUSH_PUB_LEN])
{
    cr_assert(strncmp(header_value, "vapid t=", 8) == 0, "%s", header_value);
    const char *t = header_value + 8;
    const char *comma = strstr(t, ", k=");
    cr_assert_not_null(comma);
    uint8_t k[WEBPUSH_PUB_LEN];
    cr_assert_eq(tc_b64url_decode(comma + 4, strlen(comma + 4), k, sizeof k), WEBPUSH_PUB_LEN);
    cr_assert_arr_eq(k, pub, WEBPUSH_PUB_LEN);
    const char *dot1 = strchr(t, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    cr_assert(dot1 && dot2 && dot2 < comma);
    char hdr[128] = "", claims[512] = "";
    uint8_t sig[64];
    cr_assert_gt(tc_b64url_decode(t, (size_t)(dot1 - t), hdr, sizeof hdr - 1), 0);
    cr_assert_str_eq(hdr, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}");
    cr_assert_gt(tc_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims, sizeof claims - 1),
                 0);
    cr_assert_eq(tc_b64url_decode(dot2 + 1, (size_t)(comma - dot2 - 1), sig, sizeof sig), 64);

    /* r || s back to DER, and OpenSSL's verifier with the public key alone */
    ECDSA_SIG *es = ECDSA_SIG_new();
    cr_assert(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)));
    unsigned char *der = NULL;
    int derlen = i2d_ECDSA_SIG(es, &der);
    /* SubjectPublicKeyInfo (id-ecPublicKey, prime256v1) of the point, for an EVP key */
    static const unsigned char spki_prefix[] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    unsigned char spki[sizeof spki_prefix + WEBPUSH_PUB_LEN];
    memcpy(spki, spki_prefix, sizeof spki_prefix);
    memcpy(spki + sizeof spki_prefix, pub, WEBPUSH_PUB_LEN);
    const unsigned char *sp = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &sp, (long)sizeof spki);
    cr_assert_not_null(pk);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    cr_assert_eq(
        EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)t, (size_t)(dot2 - t)), 1,
        "the signature verifies");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    cJSON *c = cJSON_Parse(claims);
    cr_assert_not_null(c, "%s", claims);
    return c;
}

Test(webpush, vapid_token_names_the_origin_and_expires_within_a_day)
{
    webpush_key_t *v = key_of(A_AS_PRIVATE);
    char *h = NULL;
    cr_assert_eq(webpush_vapid_header(v, "https://Push.Example.NET:8443/wpush/v2/abc?x=1",
                                      "mailto:ops@example.com", 1700000000, 43200, &h),
                 TC_OK);
    cJSON *c = verified_claims(h, webpush_key_public(v));
    cr_assert_str_eq(cJSON_GetObjectItem(c, "aud")->valuestring, "https://push.example.net:8443");
    cr_assert_eq(cJSON_GetObjectItem(c, "exp")->valuedouble, 1700043200.0);
    cr_assert_str_eq(cJSON_GetObjectItem(c, "sub")->valuestring, "mailto:ops@example.com");
    cJSON_Delete(c);
    free(h);
    cr_assert_eq(webpush_vapid_header(v, "https://p.example/x", "mailto:a@b", 0, 86401, &h),
                 TC_EINVAL, "RFC 8292: at most 24 hours");
    cr_assert_eq(webpush_vapid_header(v, "ftp://p.example/x", "mailto:a@b", 0, 60, &h), TC_EINVAL);
    webpush_key_free(v);
}

Test(webpush, origins)
{
    char o[64];
    cr_assert_eq(webpush_origin("https://fcm.googleapis.com/fcm/send/x", o, sizeof o), TC_OK);
    cr_assert_str_eq(o, "https://fcm.googleapis.com");
    cr_assert_eq(webpush_origin("http://127.0.0.1:8090", o, sizeof o), TC_OK);
    cr_assert_str_eq(o, "http://127.0.0.1:8090");
    cr_assert_eq(webpush_origin("https://user:pw@evil.example/x", o, sizeof o), TC_EINVAL);
    cr_assert_eq(webpush_origin("https:///x", o, sizeof o), TC_EINVAL);
    cr_assert_eq(webpush_origin("mailto:x@y", o, sizeof o), TC_EINVAL);
}

static cJSON *sub_json(const char *endpoint, const char *p256dh, const char *auth)
{
    cJSON *b = cJSON_CreateObject(), *k = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "endpoint", endpoint);
    if (p256dh)
        cJSON_AddStringToObject(k, "p256dh", p256dh);
    if (auth)
        cJSON_AddStringToObject(k, "auth", auth);
    cJSON_AddItemToObject(b, "keys", k);
    return b;
}

/* The errors (owned); s borrows from b, which the caller keeps until it is done with s. */
static cJSON *sub_errors(cJSON *b, bool allow_http, webpush_sub_t *s)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    webpush_sub_validate(&jv, b, allow_http, s);
    cJSON *e = tc_jv_take_errors(&jv);
    tc_jv_free(&jv);
    return e;
}

static bool has_error(const cJSON *errors, const char *field)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors)
    {
        const cJSON *f = cJSON_GetObjectItem(e, "field");
        if (cJSON_IsString(f) && strcmp(f->valuestring, field) == 0)
            return true;
    }
    return false;
}

Test(webpush, subscriptions_are_checked_as_browsers_give_them)
{
    webpush_sub_t s;
    cJSON *b = sub_json("https://push.example/abc", A_UA_PUBLIC, A_AUTH);
    cJSON *e = sub_errors(b, false, &s);
    cr_assert_eq(cJSON_GetArraySize(e), 0, "%s", cJSON_PrintUnformatted(e));
    cr_assert_str_eq(s.endpoint, "https://push.example/abc");
    cr_assert_eq(s.p256dh[0], 0x04);
    cJSON_Delete(e);
    cJSON_Delete(b);

    b = sub_json("http://127.0.0.1:8090/notify/x", A_UA_PUBLIC, A_AUTH);
    e = sub_errors(b, false, &s);
    cr_assert(has_error(e, "endpoint"), "http only where allowed");
    cJSON_Delete(e);
    e = sub_errors(b, true, &s);
    cr_assert_eq(cJSON_GetArraySize(e), 0);
    cJSON_Delete(e);
    cJSON_Delete(b);

    char off_curve[100];
    snprintf(off_curve, sizeof off_curve, "%s", A_UA_PUBLIC);
    off_curve[60] = off_curve[60] == 'A' ? 'B' : 'A';
    b = sub_json("https://push.example/abc", off_curve, "AAAA");
    e = sub_errors(b, false, &s);
    cr_assert(has_error(e, "keys.p256dh"));
    cr_assert(has_error(e, "keys.auth"), "3 bytes, not 16");
    cJSON_Delete(e);
    cJSON_Delete(b);

    b = sub_json("https://u:p@push.example/abc", NULL, A_AUTH);
    e = sub_errors(b, false, &s);
    cr_assert(has_error(e, "endpoint"));
    cr_assert(has_error(e, "keys.p256dh"), "required");
    cJSON_Delete(e);
    cJSON_Delete(b);
}

Test(webpush, answers_of_a_push_service)
{
    cr_assert_eq(webpush_verdict(true, 201), WEBPUSH_ACCEPTED);
    cr_assert_eq(webpush_verdict(true, 410), WEBPUSH_GONE);
    cr_assert_eq(webpush_verdict(true, 404), WEBPUSH_GONE);
    cr_assert_eq(webpush_verdict(true, 429), WEBPUSH_TRANSIENT);
    cr_assert_eq(webpush_verdict(true, 503), WEBPUSH_TRANSIENT);
    cr_assert_eq(webpush_verdict(false, 0), WEBPUSH_TRANSIENT);
    cr_assert_eq(webpush_verdict(true, 400), WEBPUSH_REJECTED);
    cr_assert_eq(webpush_verdict(true, 403), WEBPUSH_REJECTED);
    cr_assert_eq(webpush_verdict(true, 413), WEBPUSH_REJECTED);
    cr_assert_eq(webpush_verdict(true, 301), WEBPUSH_REJECTED, "redirects are not followed");
}

Test(webpush, topics_are_short_stable_and_distinct)
{
    char a[33], b[33], c[33];
    webpush_topic("dlv_01hzzzzzzzzzzzzzzzzzzzzzzz", a);
    webpush_topic("dlv_01hzzzzzzzzzzzzzzzzzzzzzzz", b);
    webpush_topic("dlv_01hzzzzzzzzzzzzzzzzzzzzzzy", c);
    cr_assert_eq(strlen(a), 32);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
    cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 32);
}
