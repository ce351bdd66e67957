/* invoice_model.c: usage lines, tax, totals and the ledger postings of every document —
 * including the properties the issue asks for: every posting set balances, and an invoice's
 * total is the sum of its lines plus its tax, over many generated invoices. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invoice_model.h"
#include "tc/tc_core.h"

Test(usage_line, beyond_the_inclusion_priced_per_package_half_up)
{
    bill_line_t l;
    bool billable = false;
    /* 1,500,500 requests, 1,500,000 included, 20 per 1,000: 500 x 20 / 1000 = 10 */
    cr_assert_eq(bill_usage_line("api_requests", 1500500, 1500000, 1000, 20, 1, 2, &l, &billable),
                 TC_OK);
    cr_assert(billable);
    cr_assert_eq(l.amount_minor, 10);
    cr_assert_eq(l.kind, BILL_LINE_USAGE);
    cr_assert_str_eq(l.metric, "api_requests");
    cr_assert_eq(l.quantity, 1500500);
    cr_assert_eq(l.included, 1500000);
    /* 25 beyond at 2 per 1000 = 0.05 -> 0; 250 beyond = 0.5 -> 1 (half up) */
    cr_assert_eq(bill_usage_line("m.x", 25, 0, 1000, 2, 0, 0, &l, &billable), TC_OK);
    cr_assert_eq(l.amount_minor, 0);
    cr_assert_eq(bill_usage_line("m.x", 250, 0, 1000, 2, 0, 0, &l, &billable), TC_OK);
    cr_assert_eq(l.amount_minor, 1);
}

Test(usage_line, within_the_inclusion_or_unlimited_is_no_line)
{
    bill_line_t l;
    bool billable = true;
    cr_assert_eq(bill_usage_line("api_requests", 100, 100, 1000, 20, 0, 0, &l, &billable), TC_OK);
    cr_assert_not(billable);
    billable = true;
    cr_assert_eq(bill_usage_line("api_requests", 1000000, -1, 1000, 20, 0, 0, &l, &billable),
                 TC_OK);
    cr_assert_not(billable, "unlimited");
}

Test(usage_line, bad_or_overflowing_input_is_refused_not_wrapped)
{
    bill_line_t l;
    bool billable;
    cr_assert_eq(bill_usage_line("m", -1, 0, 1, 1, 0, 0, &l, &billable), TC_EINVAL);
    cr_assert_eq(bill_usage_line("m", 1, 0, 0, 1, 0, 0, &l, &billable), TC_EINVAL);
    cr_assert_eq(bill_usage_line("m", 1, 0, 1, -1, 0, 0, &l, &billable), TC_EINVAL);
    cr_assert_eq(bill_usage_line(NULL, 1, 0, 1, 1, 0, 0, &l, &billable), TC_EINVAL);
    cr_assert_eq(bill_usage_line("m", BILL_MAX_QUANTITY + 1, 0, 1, 1, 0, 0, &l, &billable),
                 TC_EINVAL);
    /* 10^15 units at 10^9 per unit does not fit in 64 bits */
    cr_assert_eq(bill_usage_line("m", BILL_MAX_QUANTITY, 0, 1, 1000000000, 0, 0, &l, &billable),
                 TC_EINVAL);
}

Test(tax, rate_in_basis_points_half_away_from_zero_none_on_credit)
{
    int64_t t = -1;
    cr_assert_eq(bill_tax(10000, 1900, &t), TC_OK);
    cr_assert_eq(t, 1900);
    cr_assert_eq(bill_tax(5, 1000, &t), TC_OK); /* 0.5 -> 1 */
    cr_assert_eq(t, 1);
    cr_assert_eq(bill_tax(4, 1000, &t), TC_OK); /* 0.4 -> 0 */
    cr_assert_eq(t, 0);
    cr_assert_eq(bill_tax(-5000, 2000, &t), TC_OK);
    cr_assert_eq(t, 0, "a credit balance carries no tax");
    cr_assert_eq(bill_tax(100, 10001, &t), TC_EINVAL);
    cr_assert_eq(bill_tax(100, -1, &t), TC_EINVAL);
}

