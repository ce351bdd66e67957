/*
 * handlers_subres.h: what the handlers of a workflow's sub-resources (its schedules, its event
 * triggers) share: their list, get and delete have one shape, /v1/workflows/{id}/<kind>[/{sub}].
 */
#ifndef WORKFLOW_HANDLERS_SUBRES_H
#define WORKFLOW_HANDLERS_SUBRES_H

#include <cjson/cJSON.h>

#include "workflow_app.h"
#include "tc/tc_db.h"
#include "tc/tc_http.h"
#include "tc/tc_page.h"

typedef struct {
    const char *param;  /* the path parameter of its id ("sid") */
    const char *prefix; /* its ids' prefix ("sch") */
    const char *name;   /* what a 404 calls it ("Schedule") */
    int (*list)(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const tc_page_t *page,
                cJSON **data, char *next_key, size_t keylen);
    int (*get)(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *id,
               cJSON **out);
    int (*del)(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, const char *id);
} wf_subres_t;

/* The workflow id and the sub-resource's id of the path; answers 404 itself. */
bool wf_subres_ids(tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k, const char **wf,
                   const char **id);
void wf_subres_list(workflow_app_t *app, tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k);
void wf_subres_get(workflow_app_t *app, tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k);
void wf_subres_delete(workflow_app_t *app, tc_req_t *req, tc_resp_t *resp, const wf_subres_t *k);

#endif
