/*
 * tc_json: validators with collected errors (the "every invalid field in one 422" contract),
 * UTF-8 validation, the email check and the response-building helpers.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "test JSON does not parse: %s", text);
    return j;
}

/* Asserts that error i is {field, message}. */
static void expect_error(const tc_jv_t *jv, int i, const char *field, const char *message)
{
    cr_assert_not_null(jv->errors, "no errors recorded");
    const cJSON *e = cJSON_GetArrayItem(jv->errors, i);
    cr_assert_not_null(e, "no error #%d", i);
    cr_assert_str_eq(tc_json_get_str(e, "field"), field);
    if (message)
        cr_assert_str_eq(tc_json_get_str(e, "message"), message, "field %s", field);
    cr_assert_eq(cJSON_GetArraySize(e), 2, "an error has exactly field and message");
}

static void expect_no_errors(const tc_jv_t *jv)
{
    cr_assert_eq(jv->count, 0, "unexpected errors");
    cr_assert_null(jv->errors);
    cr_assert_not(tc_jv_failed(jv));
}

static void expect_one_error(const tc_jv_t *jv, const char *field, const char *message)
{
    cr_assert_eq(jv->count, 1, "%d errors for %s", jv->count, field);
    cr_assert(tc_jv_failed(jv));
    cr_assert_eq(cJSON_GetArraySize(jv->errors), 1);
    expect_error(jv, 0, field, message);
}

/* ------------------------------------------------------------------------- basics */

Test(jv, init_free_and_take)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    expect_no_errors(&jv);
    tc_jv_error(&jv, "a", "bad %d", 7);
    tc_jv_error(&jv, "b", "worse");
    cr_assert_eq(jv.count, 2);
    expect_error(&jv, 0, "a", "bad 7");
    expect_error(&jv, 1, "b", "worse");
    cJSON *errs = tc_jv_take_errors(&jv);
    cr_assert_null(jv.errors);
    cr_assert_eq(cJSON_GetArraySize(errs), 2);
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_take_errors(&jv));
}

Test(jv, object_check)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *obj = parse("{}"), *arr = parse("[]"), *num = parse("1");
    cr_assert(tc_jv_object(&jv, obj, NULL));
    expect_no_errors(&jv);
    cr_assert_not(tc_jv_object(&jv, arr, NULL));
    cr_assert_not(tc_jv_object(&jv, num, "settings"));
    cr_assert_not(tc_jv_object(&jv, NULL, NULL));
    cr_assert_eq(jv.count, 3);
    expect_error(&jv, 0, "body", "must be a JSON object");
    expect_error(&jv, 1, "settings", "must be a JSON object");
    expect_error(&jv, 2, "body", "must be a JSON object");
    cJSON_Delete(obj);
    cJSON_Delete(arr);
    cJSON_Delete(num);
    tc_jv_free(&jv);
}

Test(jv, has)
{
    cJSON *o = parse("{\"a\":null,\"b\":1}");
    cr_assert_eq(tc_jv_has(o, "a"), 1);
    cr_assert_eq(tc_jv_has(o, "b"), 1);
    cr_assert_eq(tc_jv_has(o, "B"), 0);
    cr_assert_eq(tc_jv_has(o, "c"), 0);
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------------- strings */

Test(jv_str, valid_and_counted_in_code_points)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"ascii\":\"hello\",\"latin\":\"h\u00e9llo\",\"cjk\":\"\u65e5\u672c\u8a9e\","
                     "\"emoji\":\"\U0001F600\",\"tabs\":\"a\\tb\\nc\"}");
    cr_assert_str_eq(tc_jv_str(&jv, o, "ascii", TC_JV_REQUIRED, 5, 5), "hello");
    /* 6 bytes, 5 characters */
    cr_assert_str_eq(tc_jv_str(&jv, o, "latin", TC_JV_REQUIRED, 5, 5), "h\xc3\xa9llo");
    cr_assert_str_eq(tc_jv_str(&jv, o, "cjk", TC_JV_REQUIRED, 3, 3),
                     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    cr_assert_str_eq(tc_jv_str(&jv, o, "emoji", TC_JV_REQUIRED, 1, 1), "\xf0\x9f\x98\x80");
    cr_assert_str_eq(tc_jv_str(&jv, o, "tabs", TC_JV_REQUIRED, 5, 5), "a\tb\nc");
    expect_no_errors(&jv);
    cJSON_Delete(o);
}