static bill_line_t amount(int64_t a)
{
    bill_line_t l;
    memset(&l, 0, sizeof l);
    l.amount_minor = a;
    return l;
}

Test(totals, the_sum_of_the_lines_and_the_tax)
{
    bill_line_t lines[] = {amount(29900), amount(-2450), amount(14950), amount(10)};
    bill_totals_t t;
    cr_assert_eq(bill_totals(lines, 4, 2000, &t), TC_OK);
    cr_assert_eq(t.subtotal, 42410);
    cr_assert_eq(t.tax, 8482);
    cr_assert_eq(t.total, 50892);
    cr_assert_eq(bill_totals(lines, 0, 2000, &t), TC_OK);
    cr_assert_eq(t.total, 0);
    bill_line_t huge[] = {amount(INT64_MAX), amount(1)};
    cr_assert_eq(bill_totals(huge, 2, 0, &t), TC_EINVAL);
}

static int64_t leg_of(const bill_posting_t *p, int n, const char *account, bool debit)
{
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].account, account) == 0)
            return debit ? p[i].debit : p[i].credit;
    return 0;
}

Test(postings, an_invoice_a_payment_a_void_and_a_credit)
{
    bill_totals_t t = {.subtotal = 10000, .tax = 2000, .total = 12000};
    bill_posting_t p[BILL_MAX_POSTINGS];
    int n = 0;
    cr_assert_eq(bill_post_invoice(&t, p, &n), TC_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(leg_of(p, n, "receivable", true), 12000);
    cr_assert_eq(leg_of(p, n, "revenue", false), 10000);
    cr_assert_eq(leg_of(p, n, "tax_payable", false), 2000);
    cr_assert(bill_postings_balance(p, n));

    cr_assert_eq(bill_post_void(&t, p, &n), TC_OK);
    cr_assert_eq(leg_of(p, n, "receivable", false), 12000, "the void reverses the invoice");
    cr_assert_eq(leg_of(p, n, "revenue", true), 10000);
    cr_assert(bill_postings_balance(p, n));

    cr_assert_eq(bill_post_payment(12000, p, &n), TC_OK);
    cr_assert_eq(leg_of(p, n, "cash", true), 12000);
    cr_assert_eq(leg_of(p, n, "receivable", false), 12000);
    cr_assert_eq(bill_post_payment(0, p, &n), TC_EINVAL);

    /* a credit of 6,000 on 12,000 with 2,000 tax: 1,000 of it is tax */
    cr_assert_eq(bill_post_credit(&t, 6000, 0, p, &n), TC_OK);
    cr_assert_eq(leg_of(p, n, "tax_payable", true), 1000);
    cr_assert_eq(leg_of(p, n, "revenue", true), 5000);
    cr_assert_eq(leg_of(p, n, "receivable", false), 6000);
    cr_assert(bill_postings_balance(p, n));
    cr_assert_eq(bill_post_credit(&t, 6001, 6000, p, &n), TC_EINVAL, "beyond what is creditable");
    cr_assert_eq(bill_post_credit(&t, 0, 6000, p, &n), TC_EINVAL);
}

Test(postings, credit_notes_that_credit_a_whole_invoice_return_exactly_its_tax)
{
    /* 4,900 + 20 % = 5,880 credited in three notes of 1,960: each note's own share would be
     * 326.67 -> 327, three times 981; the running shares give 327 + 326 + 327 = 980 */
    bill_totals_t t = {.subtotal = 4900, .tax = 980, .total = 5880};
    bill_posting_t p[BILL_MAX_POSTINGS];
    int n = 0;
    int64_t tax_back = 0, revenue_back = 0, credited = 0;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(bill_post_credit(&t, 1960, credited, p, &n), TC_OK);
        cr_assert(bill_postings_balance(p, n));
        tax_back += leg_of(p, n, "tax_payable", true);
        revenue_back += leg_of(p, n, "revenue", true);
        credited += 1960;
    }
    cr_assert_eq(tax_back, 980);
    cr_assert_eq(revenue_back, 4900);
    cr_assert_eq(bill_post_credit(&t, 1, credited, p, &n), TC_EINVAL, "nothing left to credit");
}

