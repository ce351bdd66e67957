/* The provider's payment intents, Stripe's shape (see provider_stripe.h). */
#include "provider_stripe.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_httpc.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PROVIDER_TIMEOUT_MS 10000

static void form_field(tc_buf_t *b, const char *name, const char *value)
{
    if (b->len)
        tc_buf_putc(b, '&');
    tc_buf_url_encode(b, name);
    tc_buf_putc(b, '=');
    tc_buf_url_encode(b, value);
}

static int form(const char *invoice_id, const char *org_id, int64_t amount, const char *currency,
                tc_buf_t *b)
{
    char amt[24], cur[4] = {0};
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    for (int i = 0; i < 3 && currency[i]; i++) /* Stripe writes currencies in lower case */
        cur[i] = (char)tolower((unsigned char)currency[i]);
    form_field(b, "amount", amt);
    form_field(b, "currency", cur);
    form_field(b, "automatic_payment_methods[enabled]", "true");
    form_field(b, "description", invoice_id);
    form_field(b, "metadata[invoice_id]", invoice_id);
    form_field(b, "metadata[org_id]", org_id);
    return b->oom ? TC_ENOMEM : TC_OK;
}

static bool copy_str(char *dst, size_t n, const char *src)
{
    if (!src || !*src || strlen(src) >= n)
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

int stripe_intent_create(billing_app_t *app, const char *invoice_id, const char *org_id,
                         int64_t amount_minor, const char *currency, const char *idem_key,
                         bill_intent_t *out, char *err, size_t errn)
{
    tc_buf_t body = TC_BUF_INIT, url = TC_BUF_INIT, auth = TC_BUF_INIT;
    tc_httpc_resp_t resp = {0};
    cJSON *j = NULL;
    snprintf(err, errn, "the payment provider failed");
    int rc = form(invoice_id, org_id, amount_minor, currency, &body);
    tc_buf_printf(&url, "%s/v1/payment_intents", app->stripe_url);
    tc_buf_printf(&auth, "Bearer %s", app->stripe_key);
    if (rc != TC_OK || url.oom || auth.oom) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    tc_httpc_req_t req = {.method = "POST",
                          .url = url.data,
                          .body = body.data,
                          .body_len = body.len,
                          .content_type = "application/x-www-form-urlencoded",
                          .authorization = auth.data,
                          .idempotency_key = idem_key,
                          .timeout_ms = PROVIDER_TIMEOUT_MS};
    rc = tc_httpc_do(app->httpc, &req, &resp);
    if (rc != TC_OK) {
        rc = TC_EUNAVAIL;
        goto cleanup;
    }
    j = resp.body ? cJSON_Parse(resp.body) : NULL;
    if (resp.status >= 400 && resp.status < 500) {
        const char *msg = tc_json_get_str(cJSON_GetObjectItem(j, "error"), "message");
        snprintf(err, errn, "the payment provider refused: %.200s", msg ? msg : "no reason given");
        rc = TC_EINVAL;
    } else if (resp.status != 200 || !copy_str(out->id, sizeof out->id, tc_json_get_str(j, "id")) ||
               !copy_str(out->status, sizeof out->status, tc_json_get_str(j, "status")) ||
               !copy_str(out->secret, sizeof out->secret, tc_json_get_str(j, "client_secret"))) {
        char st[24];
        tc_log_kv(TC_LOG_WARN, "payment provider: unusable answer", "status",
                  tc_log_int(st, resp.status), NULL);
        rc = TC_EUNAVAIL;
    }
cleanup:
    cJSON_Delete(j);
    tc_httpc_resp_free(&resp);
    tc_buf_free(&body);
    tc_buf_free(&url);
    tc_buf_free(&auth);
    return rc;
}
