/* /v1/workflows: the org's workflow definitions (every change of the definition a new
 * immutable version) and their graphs for the console. */
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl.h"

void h_workflows_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_wf_list(c, p->org, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

/* Validates a create or patch body against the caller's plan; answers the 422 itself. */
static bool body_ok(workflow_app_t *app, const tc_principal_t *p, const cJSON *body, bool create,
                    tc_resp_t *resp, wf_limits_t *lim)
{
    wf_plan_limits(p->plan, app->free_plan, lim);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool over = false;
    wf_validate_workflow(&jv, body, create, lim, &over);
    if (!tc_jv_failed(&jv)) {
        tc_jv_free(&jv);
        return true;
    }
    if (over) {
        tc_jv_free(&jv);
        tc_resp_error(resp, 422, "plan_limit_exceeded",
                      "The %s plan allows %d states per workflow (every nesting level counted)",
                      lim->plan, lim->steps);
        return false;
    }
    tc_resp_invalid(resp, &jv);
    return false;
}

/* The definition as compact JSON text and its state count. */
static char *definition_text(const cJSON *body, int *states)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(body, "definition");
    if (!def)
        return NULL;
    *states = asl_count_states(def);
    return cJSON_PrintUnformatted(def);
}

void h_workflows_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    wf_limits_t lim;
    if (!body_ok(app, p, body, true, resp, &lim))
        return;
    char id[TC_ID_MAX];
    wf_row_t w = {.id = id,
                  .org_id = p->org,
                  .name = tc_json_get_str(body, "name"),
                  .description = tc_json_get_str(body, "description"),
                  .created_by = p->sub};
    char *def = definition_text(body, &w.states);
    w.definition = def;
    if (!def || tc_id_new("wf", id, sizeof id) != TC_OK) {
        free(def);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    cJSON *json = NULL;
    int rc = store_wf_insert(tx, &w, lim.workflows, &json);
    if (rc == TC_OK)
        rc = events_workflow(tx, WF_CREATED, p->org, json, p->sub);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "workflow_exists",
                          "The organization already has a workflow with this name");
        else if (rc == TC_EDENIED)
            tc_resp_error(resp, 422, "plan_limit_exceeded",
                          "The %s plan allows %lld workflows; delete one or upgrade the plan",
                          lim.plan, (long long)lim.workflows);
        else
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/workflows/%s", id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, json, location);
cleanup:
    free(def);
}

void h_workflows_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_wf_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "Workflow");
    else
        tc_resp_json(resp, 200, json);
}

void h_workflows_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!id)
        return;
    cJSON *body = tc_req_json(req);
    wf_limits_t lim;
    if (!body_ok(app, p, body, false, resp, &lim))
        return;
    wf_row_t w = {.id = id,
                  .org_id = p->org,
                  .name = tc_json_get_str(body, "name"),
                  .description = tc_json_get_str(body, "description"),
                  .created_by = p->sub};
    char *def = definition_text(body, &w.states);
    w.definition = def;
    if (cJSON_GetObjectItemCaseSensitive(body, "definition") && !def) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    cJSON *json = NULL;
    int rc = store_wf_update(tx, &w, &json);
    if (rc == TC_OK)
        rc = events_workflow(tx, WF_UPDATED, p->org, json, p->sub);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "workflow_exists",
                          "The organization already has a workflow with this name");
        else
            tc_resp_fail_for(resp, rc, "Workflow");
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL);
cleanup:
    free(def);
}

void h_workflows_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *json = NULL;
    int rc = store_wf_delete(tx, p->org, id, &json);
    if (rc == TC_OK)
        rc = events_workflow(tx, WF_DELETED, p->org, json, p->sub);
    cJSON_Delete(json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "Workflow");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

void h_workflows_graph(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_wf_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Workflow");
        return;
    }
    cJSON *g = wf_graph(cJSON_GetObjectItemCaseSensitive(json, "definition"));
    if (g && (!cJSON_AddStringToObject(g, "workflow_id", id) ||
              !cJSON_AddNumberToObject(
                  g, "version", cJSON_GetObjectItemCaseSensitive(json, "version")->valuedouble))) {
        cJSON_Delete(g);
        g = NULL;
    }
    cJSON_Delete(json);
    tc_resp_json(resp, 200, g);
}
