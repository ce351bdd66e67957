/* The list, get and delete of a workflow's schedules and event triggers. */
#include "handlers_subres.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"

bool wf_subres_ids(tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k, const char **wf,
                   const char **id)
{
    *wf = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    *id = *wf ? tc_req_param_id(req, resp, k->param, k->prefix, k->name) : NULL;
    return *id != NULL;
}

void wf_subres_list(workflow_app_t *app, tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k)
{
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    tc_page_t page;
    if (!wf || tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = k->list(c, p->org, wf, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND) /* the workflow */
        tc_resp_fail_for(resp, rc, "Workflow");
    else
        tc_page_respond(resp, rc, data, next);
}

void wf_subres_get(workflow_app_t *app, tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k)
{
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf, *id;
    if (!wf_subres_ids(req, resp, k, &wf, &id))
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = k->get(c, p->org, wf, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, k->name);
    else
        tc_resp_json(resp, 200, json);
}

void wf_subres_delete(workflow_app_t *app, tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k)
{
    const tc_principal_t *p = tc_req_principal(req);
    const char *wf, *id;
    if (!wf_subres_ids(req, resp, k, &wf, &id))
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = k->del(tx, p->org, wf, id);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, k->name);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}
