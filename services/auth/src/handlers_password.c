/*
 * Passwords: change (the current password required; every other session ends), reset by a
 * single-use mailed token (requests are queued and answered at once, the same way for every
 * address: reset_queue.c sends the mails), and accepting an invitation (the invitee's first
 * password).
 */
#include "events_out.h"
#include "handlers.h"
#include "passwords.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"
#include "throttle.h"
#include "tokens.h"
#include "user_client.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ change */

void h_password_change(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    if (!require_person(app, req, resp))
        return;
    const tc_principal_t *p = tc_req_principal(req);
    const cJSON *b = tc_req_json(req);
    account_t acc = {0};
    char phc[PW_PHC_MAX];
    int revoked = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *old_pw = tc_jv_str(&jv, b, "old_password", TC_JV_REQUIRED, 1, 4096);
    const char *new_pw = tc_jv_str(&jv, b, "new_password", TC_JV_REQUIRED, 0, 4096);
    if (caller_account(app, req, resp, &acc) != TC_OK) {
        tc_jv_free(&jv);
        return;
    }
    if (new_pw)
        pw_policy(&jv, "new_password", new_pw, acc.email);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    tc_jv_free(&jv);
    if (confirm_password(app, resp, &acc, old_pw) != TC_OK)
        goto cleanup;
    int rc = pw_hash(&app->argon2, new_pw, phc, sizeof phc);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    rc = store_account_set_password(tx, acc.user_id, phc);
    if (rc == TC_OK) /* a reset link mailed before the change must not undo it */
        rc = store_resets_end(tx, acc.user_id);
    if (rc == TC_OK) /* a stolen session must not survive the change; this one may */
        rc = session_end_all(app, tx, acc.user_id, acc.org_id, p->sid[0] ? p->sid : NULL,
                             "password_changed", &revoked);
    if (rc == TC_OK)
        rc = events_password_changed(tx, &acc, "change", revoked);
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

/*
 * The request is queued and answered: the same statements, the same answer and about the same
 * time for every address, known or not (finding: a reset request must not tell by its timing
 * whether an account exists). Looking up the accounts, making the tokens and the mails is the
 * reset job's work, which no requester can time.
 */
void h_password_reset_request(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    char hash[24];
    int retry_after = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *email = tc_jv_email(&jv, tc_req_json(req), "email", TC_JV_REQUIRED);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (tc_email_index(app->email_index_key, email, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    if (throttle(app, "reset_ip", tc_req_client_ip(req), &app->reset_ip, &retry_after) != TC_OK ||
        throttle(app, "reset_account", hash, &app->login_account, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_reset_request_add(tx, hash);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (body && !cJSON_AddStringToObject(body, "status", "accepted")) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 202, body, NULL);
}

/* A mailed single-use token (a reset link, an invitation) being redeemed with a new password. */
typedef struct {
    int (*take)(tc_dbconn_t *tx, const char *token_hash, char user_id[AUTH_ID_LEN]);
    const char *password_field; /* the body's member holding the new password */
    const char *status;         /* the account must be in it */
    const char *invalid;        /* the 400 message for a token that cannot be redeemed */
} redeem_t;

/*
 * Reads {token, <password>}, and in a new transaction takes the token, loads its account
 * (which must be in r->status), holds the password to the policy and hashes it. TC_OK: *tx is
 * open, acc, hash (the token's) and phc are set. Otherwise the request has been answered and
 * nothing is left open.
 */
static int redeem(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const redeem_t *r,
                  tc_dbconn_t **tx, account_t *acc, char hash[TC_SHA256_HEX_LEN],
                  char phc[PW_PHC_MAX])
{
    const cJSON *b = tc_req_json(req);
    char user_id[AUTH_ID_LEN];
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *token = tc_jv_str(&jv, b, "token", TC_JV_REQUIRED, 1, 128);
    const char *password = tc_jv_str(&jv, b, r->password_field, TC_JV_REQUIRED, 0, 4096);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return TC_EINVAL;
    }
    tok_hash(token, hash);
    if (!(*tx = tc_tx_begin(app->db, resp))) {
        tc_jv_free(&jv);
        return TC_EUNAVAIL;
    }
    int rc = r->take(*tx, hash, user_id);
    if (rc == TC_OK)
        rc = store_account_get(app, *tx, user_id, true, acc);
    if (rc == TC_OK && strcmp(acc->status, r->status) != 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 400, "invalid_token", "%s", r->invalid);
    if (rc == TC_OK) {
        pw_policy(&jv, r->password_field, password, acc->email);
        if (tc_jv_failed(&jv)) {
            tc_resp_invalid(resp, &jv);
            rc = TC_EINVAL;
        }
    }
    if (rc == TC_OK && (rc = pw_hash(&app->argon2, password, phc, PW_PHC_MAX)) != TC_OK)
        tc_resp_fail(resp, rc);
    else if (rc != TC_OK && rc != TC_ENOTFOUND && rc != TC_EINVAL)
        tc_resp_fail(resp, rc);
    tc_jv_free(&jv);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, *tx);
        *tx = NULL;
    }
    return rc;
}

void h_password_reset(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const redeem_t reset = {store_reset_take, "new_password", "active",
                                   "The reset link is invalid, used or expired"};
    auth_app_t *app = ud;
    char phc[PW_PHC_MAX], hash[TC_SHA256_HEX_LEN];
    account_t acc = {0};
    int revoked = 0;
    tc_dbconn_t *tx = NULL;
    if (redeem(app, req, resp, &reset, &tx, &acc, hash, phc) != TC_OK)
        goto cleanup;
    int rc = store_account_set_password(tx, acc.user_id, phc);
    if (rc == TC_OK) /* this token and any other outstanding one */
        rc = store_resets_end(tx, acc.user_id);
    if (rc == TC_OK)
        rc = session_end_all(app, tx, acc.user_id, acc.org_id, NULL, "password_reset", &revoked);
    if (rc == TC_OK)
        rc = events_password_changed(tx, &acc, "reset", revoked);
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
    static const redeem_t invitation = {store_invitation_take, "password", "invited",
                                        "The invitation is invalid, used or expired"};
    auth_app_t *app = ud;
    char phc[PW_PHC_MAX], hash[TC_SHA256_HEX_LEN];
    account_t acc = {0};
    int status = 0;
    tc_dbconn_t *tx = NULL;
    bool sso = false;
    if (redeem(app, req, resp, &invitation, &tx, &acc, hash, phc) != TC_OK)
        goto cleanup;
    /* an org that signs its members in through single sign-on: the invitee accepts by
     * signing in through it (handlers_sso.c), never with a password */
    int rc = store_sso_required(tx, acc.org_id, &sso);
    if (rc == TC_OK && sso && !sso_password_allowed(&acc)) {
        tc_tx_abort(app->db, tx);
        respond_sso_required(resp);
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = store_account_set_password(tx, acc.user_id, phc);
    if (rc == TC_OK)
        rc = store_invitation_accept(tx, hash);
    /* active here at once, so the invitee can log in; user.updated confirms it later */
    if (rc == TC_OK)
        rc = store_account_activate(tx, acc.user_id);
    /* user is the source of truth for the status; it must agree before we commit. The call
     * is idempotent, so a commit failure after it only needs the same request again. */
    if (rc == TC_OK)
        rc = uc_activate(app, acc.user_id, &status);
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
    grant_session(app, req, resp, &acc, PROOF_PASSWORD, 200, NULL); /* logged in straight away */
cleanup:
    account_clear(&acc);
}
