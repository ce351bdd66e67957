/* Unit tests for the security response headers (security_headers.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "security_headers.h"
#include "tc/tc_core.h"

static gw_sechdr_t s;

static const char *get(gw_content_t kind, bool tls)
{
    size_t len;
    const char *h = gw_sechdr_get(&s, kind, tls, &len);
    cr_assert_eq(strlen(h), len);
    return h;
}

Test(security_headers, nosniff_always_hsts_over_tls_only_csp_on_pages)
{
    cr_assert_eq(gw_sechdr_init(&s, "max-age=31536000; includeSubDomains", GW_CSP_DEFAULT), TC_OK);
    cr_assert_str_eq(get(GW_CONTENT_API, false), "X-Content-Type-Options: nosniff\r\n");
    cr_assert_str_eq(get(GW_CONTENT_API, true),
                     "X-Content-Type-Options: nosniff\r\n"
                     "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n");
    cr_assert_str_eq(get(GW_CONTENT_PAGE, false),
                     "X-Content-Type-Options: nosniff\r\n"
                     "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n");
    cr_assert_not_null(strstr(get(GW_CONTENT_PAGE, true), "Strict-Transport-Security: "));
}

Test(security_headers, hsts_off_by_default)
{
    cr_assert_eq(gw_sechdr_init(&s, NULL, NULL), TC_OK);
    cr_assert_str_eq(get(GW_CONTENT_API, true), "X-Content-Type-Options: nosniff\r\n");
    cr_assert_str_eq(get(GW_CONTENT_PAGE, true), "X-Content-Type-Options: nosniff\r\n");
    cr_assert_eq(gw_sechdr_init(&s, "", ""), TC_OK);
    cr_assert_str_eq(get(GW_CONTENT_PAGE, true), "X-Content-Type-Options: nosniff\r\n");
}

Test(security_headers, values_that_would_inject_or_overflow_are_refused)
{
    cr_assert_not(gw_sechdr_value_ok("max-age=1\r\nSet-Cookie: x=1"));
    cr_assert_eq(gw_sechdr_init(&s, "max-age=1\nX: y", NULL), TC_EINVAL);
    char big[GW_SECHDR_VALUE_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_not(gw_sechdr_value_ok(big));
    big[GW_SECHDR_VALUE_MAX] = '\0';
    cr_assert(gw_sechdr_value_ok(big));
    cr_assert_eq(gw_sechdr_init(&s, big, big), TC_OK);
}
