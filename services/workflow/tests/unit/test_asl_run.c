/* Unit tests of asl_run.c: whole executions in memory over small definitions (Choice loops,
 * Retry then Catch, Parallel, Map with ItemSelector, Fail with ErrorPath, the Context
 * object, determinism, the step bound). No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

typedef struct {
    int calls;
    int fail_first; /* tc:flaky fails this many calls */
    cJSON *seen;    /* every params given to a task, in order */
} fake_t;

/* tc:echo answers its params, tc:fail fails with Custom.Error, tc:flaky fails the first
 * fail_first calls with Flaky, tc:timeout fails with States.Timeout. */
static int fake_task(const char *resource, const cJSON *params, void *ud, cJSON **result,
                     asl_err_t *err)
{
    fake_t *f = ud;
    f->calls++;
    if (f->seen)
        cJSON_AddItemToArray(f->seen, cJSON_Duplicate(params, true));
    if (strcmp(resource, "tc:fail") == 0) {
        asl_err_set(err, "Custom.Error", "bad %d", f->calls);
        return TC_ERROR;
    }
    if (strcmp(resource, "tc:timeout") == 0) {
        asl_err_set(err, "States.Timeout", NULL);
        return TC_ERROR;
    }
    if (strcmp(resource, "tc:flaky") == 0 && f->calls <= f->fail_first) {
        asl_err_set(err, "Flaky", "try %d", f->calls);
        return TC_ERROR;
    }
    *result = cJSON_Duplicate(params, true);
    return TC_OK;
}

static fake_t fake;
static cJSON *output;
static asl_err_t err;

static void setup(void)
{
    memset(&fake, 0, sizeof fake);
    fake.seen = cJSON_CreateArray();
    output = NULL;
    memset(&err, 0, sizeof err);
}

static void teardown(void)
{
    cJSON_Delete(fake.seen);
    cJSON_Delete(output);
    asl_err_clear(&err);
}

static int run(const char *def_text, const char *input_text)
{
    cJSON *def = cJSON_Parse(def_text), *input = cJSON_Parse(input_text);
    cr_assert_not_null(def, "%s", def_text);
    cr_assert_not_null(input, "%s", input_text);
    cJSON *problems = NULL;
    int vrc = asl_validate(def, NULL, &problems);
    char *ptext = problems ? cJSON_PrintUnformatted(problems) : NULL;
    cr_assert_eq(vrc, TC_OK, "the test definition is invalid: %s", ptext ? ptext : "");
    free(ptext);
    cJSON_Delete(output);
    output = NULL;
    int rc = asl_run(def, input, "exec-1", fake_task, &fake, 200, &output, &err);
    cJSON_Delete(def);
    cJSON_Delete(input);
    return rc;
}

static void output_is(const char *want)
{
    cJSON *w = cJSON_Parse(want);
    char *g = cJSON_PrintUnformatted(output);
    cr_assert(cJSON_Compare(output, w, true), "output %s, want %s", g ? g : "NULL", want);
    free(g);
    cJSON_Delete(w);
}

TestSuite(run, .init = setup, .fini = teardown);

Test(run, a_single_pass)
{
    cr_assert_eq(run("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Result\":1,"
                     "\"ResultPath\":\"$.r\",\"End\":true}}}",
                     "{\"a\":0}"),
                 TC_OK);
    output_is("{\"a\":0,\"r\":1}");
}

Test(run, a_choice_loop_counts_to_three)
{
    const char *def =
        "{\"StartAt\":\"Inc\",\"States\":{"
        "\"Inc\":{\"Type\":\"Pass\",\"Parameters\":{\"n.$\":\"States.MathAdd($.n, 1)\"},"
        "\"Next\":\"Check\"},"
        "\"Check\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.n\","
        "\"NumericLessThan\":3,\"Next\":\"Wait\"}],\"Default\":\"Done\"},"
        "\"Wait\":{\"Type\":\"Wait\",\"Seconds\":3600,\"Next\":\"Inc\"},"
        "\"Done\":{\"Type\":\"Succeed\"}}}";
    cr_assert_eq(run(def, "{\"n\":0}"), TC_OK);
    output_is("{\"n\":3}");
}

Test(run, retry_then_success_with_retry_count_in_the_context)
{
    fake.fail_first = 2;
    const char *def = "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
                      "\"tc:flaky\",\"Parameters\":{\"try.$\":\"$$.State.RetryCount\"},"
                      "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"MaxAttempts\":3}],"
                      "\"End\":true}}}";
    cr_assert_eq(run(def, "{}"), TC_OK);
    cr_assert_eq(fake.calls, 3);
    output_is("{\"try\":2}");
}

