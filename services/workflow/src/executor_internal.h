/*
 * executor_internal.h: what the executor's files share (executor.c steps an execution,
 * executor_branches.c runs a Parallel's branches and a Map's items as child executions).
 * Every function works inside the claimed execution's transaction; history events are
 * appended to r's history.
 */
#ifndef WORKFLOW_EXECUTOR_INTERNAL_H
#define WORKFLOW_EXECUTOR_INTERNAL_H

#include "asl.h"
#include "store.h"
#include "workflow_app.h"

#include <cjson/cJSON.h>

/* What the worker does after the step's transaction commits. */
typedef struct {
    bool pending; /* a Task to call */
    char lease[TC_ID_MAX];
    char org_id[TC_ID_MAX];                  /* whose step it is (tc:ml meters it to the org) */
    char key[TC_ID_MAX + ASL_NAME_MAX + 16]; /* idempotency key */
    char *resource;
    cJSON *params;
    int timeout_s;
    int kicks; /* branches made due: wake as many idle workers */
} wf_task_t;

cJSON *wfx_parse_or_null(const char *text);
char *wfx_json_text(const cJSON *v);
cJSON *wfx_dup_or_null(const cJSON *v);
const char *wfx_state_type(const cJSON *machine, const char *name);
/* The Context object ($$) of state (a branch's Execution is its root's). */
cJSON *wfx_context_of(const exec_row_t *r, const char *state, bool entering, int attempt);

/* Appends a history event with up to two details (v1, v2 taken over, NULL keys skipped). */
int wfx_event(tc_dbconn_t *tx, exec_row_t *r, const char *type, const char *state, const char *k1,
              cJSON *v1, const char *k2, cJSON *v2);
/* Ends the execution with status (output on success, err otherwise): a root emits its
 * events, a branch joins its parent. */
int wfx_finish(tc_dbconn_t *tx, exec_row_t *r, const char *status, const cJSON *output,
               asl_err_t *err);
/* Moves on to state next (or ends the execution when next is empty). */
int wfx_go_next(tc_dbconn_t *tx, exec_row_t *r, const char *next, const cJSON *input);
/* An error raised in the current state: Retry, Catch or fail, as the state says. */
int wfx_recover(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                asl_err_t *err);
/* The Task failed with err (TaskFailed, or TaskTimedOut for a timeout), then Retry, Catch or
 * the execution's failure. */
int wfx_task_failed(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                    asl_err_t *err);
/* The Task succeeded with result (taken over): TaskSucceeded, then wfx_complete. */
int wfx_task_succeeded(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                       cJSON *result);
/* The state ended with its (Task's, branches') result: ResultSelector, ResultPath,
 * OutputPath, then the next state (or Retry/Catch when that data flow fails). */
int wfx_complete(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                 cJSON *result);

/* ---------------------------------------------------------------- executor_branches.c */

/* The machine ({"StartAt", "States"}) execution r runs: the definition itself at the root,
 * the branch at r->branch_path for a branch; NULL if the path does not lead to one. */
const cJSON *wfx_machine(const cJSON *def, const exec_row_t *r);
/* A Parallel or Map state was entered (st: its branches and items): starts the branches
 * and makes r wait for them. */
int wfx_branches_start(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine,
                       asl_step_t *st, wf_task_t *after);
/* r waits in phase 'branches' and is due: a branch stopped. Starts more of a Map's items,
 * or completes the state with the outputs, or raises the first branch's error. */
int wfx_branches_step(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine,
                      wf_task_t *after);
/* Branch r stopped with status: its parent, if it still waits for it, hears of it. */
int wfx_branch_joined(tc_dbconn_t *tx, exec_row_t *r, const char *status, const asl_err_t *err);

/* ---------------------------------------------------------------- executor_children.c */

/* A tc:workflow or tc:workflow:start Task is entered (st: its parameters): starts the child
 * execution, then completes the state (start) or makes r wait for the child (phase child). */
int wfx_child_start(workflow_app_t *app, tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine,
                    const cJSON *input, asl_step_t *st, wf_task_t *after);
/* r waits in phase 'child' and is due: its child stopped (the state completes with its output,
 * or raises its failure), or the Task's timeout ran out (States.Timeout; the child is left
 * to abort). */
int wfx_child_step(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine);

/* ---------------------------------------------------------------- executor_callbacks.c */

/* A callback Task is about to be entered: draws its token (secret, WF_TASK_TOKEN_MAX bytes)
 * and the id of its row, and puts the token in ctx as $$.Task.Token. */
int wfx_callback_token(cJSON *ctx, char *secret, char id[TC_ID_MAX]);
/* The callback Task r entered (st: its timeouts) waits on the token: its row, hash only. */
int wfx_callback_open(tc_dbconn_t *tx, const exec_row_t *r, const char *id, const char *secret,
                      const asl_step_t *st);
/* The call that carried the token succeeded with result (taken over; TaskSubmitted): an answer
 * that came meanwhile is applied now, else the state waits in phase 'callback' for one. */
int wfx_callback_submitted(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine, const cJSON *input,
                           const char *id, cJSON *result);
/* r waits in phase 'callback' and is due: an answer came (the state completes or fails with
 * it), or its timeout or heartbeat deadline ran out (States.Timeout, States.HeartbeatTimeout). */
int wfx_callback_step(tc_dbconn_t *tx, exec_row_t *r, const cJSON *machine);

#endif
