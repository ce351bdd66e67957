/*
 * user-events → auth (DESIGN §6):
 *   user.created/updated/deleted  the account read model (newest version wins); a user
 *                                 created as `invited` gets an invitation mail; a user who
 *                                 becomes suspended or deleted loses every session, refresh
 *                                 token and API key they created, within the consumer lag
 *   user.purged                   everything auth holds about the user is erased
 *   org.created/updated           the org read model (plan, for access tokens)
 * Runs inside the consumer's transaction, with the inbox making redeliveries no-ops.
 */
#include "auth_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int disabled(const char *status)
{
    return strcmp(status, "suspended") == 0 || strcmp(status, "deleted") == 0;
}

/* Ends every way the user could still act: sessions (and with them refresh tokens) and the
 * API keys they created. The gateway drops revoked keys from its cache on api_key_revoked. */
static int revoke_access(tc_dbconn_t *tx, const char *user_id, const char *org_id)
{
    int sessions = 0;
    PGresult *r = NULL;
    int rc = session_revoke_all(tx, user_id, NULL, "account_disabled", &sessions);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "apikeys_revoke_creator",
                      "UPDATE api_keys SET revoked_at=now(), revoke_reason='creator_disabled'"
                      " WHERE created_by=$1 AND revoked_at IS NULL RETURNING id, org_id",
                      user_id);
    for (int i = 0; rc == TC_OK && i < PQntuples(r); i++) {
        cJSON *d = cJSON_CreateObject();
        if (d && (!cJSON_AddStringToObject(d, "key_id", tc_db_val(r, i, 0)) ||
                  !cJSON_AddStringToObject(d, "org_id", tc_db_val(r, i, 1)) ||
                  !cJSON_AddStringToObject(d, "reason", "creator_disabled"))) {
            cJSON_Delete(d);
            d = NULL;
        }
        rc = ev_auth(tx, "api_key_revoked", tc_db_val(r, i, 0), d);
    }
    int keys = r ? PQntuples(r) : 0;
    PQclear(r);
    if (rc == TC_OK) {
        cJSON *d = cJSON_CreateObject();
        if (d && (!cJSON_AddStringToObject(d, "user_id", user_id) ||
                  !cJSON_AddStringToObject(d, "org_id", org_id) ||
                  !tc_json_add_int(d, "sessions_revoked", sessions) ||
                  !tc_json_add_int(d, "api_keys_revoked", keys))) {
            cJSON_Delete(d);
            d = NULL;
        }
        rc = ev_auth(tx, "access_revoked", user_id, d);
    }
    return rc;
}

/* A key never holds more than its creator: a demotion lowers the role of their keys (an API
 * key is at most admin, so only demotions below admin change anything). The gateway drops
 * its cached introspection on api_key_updated. */
static int cap_keys(tc_dbconn_t *tx, const char *user_id, const char *role)
{
#define RANK(x)                                                                                    \
    "(CASE " x " WHEN 'viewer' THEN 1 WHEN 'editor' THEN 2 WHEN 'admin' THEN 3 ELSE 4 END)"
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "apikeys_cap_role",
                      "UPDATE api_keys SET role=$2 WHERE created_by=$1 AND revoked_at IS NULL"
                      " AND " RANK("role") " > " RANK("$2::text") " RETURNING id, org_id",
                      user_id, role);
#undef RANK
    for (int i = 0; rc == TC_OK && i < PQntuples(r); i++) {
        cJSON *d = cJSON_CreateObject();
        if (d && (!cJSON_AddStringToObject(d, "key_id", tc_db_val(r, i, 0)) ||
                  !cJSON_AddStringToObject(d, "org_id", tc_db_val(r, i, 1)) ||
                  !cJSON_AddStringToObject(d, "role", role) ||
                  !cJSON_AddStringToObject(d, "reason", "creator_role_changed"))) {
            cJSON_Delete(d);
            d = NULL;
        }
        rc = ev_auth(tx, "api_key_updated", tc_db_val(r, i, 0), d);
    }
    PQclear(r);
    return rc;
}

static int invite(auth_app_t *app, tc_dbconn_t *tx, const cJSON *user)
{
    const char *id = tc_json_get_str(user, "id"), *org = tc_json_get_str(user, "org_id");
    char token[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN], ttl[16], url[512];
    char expires[TC_RFC3339_LEN];
    if (tok_secret("inv", token, hash) != TC_OK)
        return TC_ERROR;
    snprintf(ttl, sizeof ttl, "%d", app->invite_ttl_s);
    int rc = tc_db_qp(tx, NULL, "invite_insert",
                      "INSERT INTO invitations (token_hash, user_id, org_id, expires_at)"
                      " VALUES ($1,$2,$3, now() + make_interval(secs => $4::int))",
                      hash, id, org, ttl);
    if (rc != TC_OK)
        return rc;
    snprintf(url, sizeof url, "%s/invitations/accept?token=%s", app->app_url, token);
    tc_time_format(tc_now_ms() + (int64_t)app->invite_ttl_s * 1000, expires);
    cJSON *params = cJSON_CreateObject();
    if (!params || !cJSON_AddStringToObject(params, "accept_url", url) ||
        !cJSON_AddStringToObject(params, "token", token) ||
        !cJSON_AddStringToObject(params, "expires_at", expires)) {
        cJSON_Delete(params);
        return TC_ENOMEM;
    }
    return ev_notify(tx, "invitation", tc_json_get_str(user, "email"),
                     tc_json_get_str(user, "name"), id, org, params);
}

static int on_user_state(auth_app_t *app, tc_dbconn_t *tx, const char *type, const cJSON *user)
{
    char prev[16];
    int applied = 0;
    int rc = acct_apply(app, tx, user, prev, sizeof prev, &applied);
    if (rc != TC_OK || !applied)
        return rc;
    const char *status = tc_json_get_str(user, "status");
    if (disabled(status) && !(prev[0] && disabled(prev)))
        rc = revoke_access(tx, tc_json_get_str(user, "id"), tc_json_get_str(user, "org_id"));
    else if (!disabled(status))
        rc = cap_keys(tx, tc_json_get_str(user, "id"), tc_json_get_str(user, "role"));
    if (rc == TC_OK && strcmp(type, "com.techcorp.user.created") == 0 &&
        strcmp(status, "invited") == 0)
        rc = invite(app, tx, user);
    return rc;
}

static int on_user_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(topic);
    auth_app_t *app = ud;
    cJSON *data = cJSON_Parse(ev->data);
    if (!data)
        return TC_EINVAL; /* not JSON: a poison event, dead-lettered */
    int rc = TC_OK;
    if (strcmp(ev->type, "com.techcorp.user.created") == 0 ||
        strcmp(ev->type, "com.techcorp.user.updated") == 0 ||
        strcmp(ev->type, "com.techcorp.user.deleted") == 0) {
        rc = on_user_state(app, tx, ev->type, data);
    } else if (strcmp(ev->type, "com.techcorp.user.purged") == 0) {
        const char *id = tc_json_get_str(data, "id");
        rc = id ? acct_forget(tx, id) : TC_EINVAL;
    } else if (strcmp(ev->type, "com.techcorp.org.created") == 0 ||
               strcmp(ev->type, "com.techcorp.org.updated") == 0) {
        rc = org_apply(tx, data);
    }
    cJSON_Delete(data);
    return rc;
}

int auth_consumers(auth_app_t *app)
{
    static const char *const topics[] = {"user-events", NULL};
    return tc_service_consume(app->svc, NULL, topics, on_user_event, app);
}
