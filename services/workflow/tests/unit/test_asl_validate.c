/* Unit tests of asl_validate.c: asl_validate's problem lists (every problem, each with the
 * JSON path of the field at fault) and asl_count_states. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static const char *const RESOURCES[] = {"tc:http", "tc:integration:", NULL};
static const asl_limits_t LIMITS = {.max_states = 20, .resources = RESOURCES};

static cJSON *problems;

static void teardown(void)
{
    cJSON_Delete(problems);
    problems = NULL;
}

static int validate(const char *text, const asl_limits_t *limits)
{
    cJSON *def = cJSON_Parse(text);
    cr_assert_not_null(def, "%s", text);
    cJSON_Delete(problems);
    problems = NULL;
    int rc = asl_validate(def, limits, &problems);
    cJSON_Delete(def);
    return rc;
}

static void valid(const char *text)
{
    int rc = validate(text, &LIMITS);
    char *s = problems ? cJSON_PrintUnformatted(problems) : NULL;
    cr_assert_eq(rc, TC_OK, "%s", s ? s : "");
    cr_assert_null(problems);
    free(s);
}

/* The problem at path (NULL if none), after validating text. */
static const cJSON *problem_at(const char *path)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, problems) if (strcmp(cJSON_GetObjectItem(p, "path")->valuestring, path) ==
                                        0) return p;
    return NULL;
}

static void has(const char *path, const char *in_message)
{
    const cJSON *p;
    bool found = false;
    cJSON_ArrayForEach(p, problems)
    {
        if (strcmp(cJSON_GetObjectItem(p, "path")->valuestring, path) != 0)
            continue;
        found = found || !in_message ||
                strstr(cJSON_GetObjectItem(p, "message")->valuestring, in_message);
    }
    char *s = cJSON_PrintUnformatted(problems);
    cr_assert(found, "no problem at %s (%s) in %s", path, in_message ? in_message : "", s);
    free(s);
}

static void invalid(const char *text, const char *path, const char *in_message)
{
    cr_assert_eq(validate(text, &LIMITS), TC_EINVAL, "%s", text);
    has(path, in_message);
}

#define M(states) "{\"StartAt\":\"A\",\"States\":{" states "}}"

TestSuite(validate, .fini = teardown);

Test(validate, a_full_definition_is_valid)
{
    valid("{\"Comment\":\"c\",\"Version\":\"1.0\",\"TimeoutSeconds\":60,"
          "\"QueryLanguage\":\"JSONPath\",\"StartAt\":\"A\",\"States\":{"
          "\"A\":{\"Type\":\"Pass\",\"Result\":{\"x\":1},\"ResultPath\":\"$.r\",\"Next\":\"B\"},"
          "\"B\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Parameters\":{\"u.$\":\"$.r.x\"},"
          "\"ResultSelector\":{\"s.$\":\"$.status\"},\"TimeoutSeconds\":30,"
          "\"HeartbeatSeconds\":10,\"Retry\":[{\"ErrorEquals\":[\"States.Timeout\"],"
          "\"IntervalSeconds\":2,\"MaxAttempts\":0,\"BackoffRate\":1.5,\"MaxDelaySeconds\":10,"
          "\"JitterStrategy\":\"FULL\"},{\"ErrorEquals\":[\"States.ALL\"]}],"
          "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"F\",\"ResultPath\":\"$.e\"}],"
          "\"Next\":\"C\"},"
          "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.s\",\"NumericEquals\":200,"
          "\"Next\":\"P\"}],\"Default\":\"W\"},"
          "\"W\":{\"Type\":\"Wait\",\"Seconds\":1,\"Next\":\"B\"},"
          "\"P\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"P1\",\"States\":{\"P1\":{"
          "\"Type\":\"Task\",\"Resource\":\"tc:integration:slack\",\"End\":true}}}],"
          "\"Next\":\"Mp\"},"
          "\"Mp\":{\"Type\":\"Map\",\"ItemsPath\":\"$.list\",\"ItemSelector\":{\"v.$\":"
          "\"$$.Map.Item.Value\"},\"MaxConcurrency\":2,\"ItemProcessor\":{\"ProcessorConfig\":{"
          "\"Mode\":\"INLINE\"},\"StartAt\":\"M1\",\"States\":{\"M1\":{\"Type\":\"Succeed\"}}},"
          "\"Next\":\"S\"},"
          "\"S\":{\"Type\":\"Succeed\"},"
          "\"F\":{\"Type\":\"Fail\",\"ErrorPath\":\"$.e.Error\",\"Cause\":\"failed\"}}}");
}

