/* Unit tests of asl_template.c: payload templates with ".$" keys (paths, context paths,
 * intrinsics), recursion into objects and arrays, their errors and their validation. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static cJSON *input, *ctx;

static void setup(void)
{
    input = cJSON_Parse("{\"a\":1,\"b\":{\"c\":[1,2]},\"s\":\"x\"}");
    ctx = cJSON_Parse("{\"Execution\":{\"Id\":\"arn:tc:execution:e\"},\"Map\":{\"Item\":"
                      "{\"Index\":4,\"Value\":{\"v\":9}}}}");
}

static void teardown(void)
{
    cJSON_Delete(input);
    cJSON_Delete(ctx);
}

static void applies(const char *tmpl, const char *want)
{
    cJSON *t = cJSON_Parse(tmpl), *w = cJSON_Parse(want), *out = NULL;
    asl_err_t err = {0};
    cr_assert_not_null(t);
    cr_assert_eq(asl_template_apply(t, input, ctx, &out, &err), TC_OK, "%s: %s", tmpl,
                 err.cause ? err.cause : "");
    char *got = cJSON_PrintUnformatted(out);
    cr_assert(cJSON_Compare(out, w, true), "%s gave %s", tmpl, got);
    free(got);
    cJSON_Delete(t);
    cJSON_Delete(w);
    cJSON_Delete(out);
}

static void fails_with(const char *tmpl, const char *error, const char *in_cause)
{
    cJSON *t = cJSON_Parse(tmpl), *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_template_apply(t, input, ctx, &out, &err), TC_EINVAL, "%s", tmpl);
    cr_assert_null(out);
    cr_assert_str_eq(err.error, error, "%s", tmpl);
    if (in_cause)
        cr_assert_not_null(strstr(err.cause, in_cause), "%s", err.cause);
    asl_err_clear(&err);
    cJSON_Delete(t);
}

TestSuite(tmpl, .init = setup, .fini = teardown);

Test(tmpl, static_values_are_copied)
{
    applies("{\"k\":\"$.a\",\"n\":1,\"z\":null,\"o\":{\"p\":[1,\"q\"]}}",
            "{\"k\":\"$.a\",\"n\":1,\"z\":null,\"o\":{\"p\":[1,\"q\"]}}");
    applies("{}", "{}");
}

Test(tmpl, dollar_keys_take_paths)
{
    applies("{\"x.$\":\"$.a\",\"all.$\":\"$\",\"c.$\":\"$.b.c[*]\"}",
            "{\"x\":1,\"all\":{\"a\":1,\"b\":{\"c\":[1,2]},\"s\":\"x\"},\"c\":[1,2]}");
}

Test(tmpl, dollar_keys_take_context_paths)
{
    applies("{\"id.$\":\"$$.Execution.Id\",\"i.$\":\"$$.Map.Item.Index\","
            "\"v.$\":\"$$.Map.Item.Value.v\"}",
            "{\"id\":\"arn:tc:execution:e\",\"i\":4,\"v\":9}");
}

Test(tmpl, dollar_keys_take_intrinsics)
{
    applies("{\"m.$\":\"States.Format('{}-{}', $.s, $$.Map.Item.Index)\"}", "{\"m\":\"x-4\"}");
}

Test(tmpl, nested_objects_and_arrays_are_processed)
{
    applies("{\"o\":{\"p.$\":\"$.a\",\"q\":[{\"r.$\":\"$.s\"},2]}}",
            "{\"o\":{\"p\":1,\"q\":[{\"r\":\"x\"},2]}}");
}

Test(tmpl, a_path_selecting_nothing_is_a_parameter_path_failure)
{
    fails_with("{\"x.$\":\"$.missing\"}", "States.ParameterPathFailure", "'$.missing'");
    fails_with("{\"o\":{\"x.$\":\"$$.Nope\"}}", "States.ParameterPathFailure", "x.$");
}

Test(tmpl, a_non_string_dollar_value_fails)
{
    fails_with("{\"x.$\":1}", "States.ParameterPathFailure", "x.$");
}

Test(tmpl, a_failing_intrinsic_is_an_intrinsic_failure)
{
    fails_with("{\"x.$\":\"States.ArrayLength($.a)\"}", "States.IntrinsicFailure", NULL);
    fails_with("{\"x.$\":\"States.UUID()\"}", "States.IntrinsicFailure", NULL);
}

Test(tmpl, what_paths_copy_is_bounded_while_it_is_built)
{
    /* a 100 KiB string: two copies fit, a third is over the payload limit */
    char *big = malloc(100 * 1024 + 1);
    cr_assert_not_null(big);
    memset(big, 'x', 100 * 1024);
    big[100 * 1024] = '\0';
    cr_assert_not_null(cJSON_AddStringToObject(input, "big", big));
    free(big);
    cJSON *t = cJSON_Parse("{\"a.$\":\"$.big\",\"b.$\":\"$.big\"}"), *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_template_apply(t, input, ctx, &out, &err), TC_OK);
    cJSON_Delete(out);
    cJSON_Delete(t);
    out = NULL;
    t = cJSON_Parse("{\"a.$\":\"$.big\",\"n\":{\"b.$\":\"$.big\",\"c\":[{\"d.$\":\"$\"}]}}");
    cr_assert_eq(asl_template_apply(t, input, ctx, &out, &err), TC_EINVAL);
    cr_assert_null(out);
    cr_assert_str_eq(err.error, "States.DataLimitExceeded");
    asl_err_clear(&err);
    cJSON_Delete(t);
}

