#include "events_out.h"

#include <string.h>
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

static cJSON *outcome_data(bool delivered, const outcome_event_t *e)
{
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    cJSON *d = cJSON_CreateObject();
    bool ok = d && cJSON_AddStringToObject(d, "delivery_id", e->delivery_id) &&
              cJSON_AddStringToObject(d, "request_id", e->request_id) &&
              cJSON_AddStringToObject(d, "org_id", e->org_id) &&
              cJSON_AddStringToObject(d, "recipient_id", e->recipient_id) &&
              cJSON_AddStringToObject(d, "channel", e->channel) &&
              cJSON_AddStringToObject(d, "template", e->kind) &&
              tc_json_add_int(d, "attempts", e->attempts) &&
              cJSON_AddStringToObject(d, "occurred_at", now);
    /* email: its Message-ID; sms: the provider's message sid (what its support asks for) */
    bool sms = strcmp(e->channel, "sms") == 0;
    if (ok && e->message_id)
        ok = cJSON_AddStringToObject(d, sms ? "provider_message_id" : "message_id",
                                     e->message_id) != NULL;
    if (ok && !delivered)
        ok = cJSON_AddStringToObject(d, "reason", e->reason ? e->reason : "unknown") != NULL;
    if (!ok) {
        cJSON_Delete(d);
        d = NULL;
    }
    return d;
}

int events_outcome(tc_dbconn_t *tx, bool delivered, const outcome_event_t *e)
{
    return tc_emit(tx, delivered ? TC_EV_NOTIFICATION_DELIVERED : TC_EV_NOTIFICATION_FAILED,
                   e->delivery_id, outcome_data(delivered, e));
}

int events_outcome_batch(tc_emit_batch_t *b, bool delivered, const outcome_event_t *e)
{
    return tc_emit_batch_add(b,
                             delivered ? TC_EV_NOTIFICATION_DELIVERED : TC_EV_NOTIFICATION_FAILED,
                             e->delivery_id, outcome_data(delivered, e));
}