Test(validate, the_document_needs_start_at_and_states)
{
    invalid("{}", "$.StartAt", "StartAt");
    has("$.States", "non-empty");
    invalid("{\"StartAt\":\"Z\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}", "$.StartAt", "'Z'");
    invalid("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Succeed\"}},\"Bogus\":1,"
            "\"Version\":\"2.0\",\"TimeoutSeconds\":0}",
            "$.Bogus", "unknown");
    has("$.Version", "1.0");
    has("$.TimeoutSeconds", NULL);
}

Test(validate, every_problem_is_collected)
{
    cr_assert_eq(validate(M("\"A\":{\"Type\":\"Pass\",\"Next\":\"Nope\",\"Foo\":1},"
                            "\"B\":{\"Type\":\"Task\"},"
                            "\"C\":{\"Type\":\"Wait\",\"End\":true}"),
                          &LIMITS),
                 TC_EINVAL);
    has("$.States.A.Next", "'Nope'");
    has("$.States.A.Foo", "unknown field for a Pass state");
    has("$.States.B.Resource", "Resource");
    has("$.States.B", "Next or");
    has("$.States.C", "exactly one of Seconds");
    has("$.States.B", NULL);
    cr_assert_geq(cJSON_GetArraySize(problems), 6);
}

Test(validate, types_and_transitions)
{
    invalid(M("\"A\":{\"Type\":\"Bogus\"}"), "$.States.A.Type", "'Bogus'");
    invalid(M("\"A\":{\"Next\":\"A\"}"), "$.States.A.Type", "Type");
    invalid(M("\"A\":{\"Type\":\"Pass\",\"Next\":\"A\",\"End\":true}"), "$.States.A", "not both");
    invalid(M("\"A\":{\"Type\":\"Pass\",\"End\":false}"), "$.States.A", "End");
    invalid(M("\"A\":{\"Type\":\"Succeed\",\"Next\":\"A\"}"), "$.States.A.Next", "unknown");
    invalid(M("\"A\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\",\"IsNull\":true,"
              "\"Next\":\"A\"}],\"End\":true}"),
            "$.States.A.End", "unknown");
    invalid(M("\"A\":[]"), "$.States.A", "object");
}

Test(validate, unreachable_states_are_reported)
{
    invalid(M("\"A\":{\"Type\":\"Succeed\"},\"Lost\":{\"Type\":\"Succeed\"}"), "$.States.Lost",
            "unreachable");
    /* Reached through Catch, Choices and Default only. */
    valid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"Catch\":[{\"ErrorEquals\":["
            "\"States.ALL\"],\"Next\":\"C\"}],\"End\":true},"
            "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\",\"IsNull\":true,"
            "\"Next\":\"D\"}],\"Default\":\"E\"},\"D\":{\"Type\":\"Succeed\"},"
            "\"E\":{\"Type\":\"Succeed\"}"));
}

Test(validate, state_names)
{
    char name[100], text[400];
    memset(name, 'n', 81);
    name[81] = '\0';
    snprintf(text, sizeof text, "{\"StartAt\":\"%s\",\"States\":{\"%s\":{\"Type\":\"Succeed\"}}}",
             name, name);
    cr_assert_eq(validate(text, &LIMITS), TC_EINVAL);
    cr_assert_eq(cJSON_GetArraySize(problems), 1);
    name[80] = '\0';
    snprintf(text, sizeof text, "{\"StartAt\":\"%s\",\"States\":{\"%s\":{\"Type\":\"Succeed\"}}}",
             name, name);
    valid(text);
    invalid("{\"StartAt\":\"a b\",\"States\":{\"a b\":{\"Type\":\"Succeed\",\"X\":1}}}",
            "$.States['a b'].X", NULL);
}

Test(validate, names_are_unique_across_branches)
{
    invalid(M("\"A\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"A\",\"States\":{"
              "\"A\":{\"Type\":\"Succeed\"}}}],\"End\":true}"),
            "$.States.A.Branches[0].States.A", "twice");
}

Test(validate, paths_and_templates)
{
    invalid(M("\"A\":{\"Type\":\"Pass\",\"InputPath\":\"a\",\"OutputPath\":3,"
              "\"ResultPath\":\"$.a[*]\",\"Parameters\":{\"x.$\":\"$.\"},\"End\":true}"),
            "$.States.A.InputPath", "path");
    has("$.States.A.OutputPath", NULL);
    has("$.States.A.ResultPath", "reference path");
    has("$.States.A.Parameters['x.$']", NULL);
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"ResultSelector\":[],"
              "\"Parameters\":{\"n\":{\"y.$\":\"States.Format('{}')x\"}},\"End\":true}"),
            "$.States.A.ResultSelector", "object");
    has("$.States.A.Parameters.n['y.$']", NULL);
    valid(M("\"A\":{\"Type\":\"Pass\",\"InputPath\":null,\"OutputPath\":null,"
            "\"ResultPath\":null,\"End\":true}"));
}