Test(run, retry_then_catch)
{
    fake.fail_first = 100;
    const char *def = "{\"StartAt\":\"T\",\"States\":{"
                      "\"T\":{\"Type\":\"Task\",\"Resource\":\"tc:flaky\","
                      "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"MaxAttempts\":2}],"
                      "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"H\","
                      "\"ResultPath\":\"$.error\"}],\"End\":true},"
                      "\"H\":{\"Type\":\"Pass\",\"End\":true}}}";
    cr_assert_eq(run(def, "{\"id\":7}"), TC_OK);
    cr_assert_eq(fake.calls, 3, "one call and two retries");
    output_is("{\"id\":7,\"error\":{\"Error\":\"Flaky\",\"Cause\":\"try 3\"}}");
}

Test(run, an_uncaught_task_error_fails_the_execution)
{
    const char *def = "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
                      "\"tc:fail\",\"Retry\":[{\"ErrorEquals\":[\"Other\"]}],\"End\":true}}}";
    cr_assert_eq(run(def, "{}"), TC_ERROR);
    cr_assert_null(output);
    cr_assert_str_eq(err.error, "Custom.Error");
    cr_assert_str_eq(err.cause, "bad 1");
}

Test(run, task_failed_does_not_catch_timeouts)
{
    const char *def = "{\"StartAt\":\"T\",\"States\":{"
                      "\"T\":{\"Type\":\"Task\",\"Resource\":\"tc:timeout\","
                      "\"Catch\":[{\"ErrorEquals\":[\"States.TaskFailed\"],\"Next\":\"H\"}],"
                      "\"End\":true},\"H\":{\"Type\":\"Succeed\"}}}";
    cr_assert_eq(run(def, "{}"), TC_ERROR);
    cr_assert_str_eq(err.error, "States.Timeout");
}

Test(run, runtime_errors_are_not_caught)
{
    const char *def = "{\"StartAt\":\"T\",\"States\":{"
                      "\"T\":{\"Type\":\"Task\",\"Resource\":\"tc:echo\",\"InputPath\":\"$.nope\","
                      "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"H\"}],"
                      "\"End\":true},\"H\":{\"Type\":\"Succeed\"}}}";
    cr_assert_eq(run(def, "{}"), TC_ERROR);
    cr_assert_str_eq(err.error, "States.Runtime");
    cr_assert_eq(fake.calls, 0);
}

Test(run, parallel_branches_give_an_array)
{
    const char *def =
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"Branches\":["
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:echo\","
        "\"Parameters\":{\"a.$\":\"$.x\"},\"End\":true}}},"
        "{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Pass\",\"Result\":\"b\","
        "\"End\":true}}}],"
        "\"ResultSelector\":{\"first.$\":\"$[0].a\",\"second.$\":\"$[1]\"},"
        "\"ResultPath\":\"$.out\",\"End\":true}}}";
    cr_assert_eq(run(def, "{\"x\":5}"), TC_OK);
    output_is("{\"x\":5,\"out\":{\"first\":5,\"second\":\"b\"}}");
}

Test(run, a_failing_branch_fails_the_parallel_and_can_be_caught)
{
    const char *def =
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"Branches\":["
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}},"
        "{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Fail\",\"Error\":\"Branch.Err\","
        "\"Cause\":\"b failed\"}}}],"
        "\"Catch\":[{\"ErrorEquals\":[\"Branch.Err\"],\"Next\":\"H\"}],\"End\":true},"
        "\"H\":{\"Type\":\"Pass\",\"End\":true}}}";
    cr_assert_eq(run(def, "{}"), TC_OK);
    output_is("{\"Error\":\"Branch.Err\",\"Cause\":\"b failed\"}");
}

Test(run, map_with_item_selector_and_the_item_context)
{
    const char *def =
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.list\","
        "\"ItemSelector\":{\"v.$\":\"$$.Map.Item.Value\",\"i.$\":\"$$.Map.Item.Index\","
        "\"k.$\":\"$.k\"},\"MaxConcurrency\":1,"
        "\"ItemProcessor\":{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
        "\"Resource\":\"tc:echo\",\"Parameters\":{\"s.$\":\"States.Format('{}{}{}', $.k, $.i, "
        "$.v)\"},\"OutputPath\":\"$.s\",\"End\":true}}},"
        "\"ResultPath\":\"$.out\",\"End\":true}}}";
    cr_assert_eq(run(def, "{\"k\":\"k\",\"list\":[\"a\",\"b\",\"c\"]}"), TC_OK);
    output_is("{\"k\":\"k\",\"list\":[\"a\",\"b\",\"c\"],\"out\":[\"k0a\",\"k1b\",\"k2c\"]}");
    cr_assert_eq(fake.calls, 3);
}

