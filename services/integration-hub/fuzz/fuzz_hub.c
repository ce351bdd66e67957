/* libFuzzer driver: what senders and customers control in the hub's model. Input: a selector
 * byte, then the data. Invariants: nothing crashes or leaks; inbound verification answers
 * only TC_OK, TC_EDENIED or TC_EINVAL, and accepts nothing unsigned; what the hub signs, it
 * verifies, and a body changed by one byte no longer verifies; the UTF-8 prefix is itself
 * all text; validation of any JSON body never crashes and never accepts a body it cannot
 * read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub_model.h"
#include "hub_text.h"
#include "tc/tc_core.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static char *dup0(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Fuzzed headers and body against each verification kind: no unsigned request passes. */
static void verify_any(const char *text, size_t n)
{
    const char *parts[4] = {"", "", "", ""};
    char *copy = dup0((const uint8_t *)text, n), *save = NULL;
    if (!copy)
        return;
    int k = 0;
    for (char *t = strtok_r(copy, "\n", &save); t && k < 4; t = strtok_r(NULL, "\n", &save))
        parts[k++] = t;
    hub_sig_headers_t h = {.webhook_id = parts[0],
                           .webhook_timestamp = parts[1],
                           .webhook_signature = parts[2],
                           .github_signature = parts[2],
                           .github_delivery = parts[0],
                           .stripe_signature = parts[2]};
    for (int kind = HUB_VERIFY_STANDARD; kind <= HUB_VERIFY_STRIPE; kind++) {
        const char *why = NULL;
        int rc = hub_verify((hub_verify_t)kind,
                            kind == HUB_VERIFY_STANDARD ? SECRET : "a-shared-secret-16", &h,
                            parts[3], strlen(parts[3]), 1700000000, 300, &why);
        if (rc != TC_EDENIED && rc != TC_EINVAL && rc != TC_OK)
            abort();
        if (rc == TC_OK) /* would need a forged HMAC-SHA256 */
            abort();
    }
    free(copy);
}

/* What the hub signs verifies; one changed byte does not. */
static void sign_roundtrip(const uint8_t *body, size_t n)
{
    char sig[2 * HUB_SIG_MAX];
    if (hub_signature_header(SECRET, NULL, "msg_fuzz", 1700000000, (const char *)body, n, sig) !=
        TC_OK)
        abort();
    hub_sig_headers_t h = {
        .webhook_id = "msg_fuzz", .webhook_timestamp = "1700000000", .webhook_signature = sig};
    const char *why = NULL;
    if (hub_verify(HUB_VERIFY_STANDARD, SECRET, &h, (const char *)body, n, 1700000000, 300, &why) !=
        TC_OK)
        abort();
    if (n == 0)
        return;
    uint8_t *changed = malloc(n);
    if (!changed)
        return;
    memcpy(changed, body, n);
    changed[n / 2] ^= 0x01;
    if (hub_verify(HUB_VERIFY_STANDARD, SECRET, &h, (const char *)changed, n, 1700000000, 300,
                   &why) != TC_EDENIED)
        abort();
    free(changed);
}

static void text_prefix(const char *s, size_t n)
{
    size_t p = hub_utf8_prefix(s, n, n);
    if (p > n || hub_utf8_prefix(s, p, p) != p)
        abort();
}

static void validate_bodies(const char *s, size_t n)
{
    cJSON *body = cJSON_ParseWithLength(s, n);
    for (int create = 0; create < 2; create++) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        hub_endpoint_in_t ep;
        hub_endpoint_validate(&jv, body, create, false, &ep);
        if (!tc_jv_failed(&jv) && create && (!ep.url || !cJSON_IsArray(ep.event_types)))
            abort();
        tc_jv_free(&jv);
        tc_jv_init(&jv);
        hub_hook_in_t hk;
        hub_hook_validate(&jv, body, create, &hk);
        if (!tc_jv_failed(&jv) && create && !hk.name)
            abort();
        tc_jv_free(&jv);
    }
    if (cJSON_IsArray(body))
        hub_filters_match(body, "com.techcorp.user.created");
    cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0:
        verify_any(s, n);
        break;
    case 1:
        sign_roundtrip(data + 1, n);
        break;
    case 2:
        text_prefix(s, n);
        break;
    default:
        validate_bodies(s, n);
        break;
    }
    return 0;
}
