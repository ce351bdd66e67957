/* task_integration: a tc:integration Task's resource, and the Task's result or error from the
 * integration hub's answer. */
#include "task_integration.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(target, the_resource_names_a_connection_and_an_action)
{
    char conn[INTEGRATION_ID_MAX], action[INTEGRATION_ACTION_MAX];
    cr_assert(task_integration_target("tc:integration:con_01ABC/post_message", conn, action));
    cr_assert_str_eq(conn, "con_01ABC");
    cr_assert_str_eq(action, "post_message");
    static const char *const bad[] = {
        "tc:integration:",
        "tc:integration:con_01ABC",
        "tc:integration:con_01ABC/",
        "tc:integration:con_/x",
        "tc:integration:whe_01ABC/x",
        "tc:integration:con_01ABC/Post",
        "tc:integration:con_01A-C/x",
        "tc:integration:con_01ABC/x/y",
        "tc:ml:x",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++)
        cr_assert_not(task_integration_target(bad[i], conn, action), "%s", bad[i]);
}

Test(result, a_2xx_is_the_steps_result)
{
    const char *body = "{\"ok\":true,\"status_code\":201,\"headers\":{\"x\":\"1\"},"
                       "\"body\":{\"id\":7},\"body_encoding\":\"json\",\"output\":7,"
                       "\"attempts\":2,\"duration_ms\":5}";
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_integration_result(200, body, &r, &e), TC_OK);
    char *text = cJSON_PrintUnformatted(r);
    cr_assert_str_eq(text, "{\"StatusCode\":201,\"Headers\":{\"x\":\"1\"},\"Body\":{\"id\":7},"
                           "\"BodyEncoding\":\"json\",\"Output\":7,\"Attempts\":2}");
    free(text);
    cJSON_Delete(r);
}

static void error_for(long status, const char *body, const char *error, const char *cause)
{
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_integration_result(status, body, &r, &e), TC_ERROR, "%ld", status);
    cr_assert_null(r);
    cr_assert_str_eq(e.error, error, "%ld %s", status, body ? body : "");
    cr_assert_not_null(strstr(e.cause, cause), "%s", e.cause);
    asl_err_clear(&e);
}

Test(result, each_refusal_is_its_error)
{
    error_for(200, "{\"ok\":false,\"status_code\":404,\"body\":{\"message\":\"Not Found\"}}",
              "Integration.StatusCode.404", "Not Found");
    error_for(404, "{\"error\":{\"code\":\"not_found\",\"message\":\"Connection not found\"}}",
              INTEGRATION_E_CONNECTION, "Connection not found");
    error_for(404, "{\"error\":{\"code\":\"action_not_found\",\"message\":\"no action x\"}}",
              INTEGRATION_E_ACTION, "no action x");
    error_for(422,
              "{\"error\":{\"code\":\"validation_failed\",\"message\":\"bad\",\"details\":"
              "[{\"field\":\"input.text\"}]}}",
              INTEGRATION_E_INPUT, "input.text");
    error_for(422, "{\"error\":{\"code\":\"connection_incomplete\",\"message\":\"no url\"}}",
              INTEGRATION_E_ATTENTION, "no url");
    error_for(409, "{\"error\":{\"code\":\"connection_needs_attention\",\"message\":\"refused\"}}",
              INTEGRATION_E_ATTENTION, "refused");
    error_for(422, "{\"error\":{\"code\":\"destination_not_allowed\",\"message\":\"private\"}}",
              INTEGRATION_E_UNAVAILABLE, "private");
    error_for(424, "{\"error\":{\"code\":\"vendor_unavailable\",\"message\":\"refused\"}}",
              INTEGRATION_E_UNAVAILABLE, "refused");
    error_for(424, "{\"error\":{\"code\":\"vendor_timeout\",\"message\":\"slow\"}}",
              "States.Timeout", "slow");
    error_for(503, NULL, INTEGRATION_E_UNAVAILABLE, "503");
    error_for(200, "garbage", INTEGRATION_E_UNAVAILABLE, "not one");
}

Test(run, without_configuration_the_step_is_unavailable)
{
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(
        task_integration_run(NULL, NULL, "org_x", "tc:integration:con_1/x", NULL, "k", 5, &r, &e),
        TC_ERROR);
    cr_assert_str_eq(e.error, INTEGRATION_E_UNAVAILABLE);
    asl_err_clear(&e);
    cJSON *arr = cJSON_CreateArray();
    cr_assert_eq(
        task_integration_run(NULL, NULL, "org_x", "tc:integration:con_1/x", arr, "k", 5, &r, &e),
        TC_ERROR);
    cr_assert_str_eq(e.error, INTEGRATION_E_INPUT);
    asl_err_clear(&e);
    cJSON_Delete(arr);
}
