/* Subscription events: the org's plan travels to auth (and from it to the gateway's limits)
 * from these, in the order of the org's changes (key = org id). */
#include "events_out.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <stdio.h>

static const char *const reasons[] = {
    [BILL_EV_CREATED] = "created",
    [BILL_EV_PLAN_CHANGED] = "plan_changed",
    [BILL_EV_TRIAL_STARTED] = "trial_started",
    [BILL_EV_TRIAL_ENDED] = "trial_ended",
    [BILL_EV_RENEWED] = "renewed",
    [BILL_EV_CANCEL_SCHEDULED] = "cancel_scheduled",
    [BILL_EV_CANCEL_WITHDRAWN] = "cancel_withdrawn",
    [BILL_EV_CANCELED] = "canceled",
};

int events_subscription(tc_dbconn_t *tx, const bill_sub_t *s, bill_ev_reason_t why,
                        const char *previous_plan)
{
    const tc_event_type_t *type = why == BILL_EV_CREATED    ? TC_EV_BILLING_SUBSCRIPTION_CREATED
                                  : why == BILL_EV_CANCELED ? TC_EV_BILLING_SUBSCRIPTION_CANCELED
                                                            : TC_EV_BILLING_SUBSCRIPTION_UPDATED;
    char now[TC_RFC3339_LEN], source[64];
    tc_time_format(tc_now_ms(), now);
    snprintf(source, sizeof source, "/subscriptions/%s", s->id);
    cJSON *data = bill_sub_json(s);
    if (data && (!tc_json_add_str(data, "previous_plan", previous_plan) ||
                 !cJSON_AddStringToObject(data, "reason", reasons[why]) ||
                 !cJSON_AddStringToObject(data, "occurred_at", now))) {
        cJSON_Delete(data);
        data = NULL;
    }
    return tc_emit_at(tx, type, source, s->id, s->org_id, data);
}
