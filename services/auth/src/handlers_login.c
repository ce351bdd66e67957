/*
 * Login and the second factor.
 *
 * Accounts are per organization (README "Identity model"): the password is checked against
 * every live account of the email (of the org the request names, when it names one). Exactly
 * one that may log in fits: its session (or its second-factor challenge). Several orgs'
 * accounts fit: 409 org_required naming those orgs — only once the password has been proven,
 * so the answer never tells someone without it where an address has accounts. None fits: the
 * one 401 body every failed login answers, a wrong password, an unknown email or a disabled
 * account alike; an unknown email is checked against a dummy hash so it costs the same.
 */
#include "events_out.h"
#include "handlers.h"
#include "passwords.h"
#include "second_factor.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tc/tc_tx.h"
#include "throttle.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Records a failed login in its own short transaction (the request itself changes nothing):
 * one event per account the attempt was for, or one anonymous event. */
static void record_failures(auth_app_t *app, const account_t *accs, int n, const char *ip,
                            const char *reason, bool mfa)
{
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return;
    int rc = tc_db_begin(tx);
    for (int i = 0; rc == TC_OK && i < (n ? n : 1); i++)
        rc = events_login_failed(tx, n ? &accs[i] : NULL, ip, reason, mfa);
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    if (rc != TC_OK) {
        tc_db_rollback(tx);
        tc_log_kv(TC_LOG_WARN, "a failed login could not be recorded", "error", tc_strerror(rc),
                  NULL);
    }
    tc_db_release(app->db, tx);
}

