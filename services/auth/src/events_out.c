/*
 * Events auth emits, through the outbox:
 *   auth-events          com.techcorp.auth.<type>: login_succeeded, login_failed,
 *                        session_revoked, refresh_token_reused, password_changed,
 *                        mfa_enabled, mfa_disabled, api_key_created, api_key_revoked,
 *                        signing_key_rotated
 *   notification-events  com.techcorp.notification.requested (invitation, password reset)
 * Audit records (API keys, key rotation) go through libcommon's tc_audit_record.
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_time(cJSON *d)
{
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    return cJSON_AddStringToObject(d, "occurred_at", now) != NULL;
}

int ev_auth(tc_dbconn_t *tx, const char *type, const char *key, cJSON *data)
{
    char full[96];
    snprintf(full, sizeof full, "com.techcorp.auth.%s", type);
    if (data && !add_time(data)) {
        cJSON_Delete(data);
        return TC_ENOMEM;
    }
    return tc_outbox_emit(tx, "auth-events", full, "/auth", key ? key : "auth", data);
}

int ev_notify(tc_dbconn_t *tx, const char *template_name, const char *email, const char *name,
              const char *user_id, const char *org_id, cJSON *params)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *to = d ? cJSON_AddObjectToObject(d, "to") : NULL;
    int ok = to && cJSON_AddStringToObject(d, "template", template_name) &&
             cJSON_AddStringToObject(d, "channel", "email") &&
             cJSON_AddStringToObject(to, "email", email) && tc_json_add_str(to, "name", name) &&
             cJSON_AddStringToObject(to, "user_id", user_id) &&
             cJSON_AddStringToObject(d, "org_id", org_id) && add_time(d);
    if (ok && params) {
        ok = cJSON_AddItemToObject(d, "params", params);
        if (ok)
            params = NULL;
    }
    cJSON_Delete(params);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_outbox_emit(tx, "notification-events", "com.techcorp.notification.requested", "/auth",
                          user_id, d);
}
