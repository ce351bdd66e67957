/*
 * Child workflows: a tc:workflow Task starts an execution of another workflow of the org in
 * the transaction that runs the Task (a customer-visible execution: listed, counted against
 * the plan, with its own events), so each attempt starts exactly one whatever crashes.
 *
 * tc:workflow:start completes the state at once. tc:workflow makes the caller wait in phase
 * 'child' under a token (its lease_token, kept on the child as caller_token), due only when
 * the Task's TimeoutSeconds runs out (else when the execution's own deadline does). The child
 * wakes its caller in its final transaction, if the caller still waits under that token; the
 * caller's next step reads how the child stopped and completes the state or raises the child's
 * failure. A caller that stops waiting (a timeout, a cancel, its own end) leaves the child
 * behind: the child is made due and aborts itself in its next step (with its own events), and
 * the sweeper finds those a release could not reach at once.
 */
#include "executor_internal.h"
#include "task_workflow.h"
#include "trigger_start.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A caller without a Task timeout waits until the child stops (or its own deadline). */
#define WAIT_FOR_CHILD_MS (10LL * 365 * 24 * 3600 * 1000)

/* Starts the child: TC_OK with child_id, TC_EINVAL with err for a start the Task's Retry and
 * Catch decide on, another code when the transaction failed. */
static int start_child(workflow_app_t *app, tc_dbconn_t *tx, const exec_row_t *r,
                       const cJSON *params, const char *token, char child_id[TC_ID_MAX],
                       const char **workflow_id, asl_err_t *err)
{
    char *input = NULL;
    int rc = task_workflow_parse(params, workflow_id, &input, err);
    if (rc != TC_OK)
        return rc;
    if (r->call_depth >= WF_CALL_DEPTH_MAX) {
        asl_err_set(err, WORKFLOW_E_DEPTH,
                    "execution %s is %d calls deep already (at most %d tc:workflow calls chain)",
                    r->root_id, r->call_depth, WF_CALL_DEPTH_MAX);
        free(input);
        return TC_EINVAL;
    }
    char plan[32];
    rc = store_exec_plan(tx, r, plan, sizeof plan);
    if (rc != TC_OK) {
        free(input);
        return rc == TC_EINVAL ? TC_ERROR : rc;
    }
    wf_trigger_start_t s = {.org_id = r->org_id,
                            .workflow_id = *workflow_id,
                            .input = input,
                            .plan = plan[0] ? plan : NULL,
                            .trigger = "workflow",
                            .caller_id = r->id,
                            .caller_token = token,
                            .call_depth = r->call_depth + 1,
                            .now_ms = r->now_ms};
    rc = wf_trigger_start(app, tx, &s, child_id);
    free(input);
    if (rc == TC_EINVAL) /* a statement refused (SQLSTATE 22/23): the transaction is lost */
        return TC_ERROR;
    if (rc == TC_ENOTFOUND) {
        asl_err_set(err, WORKFLOW_E_NOT_FOUND, "the org has no workflow %s", *workflow_id);
        return TC_EINVAL;
    }
    if (rc == TC_EDENIED) {
        wf_limits_t lim;
        wf_plan_limits(s.plan, app->free_plan, &lim);
        asl_err_set(err, WORKFLOW_E_LIMIT,
                    "the %s plan allows %lld executions per month; the limit is reached", lim.plan,
                    (long long)lim.executions_per_month);
        return TC_EINVAL;
    }
    return rc;
}

int wfx_child_start(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine,
                    const cJSON *input, asl_step_t *st, wf_task_t *after)
{
    bool waits = false;
    task_workflow_resource(st->resource, &waits);
    char token[TC_ID_MAX] = "", child[TC_ID_MAX] = "", now[TC_RFC3339_LEN];
    const char *workflow_id = NULL;
    char *params = NULL;
    asl_err_t e = {0};
    r->attempt++;
    int rc =
        wfx_event(tx, r, "TaskScheduled", r->state, "resource", cJSON_CreateString(st->resource),
                  "parameters", cJSON_Duplicate(st->params, 1));
    if (rc == TC_OK && waits)
        rc = tc_id_new("call", token, sizeof token);
    if (rc == TC_OK)
        rc = start_child(app, tx, r, st->params, waits ? token : NULL, child, &workflow_id, &e);
    if (rc == TC_EINVAL) {
        rc = wfx_task_failed(tx, r, machine, input, &e);
        goto cleanup;
    }
    if (rc != TC_OK)
        goto cleanup;
    after->kicks++; /* the child is due now */
    rc = wfx_event(tx, r, "ChildExecutionStarted", r->state, "execution", cJSON_CreateString(child),
                   "workflow_id", cJSON_CreateString(workflow_id));
    if (rc != TC_OK)
        goto cleanup;
    if (!waits) {
        tc_time_format(r->now_ms, now);
        cJSON *result = task_workflow_started(child, workflow_id, now);
        rc = result ? wfx_task_succeeded(tx, r, machine, input, result) : TC_ENOMEM;
        goto cleanup;
    }
    if (!(params = wfx_json_text(st->params))) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    exec_save_t s = {.status = "RUNNING",
                     .state = r->state,
                     .state_input = r->state_input,
                     .phase = "child",
                     .task_params = params,
                     .lease_token = token,
                     .retries = r->retries,
                     .nretries = 32,
                     .attempt = r->attempt,
                     .steps = r->steps,
                     .due_in_ms =
                         st->timeout_s > 0 ? (int64_t)st->timeout_s * 1000 : WAIT_FOR_CHILD_MS};
    rc = store_exec_save(tx, r, &s);
cleanup:
    free(params);
    asl_err_clear(&e);
    return rc;
}

int wfx_child_step(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine)
{
    child_row_t c;
    asl_err_t e = {0};
    cJSON *input = wfx_parse_or_null(r->state_input);
    int rc =
        input ? store_child_get(tx, r->id, r->lease_token ? r->lease_token : "", &c) : TC_ENOMEM;
    if (rc == TC_ENOTFOUND) { /* written in one transaction with the wait: not expected */
        asl_err_set(&e, "States.Runtime", "the child execution state %s waits for is gone",
                    r->state);
        rc = wfx_task_failed(tx, r, machine, input, &e);
        goto cleanup;
    }
    if (rc != TC_OK)
        goto cleanup;
    if (strcmp(c.status, "RUNNING") == 0) {
        /* due while the child runs: the Task's TimeoutSeconds ran out (a child that stops
         * wakes its caller in the transaction that stops it) */
        asl_err_set(&e, "States.Timeout", "execution %s did not stop within the Task's timeout",
                    c.id);
        rc = store_child_release(tx, r->id);
        if (rc == TC_OK)
            rc = wfx_task_failed(tx, r, machine, input, &e);
    } else {
        task_child_t tc = {.id = c.id,
                           .workflow_id = c.workflow_id,
                           .status = c.status,
                           .output = c.output,
                           .error = c.error,
                           .cause = c.cause,
                           .started_at = c.started_at,
                           .stopped_at = c.stopped_at};
        cJSON *result = NULL;
        rc = task_workflow_outcome(&tc, &result, &e);
        if (rc == TC_OK)
            rc = wfx_task_succeeded(tx, r, machine, input, result);
        else if (rc == TC_EINVAL)
            rc = wfx_task_failed(tx, r, machine, input, &e);
    }
    child_row_clear(&c);
cleanup:
    cJSON_Delete(input);
    asl_err_clear(&e);
    return rc;
}
