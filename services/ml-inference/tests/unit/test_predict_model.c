/* The rules of a prediction request: body shapes, input limits, cache keys. */
#include <criterion/criterion.h>
#include <string.h>

#include "predict_model.h"

/* r borrows from the parsed bodies: they live until the test ends */
static cJSON *bodies[80];
static int nbodies;

static void free_bodies(void)
{
    for (int i = 0; i < nbodies; i++)
        cJSON_Delete(bodies[i]);
    nbodies = 0;
}

TestSuite(request, .fini = free_bodies);

static bool parse(const char *json, bool batch, ml_request_t *r, int *nerrors)
{
    cJSON *body = cJSON_Parse(json);
    cr_assert_not_null(body, "fixture is not JSON: %s", json);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool ok = ml_request_parse(body, batch, r, &jv);
    *nerrors = jv.count;
    tc_jv_free(&jv);
    cr_assert_lt(nbodies, 80);
    bodies[nbodies++] = body;
    return ok;
}

Test(request, single_input_with_options_and_version)
{
    ml_request_t r;
    int ne;
    cr_assert(
        parse("{\"input\":\"hello\",\"options\":{\"k\":1},\"version\":\"2.1.0\"}", false, &r, &ne));
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.len[0], 5);
    cr_assert_not_null(r.options);
    cr_assert_str_eq(r.version, "2.1.0");
}

Test(request, single_refuses_missing_wrong_and_unknown_members)
{
    ml_request_t r;
    int ne;
    cr_assert_not(parse("{}", false, &r, &ne));
    cr_assert_eq(ne, 1);
    cr_assert_not(parse("{\"input\":3}", false, &r, &ne));
    cr_assert_not(parse("{\"input\":\"a\",\"inputs\":[\"b\"]}", false, &r, &ne));
    cr_assert_not(parse("{\"input\":\"a\",\"options\":[1]}", false, &r, &ne));
    cr_assert_not(parse("{\"input\":\"a\",\"version\":\"\"}", false, &r, &ne));
    cr_assert_not(parse("[\"a\"]", false, &r, &ne));
}

Test(request, batch_takes_one_to_64_strings)
{
    ml_request_t r;
    int ne;
    cr_assert(parse("{\"inputs\":[\"a\",\"bb\"]}", true, &r, &ne));
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.len[1], 2);
    cr_assert_not(parse("{\"inputs\":[]}", true, &r, &ne));
    cr_assert_not(parse("{\"inputs\":\"a\"}", true, &r, &ne));
    cr_assert_not(parse("{\"inputs\":[\"a\",2]}", true, &r, &ne));
    cr_assert_not(parse("{\"input\":\"a\"}", true, &r, &ne));
    char big[64 * 6 + 32] = "{\"inputs\":[";
    for (int i = 0; i < 65; i++)
        strcat(big, i ? ",\"x\"" : "\"x\"");
    strcat(big, "]}");
    cr_assert_not(parse(big, true, &r, &ne), "65 inputs are one too many");
    big[strlen(big) - 6] = '\0'; /* drop the last ,"x"] and close again */
    strcat(big, "]}");
    cr_assert(parse(big, true, &r, &ne));
    cr_assert_eq(r.n, 64);
}

Test(input, counts_characters_not_bytes_and_keeps_the_text_as_sent)
{
    const char *t = "  \n caf\xc3\xa9 \xe2\x82\xac\t ";
    size_t chars;
    cr_assert_eq(ml_input_check(t, strlen(t), 12, &chars), ML_INPUT_OK);
    cr_assert_eq(chars, 12, "white space counts: offsets are into the caller's text");
    cr_assert_eq(ml_input_check(t, strlen(t), 11, &chars), ML_INPUT_TOO_LONG);
    t = "caf\xc3\xa9";
    cr_assert_eq(ml_input_check(t, strlen(t), 4, &chars), ML_INPUT_OK);
    cr_assert_eq(chars, 4);
}

Test(input, refuses_empty_broken_utf8_and_nul_but_takes_control_characters)
{
    const char *t = " \r\n\t ";
    size_t chars;
    cr_assert_eq(ml_input_check(t, strlen(t), 10, &chars), ML_INPUT_EMPTY);
    const char *bad[] = {"a\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(ml_input_check(bad[i], strlen(bad[i]), 10, &chars), ML_INPUT_BAD_UTF8,
                     "case %zu", i);
    const char nul[] = {'a', '\0', 'b'};
    cr_assert_eq(ml_input_check(nul, sizeof nul, 10, &chars), ML_INPUT_BAD_UTF8);
    t = "Subject: hi\r\nbody\x01";
    cr_assert_eq(ml_input_check(t, strlen(t), 100, &chars), ML_INPUT_OK, "emails carry CR");
}

Test(cache_key, differs_by_model_version_options_and_input)
{
    char a[ML_CACHE_KEY_MAX], b[ML_CACHE_KEY_MAX];
    cr_assert(ml_cache_key("p:", "m", "1.0.0", NULL, "text", 4, a));
    cr_assert_eq(strncmp(a, "p:m:1.0.0:", 10), 0);
    cr_assert_eq(strlen(a), 10 + 64);
    cr_assert(ml_cache_key("p:", "m", "1.0.0", NULL, "text", 4, b));
    cr_assert_str_eq(a, b, "the key is a function of its inputs");
    cr_assert(ml_cache_key("p:", "m", "1.0.1", NULL, "text", 4, b));
    cr_assert_str_neq(a, b);
    cr_assert(ml_cache_key("p:", "m", "1.0.0", "{\"k\":1}", "text", 4, b));
    cr_assert_str_neq(a, b);
    cr_assert(ml_cache_key("p:", "m", "1.0.0", NULL, "texT", 4, b));
    cr_assert_str_neq(a, b);
    /* options "a" + input "b" must not equal options "" + input "ab" */
    cr_assert(ml_cache_key("p:", "m", "1", "a", "b", 1, a));
    cr_assert(ml_cache_key("p:", "m", "1", "", "ab", 2, b));
    cr_assert_str_neq(a, b);
}
