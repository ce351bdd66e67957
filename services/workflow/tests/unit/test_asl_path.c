/* Unit tests of asl_path.c: JSONPath evaluation (definite and indefinite paths, filters,
 * context paths), path validity, ResultPath and InputPath/OutputPath. No I/O. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static cJSON *doc;

static const char *DOC = "{\"a\":{\"b\":1,\"c\":[10,20,30,40]},\"x y\":\"sp\",\"a.b\":\"dot\","
                         "\"books\":[{\"t\":\"A\",\"p\":8,\"tag\":\"x\"},{\"t\":\"B\",\"p\":12},"
                         "{\"t\":\"C\",\"p\":30,\"tag\":\"y\"}],\"n\":null,\"f\":false}";

static void setup(void)
{
    doc = cJSON_Parse(DOC);
    cr_assert_not_null(doc);
}

static void teardown(void)
{
    cJSON_Delete(doc);
}

/* Evaluates path and compares the result with the JSON text want. */
static void eval_is(const char *path, const char *want)
{
    cJSON *out = NULL, *w = cJSON_Parse(want);
    cr_assert_not_null(w, "bad expectation %s", want);
    cr_assert_eq(asl_path_eval(doc, NULL, path, &out), TC_OK, "%s", path);
    char *got = cJSON_PrintUnformatted(out);
    cr_assert(cJSON_Compare(out, w, true), "%s gave %s, want %s", path, got, want);
    free(got);
    cJSON_Delete(out);
    cJSON_Delete(w);
}

static int eval_rc(const char *path)
{
    cJSON *out = NULL;
    int rc = asl_path_eval(doc, NULL, path, &out);
    cJSON_Delete(out);
    return rc;
}

TestSuite(path, .init = setup, .fini = teardown);

Test(path, root_is_the_document)
{
    eval_is("$", DOC);
}

Test(path, definite_paths_give_the_value)
{
    eval_is("$.a.b", "1");
    eval_is("$.a.c[0]", "10");
    eval_is("$.a.c[-1]", "40");
    eval_is("$['x y']", "\"sp\"");
    eval_is("$[\"x y\"]", "\"sp\"");
    eval_is("$.a['c'][1]", "20");
    eval_is("$.a\\.b", "\"dot\"");
    eval_is("$.n", "null");
    eval_is("$.f", "false");
}

Test(path, a_definite_path_selecting_nothing_is_not_found)
{
    cr_assert_eq(eval_rc("$.zz"), TC_ENOTFOUND);
    cr_assert_eq(eval_rc("$.a.b.c"), TC_ENOTFOUND);
    cr_assert_eq(eval_rc("$.a.c[9]"), TC_ENOTFOUND);
    cr_assert_eq(eval_rc("$.a[0]"), TC_ENOTFOUND, "index into an object");
}

Test(path, bad_paths_are_invalid)
{
    const char *bad[] = {"",
                         "a.b",
                         "$.",
                         "$a",
                         "$.a[",
                         "$.a[x]",
                         "$.a..",
                         "$['a'",
                         "$.a[?(@.b",
                         "$.a[1:2:0]",
                         "$.a[?(@.b ==)]",
                         "$ .a",
                         "$.a[?(@.b == 'x)]"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        cr_assert_eq(eval_rc(bad[i]), TC_EINVAL, "%s", bad[i]);
        cr_assert_not(asl_path_valid(bad[i], false), "%s", bad[i]);
    }
}

Test(path, wildcards_give_arrays)
{
    eval_is("$.a.c[*]", "[10,20,30,40]");
    eval_is("$.books[*].t", "[\"A\",\"B\",\"C\"]");
    eval_is("$.books.*.p", "[8,12,30]");
    eval_is("$.a.*", "[1,[10,20,30,40]]");
}

Test(path, descent_collects_every_level)
{
    eval_is("$..t", "[\"A\",\"B\",\"C\"]");
    eval_is("$..tag", "[\"x\",\"y\"]");
    eval_is("$.a..[0]", "[10]");
}

Test(path, slices_and_unions)
{
    eval_is("$.a.c[1:3]", "[20,30]");
    eval_is("$.a.c[:2]", "[10,20]");
    eval_is("$.a.c[-2:]", "[30,40]");
    eval_is("$.a.c[::2]", "[10,30]");
    eval_is("$.a.c[0,3]", "[10,40]");
    eval_is("$.a['b','zz']", "[1]");
    eval_is("$.a.c[5:9]", "[]");
}

