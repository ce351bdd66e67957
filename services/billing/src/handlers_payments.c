/*
 * Paying invoices through the payment provider (Stripe's shape): the owner asks for a payment
 * of an invoice (a payment intent at the provider, whose client secret the browser confirms
 * with Stripe.js), and the provider's signed webhooks move the payment and pay the invoice.
 */
#include "handlers.h"
#include "invoicing.h"
#include "payments_model.h"
#include "provider_stripe.h"
#include "store.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PROVIDER "stripe"

/* The invoice as the payment needs it, locked; the caller's org only. TC_ECONFLICT (why) when
 * nothing is due on it. */
static int payable(tc_dbconn_t *tx, const char *id, const char *org, char *currency, int64_t *due,
                   const char **why)
{
    char owner[BILL_ID_MAX], status[16];
    bill_totals_t t;
    int64_t credited = 0;
    int rc = store_invoice_lock(tx, id, owner, sizeof owner, status, sizeof status, currency, &t,
                                &credited);
    if (rc == TC_OK && strcmp(owner, org) != 0)
        rc = TC_ENOTFOUND; /* another org's invoice is not there for this caller */
    if (rc != TC_OK)
        return rc;
    *due = t.total - credited;
    if (strcmp(status, "finalized") != 0 || *due <= 0) {
        *why = strcmp(status, "finalized") != 0 ? "only a finalized invoice can be paid"
                                                : "nothing is due on this invoice";
        return TC_ECONFLICT;
    }
    return TC_OK;
}

/* A new intent at the provider and its payment row. The provider's idempotency key names the
 * invoice and the attempt, so a retry after a crash gets the same intent back. */
static int new_payment(billing_app_t *app, tc_dbconn_t *tx, const char *invoice, const char *org,
                       int attempt, int64_t due, const char *currency, cJSON **out, char *err,
                       size_t errn)
{
    char id[BILL_ID_MAX], key[96];
    bill_intent_t in;
    snprintf(key, sizeof key, "%s-attempt-%d", invoice, attempt);
    int rc = tc_id_new("pay", id, sizeof id);
    if (rc == TC_OK)
        rc = stripe_intent_create(app, invoice, org, due, currency, key, &in, err, errn);
    if (rc != TC_OK)
        return rc;
    bill_payment_t p = {.id = id,
                        .invoice_id = invoice,
                        .org_id = org,
                        .provider = PROVIDER,
                        .provider_ref = in.id,
                        .currency = currency,
                        .status = in.status,
                        .client_secret = in.secret,
                        .attempt = attempt,
                        .amount_minor = due};
    return store_payment_add(tx, &p, out);
}

static void payment_failed(tc_resp_t *resp, int rc, const char *why, const char *err)
{
    if (rc == TC_ECONFLICT)
        tc_resp_error(resp, 409, "invoice_not_payable", "%s", why);
    else if (rc == TC_EINVAL)
        tc_resp_error(resp, 502, "payment_provider_refused", "%s", err);
    else if (rc == TC_EUNAVAIL)
        tc_resp_error(resp, 503, "payment_provider_unavailable", "%s", err);
    else
        tc_resp_fail_for(resp, rc, "invoice");
}

void h_invoice_payment_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    const char *id = tc_req_param_id(req, resp, "id", "inv", "invoice");
    if (!id)
        return;
    if (!app->stripe_key) {
        tc_resp_error(resp, 503, "payments_unavailable", "no payment provider is configured");
        return;
    }
    const char *org = tc_req_principal(req)->org;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    /* the invoice stays locked across the provider's call: two requests for one invoice
     * cannot both create an intent */
    char currency[4], err[256] = "";
    const char *why = NULL;
    int64_t due = 0;
    int attempts = 0;
    cJSON *body = NULL;
    int rc = payable(tx, id, org, currency, &due, &why);
    if (rc == TC_OK)
        rc = store_payment_open(tx, id, &body, &attempts);
    if (rc == TC_OK) { /* one that may still succeed: paying again could charge twice */
        tc_tx_respond(app->db, tx, &idem, resp, 200, body, NULL);
        return;
    }
    if (rc == TC_ENOTFOUND)
        rc = new_payment(app, tx, id, org, attempts + 1, due, currency, &body, err, sizeof err);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        payment_failed(resp, rc, why, err);
        return;
    }
    tc_tx_respond(app->db, tx, &idem, resp, 201, body, NULL);
}

