/*
 * Callback Tasks (Step Functions' .waitForTaskToken pattern): the Task's resource is called
 * with a task token in its parameters ($$.Task.Token), and the state then waits until someone
 * answers with that token (POST /v1/executions/task-token/success, /failure, /heartbeat) or
 * one of its timeouts runs out: TimeoutSeconds (States.Timeout) or, with HeartbeatSeconds, a
 * gap that long between heartbeats (States.HeartbeatTimeout).
 *
 * The token is drawn when the state is entered, and its row (its sha256 only) is written in
 * the transaction that schedules the call, so an answer can come before the call has even
 * returned: it waits in the row, and the call's result, applied under the execution's row
 * lock, finds it there (TaskSubmitted, then TaskSucceeded or TaskFailed at once). The
 * execution names the token it waits on (callback_id) while the state runs; every step that
 * leaves the state clears it, so an answer for an older token is refused.
 */
#include "executor_internal.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A callback Task without a timeout waits until answered (or the execution's own deadline). */
#define WAIT_FOR_ANSWER_MS (10LL * 365 * 24 * 3600 * 1000)

int wfx_callback_token(cJSON *ctx, char *secret, char id[TC_ID_MAX])
{
    int rc = tc_random_token("wft_", 32, secret, WF_TASK_TOKEN_MAX);
    if (rc == TC_OK)
        rc = tc_id_new("ttk", id, TC_ID_MAX);
    cJSON *task = cJSON_GetObjectItemCaseSensitive(ctx, "Task");
    cJSON *token = rc == TC_OK ? cJSON_CreateString(secret) : NULL;
    if (rc == TC_OK && (!token || !cJSON_ReplaceItemInObjectCaseSensitive(task, "Token", token))) {
        cJSON_Delete(token);
        rc = TC_ENOMEM;
    }
    return rc;
}

int wfx_callback_open(tc_dbconn_t *tx, const exec_row_t *r, const char *id, const char *secret,
                      const asl_step_t *st)
{
    char hash[TC_SHA256_HEX_LEN];
    tc_sha256_hex(secret, strlen(secret), hash);
    return store_callback_open(tx, r, id, hash, st->timeout_s, st->heartbeat_s);
}

/* The first deadline of an unanswered token: its timeout or its heartbeat's (0: none). */
static int64_t next_deadline(const callback_row_t *c, bool *heartbeat)
{
    int64_t due = c->timeout_at_ms;
    *heartbeat = false;
    if (c->heartbeat_s > 0) {
        int64_t beat = c->beat_at_ms + (int64_t)c->heartbeat_s * 1000;
        if (due == 0 || beat < due) {
            due = beat;
            *heartbeat = true;
        }
    }
    return due;
}

/* How the token stands, applied: an answer completes or fails the state, a deadline that ran
 * out fails it, and otherwise the state waits (again) until the first deadline. */
static int settle(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                  const char *id)
{
    callback_row_t c;
    asl_err_t e = {0};
    int rc = store_callback_get(tx, id, &c);
    if (rc == TC_ENOTFOUND) { /* written in one transaction with the Task: not expected */
        asl_err_set(&e, "States.Runtime", "the task token state %s waits on is gone", r->state);
        rc = wfx_task_failed(tx, r, machine, input, &e);
        asl_err_clear(&e);
        return rc;
    }
    if (rc != TC_OK)
        return rc;
    bool heartbeat = false;
    int64_t due = next_deadline(&c, &heartbeat);
    if (c.outcome && strcmp(c.outcome, "success") == 0) {
        cJSON *result = wfx_parse_or_null(c.output);
        rc = result ? wfx_task_succeeded(tx, r, machine, input, result) : TC_ENOMEM;
    } else if (c.outcome) {
        asl_err_set(&e, c.error ? c.error : "States.TaskFailed", "%s", c.cause ? c.cause : "");
        rc = wfx_task_failed(tx, r, machine, input, &e);
    } else if (due > 0 && due <= r->now_ms) {
        if (heartbeat)
            asl_err_set(&e, "States.HeartbeatTimeout",
                        "no heartbeat or answer for the task token within %d seconds",
                        c.heartbeat_s);
        else
            asl_err_set(&e, "States.Timeout",
                        "no answer for the task token within the Task's TimeoutSeconds");
        rc = wfx_task_failed(tx, r, machine, input, &e);
    } else {
        exec_save_t s = {.status = "RUNNING",
                         .state = r->state,
                         .state_input = r->state_input,
                         .phase = "callback",
                         .task_params = r->task_params,
                         .callback_id = id,
                         .retries = r->retries,
                         .nretries = 32,
                         .attempt = r->attempt,
                         .steps = r->steps,
                         .due_in_ms = due > 0 ? due - r->now_ms : WAIT_FOR_ANSWER_MS};
        rc = store_exec_save(tx, r, &s);
    }
    asl_err_clear(&e);
    callback_row_clear(&c);
    return rc;
}

int wfx_callback_submitted(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                           const char *id, cJSON *result)
{
    int rc = wfx_event(tx, r, "TaskSubmitted", r->state, "output", result, NULL, NULL);
    return rc == TC_OK ? settle(tx, r, machine, input, id) : rc;
}

int wfx_callback_step(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine)
{
    cJSON *input = wfx_parse_or_null(r->state_input);
    int rc;
    if (!input) {
        rc = TC_ENOMEM;
    } else if (!r->callback_id) { /* phase 'callback' is always written with its token */
        asl_err_t e = {0};
        asl_err_set(&e, "States.Runtime", "state %s waits on no task token", r->state);
        rc = wfx_task_failed(tx, r, machine, input, &e);
        asl_err_clear(&e);
    } else {
        rc = settle(tx, r, machine, input, r->callback_id);
    }
    cJSON_Delete(input);
    return rc;
}
