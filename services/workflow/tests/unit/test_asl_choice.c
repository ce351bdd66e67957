/* Unit tests of asl_choice.c: every Choice operator and its *Path form, And/Or/Not,
 * StringMatches, Default and States.NoChoiceMatched, and rule validation. No I/O. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static cJSON *input, *ctx;

static void setup(void)
{
    input = cJSON_Parse("{\"s\":\"banana\",\"s2\":\"cherry\",\"n\":5,\"n2\":7.5,\"b\":true,"
                        "\"t\":\"2026-01-01T10:00:00Z\",\"t2\":\"2026-01-01T11:00:00+01:00\","
                        "\"nul\":null,\"star\":\"a*b\",\"bs\":\"a\\\\b\",\"o\":{}}");
    ctx = cJSON_Parse("{\"State\":{\"RetryCount\":2}}");
}

static void teardown(void)
{
    cJSON_Delete(input);
    cJSON_Delete(ctx);
}

static bool rule(const char *text)
{
    cJSON *r = cJSON_Parse(text);
    asl_err_t err = {0};
    bool m = false;
    cr_assert_not_null(r, "%s", text);
    cr_assert_eq(asl_choice_rule_eval(r, input, ctx, &m, &err), TC_OK, "%s: %s", text,
                 err.cause ? err.cause : "");
    cJSON_Delete(r);
    return m;
}

#define YES(text) cr_assert(rule(text), "%s", text)
#define NO(text)  cr_assert_not(rule(text), "%s", text)

TestSuite(choice, .init = setup, .fini = teardown);

Test(choice, string_operators)
{
    YES("{\"Variable\":\"$.s\",\"StringEquals\":\"banana\"}");
    NO("{\"Variable\":\"$.s\",\"StringEquals\":\"Banana\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThan\":\"cherry\"}");
    NO("{\"Variable\":\"$.s\",\"StringLessThan\":\"banana\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThanEquals\":\"banana\"}");
    YES("{\"Variable\":\"$.s\",\"StringGreaterThan\":\"apple\"}");
    YES("{\"Variable\":\"$.s\",\"StringGreaterThanEquals\":\"banana\"}");
    NO("{\"Variable\":\"$.s\",\"StringGreaterThanEquals\":\"c\"}");
    NO("{\"Variable\":\"$.n\",\"StringEquals\":\"5\"}");
}

Test(choice, string_path_operators)
{
    NO("{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.s2\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThanPath\":\"$.s2\"}");
    NO("{\"Variable\":\"$.s\",\"StringGreaterThanPath\":\"$.s2\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThanEqualsPath\":\"$.s\"}");
    YES("{\"Variable\":\"$.s2\",\"StringGreaterThanEqualsPath\":\"$.s\"}");
}

Test(choice, numeric_operators)
{
    YES("{\"Variable\":\"$.n\",\"NumericEquals\":5}");
    YES("{\"Variable\":\"$.n\",\"NumericEquals\":5.0}");
    NO("{\"Variable\":\"$.n\",\"NumericEquals\":6}");
    YES("{\"Variable\":\"$.n\",\"NumericLessThan\":5.5}");
    YES("{\"Variable\":\"$.n\",\"NumericGreaterThan\":-1}");
    YES("{\"Variable\":\"$.n\",\"NumericLessThanEquals\":5}");
    YES("{\"Variable\":\"$.n\",\"NumericGreaterThanEquals\":5}");
    NO("{\"Variable\":\"$.s\",\"NumericEquals\":5}");
    YES("{\"Variable\":\"$.n\",\"NumericLessThanPath\":\"$.n2\"}");
    NO("{\"Variable\":\"$.n\",\"NumericGreaterThanPath\":\"$.n2\"}");
    YES("{\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.n\"}");
    YES("{\"Variable\":\"$.n\",\"NumericLessThanEqualsPath\":\"$.n2\"}");
    YES("{\"Variable\":\"$.n2\",\"NumericGreaterThanEqualsPath\":\"$.n\"}");
    YES("{\"Variable\":\"$$.State.RetryCount\",\"NumericEquals\":2}");
}

Test(choice, boolean_operators)
{
    YES("{\"Variable\":\"$.b\",\"BooleanEquals\":true}");
    NO("{\"Variable\":\"$.b\",\"BooleanEquals\":false}");
    NO("{\"Variable\":\"$.n\",\"BooleanEquals\":true}");
    YES("{\"Variable\":\"$.b\",\"BooleanEqualsPath\":\"$.b\"}");
}

Test(choice, timestamp_operators_compare_instants)
{
    /* t2 is 10:00Z written with an offset: the same instant as t. */
    YES("{\"Variable\":\"$.t\",\"TimestampEquals\":\"2026-01-01T10:00:00Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampEqualsPath\":\"$.t2\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThan\":\"2026-01-01T10:00:00.001Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampGreaterThan\":\"2025-12-31T23:59:59Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThanEquals\":\"2026-01-01T10:00:00Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampGreaterThanEquals\":\"2026-01-01T10:00:00Z\"}");
    NO("{\"Variable\":\"$.t\",\"TimestampLessThanPath\":\"$.t2\"}");
    NO("{\"Variable\":\"$.t\",\"TimestampGreaterThanPath\":\"$.t2\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThanEqualsPath\":\"$.t2\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampGreaterThanEqualsPath\":\"$.t2\"}");
    NO("{\"Variable\":\"$.s\",\"TimestampEquals\":\"2026-01-01T10:00:00Z\"}");
}

