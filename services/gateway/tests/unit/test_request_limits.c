/* Unit tests for what the gateway refuses before forwarding (request_limits.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "request_limits.h"
#include "tc/tc_buf.h"

static http_request_t req;

Test(limits, query_parameters_are_counted_by_separator)
{
    cr_assert_eq(gw_query_params("", 0), 0);
    cr_assert_eq(gw_query_params("a=1", 3), 1);
    cr_assert_eq(gw_query_params("a=1&b", 5), 2);
    cr_assert_eq(gw_query_params("&", 1), 2, "empty pieces count: the services' parser sees them");
    cr_assert_eq(gw_query_params("a=1&&&", 6), 4);
    cr_assert_eq(gw_query_params("a=1;b=2", 7), 1);
}

Test(limits, cookie_pairs)
{
    cr_assert_eq(gw_cookie_pairs("", 0), 0);
    cr_assert_eq(gw_cookie_pairs("a=1", 3), 1);
    cr_assert_eq(gw_cookie_pairs("a=1; b=2;c=3", 12), 3);
    cr_assert_eq(gw_cookie_pairs("a=1, b=2", 8), 2, "',' separates too, as libmicrohttpd reads it");
    cr_assert_eq(gw_cookie_pairs(" ;; ; a ", 8), 1);
}

/* A request with n query pieces and c cookies (in two Cookie headers) against the limits. */
static bool within(int params, int cookies, gw_refusal_t *why)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_printf(&b, "GET /v1/things");
    for (int i = 0; i < params; i++)
        tc_buf_printf(&b, "%cp%d=%d", i ? '&' : '?', i, i);
    tc_buf_printf(&b, " HTTP/1.1\r\nHost: x\r\n");
    for (int h = 0; h < 2 && cookies; h++) {
        tc_buf_printf(&b, "Cookie: ");
        for (int i = h; i < cookies; i += 2)
            tc_buf_printf(&b, "c%d=1; ", i);
        tc_buf_printf(&b, "\r\n");
    }
    tc_buf_printf(&b, "\r\n");
    int status;
    const char *err;
    cr_assert_eq(http_parse_request(tc_buf_cstr(&b), b.len, &req, &status, &err), HTTP_OK, "%s",
                 err);
    bool ok = gw_request_within_limits(tc_buf_cstr(&b), &req, why);
    tc_buf_free(&b);
    return ok;
}

Test(limits, a_request_at_the_limits_passes_one_beyond_is_refused)
{
    gw_refusal_t why = {0};
    cr_assert(within(0, 0, &why));
    cr_assert(within(GW_MAX_QUERY_PARAMS, GW_MAX_COOKIES, &why));
    cr_assert_not(within(GW_MAX_QUERY_PARAMS + 1, 0, &why));
    cr_assert_eq(why.status, 400);
    cr_assert_str_eq(why.code, "bad_request");
    cr_assert_not(within(600, 0, &why), "the probe's 600 parameters");
    cr_assert_not(within(0, GW_MAX_COOKIES + 1, &why), "cookies are counted over every header");
    cr_assert_eq(why.status, 431);
    cr_assert_str_eq(why.code, "headers_too_large");
}

Test(limits, a_target_without_query_and_the_asterisk_form)
{
    gw_refusal_t why;
    const char *s = "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n";
    int status;
    const char *err;
    cr_assert_eq(http_parse_request(s, strlen(s), &req, &status, &err), HTTP_OK);
    cr_assert(gw_request_within_limits(s, &req, &why));
    s = "GET /a? HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(http_parse_request(s, strlen(s), &req, &status, &err), HTTP_OK);
    cr_assert(gw_request_within_limits(s, &req, &why));
}

Test(limits, upstream_head_size)
{
    cr_assert(gw_upstream_head_within_limits(100, 16384));
    cr_assert_not(gw_upstream_head_within_limits(101, 100));
    cr_assert_not(gw_upstream_head_within_limits(10, 16385));
}
