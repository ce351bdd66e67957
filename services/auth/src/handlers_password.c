/*
 * Passwords: change (old password required; every other session ends), reset by a
 * single-use emailed token, and accepting an invitation (the invitee's first password).
 */
#include "auth_handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int password_event(tc_dbconn_t *tx, const char *user_id, const char *org_id, const char *how,
                          int sessions_revoked)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "user_id", user_id) ||
              !cJSON_AddStringToObject(d, "org_id", org_id) ||
              !cJSON_AddStringToObject(d, "method", how) ||
              !tc_json_add_int(d, "sessions_revoked", sessions_revoked))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return ev_auth(tx, "password_changed", user_id, d);
}

/* A new password ends every outstanding reset link: one mailed before the change must not
 * be able to undo it. */
static int end_resets(tc_dbconn_t *tx, const char *user_id)
{
    return tc_db_qp(tx, NULL, "reset_end_all",
                    "UPDATE password_resets SET used_at=now() WHERE user_id=$1 AND used_at IS NULL",
                    user_id);
}

/* ------------------------------------------------------------------ change */

void h_password_change(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    account_t acc = {0};
    char phc[256];
    int revoked = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *old_pw = tc_jv_str(&jv, b, "old_password", TC_JV_REQUIRED, 1, 4096);
    const char *new_pw = tc_jv_str(&jv, b, "new_password", TC_JV_REQUIRED, 0, 4096);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? acct_by_id(app, c, p->sub, 0, &acc) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_jv_free(&jv);
        tc_resp_fail(resp, rc == TC_ENOTFOUND ? TC_EDENIED : rc);
        goto cleanup;
    }
    if (new_pw)
        pw_policy(&jv, "new_password", new_pw, acc.email);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    tc_jv_free(&jv);
    if (!acc.password_hash || pw_verify(acc.password_hash, old_pw) != TC_OK) {
        tc_resp_error(resp, 403, "invalid_password", "The current password is not correct");
        goto cleanup;
    }
    if ((rc = pw_hash(app, new_pw, phc, sizeof phc)) != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    rc = acct_set_password(tx, acc.user_id, phc);
    if (rc == TC_OK)
        rc = end_resets(tx, acc.user_id);
    if (rc == TC_OK) /* a stolen session must not survive the change; this one may */
        rc = session_revoke_all(tx, acc.user_id, p->sid[0] ? p->sid : NULL, "password_changed",
                                &revoked);
    if (rc == TC_OK)
        rc = password_event(tx, acc.user_id, acc.org_id, "change", revoked);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
    } else if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        tc_resp_empty(resp, 204);
    }
cleanup:
    account_clear(&acc);
}

/* ------------------------------------------------------------------ reset */

static int create_reset(auth_app_t *app, const account_t *acc)
{
    char token[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN], ttl[16], url[512];
    char expires[TC_RFC3339_LEN];
    if (tok_secret("rst", token, hash) != TC_OK)
        return TC_ERROR;
    snprintf(ttl, sizeof ttl, "%d", app->reset_ttl_s);
    snprintf(url, sizeof url, "%s/password/reset?token=%s", app->app_url, token);
    tc_time_format(tc_now_ms() + (int64_t)app->reset_ttl_s * 1000, expires);
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "reset_insert",
                      "INSERT INTO password_resets (token_hash, user_id, expires_at)"
                      " VALUES ($1,$2, now() + make_interval(secs => $3::int))",
                      hash, acc->user_id, ttl);
    cJSON *params = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!params || !cJSON_AddStringToObject(params, "reset_url", url) ||
                        !cJSON_AddStringToObject(params, "token", token) ||
                        !cJSON_AddStringToObject(params, "expires_at", expires))) {
        cJSON_Delete(params);
        params = NULL;
        rc = TC_ENOMEM;
    }
    if (rc == TC_OK)
        rc = ev_notify(tx, "password_reset", acc->email, acc->name, acc->user_id, acc->org_id,
                       params);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
    return rc;
}