Test(choice, string_matches_with_wildcards_and_escapes)
{
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"b*\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"*na\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"b*n*a\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"*\"}");
    NO("{\"Variable\":\"$.s\",\"StringMatches\":\"b*x\"}");
    YES("{\"Variable\":\"$.star\",\"StringMatches\":\"a\\\\*b\"}");
    NO("{\"Variable\":\"$.s\",\"StringMatches\":\"ban\\\\*\"}");
    YES("{\"Variable\":\"$.bs\",\"StringMatches\":\"a\\\\\\\\b\"}");
    cr_assert(asl_string_matches("log-2026.txt", "log-*.txt"));
    cr_assert(asl_string_matches("", "*"));
    cr_assert_not(asl_string_matches("", "?"));
    cr_assert(asl_string_matches("aaa", "a*a*a"));
    cr_assert_not(asl_string_matches("aa", "a*a*a"));
}

Test(choice, type_tests)
{
    YES("{\"Variable\":\"$.nul\",\"IsNull\":true}");
    NO("{\"Variable\":\"$.n\",\"IsNull\":true}");
    YES("{\"Variable\":\"$.n\",\"IsNull\":false}");
    YES("{\"Variable\":\"$.n\",\"IsNumeric\":true}");
    NO("{\"Variable\":\"$.s\",\"IsNumeric\":true}");
    YES("{\"Variable\":\"$.s\",\"IsString\":true}");
    YES("{\"Variable\":\"$.b\",\"IsBoolean\":true}");
    YES("{\"Variable\":\"$.t\",\"IsTimestamp\":true}");
    NO("{\"Variable\":\"$.s\",\"IsTimestamp\":true}");
    YES("{\"Variable\":\"$.o\",\"IsString\":false}");
}

Test(choice, is_present_looks_at_presence)
{
    YES("{\"Variable\":\"$.s\",\"IsPresent\":true}");
    YES("{\"Variable\":\"$.nul\",\"IsPresent\":true}");
    NO("{\"Variable\":\"$.missing\",\"IsPresent\":true}");
    YES("{\"Variable\":\"$.missing\",\"IsPresent\":false}");
}

