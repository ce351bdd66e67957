/* The platform operators' side of the catalog (service tokens only): a new price version of
 * a plan. Prices are never edited: a subscription takes the new version when its next period
 * begins, and nothing already billed changes. */
#include "handlers.h"
#include "invoicing.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <string.h>

void h_internal_price_add(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    bill_price_req_t p;
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!bill_price_parse(&jv, tc_req_json(req), tc_now_ms(), &p)) {
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    cJSON *body = NULL;
    int rc = tx ? store_price_add(tx, &p, &body) : TC_OK;
    if (!tx) {
        tc_jv_free(&jv);
        return;
    }
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND || rc == TC_ECONFLICT) {
            tc_jv_error(&jv, rc == TC_ENOTFOUND ? "plan" : "currency", "%s",
                        rc == TC_ENOTFOUND ? "no such plan"
                                           : "a plan keeps the currency of its earlier prices");
            tc_resp_invalid(resp, &jv);
        } else {
            tc_resp_fail(resp, rc);
        }
        tc_jv_free(&jv);
        return;
    }
    tc_jv_free(&jv);
    tc_tx_respond(app->db, tx, NULL, resp, 201, body, NULL);
}

/* ------------------------------------------------------------------ invoices (operators) */

/* A state change of invoice {id} in one transaction with its ledger transaction. */
typedef enum { OP_PAY, OP_VOID, OP_CREDIT } inv_op_t;

typedef struct {
    inv_op_t op;
    const char *reference; /* OP_PAY */
    int64_t amount;        /* OP_CREDIT */
    const char *reason;    /* OP_CREDIT */
} inv_req_t;

/* Applies r to the locked invoice; *why names a refusal (TC_ECONFLICT / TC_EINVAL). */
static int apply(billing_app_t *app, tc_dbconn_t *tx, const char *id, const inv_req_t *r,
                 const char **why, char *doc_id, size_t doc_n)
{
    char org[BILL_ID_MAX], status[16], currency[4], number[64];
    bill_totals_t t;
    bill_posting_t legs[BILL_MAX_POSTINGS];
    int64_t credited = 0;
    int nlegs = 0;
    snprintf(doc_id, doc_n, "%s", id);
    if (r->op == OP_PAY)
        return invoice_pay(tx, id, r->reference, why);
    int rc =
        store_invoice_lock(tx, id, org, sizeof org, status, sizeof status, currency, &t, &credited);
    if (rc != TC_OK)
        return rc;
    bool open = strcmp(status, "finalized") == 0, paid = strcmp(status, "paid") == 0;
    switch (r->op) {
    case OP_PAY:
        return TC_ERROR; /* handled above */
    case OP_VOID:
        if (!open || credited > 0) {
            *why = "only a finalized, unpaid invoice without credit notes can be voided";
            return TC_ECONFLICT;
        }
        rc = store_invoice_set_void(tx, id);
        if (rc == TC_OK)
            rc = bill_post_void(&t, legs, &nlegs);
        if (rc == TC_OK && nlegs)
            rc = store_ledger_post(tx, org, "void", id, currency, legs, nlegs);
        return rc == TC_OK ? dunning_settled(tx, org) : rc;
    case OP_CREDIT:
        if (!open && !paid) {
            *why = "credit notes correct finalized or paid invoices";
            return TC_ECONFLICT;
        }
        if (bill_post_credit(&t, r->amount, credited, legs, &nlegs) != TC_OK) {
            *why = "amount_minor must be above 0 and at most what the invoice has not been "
                   "credited yet";
            return TC_EINVAL;
        }
        rc = tc_id_new("crn", doc_id, doc_n);
        if (rc == TC_OK)
            rc = store_number_next(tx, app->issuer, "credit_note", app->credit_prefix, number,
                                   sizeof number);
        if (rc == TC_OK)
            rc = store_credit_note_add(tx, doc_id, org, id, number, r->amount, currency, r->reason);
        if (rc == TC_OK)
            rc = store_ledger_post(tx, org, "credit_note", doc_id, currency, legs, nlegs);
        return rc == TC_OK ? dunning_settled(tx, org) : rc;
    }
    return TC_ERROR;
}

static void run_op(billing_app_t *app, tc_req_t *req, tc_resp_t *resp, const inv_req_t *r)
{
    const char *id = tc_req_param_id(req, resp, "id", "inv", "invoice");
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, "internal") != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    const char *why = NULL;
    char doc[BILL_ID_MAX];
    cJSON *body = NULL;
    int rc = apply(app, tx, id, r, &why, doc, sizeof doc);
    if (rc == TC_OK)
        rc = r->op == OP_CREDIT ? store_credit_note_get(tx, doc, &body)
                                : store_invoice_get(tx, NULL, id, &body);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "invoice_conflict", "%s",
                          why ? why : "a concurrent change conflicted; retry");
        else if (rc == TC_EINVAL && why) {
            tc_jv_t jv;
            tc_jv_init(&jv);
            tc_jv_error(&jv, "amount_minor", "%s", why);
            tc_resp_invalid(resp, &jv);
            tc_jv_free(&jv);
        } else
            tc_resp_fail_for(resp, rc, "invoice");
        return;
    }
    tc_tx_respond(app->db, tx, &idem, resp, r->op == OP_CREDIT ? 201 : 200, body, NULL);
}

void h_internal_invoice_pay(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"reference", NULL};
    const cJSON *in = tc_req_json(req);
    inv_req_t r = {.op = OP_PAY};
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, in, allowed);
    r.reference = tc_jv_str(&jv, in, "reference", TC_JV_REQUIRED, 1, 128);
    if (tc_jv_failed(&jv))
        tc_resp_invalid(resp, &jv);
    else
        run_op(ud, req, resp, &r);
    tc_jv_free(&jv);
}

void h_internal_invoice_void(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    inv_req_t r = {.op = OP_VOID};
    run_op(ud, req, resp, &r);
}

void h_internal_credit_note(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"amount_minor", "reason", NULL};
    const cJSON *in = tc_req_json(req);
    inv_req_t r = {.op = OP_CREDIT};
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, in, allowed);
    r.amount = tc_jv_int(&jv, in, "amount_minor", TC_JV_REQUIRED, 0, 1, BILL_MAX_FEE_MINOR);
    r.reason = tc_jv_str(&jv, in, "reason", TC_JV_REQUIRED, 1, 500);
    if (tc_jv_failed(&jv))
        tc_resp_invalid(resp, &jv);
    else
        run_op(ud, req, resp, &r);
    tc_jv_free(&jv);
}

void h_internal_invoice_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    const char *id = tc_req_param_id(req, resp, "id", "inv", "invoice");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *inv = NULL;
    int rc = store_invoice_get(c, NULL, id, &inv);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "invoice");
    else
        tc_resp_json(resp, 200, inv);
}

void h_internal_tax_rate_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    static const char *const allowed[] = {"rate_bp", NULL};
    const char *country = tc_req_param(req, "country");
    const cJSON *in = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!bill_country_valid(country))
        tc_jv_error(&jv, "country", "an ISO 3166-1 alpha-2 code (two capital letters)");
    tc_jv_no_unknown(&jv, in, allowed);
    int rate = (int)tc_jv_int(&jv, in, "rate_bp", TC_JV_REQUIRED, 0, 0, 10000);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_tax_rate_put(tx, country, rate);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (body && (!cJSON_AddStringToObject(body, "country", country) ||
                 !tc_json_add_int(body, "rate_bp", rate))) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
}
