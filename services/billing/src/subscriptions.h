/*
 * subscriptions.h: writing a decided change of a subscription, for the owner's API
 * (handlers_subscription.c) and for dunning's holds (dunning.c) alike.
 */
#ifndef BILLING_SUBSCRIPTIONS_H
#define BILLING_SUBSCRIPTIONS_H

#include "billing_model.h"
#include "events_out.h"
#include "tc/tc_auth.h"
#include "tc/tc_db.h"

/* Writes what a change of s (locked; `before` as it was) decided, in the caller's
 * transaction: the usage so far settled under the price it happened on (when the price
 * changes), the subscription, its items, its event (reason why) and its audit record by
 * actor. */
int sub_persist(tc_dbconn_t *tx, const tc_principal_t *actor, bill_sub_t *s,
                const bill_sub_t *before, const bill_outcome_t *o, bill_ev_reason_t why);

#endif
