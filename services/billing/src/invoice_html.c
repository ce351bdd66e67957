#include "invoice_html.h"

#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <string.h>

void bill_format_money(int64_t minor, const char *currency, char *out, size_t n)
{
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    char units[32], grouped[48];
    snprintf(units, sizeof units, "%llu", (unsigned long long)(mag / 100));
    size_t len = strlen(units), g = 0;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = units[i];
    }
    grouped[g] = '\0';
    snprintf(out, n, "%s%s.%02llu %s", minor < 0 ? "-" : "", grouped,
             (unsigned long long)(mag % 100), currency ? currency : "");
}

static int64_t num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *name)
{
    const char *s = tc_json_get_str(o, name);
    return s ? s : "";
}

/* <tag>escaped text</tag> */
static void cell(tc_buf_t *b, const char *tag, const char *text)
{
    tc_buf_printf(b, "<%s>", tag);
    tc_buf_html_escape(b, text, strlen(text));
    tc_buf_printf(b, "</%s>", tag);
}

static void money_cell(tc_buf_t *b, int64_t minor, const char *currency)
{
    char m[64];
    bill_format_money(minor, currency, m, sizeof m);
    cell(b, "td class=\"amount\"", m);
}

static void line_row(tc_buf_t *b, const cJSON *l, const char *currency)
{
    char period[64], qty[64] = "";
    snprintf(period, sizeof period, "%.10s – %.10s", str(l, "period_start"), str(l, "period_end"));
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(l, "quantity")))
        snprintf(qty, sizeof qty, "%lld", (long long)num(l, "quantity"));
    tc_buf_puts(b, "<tr>");
    cell(b, "td", str(l, "description"));
    cell(b, "td", period);
    cell(b, "td class=\"amount\"", qty);
    money_cell(b, num(l, "amount_minor"), currency);
    tc_buf_puts(b, "</tr>\n");
}

static void total_row(tc_buf_t *b, const char *label, int64_t minor, const char *currency)
{
    tc_buf_puts(b, "<tr class=\"total\"><td colspan=\"3\">");
    tc_buf_html_escape(b, label, strlen(label));
    tc_buf_puts(b, "</td>");
    money_cell(b, minor, currency);
    tc_buf_puts(b, "</tr>\n");
}

char *bill_invoice_html(const cJSON *inv, size_t *len)
{
    tc_buf_t b;
    tc_buf_init(&b);
    const char *currency = str(inv, "currency");
    const char *number = tc_json_get_str(inv, "number");
    char title[96], tax[64];
    snprintf(title, sizeof title, "Invoice %s", number ? number : "(draft)");
    snprintf(tax, sizeof tax, "Tax (%lld.%02lld %%)", (long long)(num(inv, "tax_rate_bp") / 100),
             (long long)(num(inv, "tax_rate_bp") % 100));
    tc_buf_puts(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    cell(&b, "title", title);
    tc_buf_puts(&b, "<style>body{font:14px/1.4 sans-serif;margin:2em;color:#111}"
                    "table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;"
                    "border-bottom:1px solid #ddd;text-align:left}.amount{text-align:right}"
                    ".total td{font-weight:bold}@media print{body{margin:0}}</style>"
                    "</head><body>\n");
    cell(&b, "h1", title);
    tc_buf_puts(&b, "<dl>");
    static const char *const facts[][2] = {{"Status", "status"},
                                           {"Issuer", "issuer"},
                                           {"Organization", "org_id"},
                                           {"Issued", "finalized_at"},
                                           {"Period from", "period_start"},
                                           {"Period to", "period_end"}};
    for (size_t i = 0; i < TC_ARRAY_LEN(facts); i++) {
        cell(&b, "dt", facts[i][0]);
        cell(&b, "dd", str(inv, facts[i][1]));
    }
    tc_buf_puts(&b, "</dl>\n<table><thead><tr><th>Description</th><th>Period</th>"
                    "<th class=\"amount\">Quantity</th><th class=\"amount\">Amount</th></tr>"
                    "</thead><tbody>\n");
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(inv, "lines"), *l;
    cJSON_ArrayForEach(l, lines)
    {
        line_row(&b, l, currency);
    }
    total_row(&b, "Subtotal", num(inv, "subtotal_minor"), currency);
    total_row(&b, tax, num(inv, "tax_minor"), currency);
    total_row(&b, "Total", num(inv, "total_minor"), currency);
    if (num(inv, "credited_minor") > 0)
        total_row(&b, "Credited", -num(inv, "credited_minor"), currency);
    tc_buf_puts(&b, "</tbody></table></body></html>\n");
    if (b.oom) {
        tc_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return tc_buf_detach(&b);
}
