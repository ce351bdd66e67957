/* task_workflow: a tc:workflow Task's resources and Parameters, and the step's result or error
 * from how its child stopped. */
#include "task_workflow.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF  "wf_01JQ7T2M4N6P8R0S2V4X6Z8B1D"
#define EXE "exe_01JQ7T2M4N6P8R0S2V4X6Z8B1E"
#define T0  "2026-03-02T11:40:05.213Z"
#define T1  "2026-03-02T11:40:06.000Z"

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

static void refused(const char *text, const char *why)
{
    cJSON *p = parse(text);
    const char *id = "unchanged";
    char *input = (char *)"unchanged";
    asl_err_t e = {0};
    cr_assert_eq(task_workflow_parse(p, &id, &input, &e), TC_EINVAL, "%s", text);
    cr_assert_str_eq(e.error, WORKFLOW_E_INVALID);
    cr_assert(e.cause && strstr(e.cause, why), "%s: %s", text, e.cause ? e.cause : "(none)");
    cr_assert_null(id);
    cr_assert_null(input);
    asl_err_clear(&e);
    cJSON_Delete(p);
}

Test(resource, the_two_resources_and_whether_they_wait)
{
    bool waits = false;
    cr_assert(task_workflow_resource("tc:workflow", &waits));
    cr_assert(waits);
    cr_assert(task_workflow_resource("tc:workflow:start", &waits));
    cr_assert_not(waits);
    cr_assert_not(task_workflow_resource("tc:workflow:later", &waits));
    cr_assert_not(task_workflow_resource("tc:workflows", &waits));
    cr_assert_not(task_workflow_resource("tc:http", &waits));
    cr_assert_not(task_workflow_resource(NULL, &waits));
}

Test(parse, the_input_is_given_or_an_empty_object)
{
    cJSON *p = parse("{\"WorkflowId\":\"" WF "\",\"Input\":{\"n\":[1,2]}}");
    const char *id = NULL;
    char *input = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_workflow_parse(p, &id, &input, &e), TC_OK);
    cr_assert_str_eq(id, WF);
    cr_assert_str_eq(input, "{\"n\":[1,2]}");
    free(input);
    cJSON_Delete(p);

    p = parse("{\"WorkflowId\":\"" WF "\"}");
    cr_assert_eq(task_workflow_parse(p, &id, &input, &e), TC_OK);
    cr_assert_str_eq(input, "{}");
    free(input);
    cJSON_Delete(p);

    p = parse("{\"WorkflowId\":\"" WF "\",\"Input\":\"text\"}"); /* any JSON value */
    cr_assert_eq(task_workflow_parse(p, &id, &input, &e), TC_OK);
    cr_assert_str_eq(input, "\"text\"");
    free(input);
    cJSON_Delete(p);
}

Test(parse, parameters_that_are_not_a_start_say_why)
{
    refused("[]", "must be an object");
    refused("{}", "WorkflowId must be a workflow id");
    refused("{\"WorkflowId\":\"exe_01JQ7T2M4N6P8R0S2V4X6Z8B1D\"}", "WorkflowId must be");
    refused("{\"WorkflowId\":\"wf_nope\"}", "WorkflowId must be");
    refused("{\"WorkflowId\":42}", "WorkflowId must be");
    refused("{\"WorkflowId\":\"" WF "\",\"Name\":\"x\"}", "unknown member Name");
}

Test(parse, an_input_over_the_payload_limit_is_refused)
{
    size_t n = WF_PAYLOAD_MAX;
    char *big = malloc(n + 64);
    cr_assert_not_null(big);
    int o = snprintf(big, n + 64, "{\"WorkflowId\":\"" WF "\",\"Input\":\"");
    memset(big + o, 'a', n - 1);
    strcpy(big + o + n - 1, "\"}"); /* Input is n + 1 bytes as JSON */
    refused(big, "larger than");
    free(big);
}

Test(outcome, a_succeeded_child_gives_its_output)
{
    task_child_t c = {.id = EXE,
                      .workflow_id = WF,
                      .status = "SUCCEEDED",
                      .output = "{\"n\":42}",
                      .started_at = T0,
                      .stopped_at = T1};
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_workflow_outcome(&c, &r, &e), TC_OK);
    char *text = cJSON_PrintUnformatted(r);
    cr_assert_str_eq(text, "{\"ExecutionId\":\"" EXE "\",\"WorkflowId\":\"" WF
                           "\",\"Status\":\"SUCCEEDED\",\"Output\":{\"n\":42},\"StartDate\":\"" T0
                           "\",\"StopDate\":\"" T1 "\"}");
    free(text);
    cJSON_Delete(r);
    cr_assert_eq(e.error[0], '\0');
}

/* Each status that is not success is its own error; the cause is the child as JSON. */
static void failed_as(const char *status, const char *error, const char *cause)
{
    task_child_t c = {.id = EXE,
                      .workflow_id = WF,
                      .status = status,
                      .error = "Order.Invalid",
                      .cause = cause,
                      .started_at = T0,
                      .stopped_at = T1};
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_workflow_outcome(&c, &r, &e), TC_EINVAL);
    cr_assert_null(r);
    cr_assert_str_eq(e.error, error);
    cJSON *got = parse(e.cause);
    cr_assert_str_eq(tc_json_get_str(got, "ExecutionId"), EXE);
    cr_assert_str_eq(tc_json_get_str(got, "Status"), status);
    cr_assert_str_eq(tc_json_get_str(got, "Error"), "Order.Invalid");
    if (cause)
        cr_assert_str_eq(tc_json_get_str(got, "Cause"), cause);
    else
        cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(got, "Cause")));
    cJSON_Delete(got);
    asl_err_clear(&e);
}

Test(outcome, a_child_that_did_not_succeed_fails_the_step)
{
    failed_as("FAILED", "Workflow.ExecutionFailed", "no such \"order\"");
    failed_as("TIMED_OUT", "Workflow.ExecutionTimedOut", NULL);
    failed_as("ABORTED", "Workflow.ExecutionAborted", "cancelled by a user");
}

Test(outcome, an_output_too_deep_to_read_is_a_data_limit)
{
    size_t depth = 20000;
    char *deep = malloc(2 * depth + 1);
    cr_assert_not_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    task_child_t c = {.id = EXE, .workflow_id = WF, .status = "SUCCEEDED", .output = deep};
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_workflow_outcome(&c, &r, &e), TC_EINVAL);
    cr_assert_str_eq(e.error, "States.DataLimitExceeded");
    asl_err_clear(&e);
    free(deep);
}

Test(started, start_only_gives_the_child_at_once)
{
    cJSON *r = task_workflow_started(EXE, WF, T0);
    char *text = cJSON_PrintUnformatted(r);
    cr_assert_str_eq(text, "{\"ExecutionId\":\"" EXE "\",\"WorkflowId\":\"" WF
                           "\",\"StartDate\":\"" T0 "\"}");
    free(text);
    cJSON_Delete(r);
}
