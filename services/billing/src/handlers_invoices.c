/* /v1/billing/invoices and /v1/billing/credit-notes: the org's documents, read by its owner.
 * An invoice is JSON or a printable HTML page. */
#include "handlers.h"
#include "invoice_html.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <stdlib.h>
#include <string.h>

void h_invoices_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[BILL_ID_MAX] = "";
    int rc = store_invoices_list(c, tc_req_principal(req)->org, page.after, page.limit, &data, next,
                                 sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

/* The caller's org's invoice {id} (404 for another org's), or NULL when answered. */
static cJSON *org_invoice(billing_app_t *app, tc_req_t *req, tc_resp_t *resp)
{
    const char *id = tc_req_param_id(req, resp, "id", "inv", "invoice");
    if (!id)
        return NULL;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return NULL;
    cJSON *inv = NULL;
    int rc = store_invoice_get(c, tc_req_principal(req)->org, id, &inv);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "invoice");
    return rc == TC_OK ? inv : NULL;
}

void h_invoice_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    cJSON *inv = org_invoice(ud, req, resp);
    if (inv)
        tc_resp_json(resp, 200, inv);
}

void h_invoice_html(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    cJSON *inv = org_invoice(ud, req, resp);
    if (!inv)
        return;
    size_t len = 0;
    char *html = bill_invoice_html(inv, &len);
    cJSON_Delete(inv);
    if (!html) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_resp_raw(resp, 200, "text/html; charset=utf-8", html, len);
}

void h_credit_notes_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *body = NULL;
    int rc = store_credit_notes_list(c, tc_req_principal(req)->org, &body);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, body);
}
