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
    [BILL_EV_PAYMENT_OVERDUE] = "payment_overdue",
    [BILL_EV_PAYMENT_RECEIVED] = "payment_received",
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

int events_notify(tc_dbconn_t *tx, const char *org_id, const char *user_id, const char *kind,
                  const char *channel, cJSON *params)
{
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    cJSON *d = cJSON_CreateObject(), *to = cJSON_CreateObject();
    bool ok = d && to && cJSON_AddStringToObject(to, "user_id", user_id) &&
              cJSON_AddStringToObject(d, "template", kind) &&
              cJSON_AddStringToObject(d, "channel", channel) &&
              cJSON_AddStringToObject(d, "org_id", org_id) &&
              cJSON_AddStringToObject(d, "occurred_at", now);
    if (ok && cJSON_AddItemToObject(d, "to", to))
        to = NULL;
    else
        ok = false;
    if (ok && cJSON_AddItemToObject(d, "params", params))
        params = NULL;
    else
        ok = false;
    cJSON_Delete(to);
    cJSON_Delete(params);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_emit(tx, TC_EV_NOTIFICATION_REQUESTED, user_id, d);
}