Test(jv_str, length_bounds)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"s\":\"\u00e9\u00e9\u00e9\"}"); /* 3 characters, 6 bytes */
    cr_assert_not_null(tc_jv_str(&jv, o, "s", 0, 3, 3));
    cr_assert_not_null(tc_jv_str(&jv, o, "s", 0, 1, 3));
    cr_assert_not_null(tc_jv_str(&jv, o, "s", 0, 3, 100));
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "s", 0, 4, 10));
    expect_one_error(&jv, "s", "must be between 4 and 10 characters long");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "s", 0, 1, 2));
    expect_one_error(&jv, "s", "must be between 1 and 2 characters long");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "s", 0, 2, 2));
    expect_one_error(&jv, "s", "must be 2 characters long");
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

Test(jv_str, empty_string_against_min)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"s\":\"\"}");
    cr_assert_str_eq(tc_jv_str(&jv, o, "s", TC_JV_REQUIRED, 0, 10), "");
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "s", TC_JV_REQUIRED, 1, 10));
    expect_one_error(&jv, "s", "must be between 1 and 10 characters long");
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

Test(jv_str, wrong_type)
{
    static const char *const bodies[] = {
        "{\"s\":1}", "{\"s\":true}", "{\"s\":[\"a\"]}", "{\"s\":{}}", "{\"s\":false}",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        cJSON *o = parse(bodies[i]);
        cr_assert_null(tc_jv_str(&jv, o, "s", TC_JV_OPTIONAL, 0, 10), "%s", bodies[i]);
        expect_one_error(&jv, "s", "must be a string");
        tc_jv_free(&jv);
        cJSON_Delete(o);
    }
}

Test(jv_str, bad_text_rejected)
{
    /* (an escaped NUL never reaches the validator: cJSON ends the string there) */
    static const char *const bodies[] = {
        "{\"s\":\"a\\u0001b\"}",     /* C0 control */
        "{\"s\":\"a\\rb\"}",         /* CR */
        "{\"s\":\"a\\u001bb\"}",     /* ESC */
        "{\"s\":\"a\\u007fb\"}",     /* DEL */
        "{\"s\":\"a\xed\xa0\x80\"}", /* raw surrogate (cJSON rejects an escaped one) */
        "{\"s\":\"\xc0\xaf\"}",      /* overlong '/' */
        "{\"s\":\"\xff\"}",          /* never valid */
        "{\"s\":\"a\\u0085b\"}",     /* C1 control (NEL) */
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        cJSON *o = parse(bodies[i]);
        cr_assert_null(tc_jv_str(&jv, o, "s", TC_JV_REQUIRED, 0, 100), "%s", bodies[i]);
        expect_one_error(&jv, "s", "must be valid UTF-8 text without control characters");
        tc_jv_free(&jv);
        cJSON_Delete(o);
    }
}

