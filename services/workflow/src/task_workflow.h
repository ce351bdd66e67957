/*
 * task_workflow.h: the tc:workflow Task resources — an execution of another workflow of the
 * org, started in the transaction that runs the Task (so a Task attempt starts exactly one,
 * whatever crashes), counted against the org's plan like any start:
 *
 *   tc:workflow         starts the child and waits for it to stop
 *   tc:workflow:start   starts the child and goes on at once
 *
 *   Parameters  {"WorkflowId": "wf_…", "Input": any JSON (default {})}
 *   result      tc:workflow: {"ExecutionId", "WorkflowId", "Status": "SUCCEEDED", "Output",
 *               "StartDate", "StopDate"}; tc:workflow:start: {"ExecutionId", "WorkflowId",
 *               "StartDate"}
 *   errors      (all Task errors, so States.TaskFailed catches them)
 *               Workflow.InvalidParameters  parameters that are not a start
 *               Workflow.NotFound           no such live workflow in the org
 *               Workflow.ExecutionLimitExceeded  the plan's executions per month are used up
 *               Workflow.CallDepthExceeded  the chain of calls is WF_CALL_DEPTH_MAX deep
 *               Workflow.ExecutionFailed, Workflow.ExecutionTimedOut,
 *               Workflow.ExecutionAborted   the child stopped so; the cause is
 *                                           {"ExecutionId", "Status", "Error", "Cause"} as JSON
 * The Task's TimeoutSeconds bounds the wait (States.Timeout, and the child is aborted); without
 * it the caller waits as long as the child runs (its own TimeoutSeconds, the caller's
 * execution TimeoutSeconds).
 */
#ifndef WORKFLOW_TASK_WORKFLOW_H
#define WORKFLOW_TASK_WORKFLOW_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "asl.h"

#define WORKFLOW_E_INVALID   "Workflow.InvalidParameters"
#define WORKFLOW_E_NOT_FOUND "Workflow.NotFound"
#define WORKFLOW_E_LIMIT     "Workflow.ExecutionLimitExceeded"
#define WORKFLOW_E_DEPTH     "Workflow.CallDepthExceeded"
/* How deep calls may chain: a workflow starting itself stops here rather than using up the
 * org's month. */
#define WF_CALL_DEPTH_MAX 8

/* Is resource one of the tc:workflow resources; *waits: whether it waits for the child. */
bool task_workflow_resource(const char *resource, bool *waits);

/* The child to start: *workflow_id points into params, *input is the JSON text (malloc'd,
 * the caller frees it). TC_EINVAL with err; TC_ENOMEM. */
int task_workflow_parse(const cJSON *params, const char **workflow_id, char **input,
                        asl_err_t *err);

/* How a child execution stopped, as its row says. */
typedef struct {
    const char *id, *workflow_id, *status, *output, *error, *cause, *started_at, *stopped_at;
} task_child_t;

/* A waited-for child stopped: TC_OK with *result (SUCCEEDED; owned by the caller), TC_EINVAL
 * with err (any other status), TC_ENOMEM. */
int task_workflow_outcome(const task_child_t *c, cJSON **result, asl_err_t *err);
/* tc:workflow:start's result (owned by the caller; NULL: out of memory). */
cJSON *task_workflow_started(const char *exec_id, const char *workflow_id, const char *started_at);

#endif
