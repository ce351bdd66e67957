#include "invoicing.h"
#include "invoice_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int usage_settle(tc_dbconn_t *tx, const bill_sub_t *as, int64_t until_ms, const char *key,
                 bill_line_t *lines, int *n, int cap)
{
    bill_usage_t *usage = NULL;
    cJSON *included = NULL, *metered = NULL;
    int nu = 0;
    int rc = store_usage_take(tx, as->org_id, until_ms, key, &usage, &nu);
    if (rc == TC_OK && nu > 0 && strcmp(as->status, "trialing") != 0)
        rc = store_price_terms(tx, as->plan_id, as->price_version, &included, &metered);
    else
        nu = 0; /* a trial's usage is free */
    for (int i = 0; rc == TC_OK && i < nu; i++) {
        int64_t inc = 0, per = 0, price = 0;
        if (!bill_metric_terms(included, metered, usage[i].metric, &inc, &per, &price))
            continue; /* not billable on this plan: its inclusion is a hard limit */
        if (*n >= cap) {
            rc = TC_EINVAL; /* never close usage an invoice has no line for */
            break;
        }
        bool billable = false;
        rc = bill_usage_line(usage[i].metric, usage[i].quantity, inc, per, price,
                             as->period_start_ms, until_ms, &lines[*n], &billable);
        if (rc == TC_OK && billable)
            (*n)++;
    }
    free(usage);
    cJSON_Delete(included);
    cJSON_Delete(metered);
    return rc;
}

/* The opened period's base fee in advance (none during a trial or on a free plan). */
static int base_fee_line(tc_dbconn_t *tx, const bill_sub_t *opened, bill_line_t *lines, int *n,
                         char currency[4])
{
    bill_price_t price;
    int rc = store_price_get(tx, opened->plan_id, opened->price_version, &price);
    if (rc != TC_OK)
        return rc;
    memcpy(currency, price.currency, 4);
    if (price.base_fee_minor == 0 || strcmp(opened->status, "trialing") == 0)
        return TC_OK;
    bill_line_t *l = &lines[(*n)++];
    memset(l, 0, sizeof *l);
    l->kind = BILL_LINE_BASE_FEE;
    snprintf(l->description, sizeof l->description, "%s plan, monthly", price.plan_name);
    l->amount_minor = price.base_fee_minor;
    l->included = -1;
    l->from_ms = opened->period_start_ms;
    l->to_ms = opened->period_end_ms;
    return TC_OK;
}

int invoice_issue(billing_app_t *app, tc_dbconn_t *tx, const bill_sub_t *closed,
                  const bill_sub_t *opened)
{
    bill_line_t *lines = calloc(BILL_MAX_LINES, sizeof *lines);
    bill_invoice_t inv = {.sub = opened, .issuer = app->issuer};
    char key[96], currency[4] = "", country[3] = "";
    int n = 0, taken = 0;
    int rc = lines ? tc_id_new("inv", inv.id, sizeof inv.id) : TC_ENOMEM;
    snprintf(key, sizeof key, "%s@%lld", opened->id, (long long)closed->period_end_ms);
    if (rc == TC_OK)
        rc = base_fee_line(tx, opened, lines, &n, currency);
    if (rc == TC_OK) /* included, billed or a trial's: the closed period's usage is settled */
        rc = usage_settle(tx, closed, closed->period_end_ms, key, lines, &n, BILL_MAX_LINES);
    if (rc == TC_OK)
        rc = store_items_take(tx, opened->org_id, inv.id, lines + n, BILL_MAX_LINES - n, &taken);
    n += taken;
    if (rc == TC_OK && n > 0) {
        inv.period_start_ms = opened->period_start_ms;
        inv.period_end_ms = opened->period_end_ms;
        inv.currency = currency;
        rc = store_tax_for(tx, opened->org_id, &inv.tax_rate_bp, country);
        inv.country = country;
        if (rc == TC_OK)
            rc = bill_totals(lines, n, inv.tax_rate_bp, &inv.totals);
        if (rc == TC_OK)
            rc = store_invoice_insert(tx, &inv, lines, n);
    }
    free(lines);
    return rc;
}

int invoice_finalize_in(billing_app_t *app, tc_dbconn_t *c, const char *skip, char *id, size_t n)
{
    char org[BILL_ID_MAX], issuer[64], currency[4], number[64];
    bill_totals_t t;
    bill_posting_t legs[BILL_MAX_POSTINGS];
    int nlegs = 0;
    /* due after the terms; dunning's first step then, or at once for an org whose card is
     * charged automatically (dunning.c) */
    const int64_t due_in = bill_dunning_due_at(&app->dunning, 0);
    const int64_t first_in = bill_dunning_first_at(&app->dunning, due_in);
    char customer[128], method[128];
    bool charge_now = false;
    id[0] = '\0';
    int rc = store_invoice_draft_due(c, tc_now_ms() - app->finalize_after_ms, skip, id, n, org,
                                     sizeof org, issuer, sizeof issuer, currency, &t);
    if (rc == TC_OK && app->stripe_key) {
        rc = store_method_refs(c, org, customer, sizeof customer, method, sizeof method);
        charge_now = rc == TC_OK;
        rc = rc == TC_ENOTFOUND ? TC_OK : rc;
    }
    if (rc == TC_OK)
        rc = store_number_next(c, issuer, "invoice", app->invoice_prefix, number, sizeof number);
    if (rc == TC_OK)
        rc = store_invoice_finalize(c, id, number, due_in, charge_now ? 0 : first_in);
    if (rc == TC_OK)
        rc = bill_post_invoice(&t, legs, &nlegs);
    if (rc == TC_OK && nlegs >= 2)
        rc = store_ledger_post(c, org, "invoice", id, currency, legs, nlegs);
    return rc;
}

int invoice_pay(tc_dbconn_t *tx, const char *id, const char *reference, const char **why)
{
    char org[BILL_ID_MAX], status[16], currency[4];
    bill_totals_t t;
    bill_posting_t legs[BILL_MAX_POSTINGS];
    int64_t credited = 0;
    int nlegs = 0;
    int rc =
        store_invoice_lock(tx, id, org, sizeof org, status, sizeof status, currency, &t, &credited);
    if (rc != TC_OK)
        return rc;
    if (strcmp(status, "finalized") != 0) {
        *why = "only a finalized invoice can be paid";
        return TC_ECONFLICT;
    }
    rc = store_invoice_set_paid(tx, id, reference);
    if (rc == TC_OK && t.total - credited > 0)
        rc = bill_post_payment(t.total - credited, legs, &nlegs);
    if (rc == TC_OK && nlegs)
        rc = store_ledger_post(tx, org, "payment", id, currency, legs, nlegs);
    return rc == TC_OK ? dunning_settled(tx, org) : rc;
}