Test(jv, required_optional_nullable)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"n\":null}");

    /* absent */
    cr_assert_null(tc_jv_str(&jv, o, "missing", TC_JV_OPTIONAL, 0, 10));
    cr_assert_null(tc_jv_str(&jv, o, "missing", TC_JV_NULLABLE, 0, 10));
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "missing", TC_JV_REQUIRED, 0, 10));
    expect_one_error(&jv, "missing", "is required");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "missing", TC_JV_REQUIRED | TC_JV_NULLABLE, 0, 10));
    expect_one_error(&jv, "missing", "is required");
    tc_jv_free(&jv);

    /* explicit null */
    cr_assert_null(tc_jv_str(&jv, o, "n", TC_JV_NULLABLE, 0, 10));
    cr_assert_null(tc_jv_str(&jv, o, "n", TC_JV_REQUIRED | TC_JV_NULLABLE, 0, 10));
    cr_assert_null(tc_jv_str(&jv, o, "n", TC_JV_OPTIONAL, 0, 10));
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_str(&jv, o, "n", TC_JV_REQUIRED, 0, 10));
    expect_one_error(&jv, "n", "must not be null");
    tc_jv_free(&jv);

    /* the other getters follow the same rules */
    cr_assert_eq(tc_jv_int(&jv, o, "n", TC_JV_REQUIRED, 42, 0, 100), 42);
    cr_assert_eq(tc_jv_bool(&jv, o, "missing", TC_JV_REQUIRED, 1), 1);
    cr_assert_null(tc_jv_obj(&jv, o, "n", TC_JV_REQUIRED));
    cr_assert_eq(jv.count, 3);
    expect_error(&jv, 0, "n", "must not be null");
    expect_error(&jv, 1, "missing", "is required");
    expect_error(&jv, 2, "n", "must not be null");
    tc_jv_free(&jv);
    cr_assert_eq(tc_jv_int(&jv, o, "n", TC_JV_NULLABLE, 7, 0, 100), 7);
    cr_assert_eq(tc_jv_bool(&jv, o, "n", TC_JV_NULLABLE, 0), 0);
    cr_assert_null(tc_jv_obj(&jv, o, "n", TC_JV_NULLABLE));
    expect_no_errors(&jv);
    cJSON_Delete(o);
}

Test(jv, non_object_container_reports_required)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *arr = parse("[1,2]");
    cr_assert_null(tc_jv_str(&jv, arr, "name", TC_JV_REQUIRED, 0, 10));
    cr_assert_null(tc_jv_str(&jv, NULL, "name", TC_JV_REQUIRED, 0, 10));
    cr_assert_eq(jv.count, 2);
    expect_error(&jv, 0, "name", "is required");
    tc_jv_free(&jv);
    cJSON_Delete(arr);
}

/* ------------------------------------------------------------------------- email, enum */

Test(jv_email, valid_and_invalid)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"ok\":\"ada@example.com\",\"bad\":\"ada@example\",\"num\":5,"
                     "\"short\":\"a@\"}");
    cr_assert_str_eq(tc_jv_email(&jv, o, "ok", TC_JV_REQUIRED), "ada@example.com");
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_email(&jv, o, "bad", TC_JV_REQUIRED));
    expect_one_error(&jv, "bad", "must be a valid email address");
    tc_jv_free(&jv);
    /* one error per field, even when several rules fail */
    cr_assert_null(tc_jv_email(&jv, o, "num", TC_JV_REQUIRED));
    expect_one_error(&jv, "num", "must be a string");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_email(&jv, o, "short", TC_JV_REQUIRED));
    expect_one_error(&jv, "short", "must be between 3 and 254 characters long");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_email(&jv, o, "absent", TC_JV_REQUIRED));
    expect_one_error(&jv, "absent", "is required");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_email(&jv, o, "absent", TC_JV_OPTIONAL));
    expect_no_errors(&jv);
    cJSON_Delete(o);
}

