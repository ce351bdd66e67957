/* POST /internal/v1/notifications: a service asks for a notification and learns at once what
 * became of it (the delivery and its status), instead of publishing on notification-events
 * and reading the outcome event. The body is a com.techcorp.notification.requested event's
 * data; the decision is the consumer's (notification_request_apply). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"

#include <stdio.h>

/* An announcement's answer: how many members it reached, by what became of them. */
static cJSON *audience_body(const char *request_id, const request_outcome_t *o)
{
    cJSON *b = cJSON_CreateObject(), *by = cJSON_CreateObject();
    if (!b || !by || !cJSON_AddItemToObject(b, "statuses", by)) {
        cJSON_Delete(b);
        cJSON_Delete(by);
        return NULL;
    }
    if (!cJSON_AddStringToObject(b, "request_id", request_id) ||
        !cJSON_AddStringToObject(b, "audience", "org") ||
        !tc_json_add_int(b, "recipients", o->recipients) ||
        !tc_json_add_int(by, "delivered", o->delivered) ||
        !tc_json_add_int(by, "pending", o->pending) ||
        !tc_json_add_int(by, "digested", o->digested) ||
        !tc_json_add_int(by, "suppressed", o->suppressed) ||
        !tc_json_add_int(by, "failed", o->failed)) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

static cJSON *outcome_body(const char *request_id, const request_outcome_t *o)
{
    if (o->audience)
        return audience_body(request_id, o);
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "request_id", request_id) ||
        !cJSON_AddStringToObject(b, "delivery_id", o->delivery_id) ||
        !cJSON_AddStringToObject(b, "status", o->status) ||
        !tc_json_add_str(b, "reason", o->reason)) {
        cJSON_Delete(b);
        return NULL;
    }
    return b;
}

void h_internal_request(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    char request_id[TC_ID_MAX];
    if (tc_id_new("nrq", request_id, sizeof request_id) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    /* a caller's retry with its Idempotency-Key gets the first answer, not a second message */
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->sub) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    request_outcome_t o;
    int rc = notification_request_apply(app, tx, request_id, tc_req_json(req), &o);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_EINVAL)
            tc_resp_error(resp, 422, "validation_failed", "Not a notification request: %s",
                          o.why ? o.why : "invalid");
        else
            tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, &idem, resp, 202, outcome_body(request_id, &o), NULL);
}
