/*
 * store.h: all of billing's SQL (PostgreSQL), parameterised only, each function inside the
 * caller's transaction. Times cross this boundary as Unix epoch milliseconds.
 */
#ifndef BILLING_STORE_H
#define BILLING_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "billing_model.h"
#include "invoice_model.h"
#include "tc/tc_db.h"

/* ---- catalog (store_plans.c) */
/* {"data": [plan, …]} by rank, each with its current price (effective now). */
int store_plans_list(tc_dbconn_t *c, cJSON **out);
/* One plan with its current price and every version; TC_ENOTFOUND. */
int store_plan_get(tc_dbconn_t *c, const char *plan_id, cJSON **out);
/* The price of plan_id in effect now (the newest effective version); TC_ENOTFOUND for an
 * unknown plan. */
int store_price_current(tc_dbconn_t *c, const char *plan_id, bill_price_t *out);
/* A given version. */
int store_price_get(tc_dbconn_t *c, const char *plan_id, int version, bill_price_t *out);
/* Adds the next version of a plan's price (the versions of a plan serialised by a lock on
 * the plan row). TC_ENOTFOUND for an unknown plan, TC_ECONFLICT when the currency differs from
 * the plan's earlier versions (subscriptions never change currency mid-life). */
int store_price_add(tc_dbconn_t *c, const bill_price_req_t *p, cJSON **out);

/* ---- subscriptions (store_subscriptions.c) */
/* The org's subscription locked for update; when billing has none yet, the free plan's is
 * created (active, its first period starting now) and *created set. */
int store_sub_lock(tc_dbconn_t *c, const char *org_id, bill_sub_t *out, bool *created);
/* The org's subscription without creating it (TC_ENOTFOUND). */
int store_sub_get(tc_dbconn_t *c, const char *org_id, bill_sub_t *out);
/* Writes every field of s that changes (plan, price, status, anchor, period, trial, cancel),
 * bumps version and updated_at, and refreshes s from the row. */
int store_sub_save(tc_dbconn_t *c, bill_sub_t *s);
/* Restarts the periods at anchor_ms (a trial's end): period 0 is [anchor, anchor + 1 month),
 * on the plan's newest price. Refreshes s. */
int store_sub_reanchor(tc_dbconn_t *c, bill_sub_t *s, int64_t anchor_ms);
/* Moves to the next period and to the newest effective price of its plan. Refreshes s. */
int store_sub_next_period(tc_dbconn_t *c, bill_sub_t *s);
/* One subscription whose period or trial has ended (locked, SKIP LOCKED so replicas share
 * the work), none of skip (an array literal of ids that failed in this run); TC_ENOTFOUND
 * when none is due. */
int store_sub_due(tc_dbconn_t *c, const char *skip, bill_sub_t *out);

/* ---- pending items (store_subscriptions.c) */
int store_item_add(tc_dbconn_t *c, const bill_sub_t *s, const bill_item_t *it, char *id_out,
                   size_t n);
/* A usage line settled at a plan change (kind 'usage', under the plan and version it was
 * rated with). */
int store_usage_item_add(tc_dbconn_t *c, const bill_sub_t *s, const char *plan_id,
                         int price_version, const char *currency, const bill_line_t *l);
/* The org's items not yet invoiced, oldest first: a JSON array. */
int store_items_pending(tc_dbconn_t *c, const char *org_id, cJSON **out);

/* ---- payments (store_payments.c) */
typedef struct {
    const char *id, *invoice_id, *org_id, *provider, *provider_ref, *currency, *status;
    const char *client_secret;
    int attempt;
    int64_t amount_minor;
} bill_payment_t;
/* The invoice's payment that may still succeed, newest first (TC_ENOTFOUND: none), and how
 * many payments it has had (*attempts). */
int store_payment_open(tc_dbconn_t *c, const char *invoice_id, cJSON **out, int *attempts);
int store_payment_add(tc_dbconn_t *c, const bill_payment_t *p, cJSON **out);
/* {"data": [...]}: the payments of the org's invoice, newest first. */
int store_payments_list(tc_dbconn_t *c, const char *org_id, const char *invoice_id, cJSON **out);
/* Records a webhook event once: *fresh false when it was seen before. */
int store_provider_event_add(tc_dbconn_t *c, const char *provider, const char *event_id,
                             const char *type, bool *fresh);
/* Moves the payment with the provider's reference to status (last_error kept unless given):
 * its invoice and status before into the buffers; TC_ENOTFOUND when there is none. */
int store_payment_move(tc_dbconn_t *c, const char *provider, const char *ref, const char *status,
                       const char *last_error, char *invoice_id, size_t n, char *before, size_t bn);

