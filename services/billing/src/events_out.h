/* events_out.h: the events billing emits (through the outbox, in the caller's transaction). */
#ifndef BILLING_EVENTS_OUT_H
#define BILLING_EVENTS_OUT_H

#include "billing_model.h"
#include "tc/tc_db.h"

/* What a subscription event says happened (its data's "reason"). */
typedef enum {
    BILL_EV_CREATED = 0,
    BILL_EV_PLAN_CHANGED,
    BILL_EV_TRIAL_STARTED,
    BILL_EV_TRIAL_ENDED,
    BILL_EV_RENEWED,
    BILL_EV_CANCEL_SCHEDULED,
    BILL_EV_CANCEL_WITHDRAWN,
    BILL_EV_CANCELED,
    BILL_EV_PAYMENT_OVERDUE,  /* dunning held the plan at free: an invoice's grace ended */
    BILL_EV_PAYMENT_RECEIVED, /* what was overdue was settled: the held plan is back */
} bill_ev_reason_t;

/* com.techcorp.billing.subscription.{created,updated,canceled} (by reason) on billing-events,
 * keyed by the org: the subscription's state after the change, with the plan before it
 * (previous_plan, NULL when the plan did not change). */
int events_subscription(tc_dbconn_t *tx, const bill_sub_t *s, bill_ev_reason_t why,
                        const char *previous_plan);

/* com.techcorp.notification.requested on notification-events (key = the user): a message of
 * kind to one of the org's people by id (notification resolves the address and name from its
 * user-events read model), rendered from the org's template of that kind or, without one, from
 * params.title and params.body. params is taken over (deleted on failure too). */
int events_notify(tc_dbconn_t *tx, const char *org_id, const char *user_id, const char *kind,
                  const char *channel, cJSON *params);

#endif