Test(choice, boolean_combinations)
{
    YES("{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},"
        "{\"Variable\":\"$.b\",\"BooleanEquals\":true}]}");
    NO("{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},"
       "{\"Variable\":\"$.b\",\"BooleanEquals\":false}]}");
    YES("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":4},"
        "{\"Variable\":\"$.b\",\"BooleanEquals\":true}]}");
    NO("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":4}]}");
    YES("{\"Not\":{\"Variable\":\"$.s\",\"StringEquals\":\"apple\"}}");
    YES("{\"Not\":{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},{\"Not\":{\"Variable\":"
        "\"$.n\",\"NumericEquals\":5}}]}}");
}

Test(choice, or_short_circuits_before_a_failing_rule)
{
    YES("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},"
        "{\"Variable\":\"$.missing\",\"NumericEquals\":1}]}");
}

Test(choice, a_missing_variable_is_states_runtime)
{
    const char *rules[] = {"{\"Variable\":\"$.missing\",\"NumericEquals\":1}",
                           "{\"Variable\":\"$.missing\",\"IsNull\":true}",
                           "{\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.missing\"}"};
    for (size_t i = 0; i < TC_ARRAY_LEN(rules); i++) {
        cJSON *r = cJSON_Parse(rules[i]);
        asl_err_t err = {0};
        bool m;
        cr_assert_eq(asl_choice_rule_eval(r, input, ctx, &m, &err), TC_EINVAL, "%s", rules[i]);
        cr_assert_str_eq(err.error, "States.Runtime");
        cr_assert_not_null(strstr(err.cause, "$.missing"));
        asl_err_clear(&err);
        cJSON_Delete(r);
    }
}

/* ------------------------------------------------------------------ Choices and Default */

static const char *next_of(const char *state_text, int *rc, asl_err_t *err)
{
    static char buf[ASL_NAME_MAX + 1];
    cJSON *state = cJSON_Parse(state_text);
    const char *next = NULL;
    *rc = asl_choice_next(state, input, ctx, &next, err);
    snprintf(buf, sizeof buf, "%s", next ? next : "");
    cJSON_Delete(state);
    return buf;
}

Test(choice, the_first_matching_rule_wins)
{
    int rc;
    asl_err_t err = {0};
    const char *next = next_of("{\"Choices\":["
                               "{\"Variable\":\"$.n\",\"NumericGreaterThan\":9,\"Next\":\"A\"},"
                               "{\"Variable\":\"$.n\",\"NumericGreaterThan\":1,\"Next\":\"B\"},"
                               "{\"Variable\":\"$.n\",\"NumericGreaterThan\":0,\"Next\":\"C\"}],"
                               "\"Default\":\"D\"}",
                               &rc, &err);
    cr_assert_eq(rc, TC_OK);
    cr_assert_str_eq(next, "B");
}

Test(choice, default_then_no_choice_matched)
{
    int rc;
    asl_err_t err = {0};
    const char *next = next_of("{\"Choices\":[{\"Variable\":\"$.n\",\"NumericEquals\":0,"
                               "\"Next\":\"A\"}],\"Default\":\"D\"}",
                               &rc, &err);
    cr_assert_eq(rc, TC_OK);
    cr_assert_str_eq(next, "D");
    next_of("{\"Choices\":[{\"Variable\":\"$.n\",\"NumericEquals\":0,\"Next\":\"A\"}]}", &rc, &err);
    cr_assert_eq(rc, TC_EINVAL);
    cr_assert_str_eq(err.error, "States.NoChoiceMatched");
    asl_err_clear(&err);
}

/* ------------------------------------------------------------------ validation */

static cJSON *check(const char *text, bool top)
{
    cJSON *r = cJSON_Parse(text), *problems = cJSON_CreateArray();
    cr_assert_not_null(r, "%s", text);
    asl_choice_rule_check(r, top, "$.C[0]", problems);
    cJSON_Delete(r);
    return problems;
}

static void check_ok(const char *text)
{
    cJSON *p = check(text, true);
    char *s = cJSON_PrintUnformatted(p);
    cr_assert_eq(cJSON_GetArraySize(p), 0, "%s: %s", text, s);
    free(s);
    cJSON_Delete(p);
}

