/* Executions: start (under the plan's monthly limit), list, read, history, cancel. */
#include "asl.h"
#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_page.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The current version of the workflow and where it starts; answers 404/503 itself. */
static bool load_current(workflow_app_t *app, const char *org, const char *id, tc_resp_t *resp,
                         exec_start_t *e, char start_at[ASL_NAME_MAX + 1])
{
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return false;
    int rc = store_wf_current(c, org, id, &e->version, &e->timeout_s, start_at, ASL_NAME_MAX + 1);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "Workflow");
        return false;
    }
    return true;
}

static void answer_start_failure(tc_resp_t *resp, int rc, const wf_limits_t *lim)
{
    if (rc == TC_EDENIED) {
        tc_resp_header(resp, "Retry-After", "3600");
        tc_resp_error(resp, 429, "plan_limit_exceeded",
                      "The %s plan allows %lld executions per month; the limit is reached",
                      lim->plan, (long long)lim->executions_per_month);
    } else {
        tc_resp_fail_for(resp, rc, "Workflow");
    }
}

void h_workflows_execute(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (!id)
        return;
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_execute(&jv, body);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    wf_limits_t lim;
    wf_plan_limits(p->plan, app->free_plan, &lim);
    char *input = NULL, start_at[ASL_NAME_MAX + 1], exec_id[TC_ID_MAX], month[11];
    exec_start_t e = {.id = exec_id,
                      .org_id = p->org,
                      .workflow_id = id,
                      .start_at = start_at,
                      .started_by = p->sub,
                      .plan = p->plan,
                      .month = month,
                      .max_per_month = lim.executions_per_month};
    if (!load_current(app, p->org, id, resp, &e, start_at))
        goto cleanup;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
    input = in ? cJSON_PrintUnformatted(in) : strdup("{}");
    if (!input || tc_id_new("exe", exec_id, sizeof exec_id) != TC_OK) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    e.input = input;
    wf_month_of(tc_now_ms(), month);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    tc_idem_t idem;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    cJSON *json = NULL;
    int rc = store_exec_start(tx, &e, &json);
    if (rc == TC_OK)
        rc = events_execution(tx, p->org, json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        answer_start_failure(resp, rc, &lim);
        goto cleanup;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/executions/%s", exec_id);
    if (tc_tx_respond(app->db, tx, &idem, resp, 202, json, location) == TC_OK)
        executor_kick(app);
cleanup:
    free(input);
}

/* ?status=&since=&until= of the executions lists; answers 400 itself. */
static bool list_filters(tc_req_t *req, tc_resp_t *resp, const char **status, const char **since,
                         const char **until)
{
    *status = tc_req_query(req, "status");
    *since = tc_req_query(req, "since");
    *until = tc_req_query(req, "until");
    int64_t ms;
    if (*status && !wf_status_valid(*status)) {
        tc_resp_error(resp, 400, "bad_request",
                      "status must be RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED");
        return false;
    }
    if ((*since && tc_time_parse(*since, &ms) != TC_OK) ||
        (*until && tc_time_parse(*until, &ms) != TC_OK)) {
        tc_resp_error(resp, 400, "bad_request", "since and until must be RFC 3339 times");
        return false;
    }
    return true;
}

static void list(tc_req_t *req, tc_resp_t *resp, workflow_app_t *app, const char *workflow_id)
{
    const tc_principal_t *p = tc_req_principal(req);
    tc_page_t page;
    const char *status, *since, *until;
    if (tc_page_parse(req, resp, &page) != TC_OK ||
        !list_filters(req, resp, &status, &since, &until))
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    int rc = TC_OK;
    cJSON *data = NULL, *wf = NULL;
    char next[TC_ID_MAX];
    if (workflow_id) /* a deleted or foreign workflow has no executions to list: 404 */
        rc = store_wf_get(c, p->org, workflow_id, &wf);
    cJSON_Delete(wf);
    if (rc == TC_OK)
        rc = store_exec_list(c, p->org, workflow_id, status, since, until, &page, &data, next,
                             sizeof next);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND)
        tc_resp_fail_for(resp, rc, "Workflow");
    else
        tc_page_respond(resp, rc, data, next);
}

void h_workflows_executions(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    const char *id = tc_req_param_id(req, resp, "id", "wf", "Workflow");
    if (id)
        list(req, resp, ud, id);
}

void h_executions_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    list(req, resp, ud, NULL);
}

void h_executions_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "exe", "Execution");
    if (!id)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *json = NULL;
    int rc = store_exec_get(c, p->org, id, &json);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "Execution");
    else
        tc_resp_json(resp, 200, json);
}

