/* Unit tests for what the response cache may store and serve (cache_policy.c): freshness from
 * Cache-Control and Age, what is never stored, query normalisation, Vary, If-None-Match. */
#include <criterion/criterion.h>
#include <string.h>

#include "cache_policy.h"

static http_response_t resp;

static const char *parse(const char *head)
{
    const char *why;
    cr_assert_eq(http_parse_response(head, strlen(head), &resp, &why), HTTP_OK, "%s", head);
    return head;
}

static int64_t ttl(const char *head, int64_t route_ttl, int64_t *age)
{
    const char *b = parse(head);
    return gw_cache_ttl_ms(b, &resp, route_ttl, age);
}

#define H(status, headers) "HTTP/1.1 " status "\r\n" headers "Content-Length: 0\r\n\r\n"

Test(cache_policy, freshness)
{
    int64_t age;
    cr_assert_eq(ttl(H("200 OK", ""), 0, &age), 0, "nothing says it is fresh");
    cr_assert_eq(ttl(H("200 OK", ""), 30000, &age), 30000, "the route's ttl");
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: max-age=60\r\n"), 30000, &age), 60000);
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: public, max-age=60, s-maxage=5\r\n"), 0, &age),
                 5000, "s-maxage wins");
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: max-age=\"7\"\r\n"), 0, &age), 7000);
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: max-age=60\r\nAge: 20\r\n"), 0, &age), 40000);
    cr_assert_eq(age, 20);
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: max-age=10\r\nAge: 20\r\n"), 0, &age), 0);
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: max-age=abc\r\n"), 30000, &age), 0,
                 "a max-age that does not parse is stale, not the route's ttl");
    cr_assert_eq(ttl(H("200 OK", "Cache-Control: max-age=99999999999999\r\n"), 0, &age),
                 9999999999000, "a very large number");
    cr_assert_eq(ttl(H("200 OK", "Pragma: no-cache\r\n"), 30000, &age), 0);
}

static int64_t swr(const char *head, int64_t route_swr)
{
    const char *b = parse(head);
    return gw_cache_swr_ms(b, &resp, route_swr);
}

Test(cache_policy, stale_while_revalidate)
{
    cr_assert_eq(swr(H("200 OK", "Cache-Control: max-age=5\r\n"), 0), 0);
    cr_assert_eq(swr(H("200 OK", "Cache-Control: max-age=5\r\n"), 9000), 9000, "the route's");
    cr_assert_eq(swr(H("200 OK", "Cache-Control: max-age=5, stale-while-revalidate=30\r\n"), 9000),
                 30000, "the service's wins");
    cr_assert_eq(swr(H("200 OK", "Cache-Control: max-age=5, stale-while-revalidate=0\r\n"), 9000),
                 0);
    cr_assert_eq(swr(H("200 OK", "Cache-Control: max-age=5, must-revalidate\r\n"), 9000), 0,
                 "must-revalidate: never served stale");
    cr_assert_eq(
        swr(H("200 OK", "Cache-Control: proxy-revalidate, stale-while-revalidate=3\r\n"), 9000), 0);
    cr_assert_eq(swr(H("200 OK", "Cache-Control: stale-while-revalidate=x\r\n"), 9000), 0,
                 "a value that does not parse: none");
}

Test(cache_policy, never_stored)
{
    int64_t age;
    const char *never[] = {
        H("200 OK", "Cache-Control: no-store\r\n"),
        H("200 OK", "Cache-Control: max-age=60, private\r\n"),
        H("200 OK", "Cache-Control: no-cache\r\n"),
        H("200 OK", "Cache-Control: max-age=60\r\nCache-Control: NO-STORE\r\n"),
        H("200 OK", "Set-Cookie: a=b\r\n"),
        H("200 OK", "Vary: Accept, *\r\n"),
        H("200 OK", "Vary: Accept\r\nVary: *\r\n"),
        H("404 Not Found", "Cache-Control: max-age=60\r\n"),
        H("206 Partial Content", "Cache-Control: max-age=60\r\n"),
    };
    for (size_t i = 0; i < sizeof never / sizeof *never; i++)
        cr_assert_eq(ttl(never[i], 30000, &age), 0, "%s", never[i]);
}

Test(cache_policy, requests_that_bypass)
{
    const char *in[] = {"GET / HTTP/1.1\r\nHost: x\r\nCache-Control: no-cache\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: x\r\nCache-Control: max-age=0, no-store\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: x\r\nCache-Control: max-age=5\r\n\r\n",
                        "GET / HTTP/1.1\r\nHost: x\r\nCache-Control: max-age=0\r\n\r\n"};
    bool want[] = {true, true, true, false, true};
    for (size_t i = 0; i < 5; i++) {
        http_request_t req;
        int status;
        const char *why;
        cr_assert_eq(http_parse_request(in[i], strlen(in[i]), &req, &status, &why), HTTP_OK);
        cr_assert_eq(gw_cache_request_bypass(in[i], &req), want[i], "%s", in[i]);
    }
}

Test(cache_policy, query_normalisation)
{
    char out[64];
    long n = gw_cache_query_normal("b=2&a=1&a=0&&c", 14, out, sizeof out);
    cr_assert_eq(n, 14);
    out[n] = '\0';
    cr_assert_str_eq(out, "&a=1&a=0&b=2&c", "by name; one name's values keep their order");
    cr_assert_eq(gw_cache_query_normal("", 0, out, sizeof out), 0);
    cr_assert_eq(gw_cache_query_normal("b=2&a=1", 7, out, 4), -1, "too small is an overflow");
}

Test(cache_policy, vary_names_and_signatures)
{
    char names[64];
    const char *b = parse(H("200 OK", "Vary: Accept-Language, X-Thing\r\nVary: accept\r\n"));
    cr_assert(gw_cache_vary_names(b, &resp, names, sizeof names));
    cr_assert_str_eq(names, "accept-language;x-thing;accept");
    b = parse(H("200 OK", ""));
    cr_assert(gw_cache_vary_names(b, &resp, names, sizeof names));
    cr_assert_str_eq(names, "");
    b = parse(H("200 OK", "Vary: Accept\r\nVary: *\r\n"));
    cr_assert_not(gw_cache_vary_names(b, &resp, names, sizeof names), "Vary: * is never stored");

    const char *in = "GET / HTTP/1.1\r\nHost: x\r\nX-Thing: 1\r\nAccept: a/b\r\n\r\n";
    http_request_t req;
    int status;
    const char *why;
    cr_assert_eq(http_parse_request(in, strlen(in), &req, &status, &why), HTTP_OK);
    char sig[64];
    long n = gw_cache_vary_signature(in, &req, "accept-language;x-thing;accept", sig, sizeof sig);
    cr_assert_eq(n, 7, "no accept-language, then 1, then a/b");
    cr_assert(memcmp(sig, "\n1\na/b\n", 7) == 0);
}

Test(cache_policy, if_none_match)
{
    const char *etag = "\"v1\"";
    cr_assert(gw_cache_etag_match("\"v1\"", 4, etag, 4));
    cr_assert(gw_cache_etag_match("W/\"v0\", W/\"v1\"", 14, etag, 4), "weak comparison");
    cr_assert(gw_cache_etag_match("*", 1, etag, 4));
    cr_assert_not(gw_cache_etag_match("\"v2\"", 4, etag, 4));
    cr_assert_not(gw_cache_etag_match("\"v1\"", 4, "", 0), "no ETag, no match");
    cr_assert(gw_cache_etag_match("*", 1, "", 0), "* matches any representation");
    cr_assert(gw_cache_etag_match("\"v1\"", 4, "W/\"v1\"", 6));
}