void h_invoice_payments_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    const char *id = tc_req_param_id(req, resp, "id", "inv", "invoice");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *inv = NULL, *body = NULL;
    const char *org = tc_req_principal(req)->org;
    int rc = store_invoice_get(c, org, id, &inv); /* 404 for another org's */
    if (rc == TC_OK)
        rc = store_payments_list(c, org, id, &body);
    tc_db_release(app->db, c);
    cJSON_Delete(inv);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "invoice");
    else
        tc_resp_json(resp, 200, body);
}

/* ------------------------------------------------------------------ webhooks */

/* What a payment intent's event does: the payment moves; a success pays its invoice. An
 * event for an intent billing did not create, or a success on an invoice that is no longer
 * finalized (paid by transfer meanwhile, voided), is kept and logged for an operator. */
static int apply_event(tc_dbconn_t *tx, const char *type, const cJSON *object)
{
    const char *status = bill_payment_status_after(type);
    const char *ref = tc_json_get_str(object, "id");
    if (!status || !ref)
        return TC_OK;
    const char *error =
        tc_json_get_str(cJSON_GetObjectItem(object, "last_payment_error"), "message");
    char invoice[BILL_ID_MAX], before[32];
    int rc = store_payment_move(tx, PROVIDER, ref, status, error, invoice, sizeof invoice, before,
                                sizeof before);
    if (rc == TC_ENOTFOUND) {
        tc_log_kv(TC_LOG_WARN, "webhook for a payment intent billing does not know", "intent", ref,
                  "type", type, NULL);
        return TC_OK;
    }
    if (rc != TC_OK || strcmp(status, "succeeded") != 0 || strcmp(before, "succeeded") == 0)
        return rc;
    const char *why = NULL;
    rc = invoice_pay(tx, invoice, ref, &why);
    if (rc == TC_ECONFLICT) {
        tc_log_kv(TC_LOG_ERROR,
                  "a payment succeeded on an invoice that is not open: refund or "
                  "credit it",
                  "invoice", invoice, "intent", ref, "reason", why, NULL);
        return TC_OK;
    }
    return rc;
}

static bool webhook_verified(billing_app_t *app, tc_req_t *req, tc_resp_t *resp, const char **body,
                             size_t *len)
{
    const char *why = NULL;
    *body = tc_req_body(req, len);
    int rc = bill_webhook_verify(tc_req_header(req, "Stripe-Signature"), *body ? *body : "",
                                 *body ? *len : 0, app->stripe_webhook_secret, tc_now_ms() / 1000,
                                 app->webhook_tolerance_s, &why);
    if (rc == TC_ENOMEM)
        tc_resp_fail(resp, rc);
    else if (rc != TC_OK)
        tc_resp_error(resp, 400, "invalid_signature", "%s", why);
    return rc == TC_OK;
}

