/*
 * TOTP enrolment. Starting one needs the current password (a stolen access token alone cannot
 * bind an attacker's authenticator): a secret is generated and shown once, with its
 * otpauth:// URI for a QR code. It is confirmed with a first code within
 * AUTH_MFA_ENROLMENT_TTL_SECONDS, which also issues 10 single-use recovery codes (stored
 * hashed). Turning it off needs the password and a current code. All three refuse a
 * suspended or deleted account (403), whatever its still-valid token says.
 */
#include "events_out.h"
#include "handlers.h"
#include "mfa_model.h"
#include "second_factor.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"
#include "tokens.h"
#include "totp.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The caller's active account and, when the route asks for it, the right password. */
static int authorised_caller(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const char *password,
                             account_t *acc)
{
    if (!require_person(app, req, resp))
        return TC_EDENIED;
    int rc = caller_account(app, req, resp, acc);
    if (rc == TC_OK && password && (rc = confirm_password(app, resp, acc, password)) != TC_OK)
        account_clear(acc);
    return rc;
}

void h_mfa_enroll(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    static const char *const allowed[] = {"password", NULL};
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    account_t acc = {0};
    uint8_t secret[TOTP_SECRET_LEN];
    char b32[64] = "", uri[512];
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    const char *password = tc_jv_str(&jv, b, "password", TC_JV_REQUIRED, 1, 4096);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (authorised_caller(app, req, resp, password, &acc) != TC_OK)
        return;
    int rc = tc_random_bytes(secret, sizeof secret);
    if (rc == TC_OK)
        rc = totp_base32_encode(secret, sizeof secret, b32, sizeof b32);
    if (rc == TC_OK)
        rc = totp_uri(MFA_ISSUER, acc.email, b32, uri, sizeof uri);
    OPENSSL_cleanse(secret, sizeof secret);
    tc_dbconn_t *c = rc == TC_OK ? tc_db_acquire(app->db) : NULL;
    if (rc == TC_OK && !c)
        rc = TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = store_mfa_start(app, c, &acc, b32);
    if (c)
        tc_db_release(app->db, c);
    if (rc == TC_ECONFLICT) {
        tc_resp_error(resp, 409, "mfa_already_enabled", "Two-factor authentication is already on");
    } else if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
    } else {
        cJSON *body = cJSON_CreateObject();
        if (body && (!cJSON_AddStringToObject(body, "secret", b32) ||
                     !cJSON_AddStringToObject(body, "otpauth_uri", uri) ||
                     !cJSON_AddStringToObject(body, "status", "pending_confirmation"))) {
            cJSON_Delete(body);
            body = NULL;
        }
        tc_resp_json(resp, 200, body);
    }
    OPENSSL_cleanse(b32, sizeof b32);
    account_clear(&acc);
}

/* Verifies the first code of a fresh pending enrolment and confirms it. TC_ENOTFOUND without
 * one (or a stale one), TC_EINVAL for a wrong code. */
static int confirm_pending(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *code)
{
    char *b32 = NULL;
    int64_t started = 0, now = 0, step = 0;
    int rc = store_mfa_pending(app, tx, acc, &b32, &started, &now);
    if (rc == TC_OK && !mfa_enrolment_fresh(started, now, app->mfa_enrol_ttl_s))
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !second_factor_totp(b32, code, tc_now_ms() / 1000, 0, &step))
        rc = TC_EINVAL;
    if (b32) {
        OPENSSL_cleanse(b32, strlen(b32));
        free(b32);
    }
    return rc == TC_OK ? store_mfa_confirm(tx, acc->user_id, step) : rc;
}

/* Ten codes like "k7f2m-q9xwp", shown once, stored as SHA-256. */
static int issue_recovery_codes(tc_dbconn_t *tx, const char *user_id, cJSON *out)
{
    char hashes[MFA_RECOVERY_CODES][TC_SHA256_HEX_LEN];
    for (int i = 0; i < MFA_RECOVERY_CODES; i++) {
        uint8_t rnd[MFA_RECOVERY_RANDOM];
        char code[MFA_RECOVERY_LEN];
        if (tc_random_bytes(rnd, sizeof rnd) != TC_OK)
            return TC_ERROR;
        mfa_recovery_code(rnd, code);
        tok_hash(code, hashes[i]);
        if (!cJSON_AddItemToArray(out, cJSON_CreateString(code)))
            return TC_ENOMEM;
    }
    return store_recovery_replace(tx, user_id, hashes, MFA_RECOVERY_CODES);
}

void h_mfa_confirm(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    account_t acc = {0};
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *code = tc_jv_str(&jv, tc_req_json(req), "code", TC_JV_REQUIRED, 1, 16);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (authorised_caller(app, req, resp, NULL, &acc) != TC_OK)
        return;
    cJSON *codes = cJSON_CreateArray();
    tc_dbconn_t *tx = codes ? tc_tx_begin(app->db, resp) : NULL;
    if (!tx) {
        if (!codes)
            tc_resp_fail(resp, TC_ENOMEM);
        goto cleanup;
    }
    int rc = confirm_pending(app, tx, &acc, code);
    if (rc == TC_OK)
        rc = issue_recovery_codes(tx, acc.user_id, codes);
    if (rc == TC_OK)
        rc = events_mfa(tx, TC_EV_AUTH_MFA_ENABLED, &acc);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_error(resp, 409, "mfa_not_pending",
                          "Start enrolment first (a started one is good for %d minutes)",
                          app->mfa_enrol_ttl_s / 60);
        else if (rc == TC_EINVAL)
            tc_resp_error(resp, 422, "invalid_code", "The code is not valid");
        else
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    cJSON *body = cJSON_CreateObject();
    if (body && cJSON_AddItemToObject(body, "recovery_codes", codes))
        codes = NULL;
    if (body && (codes || !cJSON_AddStringToObject(body, "status", "enabled"))) {
        cJSON_Delete(body);
        body = NULL;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
cleanup:
    cJSON_Delete(codes);
    account_clear(&acc);
}

void h_mfa_disable(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    account_t acc = {0};
    const cJSON *b = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *password = tc_jv_str(&jv, b, "password", TC_JV_REQUIRED, 1, 4096);
    const char *code = tc_jv_str(&jv, b, "code", TC_JV_REQUIRED, 1, 32);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    if (authorised_caller(app, req, resp, password, &acc) != TC_OK)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    int rc = second_factor_check(app, tx, &acc, code);
    if (rc == TC_OK)
        rc = store_mfa_remove(tx, acc.user_id);
    if (rc == TC_OK)
        rc = events_mfa(tx, TC_EV_AUTH_MFA_DISABLED, &acc);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_EINVAL)
            tc_resp_error(resp, 403, "invalid_code", "The code is not valid");
        else
            tc_resp_fail(resp, rc);
    } else if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        tc_resp_empty(resp, 204);
    }
cleanup:
    account_clear(&acc);
}
