/* The events auth emits (events_out.h). */
#include "events_out.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <stdio.h>

/* Adds occurred_at to d; NULL (and d deleted) when it cannot be built. */
static cJSON *stamped(cJSON *d)
{
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    if (d && !cJSON_AddStringToObject(d, "occurred_at", now)) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

/* The /sessions/<sid> source of events about one session, keyed by its user. */
static int emit_for_session(tc_dbconn_t *tx, const tc_event_type_t *type, const char *sid,
                            const char *user_id, cJSON *d)
{
    char source[128];
    snprintf(source, sizeof source, "/sessions/%s", sid);
    return tc_emit_at(tx, type, source, NULL, user_id, stamped(d));
}

static cJSON *login_data(const account_t *acc, const char *sid, const char *ip, const char *reason,
                         bool mfa)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!tc_json_add_str(d, "user_id", acc ? acc->user_id : NULL) ||
              !tc_json_add_str(d, "org_id", acc ? acc->org_id : NULL) ||
              !tc_json_add_str(d, "session_id", sid) || !tc_json_add_str(d, "ip", ip) ||
              !tc_json_add_str(d, "reason", reason) || !cJSON_AddBoolToObject(d, "mfa", mfa))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return d;
}

int events_login_succeeded(tc_dbconn_t *tx, const account_t *acc, const char *sid, const char *ip,
                           bool mfa, const char *amr)
{
    cJSON *d = login_data(acc, sid, ip, NULL, mfa);
    if (d && !cJSON_AddStringToObject(d, "amr", amr)) {
        cJSON_Delete(d);
        d = NULL;
    }
    return emit_for_session(tx, TC_EV_AUTH_LOGIN_SUCCEEDED, sid, acc->user_id, d);
}

int events_sso_login_succeeded(tc_dbconn_t *tx, const account_t *acc, const char *sid,
                               const char *connection_id, const char *subject, const char *ip)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "user_id", acc->user_id) ||
              !cJSON_AddStringToObject(d, "org_id", acc->org_id) ||
              !cJSON_AddStringToObject(d, "session_id", sid) ||
              !cJSON_AddStringToObject(d, "connection_id", connection_id) ||
              !cJSON_AddStringToObject(d, "subject", subject) || !tc_json_add_str(d, "ip", ip))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return emit_for_session(tx, TC_EV_AUTH_SSO_LOGIN_SUCCEEDED, sid, acc->user_id, d);
}

int events_sso_login_failed(tc_dbconn_t *tx, const char *org_id, const char *connection_id,
                            const char *reason, const char *subject, const char *ip)
{
    char source[128];
    snprintf(source, sizeof source, "/sso-connections/%s", connection_id);
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "org_id", org_id) ||
              !cJSON_AddStringToObject(d, "connection_id", connection_id) ||
              !cJSON_AddStringToObject(d, "reason", reason) ||
              !tc_json_add_str(d, "subject", subject) || !tc_json_add_str(d, "ip", ip))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit_at(tx, TC_EV_AUTH_SSO_LOGIN_FAILED, source, NULL, org_id, stamped(d));
}

int events_login_failed(tc_dbconn_t *tx, const account_t *acc, const char *ip, const char *reason,
                        bool mfa)
{
    return tc_emit(tx, TC_EV_AUTH_LOGIN_FAILED, acc ? acc->user_id : "anonymous",
                   stamped(login_data(acc, NULL, ip, reason, mfa)));
}

static cJSON *session_data(const char *sid, const char *user_id, const char *org_id,
                           const char *reason)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "session_id", sid) ||
              !cJSON_AddStringToObject(d, "user_id", user_id) ||
              !cJSON_AddStringToObject(d, "org_id", org_id) ||
              !cJSON_AddStringToObject(d, "reason", reason))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return d;
}

int events_session_revoked(tc_dbconn_t *tx, const char *sid, const char *user_id,
                           const char *org_id, const char *reason)
{
    return tc_emit(tx, TC_EV_AUTH_SESSION_REVOKED, user_id,
                   stamped(session_data(sid, user_id, org_id, reason)));
}

int events_refresh_token_reused(tc_dbconn_t *tx, const char *sid, const char *user_id,
                                const char *org_id)
{
    cJSON *d = session_data(sid, user_id, org_id, "refresh_token_reuse");
    return emit_for_session(tx, TC_EV_AUTH_REFRESH_TOKEN_REUSED, sid, user_id, d);
}

