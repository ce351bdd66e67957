/* /v1/workflows/{id}/event-triggers: a workflow started by each matching event of a topic
 * (consumer_triggers.c starts them). */
#include "handlers.h"
#include "handlers_subres.h"
#include "store.h"
#include "trigger_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <string.h>

static const wf_subres_t trigger_kind = {.param = "tid",
                                         .prefix = "trg",
                                         .name = "Event trigger",
                                         .list = store_trig_list,
                                         .get = store_trig_get,
                                         .del = store_trig_delete};

static bool body_ok(workflow_app_t *app, const cJSON *body, bool create, tc_resp_t *resp)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_trigger(&jv, body, create, app->trigger_topics);
    if (!tc_jv_failed(&jv)) {
        tc_jv_free(&jv);
        return true;
    }
    tc_resp_invalid(resp, &jv);
    return false;
}

/* The update (or create) a body describes. */
static void row_of(const cJSON *body, const tc_principal_t *p, trig_row_t *t)
{
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(body, "enabled");
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(body, "condition");
    t->org_id = p->org;
    t->name = tc_json_get_str(body, "name");
    t->topic = tc_json_get_str(body, "topic");
    t->type = tc_json_get_str(body, "type");
    t->condition = tc_json_get_str(body, "condition");
    t->clear_condition = cJSON_IsNull(cond);
    t->enabled = enabled ? cJSON_IsTrue(enabled) : -1;
    t->plan = p->plan[0] ? p->plan : "free";
    t->created_by = p->sub;
}

static void answer_failure(tc_resp_t *resp, int rc)
{
    if (rc == TC_EDENIED)
        tc_resp_error(resp, 422, "trigger_limit_exceeded",
                      "A workflow has at most %d event triggers; delete one first",
                      WF_TRIGGERS_MAX);
    else
        tc_resp_fail_for(resp, rc, "Event trigger");
}

void h_triggers_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!wf)
        return;
    cJSON *body = tc_req_json(req);
    if (!body_ok(app, body, true, resp))
        return;
    char id[TC_ID_MAX];
    trig_row_t t = {.id = id, .workflow_id = wf};
    row_of(body, p, &t);
    if (tc_id_new("trg", id, sizeof id) != TC_OK) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        return;
    }
    cJSON *json = NULL;
    int rc = store_trig_insert(tx, &t, WF_TRIGGERS_MAX, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_fail_for(resp, rc, "Workflow");
        else
            answer_failure(resp, rc);
        return;
    }
    char location[128];
    snprintf(location, sizeof location, "/v1/workflows/%s/event-triggers/%s", wf, id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
}

void h_triggers_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    wf_subres_list(ud, req, resp, &trigger_kind);
}

void h_triggers_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    wf_subres_get(ud, req, resp, &trigger_kind);
}

void h_triggers_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf, *id;
    if (!wf_subres_ids(req, resp, &trigger_kind, &wf, &id))
        return;
    cJSON *body = tc_req_json(req);
    if (!body_ok(app, body, false, resp))
        return;
    trig_row_t t = {.id = id, .workflow_id = wf};
    row_of(body, p, &t);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *json = NULL;
    int rc = store_trig_update(tx, &t, &json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        answer_failure(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
}

void h_triggers_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    wf_subres_delete(ud, req, resp, &trigger_kind);
}