Test(path, filters_compare_and_combine)
{
    eval_is("$.books[?(@.p > 10)].t", "[\"B\",\"C\"]");
    eval_is("$.books[?(@.p <= 12)].t", "[\"A\",\"B\"]");
    eval_is("$.books[?(@.t == 'B')].p", "[12]");
    eval_is("$.books[?(@.t != 'B')].p", "[8,30]");
    eval_is("$.books[?(@.tag)].t", "[\"A\",\"C\"]");
    eval_is("$.books[?(!@.tag)].t", "[\"B\"]");
    eval_is("$.books[?(@.p > 10 && @.tag == 'y')].t", "[\"C\"]");
    eval_is("$.books[?(@.p < 10 || @.p > 20)].t", "[\"A\",\"C\"]");
    eval_is("$.books[?((@.p < 10 || @.p > 20) && @.tag == 'x')].t", "[\"A\"]");
    eval_is("$.books[?(@.p > $.a.b)].t", "[\"A\",\"B\",\"C\"]");
    eval_is("$.books[?(@.t > 'A')].t", "[\"B\",\"C\"]");
    eval_is("$.a.c[?(@ >= 30)]", "[30,40]");
}

Test(path, an_indefinite_path_selecting_nothing_is_an_empty_array)
{
    eval_is("$.books[?(@.p > 100)]", "[]");
    eval_is("$..nothing", "[]");
}

Test(path, context_paths_read_the_context_object)
{
    cJSON *ctx = cJSON_Parse("{\"Execution\":{\"Id\":\"arn:x\"},\"Map\":{\"Item\":{\"Index\":2}}}");
    cJSON *out = NULL;
    cr_assert_eq(asl_path_eval(doc, ctx, "$$.Execution.Id", &out), TC_OK);
    cr_assert_str_eq(out->valuestring, "arn:x");
    cJSON_Delete(out);
    cr_assert_eq(asl_path_eval(doc, ctx, "$$.Map.Item.Index", &out), TC_OK);
    cr_assert_eq(out->valueint, 2);
    cJSON_Delete(out);
    cr_assert_eq(asl_path_eval(doc, ctx, "$$", &out), TC_OK);
    cr_assert(cJSON_Compare(out, ctx, true));
    cJSON_Delete(out);
    cr_assert_eq(asl_path_eval(doc, ctx, "$$.Nope", &out), TC_ENOTFOUND);
    cr_assert_eq(asl_path_eval(doc, NULL, "$$.Execution", &out), TC_ENOTFOUND);
    cJSON_Delete(ctx);
}

Test(path, the_result_is_a_copy)
{
    cJSON *out = NULL;
    cr_assert_eq(asl_path_eval(doc, NULL, "$.a", &out), TC_OK);
    cJSON_AddNumberToObject(out, "new", 1);
    cJSON_Delete(out);
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "a"), "new"));
}

Test(path, validity_of_reference_paths)
{
    const char *ref_ok[] = {"$",      "$.a",         "$.a.b",   "$['x y']",
                            "$.a[0]", "$.a[0][2].b", "$.a\\.b", "$['a']['b']"};
    const char *ref_bad[] = {"$.a[*]",       "$..a",         "$.a[-1]", "$.a[0:1]", "$.a[?(@.b)]",
                             "$$.Execution", "$.a['b','c']", "a",       "$.*"};
    for (size_t i = 0; i < TC_ARRAY_LEN(ref_ok); i++) {
        cr_assert(asl_path_valid(ref_ok[i], true), "%s", ref_ok[i]);
        cr_assert(asl_path_valid(ref_ok[i], false), "%s", ref_ok[i]);
    }
    for (size_t i = 0; i < TC_ARRAY_LEN(ref_bad); i++)
        cr_assert_not(asl_path_valid(ref_bad[i], true), "%s", ref_bad[i]);
    cr_assert(asl_path_valid("$.a[*]", false));
    cr_assert(asl_path_valid("$$.Execution.Id", false));
    cr_assert_not(asl_path_valid(NULL, false));
}

/* ------------------------------------------------------------------ ResultPath */

