/* The platform operators' side of the catalog (service tokens only): a new price version of
 * a plan. Prices are never edited: a subscription takes the new version when its next period
 * begins, and nothing already billed changes. */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

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