Test(validate, resources_against_the_limits)
{
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:lambda:x\",\"End\":true}"),
            "$.States.A.Resource", "unknown resource");
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http2\",\"End\":true}"),
            "$.States.A.Resource", NULL);
    valid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:integration:github\",\"End\":true}"));
    cr_assert_eq(validate(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"any\",\"End\":true}"), NULL),
                 TC_OK, "no limits: any resource");
}

Test(validate, task_timeouts)
{
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"TimeoutSeconds\":0,"
              "\"End\":true}"),
            "$.States.A.TimeoutSeconds", NULL);
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"TimeoutSeconds\":5,"
              "\"HeartbeatSeconds\":5,\"End\":true}"),
            "$.States.A.HeartbeatSeconds", "smaller");
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"TimeoutSeconds\":5,"
              "\"TimeoutSecondsPath\":\"$.t\",\"End\":true}"),
            "$.States.A", "exclusive");
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"TimeoutSecondsPath\":\"$.t[*]\","
              "\"End\":true}"),
            "$.States.A.TimeoutSecondsPath", NULL);
}

Test(validate, retry_shape)
{
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"End\":true,\"Retry\":["
              "{\"ErrorEquals\":[\"States.ALL\",\"X\"]},{\"ErrorEquals\":[]},"
              "{\"ErrorEquals\":[\"Y\"],\"IntervalSeconds\":0,\"MaxAttempts\":-1,"
              "\"BackoffRate\":0.5,\"MaxDelaySeconds\":0,\"JitterStrategy\":\"HALF\",\"Z\":1}]}"),
            "$.States.A.Retry[0].ErrorEquals", "alone");
    has("$.States.A.Retry[0].ErrorEquals", "last");
    has("$.States.A.Retry[1].ErrorEquals", "non-empty");
    has("$.States.A.Retry[2].IntervalSeconds", NULL);
    has("$.States.A.Retry[2].MaxAttempts", NULL);
    has("$.States.A.Retry[2].BackoffRate", NULL);
    has("$.States.A.Retry[2].MaxDelaySeconds", NULL);
    has("$.States.A.Retry[2].JitterStrategy", NULL);
    has("$.States.A.Retry[2].Z", "unknown");
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"End\":true,\"Retry\":{}}"),
            "$.States.A.Retry", "array");
}

Test(validate, catch_shape)
{
    invalid(M("\"A\":{\"Type\":\"Task\",\"Resource\":\"tc:http\",\"End\":true,\"Catch\":["
              "{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"A\"},"
              "{\"ErrorEquals\":[\"X\"],\"Next\":\"Nope\",\"ResultPath\":\"$..x\"},"
              "{\"ErrorEquals\":[\"Y\"]}]}"),
            "$.States.A.Catch[0].ErrorEquals", "last");
    has("$.States.A.Catch[1].Next", "'Nope'");
    has("$.States.A.Catch[1].ResultPath", NULL);
    has("$.States.A.Catch[2].Next", NULL);
    invalid(M("\"A\":{\"Type\":\"Pass\",\"End\":true,\"Catch\":[]}"), "$.States.A.Catch",
            "unknown");
}

Test(validate, choice_rules_and_targets)
{
    invalid(M("\"A\":{\"Type\":\"Choice\",\"Choices\":[]}"), "$.States.A.Choices", NULL);
    invalid(M("\"A\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.a\",\"IsNull\":1,"
              "\"Next\":\"Z\"}],\"Default\":\"Y\"}"),
            "$.States.A.Choices[0].IsNull", NULL);
    has("$.States.A.Choices[0].Next", "'Z'");
    has("$.States.A.Default", "'Y'");
}

Test(validate, wait_fields)
{
    invalid(M("\"A\":{\"Type\":\"Wait\",\"Seconds\":1,\"SecondsPath\":\"$.s\",\"End\":true}"),
            "$.States.A", "exactly one");
    invalid(M("\"A\":{\"Type\":\"Wait\",\"Seconds\":-1,\"End\":true}"), "$.States.A.Seconds", NULL);
    invalid(M("\"A\":{\"Type\":\"Wait\",\"Timestamp\":\"tomorrow\",\"End\":true}"),
            "$.States.A.Timestamp", NULL);
    invalid(M("\"A\":{\"Type\":\"Wait\",\"TimestampPath\":\"$..t\",\"End\":true}"),
            "$.States.A.TimestampPath", NULL);
}

