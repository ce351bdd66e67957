/* /v1/billing/plans: the catalog, readable by every member (and billing:read keys). */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_tx.h"

#include <string.h>

static void answer(billing_app_t *app, tc_resp_t *resp, const char *plan_id)
{
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *body = NULL;
    int rc = plan_id ? store_plan_get(c, plan_id, &body) : store_plans_list(c, &body);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 404, "not_found", "no plan \"%s\"", plan_id);
    else if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, body);
}

void h_plans_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    TC_UNUSED(req);
    answer(ud, resp, NULL);
}

void h_plan_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *id = tc_req_param(req, "id");
    if (!id || !*id || strlen(id) >= BILL_PLAN_ID_MAX) {
        tc_resp_error(resp, 404, "not_found", "no such plan");
        return;
    }
    answer(ud, resp, id);
}
