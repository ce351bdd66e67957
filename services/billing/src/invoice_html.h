/* invoice_html.h: an invoice (the API's JSON) as a printable HTML page: every value escaped,
 * amounts formatted from minor units (two decimals, the currency's code), no script. */
#ifndef BILLING_INVOICE_HTML_H
#define BILLING_INVOICE_HTML_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* "1,234.56 USD" for 123456 minor units ("-0.05 USD" for -5); out holds at least 40. */
void bill_format_money(int64_t minor, const char *currency, char *out, size_t n);
/* The page (malloc'd, *len bytes), NULL when out of memory. */
char *bill_invoice_html(const cJSON *invoice, size_t *len);

#endif
