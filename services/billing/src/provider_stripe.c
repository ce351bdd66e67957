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

/* customer and method set: an off-session charge confirmed at once; else an intent the
 * browser confirms. */
static int form(const char *invoice_id, const char *org_id, int64_t amount, const char *currency,
                const char *customer, const char *method, tc_buf_t *b)
{
    char amt[24], cur[4] = {0};
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    for (int i = 0; i < 3 && currency[i]; i++) /* Stripe writes currencies in lower case */
        cur[i] = (char)tolower((unsigned char)currency[i]);
    form_field(b, "amount", amt);
    form_field(b, "currency", cur);
    if (customer && method) {
        form_field(b, "customer", customer);
        form_field(b, "payment_method", method);
        form_field(b, "off_session", "true");
        form_field(b, "confirm", "true");
    } else {
        form_field(b, "automatic_payment_methods[enabled]", "true");
    }
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

/* The intent an answer describes: id and status required, the client secret when given. */
static bool intent_of(const cJSON *j, bill_intent_t *out)
{
    memset(out, 0, sizeof *out);
    const char *secret = tc_json_get_str(j, "client_secret");
    return copy_str(out->id, sizeof out->id, tc_json_get_str(j, "id")) &&
           copy_str(out->status, sizeof out->status, tc_json_get_str(j, "status")) &&
           (!secret || copy_str(out->secret, sizeof out->secret, secret));
}

/* One authenticated request to the provider; *j the parsed answer (NULL when none). */
static int call(billing_app_t *app, const char *method, const char *path, const tc_buf_t *form_body,
                const char *idem_key, long *status, cJSON **j)
{
    tc_buf_t url = TC_BUF_INIT, auth = TC_BUF_INIT;
    tc_httpc_resp_t resp = {0};
    *j = NULL;
    *status = 0;
    tc_buf_printf(&url, "%s%s", app->stripe_url, path);
    tc_buf_printf(&auth, "Bearer %s", app->stripe_key);
    int rc = url.oom || auth.oom ? TC_ENOMEM : TC_OK;
    if (rc == TC_OK) {
        tc_httpc_req_t req = {.method = method,
                              .url = url.data,
                              .body = form_body ? form_body->data : NULL,
                              .body_len = form_body ? form_body->len : 0,
                              .content_type =
                                  form_body ? "application/x-www-form-urlencoded" : NULL,
                              .authorization = auth.data,
                              .idempotency_key = idem_key,
                              .timeout_ms = PROVIDER_TIMEOUT_MS};
        rc = tc_httpc_do(app->httpc, &req, &resp) == TC_OK ? TC_OK : TC_EUNAVAIL;
    }
    if (rc == TC_OK) {
        *status = resp.status;
        *j = resp.body ? cJSON_Parse(resp.body) : NULL;
    }
    tc_httpc_resp_free(&resp);
    tc_buf_free(&url);
    tc_buf_free(&auth);
    return rc;
}

static void unusable(long status)
{
    char st[24];
    tc_log_kv(TC_LOG_WARN, "payment provider: unusable answer", "status", tc_log_int(st, status),
              NULL);
}

/* POST /v1/payment_intents and what its answer means (see the two callers). */
static int intent_post(billing_app_t *app, const char *invoice_id, const char *org_id,
                       int64_t amount_minor, const char *currency, const char *idem_key,
                       const char *customer, const char *method, bill_intent_t *out, char *err,
                       size_t errn)
{
    tc_buf_t body = TC_BUF_INIT;
    cJSON *j = NULL;
    long status = 0;
    memset(out, 0, sizeof *out);
    snprintf(err, errn, "the payment provider failed");
    int rc = form(invoice_id, org_id, amount_minor, currency, customer, method, &body);
    if (rc == TC_OK)
        rc = call(app, "POST", "/v1/payment_intents", &body, idem_key, &status, &j);
    if (rc != TC_OK)
        goto cleanup;
    const cJSON *error = cJSON_GetObjectItem(j, "error");
    if (status >= 400 && status < 500) {
        const char *msg = tc_json_get_str(error, "message");
        const char *type = tc_json_get_str(error, "type");
        /* a declined card: Stripe names the intent it left requiring another method, and its
         * message is the payment's own (as a payment_failed webhook's is) */
        bool declined = customer && type && strcmp(type, "card_error") == 0;
        snprintf(err, errn, "%s%.200s",
                 declined ? "" : "the payment provider refused: ", msg ? msg : "no reason given");
        if (declined && !intent_of(cJSON_GetObjectItem(error, "payment_intent"), out))
            memset(out, 0, sizeof *out);
        rc = declined ? TC_EDENIED : TC_EINVAL;
    } else if (status != 200 || !intent_of(j, out) || (!customer && !out->secret[0])) {
        unusable(status);
        rc = TC_EUNAVAIL;
    }
cleanup:
    cJSON_Delete(j);
    tc_buf_free(&body);
    return rc;
}

int stripe_intent_create(billing_app_t *app, const char *invoice_id, const char *org_id,
                         int64_t amount_minor, const char *currency, const char *idem_key,
                         bill_intent_t *out, char *err, size_t errn)
{
    return intent_post(app, invoice_id, org_id, amount_minor, currency, idem_key, NULL, NULL, out,
                       err, errn);
}

int stripe_charge(billing_app_t *app, const char *invoice_id, const char *org_id,
                  int64_t amount_minor, const char *currency, const char *idem_key,
                  const char *customer, const char *method_id, bill_intent_t *out, char *err,
                  size_t errn)
{
    return intent_post(app, invoice_id, org_id, amount_minor, currency, idem_key, customer,
                       method_id, out, err, errn);
}

int stripe_method_get(billing_app_t *app, const char *method_id, bill_card_t *out, char *err,
                      size_t errn)
{
    tc_buf_t path = TC_BUF_INIT;
    cJSON *j = NULL;
    long status = 0;
    memset(out, 0, sizeof *out);
    snprintf(err, errn, "the payment provider failed");
    tc_buf_puts(&path, "/v1/payment_methods/");
    tc_buf_url_encode(&path, method_id);
    int rc = path.oom ? TC_ENOMEM : call(app, "GET", path.data, NULL, NULL, &status, &j);
    const cJSON *card = cJSON_GetObjectItem(j, "card");
    if (rc != TC_OK)
        goto cleanup;
    if (status == 404 || (status == 200 && !cJSON_IsObject(card))) {
        snprintf(err, errn, "the payment provider has no such card");
        rc = TC_ENOTFOUND;
    } else if (status != 200 ||
               !copy_str(out->brand, sizeof out->brand, tc_json_get_str(card, "brand")) ||
               !copy_str(out->last4, sizeof out->last4, tc_json_get_str(card, "last4"))) {
        unusable(status);
        rc = TC_EUNAVAIL;
    } else {
        const char *customer = tc_json_get_str(j, "customer"); /* null: attached to nobody */
        if (customer && strlen(customer) < sizeof out->customer)
            memcpy(out->customer, customer, strlen(customer) + 1);
        const cJSON *m = cJSON_GetObjectItem(card, "exp_month");
        const cJSON *y = cJSON_GetObjectItem(card, "exp_year");
        out->exp_month = cJSON_IsNumber(m) ? m->valueint : 0;
        out->exp_year = cJSON_IsNumber(y) ? y->valueint : 0;
    }
cleanup:
    cJSON_Delete(j);
    tc_buf_free(&path);
    return rc;
}
