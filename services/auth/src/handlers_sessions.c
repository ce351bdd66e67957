/* Refresh-token rotation, logout, and a person's view of their own sessions. */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <string.h>

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
    refresh_verdict_t verdict = REFRESH_OK;
    int rc = session_refresh(app, tx, refresh, &g, &verdict);
    if (rc == TC_EDENIED) {
        /* the refusal may have revoked a family: that is committed before answering */
        tc_log_kv(TC_LOG_INFO, "refresh refused", "reason", refresh_reason(verdict), "session_id",
                  g.sid[0] ? g.sid : NULL, NULL);
        if (tc_tx_commit(app->db, tx, resp) == TC_OK)
            tc_resp_error(resp, 401, "invalid_grant",
                          verdict == REFRESH_TOO_OLD
                              ? "The session is too old; log in again"
                              : "The refresh token is invalid, expired or revoked");
    } else if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
    } else {
        tc_tx_respond(app->db, tx, NULL, resp, 200, session_grant_json(app, &g), NULL);
    }
    grant_clear(&g);
}

static void end_sessions(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, bool all)
{
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    if (!all && !p->sid[0]) {
        tc_resp_error(resp, 400, "bad_request", "This token is not bound to a session");
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = all ? session_end_all(app, tx, p->sub, p->org, NULL, "logout_all", NULL)
                 : session_end(tx, p->sid, p->sub, p->org, "logout");
    if (rc == TC_ENOTFOUND)
        rc = TC_OK; /* already ended: logging out twice is fine */
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
    end_sessions(ud, req, resp, false);
}

void h_logout_all(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    end_sessions(ud, req, resp, true);
}

static cJSON *session_json(const store_session_row_t *s, const char *current_sid)
{
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "id", s->id) ||
        !cJSON_AddStringToObject(j, "created_at", s->created_at) ||
        !cJSON_AddStringToObject(j, "last_seen_at", s->last_seen_at) ||
        !tc_json_add_str(j, "ip", s->ip) || !tc_json_add_str(j, "user_agent", s->user_agent) ||
        !cJSON_AddBoolToObject(j, "mfa", s->mfa) ||
        !cJSON_AddBoolToObject(j, "current", strcmp(s->id, current_sid) == 0)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

void h_sessions_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    store_session_row_t *rows = NULL;
    int n = 0;
    int rc = store_sessions_live(c, &app->sessions, p->sub, &rows, &n);
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *data = cJSON_CreateArray();
    for (int i = 0; data && i < n; i++) {
        cJSON *s = session_json(&rows[i], p->sid);
        if (!s || !cJSON_AddItemToArray(data, s)) {
            cJSON_Delete(s);
            cJSON_Delete(data);
            data = NULL;
        }
    }
    store_session_rows_free(rows, n);
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
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const char *sid = tc_req_param_id(req, resp, "id", "ses", "Session");
    if (!sid)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    /* scoped to the caller: another user's session is simply not found */
    int rc = session_end(tx, sid, p->sub, p->org, "revoked_by_user");
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_store_error(resp, rc, "Session");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}
