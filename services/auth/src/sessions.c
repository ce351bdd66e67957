/*
 * Sessions (DESIGN §6) in the store: the limit of concurrent sessions, refresh-token rotation
 * with reuse detection, and revocations — each one that can leave a valid access token behind
 * announced on auth-events, so verifiers refuse that token within seconds.
 */
#include "sessions.h"
#include "events_out.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_json.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVICT 8

void grant_clear(session_grant_t *g)
{
    free(g->access);
    memset(g, 0, sizeof *g);
}

cJSON *session_grant_json(const auth_app_t *app, const session_grant_t *g)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "access_token", g->access) ||
        !cJSON_AddStringToObject(j, "token_type", "Bearer") ||
        !tc_json_add_int(j, "expires_in", app->sessions.access_ttl_s) ||
        !cJSON_AddStringToObject(j, "refresh_token", g->refresh) ||
        !tc_json_add_int(j, "refresh_expires_in", app->sessions.refresh_ttl_s) ||
        !cJSON_AddStringToObject(j, "session_id", g->sid)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int issue_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *sid, char *out)
{
    char hash[TC_SHA256_HEX_LEN];
    if (tok_secret("rt", out, hash) != TC_OK)
        return TC_ERROR;
    return store_refresh_insert(tx, hash, sid, app->sessions.refresh_ttl_s);
}

static int issue_access(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *sid,
                        const char *amr, char **access)
{
    char plan[32];
    int rc = store_org_plan(tx, acc->org_id, plan, sizeof plan);
    return rc == TC_OK ? tok_access(app, acc, plan, sid, amr, access) : rc;
}

/* Makes room for one more session: the user's logins are serialised on their account row,
 * so two cannot both see room. */
static int enforce_limit(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc)
{
    session_view_t *sessions = NULL;
    int n = 0;
    size_t evict[MAX_EVICT];
    int64_t now = 0;
    int rc = store_account_lock(tx, acc->user_id);
    if (rc == TC_OK)
        rc = store_sessions_unrevoked(tx, acc->user_id, &sessions, &n, &now);
    size_t k = rc == TC_OK ? session_choose_evictions(&app->sessions, sessions, (size_t)n, now,
                                                      evict, MAX_EVICT)
                           : 0;
    for (size_t i = 0; rc == TC_OK && i < k; i++)
        rc = session_end(tx, sessions[evict[i]].id, acc->user_id, acc->org_id, "session_limit");
    free(sessions);
    return rc;
}

int session_start(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, session_proof_t proof,
                  const char *ip, const char *user_agent, session_grant_t *out)
{
    bool mfa = proof == PROOF_PASSWORD_OTP;
    memset(out, 0, sizeof *out);
    if (tc_id_new("ses", out->sid, sizeof out->sid) != TC_OK)
        return TC_ERROR;
    snprintf(out->user_id, sizeof out->user_id, "%s", acc->user_id);
    int rc = enforce_limit(app, tx, acc);
    if (rc == TC_OK)
        rc = store_session_insert(tx, out->sid, acc->user_id, acc->org_id, mfa, session_amr(proof),
                                  ip, user_agent);
    if (rc == TC_OK)
        rc = events_login_succeeded(tx, acc, out->sid, ip, mfa, session_amr(proof));
    if (rc == TC_OK)
        rc = issue_refresh(app, tx, out->sid, out->refresh);
    if (rc == TC_OK)
        rc = issue_access(app, tx, acc, out->sid, session_amr(proof), &out->access);
    return rc;
}

int session_refresh(auth_app_t *app, tc_dbconn_t *tx, const char *refresh, session_grant_t *out,
                    refresh_verdict_t *verdict)
{
    char hash[TC_SHA256_HEX_LEN];
    store_refresh_t rt;
    account_t acc = {0};
    memset(out, 0, sizeof *out);
    *verdict = REFRESH_REVOKED;
    tok_hash(refresh, hash);
    int rc = store_refresh_lookup(tx, hash, &rt);
    if (rc == TC_ENOTFOUND)
        return TC_EDENIED;
    if (rc != TC_OK)
        return rc;
    snprintf(out->sid, sizeof out->sid, "%s", rt.sid);
    snprintf(out->user_id, sizeof out->user_id, "%s", rt.user_id);
    rc = store_account_get(app, tx, rt.user_id, false, &acc);
    if (rc != TC_OK && rc != TC_ENOTFOUND)
        return rc;
    rt.state.account_active = rc == TC_OK && strcmp(acc.status, "active") == 0;
    *verdict = refresh_decide(&app->sessions, &rt.state, rt.now);
    rc = TC_OK;
    if (*verdict == REFRESH_OK) {
        rc = store_refresh_use(tx, hash, rt.sid);
        if (rc == TC_OK)
            rc = issue_refresh(app, tx, rt.sid, out->refresh);
        if (rc == TC_OK)
            rc = issue_access(app, tx, &acc, rt.sid, rt.amr, &out->access);
        account_clear(&acc);
        return rc;
    }
    account_clear(&acc);
    if (refresh_revokes_session(*verdict, &rt.state)) {
        /* a reused token ends a family whose access tokens are live: announced; the other
         * refusals end sessions past their limits, whose tokens expire on their own */
        rc = *verdict == REFRESH_REUSED
                 ? session_end(tx, rt.sid, rt.user_id, rt.org_id, refresh_reason(*verdict))
                 : store_session_revoke(tx, rt.sid, rt.user_id, refresh_reason(*verdict));
        if (rc == TC_ENOTFOUND)
            rc = TC_OK;
    }
    if (rc == TC_OK && refresh_reports_reuse(*verdict, &rt.state))
        rc = events_refresh_token_reused(tx, rt.sid, rt.user_id, rt.org_id);
    return rc == TC_OK ? TC_EDENIED : rc;
}

int session_end(tc_dbconn_t *tx, const char *sid, const char *user_id, const char *org_id,
                const char *reason)
{
    int rc = store_session_revoke(tx, sid, user_id, reason);
    if (rc == TC_OK)
        rc = events_session_revoked(tx, sid, user_id, org_id, reason);
    return rc;
}

int session_end_all(auth_app_t *app, tc_dbconn_t *tx, const char *user_id, const char *org_id,
                    const char *keep, const char *reason, int *count)
{
    store_revoked_t *ended = NULL;
    int n = 0;
    int64_t now = 0;
    int rc = store_sessions_revoke_all(tx, user_id, keep, reason, &ended, &n, &now);
    /* each ended session that can still hold a valid access token by its sid (exact, also for
     * a token issued in the same second), then — when every session ended — the user's
     * "all", which also covers tokens issued before it */
    for (int i = 0; rc == TC_OK && i < n; i++)
        if (session_may_hold_access(&app->sessions, ended[i].last_seen, now))
            rc = events_session_revoked(tx, ended[i].id, user_id, org_id, reason);
    if (rc == TC_OK && n > 0 && !keep)
        rc = events_session_revoked(tx, "all", user_id, org_id, reason);
    free(ended);
    if (count)
        *count = n;
    return rc;
}
