/* /v1/integrations/webhooks/messages: what was sent for each event, to which endpoint, every
 * attempt with the endpoint's answer, and sending again. */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <string.h>

#define WHAT "Webhook message"

void h_messages_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    const char *type = tc_req_query(req, "event_type");
    const char *endpoint = tc_req_query(req, "endpoint_id");
    if (type && (!*type || strlen(type) > 160)) {
        tc_resp_error(resp, 400, "bad_request", "event_type must be 1 to 160 characters");
        return;
    }
    if (endpoint && !tc_id_valid("whe", endpoint)) {
        tc_resp_error(resp, 400, "bad_request", "endpoint_id must be a webhook endpoint id");
        return;
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_msg_list(c, p->org, type, endpoint, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

void h_messages_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "whm", WHAT);
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_msg_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, WHAT);
    else
        tc_resp_json(resp, 200, json);
}

void h_messages_attempts(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "whm", WHAT);
    tc_page_t page;
    if (!id || tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_attempts_list(c, p->org, id, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND) {
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    tc_page_respond(resp, rc, data, next);
}

void h_messages_resend(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    hub_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "whm", WHAT);
    cJSON *body = NULL;
    if (!id || !hub_optional_body(req, resp, &body))
        return;
    static const char *const allowed[] = {"endpoint_id", NULL};
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, body, allowed);
    const char *endpoint = tc_jv_str(&jv, body, "endpoint_id", 0, 1, TC_ID_MAX - 1);
    if (endpoint && !tc_id_valid("whe", endpoint))
        tc_jv_error(&jv, "endpoint_id", "must be a webhook endpoint id");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        cJSON_Delete(body);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx) {
        cJSON_Delete(body);
        return;
    }
    int64_t n = 0;
    int rc = store_msg_resend(tx, p->org, id, endpoint, &n);
    cJSON_Delete(body); /* endpoint pointed into it */
    cJSON *json = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!json || !tc_json_add_int(json, "requeued", n)))
        rc = TC_ENOMEM;
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        tc_resp_fail_for(resp, rc, WHAT);
        return;
    }
    if (tc_tx_respond(app->db, tx, NULL, resp, 202, json, NULL) == TC_OK && n > 0)
        delivery_kick(app);
}