Test(jv_enum, choices)
{
    static const char *const roles[] = {"viewer", "editor", "admin", NULL};
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"a\":\"editor\",\"b\":\"Editor\",\"c\":\"\",\"d\":3,\"e\":\"owner\"}");
    const char *a = tc_jv_enum(&jv, o, "a", TC_JV_REQUIRED, roles);
    cr_assert_eq(a, roles[1], "returns the choice itself (static storage)");
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_enum(&jv, o, "b", TC_JV_REQUIRED, roles));
    expect_one_error(&jv, "b", "must be one of: viewer, editor, admin");
    tc_jv_free(&jv);
    cr_assert_null(tc_jv_enum(&jv, o, "c", TC_JV_REQUIRED, roles));
    cr_assert_null(tc_jv_enum(&jv, o, "d", TC_JV_REQUIRED, roles));
    cr_assert_null(tc_jv_enum(&jv, o, "e", TC_JV_REQUIRED, roles));
    cr_assert_eq(jv.count, 3);
    expect_error(&jv, 0, "c", NULL);
    expect_error(&jv, 1, "d", "must be a string");
    expect_error(&jv, 2, "e", "must be one of: viewer, editor, admin");
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

Test(jv_enum, many_long_choices_do_not_overflow)
{
    static char storage[40][48];
    const char *choices[41];
    for (int i = 0; i < 40; i++) {
        snprintf(storage[i], sizeof storage[i], "choice_number_%02d_abcdefgh", i);
        choices[i] = storage[i];
    }
    choices[40] = NULL;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"x\":\"nope\"}");
    cr_assert_null(tc_jv_enum(&jv, o, "x", 0, choices));
    cr_assert_eq(jv.count, 1);
    const char *msg = tc_json_get_str(cJSON_GetArrayItem(jv.errors, 0), "message");
    cr_assert(strncmp(msg, "must be one of: choice_number_00_abcdefgh, ", 43) == 0, "%s", msg);
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------------- bool, int, obj */

Test(jv_bool, values)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"t\":true,\"f\":false,\"s\":\"true\",\"n\":1}");
    cr_assert_eq(tc_jv_bool(&jv, o, "t", TC_JV_REQUIRED, 0), 1);
    cr_assert_eq(tc_jv_bool(&jv, o, "f", TC_JV_REQUIRED, 1), 0);
    cr_assert_eq(tc_jv_bool(&jv, o, "absent", 0, 1), 1);
    cr_assert_eq(tc_jv_bool(&jv, o, "absent", 0, 0), 0);
    expect_no_errors(&jv);
    cr_assert_eq(tc_jv_bool(&jv, o, "s", 0, 0), 0);
    cr_assert_eq(tc_jv_bool(&jv, o, "n", 0, 0), 0);
    cr_assert_eq(jv.count, 2);
    expect_error(&jv, 0, "s", "must be true or false");
    expect_error(&jv, 1, "n", "must be true or false");
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

Test(jv_int, values_and_range)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"a\":5,\"neg\":-3,\"zero\":0,\"exp\":1e2,\"low\":0,\"high\":11,"
                     "\"edge_lo\":1,\"edge_hi\":10,\"negz\":-0}");
    cr_assert_eq(tc_jv_int(&jv, o, "a", TC_JV_REQUIRED, -1, 1, 10), 5);
    cr_assert_eq(tc_jv_int(&jv, o, "neg", 0, -1, -10, 10), -3);
    cr_assert_eq(tc_jv_int(&jv, o, "zero", 0, -1, 0, 0), 0);
    cr_assert_eq(tc_jv_int(&jv, o, "exp", 0, -1, 0, 1000), 100);
    cr_assert_eq(tc_jv_int(&jv, o, "edge_lo", 0, -1, 1, 10), 1);
    cr_assert_eq(tc_jv_int(&jv, o, "edge_hi", 0, -1, 1, 10), 10);
    cr_assert_eq(tc_jv_int(&jv, o, "negz", 0, -1, 0, 10), 0);
    cr_assert_eq(tc_jv_int(&jv, o, "absent", 0, 20, 1, 100), 20);
    expect_no_errors(&jv);
    cr_assert_eq(tc_jv_int(&jv, o, "low", 0, 7, 1, 10), 7);
    cr_assert_eq(tc_jv_int(&jv, o, "high", 0, 7, 1, 10), 7);
    cr_assert_eq(jv.count, 2);
    expect_error(&jv, 0, "low", "must be between 1 and 10");
    expect_error(&jv, 1, "high", "must be between 1 and 10");
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