static void result_is(const char *input, const char *path, const char *value, const char *want)
{
    cJSON *in = cJSON_Parse(input), *out = NULL, *w = cJSON_Parse(want);
    asl_err_t err = {0};
    cr_assert_eq(asl_result_path(in, path, cJSON_Parse(value), &out, &err), TC_OK, "%s", path);
    char *got = cJSON_PrintUnformatted(out);
    cr_assert(cJSON_Compare(out, w, true), "%s gave %s", path ? path : "null", got);
    free(got);
    cJSON_Delete(in);
    cJSON_Delete(out);
    cJSON_Delete(w);
    asl_err_clear(&err);
}

static void result_fails(const char *input, const char *path)
{
    cJSON *in = cJSON_Parse(input), *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_result_path(in, path, cJSON_CreateNumber(1), &out, &err), TC_EINVAL, "%s",
                 path);
    cr_assert_null(out);
    cr_assert_str_eq(err.error, "States.ResultPathMatchFailure");
    cJSON_Delete(in);
    asl_err_clear(&err);
}

Test(result_path, dollar_replaces_and_null_discards)
{
    result_is("{\"a\":1}", "$", "{\"r\":2}", "{\"r\":2}");
    result_is("{\"a\":1}", NULL, "{\"r\":2}", "{\"a\":1}");
}

Test(result_path, a_field_is_added_or_replaced)
{
    result_is("{\"a\":1}", "$.r", "5", "{\"a\":1,\"r\":5}");
    result_is("{\"a\":1}", "$.a", "5", "{\"a\":5}");
    result_is("{\"a\":{\"b\":1}}", "$.a.c", "true", "{\"a\":{\"b\":1,\"c\":true}}");
    result_is("{}", "$['x y']", "1", "{\"x y\":1}");
}

Test(result_path, missing_objects_on_the_way_are_created)
{
    result_is("{\"a\":1}", "$.x.y.z", "1", "{\"a\":1,\"x\":{\"y\":{\"z\":1}}}");
}

Test(result_path, array_elements_are_replaced_in_range)
{
    result_is("{\"a\":[1,2,3]}", "$.a[1]", "9", "{\"a\":[1,9,3]}");
    result_is("{\"a\":[{\"b\":1}]}", "$.a[0].c", "2", "{\"a\":[{\"b\":1,\"c\":2}]}");
}

Test(result_path, paths_through_non_objects_fail)
{
    result_fails("\"text\"", "$.a");
    result_fails("[1,2]", "$.a");
    result_fails("{\"a\":1}", "$.a.b");
    result_fails("{\"a\":[1]}", "$.a[3]");
    result_fails("{\"a\":{}}", "$.a[0]");
    result_fails("{}", "$.a[*]");
}

Test(result_path, the_input_is_not_modified)
{
    cJSON *in = cJSON_Parse("{\"a\":{\"b\":1}}"), *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_result_path(in, "$.a.b", cJSON_CreateNumber(2), &out, &err), TC_OK);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(in, "a"), "b")->valueint, 1);
    cJSON_Delete(in);
    cJSON_Delete(out);
}

/* ------------------------------------------------------------------ InputPath / OutputPath */

TestSuite(io_path, .init = setup, .fini = teardown);

Test(io_path, absent_is_dollar_null_is_empty_object)
{
    cJSON *state = cJSON_Parse("{\"InputPath\":null,\"OutputPath\":\"$.a\"}");
    cJSON *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_apply_io_path(state, "InputPath", doc, &out, &err), TC_OK);
    cr_assert(cJSON_IsObject(out) && out->child == NULL);
    cJSON_Delete(out);
    cr_assert_eq(asl_apply_io_path(state, "OutputPath", doc, &out, &err), TC_OK);
    cr_assert_eq(cJSON_GetObjectItem(out, "b")->valueint, 1);
    cJSON_Delete(out);
    cr_assert_eq(asl_apply_io_path(state, "ResultPath", doc, &out, &err), TC_OK);
    cr_assert(cJSON_Compare(out, doc, true));
    cJSON_Delete(out);
    cJSON_Delete(state);
}

Test(io_path, a_path_selecting_nothing_is_states_runtime)
{
    cJSON *state = cJSON_Parse("{\"InputPath\":\"$.missing\"}");
    cJSON *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_apply_io_path(state, "InputPath", doc, &out, &err), TC_EINVAL);
    cr_assert_str_eq(err.error, "States.Runtime");
    cr_assert_not_null(strstr(err.cause, "$.missing"));
    asl_err_clear(&err);
    cJSON_Delete(state);
}