Test(tmpl, uuid_uses_the_callers_bytes_through_the_internal_entry)
{
    static const uint8_t bytes[16] = {1};
    asl_eval_t ev = {.input = input, .ctx = ctx, .uuid = bytes};
    cJSON *t = cJSON_Parse("{\"a.$\":\"States.UUID()\",\"b.$\":\"States.UUID()\"}"), *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_template_apply_in(&ev, t, &out, &err), TC_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(out, "a")->valuestring,
                     "01000000-0000-4000-8000-000000000000");
    cr_assert_str_neq(cJSON_GetObjectItem(out, "a")->valuestring,
                      cJSON_GetObjectItem(out, "b")->valuestring);
    cJSON_Delete(t);
    cJSON_Delete(out);
}

/* ------------------------------------------------------------------ validation */

static cJSON *check(const char *tmpl)
{
    cJSON *t = cJSON_Parse(tmpl), *problems = cJSON_CreateArray();
    asl_template_check(t, "$.States.S.Parameters", problems);
    cJSON_Delete(t);
    return problems;
}

static const char *problem_path(const cJSON *problems, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(problems, i), "path")->valuestring;
}

Test(tmpl_check, a_good_template_has_no_problem)
{
    cJSON *p = check("{\"a.$\":\"$.x[*]\",\"b.$\":\"$$.Execution.Id\",\"c.$\":\"States.UUID()\","
                     "\"d\":{\"e\":\"$.not-a-path-but-static\"}}");
    cr_assert_eq(cJSON_GetArraySize(p), 0);
    cJSON_Delete(p);
}

Test(tmpl_check, bad_values_are_reported_with_their_path)
{
    cJSON *p = check("{\"a.$\":\"x\",\"o\":{\"l\":[{\"b.$\":\"States.Nope()\"}]},\"c.$\":3,"
                     "\"d.$\":\"$.a[\",\"e.$\":\"States.Format('{}'\"}");
    cr_assert_eq(cJSON_GetArraySize(p), 5);
    cr_assert_str_eq(problem_path(p, 0), "$.States.S.Parameters['a.$']");
    cr_assert_str_eq(problem_path(p, 1), "$.States.S.Parameters.o.l[0]['b.$']");
    cr_assert_str_eq(problem_path(p, 2), "$.States.S.Parameters['c.$']");
    cr_assert_str_eq(problem_path(p, 3), "$.States.S.Parameters['d.$']");
    cr_assert_str_eq(problem_path(p, 4), "$.States.S.Parameters['e.$']");
    cJSON_Delete(p);
}

Test(tmpl_check, a_field_given_twice_is_reported)
{
    cJSON *p = check("{\"a\":1,\"a.$\":\"$.x\"}");
    cr_assert_eq(cJSON_GetArraySize(p), 1);
    cJSON_Delete(p);
}
