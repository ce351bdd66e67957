/* Unit tests of asl_intrinsics.c: every intrinsic function, its argument errors, nesting,
 * string-literal escapes and the syntax check. No I/O. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "asl_internal.h"
#include "tc/tc_core.h"

static cJSON *input, *ctx;
static const uint8_t BYTES[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static void setup(void)
{
    input = cJSON_Parse("{\"name\":\"Ada\",\"n\":3,\"arr\":[1,2,2,\"a\",\"a\",{\"k\":1},{\"k\":1}],"
                        "\"obj\":{\"a\":1,\"b\":{\"c\":2}},\"other\":{\"b\":9,\"d\":4},"
                        "\"json\":\"{\\\"x\\\":[1,true]}\",\"csv\":\"a,b,,c\",\"t\":true,"
                        "\"nul\":null,\"arn\":\"arn:aws:x:y/name.v1/z\"}");
    ctx = cJSON_Parse("{\"Execution\":{\"Name\":\"e1\"}}");
    cr_assert_not_null(input);
}

static void teardown(void)
{
    cJSON_Delete(input);
    cJSON_Delete(ctx);
}

static void is(const char *expr, const char *want)
{
    cJSON *out = NULL, *w = cJSON_Parse(want);
    asl_err_t err = {0};
    cr_assert_not_null(w, "bad expectation %s", want);
    int rc = asl_intrinsic_eval(expr, input, ctx, BYTES, &out, &err);
    cr_assert_eq(rc, TC_OK, "%s: %s %s", expr, err.error, err.cause ? err.cause : "");
    char *got = cJSON_PrintUnformatted(out);
    cr_assert(cJSON_Compare(out, w, true), "%s gave %s, want %s", expr, got, want);
    cr_assert(asl_intrinsic_valid(expr), "%s", expr);
    free(got);
    cJSON_Delete(out);
    cJSON_Delete(w);
}

/* Evaluation fails with States.IntrinsicFailure (the syntax may be valid). */
static void fails(const char *expr)
{
    cJSON *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_intrinsic_eval(expr, input, ctx, BYTES, &out, &err), TC_EINVAL, "%s", expr);
    cr_assert_null(out);
    cr_assert_str_eq(err.error, "States.IntrinsicFailure", "%s", expr);
    cr_assert_not_null(err.cause);
    asl_err_clear(&err);
}

static void invalid(const char *expr)
{
    cr_assert_not(asl_intrinsic_valid(expr), "%s", expr);
    fails(expr);
}

TestSuite(intrinsic, .init = setup, .fini = teardown);

Test(intrinsic, format)
{
    is("States.Format('Hello, {}!', $.name)", "\"Hello, Ada!\"");
    is("States.Format('{} and {}', $.n, $.t)", "\"3 and true\"");
    is("States.Format('{}', $.nul)", "\"null\"");
    is("States.Format('no placeholders')", "\"no placeholders\"");
    is("States.Format('{}{}', 'a', 1.5)", "\"a1.5\"");
    is("States.Format('exec {}', $$.Execution.Name)", "\"exec e1\"");
}

Test(intrinsic, format_escapes)
{
    is("States.Format('\\{\\} {} \\'q\\' \\\\', $.n)", "\"{} 3 'q' \\\\\"");
    is("States.Format('it\\'s {}', 'x')", "\"it's x\"");
}

Test(intrinsic, format_errors)
{
    fails("States.Format('{} {}', $.n)");
    fails("States.Format('{}', $.n, $.n)");
    fails("States.Format('{}', $.obj)");
    fails("States.Format('{}', $.arr)");
    fails("States.Format($.n)");
}

Test(intrinsic, string_to_json_and_back)
{
    is("States.StringToJson($.json)", "{\"x\":[1,true]}");
    is("States.StringToJson('\\{\"a\":1\\}')", "{\"a\":1}");
    is("States.JsonToString($.obj)", "\"{\\\"a\\\":1,\\\"b\\\":{\\\"c\\\":2}}\"");
    is("States.JsonToString($.n)", "\"3\"");
    fails("States.StringToJson('not json')");
    fails("States.StringToJson($.n)");
}

