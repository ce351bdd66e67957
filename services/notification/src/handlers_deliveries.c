/* /v1/notifications/deliveries: what happened to each message. Admins see the org's;
 * anyone else only the deliveries addressed to them (another's answers 404). */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <string.h>

static bool is_admin(const tc_principal_t *p)
{
    return tc_principal_at_least(p, TC_ROLE_ADMIN);
}

void h_deliveries_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const statuses[] = {"pending", "sending",    "retrying", "delivered",
                                           "failed",  "suppressed", "digested", NULL};
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    const char *recipient = tc_req_query(req, "recipient_id");
    const char *status = tc_req_query(req, "status");
    if (recipient && !tc_id_valid("usr", recipient)) {
        tc_resp_error(resp, 400, "bad_request", "recipient_id must be a user id");
        return;
    }
    bool known = status == NULL;
    for (int i = 0; status && statuses[i]; i++)
        known |= strcmp(status, statuses[i]) == 0;
    if (!known) {
        tc_resp_error(resp, 400, "bad_request", "unknown status");
        return;
    }
    if (!is_admin(p)) /* a member lists only what was addressed to them */
        recipient = p->sub;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_delivery_list(c, p->org, recipient, status, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

void h_deliveries_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "dlv", "Delivery");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_delivery_get(c, p->org, id, is_admin(p) ? NULL : p->sub, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "Delivery");
    else
        tc_resp_json(resp, 200, json);
}
