/* Unit tests of asl_states.c: asl_enter and asl_complete for every state type and the data
 * flow around them (InputPath, Parameters, ResultSelector, ResultPath, OutputPath). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static cJSON *def, *input, *ctx;
static asl_step_t st;
static const uint8_t BYTES[16] = {9};
#define NOW 1767225600000LL

static void setup(void)
{
    input = cJSON_Parse("{\"a\":1,\"b\":{\"c\":\"x\"},\"items\":[{\"id\":1},{\"id\":2}],"
                        "\"secs\":5,\"when\":\"2026-02-01T00:00:00Z\",\"e\":\"Boom\","
                        "\"limit\":3}");
    ctx = cJSON_Parse("{\"Execution\":{\"Id\":\"arn:e\"},\"State\":{\"Name\":\"S\"}}");
    memset(&st, 0, sizeof st);
}

static void teardown(void)
{
    asl_step_clear(&st);
    cJSON_Delete(def);
    cJSON_Delete(input);
    cJSON_Delete(ctx);
    def = NULL;
}

static void load(const char *state)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"StartAt\":\"S\",\"States\":{\"S\":%s,\"N\":{\"Type\":\"Succeed\"}}}", state);
    def = cJSON_Parse(buf);
    cr_assert_not_null(def, "%s", buf);
}

static void enter(void)
{
    asl_step_clear(&st);
    cr_assert_eq(asl_enter(def, "S", input, ctx, NOW, BYTES, &st), TC_OK);
}

static void json_is(const cJSON *got, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    char *g = cJSON_PrintUnformatted(got);
    cr_assert(cJSON_Compare(got, w, true), "got %s, want %s", g ? g : "NULL", want);
    free(g);
    cJSON_Delete(w);
}

TestSuite(states, .init = setup, .fini = teardown);

Test(states, state_lookup)
{
    load("{\"Type\":\"Pass\",\"End\":true}");
    cr_assert_str_eq(asl_start_at(def), "S");
    cr_assert_not_null(asl_state(def, "N"));
    cr_assert_null(asl_state(def, "Z"));
    cr_assert_null(asl_state(NULL, "Z"));
}

Test(states, pass_copies_its_input)
{
    load("{\"Type\":\"Pass\",\"Next\":\"N\"}");
    enter();
    cr_assert_eq(st.kind, ASL_NEXT);
    cr_assert_str_eq(st.next, "N");
    cr_assert(cJSON_Compare(st.output, input, true));
}

Test(states, pass_result_and_result_path)
{
    load("{\"Type\":\"Pass\",\"Result\":{\"r\":1},\"ResultPath\":\"$.res\",\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_SUCCEED);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(st.output, "res"), "r")->valueint, 1);
    cr_assert_eq(cJSON_GetObjectItem(st.output, "a")->valueint, 1);
}

Test(states, pass_parameters_input_and_output_paths)
{
    load("{\"Type\":\"Pass\",\"InputPath\":\"$.b\",\"Parameters\":{\"v.$\":\"$.c\","
         "\"id.$\":\"$$.Execution.Id\"},\"ResultPath\":\"$.p\",\"OutputPath\":\"$.p\","
         "\"End\":true}");
    enter();
    json_is(st.output, "{\"v\":\"x\",\"id\":\"arn:e\"}");
}

Test(states, pass_result_path_null_discards_the_result)
{
    load("{\"Type\":\"Pass\",\"Result\":5,\"ResultPath\":null,\"End\":true}");
    enter();
    cr_assert(cJSON_Compare(st.output, input, true));
}

Test(states, output_path_null_gives_an_empty_object)
{
    load("{\"Type\":\"Pass\",\"OutputPath\":null,\"End\":true}");
    enter();
    json_is(st.output, "{}");
}

Test(states, data_flow_errors_fail_the_state)
{
    load("{\"Type\":\"Pass\",\"Parameters\":{\"v.$\":\"$.nope\"},\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.ParameterPathFailure");
    cr_assert_null(st.output);
    asl_step_clear(&st);
    cJSON_Delete(def);
    load("{\"Type\":\"Pass\",\"InputPath\":\"$.nope\",\"End\":true}");
    enter();
    cr_assert_str_eq(st.err.error, "States.Runtime");
    cJSON_Delete(def);
    load("{\"Type\":\"Pass\",\"ResultPath\":\"$.a.x\",\"End\":true}");
    enter();
    cr_assert_str_eq(st.err.error, "States.ResultPathMatchFailure");
}

Test(states, an_unknown_state_fails_with_runtime)
{
    load("{\"Type\":\"Pass\",\"End\":true}");
    cr_assert_eq(asl_enter(def, "Z", input, ctx, NOW, BYTES, &st), TC_OK);
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.Runtime");
}

Test(states, task_answers_resource_params_and_timeouts)
{
    load("{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"InputPath\":\"$.b\",\"Parameters\":{"
         "\"u.$\":\"States.UUID()\",\"c.$\":\"$.c\"},\"TimeoutSeconds\":30,"
         "\"HeartbeatSeconds\":10,\"Next\":\"N\"}");
    enter();
    cr_assert_eq(st.kind, ASL_TASK);
    cr_assert_str_eq(st.resource, "tc:http");
    cr_assert_eq(st.timeout_s, 30);
    cr_assert_eq(st.heartbeat_s, 10);
    cr_assert_str_eq(cJSON_GetObjectItem(st.params, "c")->valuestring, "x");
    cr_assert_str_eq(cJSON_GetObjectItem(st.params, "u")->valuestring,
                     "09000000-0000-4000-8000-000000000000");
}

Test(states, task_timeout_paths)
{
    load("{\"Type\":\"Task\",\"Resource\":\"r\",\"TimeoutSecondsPath\":\"$.secs\","
         "\"HeartbeatSecondsPath\":\"$.limit\",\"End\":true}");
    enter();
    cr_assert_eq(st.timeout_s, 5);
    cr_assert_eq(st.heartbeat_s, 3);
    cr_assert(cJSON_Compare(st.params, input, true), "no Parameters: the effective input");
    cJSON_Delete(def);
    load("{\"Type\":\"Task\",\"Resource\":\"r\",\"TimeoutSecondsPath\":\"$.b\",\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.Runtime");
}

Test(states, task_complete_applies_selector_result_and_output_paths)
{
    load("{\"Type\":\"Task\",\"Resource\":\"r\",\"ResultSelector\":{\"code.$\":\"$.status\","
         "\"exec.$\":\"$$.Execution.Id\"},\"ResultPath\":\"$.out\",\"OutputPath\":\"$.out\","
         "\"Next\":\"N\"}");
    cJSON *result = cJSON_Parse("{\"status\":200,\"body\":\"...\"}");
    cr_assert_eq(asl_complete(def, "S", input, result, ctx, &st), TC_OK);
    cr_assert_eq(st.kind, ASL_NEXT);
    cr_assert_str_eq(st.next, "N");
    json_is(st.output, "{\"code\":200,\"exec\":\"arn:e\"}");
}

Test(states, task_complete_default_result_path_replaces_the_input)
{
    load("{\"Type\":\"Task\",\"Resource\":\"r\",\"End\":true}");
    cr_assert_eq(asl_complete(def, "S", input, cJSON_Parse("[1,2]"), ctx, &st), TC_OK);
    cr_assert_eq(st.kind, ASL_SUCCEED);
    json_is(st.output, "[1,2]");
}

Test(states, task_complete_selector_failure)
{
    load("{\"Type\":\"Task\",\"Resource\":\"r\",\"ResultSelector\":{\"x.$\":\"$.missing\"},"
         "\"End\":true}");
    cr_assert_eq(asl_complete(def, "S", input, cJSON_Parse("{}"), ctx, &st), TC_OK);
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.ParameterPathFailure");
}

Test(states, choice_picks_next_and_applies_paths)
{
    load("{\"Type\":\"Choice\",\"InputPath\":\"$.b\",\"OutputPath\":\"$.c\",\"Choices\":["
         "{\"Variable\":\"$.c\",\"StringEquals\":\"x\",\"Next\":\"N\"}]}");
    enter();
    cr_assert_eq(st.kind, ASL_NEXT);
    cr_assert_str_eq(st.next, "N");
    json_is(st.output, "\"x\"");
    cJSON_Delete(def);
    load("{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\",\"NumericEquals\":2,"
         "\"Next\":\"N\"}]}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.NoChoiceMatched");
}

Test(states, wait_variants)
{
    const struct {
        const char *state;
        int64_t due;
    } cases[] = {
        {"{\"Type\":\"Wait\",\"Seconds\":10,\"Next\":\"N\"}", NOW + 10000},
        {"{\"Type\":\"Wait\",\"SecondsPath\":\"$.secs\",\"Next\":\"N\"}", NOW + 5000},
        {"{\"Type\":\"Wait\",\"Timestamp\":\"2026-01-01T00:01:00Z\",\"Next\":\"N\"}", NOW + 60000},
        {"{\"Type\":\"Wait\",\"TimestampPath\":\"$.when\",\"Next\":\"N\"}", NOW + 31LL * 86400000},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        load(cases[i].state);
        enter();
        cr_assert_eq(st.kind, ASL_WAIT, "%s", cases[i].state);
        cr_assert_eq(st.due_ms, cases[i].due, "%s", cases[i].state);
        cr_assert_str_eq(st.next, "N");
        cr_assert(cJSON_Compare(st.output, input, true));
        cJSON_Delete(def);
        def = NULL;
    }
}

Test(states, wait_end_and_bad_paths)
{
    load("{\"Type\":\"Wait\",\"Seconds\":0,\"End\":true,\"OutputPath\":\"$.a\"}");
    enter();
    cr_assert_eq(st.kind, ASL_WAIT);
    cr_assert_str_eq(st.next, "");
    json_is(st.output, "1");
    cJSON_Delete(def);
    load("{\"Type\":\"Wait\",\"TimestampPath\":\"$.a\",\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.Runtime");
    cJSON_Delete(def);
    load("{\"Type\":\"Wait\",\"SecondsPath\":\"$.b\",\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
}

Test(states, succeed_applies_paths)
{
    load("{\"Type\":\"Succeed\",\"InputPath\":\"$.b\",\"OutputPath\":\"$.c\"}");
    enter();
    cr_assert_eq(st.kind, ASL_SUCCEED);
    json_is(st.output, "\"x\"");
}

Test(states, fail_static_and_from_paths)
{
    load("{\"Type\":\"Fail\",\"Error\":\"My.Error\",\"Cause\":\"because\"}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "My.Error");
    cr_assert_str_eq(st.err.cause, "because");
    cJSON_Delete(def);
    load("{\"Type\":\"Fail\",\"ErrorPath\":\"$.e\",\"CausePath\":\"States.Format('a={}', $.a)\"}");
    enter();
    cr_assert_str_eq(st.err.error, "Boom");
    cr_assert_str_eq(st.err.cause, "a=1");
    cJSON_Delete(def);
    load("{\"Type\":\"Fail\"}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "");
    cr_assert_null(st.err.cause);
    cJSON_Delete(def);
    load("{\"Type\":\"Fail\",\"ErrorPath\":\"$.a\"}");
    enter();
    cr_assert_str_eq(st.err.error, "States.Runtime", "a non-string error");
}

Test(states, parallel_answers_branches_and_their_input)
{
    load("{\"Type\":\"Parallel\",\"Parameters\":{\"v.$\":\"$.a\"},\"Branches\":["
         "{\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}},"
         "{\"StartAt\":\"Y\",\"States\":{\"Y\":{\"Type\":\"Pass\",\"End\":true}}}],"
         "\"ResultPath\":\"$.r\",\"Next\":\"N\"}");
    enter();
    cr_assert_eq(st.kind, ASL_PARALLEL);
    cr_assert_eq(st.nbranches, 2);
    cr_assert_str_eq(asl_start_at(st.branches[1]), "Y");
    json_is(st.items, "[{\"v\":1}]");
    asl_step_t done = {0};
    cr_assert_eq(asl_complete(def, "S", input, cJSON_Parse("[1,2]"), ctx, &done), TC_OK);
    cr_assert_eq(done.kind, ASL_NEXT);
    json_is(cJSON_GetObjectItem(done.output, "r"), "[1,2]");
    asl_step_clear(&done);
}

Test(states, map_items_through_item_selector)
{
    load("{\"Type\":\"Map\",\"ItemsPath\":\"$.items\",\"MaxConcurrency\":2,\"ItemSelector\":{"
         "\"id.$\":\"$$.Map.Item.Value.id\",\"i.$\":\"$$.Map.Item.Index\",\"a.$\":\"$.a\","
         "\"exec.$\":\"$$.Execution.Id\"},\"ItemProcessor\":{\"StartAt\":\"X\",\"States\":{"
         "\"X\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_MAP);
    cr_assert_eq(st.max_concurrency, 2);
    cr_assert_eq(st.nbranches, 1);
    cr_assert_str_eq(asl_start_at(st.branches[0]), "X");
    json_is(st.items, "[{\"id\":1,\"i\":0,\"a\":1,\"exec\":\"arn:e\"},"
                      "{\"id\":2,\"i\":1,\"a\":1,\"exec\":\"arn:e\"}]");
    cr_assert_null(cJSON_GetObjectItem(ctx, "Map"), "the caller's context is untouched");
}

Test(states, map_iterator_parameters_and_concurrency_path)
{
    load("{\"Type\":\"Map\",\"ItemsPath\":\"$.items\",\"MaxConcurrencyPath\":\"$.limit\","
         "\"Parameters\":{\"v.$\":\"$$.Map.Item.Value\"},\"Iterator\":{\"StartAt\":\"X\","
         "\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}");
    enter();
    cr_assert_eq(st.max_concurrency, 3);
    json_is(st.items, "[{\"v\":{\"id\":1}},{\"v\":{\"id\":2}}]");
}

Test(states, map_without_selector_and_bad_items)
{
    load("{\"Type\":\"Map\",\"InputPath\":\"$.items\",\"ItemProcessor\":{\"StartAt\":\"X\","
         "\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}");
    enter();
    json_is(st.items, "[{\"id\":1},{\"id\":2}]");
    cr_assert_eq(st.max_concurrency, 0);
    cJSON_Delete(def);
    load("{\"Type\":\"Map\",\"ItemsPath\":\"$.b\",\"ItemProcessor\":{\"StartAt\":\"X\","
         "\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.Runtime");
}

Test(states, map_items_are_bounded_before_they_are_all_built)
{
    /* more than ASL_MAP_ITEMS_MAX items */
    cJSON *many = cJSON_AddArrayToObject(input, "many");
    for (int i = 0; i <= ASL_MAP_ITEMS_MAX; i++)
        cr_assert(cJSON_AddItemToArray(many, cJSON_CreateNumber(i)));
    load("{\"Type\":\"Map\",\"ItemsPath\":\"$.many\",\"ItemProcessor\":{\"StartAt\":\"X\","
         "\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.DataLimitExceeded");
    cJSON_Delete(def);
    /* a selector copying the whole input into each of 2,000 items: over the byte budget */
    cJSON_DeleteItemFromObject(input, "many");
    many = cJSON_AddArrayToObject(input, "many");
    for (int i = 0; i < 2000; i++)
        cr_assert(cJSON_AddItemToArray(many, cJSON_CreateNumber(i)));
    load("{\"Type\":\"Map\",\"ItemsPath\":\"$.many\",\"ItemSelector\":{\"all.$\":\"$\"},"
         "\"ItemProcessor\":{\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\","
         "\"End\":true}}},\"End\":true}");
    enter();
    cr_assert_eq(st.kind, ASL_FAIL);
    cr_assert_str_eq(st.err.error, "States.DataLimitExceeded");
}

Test(states, the_input_is_never_modified)
{
    char *before = cJSON_PrintUnformatted(input);
    load("{\"Type\":\"Pass\",\"Result\":1,\"ResultPath\":\"$.b.new\",\"End\":true}");
    enter();
    char *after = cJSON_PrintUnformatted(input);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
}