Test(intrinsic, array_functions)
{
    is("States.Array()", "[]");
    is("States.Array($.n, 'x', true, null, $.obj.a)", "[3,\"x\",true,null,1]");
    is("States.ArrayPartition(States.Array(1,2,3,4,5), 2)", "[[1,2],[3,4],[5]]");
    is("States.ArrayPartition(States.Array(), 3)", "[]");
    is("States.ArrayContains($.arr, 'a')", "true");
    is("States.ArrayContains($.arr, $.obj.b)", "false");
    is("States.ArrayContains($.arr, States.StringToJson('\\{\"k\":1\\}'))", "true");
    is("States.ArrayRange(1, 9, 2)", "[1,3,5,7,9]");
    is("States.ArrayRange(5, 1, -2)", "[5,3,1]");
    is("States.ArrayRange(0, 0, 1)", "[0]");
    is("States.ArrayRange(5, 1, 1)", "[]");
    is("States.ArrayGetItem($.arr, 3)", "\"a\"");
    is("States.ArrayLength($.arr)", "7");
    is("States.ArrayUnique($.arr)", "[1,2,\"a\",{\"k\":1}]");
}

Test(intrinsic, array_errors)
{
    fails("States.ArrayPartition($.arr, 0)");
    fails("States.ArrayPartition($.obj, 1)");
    fails("States.ArrayPartition($.arr, 1.5)");
    fails("States.ArrayContains($.n, 1)");
    fails("States.ArrayRange(1, 2, 0)");
    fails("States.ArrayRange(0, 1000, 1)");
    fails("States.ArrayRange(0, 'x', 1)");
    fails("States.ArrayGetItem($.arr, 7)");
    fails("States.ArrayGetItem($.arr, -1)");
    fails("States.ArrayLength($.obj)");
    fails("States.ArrayUnique('x')");
}

Test(intrinsic, base64)
{
    is("States.Base64Encode('Data to encode')", "\"RGF0YSB0byBlbmNvZGU=\"");
    is("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "\"Data to encode\"");
    is("States.Base64Decode(States.Base64Encode($.name))", "\"Ada\"");
    fails("States.Base64Decode('***')");
    fails("States.Base64Encode($.n)");
}

Test(intrinsic, base64_input_limit)
{
    char *big = malloc(10001 + 64);
    strcpy(big, "States.Base64Encode('");
    size_t n = strlen(big);
    memset(big + n, 'a', 10001);
    strcpy(big + n + 10001, "')");
    fails(big);
    free(big);
}

Test(intrinsic, hash_every_algorithm)
{
    is("States.Hash('input data', 'MD5')", "\"812f45842bc6d66ee14572ce20db8e86\"");
    is("States.Hash('abc', 'SHA-1')", "\"a9993e364706816aba3e25717850c26c9cd0d89d\"");
    is("States.Hash('abc', 'SHA-256')",
       "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    is("States.Hash('abc', 'SHA-384')", "\"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a"
                                        "43ff5bed8086072ba1e7cc2358baeca134c825a7\"");
    is("States.Hash('abc', 'SHA-512')",
       "\"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a"
       "3feebbd454d4423643ce80e2a9ac94fa54ca49f\"");
    fails("States.Hash('abc', 'SHA-3')");
    fails("States.Hash($.nul, 'MD5')");
}

Test(intrinsic, json_merge_is_shallow)
{
    is("States.JsonMerge($.obj, $.other, false)", "{\"a\":1,\"b\":9,\"d\":4}");
    fails("States.JsonMerge($.obj, $.other, true)");
    fails("States.JsonMerge($.obj, $.arr, false)");
}

Test(intrinsic, math)
{
    is("States.MathAdd(111, -1)", "110");
    is("States.MathAdd($.n, 4)", "7");
    is("States.MathAdd(1.2, 2.7)", "4");
    is("States.MathAdd(1.5, -2.5)", "0");
    fails("States.MathAdd(2147483648, 1)");
    fails("States.MathAdd('1', 1)");
}

