/* Payments' pure rules: webhook signatures and payment states (see payments_model.h). */
#include "payments_model.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One "k=v" element of the header: [*k, *k + *kn) and [*v, *v + *vn); advances *p past it. */
static bool next_pair(const char **p, const char **k, size_t *kn, const char **v, size_t *vn)
{
    const char *s = *p;
    while (*s == ' ' || *s == ',')
        s++;
    if (!*s)
        return false;
    const char *end = s + strcspn(s, ",");
    const char *eq = memchr(s, '=', (size_t)(end - s));
    *k = s;
    *kn = eq ? (size_t)(eq - s) : (size_t)(end - s);
    *v = eq ? eq + 1 : end;
    *vn = eq ? (size_t)(end - eq - 1) : 0;
    *p = end;
    return true;
}

static bool parse_ts(const char *v, size_t n, int64_t *t)
{
    if (n == 0 || n > 12)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (v[i] - '0');
    }
    *t = x;
    return true;
}

int bill_webhook_verify(const char *header, const char *body, size_t len, const char *secret,
                        int64_t now_s, int64_t tolerance_s, const char **why)
{
    const char *v1[BILL_SIG_MAX_V1], *k, *v, *p = header;
    size_t v1n[BILL_SIG_MAX_V1], kn, vn;
    int nv1 = 0;
    int64_t t = -1;
    *why = "the Stripe-Signature header is missing or malformed";
    if (!header || !secret || !*secret)
        return TC_EINVAL;
    while (next_pair(&p, &k, &kn, &v, &vn)) {
        if (kn == 1 && k[0] == 't' && !parse_ts(v, vn, &t))
            return TC_EINVAL;
        if (kn == 2 && memcmp(k, "v1", 2) == 0 && vn == 2 * TC_SHA256_LEN &&
            nv1 < BILL_SIG_MAX_V1) {
            v1[nv1] = v;
            v1n[nv1++] = vn;
        }
    }
    if (t < 0 || nv1 == 0)
        return TC_EINVAL;
    if (t < now_s - tolerance_s || t > now_s + tolerance_s) {
        *why = "the signature's timestamp is outside the tolerance";
        return TC_EINVAL;
    }
    /* signed payload: "<t>.<body>" */
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%lld.", (long long)t);
    char *signed_payload = malloc((size_t)tn + len + 1);
    if (!signed_payload)
        return TC_ENOMEM;
    memcpy(signed_payload, ts, (size_t)tn);
    memcpy(signed_payload + tn, body, len);
    uint8_t want[TC_SHA256_LEN], got[TC_SHA256_LEN];
    int rc = tc_hmac_sha256(secret, strlen(secret), signed_payload, (size_t)tn + len, want);
    free(signed_payload);
    if (rc != TC_OK)
        return rc;
    bool match = false;
    for (int i = 0; i < nv1; i++) /* every one compared: the time taken says nothing */
        if (tc_hex_decode(v1[i], v1n[i], got, sizeof got) == TC_SHA256_LEN &&
            tc_ct_equal(got, want, sizeof want))
            match = true;
    *why = match ? NULL : "no signature matches the body";
    return match ? TC_OK : TC_EINVAL;
}

const char *bill_payment_status_after(const char *type)
{
    static const char *const map[][2] = {
        {"payment_intent.succeeded", "succeeded"},
        {"payment_intent.payment_failed", "failed"},
        {"payment_intent.processing", "processing"},
        {"payment_intent.canceled", "canceled"},
        {"payment_intent.requires_action", "requires_action"},
    };
    for (size_t i = 0; type && i < TC_ARRAY_LEN(map); i++)
        if (strcmp(type, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

bool bill_payment_open(const char *status)
{
    return status && strcmp(status, "failed") != 0 && strcmp(status, "canceled") != 0;
}