void h_webhook_stripe(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    if (!app->stripe_webhook_secret) {
        tc_resp_error(resp, 503, "webhooks_unavailable", "no webhook secret is configured");
        return;
    }
    const char *raw = NULL;
    size_t len = 0;
    if (!webhook_verified(app, req, resp, &raw, &len))
        return;
    cJSON *ev = cJSON_ParseWithLength(raw, len);
    const char *ev_id = tc_json_get_str(ev, "id"), *type = tc_json_get_str(ev, "type");
    const cJSON *object = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "data"), "object");
    if (!ev_id || !type || strlen(ev_id) > 255 || strlen(type) > 128 || !cJSON_IsObject(object)) {
        tc_resp_error(resp, 400, "invalid_event", "an event needs id, type and data.object");
        cJSON_Delete(ev);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    bool fresh = false;
    int rc = tx ? store_provider_event_add(tx, PROVIDER, ev_id, type, &fresh) : TC_OK;
    if (tx && rc == TC_OK && fresh)
        rc = apply_event(tx, type, object);
    cJSON_Delete(ev);
    if (!tx)
        return;
    if (rc != TC_OK) { /* the provider retries a failed delivery */
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (body && (!cJSON_AddBoolToObject(body, "received", true) ||
                 !cJSON_AddBoolToObject(body, "duplicate", !fresh))) {
        cJSON_Delete(body);
        body = NULL;
    }
    if (!body) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
}

/* ------------------------------------------------------------------ the org's card */

/* A provider id: letters, digits and '_' (cus_…, pm_…), as the provider's library handed it
 * to the browser. */
static bool ref_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* The card as the provider knows it, attached to the customer given: TC_OK, else answered. */
static bool card_checked(billing_app_t *app, tc_resp_t *resp, const char *customer,
                         const char *method, bill_card_t *card)
{
    char err[256] = "";
    int rc = stripe_method_get(app, method, card, err, sizeof err);
    const char *why = rc == TC_ENOTFOUND ? "the payment provider has no such card"
                      : rc == TC_OK && strcmp(card->customer, customer) != 0
                          ? "the card is not attached to that customer"
                          : NULL;
    if (why) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        tc_jv_error(&jv, "payment_method", "%s", why);
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return false;
    }
    if (rc == TC_EUNAVAIL)
        tc_resp_error(resp, 503, "payment_provider_unavailable", "%s", err);
    else if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    return rc == TC_OK;
}

void h_payment_method_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    static const char *const allowed[] = {"customer", "payment_method", NULL};
    const cJSON *in = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, in, allowed);
    const char *customer = tc_jv_str(&jv, in, "customer", TC_JV_REQUIRED, 1, 127);
    const char *method = tc_jv_str(&jv, in, "payment_method", TC_JV_REQUIRED, 1, 127);
    if (customer && !ref_valid(customer))
        tc_jv_error(&jv, "customer", "the provider's customer id (letters, digits and _)");
    if (method && !ref_valid(method))
        tc_jv_error(&jv, "payment_method", "the provider's payment method id");
    bool bad = tc_jv_failed(&jv);
    if (bad)
        tc_resp_invalid(resp, &jv);
    tc_jv_free(&jv);
    if (bad)
        return;
    if (!app->stripe_key) {
        tc_resp_error(resp, 503, "payments_unavailable", "no payment provider is configured");
        return;
    }
    bill_card_t card;
    if (!card_checked(app, resp, customer, method, &card))
        return;
    const tc_principal_t *actor = tc_req_principal(req);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    bill_method_t m = {PROVIDER,   customer,       method,       card.brand,
                       card.last4, card.exp_month, card.exp_year};
    cJSON *body = NULL;
    int rc = store_method_put(tx, actor->org, &m, &body);
    if (rc == TC_OK) /* who changed what the org is charged to, never the card itself */
        rc = tc_audit_record(tx, actor, actor->org, "billing.payment_method.set", "payment_method",
                             actor->org, NULL, body);
    if (rc != TC_OK) {
        cJSON_Delete(body);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
}

void h_payment_method_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *body = NULL;
    int rc = store_method_get(c, tc_req_principal(req)->org, &body);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "payment method");
    else
        tc_resp_json(resp, 200, body);
}

void h_payment_method_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    const tc_principal_t *actor = tc_req_principal(req);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_method_delete(tx, actor->org);
    if (rc == TC_OK)
        rc = tc_audit_record(tx, actor, actor->org, "billing.payment_method.remove",
                             "payment_method", actor->org, NULL, NULL);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "payment method");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}