static void check_bad(const char *text, const char *path)
{
    cJSON *p = check(text, true);
    char *s = cJSON_PrintUnformatted(p);
    bool found = false;
    const cJSON *e;
    cJSON_ArrayForEach(e, p) found =
        found || strcmp(cJSON_GetObjectItem(e, "path")->valuestring, path) == 0;
    cr_assert(found, "%s: want a problem at %s, got %s", text, path, s);
    free(s);
    cJSON_Delete(p);
}

Test(choice_check, good_rules)
{
    check_ok("{\"Variable\":\"$.a\",\"StringEquals\":\"x\",\"Next\":\"N\"}");
    check_ok("{\"Variable\":\"$.a\",\"TimestampLessThan\":\"2026-01-01T00:00:00Z\","
             "\"Next\":\"N\",\"Comment\":\"c\"}");
    check_ok("{\"And\":[{\"Variable\":\"$.a\",\"IsPresent\":true},{\"Not\":{\"Variable\":"
             "\"$$.State.Name\",\"StringMatches\":\"a*\"}}],\"Next\":\"N\"}");
    check_ok("{\"Variable\":\"$.a[0]\",\"NumericLessThanEqualsPath\":\"$.b\",\"Next\":\"N\"}");
}

Test(choice_check, problems_carry_paths)
{
    check_bad("{\"Variable\":\"$.a\",\"StringEquals\":\"x\"}", "$.C[0]");
    check_bad("{\"Variable\":\"$.a\",\"StringEquals\":1,\"Next\":\"N\"}", "$.C[0].StringEquals");
    check_bad("{\"Variable\":\"$.a\",\"NumericEquals\":\"1\",\"Next\":\"N\"}",
              "$.C[0].NumericEquals");
    check_bad("{\"Variable\":\"$.a\",\"BooleanEquals\":1,\"Next\":\"N\"}", "$.C[0].BooleanEquals");
    check_bad("{\"Variable\":\"$.a\",\"TimestampEquals\":\"yesterday\",\"Next\":\"N\"}",
              "$.C[0].TimestampEquals");
    check_bad("{\"Variable\":\"$.a\",\"IsNull\":\"yes\",\"Next\":\"N\"}", "$.C[0].IsNull");
    check_bad("{\"Variable\":\"$.a\",\"StringEqualsPath\":\"nope\",\"Next\":\"N\"}",
              "$.C[0].StringEqualsPath");
    check_bad("{\"Variable\":\"a\",\"StringEquals\":\"x\",\"Next\":\"N\"}", "$.C[0].Variable");
    check_bad("{\"StringEquals\":\"x\",\"Next\":\"N\"}", "$.C[0].Variable");
    check_bad("{\"Variable\":\"$.a\",\"Next\":\"N\"}", "$.C[0]");
    check_bad("{\"Variable\":\"$.a\",\"StringEquals\":\"x\",\"NumericEquals\":1,\"Next\":\"N\"}",
              "$.C[0]");
    check_bad("{\"Variable\":\"$.a\",\"StringEquals\":\"x\",\"Bogus\":1,\"Next\":\"N\"}",
              "$.C[0].Bogus");
    check_bad("{\"And\":[],\"Next\":\"N\"}", "$.C[0].And");
    check_bad("{\"Or\":{},\"Next\":\"N\"}", "$.C[0].Or");
    check_bad("{\"And\":[{\"Variable\":\"$.a\",\"IsNull\":true,\"Next\":\"X\"}],\"Next\":\"N\"}",
              "$.C[0].And[0].Next");
    check_bad("{\"Not\":{\"Variable\":\"$.a\"},\"Next\":\"N\"}", "$.C[0].Not");
    check_bad(
        "{\"Not\":{\"Variable\":\"$.a\",\"IsNull\":true},\"Variable\":\"$.a\",\"Next\":\"N\"}",
        "$.C[0].Variable");
    check_bad("[1]", "$.C[0]");
}
