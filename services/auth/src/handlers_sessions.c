/* Refresh-token rotation, logout, and a user's view of their own sessions. */
#include "auth_handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <string.h>

static int revoked_event(tc_dbconn_t *tx, const char *type, const char *sid, const char *user_id,
                         const char *reason)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "session_id", sid) ||
              !tc_json_add_str(d, "user_id", user_id) ||
              !cJSON_AddStringToObject(d, "reason", reason))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return ev_auth(tx, type, user_id ? user_id : sid, d);
}

void h_refresh(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *refresh = tc_jv_str(&jv, tc_req_json(req), "refresh_token", TC_JV_REQUIRED, 1, 128);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    session_grant_t g;
    int reused = 0;
    const char *why = NULL;
    int rc = session_refresh(app, tx, refresh, &g, &reused, &why);
    if (rc == TC_EDENIED) {
        /* the refusal may have revoked a family: that must be committed before answering */
        tc_log_kv(TC_LOG_INFO, "refresh refused", "reason", why, "session_id", g.sid, NULL);
        if (reused)
            rc = revoked_event(tx, "refresh_token_reused", g.sid, g.user_id, "refresh_token_reuse");
        if (rc == TC_EDENIED || rc == TC_OK) {
            if (tc_tx_commit(app->db, tx, resp) == TC_OK)
                tc_resp_error(resp, 401, "invalid_grant",
                              strcmp(why, "reauthentication_required") == 0
                                  ? "The session is too old; log in again"
                                  : "The refresh token is invalid, expired or revoked");
            grant_clear(&g);
            return;
        }
    }
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
    } else if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        respond_grant(app, resp, 200, &g, NULL);
    }
    grant_clear(&g);
}

static void end_sessions(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, int all)
{
    const tc_principal_t *p = tc_req_principal(req);
    if (!all && !p->sid[0]) {
        tc_resp_error(resp, 400, "bad_request", "This token is not bound to a session");
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int count = 0;
    int rc = all ? session_revoke_all(tx, p->sub, NULL, "logout_all", &count)
                 : session_revoke(tx, p->sid, p->sub, "logout");
    if (rc == TC_ENOTFOUND)
        rc = TC_OK; /* already ended: logging out twice is fine */
    else if (rc == TC_OK && !all)
        rc = revoked_event(tx, "session_revoked", p->sid, p->sub, "logout");
    else if (rc == TC_OK && count > 0)
        rc = revoked_event(tx, "session_revoked", "all", p->sub, "logout_all");
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

void h_logout(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    end_sessions(ud, req, resp, 0);
}

void h_logout_all(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    end_sessions(ud, req, resp, 1);
}

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

void h_sessions_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    char idle[16], max_age[16];
    snprintf(idle, sizeof idle, "%d", app->session_idle_s);
    snprintf(max_age, sizeof max_age, "%d", app->session_max_age_s);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "sessions_list",
                 "SELECT id, " TS("auth_time") ", " TS(
                     "last_seen_at") ", ip, user_agent, mfa"
                                     " FROM sessions WHERE user_id=$1 AND revoked_at IS NULL"
                                     " AND last_seen_at > now() - make_interval(secs => $2::int)"
                                     " AND auth_time > now() - make_interval(secs => $3::int)"
                                     " ORDER BY auth_time DESC",
                 p->sub, idle, max_age);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *data = cJSON_CreateArray();
    for (int i = 0; data && i < PQntuples(r); i++) {
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(data, s) ||
            !cJSON_AddStringToObject(s, "id", tc_db_val(r, i, 0)) ||
            !cJSON_AddStringToObject(s, "created_at", tc_db_val(r, i, 1)) ||
            !cJSON_AddStringToObject(s, "last_seen_at", tc_db_val(r, i, 2)) ||
            !tc_json_add_str(s, "ip", tc_db_val(r, i, 3)) ||
            !tc_json_add_str(s, "user_agent", tc_db_val(r, i, 4)) ||
            !cJSON_AddBoolToObject(s, "mfa", tc_db_val(r, i, 5)[0] == 't') ||
            !cJSON_AddBoolToObject(s, "current", strcmp(tc_db_val(r, i, 0), p->sid) == 0)) {
            cJSON_Delete(data);
            data = NULL;
        }
    }
    PQclear(r);
    cJSON *body = data ? cJSON_CreateObject() : NULL;
    if (body && !cJSON_AddItemToObject(body, "data", data)) {
        cJSON_Delete(body);
        body = NULL;
    } else if (!body) {
        cJSON_Delete(data);
    }
    tc_resp_json(resp, 200, body);
}

void h_sessions_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const char *sid = tc_req_param(req, "id");
    if (!tc_id_valid("ses", sid)) {
        tc_resp_error(resp, 404, "not_found", "Session not found");
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    /* scoped to the caller: another user's session is simply not found */
    int rc = session_revoke(tx, sid, p->sub, "revoked_by_user");
    if (rc == TC_OK)
        rc = revoked_event(tx, "session_revoked", sid, p->sub, "revoked_by_user");
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_error(resp, 404, "not_found", "Session not found");
        else
            tc_resp_fail(resp, rc);
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}
