/*
 * store.h: all of billing's SQL (PostgreSQL), parameterised only, each function inside the
 * caller's transaction. Times cross this boundary as Unix epoch milliseconds.
 */
#ifndef BILLING_STORE_H
#define BILLING_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "billing_model.h"
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
/* Restarts the periods at anchor_ms (a trial's end): period 0 is [anchor, anchor + 1 month).
 * Refreshes s. */
int store_sub_reanchor(tc_dbconn_t *c, bill_sub_t *s, int64_t anchor_ms);
/* Moves to the next period and to the newest effective price of its plan. Refreshes s. */
int store_sub_next_period(tc_dbconn_t *c, bill_sub_t *s);
/* One subscription whose period or trial has ended (locked, SKIP LOCKED so replicas share
 * the work); TC_ENOTFOUND when none is due. */
int store_sub_due(tc_dbconn_t *c, bill_sub_t *out);

/* ---- pending items (store_subscriptions.c) */
int store_item_add(tc_dbconn_t *c, const bill_sub_t *s, const bill_item_t *it, char *id_out,
                   size_t n);
/* The org's items not yet invoiced, oldest first: a JSON array. */
int store_items_pending(tc_dbconn_t *c, const char *org_id, cJSON **out);

#endif
