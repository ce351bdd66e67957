/*
 * workflow_model.h: the workflow domain without I/O — plan limits (seed 004 §3.4), the
 * request bodies of workflows and executions, the definition checks around asl_validate, and
 * execution statuses. The States Language itself is asl.h.
 */
#ifndef WORKFLOW_MODEL_H
#define WORKFLOW_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_json.h"

/* Sizes in bytes; a definition and a payload as compact JSON (Step Functions: 1 MiB and
 * 256 KiB). */
#define WF_NAME_MAX        128
#define WF_DESCRIPTION_MAX 1000
#define WF_DEFINITION_MAX  (1024 * 1024)
#define WF_PAYLOAD_MAX     (256 * 1024)
#define WF_UNLIMITED       (-1)

/* What an org's plan allows (WF_UNLIMITED for no limit). */
typedef struct {
    const char *plan; /* the plan these limits are for */
    int64_t workflows;
    int64_t executions_per_month;
    int steps; /* states per workflow, every nesting level counted */
} wf_limits_t;

/* The limits of plan; an unknown or absent plan (and "free") gets the limits of free_as
 * ("starter" unless configured). */
void wf_plan_limits(const char *plan, const char *free_as, wf_limits_t *out);
/* Is name a plan wf_plan_limits knows ("free", "starter", "professional", "enterprise"). */
bool wf_plan_known(const char *name);

/* The Task resources the fleet offers today (NULL-terminated), for asl_validate. */
extern const char *const wf_resources[];

/* Callback Tasks (Step Functions' .waitForTaskToken integration pattern): a Task whose
 * Resource is one of WF_CALLBACK_BASES (or tc:integration:…) followed by WF_CALLBACK_SUFFIX
 * passes its task token ($$.Task.Token, a secret of WF_TASK_TOKEN_MAX bytes at most) to what
 * it calls, then waits for an answer with it. */
#define WF_CALLBACK_SUFFIX ".waitForTaskToken"
#define WF_TASK_TOKEN_MAX  128
#define WF_ERROR_NAME_MAX  256
#define WF_CAUSE_MAX       32768
/* Is resource a callback Task's; base (n bytes) gets the resource it calls. */
bool wf_callback_resource(const char *resource, char *base, size_t n);

/* POST /v1/executions/task-token/{success,failure,heartbeat}: {task_token, output} (any JSON,
 * at most WF_PAYLOAD_MAX bytes), {task_token, error?, cause?} (error: not a "States." name,
 * those are the platform's), {task_token}. */
typedef enum { WF_TOKEN_SUCCESS, WF_TOKEN_FAILURE, WF_TOKEN_HEARTBEAT } wf_token_answer_t;
void wf_validate_task_answer(tc_jv_t *jv, const cJSON *body, wf_token_answer_t kind);

/* POST /v1/workflows {name, description?, definition} and PATCH (every field optional, at
 * least one). The definition is checked with asl_validate against the plan's steps; each
 * problem becomes a field "definition.<path>" of the 422. *over_limit tells that a problem is
 * the plan's limit (the 422 names it). */
void wf_validate_workflow(tc_jv_t *jv, const cJSON *body, bool create, const wf_limits_t *lim,
                          bool *over_limit);

/* POST /v1/workflows/{id}/execute {input?, name?}: input defaults to {}, at most
 * WF_PAYLOAD_MAX bytes as JSON. */
void wf_validate_execute(tc_jv_t *jv, const cJSON *body);

/* Execution statuses (Step Functions' names): the filter of the executions list. */
bool wf_status_valid(const char *status);

/* "2026-12-01" for the calendar month (UTC) of ms: the key of the monthly counter. */
void wf_month_of(int64_t ms, char out[11]);

/* The graph of a definition for the console: {"nodes": [{id, type, parent?, end?}],
 * "edges": [{from, to, kind: next|choice|default|catch}]}; Parallel branches and Map
 * processors nest by "parent" (ids of nested states are "<parent>/<branch>/<name>"). */
cJSON *wf_graph(const cJSON *definition);

#endif
