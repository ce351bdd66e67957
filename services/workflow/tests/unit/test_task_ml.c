/* task_ml: a tc:ml Task's resource and Parameters as a prediction request, and the Task's
 * result or error from the ml-inference service's answer. */
#include "task_ml.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

Test(model, the_resource_names_a_model)
{
    cr_assert_str_eq(task_ml_model("tc:ml:sentiment-v3"), "sentiment-v3");
    cr_assert_str_eq(task_ml_model("tc:ml:text-classifier-v2"), "text-classifier-v2");
    cr_assert_str_eq(task_ml_model("tc:ml:a.b"), "a.b");
    cr_assert_null(task_ml_model("tc:ml:"));
    cr_assert_null(task_ml_model("tc:ml:Sentiment"));
    cr_assert_null(task_ml_model("tc:ml:-x"));
    cr_assert_null(task_ml_model("tc:ml:a/b"));
    cr_assert_null(task_ml_model("tc:ml:../x"));
    cr_assert_null(task_ml_model("tc:http"));
    cr_assert_null(task_ml_model(NULL));
    char longname[80];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "tc:ml:", 6);
    longname[6 + 65] = '\0';
    cr_assert_null(task_ml_model(longname));
    longname[6 + 64] = '\0';
    cr_assert_not_null(task_ml_model(longname));
}

static void body_is(const char *params, const char *want)
{
    cJSON *p = parse(params);
    char *body = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_ml_body(p, &body, &e), TC_OK, "%s", params);
    cr_assert_str_eq(body, want);
    free(body);
    cJSON_Delete(p);
}

static void refused(const char *params, const char *why)
{
    cJSON *p = parse(params);
    char *body = (char *)"x";
    asl_err_t e = {0};
    cr_assert_eq(task_ml_body(p, &body, &e), TC_EINVAL, "%s", params);
    cr_assert_null(body);
    cr_assert_str_eq(e.error, ML_E_PARAMS);
    cr_assert(e.cause && strstr(e.cause, why), "%s: %s", params, e.cause ? e.cause : "");
    asl_err_clear(&e);
    cJSON_Delete(p);
}

Test(body, parameters_become_the_predict_request)
{
    body_is("{\"Input\":\"great\"}", "{\"input\":\"great\"}");
    body_is("{\"Input\":\"great\",\"Options\":{\"top_k\":2},\"Version\":\"2.1.0\"}",
            "{\"input\":\"great\",\"options\":{\"top_k\":2},\"version\":\"2.1.0\"}");
}

Test(body, parameters_that_are_not_a_request_say_why)
{
    refused("[]", "must be an object");
    refused("{}", "Input must be a string");
    refused("{\"Input\":3}", "Input must be a string");
    refused("{\"Input\":\"x\",\"Options\":[]}", "Options must be an object");
    refused("{\"Input\":\"x\",\"Version\":2}", "Version must be a string");
    refused("{\"Input\":\"x\",\"Model\":\"y\"}", "unknown member Model");
}

static void error_for(long status, const char *body, const char *error, const char *cause)
{
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_ml_result(status, body, "sentiment-v3", &r, &e), TC_ERROR);
    cr_assert_null(r);
    cr_assert_str_eq(e.error, error, "%ld", status);
    cr_assert(e.cause && strstr(e.cause, cause), "%ld: %s", status, e.cause ? e.cause : "");
    asl_err_clear(&e);
}

Test(result, an_answer_is_the_steps_result)
{
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_ml_result(200,
                                "{\"model\":\"sentiment-v3\",\"version\":\"3.0.0\","
                                "\"output\":{\"label\":\"positive\"},\"cached\":true}",
                                "sentiment-v3", &r, &e),
                 TC_OK);
    char *text = cJSON_PrintUnformatted(r);
    cr_assert_str_eq(text, "{\"Model\":\"sentiment-v3\",\"Version\":\"3.0.0\",\"Output\":"
                           "{\"label\":\"positive\"},\"Cached\":true}");
    free(text);
    cJSON_Delete(r);
}

Test(result, each_refusal_is_its_error)
{
    const char *model =
        "{\"error\":{\"code\":\"model_not_found\",\"message\":\"No model named x\"}}";
    const char *version =
        "{\"error\":{\"code\":\"version_not_found\",\"message\":\"no version 9\"}}";
    error_for(404, model, ML_E_MODEL, "No model named x");
    error_for(404, version, ML_E_INPUT, "no version 9");
    error_for(422, "{\"error\":{\"code\":\"validation_failed\",\"message\":\"bad input\"}}",
              ML_E_INPUT, "bad input");
    error_for(413, NULL, ML_E_INPUT, "413");
    error_for(503, "{\"error\":{\"code\":\"model_overloaded\",\"message\":\"retry shortly\"}}",
              ML_E_UNAVAILABLE, "retry shortly");
    error_for(500, "not json", ML_E_UNAVAILABLE, "answered 500");
    error_for(200, "{\"model\":\"x\"}", ML_E_UNAVAILABLE, "not one");
    error_for(200, "garbage", ML_E_UNAVAILABLE, "not one");
}

Test(run, without_configuration_the_step_is_unavailable)
{
    cJSON *p = parse("{\"Input\":\"x\"}"), *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(task_ml_run(NULL, NULL, "org_x", "sentiment-v3", p, "k", 5, &r, &e), TC_ERROR);
    cr_assert_str_eq(e.error, ML_E_UNAVAILABLE);
    asl_err_clear(&e);
    cr_assert_eq(task_ml_run(NULL, NULL, "org_x", "sentiment-v3", NULL, "k", 5, &r, &e), TC_ERROR);
    cr_assert_str_eq(e.error, ML_E_PARAMS);
    asl_err_clear(&e);
    cJSON_Delete(p);
}
