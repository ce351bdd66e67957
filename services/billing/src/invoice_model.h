/*
 * invoice_model.h: an invoice's arithmetic and its ledger postings, without I/O. Amounts are
 * integer minor units; every rounding is half away from zero; every product is checked for
 * overflow (TC_EINVAL: the amount is out of range, never a wrong number).
 *
 * An invoice is issued when a period opens (the periods job): the new period's base fee in
 * advance, the usage of the period that closed beyond what its price included, and the items
 * plan changes left (prorations). Its total is the sum of its lines plus the tax of the org's
 * country on a positive subtotal.
 */
#ifndef INVOICE_MODEL_H
#define INVOICE_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define BILL_MAX_LINES    80
#define BILL_MAX_QUANTITY 1000000000000000LL /* 10^15 units of a metric in one period */

typedef enum { BILL_LINE_BASE_FEE = 0, BILL_LINE_USAGE, BILL_LINE_PRORATION } bill_line_kind_t;

typedef struct {
    bill_line_kind_t kind;
    char description[160];
    char metric[64];          /* usage lines */
    int64_t quantity;         /* usage lines: the period's total */
    int64_t included;         /* usage lines: -1 unlimited */
    int64_t per;              /* usage lines: the price is per this many units */
    int64_t unit_price_minor; /* usage lines: per `per` units */
    int64_t amount_minor;
    int64_t from_ms, to_ms;
} bill_line_t;

typedef struct {
    int64_t subtotal;
    int64_t tax;
    int64_t total;
} bill_totals_t;

/* The usage line of a metric: (quantity - included) beyond the inclusion (included < 0:
 * unlimited), times price_minor per `per` units, rounded half up. *billable is false when
 * nothing is beyond the inclusion (no line then). */
int bill_usage_line(const char *metric, int64_t quantity, int64_t included, int64_t per,
                    int64_t price_minor, int64_t from_ms, int64_t to_ms, bill_line_t *out,
                    bool *billable);
/* A metric's terms in a price version (its included and metered JSON): *included (absent 0,
 * null -1: unlimited) and, when the version meters it, its price per `per` units. false when
 * it is not billable beyond the inclusion (a hard limit). */
bool bill_metric_terms(const cJSON *included, const cJSON *metered, const char *metric,
                       int64_t *inc, int64_t *per, int64_t *price_minor);
/* tax = subtotal x rate_bp / 10000, rounded half away from zero; 0 for a subtotal <= 0 (a
 * credit balance carries no tax). */
int bill_tax(int64_t subtotal, int rate_bp, int64_t *tax);
/* subtotal = sum of the lines' amounts, tax as bill_tax, total = subtotal + tax. */
int bill_totals(const bill_line_t *lines, int n, int rate_bp, bill_totals_t *out);

/* One leg of a ledger transaction. */
typedef struct {
    const char *account; /* "receivable", "revenue", "tax_payable", "cash" */
    int64_t debit;
    int64_t credit;
} bill_posting_t;

#define BILL_MAX_POSTINGS 3

/* An invoice finalized: Dr receivable total, Cr revenue subtotal, Cr tax_payable tax (for a
 * negative total, the org's credit: Dr revenue, Cr receivable). Zero legs are left out. */
int bill_post_invoice(const bill_totals_t *t, bill_posting_t out[BILL_MAX_POSTINGS], int *n);
/* The reverse of bill_post_invoice (a void). */
int bill_post_void(const bill_totals_t *t, bill_posting_t out[BILL_MAX_POSTINGS], int *n);
/* A payment of amount: Dr cash, Cr receivable. */
int bill_post_payment(int64_t amount, bill_posting_t out[BILL_MAX_POSTINGS], int *n);
/* A credit note of amount (tax included) on an invoice with totals t, of which `credited`
 * was credited before: its tax share back from tax_payable, the rest from revenue, Cr
 * receivable amount. The share is the difference of the running shares (credited + amount
 * and credited, each x tax / total, half away from zero), so notes that credit a whole
 * invoice return exactly its tax. TC_EINVAL unless 0 < amount <= total - credited. */
int bill_post_credit(const bill_totals_t *t, int64_t amount, int64_t credited,
                     bill_posting_t out[BILL_MAX_POSTINGS], int *n);
/* Debits equal credits, and there are at least two legs. */
bool bill_postings_balance(const bill_posting_t *p, int n);

const char *bill_line_kind_name(bill_line_kind_t k);

#endif
