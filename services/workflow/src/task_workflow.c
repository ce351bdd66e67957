/* tc:workflow: a child execution's parameters and outcome (no I/O here). */
#include "task_workflow.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"

#include <stdlib.h>
#include <string.h>

bool task_workflow_resource(const char *resource, bool *waits)
{
    if (!resource)
        return false;
    *waits = strcmp(resource, "tc:workflow") == 0;
    return *waits || strcmp(resource, "tc:workflow:start") == 0;
}

static int invalid(asl_err_t *err, const char *why)
{
    asl_err_set(err, WORKFLOW_E_INVALID, "%s", why);
    return TC_EINVAL;
}

int task_workflow_parse(const cJSON *params, const char **workflow_id, char **input, asl_err_t *err)
{
    *workflow_id = NULL;
    *input = NULL;
    if (!cJSON_IsObject(params))
        return invalid(err, "Parameters must be an object");
    const cJSON *m;
    cJSON_ArrayForEach(m, params)
    {
        if (strcmp(m->string, "WorkflowId") != 0 && strcmp(m->string, "Input") != 0) {
            asl_err_set(err, WORKFLOW_E_INVALID,
                        "Parameters has the unknown member %s (WorkflowId and Input are known)",
                        m->string);
            return TC_EINVAL;
        }
    }
    const char *id = tc_json_get_str(params, "WorkflowId");
    if (!id || !tc_id_valid("wf", id))
        return invalid(err, "WorkflowId must be a workflow id (wf_…)");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(params, "Input");
    char *text = in ? cJSON_PrintUnformatted(in) : strdup("{}");
    if (!text)
        return TC_ENOMEM;
    if (strlen(text) > WF_PAYLOAD_MAX) {
        free(text);
        asl_err_set(err, WORKFLOW_E_INVALID, "Input is larger than %d bytes", WF_PAYLOAD_MAX);
        return TC_EINVAL;
    }
    *workflow_id = id;
    *input = text;
    return TC_OK;
}

static const char *error_of(const char *status)
{
    if (strcmp(status, "TIMED_OUT") == 0)
        return "Workflow.ExecutionTimedOut";
    if (strcmp(status, "ABORTED") == 0)
        return "Workflow.ExecutionAborted";
    return "Workflow.ExecutionFailed";
}

/* The failed child as the cause: what a Catch's ResultPath receives, parsed with
 * States.StringToJson if the next state wants it. */
static int failure(const task_child_t *c, asl_err_t *err)
{
    cJSON *cause = cJSON_CreateObject();
    bool ok = cause && cJSON_AddStringToObject(cause, "ExecutionId", c->id) &&
              cJSON_AddStringToObject(cause, "Status", c->status) &&
              (c->error ? cJSON_AddStringToObject(cause, "Error", c->error)
                        : cJSON_AddNullToObject(cause, "Error")) &&
              (c->cause ? cJSON_AddStringToObject(cause, "Cause", c->cause)
                        : cJSON_AddNullToObject(cause, "Cause"));
    char *text = ok ? cJSON_PrintUnformatted(cause) : NULL;
    cJSON_Delete(cause);
    if (!text)
        return TC_ENOMEM;
    asl_err_set(err, error_of(c->status), "%s", text);
    free(text);
    return TC_EINVAL;
}

int task_workflow_outcome(const task_child_t *c, cJSON **result, asl_err_t *err)
{
    *result = NULL;
    if (strcmp(c->status, "SUCCEEDED") != 0)
        return failure(c, err);
    cJSON *out = c->output ? cJSON_Parse(c->output) : cJSON_CreateNull();
    if (!out && c->output) { /* deeper than the JSON parser goes: no retry would help */
        asl_err_set(err, "States.DataLimitExceeded",
                    "the output of execution %s is nested too deeply to be read", c->id);
        return TC_EINVAL;
    }
    cJSON *r = cJSON_CreateObject();
    bool ok = out && r && cJSON_AddStringToObject(r, "ExecutionId", c->id) &&
              cJSON_AddStringToObject(r, "WorkflowId", c->workflow_id) &&
              cJSON_AddStringToObject(r, "Status", c->status) &&
              cJSON_AddItemToObject(r, "Output", out) &&
              cJSON_AddStringToObject(r, "StartDate", c->started_at ? c->started_at : "") &&
              cJSON_AddStringToObject(r, "StopDate", c->stopped_at ? c->stopped_at : "");
    if (!ok) {
        if (!cJSON_GetObjectItemCaseSensitive(r, "Output"))
            cJSON_Delete(out);
        cJSON_Delete(r);
        return TC_ENOMEM;
    }
    *result = r;
    return TC_OK;
}

cJSON *task_workflow_started(const char *exec_id, const char *workflow_id, const char *started_at)
{
    cJSON *r = cJSON_CreateObject();
    if (r && cJSON_AddStringToObject(r, "ExecutionId", exec_id) &&
        cJSON_AddStringToObject(r, "WorkflowId", workflow_id) &&
        cJSON_AddStringToObject(r, "StartDate", started_at))
        return r;
    cJSON_Delete(r);
    return NULL;
}