int events_access_revoked(tc_dbconn_t *tx, const char *user_id, const char *org_id, int sessions,
                          int api_keys)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "user_id", user_id) ||
              !cJSON_AddStringToObject(d, "org_id", org_id) ||
              !tc_json_add_int(d, "sessions_revoked", sessions) ||
              !tc_json_add_int(d, "api_keys_revoked", api_keys))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_AUTH_ACCESS_REVOKED, user_id, stamped(d));
}

int events_password_changed(tc_dbconn_t *tx, const account_t *acc, const char *method,
                            int sessions_revoked)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "user_id", acc->user_id) ||
              !cJSON_AddStringToObject(d, "org_id", acc->org_id) ||
              !cJSON_AddStringToObject(d, "method", method) ||
              !tc_json_add_int(d, "sessions_revoked", sessions_revoked))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_AUTH_PASSWORD_CHANGED, acc->user_id, stamped(d));
}

int events_mfa(tc_dbconn_t *tx, const tc_event_type_t *type, const account_t *acc)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "user_id", acc->user_id) ||
              !cJSON_AddStringToObject(d, "org_id", acc->org_id) ||
              !cJSON_AddStringToObject(d, "method", "totp"))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, type, acc->user_id, stamped(d));
}

int events_api_key_created(tc_dbconn_t *tx, const cJSON *key, const char *org_id)
{
    cJSON *d = cJSON_Duplicate(key, 1);
    if (d && !cJSON_AddStringToObject(d, "org_id", org_id)) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_AUTH_API_KEY_CREATED, tc_json_get_str(key, "id"), stamped(d));
}

static cJSON *key_data(const char *key_id, const char *org_id, const char *role, const char *reason)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "key_id", key_id) ||
              !cJSON_AddStringToObject(d, "org_id", org_id) ||
              (role && !cJSON_AddStringToObject(d, "role", role)) ||
              !cJSON_AddStringToObject(d, "reason", reason))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return d;
}

int events_api_key_revoked(tc_dbconn_t *tx, const char *key_id, const char *org_id,
                           const char *reason)
{
    return tc_emit(tx, TC_EV_AUTH_API_KEY_REVOKED, key_id,
                   stamped(key_data(key_id, org_id, NULL, reason)));
}

int events_api_key_updated(tc_dbconn_t *tx, const char *key_id, const char *org_id,
                           const char *role, const char *reason)
{
    return tc_emit(tx, TC_EV_AUTH_API_KEY_UPDATED, key_id,
                   stamped(key_data(key_id, org_id, role, reason)));
}

int events_org_plan_changed(tc_dbconn_t *tx, const char *org_id, const char *plan,
                            const char *previous_plan, int64_t plan_version)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "org_id", org_id) ||
              !cJSON_AddStringToObject(d, "plan", plan) ||
              !cJSON_AddStringToObject(d, "previous_plan", previous_plan) ||
              !tc_json_add_int(d, "plan_version", plan_version))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_AUTH_ORG_PLAN_CHANGED, org_id, stamped(d));
}

int events_signing_key_rotated(tc_dbconn_t *tx, const char *kid, const char *reason)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "current_kid", kid) ||
              !cJSON_AddStringToObject(d, "reason", reason))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_AUTH_SIGNING_KEY_ROTATED, kid, stamped(d));
}

int events_notify(tc_dbconn_t *tx, const char *template_name, const char *email, const char *name,
                  const char *user_id, const char *org_id, cJSON *params)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *to = d ? cJSON_AddObjectToObject(d, "to") : NULL;
    bool ok = to && cJSON_AddStringToObject(d, "template", template_name) &&
              cJSON_AddStringToObject(d, "channel", "email") &&
              cJSON_AddStringToObject(to, "email", email) && tc_json_add_str(to, "name", name) &&
              cJSON_AddStringToObject(to, "user_id", user_id) &&
              cJSON_AddStringToObject(d, "org_id", org_id);
    if (ok && params) {
        ok = cJSON_AddItemToObject(d, "params", params);
        if (ok)
            params = NULL;
    }
    cJSON_Delete(params);
    if (!ok) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_NOTIFICATION_REQUESTED, user_id, stamped(d));
}

int events_audit(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                 const char *action, const char *target_type, const char *target_id,
                 const cJSON *before, const cJSON *after)
{
    return tc_audit_record(tx, actor, org_id, action, target_type, target_id, before, after);
}