Test(run, map_over_nothing_gives_an_empty_array)
{
    const char *def = "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"Iterator\":{"
                      "\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
                      "\"tc:echo\",\"End\":true}}},\"End\":true}}}";
    cr_assert_eq(run(def, "[]"), TC_OK);
    output_is("[]");
    cr_assert_eq(fake.calls, 0);
}

Test(run, fail_with_error_path)
{
    const char *def = "{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\","
                      "\"ErrorPath\":\"$.code\",\"CausePath\":\"$.why\"}}}";
    cr_assert_eq(run(def, "{\"code\":\"Order.Rejected\",\"why\":\"out of stock\"}"), TC_ERROR);
    cr_assert_str_eq(err.error, "Order.Rejected");
    cr_assert_str_eq(err.cause, "out of stock");
}

Test(run, the_context_object_is_deterministic)
{
    const char *def = "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
                      "\"tc:echo\",\"Parameters\":{\"id.$\":\"$$.Execution.Id\","
                      "\"name.$\":\"$$.Execution.Name\",\"start.$\":\"$$.Execution.StartTime\","
                      "\"in.$\":\"$$.Execution.Input\",\"state.$\":\"$$.State.Name\","
                      "\"entered.$\":\"$$.State.EnteredTime\",\"sm.$\":\"$$.StateMachine.Name\","
                      "\"u.$\":\"States.UUID()\"},\"End\":true}}}";
    cr_assert_eq(run(def, "{\"q\":1}"), TC_OK);
    cJSON *first = output;
    output = NULL;
    cr_assert_str_eq(cJSON_GetObjectItem(first, "id")->valuestring, "arn:tc:execution:exec-1");
    cr_assert_str_eq(cJSON_GetObjectItem(first, "name")->valuestring, "exec-1");
    cr_assert_str_eq(cJSON_GetObjectItem(first, "start")->valuestring, "2026-01-01T00:00:00.000Z");
    cr_assert_str_eq(cJSON_GetObjectItem(first, "entered")->valuestring,
                     "2026-01-01T00:00:00.000Z");
    cr_assert_str_eq(cJSON_GetObjectItem(first, "state")->valuestring, "T");
    cr_assert_str_eq(cJSON_GetObjectItem(first, "sm")->valuestring, "asl-run");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "in"), "q")->valueint, 1);
    cr_assert_eq(strlen(cJSON_GetObjectItem(first, "u")->valuestring), 36);
    cr_assert_eq(run(def, "{\"q\":1}"), TC_OK);
    cr_assert(cJSON_Compare(first, output, true), "two runs give the same output");
    cJSON_Delete(first);
}

Test(run, the_step_bound_stops_endless_loops)
{
    const char *def = "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"B\"},"
                      "\"B\":{\"Type\":\"Pass\",\"Next\":\"A\"}}}";
    cr_assert_eq(run(def, "{}"), TC_ERROR);
    cr_assert_str_eq(err.error, "States.Runtime");
    cr_assert_not_null(strstr(err.cause, "200"));
}

Test(run, a_wait_end_state_ends_the_execution)
{
    const char *def = "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\","
                      "\"Timestamp\":\"2030-01-01T00:00:00Z\",\"End\":true}}}";
    cr_assert_eq(run(def, "{\"z\":1}"), TC_OK);
    output_is("{\"z\":1}");
}

Test(run, a_no_choice_matched_can_be_caught_by_nobody)
{
    const char *def = "{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":["
                      "{\"Variable\":\"$.n\",\"NumericEquals\":1,\"Next\":\"S\"}]},"
                      "\"S\":{\"Type\":\"Succeed\"}}}";
    cr_assert_eq(run(def, "{\"n\":2}"), TC_ERROR);
    cr_assert_str_eq(err.error, "States.NoChoiceMatched");
}

Test(run, nested_map_in_parallel)
{
    const char *def =
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"Branches\":[{"
        "\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemProcessor\":{"
        "\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\",\"Parameters\":{"
        "\"d.$\":\"States.MathAdd($, $)\"},\"End\":true}}},\"End\":true}}}],\"End\":true}}}";
    cr_assert_eq(run(def, "[1,2]"), TC_OK);
    output_is("[[{\"d\":2},{\"d\":4}]]");
}

Test(run, no_task_function_is_a_runtime_error)
{
    cJSON *def = cJSON_Parse("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
                             "\"Resource\":\"tc:echo\",\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    cr_assert_eq(asl_run(def, in, "e", NULL, NULL, 0, &output, &err), TC_ERROR);
    cr_assert_str_eq(err.error, "States.Runtime");
    cJSON_Delete(def);
    cJSON_Delete(in);
}