void h_executions_history(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "exe", "Execution");
    tc_page_t page;
    if (!id || tc_page_parse(req, resp, &page) != TC_OK)
        return;
    /* the cursor of a history page is an event number */
    for (const char *s = page.after; *s; s++)
        if (*s < '0' || *s > '9' || s - page.after > 9) {
            tc_resp_error(resp, 400, "bad_request", "cursor is not a history cursor");
            return;
        }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[TC_ID_MAX];
    int rc = store_exec_history(c, p->org, id, &page, &data, next, sizeof next);
    tc_db_release(app->db, c);
    if (rc == TC_ENOTFOUND)
        tc_resp_fail_for(resp, rc, "Execution");
    else
        tc_page_respond(resp, rc, data, next);
}

/* A Parallel's branch or a Map's iteration is stopped and run again with its execution. */
static void answer_branch(tc_resp_t *resp)
{
    tc_resp_error(resp, 409, "execution_is_branch",
                  "This is a branch of another execution (parent_execution_id): cancel or "
                  "redrive that execution");
}

void h_executions_cancel(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "exe", "Execution");
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *json = NULL;
    int rc = store_exec_cancel(tx, p->org, id, &json);
    if (rc == TC_OK)
        rc = events_execution(tx, p->org, json);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        cJSON_Delete(json);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "execution_stopped", "The execution has already stopped");
        else if (rc == TC_EDENIED)
            answer_branch(resp);
        else
            tc_resp_fail_for(resp, rc, "Execution");
        return;
    }
    /* a caller that waited for it, or a child it waited for, falls due now */
    if (tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL) == TC_OK)
        executor_kick(app);
}

void h_executions_redrive(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    workflow_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *id = tc_req_param_id(req, resp, "id", "exe", "Execution");
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *json = NULL;
    int rc = store_exec_redrive(tx, p->org, id, &json);
    if (rc == TC_OK)
        rc = events_execution_redriven(tx, p->org, json);
    if (rc != TC_OK) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "execution_not_redrivable",
                          "Only a FAILED or TIMED_OUT execution can be redriven");
        else if (rc == TC_EAGAIN)
            tc_resp_error(resp, 409, "execution_not_redrivable",
                          "The execution that started it has not read its outcome yet; retry "
                          "in a moment");
        else if (rc == TC_EDENIED)
            answer_branch(resp);
        else
            tc_resp_fail_for(resp, rc, "Execution");
        return;
    }
    if (tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL) == TC_OK)
        executor_kick(app);
}

/* An answer to a callback Task's token: the body checked, the token looked up by its sha256 in
 * the caller's org (another org's token is 404, like anything of another org). */
static void task_answer(tc_req_t *req, tc_resp_t *resp, workflow_app_t *app, wf_token_answer_t k)
{
    const tc_principal_t *p = tc_req_principal(req);
    cJSON *body = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_task_answer(&jv, body, k);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    const char *token = tc_json_get_str(body, "task_token");
    char hash[TC_SHA256_HEX_LEN], execution[TC_ID_MAX] = "";
    tc_sha256_hex(token, strlen(token), hash);
    char *output = NULL;
    if (k == WF_TOKEN_SUCCESS &&
        !(output = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(body, "output")))) {
        tc_resp_fail_for(resp, TC_ENOMEM, "Task token");
        return;
    }
    wf_answer_t a = {.kind = k == WF_TOKEN_SUCCESS   ? WF_ANSWER_SUCCESS
                             : k == WF_TOKEN_FAILURE ? WF_ANSWER_FAILURE
                                                     : WF_ANSWER_HEARTBEAT,
                     .output = output,
                     .error = tc_json_get_str(body, "error"),
                     .cause = tc_json_get_str(body, "cause")};
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx) {
        free(output);
        return;
    }
    int rc = store_callback_answer(tx, p->org, hash, &a, execution);
    free(output);
    cJSON *json = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && !(json && cJSON_AddStringToObject(json, "execution_id", execution)))
        rc = TC_ENOMEM;
    if (rc != TC_OK) {
        cJSON_Delete(json);
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "task_not_waiting",
                          "No Task waits on this token any more: it was answered, the state "
                          "moved on, or the execution stopped");
        else if (rc == TC_ETIMEDOUT)
            tc_resp_error(resp, 409, "task_timed_out",
                          "The Task's timeout ran out before this answer; the execution fails "
                          "the Task with States.Timeout or States.HeartbeatTimeout");
        else
            tc_resp_fail_for(resp, rc, "Task token");
        return;
    }
    /* an answer makes the waiting state due now */
    if (tc_tx_respond(app->db, tx, NULL, resp, 200, json, NULL) == TC_OK && k != WF_TOKEN_HEARTBEAT)
        executor_kick(app);
}

void h_task_success(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    task_answer(req, resp, ud, WF_TOKEN_SUCCESS);
}

void h_task_failure(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    task_answer(req, resp, ud, WF_TOKEN_FAILURE);
}

void h_task_heartbeat(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    task_answer(req, resp, ud, WF_TOKEN_HEARTBEAT);
}