Test(jv_int, not_integers)
{
    static const char *const bodies[] = {
        "{\"x\":1.5}",
        "{\"x\":-0.0001}",
        "{\"x\":\"5\"}",
        "{\"x\":true}",
        "{\"x\":[1]}",
        "{\"x\":{}}",
        "{\"x\":1e300}",
        "{\"x\":-1e300}",
        "{\"x\":9007199254740993}", /* 2^53 + 1: not representable, would read as 2^53 */
        "{\"x\":9007199254740992}", /* 2^53: 2^53 + 1 would read as this */
        "{\"x\":-9007199254740993}",
        "{\"x\":18446744073709551616}",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bodies); i++) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        cJSON *o = parse(bodies[i]);
        cr_assert_eq(tc_jv_int(&jv, o, "x", TC_JV_REQUIRED, -42, INT64_MIN, INT64_MAX), -42, "%s",
                     bodies[i]);
        expect_one_error(&jv, "x", "must be an integer");
        tc_jv_free(&jv);
        cJSON_Delete(o);
    }
}

Test(jv_int, largest_exact_integers)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"max\":9007199254740991,\"min\":-9007199254740991}");
    cr_assert_eq(tc_jv_int(&jv, o, "max", 0, 0, INT64_MIN, INT64_MAX), 9007199254740991LL);
    cr_assert_eq(tc_jv_int(&jv, o, "min", 0, 0, INT64_MIN, INT64_MAX), -9007199254740991LL);
    expect_no_errors(&jv);
    cJSON_Delete(o);
}

Test(jv_obj, member_object)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *o = parse("{\"settings\":{\"a\":1},\"list\":[],\"s\":\"x\"}");
    const cJSON *s = tc_jv_obj(&jv, o, "settings", TC_JV_REQUIRED);
    cr_assert_eq(s, cJSON_GetObjectItemCaseSensitive(o, "settings"), "not a copy");
    cr_assert_null(tc_jv_obj(&jv, o, "absent", 0));
    expect_no_errors(&jv);
    cr_assert_null(tc_jv_obj(&jv, o, "list", 0));
    cr_assert_null(tc_jv_obj(&jv, o, "s", TC_JV_REQUIRED));
    cr_assert_null(tc_jv_obj(&jv, o, "absent", TC_JV_REQUIRED));
    cr_assert_eq(jv.count, 3);
    expect_error(&jv, 0, "list", "must be an object");
    expect_error(&jv, 1, "s", "must be an object");
    expect_error(&jv, 2, "absent", "is required");
    tc_jv_free(&jv);
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------------- unknown, 422 */

Test(jv, no_unknown)
{
    static const char *const allowed[] = {"name", "email", NULL};
    static const char *const none[] = {NULL};
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *ok = parse("{\"name\":\"a\",\"email\":null}");
    tc_jv_no_unknown(&jv, ok, allowed);
    expect_no_errors(&jv);
    cJSON *bad = parse("{\"name\":\"a\",\"admin\":true,\"Email\":\"x\",\"\":1}");
    tc_jv_no_unknown(&jv, bad, allowed);
    cr_assert_eq(jv.count, 3);
    expect_error(&jv, 0, "admin", "unknown field");
    expect_error(&jv, 1, "Email", "unknown field");
    expect_error(&jv, 2, "", "unknown field");
    tc_jv_free(&jv);
    tc_jv_no_unknown(&jv, ok, none);
    cr_assert_eq(jv.count, 2);
    tc_jv_free(&jv);
    cJSON_Delete(ok);
    cJSON_Delete(bad);
}

