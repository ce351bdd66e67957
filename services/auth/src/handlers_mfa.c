/*
 * TOTP enrolment: a secret is generated and shown once (with its otpauth:// URI for a QR
 * code), then confirmed with a first code, which also issues 10 single-use recovery codes
 * (stored hashed). Disabling needs the password and a current code.
 */
#include "auth_handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECOVERY_CODES 10
#define MFA_ISSUER     "TechCorp"

static int mfa_event(tc_dbconn_t *tx, const char *type, const account_t *acc)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "user_id", acc->user_id) ||
              !cJSON_AddStringToObject(d, "org_id", acc->org_id) ||
              !cJSON_AddStringToObject(d, "method", "totp"))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return ev_auth(tx, type, acc->user_id, d);
}

static int load_caller(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, account_t *acc)
{
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? acct_by_id(app, c, tc_req_principal(req)->sub, 0, acc) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc == TC_ENOTFOUND ? TC_EDENIED : rc);
    return rc;
}

void h_mfa_enroll(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    account_t acc = {0};
    uint8_t secret[TOTP_SECRET_LEN];
    char b32[64], uri[512], ctx[128], *sealed = NULL;
    if (load_caller(app, req, resp, &acc) != TC_OK)
        return;
    snprintf(ctx, sizeof ctx, "mfa_totp|%s", acc.user_id);
    int rc = tc_random_bytes(secret, sizeof secret);
    if (rc == TC_OK)
        rc = totp_base32_encode(secret, sizeof secret, b32, sizeof b32);
    if (rc == TC_OK)
        rc = totp_uri(MFA_ISSUER, acc.email, b32, uri, sizeof uri);
    if (rc == TC_OK)
        rc = tc_keyring_seal(app->keys, acc.org_id, ctx, b32, &sealed);
    OPENSSL_cleanse(secret, sizeof secret);
    tc_dbconn_t *c = rc == TC_OK ? tc_db_acquire(app->db) : NULL;
    if (rc == TC_OK && !c)
        rc = TC_EUNAVAIL;
    PGresult *r = NULL;
    /* a confirmed enrolment is never replaced by this call: disable it first */
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "mfa_enroll",
                      "INSERT INTO mfa_totp (user_id, secret_enc) VALUES ($1,$2)"
                      " ON CONFLICT (user_id) DO UPDATE SET secret_enc=EXCLUDED.secret_enc,"
                      " last_step=0, created_at=now() WHERE mfa_totp.confirmed_at IS NULL",
                      acc.user_id, sealed);
    if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
        rc = TC_ECONFLICT;
    PQclear(r);
    if (c)
        tc_db_release(app->db, c);
    free(sealed);
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

/* Verifies the first code of a pending enrolment and confirms it. */
static int confirm_pending(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *code)
{
    char ctx[128], *b32 = NULL;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "mfa_pending",
                      "SELECT secret_enc FROM mfa_totp WHERE user_id=$1 AND confirmed_at IS NULL"
                      " FOR UPDATE",
                      acc->user_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    snprintf(ctx, sizeof ctx, "mfa_totp|%s", acc->user_id);
    if (rc == TC_OK)
        rc = tc_keyring_open(app->keys, acc->org_id, ctx, tc_db_val(r, 0, 0), &b32);
    PQclear(r);
    uint8_t secret[64];
    int64_t step = 0;
    long n = rc == TC_OK ? totp_base32_decode(b32, secret, sizeof secret) : -1;
    if (rc == TC_OK)
        rc = (n > 0 && totp_verify(secret, (size_t)n, code, tc_now_ms() / 1000, 0, &step) == TC_OK)
                 ? TC_OK
                 : TC_EINVAL;
    if (b32) {
        OPENSSL_cleanse(b32, strlen(b32));
        free(b32);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc == TC_OK) {
        char s[32];
        snprintf(s, sizeof s, "%lld", (long long)step);
        rc = tc_db_qp(
            tx, NULL, "mfa_confirm",
            "UPDATE mfa_totp SET confirmed_at=now(), last_step=$2::bigint WHERE user_id=$1",
            acc->user_id, s);
    }
    return rc;
}

/* Ten codes like "k7f2m-q9xwp", shown once, stored as SHA-256. */
static int issue_recovery_codes(tc_dbconn_t *tx, const char *user_id, cJSON *out)
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    int rc = tc_db_qp(tx, NULL, "recovery_clear", "DELETE FROM recovery_codes WHERE user_id=$1",
                      user_id);
    for (int i = 0; rc == TC_OK && i < RECOVERY_CODES; i++) {
        uint8_t rnd[10];
        char code[12], hash[TC_SHA256_HEX_LEN];
        if (tc_random_bytes(rnd, sizeof rnd) != TC_OK)
            return TC_ERROR;
        for (int k = 0, o = 0; k < 10; k++) {
            if (k == 5)
                code[o++] = '-';
            code[o++] = alphabet[rnd[k] % (sizeof alphabet - 1)];
        }
        code[11] = '\0';
        tok_hash(code, hash);
        rc = tc_db_qp(tx, NULL, "recovery_insert",
                      "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1,$2)", user_id,
                      hash);
        if (rc == TC_OK && !cJSON_AddItemToArray(out, cJSON_CreateString(code)))
            rc = TC_ENOMEM;
    }
    return rc;
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
    if (load_caller(app, req, resp, &acc) != TC_OK)
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
        rc = mfa_event(tx, "mfa_enabled", &acc);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_error(resp, 409, "mfa_not_pending", "Start enrolment first");
        else if (rc == TC_EINVAL)
            tc_resp_error(resp, 422, "invalid_code", "The code is not valid");
        else
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        cJSON *body = cJSON_CreateObject();
        if (body && cJSON_AddItemToObject(body, "recovery_codes", codes))
            codes = NULL;
        if (body && !cJSON_AddStringToObject(body, "status", "enabled")) {
            cJSON_Delete(body);
            body = NULL;
        }
        tc_resp_json(resp, 200, body);
    }
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
    if (load_caller(app, req, resp, &acc) != TC_OK)
        return;
    if (!acc.password_hash || pw_verify(acc.password_hash, password) != TC_OK) {
        tc_resp_error(resp, 403, "invalid_password", "The password is not correct");
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    int rc = mfa_check_code(app, tx, &acc, code);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "mfa_delete", "DELETE FROM mfa_totp WHERE user_id=$1", acc.user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "recovery_clear", "DELETE FROM recovery_codes WHERE user_id=$1",
                      acc.user_id);
    if (rc == TC_OK)
        rc = mfa_event(tx, "mfa_disabled", &acc);
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
