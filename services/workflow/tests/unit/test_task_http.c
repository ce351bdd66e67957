/* task_http: a tc:http Task's Parameters as a request, and a response as its result or error
 * (the model halves; the call itself is tc_egress). */
#include "task_http.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    cr_assert_not_null(v, "bad test JSON: %s", text);
    return v;
}

Test(build, url_query_headers_and_a_json_body)
{
    cJSON *p = parse("{\"ApiEndpoint\":\"https://api.example.com/v1/x?a=1\",\"Method\":\"POST\","
                     "\"QueryParameters\":{\"q\":\"a b&c\",\"n\":3,\"ok\":true},"
                     "\"Headers\":{\"X-Trace\":\"t1\"},\"RequestBody\":{\"k\":[1,2]}}");
    http_call_t c;
    asl_err_t e = {0};
    cr_assert_eq(http_call_build(p, "exe_1:S:2", &c, &e), TC_OK);
    cr_assert_str_eq(c.url, "https://api.example.com/v1/x?a=1&q=a%20b%26c&n=3&ok=true");
    cr_assert_str_eq(c.method, "POST");
    cr_assert_str_eq(c.body, "{\"k\":[1,2]}");
    cr_assert_eq(c.body_len, strlen(c.body));
    cr_assert_str_eq(c.headers[0], "X-Trace: t1");
    cr_assert_str_eq(c.headers[1], "Content-Type: application/json");
    cr_assert_str_eq(c.headers[2], "Idempotency-Key: exe_1:S:2");
    cr_assert_null(c.headers[3]);
    http_call_clear(&c);
    cJSON_Delete(p);
}

Test(build, a_string_body_goes_as_it_is_and_content_type_is_the_callers)
{
    cJSON *p = parse("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"PUT\",\"RequestBody\":\"a=1\","
                     "\"Headers\":{\"content-type\":\"application/x-www-form-urlencoded\"}}");
    http_call_t c;
    asl_err_t e = {0};
    cr_assert_eq(http_call_build(p, "k", &c, &e), TC_OK);
    cr_assert_str_eq(c.url, "http://h/"); /* no query parameters: nothing appended */
    cr_assert_str_eq(c.body, "a=1");
    cr_assert_str_eq(c.headers[0], "content-type: application/x-www-form-urlencoded");
    cr_assert_str_eq(c.headers[1], "Idempotency-Key: k");
    http_call_clear(&c);
    cJSON_Delete(p);
}

static void refused(const char *params, const char *needle)
{
    cJSON *p = parse(params);
    http_call_t c;
    asl_err_t e = {0};
    cr_assert_eq(http_call_build(p, "k", &c, &e), TC_EINVAL, "%s", params);
    cr_assert_str_eq(e.error, "States.Runtime");
    cr_assert(e.cause && strstr(e.cause, needle), "%s: %s", params, e.cause);
    asl_err_clear(&e);
    cJSON_Delete(p);
}

Test(build, what_is_not_a_request_is_refused)
{
    refused("[1]", "must be an object");
    refused("{\"ApiEndpoint\":\"ftp://h/\",\"Method\":\"GET\"}", "ApiEndpoint");
    refused("{\"Method\":\"GET\"}", "ApiEndpoint");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"TRACE\"}", "Method");
    refused("{\"ApiEndpoint\":\"http://h/\"}", "Method");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\",\"Headers\":[]}", "Headers");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\",\"Headers\":{\"Host\":\"x\"}}",
            "Host");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\","
            "\"Headers\":{\"Idempotency-Key\":\"mine\"}}",
            "Idempotency-Key");
    refused(
        "{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\",\"Headers\":{\"X\":\"a\\r\\nB: c\"}}",
        "X");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\",\"Headers\":{\"Bad Name\":\"v\"}}",
            "Bad Name");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\",\"Headers\":{\"X\":1}}", "X");
    refused("{\"ApiEndpoint\":\"http://h/\",\"Method\":\"GET\",\"QueryParameters\":{\"a\":{}}}",
            "QueryParameters.a");
}

Test(result, a_json_answer_is_parsed_and_text_stays_text)
{
    cJSON *h = parse("{\"content-type\":\"application/json; charset=utf-8\",\"x-a\":\"1\"}");
    cJSON *r = NULL;
    asl_err_t e = {0};
    const char *body = "{\"id\":\"ch_1\"}";
    cr_assert_eq(http_call_result(201, h, body, strlen(body), &r, &e), TC_OK);
    char *text = cJSON_PrintUnformatted(r);
    cr_assert_str_eq(text, "{\"StatusCode\":201,\"Headers\":{\"content-type\":\"application/json; "
                           "charset=utf-8\",\"x-a\":\"1\"},\"ResponseBody\":{\"id\":\"ch_1\"}}");
    free(text);
    cJSON_Delete(r);
    cJSON *plain = parse("{\"content-type\":\"text/plain\"}");
    cr_assert_eq(http_call_result(200, plain, body, strlen(body), &r, &e), TC_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(r, "ResponseBody")->valuestring, body);
    cJSON_Delete(r);
    /* JSON that does not parse is kept as text */
    cr_assert_eq(http_call_result(200, h, "{oops", 5, &r, &e), TC_OK);
    cr_assert_str_eq(cJSON_GetObjectItem(r, "ResponseBody")->valuestring, "{oops");
    cJSON_Delete(r);
    cJSON_Delete(h);
    cJSON_Delete(plain);
}

Test(result, a_non_2xx_answer_is_a_status_error)
{
    cJSON *r = NULL;
    asl_err_t e = {0};
    cr_assert_eq(http_call_result(404, NULL, "gone", 4, &r, &e), TC_ERROR);
    cr_assert_null(r);
    cr_assert_str_eq(e.error, "States.Http.StatusCode.404");
    cr_assert_str_eq(e.cause, "{\"StatusCode\":404,\"ResponseBody\":\"gone\"}");
    asl_err_clear(&e);
    cr_assert_eq(http_call_result(302, NULL, "", 0, &r, &e), TC_ERROR);
    cr_assert_str_eq(e.error, "States.Http.StatusCode.302"); /* redirects are not followed */
    asl_err_clear(&e);
}