Test(validate, fail_fields)
{
    invalid(M("\"A\":{\"Type\":\"Fail\",\"Error\":\"E\",\"ErrorPath\":\"$.e\",\"Cause\":1,"
              "\"CausePath\":\"States.Nope()\",\"InputPath\":\"$\"}"),
            "$.States.A", "exclusive");
    has("$.States.A.Cause", "string");
    has("$.States.A.CausePath", NULL);
    has("$.States.A.InputPath", "unknown");
    valid(M("\"A\":{\"Type\":\"Fail\",\"CausePath\":\"States.Format('x {}', $.a)\"}"));
}

Test(validate, nested_branches_are_checked_recursively)
{
    invalid(M("\"A\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"B\",\"States\":{"
              "\"B\":{\"Type\":\"Pass\",\"Next\":\"A\"}}},{\"States\":{}}],\"End\":true}"),
            "$.States.A.Branches[0].States.B.Next", "'A'");
    has("$.States.A.Branches[1].StartAt", NULL);
    has("$.States.A.Branches[1].States", NULL);
    invalid(M("\"A\":{\"Type\":\"Parallel\",\"Branches\":[],\"End\":true}"), "$.States.A.Branches",
            NULL);
}

Test(validate, map_fields)
{
    invalid(M("\"A\":{\"Type\":\"Map\",\"End\":true}"), "$.States.A", "ItemProcessor");
    invalid(M("\"A\":{\"Type\":\"Map\",\"ItemProcessor\":{\"StartAt\":\"X\",\"States\":{"
              "\"X\":{\"Type\":\"Task\",\"Resource\":\"bad\",\"End\":true}}},"
              "\"ItemSelector\":{},\"Parameters\":{},\"MaxConcurrency\":-1,"
              "\"ItemsPath\":\"$[*]\",\"End\":true}"),
            "$.States.A.ItemProcessor.States.X.Resource", NULL);
    has("$.States.A", "exclusive");
    has("$.States.A.MaxConcurrency", NULL);
    has("$.States.A.ItemsPath", NULL);
    invalid(M("\"A\":{\"Type\":\"Map\",\"ItemReader\":{},\"ToleratedFailureCount\":1,"
              "\"ItemProcessor\":{\"ProcessorConfig\":{\"Mode\":\"DISTRIBUTED\"},"
              "\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Succeed\"}}},\"End\":true}"),
            "$.States.A.ItemReader", "distributed");
    has("$.States.A.ToleratedFailureCount", "distributed");
    has("$.States.A.ItemProcessor.ProcessorConfig", "INLINE");
    valid(M("\"A\":{\"Type\":\"Map\",\"Iterator\":{\"StartAt\":\"X\",\"States\":{\"X\":{"
            "\"Type\":\"Succeed\"}}},\"Parameters\":{\"a.$\":\"$$.Map.Item.Index\"},"
            "\"MaxConcurrencyPath\":\"$.c\",\"End\":true}"));
}

Test(validate, jsonata_and_variables_are_refused_clearly)
{
    invalid("{\"QueryLanguage\":\"JSONata\",\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":"
            "\"Succeed\"}}}",
            "$.QueryLanguage", "JSONata is not supported");
    invalid(M("\"A\":{\"Type\":\"Pass\",\"QueryLanguage\":\"JSONata\",\"Output\":{},"
              "\"Assign\":{\"x\":1},\"End\":true}"),
            "$.States.A.QueryLanguage", "JSONata is not supported");
    has("$.States.A.Output", "JSONata");
    has("$.States.A.Assign", "variables");
}

Test(validate, the_state_limit_counts_every_level)
{
    static const asl_limits_t small = {.max_states = 3};
    const char *def = M("\"A\":{\"Type\":\"Parallel\",\"Branches\":[{\"StartAt\":\"B\","
                        "\"States\":{\"B\":{\"Type\":\"Succeed\"}}},{\"StartAt\":\"C\","
                        "\"States\":{\"C\":{\"Type\":\"Map\",\"ItemProcessor\":{\"StartAt\":"
                        "\"D\",\"States\":{\"D\":{\"Type\":\"Succeed\"}}},\"End\":true}}}],"
                        "\"End\":true}");
    cJSON *d = cJSON_Parse(def);
    cr_assert_eq(asl_count_states(d), 4);
    cJSON_Delete(d);
    cr_assert_eq(validate(def, &small), TC_EINVAL);
    cr_assert_eq(cJSON_GetArraySize(problems), 1);
    const cJSON *p = problem_at("$.States");
    cr_assert_not_null(p);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "limit")));
    static const asl_limits_t enough = {.max_states = 4};
    cr_assert_eq(validate(def, &enough), TC_OK);
}