Test(jv, every_invalid_field_reported)
{
    static const char *const roles[] = {"viewer", "editor", "admin", "owner", NULL};
    cJSON *body = parse("{\"email\":\"not-an-email\",\"name\":\"Ada\",\"role\":\"superuser\","
                        "\"age\":\"old\",\"active\":true}");
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *email = tc_jv_email(&jv, body, "email", TC_JV_REQUIRED);
    const char *name = tc_jv_str(&jv, body, "name", TC_JV_REQUIRED, 1, 100);
    const char *role = tc_jv_enum(&jv, body, "role", TC_JV_REQUIRED, roles);
    int64_t age = tc_jv_int(&jv, body, "age", TC_JV_OPTIONAL, 0, 0, 150);
    int active = tc_jv_bool(&jv, body, "active", TC_JV_OPTIONAL, 0);
    cr_assert_null(email);
    cr_assert_str_eq(name, "Ada");
    cr_assert_null(role);
    cr_assert_eq(age, 0);
    cr_assert_eq(active, 1);

    cr_assert(tc_jv_failed(&jv));
    cr_assert_eq(jv.count, 3);
    cJSON *errs = tc_jv_take_errors(&jv);
    cr_assert_eq(cJSON_GetArraySize(errs), 3);
    const char *want[] = {"email", "role", "age"};
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(tc_json_get_str(cJSON_GetArrayItem(errs, i), "field"), want[i]);
    char *text = tc_json_print(errs);
    cr_assert_str_eq(text,
                     "[{\"field\":\"email\",\"message\":\"must be a valid email address\"},"
                     "{\"field\":\"role\",\"message\":\"must be one of: viewer, editor, "
                     "admin, owner\"},{\"field\":\"age\",\"message\":\"must be an integer\"}]");
    free(text);
    cJSON_Delete(errs);
    tc_jv_free(&jv);
    cJSON_Delete(body);
}

/* ------------------------------------------------------------------------- UTF-8 */

typedef struct {
    const char *s;
    size_t n; /* 0: strlen */
    long want;
} utf8_case_t;

