/*
 * user-events → auth (DESIGN §6), one handler per event type (libcommon's dispatch table),
 * each inside the consumer's transaction with the inbox making redeliveries no-ops:
 *   user.created/updated/deleted  the account read model (newest version wins); a user
 *                                 created as `invited` gets an invitation mail; a user who
 *                                 becomes suspended or deleted loses every session, refresh
 *                                 token and API key they created (access_revoked, and
 *                                 session_revoked for each live session), within the consumer
 *                                 lag; a demotion caps their keys' role
 *   user.purged                   everything auth holds about the user is erased
 *   org.created/updated           the org read model (plan for tokens, name for org_required)
 * and billing-events → auth, in the same consumer:
 *   billing.subscription.*        the org's plan (newest subscription version wins): the
 *                                 plan claim of the org's next tokens, API keys' included;
 *                                 a plan that moved is announced (org_plan_changed) so the
 *                                 gateway's limits follow before the old tokens expire
 */
#include "account_model.h"
#include "auth_app.h"
#include "events_out.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "token_model.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ends every way the user could still act: sessions (and with them refresh tokens) and the
 * API keys they created. The gateway drops revoked keys from its cache on api_key_revoked;
 * access_revoked tells every verifier to refuse the user's outstanding access tokens, and each
 * ended session that can still hold one is named too (exact, also within the same second). */
static int revoke_access(auth_app_t *app, tc_dbconn_t *tx, const char *user_id, const char *org_id)
{
    store_revoked_t *sessions = NULL;
    store_key_ref_t *keys = NULL;
    int nsessions = 0, nkeys = 0;
    int64_t now = 0;
    int rc = store_sessions_revoke_all(tx, user_id, NULL, "account_disabled", &sessions, &nsessions,
                                       &now);
    for (int i = 0; rc == TC_OK && i < nsessions; i++)
        if (session_may_hold_access(&app->sessions, sessions[i].last_seen, now))
            rc = events_session_revoked(tx, sessions[i].id, user_id, org_id, "account_disabled");
    if (rc == TC_OK)
        rc = store_apikeys_revoke_by_creator(tx, user_id, "creator_disabled", &keys, &nkeys);
    for (int i = 0; rc == TC_OK && i < nkeys; i++)
        rc = events_api_key_revoked(tx, keys[i].id, keys[i].org_id, "creator_disabled");
    if (rc == TC_OK)
        rc = events_access_revoked(tx, user_id, org_id, nsessions, nkeys);
    free(sessions);
    free(keys);
    return rc;
}

/* A key never holds more than its creator: a demotion lowers the role of their keys (an API
 * key is at most admin, so only demotions below admin change anything). */
static int cap_keys(tc_dbconn_t *tx, const char *user_id, const char *role)
{
    store_key_ref_t *keys = NULL;
    int n = 0;
    int rc = store_apikeys_cap_role(tx, user_id, role, &keys, &n);
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = events_api_key_updated(tx, keys[i].id, keys[i].org_id, role, "creator_role_changed");
    free(keys);
    return rc;
}

static int invite(auth_app_t *app, tc_dbconn_t *tx, const cJSON *user)
{
    const char *id = tc_json_get_str(user, "id"), *org = tc_json_get_str(user, "org_id");
    char token[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN];
    if (tok_secret("inv", token, hash) != TC_OK)
        return TC_ERROR;
    int rc = store_invitation_insert(tx, hash, id, org, app->invite_ttl_s);
    cJSON *params = rc == TC_OK
                        ? token_link_params(app->app_url, "/invitations/accept", "accept_url",
                                            token, tc_now_ms(), app->invite_ttl_s)
                        : NULL;
    if (rc == TC_OK && !params)
        rc = TC_ENOMEM;
    return rc == TC_OK ? events_notify(tx, "invitation", tc_json_get_str(user, "email"),
                                       tc_json_get_str(user, "name"), id, org, params)
                       : rc;
}

static int on_user_state(auth_app_t *app, tc_dbconn_t *tx, const cJSON *user, bool created)
{
    char prev[16];
    bool applied = false;
    int rc = store_account_apply(app, tx, user, prev, sizeof prev, &applied);
    if (rc != TC_OK || !applied)
        return rc;
    const char *status = tc_json_get_str(user, "status");
    const char *id = tc_json_get_str(user, "id");
    if (account_status_disabled(status) && !account_status_disabled(prev))
        rc = revoke_access(app, tx, id, tc_json_get_str(user, "org_id"));
    else if (!account_status_disabled(status))
        rc = cap_keys(tx, id, tc_json_get_str(user, "role"));
    if (rc == TC_OK && created && strcmp(status, "invited") == 0)
        rc = invite(app, tx, user);
    return rc;
}

static int on_user_created(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    return on_user_state(ud, tx, data, true);
}

static int on_user_changed(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    return on_user_state(ud, tx, data, false);
}

static int on_user_purged(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *id = tc_json_get_str(data, "id");
    return id ? store_account_forget(tx, id) : TC_EINVAL;
}

static int on_org_state(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    return store_org_apply(tx, data);
}

static int on_subscription(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *org = tc_json_get_str(data, "org_id"), *plan = tc_json_get_str(data, "plan");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(data, "version");
    if (!org || !*org || !plan || !*plan || strlen(plan) >= 32 || !cJSON_IsNumber(ver) ||
        ver->valuedouble < 1)
        return TC_EINVAL;
    char previous[32];
    bool changed = false;
    int rc = store_org_plan_apply(tx, org, plan, (int64_t)ver->valuedouble, previous,
                                  sizeof previous, &changed);
    return rc == TC_OK && changed
               ? events_org_plan_changed(tx, org, plan, previous, (int64_t)ver->valuedouble)
               : rc;
}

int auth_consumers(auth_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_USER_CREATED, on_user_created},
        {TC_EV_USER_UPDATED, on_user_changed},
        {TC_EV_USER_DELETED, on_user_changed},
        {TC_EV_USER_PURGED, on_user_purged},
        {TC_EV_ORG_CREATED, on_org_state},
        {TC_EV_ORG_UPDATED, on_org_state},
        {TC_EV_BILLING_SUBSCRIPTION_CREATED, on_subscription},
        {TC_EV_BILLING_SUBSCRIPTION_UPDATED, on_subscription},
        {TC_EV_BILLING_SUBSCRIPTION_CANCELED, on_subscription},
    };
    return tc_service_consume_types(app->svc, NULL, routes, TC_ARRAY_LEN(routes), app);
}
