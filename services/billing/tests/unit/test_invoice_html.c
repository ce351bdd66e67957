/* invoice_html.c: amounts from minor units, and a page whose every value is escaped. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "invoice_html.h"

Test(money, minor_units_grouped_with_the_currency)
{
    char out[64];
    bill_format_money(123456, "USD", out, sizeof out);
    cr_assert_str_eq(out, "1,234.56 USD");
    bill_format_money(-5, "EUR", out, sizeof out);
    cr_assert_str_eq(out, "-0.05 EUR");
    bill_format_money(0, "USD", out, sizeof out);
    cr_assert_str_eq(out, "0.00 USD");
    bill_format_money(100000000000, "USD", out, sizeof out);
    cr_assert_str_eq(out, "1,000,000,000.00 USD");
    bill_format_money(INT64_MIN, "USD", out, sizeof out);
    cr_assert_str_eq(out, "-92,233,720,368,547,758.08 USD");
}

Test(page, values_are_escaped_and_totals_shown)
{
    cJSON *inv = cJSON_Parse(
        "{\"number\":\"TC-000007\",\"status\":\"finalized\",\"currency\":\"USD\","
        "\"org_id\":\"org_<script>alert(1)</script>\",\"issuer\":\"techcorp\","
        "\"subtotal_minor\":29900,\"tax_rate_bp\":1950,\"tax_minor\":5831,\"total_minor\":35731,"
        "\"credited_minor\":0,\"lines\":[{\"description\":\"Pro & <b>more</b>\","
        "\"amount_minor\":29900,\"period_start\":\"2026-12-01T00:00:00.000Z\","
        "\"period_end\":\"2027-01-01T00:00:00.000Z\",\"quantity\":null}]}");
    cr_assert_not_null(inv);
    size_t len = 0;
    char *html = bill_invoice_html(inv, &len);
    cr_assert_not_null(html);
    cr_assert_eq(strlen(html), len);
    cr_assert_null(strstr(html, "<script>"), "a value never becomes markup");
    cr_assert_not_null(strstr(html, "&lt;script&gt;"));
    cr_assert_not_null(strstr(html, "Pro &amp; &lt;b&gt;more&lt;/b&gt;"));
    cr_assert_not_null(strstr(html, "Invoice TC-000007"));
    cr_assert_not_null(strstr(html, "357.31 USD"));
    cr_assert_not_null(strstr(html, "Tax (19.50 %)"));
    free(html);
    cJSON_Delete(inv);
}