/* ---- dunning (store_dunning.c) */
typedef struct {
    char id[BILL_ID_MAX], org_id[BILL_ID_MAX], number[64], currency[4];
    int64_t amount_due_minor; /* total less what credit notes took */
    int64_t due_ms;
    int stage;
} bill_overdue_t;
/* One finalized invoice whose next dunning step is due (locked, SKIP LOCKED: replicas share
 * the work), none of skip (an array literal); TC_ENOTFOUND when none. */
int store_dunning_due(tc_dbconn_t *c, const char *skip, bill_overdue_t *out);
/* Records a step: the stage, when the next one is due (0: none left) and, grace_ended, that
 * the org's plan is held for this invoice. */
int store_dunning_advance(tc_dbconn_t *c, const char *id, int stage, int64_t next_at_ms,
                          bool grace_ended);
/* user-events: a member's state (newest version wins); user.purged forgets them. */
int store_member_apply(tc_dbconn_t *c, const cJSON *user);
int store_member_forget(tc_dbconn_t *c, const char *user_id);
/* The org's active owners' ids (up to cap; *n). */
int store_owners(tc_dbconn_t *c, const char *org_id, char (*ids)[BILL_ID_MAX], int cap, int *n);
/* The plan a hold took from an org, and when. */
typedef struct {
    char invoice_id[BILL_ID_MAX];
    char plan_id[BILL_PLAN_ID_MAX];
    int price_version;
    int64_t held_ms;
} bill_hold_t;
/* TC_ENOTFOUND when the org's plan is not held. */
int store_hold_get(tc_dbconn_t *c, const char *org_id, bill_hold_t *out);
int store_hold_add(tc_dbconn_t *c, const char *org_id, const bill_hold_t *h);
int store_hold_drop(tc_dbconn_t *c, const char *org_id);
/* How many of the org's invoices whose grace ended are still owed. */
int store_overdue_held(tc_dbconn_t *c, const char *org_id, int *n);

/* ---- payment methods (store_payments.c) */
typedef struct {
    const char *provider, *customer_ref, *method_ref, *brand, *last4;
    int exp_month, exp_year;
} bill_method_t;
/* Sets the org's card (replacing one it had); *out the API's view. */
int store_method_put(tc_dbconn_t *c, const char *org_id, const bill_method_t *m, cJSON **out);
/* The API's view of the org's card; TC_ENOTFOUND without one. */
int store_method_get(tc_dbconn_t *c, const char *org_id, cJSON **out);
/* The provider's references of the org's card (TC_ENOTFOUND without one). */
int store_method_refs(tc_dbconn_t *c, const char *org_id, char *customer, size_t cn, char *method,
                      size_t mn);
/* TC_ENOTFOUND when the org had none. */
int store_method_delete(tc_dbconn_t *c, const char *org_id);

/* ---- usage (store_usage.c) */
typedef struct {
    char metric[64];
    int64_t quantity;
} bill_usage_t;
/* Records a billable fact once (*added false when its id was seen before). */
int store_usage_add(tc_dbconn_t *c, const char *id, const char *org_id, const char *metric,
                    int64_t quantity, const char *occurred_at, const char *source, bool *added);
/* Many facts in one statement: rows [{id, org_id, metric, quantity, occurred_at, source,
 * unique_key?}] (borrowed); ids seen before are skipped (*added: how many were new; may be
 * NULL). */
int store_usage_add_many(tc_dbconn_t *c, const cJSON *rows, int *added);
/* Sets the unique_key of the row store_usage_row added last. */
int store_usage_row_key(cJSON *rows, const char *unique_key);
/* ---- billable metrics (store_usage.c) */
/* Defines a custom metric: *created, or the same definition already there (TC_OK, *created
 * false); TC_ECONFLICT when the code is defined otherwise. *out the metric's JSON. */
int store_metric_define(tc_dbconn_t *c, const char *code, const char *name, const char *agg,
                        cJSON **out, bool *created);
/* The custom metrics' JSON array, by code. */
int store_metrics_list(tc_dbconn_t *c, cJSON **out);
/* {code: aggregation} of every custom metric. */
int store_metric_aggs(tc_dbconn_t *c, cJSON **out);
/* One fact as such a row, added to rows. TC_OK or TC_ENOMEM. */
int store_usage_row(cJSON *rows, const char *id, const char *org_id, const char *metric,
                    int64_t quantity, const char *occurred_at, const char *source);
/* The org's open usage before before_ms, aggregated per metric as its definition says (*out
 * malloc'd, *n rows). */
int store_usage_open(tc_dbconn_t *c, const char *org_id, int64_t before_ms, bill_usage_t **out,
                     int *n);
