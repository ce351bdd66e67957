/*
 * The executor: worker threads that drive executions one state at a time, every step a
 * transaction. A worker claims the RUNNING execution due first (FOR UPDATE SKIP LOCKED, so
 * replicas and workers share the work without coordination), enters its state with the ASL
 * model, records the history events and the next state, and commits: a crash at any point
 * leaves the execution at the last committed state, and another worker (or replica) goes on
 * from there. A completed state is never run again.
 *
 * A Task is the one step that leaves the transaction: the worker commits the Task as
 * scheduled under a lease (a token, due when the Task's timeout plus a grace period runs
 * out), calls the resource outside any transaction, and applies the result only while the
 * execution still holds that lease (a cancel, or a worker that took over after the lease ran
 * out, makes the late result void). A worker that dies mid-call is replaced when the lease
 * expires: the same attempt runs again with the same idempotency key.
 *
 * Starts on this replica wake a worker at once (executor_kick); other replicas' starts and
 * due timers are found by polling every WORKFLOW_POLL_MS.
 */
#include "asl.h"
#include "events_out.h"
#include "executor_internal.h"
#include "store.h"
#include "task_http.h"
#include "task_integration.h"
#include "task_ml.h"
#include "task_notify.h"
#include "task_workflow.h"
#include "workflow_app.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAUSE_KEEP 32000 /* bytes of a cause kept (the events' schema allows 32768) */
/* Pure states run in one transaction before it commits (see pure_step). */
#define WF_BATCH_STEPS 32

