#include "invoice_model.h"

#include "tc/tc_core.h"

#include <stdio.h>
#include <string.h>

/* a x b / d rounded half away from zero, d > 0; TC_EINVAL on overflow. */
static int mul_div(int64_t a, int64_t b, int64_t d, int64_t *out)
{
    int64_t p;
    if (d <= 0 || __builtin_mul_overflow(a, b, &p))
        return TC_EINVAL;
    if (p == INT64_MIN)
        return TC_EINVAL; /* its magnitude does not fit */
    int64_t mag = p < 0 ? -p : p;
    int64_t q = mag / d, r = mag % d;
    if (r >= d - r) /* r >= d/2 without overflow: half rounds up */
        q++;
    *out = p < 0 ? -q : q;
    return TC_OK;
}

int bill_usage_line(const char *metric, int64_t quantity, int64_t included, int64_t per,
                    int64_t price_minor, int64_t from_ms, int64_t to_ms, bill_line_t *out,
                    bool *billable)
{
    *billable = false;
    if (!metric || quantity < 0 || quantity > BILL_MAX_QUANTITY || per <= 0 || price_minor < 0)
        return TC_EINVAL;
    int64_t beyond = included < 0 ? 0 : quantity - included;
    if (beyond <= 0)
        return TC_OK;
    int64_t amount = 0;
    int rc = mul_div(beyond, price_minor, per, &amount);
    if (rc != TC_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->kind = BILL_LINE_USAGE;
    snprintf(out->metric, sizeof out->metric, "%s", metric);
    snprintf(out->description, sizeof out->description, "%s: %lld beyond the %lld included", metric,
             (long long)beyond, (long long)included);
    out->quantity = quantity;
    out->included = included;
    out->per = per;
    out->unit_price_minor = price_minor;
    out->amount_minor = amount;
    out->from_ms = from_ms;
    out->to_ms = to_ms;
    *billable = true;
    return TC_OK;
}

bool bill_metric_terms(const cJSON *included, const cJSON *metered, const char *metric,
                       int64_t *inc, int64_t *per, int64_t *price_minor)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(included, metric);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(metered, metric);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "per");
    const cJSON *price = cJSON_GetObjectItemCaseSensitive(m, "price_minor");
    *inc = cJSON_IsNull(v) ? -1 : cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
    *per = cJSON_IsNumber(p) ? (int64_t)p->valuedouble : 0;
    *price_minor = cJSON_IsNumber(price) ? (int64_t)price->valuedouble : 0;
    return cJSON_IsNumber(p) && cJSON_IsNumber(price);
}

int bill_tax(int64_t subtotal, int rate_bp, int64_t *tax)
{
    *tax = 0;
    if (rate_bp < 0 || rate_bp > 10000)
        return TC_EINVAL;
    return subtotal > 0 ? mul_div(subtotal, rate_bp, 10000, tax) : TC_OK;
}

int bill_totals(const bill_line_t *lines, int n, int rate_bp, bill_totals_t *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++)
        if (__builtin_add_overflow(out->subtotal, lines[i].amount_minor, &out->subtotal))
            return TC_EINVAL;
    int rc = bill_tax(out->subtotal, rate_bp, &out->tax);
    if (rc == TC_OK && __builtin_add_overflow(out->subtotal, out->tax, &out->total))
        rc = TC_EINVAL;
    return rc;
}

static void leg(bill_posting_t *out, int *n, const char *account, int64_t debit, int64_t credit)
{
    if (debit == 0 && credit == 0)
        return;
    out[*n] = (bill_posting_t){account, debit, credit};
    (*n)++;
}

int bill_post_invoice(const bill_totals_t *t, bill_posting_t out[BILL_MAX_POSTINGS], int *n)
{
    *n = 0;
    if (t->total != t->subtotal + t->tax || t->tax < 0 || (t->subtotal <= 0 && t->tax != 0))
        return TC_EINVAL;
    if (t->total >= 0) {
        leg(out, n, "receivable", t->total, 0);
        leg(out, n, "revenue", 0, t->subtotal);
        leg(out, n, "tax_payable", 0, t->tax);
    } else {
        leg(out, n, "revenue", -t->subtotal, 0);
        leg(out, n, "receivable", 0, -t->total);
    }
    return TC_OK;
}

int bill_post_void(const bill_totals_t *t, bill_posting_t out[BILL_MAX_POSTINGS], int *n)
{
    int rc = bill_post_invoice(t, out, n);
    for (int i = 0; rc == TC_OK && i < *n; i++) {
        int64_t d = out[i].debit;
        out[i].debit = out[i].credit;
        out[i].credit = d;
    }
    return rc;
}

int bill_post_payment(int64_t amount, bill_posting_t out[BILL_MAX_POSTINGS], int *n)
{
    *n = 0;
    if (amount <= 0)
        return TC_EINVAL;
    leg(out, n, "cash", amount, 0);
    leg(out, n, "receivable", 0, amount);
    return TC_OK;
}

int bill_post_credit(const bill_totals_t *t, int64_t amount, int64_t credited,
                     bill_posting_t out[BILL_MAX_POSTINGS], int *n)
{
    *n = 0;
    if (t->total <= 0 || credited < 0 || credited > t->total || amount <= 0 ||
        amount > t->total - credited)
        return TC_EINVAL;
    int64_t before = 0, after = 0;
    int rc = mul_div(credited, t->tax, t->total, &before);
    if (rc == TC_OK)
        rc = mul_div(credited + amount, t->tax, t->total, &after);
    if (rc != TC_OK)
        return rc;
    int64_t tax_share = after - before;
    leg(out, n, "revenue", amount - tax_share, 0);
    leg(out, n, "tax_payable", tax_share, 0);
    leg(out, n, "receivable", 0, amount);
    return TC_OK;
}

bool bill_postings_balance(const bill_posting_t *p, int n)
{
    int64_t d = 0, c = 0;
    for (int i = 0; i < n; i++)
        if (__builtin_add_overflow(d, p[i].debit, &d) || __builtin_add_overflow(c, p[i].credit, &c))
            return false;
    return n >= 2 && d == c;
}

const char *bill_line_kind_name(bill_line_kind_t k)
{
    static const char *const names[] = {"base_fee", "usage", "proration"};
    return (unsigned)k < TC_ARRAY_LEN(names) ? names[k] : "base_fee";
}