Test(intrinsic, math_random_is_in_range_and_seedable)
{
    cJSON *a = NULL, *b = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_intrinsic_eval("States.MathRandom(1, 999, 7)", input, ctx, NULL, &a, &err),
                 TC_OK, "a seed needs no caller bytes");
    cr_assert_eq(asl_intrinsic_eval("States.MathRandom(1, 999, 7)", input, ctx, NULL, &b, &err),
                 TC_OK);
    cr_assert_eq(a->valueint, b->valueint);
    cr_assert(a->valueint >= 1 && a->valueint < 999);
    cJSON_Delete(a);
    cJSON_Delete(b);
    for (int i = 0; i < 16; i++) {
        uint8_t bytes[16] = {0};
        bytes[0] = (uint8_t)(i * 37);
        bytes[7] = (uint8_t)i;
        cr_assert_eq(asl_intrinsic_eval("States.MathRandom(10, 13)", input, ctx, bytes, &a, &err),
                     TC_OK);
        cr_assert(a->valueint >= 10 && a->valueint < 13);
        cJSON_Delete(a);
    }
    cr_assert_eq(asl_intrinsic_eval("States.MathRandom(1, 5)", input, ctx, NULL, &a, &err),
                 TC_EINVAL, "no randomness without caller bytes");
    asl_err_clear(&err);
    fails("States.MathRandom(5, 5)");
    fails("States.MathRandom(1.5, 5)");
}

Test(intrinsic, string_split_drops_empty_pieces)
{
    is("States.StringSplit($.csv, ',')", "[\"a\",\"b\",\"c\"]");
    is("States.StringSplit('This.is+a,test=string', '.+,=')",
       "[\"This\",\"is\",\"a\",\"test\",\"string\"]");
    is("States.StringSplit('abc', '')", "[\"abc\"]");
    is("States.StringSplit('', ',')", "[]");
    fails("States.StringSplit($.n, ',')");
}

Test(intrinsic, uuid_is_v4_from_the_callers_bytes)
{
    is("States.UUID()", "\"00112233-4455-4677-8899-aabbccddeeff\"");
    cJSON *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_intrinsic_eval("States.UUID()", input, ctx, NULL, &out, &err), TC_EINVAL);
    cr_assert_str_eq(err.error, "States.IntrinsicFailure");
    asl_err_clear(&err);
}

Test(intrinsic, two_uuids_in_one_expression_differ)
{
    cJSON *out = NULL;
    asl_err_t err = {0};
    cr_assert_eq(asl_intrinsic_eval("States.Array(States.UUID(), States.UUID())", input, ctx, BYTES,
                                    &out, &err),
                 TC_OK);
    const char *a = cJSON_GetArrayItem(out, 0)->valuestring;
    const char *b = cJSON_GetArrayItem(out, 1)->valuestring;
    cr_assert_str_neq(a, b);
    cr_assert_eq(strlen(b), 36);
    cr_assert_eq(b[14], '4');
    cJSON_Delete(out);
}

Test(intrinsic, nesting_as_in_the_guide)
{
    is("States.Format('{}.{}.{}', "
       "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, "
       "'/'), 1), '.'), 0), "
       "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, "
       "'/'), 1), '.'), 1), $.n)",
       "\"name.v1.3\"");
    is("States.ArrayLength(States.ArrayUnique(States.Array(1, 1, 2)))", "2");
}

Test(intrinsic, nesting_is_limited_to_ten)
{
    char expr[512] = "";
    for (int i = 0; i < 10; i++)
        strcat(expr, "States.Array(");
    strcat(expr, "1");
    for (int i = 0; i < 10; i++)
        strcat(expr, ")");
    cr_assert(asl_intrinsic_valid(expr));
    char deeper[600] = "States.Array(";
    strcat(deeper, expr);
    strcat(deeper, ")");
    invalid(deeper);
}

Test(intrinsic, paths_in_arguments)
{
    is("States.Array($.obj['a'], $.arr[1], $.arr[?(@ == 'a')])", "[1,2,[\"a\",\"a\"]]");
    is("States.Array( $.n , 'x' )", "[3,\"x\"]");
    fails("States.Array($.missing)");
}

Test(intrinsic, syntax_errors)
{
    invalid("");
    invalid("Format('x')");
    invalid("States.Nope()");
    invalid("States.Format('x'");
    invalid("States.Format('x') trailing");
    invalid("States.Format('unterminated)");
    invalid("States.Format('bad \\n escape')");
    invalid("States.Array(1,)");
    invalid("States.Array(bogus)");
    invalid("States.Array($.a[)");
    invalid("States.UUID(1)");
    invalid("States.ArrayRange(1, 2)");
    invalid("States.MathRandom(1)");
    invalid("States.JsonMerge($.a, $.b)");
}
