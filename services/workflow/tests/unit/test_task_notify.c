/* task_notify: a tc:notify Task's Parameters as a notification request (the event's data) and
 * the Task's result, or Notify.InvalidParameters saying what is wrong. */
#include "task_notify.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define USER "usr_01JQ7T2M4N6P8R0S2V4X6Z8B1D"
#define ORG  "org_01JQ7T2M4N6P8R0S2V4X6Z8B1E"
#define NOW  "2026-03-02T11:40:05.213Z"

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

/* Builds from text and expects a refusal whose cause contains why. */
static void refused(const char *text, const char *why)
{
    cJSON *p = parse(text), *data = NULL, *result = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_notify_build(p, ORG, NOW, &data, &result, &e), TC_EINVAL, "%s", text);
    cr_assert_str_eq(e.error, NOTIFY_E_INVALID);
    cr_assert(e.cause && strstr(e.cause, why), "%s: %s", text, e.cause ? e.cause : "(none)");
    cr_assert_null(data);
    cr_assert_null(result);
    asl_err_clear(&e);
    cJSON_Delete(p);
}

Test(build, an_in_app_message_needs_only_the_user)
{
    cJSON *p = parse("{\"Template\":\"order_shipped\",\"Channel\":\"in_app\","
                     "\"To\":{\"UserId\":\"" USER "\"},\"Params\":{\"title\":\"Shipped\"}}");
    cJSON *data = NULL, *result = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_notify_build(p, ORG, NOW, &data, &result, &e), TC_OK);
    char *d = cJSON_PrintUnformatted(data), *r = cJSON_PrintUnformatted(result);
    cr_assert_str_eq(d,
                     "{\"template\":\"order_shipped\",\"channel\":\"in_app\",\"to\":{\"user_id\":"
                     "\"" USER "\"},\"org_id\":\"" ORG "\",\"occurred_at\":\"" NOW "\","
                     "\"params\":{\"title\":\"Shipped\"}}");
    cr_assert_str_eq(r, "{\"Template\":\"order_shipped\",\"Channel\":\"in_app\",\"UserId\":\"" USER
                        "\"}");
    free(d);
    free(r);
    cJSON_Delete(data);
    cJSON_Delete(result);
    cJSON_Delete(p);
}

Test(build, an_email_carries_address_and_name)
{
    cJSON *p = parse("{\"Template\":\"weekly_report\",\"Channel\":\"email\",\"To\":{\"UserId\":"
                     "\"" USER "\",\"Email\":\"ada@example.com\",\"Name\":null}}");
    cJSON *data = NULL, *result = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_notify_build(p, ORG, NOW, &data, &result, &e), TC_OK);
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(data, "to");
    cr_assert_str_eq(tc_json_get_str(to, "email"), "ada@example.com");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(to, "name")));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(data, "params"));
    cJSON_Delete(data);
    cJSON_Delete(result);
    cJSON_Delete(p);
}

Test(build, what_is_not_a_request_is_refused_with_the_reason)
{
    refused("[1]", "must be an object");
    refused("{\"Template\":\"x\",\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\"},\"Y\":1}",
            "unknown member");
    refused("{\"Template\":\"Bad-Name\",\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\"}}",
            "Template must be");
    refused("{\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\"}}", "Template must be");
    refused("{\"Template\":\"x\",\"Channel\":\"sms\",\"To\":{\"UserId\":\"" USER "\"}}",
            "Channel must be");
    refused("{\"Template\":\"x\",\"Channel\":\"in_app\",\"To\":\"" USER "\"}", "To must be");
    refused("{\"Template\":\"x\",\"Channel\":\"in_app\",\"To\":{\"UserId\":\"usr_1\"}}",
            "To.UserId");
    refused("{\"Template\":\"x\",\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\",\"Cc\":1}}",
            "unknown member");
    refused("{\"Template\":\"x\",\"Channel\":\"email\",\"To\":{\"UserId\":\"" USER "\","
            "\"Email\":\"a@b.c\"}}",
            "needs To.Email and To.Name");
    refused("{\"Template\":\"x\",\"Channel\":\"email\",\"To\":{\"UserId\":\"" USER "\","
            "\"Email\":\"not an address\",\"Name\":\"A\"}}",
            "To.Email");
    refused("{\"Template\":\"x\",\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\"},"
            "\"Params\":[1]}",
            "Params must be");
    /* what the notification service would dead-letter is refused here */
    refused("{\"Template\":\"t123456789012345678901234567890123456789012345678901234567890123\","
            "\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\"}}",
            "Template must be");
    refused("{\"Template\":\"x\",\"Channel\":\"email\",\"To\":{\"UserId\":\"" USER "\","
            "\"Email\":\"a@b\",\"Name\":\"A\"}}",
            "To.Email");
}

Test(build, the_platforms_own_templates_are_refused)
{
    /* their links carry credentials only auth may issue: a workflow could phish with them */
    refused("{\"Template\":\"invitation\",\"Channel\":\"in_app\",\"To\":{\"UserId\":\"" USER "\"}}",
            "platform's own");
    refused("{\"Template\":\"password_reset\",\"Channel\":\"email\",\"To\":{\"UserId\":\"" USER
            "\",\"Email\":\"a@b.c\",\"Name\":\"A\"}}",
            "platform's own");
}