Test(utf8, table)
{
    static const utf8_case_t cases[] = {
        {"", 0, 0},
        {"abc", 0, 3},
        {"a\tb\nc", 0, 5},
        {"\xc3\xa9", 0, 1},         /* é */
        {"\xe2\x82\xac", 0, 1},     /* € */
        {"\xf0\x9f\x98\x80", 0, 1}, /* 😀 */
        {"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 0, 5},
        {"\xed\x9f\xbf", 0, 1},     /* U+D7FF, last before the surrogates */
        {"\xee\x80\x80", 0, 1},     /* U+E000, first after them */
        {"\xf4\x8f\xbf\xbf", 0, 1}, /* U+10FFFF */
        {"\xc2\xa0", 0, 1},         /* U+00A0 no-break space */
        {"\xef\xbb\xbf", 0, 1},     /* BOM is a character */
        /* overlong forms */
        {"\xc0\x80", 0, -1},
        {"\xc0\xaf", 0, -1},
        {"\xc1\xbf", 0, -1},
        {"\xe0\x80\xaf", 0, -1},
        {"\xe0\x9f\xbf", 0, -1},
        {"\xf0\x80\x80\xaf", 0, -1},
        {"\xf0\x8f\xbf\xbf", 0, -1},
        /* surrogates */
        {"\xed\xa0\x80", 0, -1},
        {"\xed\xbf\xbf", 0, -1},
        {"\xed\xa0\xbd\xed\xb8\x80", 0, -1}, /* CESU-8 pair */
        /* out of range, invalid lead bytes */
        {"\xf4\x90\x80\x80", 0, -1},
        {"\xf5\x80\x80\x80", 0, -1},
        {"\xf8\x88\x80\x80\x80", 0, -1},
        {"\xfe", 0, -1},
        {"\xff", 0, -1},
        /* stray or missing continuation bytes */
        {"\x80", 0, -1},
        {"a\xbf", 0, -1},
        {"\xc3", 0, -1},
        {"\xe2\x82", 0, -1},
        {"\xf0\x9f\x98", 0, -1},
        {"\xc3\x28", 0, -1},
        {"\xe2\x28\xa1", 0, -1},
        /* control characters */
        {"\r", 0, -1},
        {"a\x01", 0, -1},
        {"\x1b[31m", 0, -1},
        {"\x7f", 0, -1},
        {"\x1f", 0, -1},
        {"\xc2\x80", 0, -1}, /* U+0080, C1 control */
        {"\xc2\x85", 0, -1}, /* U+0085 NEL */
        {"\xc2\x9f", 0, -1}, /* U+009F */
        /* embedded NUL counted by n */
        {"a\0b", 3, -1},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        const utf8_case_t *c = &cases[i];
        size_t n = c->n ? c->n : strlen(c->s);
        cr_expect_eq(tc_utf8_validate(c->s, n), c->want, "case %zu: got %ld want %ld", i,
                     tc_utf8_validate(c->s, n), c->want);
    }
}

Test(utf8, truncated_by_n)
{
    /* valid in memory, but n cuts the last character */
    cr_assert_eq(tc_utf8_validate("\xe2\x82\xac", 2), -1);
    cr_assert_eq(tc_utf8_validate("ab\xf0\x9f\x98\x80", 5), -1);
    cr_assert_eq(tc_utf8_validate("ab\xf0\x9f\x98\x80", 2), 2);
}

/* ------------------------------------------------------------------------- email */

Test(email, table)
{
    static const char *const valid[] = {
        "a@b.co",
        "ada@example.com",
        "first.last+tag@sub.example.co.uk",
        "x_y-z@ex-ample.io",
        "\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
        "cole.fr", /* internationalised addresses pass */
        "a@b.c",
    };
    static const char *const invalid[] = {
        "",         "a",        "@",           "a@",        "@b.c",    "ab.c",    "a@b",
        "a@@b.c",   "a@b@c.d",  "a@.b.c",      "a@b.c.",    "a@b..c",  "a b@c.d", "a@b c.d",
        "a\t@b.c",  "a\n@b.c",  "<a@b.c>",     "a(b)@c.d",  "a,b@c.d", "a;b@c.d", "a:b@c.d",
        "a\"b@c.d", "a\\b@c.d", "a@[1.2.3.4]", "a\x7f@b.c",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(valid); i++)
        cr_expect_eq(tc_email_valid(valid[i]), 1, "rejected %s", valid[i]);
    for (size_t i = 0; i < TC_ARRAY_LEN(invalid); i++)
        cr_expect_eq(tc_email_valid(invalid[i]), 0, "accepted %s", invalid[i]);
}

Test(lang, language_tag_shapes)
{
    static const char *const valid[] = {"en", "fra", "pt-BR", "zh-Hant-TW", "sgn-BE-FR", "es-419"};
    static const char *const invalid[] = {
        "",          "e",         "english",        "en-",
        "en_GB",     "en--GB",    "en-B",           "en-abcdefghi",
        "en-GB;q=1", "a-b-c-d-e", "en-AA-BB-CC-DD", "3n"};
    for (size_t i = 0; i < TC_ARRAY_LEN(valid); i++)
        cr_expect(tc_lang_tag_valid(valid[i]), "rejected %s", valid[i]);
    for (size_t i = 0; i < TC_ARRAY_LEN(invalid); i++)
        cr_expect_not(tc_lang_tag_valid(invalid[i]), "accepted %s", invalid[i]);
}

Test(email, lengths)
{
    char local[80], addr[300];
    /* local part: 64 ok, 65 too long */
    memset(local, 'a', 64);
    local[64] = '\0';
    snprintf(addr, sizeof addr, "%s@example.com", local);
    cr_assert_eq(tc_email_valid(addr), 1);
    memset(local, 'a', 65);
    local[65] = '\0';
    snprintf(addr, sizeof addr, "%s@example.com", local);
    cr_assert_eq(tc_email_valid(addr), 0);

    /* whole address: 254 ok, 255 too long */
    memset(addr, 'd', sizeof addr);
    memcpy(addr, "a@", 2);
    addr[250] = '.';
    addr[251] = 'c';
    addr[252] = 'o';
    addr[253] = 'm';
    addr[254] = '\0';
    cr_assert_eq(strlen(addr), 254u);
    cr_assert_eq(tc_email_valid(addr), 1);
    memmove(addr + 3, addr + 2, 253);
    addr[2] = 'd';
    cr_assert_eq(strlen(addr), 255u);
    cr_assert_eq(tc_email_valid(addr), 0);
}

/* ------------------------------------------------------------------------- builders */

static void expect_printed(const cJSON *v, const char *want)
{
    char *text = tc_json_print(v);
    cr_assert_not_null(text);
    cr_assert_str_eq(text, want);
    free(text);
}

Test(json_add, str_int_raw)
{
    cJSON *o = cJSON_CreateObject();
    cr_assert_not_null(tc_json_add_str(o, "s", "x\"y"));
    cJSON *n = tc_json_add_str(o, "n", NULL);
    cr_assert(cJSON_IsNull(n));
    cr_assert_not_null(tc_json_add_int(o, "i", -42));
    cr_assert_not_null(tc_json_add_int(o, "big", 9007199254740991LL));
    cJSON *raw = tc_json_add_raw(o, "r", "{\"a\":[1,2,{\"b\":null}]}");
    cr_assert(cJSON_IsObject(raw));
    cr_assert(cJSON_IsNull(tc_json_add_raw(o, "rn", NULL)));
    expect_printed(o, "{\"s\":\"x\\\"y\",\"n\":null,\"i\":-42,\"big\":9007199254740991,"
                      "\"r\":{\"a\":[1,2,{\"b\":null}]},\"rn\":null}");
    cr_assert_str_eq(tc_json_get_str(o, "s"), "x\"y");
    cr_assert_null(tc_json_get_str(o, "n"));
    cr_assert_null(tc_json_get_str(o, "i"));
    cr_assert_null(tc_json_get_str(o, "absent"));
    cJSON_Delete(o);
}

Test(json_add, raw_rejects_invalid_json)
{
    cJSON *o = cJSON_CreateObject();
    cr_assert_null(tc_json_add_raw(o, "r", "{\"a\":"));
    cr_assert_null(tc_json_add_raw(o, "r", ""));
    cr_assert_null(tc_json_add_raw(o, "r", "nope"));
    cr_assert_eq(cJSON_GetArraySize(o), 0, "nothing attached on failure");
    expect_printed(o, "{}");
    cJSON_Delete(o);
}

Test(json_add, raw_scalars_and_arrays)
{
    cJSON *o = cJSON_CreateObject();
    cr_assert_not_null(tc_json_add_raw(o, "a", "[1,\"x\"]"));
    cr_assert_not_null(tc_json_add_raw(o, "n", "12.5"));
    cr_assert_not_null(tc_json_add_raw(o, "t", "true"));
    expect_printed(o, "{\"a\":[1,\"x\"],\"n\":12.5,\"t\":true}");
    cJSON_Delete(o);
}

Test(json_add, int_prints_every_digit)
{
    static const struct {
        int64_t v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {999999999999999LL, "999999999999999"},
        {1000000000000001LL, "1000000000000001"},
        {9007199254740991LL, "9007199254740991"},
        {-9007199254740991LL, "-9007199254740991"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(cases); i++) {
        cJSON *o = cJSON_CreateObject();
        cr_assert_not_null(tc_json_add_int(o, "v", cases[i].v));
        char want[64];
        snprintf(want, sizeof want, "{\"v\":%s}", cases[i].text);
        expect_printed(o, want);
        cJSON_Delete(o);
    }
}
