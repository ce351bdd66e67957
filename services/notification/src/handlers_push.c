/* /v1/notifications/push/...: the platform's VAPID public key (what a browser subscribes with)
 * and the caller's own browsers (Web Push subscriptions). */
#include "handlers.h"
#include "store.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "webpush_model.h"

#include <stdio.h>
#include <string.h>

/* 404 push_not_configured when this deployment has no VAPID key. */
static bool push_configured(notification_app_t *app, tc_resp_t *resp)
{
    if (app->vapid)
        return true;
    tc_resp_error(resp, 404, "push_not_configured",
                  "Web Push is not configured on this deployment (NOTIFY_VAPID_PRIVATE_KEY)");
    return false;
}

void h_push_key(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    (void)req;
    notification_app_t *app = ud;
    if (!push_configured(app, resp))
        return;
    char key[WEBPUSH_PUB_LEN * 2];
    cJSON *o = cJSON_CreateObject();
    if (tc_b64url_encode(webpush_key_public(app->vapid), WEBPUSH_PUB_LEN, key, sizeof key) < 0 ||
        !o || !cJSON_AddStringToObject(o, "public_key", key)) {
        cJSON_Delete(o);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_resp_json(resp, 200, o);
}

void h_push_subs_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    if (!push_configured(app, resp))
        return;
    tc_jv_t jv;
    tc_jv_init(&jv);
    webpush_sub_t sub;
    webpush_sub_validate(&jv, tc_req_json(req), app->push_allow_private, &sub);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    char origin[WEBPUSH_ENDPOINT_MAX + 1];
    webpush_origin(sub.endpoint, origin, sizeof origin); /* checked by the validation */
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    bool created = false;
    cJSON *json = NULL;
    int rc = store_push_sub_put(app, tx, p->org, p->sub, &sub, origin, &created, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    /* registering the same browser again is the same subscription: 200, not a new one */
    tc_tx_respond(app->db, tx, NULL, resp, created ? 201 : 200, json, NULL);
}

void h_push_subs_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    int rc = store_push_sub_list(c, p->org, p->sub, &data);
    tc_db_release(app->db, c);
    cJSON *o = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (!o || !cJSON_AddItemToObject(o, "data", data)) {
        cJSON_Delete(o);
        cJSON_Delete(data);
        tc_resp_fail(resp, rc == TC_OK ? TC_ENOMEM : rc);
        return;
    }
    tc_resp_json(resp, 200, o);
}

void h_push_subs_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    notification_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "psub", "Push subscription");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    int rc = store_push_sub_delete(c, p->org, p->sub, id);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "Push subscription");
    else
        tc_resp_empty(resp, 204);
}