Test(postings, a_credit_balance_invoice_and_a_zero_one)
{
    bill_totals_t credit = {.subtotal = -2450, .tax = 0, .total = -2450};
    bill_posting_t p[BILL_MAX_POSTINGS];
    int n = 0;
    cr_assert_eq(bill_post_invoice(&credit, p, &n), TC_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(leg_of(p, n, "revenue", true), 2450);
    cr_assert_eq(leg_of(p, n, "receivable", false), 2450, "the org's credit");
    cr_assert(bill_postings_balance(p, n));
    bill_totals_t zero = {0, 0, 0};
    cr_assert_eq(bill_post_invoice(&zero, p, &n), TC_OK);
    cr_assert_eq(n, 0, "nothing to post");
    bill_totals_t wrong = {.subtotal = 100, .tax = 10, .total = 100};
    cr_assert_eq(bill_post_invoice(&wrong, p, &n), TC_EINVAL);
}

Test(postings, one_legged_or_unequal_sets_do_not_balance)
{
    bill_posting_t one[] = {{"cash", 5, 0}};
    bill_posting_t uneven[] = {{"cash", 5, 0}, {"receivable", 0, 4}};
    cr_assert_not(bill_postings_balance(one, 1));
    cr_assert_not(bill_postings_balance(uneven, 2));
}

/* xorshift: a reproducible stream of cases */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(properties, every_generated_invoice_adds_up_and_every_posting_balances)
{
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (int round = 0; round < 5000; round++) {
        bill_line_t lines[BILL_MAX_LINES];
        int n = (int)(next_rand(&seed) % 12);
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            int64_t a = (int64_t)(next_rand(&seed) % 20000000) - 5000000;
            lines[i] = amount(a);
            sum += a;
        }
        int rate = (int)(next_rand(&seed) % 3001);
        bill_totals_t t;
        cr_assert_eq(bill_totals(lines, n, rate, &t), TC_OK);
        cr_assert_eq(t.subtotal, sum);
        cr_assert_eq(t.total, t.subtotal + t.tax);
        cr_assert(t.tax >= 0 && (t.subtotal > 0 || t.tax == 0));
        bill_posting_t p[BILL_MAX_POSTINGS];
        int np = 0;
        cr_assert_eq(bill_post_invoice(&t, p, &np), TC_OK);
        cr_assert(np == 0 || bill_postings_balance(p, np), "round %d", round);
        cr_assert_eq(bill_post_void(&t, p, &np), TC_OK);
        cr_assert(np == 0 || bill_postings_balance(p, np));
        if (t.total > 0) {
            int64_t credit = 1 + (int64_t)(next_rand(&seed) % (uint64_t)t.total);
            cr_assert_eq(bill_post_credit(&t, credit, 0, p, &np), TC_OK);
            cr_assert(bill_postings_balance(p, np));
            cr_assert_eq(bill_post_payment(t.total, p, &np), TC_OK);
            cr_assert(bill_postings_balance(p, np));
        }
    }
}

Test(metric_terms, inclusion_absent_null_or_a_number_and_the_metered_price)
{
    cJSON *inc = cJSON_Parse("{\"api_requests\": 1000, \"workflow_executions\": null}");
    cJSON *met = cJSON_Parse("{\"api_requests\": {\"per\": 1000, \"price_minor\": 20}}");
    int64_t i = 7, per = 7, price = 7;
    cr_assert(bill_metric_terms(inc, met, "api_requests", &i, &per, &price));
    cr_assert(i == 1000 && per == 1000 && price == 20);
    cr_assert_not(bill_metric_terms(inc, met, "workflow_executions", &i, &per, &price),
                  "not metered: a hard limit");
    cr_assert_eq(i, -1, "null is unlimited");
    cr_assert_not(bill_metric_terms(inc, met, "notifications.sms", &i, &per, &price));
    cr_assert_eq(i, 0, "absent is none included");
    cJSON_Delete(inc);
    cJSON_Delete(met);
}