static void task_clear(wf_task_t *t)
{
    free(t->resource);
    cJSON_Delete(t->params);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ context */

cJSON *wfx_parse_or_null(const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    return v ? v : cJSON_CreateNull();
}

static int retry_count(const exec_row_t *r)
{
    int n = 0;
    for (int i = 0; i < 32; i++)
        n += r->retries[i];
    return n;
}

/* The Context object ($$) of the state being run: a branch's Execution is its root's. */
cJSON *wfx_context_of(const exec_row_t *r, const char *state, bool entering, int attempt)
{
    char now[TC_RFC3339_LEN], token[TC_ID_MAX + ASL_NAME_MAX + 16];
    tc_time_format(r->now_ms, now);
    snprintf(token, sizeof token, "%s:%s:%d", r->id, state, attempt);
    cJSON *ctx = cJSON_CreateObject();
    cJSON *ex = cJSON_AddObjectToObject(ctx, "Execution");
    cJSON *sm = cJSON_AddObjectToObject(ctx, "StateMachine");
    cJSON *st = cJSON_AddObjectToObject(ctx, "State");
    cJSON *task = cJSON_AddObjectToObject(ctx, "Task");
    cJSON *input = wfx_parse_or_null(r->root_input ? r->root_input : r->input);
    const char *started = r->root_started_at ? r->root_started_at : r->started_at;
    bool ok = ctx && ex && sm && st && task && input &&
              cJSON_AddStringToObject(ex, "Id", r->root_id) &&
              cJSON_AddItemToObject(ex, "Input", input) &&
              cJSON_AddStringToObject(ex, "Name", r->root_id) &&
              cJSON_AddStringToObject(ex, "StartTime", started ? started : now) &&
              cJSON_AddStringToObject(sm, "Id", r->workflow_id) &&
              cJSON_AddStringToObject(sm, "Name", r->workflow_name ? r->workflow_name : "") &&
              cJSON_AddStringToObject(st, "Name", state) &&
              cJSON_AddStringToObject(st, "EnteredTime",
                                      entering || !r->entered_at ? now : r->entered_at) &&
              cJSON_AddNumberToObject(st, "RetryCount", retry_count(r)) &&
              cJSON_AddStringToObject(task, "Token", token);
    if (!ok) {
        if (!cJSON_IsObject(ex) || !cJSON_GetObjectItemCaseSensitive(ex, "Input"))
            cJSON_Delete(input);
        cJSON_Delete(ctx);
        return NULL;
    }
    return ctx;
}

/* ------------------------------------------------------------------ writing steps */

char *wfx_json_text(const cJSON *v)
{
    return v ? cJSON_PrintUnformatted(v) : NULL;
}

const char *wfx_state_type(const cJSON *def, const char *name)
{
    const char *t = tc_json_get_str(asl_state(def, name), "Type");
    return t ? t : "Unknown";
}

int wfx_event(tc_dbconn_t *tx, exec_row_t *r, const char *type, const char *state, const char *k1,
              cJSON *v1, const char *k2, cJSON *v2)
{
    cJSON *d = cJSON_CreateObject();
    bool ok = d != NULL;
    if (ok && k1)
        ok = v1 && cJSON_AddItemToObject(d, k1, v1) && (v1 = NULL, true);
    if (ok && k2)
        ok = v2 && cJSON_AddItemToObject(d, k2, v2) && (v2 = NULL, true);
    cJSON_Delete(v1);
    cJSON_Delete(v2);
    int rc = ok ? store_exec_event(tx, r, type, state, d) : TC_ENOMEM;
    cJSON_Delete(d);
    return rc;
}

cJSON *wfx_dup_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

static void keep_cause(char *cause)
{
    if (!cause || strlen(cause) <= CAUSE_KEEP)
        return;
    size_t n = CAUSE_KEEP;
    while (n > 0 && ((unsigned char)cause[n] & 0xC0) == 0x80)
        n--; /* not inside a UTF-8 sequence */
    cause[n] = '\0';
}

/* Ends the execution: its history event, the row, and its events. */
int wfx_finish(tc_dbconn_t *tx, exec_row_t *r, const char *status, const cJSON *output,
               asl_err_t *err)
{
    static const struct {
        const char *status, *event;
    } names[] = {{"SUCCEEDED", "ExecutionSucceeded"},
                 {"FAILED", "ExecutionFailed"},
                 {"TIMED_OUT", "ExecutionTimedOut"},
                 {"ABORTED", "ExecutionAborted"}};
    const char *ev = "ExecutionFailed";
    for (size_t i = 0; i < TC_ARRAY_LEN(names); i++)
        if (strcmp(names[i].status, status) == 0)
            ev = names[i].event;
    if (err)
        keep_cause(err->cause);
    int rc = output ? wfx_event(tx, r, ev, NULL, "output", wfx_dup_or_null(output), NULL, NULL)
                    : wfx_event(tx, r, ev, NULL, "error", cJSON_CreateString(err->error), "cause",
                                err->cause ? cJSON_CreateString(err->cause) : cJSON_CreateNull());
    char *out = wfx_json_text(output);
    if (rc == TC_OK && output && !out)
        rc = TC_ENOMEM;
    exec_save_t s = {.status = status,
                     .state = r->state,
                     .state_input = r->state_input,
                     .steps = r->steps,
                     .attempt = r->attempt,
                     .due_in_ms = -1,
                     .output = out,
                     .error = err ? err->error : NULL,
                     .cause = err ? err->cause : NULL};
    if (rc == TC_OK)
        rc = store_exec_save(tx, r, &s);
    free(out);
    /* branches of its own still running (a Parallel or Map state it was in) stop with it */
    if (rc == TC_OK)
        rc = store_branch_abort(tx, r->id, "its parent execution stopped", NULL);
    /* so does a child workflow it waited for */
    if (rc == TC_OK && r->phase && strcmp(r->phase, "child") == 0)
        rc = store_child_release(tx, r->id);
    if (r->parent_id[0])
        return rc == TC_OK ? wfx_branch_joined(tx, r, status, err) : rc;
    /* a child workflow: its caller, if it still waits, reads how it stopped */
    if (rc == TC_OK && r->caller_id[0] && r->caller_token)
        rc = store_child_wake(tx, r->caller_id, r->caller_token);
    cJSON *ex = NULL;
    if (rc == TC_OK)
        rc = store_exec_get(tx, r->org_id, r->id, &ex);
    if (rc == TC_OK)
        rc = events_execution(tx, r->org_id, ex);
    cJSON_Delete(ex);
    return rc;
}

/* Moves on to state next with input (or ends the execution when next is empty). */
int wfx_go_next(tc_dbconn_t *tx, exec_row_t *r, const char *next, const cJSON *input)
{
    if (!next || !next[0])
        return wfx_finish(tx, r, "SUCCEEDED", input, NULL);
    char *in = wfx_json_text(input);
    if (!in)
        return TC_ENOMEM;
    int rc;
    if (strlen(in) > WF_PAYLOAD_MAX) {
        asl_err_t e = {0};
        asl_err_set(&e, "States.DataLimitExceeded", "the input of state %s is larger than %d bytes",
                    next, WF_PAYLOAD_MAX);
        rc = wfx_finish(tx, r, "FAILED", NULL, &e);
        asl_err_clear(&e);
    } else {
        exec_save_t s = {.status = "RUNNING",
                         .state = next,
                         .state_input = in,
                         .phase = "enter",
                         .steps = r->steps,
                         .entered = true,
                         .due_in_ms = 0};
        rc = store_exec_save(tx, r, &s);
    }
    free(in);
    return rc;
}

int wfx_task_failed(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                    asl_err_t *err)
{
    bool timeout = strcmp(err->error, "States.Timeout") == 0 ||
                   strcmp(err->error, "States.HeartbeatTimeout") == 0;
    int rc = wfx_event(tx, r, timeout ? "TaskTimedOut" : "TaskFailed", r->state, "error",
                       cJSON_CreateString(err->error), "cause",
                       cJSON_CreateString(err->cause ? err->cause : ""));
    return rc == TC_OK ? wfx_recover(tx, r, machine, input, err) : rc;
}

int wfx_task_succeeded(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                       cJSON *result)
{
    int rc = wfx_event(tx, r, "TaskSucceeded", r->state, "output", cJSON_Duplicate(result, 1), NULL,
                       NULL);
    if (rc != TC_OK) {
        cJSON_Delete(result);
        return rc;
    }
    return wfx_complete(tx, r, machine, input, result);
}

static double unit_random(void)
{
    uint32_t v = 0;
    if (tc_random_bytes(&v, sizeof v) != TC_OK)
        return 0.5;
    return (double)v / 4294967296.0;
}

/* An error raised in the current state: retry, catch or fail, as the state says. */
int wfx_recover(tc_dbconn_t *tx, exec_row_t *r, const cJSON *def, const cJSON *input,
                asl_err_t *err)
{
    asl_recovery_t rec = {0};
    int rc = asl_recover(def, r->state, input, err, r->retries, unit_random(), &rec);
    if (rc != TC_OK)
        return rc;
    if (rec.kind == ASL_RECOVER_RETRY) {
        r->retries[rec.retry_index]++;
        cJSON *d = cJSON_CreateObject();
        rc = d && cJSON_AddStringToObject(d, "error", err->error) &&
                     cJSON_AddStringToObject(d, "cause", err->cause ? err->cause : "") &&
                     cJSON_AddNumberToObject(d, "retrier", rec.retry_index) &&
                     cJSON_AddNumberToObject(d, "retry", r->retries[rec.retry_index]) &&
                     cJSON_AddNumberToObject(d, "delay_ms", (double)rec.delay_ms)
                 ? store_exec_event(tx, r, "RetryScheduled", r->state, d)
                 : TC_ENOMEM;
        cJSON_Delete(d);
        exec_save_t s = {.status = "RUNNING",
                         .state = r->state,
                         .state_input = r->state_input,
                         .phase = "enter",
                         .retries = r->retries,
                         .nretries = 32,
                         .attempt = r->attempt,
                         .steps = r->steps,
                         .due_in_ms = rec.delay_ms};
        if (rc == TC_OK)
            rc = store_exec_save(tx, r, &s);
    } else if (rec.kind == ASL_RECOVER_CATCH) {
        rc = wfx_event(tx, r, "StateCaught", r->state, "error", cJSON_CreateString(err->error),
                       "next", cJSON_CreateString(rec.next));
        if (rc == TC_OK)
            rc = wfx_go_next(tx, r, rec.next, rec.output);
    } else {
        rc = wfx_finish(tx, r, "FAILED", NULL, err);
    }
    asl_recovery_clear(&rec);
    return rc;
}

/* The Task is scheduled under a fresh lease; the worker calls it after the commit. A callback
 * Task (callback_id: its token's row) calls its base resource within the call timeout, then
 * waits for the answer. */
static int schedule_task(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, asl_step_t *st,
                         int attempt, const char *callback_id, wf_task_t *task)
{
    char base[256];
    bool callback = callback_id && wf_callback_resource(st->resource, base, sizeof base);
    char *params = wfx_json_text(st->params);
    if (!params)
        return TC_ENOMEM;
    /* a callback Task's TimeoutSeconds bounds its wait for the answer; the call is a call */
    int timeout_s = st->timeout_s > 0 ? st->timeout_s : app->task_timeout_s;
    if (callback && timeout_s > app->task_timeout_s)
        timeout_s = app->task_timeout_s;
    int rc = tc_id_new("lease", task->lease, sizeof task->lease);
    if (rc == TC_OK)
        rc = wfx_event(tx, r, "TaskScheduled", r->state, "resource",
                       cJSON_CreateString(st->resource), "parameters",
                       cJSON_Duplicate(st->params, 1));
    exec_save_t s = {.status = "RUNNING",
                     .state = r->state,
                     .state_input = r->state_input,
                     .phase = "task",
                     .task_params = params,
                     .lease_token = task->lease,
                     .callback_id = callback ? callback_id : NULL,
                     .retries = r->retries,
                     .nretries = 32,
                     .attempt = attempt,
                     .steps = r->steps,
                     .due_in_ms = (int64_t)timeout_s * 1000 + app->lease_grace_ms};
    if (rc == TC_OK)
        rc = store_exec_save(tx, r, &s);
    free(params);
    if (rc != TC_OK)
        return rc;
    task->pending = true;
    task->timeout_s = timeout_s;
    snprintf(task->org_id, sizeof task->org_id, "%s", r->org_id);
    snprintf(task->key, sizeof task->key, "%s:%s:%d", r->id, r->state, attempt);
    task->resource = strdup(callback ? base : st->resource);
    task->params = st->params;
    st->params = NULL;
    return task->resource ? TC_OK : TC_ENOMEM;
}

/* A tc:notify Task: the request is an event in this transaction, so the state completes at
 * once and a crash cannot ask twice (nothing runs outside the database). */
static int run_notify(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                      asl_step_t *st, const char *callback_id)
{
    char now[TC_RFC3339_LEN];
    cJSON *data = NULL, *result = NULL;
    asl_err_t e = {0};
    tc_time_format(r->now_ms, now);
    r->attempt++;
    int rc =
        wfx_event(tx, r, "TaskScheduled", r->state, "resource", cJSON_CreateString(st->resource),
                  "parameters", cJSON_Duplicate(st->params, 1));
    if (rc == TC_OK)
        rc = task_notify_build(st->params, r->org_id, now, &data, &result, &e);
    if (rc == TC_EINVAL) {
        rc = wfx_task_failed(tx, r, machine, input, &e);
    } else if (rc == TC_OK) {
        const char *user = tc_json_get_str(cJSON_GetObjectItemCaseSensitive(data, "to"), "user_id");
        rc = tc_emit(tx, TC_EV_NOTIFICATION_REQUESTED, user, data);
        data = NULL;
        if (rc == TC_OK) {
            /* a callback Task waits for whoever the notification reached to answer */
            rc = callback_id ? wfx_callback_submitted(tx, r, machine, input, callback_id, result)
                             : wfx_task_succeeded(tx, r, machine, input, result);
            result = NULL;
        }
    }
    cJSON_Delete(data);
    cJSON_Delete(result);
    asl_err_clear(&e);
    return rc;
}

/* Enters the current state. */
static int enter(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *def,
                 wf_task_t *task)
{
    cJSON *input = wfx_parse_or_null(r->state_input);
    cJSON *ctx = wfx_context_of(r, r->state, true, r->attempt + 1);
    uint8_t uuid[16];
    asl_step_t st = {0};
    int rc = input && ctx ? tc_random_bytes(uuid, sizeof uuid) : TC_ENOMEM;
    const char *type = wfx_state_type(def, r->state);
    char secret[WF_TASK_TOKEN_MAX], callback_id[TC_ID_MAX] = "", base[256] = "";
    bool callback = strcmp(type, "Task") == 0 &&
                    wf_callback_resource(tc_json_get_str(asl_state(def, r->state), "Resource"),
                                         base, sizeof base);
    if (rc == TC_OK && callback)
        rc = wfx_callback_token(ctx, secret, callback_id);
    char entered[64], exited[64];
    snprintf(entered, sizeof entered, "%sStateEntered", type);
    snprintf(exited, sizeof exited, "%sStateExited", type);
    r->steps++;
    if (rc == TC_OK && r->steps > app->max_steps) {
        asl_err_t e = {0};
        asl_err_set(&e, "States.Runtime", "the execution entered more than %d states",
                    app->max_steps);
        rc = wfx_finish(tx, r, "FAILED", NULL, &e);
        asl_err_clear(&e);
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = asl_enter(def, r->state, input, ctx, r->now_ms, uuid, &st);
    if (rc == TC_OK)
        rc = wfx_event(tx, r, entered, r->state, "input", cJSON_Duplicate(input, 1), NULL, NULL);
    if (rc != TC_OK)
        goto cleanup;
    switch (st.kind) {
    case ASL_NEXT:
    case ASL_SUCCEED:
        rc = wfx_event(tx, r, exited, r->state, "output", wfx_dup_or_null(st.output), NULL, NULL);
        if (rc == TC_OK)
            rc = wfx_go_next(tx, r, st.kind == ASL_NEXT ? st.next : "", st.output);
        break;
    case ASL_FAIL:
        rc = wfx_recover(tx, r, def, input, &st.err);
        break;
    case ASL_WAIT: {
        char *out = wfx_json_text(st.output);
        exec_save_t s = {.status = "RUNNING",
                         .state = r->state,
                         .state_input = r->state_input,
                         .phase = "wait",
                         .next_state = st.next,
                         .next_input = out,
                         .steps = r->steps,
                         .due_in_ms = st.due_ms > r->now_ms ? st.due_ms - r->now_ms : 0};
        rc = out ? store_exec_save(tx, r, &s) : TC_ENOMEM;
        free(out);
        break;
    }
    case ASL_TASK: {
        bool waits;
        if (callback)
            rc = wfx_callback_open(tx, r, callback_id, secret, &st);
        if (rc != TC_OK)
            break;
        if (strcmp(callback ? base : st.resource, "tc:notify") == 0)
            rc = run_notify(tx, r, def, input, &st, callback ? callback_id : NULL);
        else if (task_workflow_resource(st.resource, &waits))
            rc = wfx_child_start(app, tx, r, def, input, &st, task);
        else
            rc =
                schedule_task(app, tx, r, &st, r->attempt + 1, callback ? callback_id : NULL, task);
        break;
    }
    case ASL_PARALLEL:
    case ASL_MAP:
        rc = wfx_branches_start(app, tx, r, def, &st, task);
        break;
    }
cleanup:
    asl_step_clear(&st);
    cJSON_Delete(input);
    cJSON_Delete(ctx);
    return rc;
}

/* A Wait state's timer fired. */
static int wake(tc_dbconn_t *tx, exec_row_t *r)
{
    cJSON *out = wfx_parse_or_null(r->next_input);
    int rc = wfx_event(tx, r, "WaitStateExited", r->state, "output", cJSON_Duplicate(out, 1), NULL,
                       NULL);
    if (rc == TC_OK)
        rc = wfx_go_next(tx, r, r->next_state, out);
    cJSON_Delete(out);
    return rc;
}

/* A Task whose lease ran out: its worker is gone. The same attempt runs again, with the
 * same parameters and idempotency key. */
static int resume_task(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *def,
                       wf_task_t *task)
{
    const cJSON *state = asl_state(def, r->state);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(state, "TimeoutSeconds");
    asl_step_t st = {.kind = ASL_TASK,
                     .resource = tc_json_get_str(state, "Resource"),
                     .params = wfx_parse_or_null(r->task_params),
                     .timeout_s = cJSON_IsNumber(to) ? (int)to->valuedouble : 0};
    int rc = st.resource && st.params ? wfx_event(tx, r, "TaskLeaseExpired", r->state, "attempt",
                                                  cJSON_CreateNumber(r->attempt), NULL, NULL)
                                      : TC_ENOMEM;
    if (rc == TC_OK)
        rc = schedule_task(app, tx, r, &st, r->attempt > 0 ? r->attempt : 1, r->callback_id, task);
    cJSON_Delete(st.params);
    return rc;
}

/* A branch whose parent, or a child workflow whose caller, no longer waits for it (cancelled,
 * timed out, failed, or the state retried or caught): it stops without a word to it. */
static int orphaned(tc_dbconn_t *tx, exec_row_t *r)
{
    asl_err_t e = {0};
    asl_err_set(&e, "States.Aborted",
                r->parent_id[0] ? "its parent execution no longer waits for it"
                                : "the execution that started it no longer waits for it");
    int rc = wfx_finish(tx, r, "ABORTED", NULL, &e);
    asl_err_clear(&e);
    return rc;
}

/* One step of the claimed execution, inside tx. */
static int step(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *def,
                wf_task_t *task)
{
    if (!r->parent_waits)
        return orphaned(tx, r);
    if (r->deadline_ms > 0 && r->now_ms >= r->deadline_ms) {
        asl_err_t e = {0};
        asl_err_set(&e, "States.Timeout", "the execution ran longer than its TimeoutSeconds");
        int rc = wfx_finish(tx, r, "TIMED_OUT", NULL, &e);
        asl_err_clear(&e);
        return rc;
    }
    if (strcmp(r->phase, "wait") == 0)
        return wake(tx, r);
    if (strcmp(r->phase, "task") == 0)
        return resume_task(app, tx, r, def, task);
    if (strcmp(r->phase, "branches") == 0)
        return wfx_branches_step(app, tx, r, def, task);
    if (strcmp(r->phase, "child") == 0)
        return wfx_child_step(tx, r, def);
    if (strcmp(r->phase, "callback") == 0)
        return wfx_callback_step(tx, r, def);
    return enter(app, tx, r, def, task);
}

/* ------------------------------------------------------------------ tasks */

static int call_resource(workflow_app_t *app, const wf_task_t *t, cJSON **result, asl_err_t *err)
{
    if (strcmp(t->resource, "tc:http") == 0)
        return task_http_run(&app->egress, t->params, t->key, t->timeout_s, result, err);
    const char *model = task_ml_model(t->resource);
    if (model)
        return task_ml_run(app->svctoken, app->ml_url, t->org_id, model, t->params, t->key,
                           t->timeout_s, result, err);
    if (strncmp(t->resource, INTEGRATION_RESOURCE_PREFIX, strlen(INTEGRATION_RESOURCE_PREFIX)) == 0)
        return task_integration_run(app->svctoken, app->hub_url, t->org_id, t->resource, t->params,
                                    t->key, t->timeout_s, result, err);
    asl_err_set(err, "States.Runtime", "the resource %s is not available", t->resource);
    return TC_ERROR;
}

int wfx_complete(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                 cJSON *result)
{
    asl_step_t st = {0};
    cJSON *ctx = wfx_context_of(r, r->state, false, r->attempt);
    int rc = ctx ? asl_complete(machine, r->state, input, result, ctx, &st) : TC_ENOMEM;
    if (!ctx)
        cJSON_Delete(result);
    if (rc == TC_OK && st.kind == ASL_FAIL) {
        rc = wfx_recover(tx, r, machine, input, &st.err);
    } else if (rc == TC_OK) {
        char exited[64];
        snprintf(exited, sizeof exited, "%sStateExited", wfx_state_type(machine, r->state));
        rc = wfx_event(tx, r, exited, r->state, "output", wfx_dup_or_null(st.output), NULL, NULL);
        if (rc == TC_OK)
            rc = wfx_go_next(tx, r, st.kind == ASL_NEXT ? st.next : "", st.output);
    }
    asl_step_clear(&st);
    cJSON_Delete(ctx);
    return rc;
}

/* Applies a Task's outcome, if the execution still holds the lease it ran under. */
static int apply_result(tc_dbconn_t *tx, const char *id, const wf_task_t *t, cJSON *result,
                        asl_err_t *err)
{
    exec_row_t r;
    int rc = store_exec_claim(tx, id, t->lease, &r);
    if (rc != TC_OK) {
        cJSON_Delete(result);
        return rc; /* TC_ENOTFOUND: cancelled, timed out, or another worker took over */
    }
    cJSON *def = cJSON_Parse(r.definition);
    const cJSON *machine = wfx_machine(def, &r);
    cJSON *input = wfx_parse_or_null(r.state_input);
    if (!machine || !input) {
        cJSON_Delete(result);
        rc = TC_ENOMEM;
    } else if (!r.parent_waits) {
        cJSON_Delete(result);
        rc = orphaned(tx, &r);
    } else if (!result) {
        rc = wfx_task_failed(tx, &r, machine, input, err);
    } else if (r.callback_id) {
        rc = wfx_callback_submitted(tx, &r, machine, input, r.callback_id, result);
    } else {
        rc = wfx_task_succeeded(tx, &r, machine, input, result);
    }
    cJSON_Delete(input);
    cJSON_Delete(def);
    exec_row_clear(&r);
    return rc;
}

/* ------------------------------------------------------------------ workers */

/* Runs the Task committed as scheduled, then applies its outcome in a new transaction. */
static void run_task(workflow_app_t *app, const char *id, wf_task_t *t)
{
    cJSON *result = NULL;
    asl_err_t err = {0};
    if (call_resource(app, t, &result, &err) != TC_OK) {
        cJSON_Delete(result);
        result = NULL;
    }
    tc_dbconn_t *tx;
    int rc = wf_tx_begin(app, &tx);
    if (rc == TC_OK)
        rc = wf_tx_end(app, tx, apply_result(tx, id, t, result, &err));
    else
        cJSON_Delete(result);
    if (rc != TC_OK && rc != TC_ENOTFOUND)
        /* the lease runs out and the Task runs again with the same key */
        tc_log_kv(TC_LOG_WARN, "task outcome not recorded", "execution", id, "error",
                  tc_strerror(rc), NULL);
    asl_err_clear(&err);
}

/* Is the execution's next step one without effects outside the database (a Pass, Choice,
 * Succeed or Fail state to enter)? Such steps run on in the same transaction: each is
 * committed before anything outside can see or depend on it (the next Task call, a timer, the
 * API), and a crash before the commit only makes them run again with the same outcome. */
static bool pure_step(const cJSON *def, const exec_row_t *r)
{
    static const char *const pure[] = {"Pass", "Choice", "Succeed", "Fail", NULL};
    if (!r->phase || strcmp(r->phase, "enter") != 0 || !r->state)
        return false;
    const char *type = wfx_state_type(def, r->state);
    for (size_t i = 0; pure[i]; i++)
        if (strcmp(type, pure[i]) == 0)
            return true;
    return false;
}

/* Steps the claimed execution on while its next step is pure (at most WF_BATCH_STEPS). */
static int step_on(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *def,
                   wf_task_t *task)
{
    int rc = step(app, tx, r, def, task);
    for (int n = 1; rc == TC_OK && !task->pending && n < WF_BATCH_STEPS; n++) {
        exec_row_t next;
        int crc = store_exec_claim(tx, r->id, NULL, &next);
        if (crc != TC_OK) /* finished, waiting, or retrying later */
            return crc == TC_ENOTFOUND ? TC_OK : crc;
        if (!pure_step(def, &next)) {
            exec_row_clear(&next);
            break;
        }
        exec_row_clear(r);
        *r = next;
        rc = step(app, tx, r, def, task);
    }
    return rc;
}

/* Claims one due execution (of the next org with due work: orgs take turns) and runs it as
 * far as it goes without an outside effect: TC_OK when there was work. */
static int run_one(wf_worker_t *w)
{
    workflow_app_t *app = w->app;
    tc_dbconn_t *tx;
    int rc = wf_tx_begin(app, &tx);
    if (rc != TC_OK)
        return rc;
    exec_row_t r;
    wf_task_t task = {0};
    rc = store_exec_claim_next(tx, w->last_org, &r);
    if (rc != TC_OK) {
        wf_tx_end(app, tx, rc);
        return rc;
    }
    snprintf(w->last_org, sizeof w->last_org, "%s", r.org_id);
    cJSON *def = cJSON_Parse(r.definition);
    const cJSON *machine = wfx_machine(def, &r);
    if (!def) {
        rc = TC_ENOMEM;
    } else if (!machine) { /* a validated definition always has the branch */
        asl_err_t e = {0};
        asl_err_set(&e, "States.Runtime",
                    "the branch this execution runs is not in its definition");
        rc = wfx_finish(tx, &r, "FAILED", NULL, &e);
        asl_err_clear(&e);
    } else {
        rc = step_on(app, tx, &r, machine, &task);
    }
    rc = wf_tx_end(app, tx, rc);
    for (int i = 0; rc == TC_OK && i < task.kicks && i < app->nworkers; i++)
        executor_kick(app);
    if (rc == TC_OK && task.pending)
        run_task(app, r.id, &task);
    else if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "execution step not recorded; it runs again", "execution", r.id,
                  "error", tc_strerror(rc), NULL);
    cJSON_Delete(def);
    task_clear(&task);
    exec_row_clear(&r);
    return rc == TC_OK ? TC_OK : TC_ERROR;
}

/* A worker's life: steps while there is due work, waits for a kick or the poll otherwise. */
static void worker_main(void *ud)
{
    wf_worker_t *w = ud;
    workflow_app_t *app = w->app;
    int failures = 0;
    while (!tc_service_stopping(app->svc)) {
        int rc = run_one(w);
        if (rc == TC_OK) {
            failures = 0;
            tc_wake_signal(&app->wake); /* there may be more: one more worker looks */
            continue;
        }
        if (rc != TC_ENOTFOUND && ++failures > 3)
            tc_sleep_ms(app->poll_ms); /* the database is failing: do not spin */
        tc_wake_idle(&app->wake, app->poll_ms);
    }
}

/* Branches left behind: a branch a cancel, a timeout or its parent's stop could not take at
 * once (a worker held it, or it is a branch of such a branch) stops here within a tick, at
 * every depth (each round reaches the branches of those the last round stopped). Child
 * workflows left behind by their caller fall due, and their workers abort them. */
static void sweep_main(void *ud)
{
    workflow_app_t *app = ud;
    int woken = 0;
    for (int round = 0; round < 16; round++) {
        tc_dbconn_t *tx;
        int stopped = 0;
        int rc = wf_tx_begin(app, &tx);
        if (rc == TC_OK)
            rc = wf_tx_end(app, tx, store_branch_sweep(tx, 500, &stopped));
        if (rc != TC_OK) {
            tc_log_kv(TC_LOG_WARN, "branch sweep failed", "error", tc_strerror(rc), NULL);
            break;
        }
        if (stopped == 0)
            break;
    }
    tc_dbconn_t *tx;
    int rc = wf_tx_begin(app, &tx);
    if (rc == TC_OK)
        rc = wf_tx_end(app, tx, store_child_sweep(tx, 500, &woken));
    if (rc != TC_OK)
        tc_log_kv(TC_LOG_WARN, "child sweep failed", "error", tc_strerror(rc), NULL);
    for (int i = 0; i < woken && i < app->nworkers; i++)
        executor_kick(app);
}

void executor_kick(workflow_app_t *app)
{
    tc_wake_signal(&app->wake);
}

int executor_start(workflow_app_t *app)
{
    int rc = tc_service_close_on_stop(app->svc, &app->wake);
    if (rc != TC_OK)
        return rc;
    for (int i = 0; i < app->nworkers; i++) {
        char name[32];
        snprintf(name, sizeof name, "executor-%d", i);
        app->workers[i] = (wf_worker_t){.app = app, .index = i};
        rc = tc_service_every(app->svc, name, 1, worker_main, &app->workers[i]);
        if (rc != TC_OK)
            return rc;
    }
    return tc_service_every(app->svc, "branch-sweeper", 1000, sweep_main, app);
}
