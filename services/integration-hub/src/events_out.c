#include "events_out.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <string.h>

static void now_text(char out[TC_RFC3339_LEN])
{
    tc_time_format(tc_now_ms(), out);
}

int events_webhook_received(tc_dbconn_t *tx, const hub_hook_t *h, const hub_inbound_t *q,
                            cJSON *payload, bool omitted)
{
    char now[TC_RFC3339_LEN];
    now_text(now);
    cJSON *d = cJSON_CreateObject();
    bool ok = d && cJSON_AddStringToObject(d, "org_id", h->org_id) &&
              cJSON_AddStringToObject(d, "hook_id", h->id) &&
              cJSON_AddStringToObject(d, "request_id", q->id) &&
              tc_json_add_str(d, "sender_id", q->sender_id) &&
              cJSON_AddStringToObject(d, "verification", hub_verify_name(h->verification)) &&
              tc_json_add_str(d, "content_type", q->content_type) &&
              tc_json_add_int(d, "body_bytes", (int64_t)q->body_len);
    if (ok) {
        cJSON *p = payload ? payload : cJSON_CreateNull();
        payload = NULL;
        ok = p && cJSON_AddItemToObject(d, "payload", p);
        if (!ok)
            cJSON_Delete(p);
    }
    ok = ok && cJSON_AddBoolToObject(d, "payload_omitted", omitted) &&
         cJSON_AddStringToObject(d, "received_at", now);
    cJSON_Delete(payload);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    char source[96];
    snprintf(source, sizeof source, "/hooks/%s", h->id);
    /* the request is the subject; the hook keys the partition, so one hook's requests stay
     * in order for the workflows it triggers */
    return tc_emit_at(tx, TC_EV_INTEGRATION_WEBHOOK_RECEIVED, source, q->id, h->id, d);
}

int events_delivery_failed(tc_dbconn_t *tx, const hub_job_t *j, const hub_outcome_t *o)
{
    char now[TC_RFC3339_LEN];
    now_text(now);
    cJSON *d = cJSON_CreateObject();
    bool ok = d && cJSON_AddStringToObject(d, "org_id", j->org_id) &&
              cJSON_AddStringToObject(d, "endpoint_id", j->endpoint_id) &&
              cJSON_AddStringToObject(d, "message_id", j->message_id) &&
              cJSON_AddStringToObject(d, "event_id", j->event_id) &&
              cJSON_AddStringToObject(d, "event_type", j->event_type) &&
              tc_json_add_int(d, "attempts", j->attempt) &&
              (o->status_code > 0 ? tc_json_add_int(d, "last_status_code", o->status_code) != NULL
                                  : cJSON_AddNullToObject(d, "last_status_code") != NULL) &&
              tc_json_add_str(d, "last_error", o->error) &&
              cJSON_AddStringToObject(d, "failed_at", now);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_emit(tx, TC_EV_INTEGRATION_DELIVERY_FAILED, j->endpoint_id, d);
}

/* com.techcorp.notification.requested to the endpoint's creator, in the app: a plain message
 * (params.title/body, which notification renders without an org template) in the transaction
 * that disables it, so the person hears of it exactly when it happened. */
static int notify_disabled(tc_dbconn_t *tx, const char *endpoint_id, const cJSON *ep,
                           const char *reason, const char *now)
{
    const char *user = tc_json_get_str(ep, "created_by");
    const char *url = tc_json_get_str(ep, "url");
    char body[1024];
    snprintf(body, sizeof body,
             "Webhook deliveries to %.500s have failed since %s (%.200s), so the endpoint was "
             "disabled. Fix the receiver, re-enable the endpoint and recover its failed "
             "deliveries.",
             url ? url : endpoint_id, tc_json_get_str(ep, "failing_since"), reason);
    cJSON *d = cJSON_CreateObject();
    cJSON *to = cJSON_CreateObject();
    cJSON *params = cJSON_CreateObject();
    bool ok = d && to && params && cJSON_AddStringToObject(to, "user_id", user) &&
              cJSON_AddStringToObject(params, "title", "A webhook endpoint was disabled") &&
              cJSON_AddStringToObject(params, "body", body) &&
              cJSON_AddStringToObject(params, "endpoint_id", endpoint_id) &&
              cJSON_AddStringToObject(d, "template", "integration_endpoint_disabled") &&
              cJSON_AddStringToObject(d, "channel", "in_app");
    if (ok) {
        ok = cJSON_AddItemToObject(d, "to", to);
        to = ok ? NULL : to;
    }
    ok = ok && tc_json_add_str(d, "org_id", tc_json_get_str(ep, "org_id")) &&
         cJSON_AddStringToObject(d, "occurred_at", now);
    if (ok) {
        ok = cJSON_AddItemToObject(d, "params", params);
        params = ok ? NULL : params;
    }
    cJSON_Delete(to);
    cJSON_Delete(params);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_emit(tx, TC_EV_NOTIFICATION_REQUESTED, user, d);
}

int events_endpoint_disabled(tc_dbconn_t *tx, const char *endpoint_id, const cJSON *ep,
                             const char *reason)
{
    char now[TC_RFC3339_LEN];
    now_text(now);
    cJSON *d = cJSON_CreateObject();
    bool ok = d && tc_json_add_str(d, "org_id", tc_json_get_str(ep, "org_id")) &&
              cJSON_AddStringToObject(d, "endpoint_id", endpoint_id) &&
              tc_json_add_str(d, "url", tc_json_get_str(ep, "url")) &&
              cJSON_AddStringToObject(d, "reason", reason) &&
              tc_json_add_str(d, "failing_since", tc_json_get_str(ep, "failing_since")) &&
              cJSON_AddStringToObject(d, "disabled_at", now);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    int rc = tc_emit(tx, TC_EV_INTEGRATION_ENDPOINT_DISABLED, endpoint_id, d);
    const char *creator = tc_json_get_str(ep, "created_by");
    return rc == TC_OK && creator ? notify_disabled(tx, endpoint_id, ep, reason, now) : rc;
}

int events_connection(tc_dbconn_t *tx, const tc_event_type_t *type, const char *org_id,
                      const cJSON *conn, const char *actor_id)
{
    char now[TC_RFC3339_LEN];
    now_text(now);
    const char *id = tc_json_get_str(conn, "id");
    const cJSON *revision = cJSON_GetObjectItemCaseSensitive(conn, "revision");
    if (!cJSON_IsNumber(revision))
        return TC_EINVAL;
    cJSON *d = cJSON_CreateObject();
    bool ok = d && tc_json_add_str(d, "connection_id", id) &&
              cJSON_AddStringToObject(d, "org_id", org_id) &&
              tc_json_add_str(d, "connector", tc_json_get_str(conn, "connector")) &&
              tc_json_add_str(d, "name", tc_json_get_str(conn, "name")) &&
              tc_json_add_str(d, "status", tc_json_get_str(conn, "status")) &&
              (type != TC_EV_INTEGRATION_CONNECTION_UPDATED ||
               tc_json_add_str(d, "status_reason", tc_json_get_str(conn, "status_reason"))) &&
              tc_json_add_str(d, "actor_id", actor_id) &&
              tc_json_add_str(d, "updated_at", tc_json_get_str(conn, "updated_at")) &&
              cJSON_AddNumberToObject(d, "revision", revision->valuedouble) &&
              cJSON_AddStringToObject(d, "occurred_at", now);
    if (!ok || !id) {
        cJSON_Delete(d);
        return ok ? TC_EINVAL : TC_ENOMEM;
    }
    return tc_emit(tx, type, id, d);
}