/* Closes the org's open usage before before_ms under key (its period was invoiced, included,
 * or settled by a plan change) and returns what it closed, aggregated per metric. */
int store_usage_take(tc_dbconn_t *c, const char *org_id, int64_t before_ms, const char *key,
                     bill_usage_t **out, int *n);

/* ---- invoices (store_invoices.c) */
/* A price version's terms: included and metered (owned; cJSON_Delete). */
int store_price_terms(tc_dbconn_t *c, const char *plan_id, int version, cJSON **included,
                      cJSON **metered);
/* The org's open pending items as proration lines (up to cap; *n), marked as taken by
 * invoice_id. */
int store_items_take(tc_dbconn_t *c, const char *org_id, const char *invoice_id, bill_line_t *lines,
                     int cap, int *n);
/* The org's tax: its profile's country and that country's rate (0 and "" when unknown). */
int store_tax_for(tc_dbconn_t *c, const char *org_id, int *rate_bp, char country[3]);
/* A draft invoice with its lines. */
typedef struct {
    char id[BILL_ID_MAX];
    const bill_sub_t *sub;
    int64_t period_start_ms, period_end_ms; /* the period it opens */
    const char *issuer;
    const char *currency;
    const char *country; /* "" unknown */
    int tax_rate_bp;
    bill_totals_t totals;
} bill_invoice_t;
int store_invoice_insert(tc_dbconn_t *c, const bill_invoice_t *inv, const bill_line_t *lines,
                         int n);
/* Takes the next number of kind for issuer ("TC-000001"; the counter row stays locked until
 * the transaction ends, so numbers have no gaps and no repeats). */
int store_number_next(tc_dbconn_t *c, const char *issuer, const char *kind, const char *prefix,
                      char *out, size_t n);
/* One draft created before older_than_ms, locked (SKIP LOCKED), none of skip (a PostgreSQL
 * array literal of ids that failed in this run, "{}" for none); TC_ENOTFOUND when none. */
int store_invoice_draft_due(tc_dbconn_t *c, int64_t older_than_ms, const char *skip, char *id,
                            size_t idn, char *org, size_t orgn, char *issuer, size_t issn,
                            char *currency, bill_totals_t *totals);
/* Sets the number and finalized status, the due date due_in_ms from now and the first dunning
 * step first_step_in_ms from now. */
int store_invoice_finalize(tc_dbconn_t *c, const char *id, const char *number, int64_t due_in_ms,
                           int64_t first_step_in_ms);
/* An invoice locked for a status change: its org, status, currency, totals and what credit
 * notes already took. TC_ENOTFOUND. */
int store_invoice_lock(tc_dbconn_t *c, const char *id, char *org, size_t orgn, char *status,
                       size_t sn, char *currency, bill_totals_t *totals, int64_t *credited);
int store_invoice_set_paid(tc_dbconn_t *c, const char *id, const char *payment_ref);
int store_invoice_set_void(tc_dbconn_t *c, const char *id);
/* Records a credit note (numbered) and adds its amount to the invoice's credited_minor. */
int store_credit_note_add(tc_dbconn_t *c, const char *id, const char *org, const char *invoice_id,
                          const char *number, int64_t amount, const char *currency,
                          const char *reason);
/* The API's views (built by PostgreSQL): an invoice with its lines (org-scoped; TC_ENOTFOUND),
 * the org's invoices newest first (keyset page), its credit notes. */
int store_invoice_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
int store_invoices_list(tc_dbconn_t *c, const char *org_id, const char *after, int limit,
                        cJSON **data, char *next_key, size_t keylen);
int store_credit_notes_list(tc_dbconn_t *c, const char *org_id, cJSON **out);
int store_credit_note_get(tc_dbconn_t *c, const char *id, cJSON **out);

/* ---- ledger (store_ledger.c) */
/* One balanced transaction (the database checks the balance at commit). TC_ECONFLICT when
 * (kind, ref) was posted before. */
int store_ledger_post(tc_dbconn_t *c, const char *org_id, const char *kind, const char *ref,
                      const char *currency, const bill_posting_t *legs, int n);
/* {"accounts": {name: {debits, credits, balance}}, "transactions": [...]} for the org. */
int store_ledger_get(tc_dbconn_t *c, const char *org_id, cJSON **out);

/* ---- billing profiles and tax rates (store_profiles.c) */
int store_profile_get(tc_dbconn_t *c, const char *org_id, cJSON **out);
int store_profile_put(tc_dbconn_t *c, const char *org_id, const char *country, cJSON **out);
int store_tax_rate_put(tc_dbconn_t *c, const char *country, int rate_bp);

#endif