static void start_challenge(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const account_t *acc)
{
    char token[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN];
    if (tok_secret("mfa", token, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_challenge_insert(c, hash, acc->user_id, tc_req_client_ip(req),
                                        tc_req_header(req, "User-Agent"), app->mfa_challenge_ttl_s)
               : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (body && (!cJSON_AddBoolToObject(body, "mfa_required", 1) ||
                 !cJSON_AddStringToObject(body, "challenge", token) ||
                 !tc_json_add_int(body, "expires_in", app->mfa_challenge_ttl_s))) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_resp_json(resp, 200, body);
}

/* A stored hash made with other parameters than the configured ones is redone. */
static void upgrade_hash(auth_app_t *app, const account_t *acc, const char *password)
{
    if (!pw_needs_rehash(&app->argon2, acc->password_hash))
        return;
    char fresh[PW_PHC_MAX];
    tc_dbconn_t *c = pw_hash(&app->argon2, password, fresh, sizeof fresh) == TC_OK
                         ? tc_db_acquire(app->db)
                         : NULL;
    if (!c)
        return;
    if (store_account_set_password(c, acc->user_id, fresh) == TC_OK)
        tc_log_kv(TC_LOG_INFO, "password rehashed with current parameters", "user_id", acc->user_id,
                  NULL);
    tc_db_release(app->db, c);
}

/* 409 org_required: the orgs whose accounts the proven password fits, by id and name. */
static void respond_org_required(auth_app_t *app, tc_req_t *req, tc_resp_t *resp,
                                 const account_t *accs, const bool *matched, int n)
{
    char *text = tc_error_body("org_required",
                               "This email and password fit accounts in several organizations;"
                               " send the org_id of one of them",
                               tc_req_id(req), NULL);
    cJSON *body = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *orgs = cJSON_CreateArray();
    cJSON *err = cJSON_GetObjectItem(body, "error");
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = body && orgs && err && c ? TC_OK : (c ? TC_ENOMEM : TC_EUNAVAIL);
    for (int i = 0; rc == TC_OK && i < n; i++) {
        if (!matched[i] || !account_may_log_in(&accs[i]))
            continue;
        char name[256];
        rc = store_org_name(c, accs[i].org_id, name, sizeof name);
        cJSON *o = rc == TC_OK ? cJSON_CreateObject() : NULL;
        if (rc == TC_OK && (!o || !cJSON_AddStringToObject(o, "id", accs[i].org_id) ||
                            !tc_json_add_str(o, "name", name[0] ? name : NULL) ||
                            !cJSON_AddItemToArray(orgs, o))) {
            cJSON_Delete(o);
            rc = TC_ENOMEM;
        }
    }
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_OK && cJSON_AddItemToObject(err, "orgs", orgs)) {
        tc_resp_json(resp, 409, body);
        return;
    }
    cJSON_Delete(orgs);
    cJSON_Delete(body);
    tc_resp_fail(resp, rc == TC_OK ? TC_ENOMEM : rc);
}

void h_login(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    const char *ip = tc_req_client_ip(req);
    char hash[24];
    int retry_after = 0, n = 0, chosen = -1;
    account_t *accs = NULL;
    bool *matched = NULL, enrolled = false, sso = false;
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *email = tc_jv_str(&jv, b, "email", TC_JV_REQUIRED, 1, 254);
    const char *password = tc_jv_str(&jv, b, "password", TC_JV_REQUIRED, 1, 4096);
    const char *org_id = tc_jv_str(&jv, b, "org_id", TC_JV_OPTIONAL, 1, 64);
    if (org_id && !tc_id_valid("org", org_id))
        tc_jv_error(&jv, "org_id", "must be an organization id (org_…)");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (tc_email_index(app->email_index_key, email, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    if (throttle(app, "login_ip", ip, &app->login_ip, &retry_after) != TC_OK ||
        throttle(app, "login_account", hash, &app->login_account, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_accounts_by_email(app, c, hash, org_id, &accs, &n) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    if (n == 0) {
        pw_verify(app->dummy_hash, password); /* the same work as for a real account */
        record_failures(app, NULL, 0, ip, "unknown_account", false);
        respond_bad_credentials(resp);
        return;
    }
    if (!(matched = calloc((size_t)n, sizeof *matched))) {
        tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        matched[i] = pw_verify(accs[i].password_hash ? accs[i].password_hash : app->dummy_hash,
                               password) == TC_OK &&
                     accs[i].password_hash;
    switch (login_resolve(accs, matched, n, &chosen)) {
    case LOGIN_NONE:
        record_failures(app, accs, n, ip, "rejected", false);
        respond_bad_credentials(resp);
        goto cleanup;
    case LOGIN_AMBIGUOUS:
        respond_org_required(app, req, resp, accs, matched, n);
        goto cleanup;
    case LOGIN_ONE:
        break;
    }
    account_t *acc = &accs[chosen];
    upgrade_hash(app, acc, password);
    c = tc_db_acquire(app->db);
    rc = c ? store_sso_required(c, acc->org_id, &sso) : TC_EUNAVAIL;
    if (rc == TC_OK && sso && !sso_password_allowed(acc)) {
        tc_db_release(app->db, c);
        record_failures(app, acc, 1, ip, "sso_required", false);
        respond_sso_required(resp);
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = store_mfa_enrolled(c, acc->user_id, &enrolled);
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else if (enrolled)
        start_challenge(app, req, resp, acc);
    else
        grant_session(app, req, resp, acc, PROOF_PASSWORD, 200, NULL);
cleanup:
    free(matched);
    store_accounts_free(accs, n);
}

/* ------------------------------------------------------------------ second factor */

void h_login_mfa(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    const char *ip = tc_req_client_ip(req);
    char hash[TC_SHA256_HEX_LEN], user_id[AUTH_ID_LEN] = "";
    int retry_after = 0;
    bool sso = false;
    account_t acc = {0};
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *challenge = tc_jv_str(&jv, b, "challenge", TC_JV_REQUIRED, 1, 128);
    const char *code = tc_jv_str(&jv, b, "code", TC_JV_REQUIRED, 1, 32);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    tok_hash(challenge, hash);
    /* per client address before any work (the login's limit); per user once the challenge
     * names them, so that a new challenge brings no new attempts */
    if (throttle(app, "mfa_ip", ip, &app->login_ip, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_challenge_take(tx, hash, user_id);
    if (rc == TC_OK && throttle(app, "mfa", user_id, &app->mfa_user, &retry_after) != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_throttled(resp, retry_after);
        return;
    }
    if (rc == TC_OK)
        rc = store_account_get(app, tx, user_id, false, &acc);
    if (rc == TC_OK && !account_may_log_in(&acc))
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        rc = second_factor_check(app, tx, &acc, code);
    if (rc == TC_EINVAL) {
        /* a wrong code counts against the challenge; the count must survive the answer */
        rc = store_challenge_failed(tx, hash);
        if (rc == TC_OK)
            rc = events_login_failed(tx, &acc, ip, "bad_second_factor", true);
        if (rc != TC_OK) {
            tc_tx_abort(app->db, tx);
            tc_resp_fail(resp, rc);
        } else if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
            tc_resp_error(resp, 401, "invalid_code", "The code is not valid");
        }
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = store_challenge_used(tx, hash);
    /* single sign-on may have become required since the password was proven */
    if (rc == TC_OK && (rc = store_sso_required(tx, acc.org_id, &sso)) == TC_OK && sso &&
        !sso_password_allowed(&acc)) {
        if (tc_tx_commit(app->db, tx, resp) == TC_OK)
            respond_sso_required(resp);
        goto cleanup;
    }
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_error(resp, 401, "invalid_challenge", "The challenge is unknown or expired");
        else
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        grant_session(app, req, resp, &acc, PROOF_PASSWORD_OTP, 200, NULL);
cleanup:
    account_clear(&acc);
}