void h_password_reset_request(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    char ipbuf[64], hash[24];
    int retry_after = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *email = tc_jv_email(&jv, tc_req_json(req), "email", TC_JV_REQUIRED);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (acct_email_hash(app, email, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    if (throttle(app, "reset_ip", client_ip(app, req, ipbuf, sizeof ipbuf), &app->reset_ip,
                 &retry_after) != TC_OK ||
        throttle(app, "reset_account", hash, &app->login_account, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    account_t acc = {0};
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? acct_by_email(app, c, email, &acc) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && strcmp(acc.status, "active") == 0)
        rc = create_reset(app, &acc);
    account_clear(&acc);
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        tc_resp_fail(resp, rc);
        return;
    }
    /* the same answer whether or not the address has an account */
    cJSON *body = cJSON_CreateObject();
    if (body)
        cJSON_AddStringToObject(body, "status", "accepted");
    tc_resp_json(resp, 202, body);
}

/* Looks up a single-use token row (FOR UPDATE) and returns its user id. */
static int take_token(tc_dbconn_t *tx, const char *table_stmt, const char *name, const char *token,
                      char *user_id)
{
    char hash[TC_SHA256_HEX_LEN];
    tok_hash(token, hash);
    PGresult *r = NULL;
    int rc = tc_db_query(tx, &r, name, table_stmt, 1, TC_DB_PARAMS(hash));
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        snprintf(user_id, AUTH_ID_LEN, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

void h_password_reset(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    char user_id[AUTH_ID_LEN], phc[256];
    account_t acc = {0};
    int revoked = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *token = tc_jv_str(&jv, b, "token", TC_JV_REQUIRED, 1, 128);
    const char *new_pw = tc_jv_str(&jv, b, "new_password", TC_JV_REQUIRED, 0, 4096);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx) {
        tc_jv_free(&jv);
        return;
    }
    int rc =
        take_token(tx,
                   "SELECT user_id FROM password_resets WHERE token_hash=$1 AND used_at IS NULL"
                   " AND expires_at > now() FOR UPDATE",
                   "reset_take", token, user_id);
    if (rc == TC_OK)
        rc = acct_by_id(app, tx, user_id, 1, &acc);
    if (rc == TC_OK && strcmp(acc.status, "active") != 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_ENOTFOUND) {
        tc_jv_free(&jv);
        tc_tx_abort(app->db, tx);
        tc_resp_error(resp, 400, "invalid_token", "The reset link is invalid, used or expired");
        goto cleanup;
    }
    if (rc == TC_OK) {
        pw_policy(&jv, "new_password", new_pw, acc.email);
        if (tc_jv_failed(&jv)) {
            tc_tx_abort(app->db, tx);
            tc_resp_invalid(resp, &jv);
            goto cleanup;
        }
        rc = pw_hash(app, new_pw, phc, sizeof phc);
    }
    tc_jv_free(&jv);
    if (rc == TC_OK)
        rc = acct_set_password(tx, user_id, phc);
    if (rc == TC_OK) /* this token and any other outstanding one */
        rc = end_resets(tx, user_id);
    if (rc == TC_OK)
        rc = session_revoke_all(tx, user_id, NULL, "password_reset", &revoked);
    if (rc == TC_OK)
        rc = password_event(tx, user_id, acc.org_id, "reset", revoked);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
    } else if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        tc_resp_empty(resp, 204);
    }
cleanup:
    account_clear(&acc);
}

/* ------------------------------------------------------------------ invitations */

void h_invitation_accept(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    char user_id[AUTH_ID_LEN], phc[256], hash[TC_SHA256_HEX_LEN];
    account_t acc = {0};
    int status = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *token = tc_jv_str(&jv, b, "token", TC_JV_REQUIRED, 1, 128);
    const char *password = tc_jv_str(&jv, b, "password", TC_JV_REQUIRED, 0, 4096);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx) {
        tc_jv_free(&jv);
        return;
    }
    int rc =
        take_token(tx,
                   "SELECT user_id FROM invitations WHERE token_hash=$1 AND accepted_at IS NULL"
                   " AND expires_at > now() FOR UPDATE",
                   "invite_take", token, user_id);
    if (rc == TC_OK)
        rc = acct_by_id(app, tx, user_id, 1, &acc);
    if (rc == TC_OK && strcmp(acc.status, "invited") != 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_ENOTFOUND) {
        tc_jv_free(&jv);
        tc_tx_abort(app->db, tx);
        tc_resp_error(resp, 400, "invalid_token", "The invitation is invalid, used or expired");
        goto cleanup;
    }
    if (rc == TC_OK) {
        pw_policy(&jv, "password", password, acc.email);
        if (tc_jv_failed(&jv)) {
            tc_tx_abort(app->db, tx);
            tc_resp_invalid(resp, &jv);
            goto cleanup;
        }
        rc = pw_hash(app, password, phc, sizeof phc);
    }
    tc_jv_free(&jv);
    tok_hash(token, hash);
    if (rc == TC_OK)
        rc = acct_set_password(tx, user_id, phc);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "invite_used",
                      "UPDATE invitations SET accepted_at=now() WHERE token_hash=$1", hash);
    /* active here at once, so the invitee can log in; user.updated confirms it later */
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "acct_activate",
                      "UPDATE accounts SET status='active' WHERE user_id=$1 AND status='invited'",
                      user_id);
    /* user is the source of truth for the status; it must agree before we commit. The call
     * is idempotent, so a commit failure after it only needs the same request again. */
    if (rc == TC_OK)
        rc = uc_activate(app, user_id, &status);
    if (rc == TC_OK && status != 200)
        rc = status >= 500 ? TC_EUNAVAIL : TC_ECONFLICT;
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (tc_tx_commit(app->db, tx, resp) != TC_OK)
        goto cleanup;
    snprintf(acc.status, sizeof acc.status, "active");
    grant_session(app, req, resp, &acc, 0, 200, NULL); /* logged in straight away */
cleanup:
    account_clear(&acc);
}
