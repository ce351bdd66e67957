/*
 * Sign-up and login.
 *
 * Login answers the same 401 body for a wrong password, an unknown email and a disabled
 * account, and spends the same Argon2id time on each (an unknown email is checked against a
 * dummy hash), so neither the body nor the timing tells which accounts exist.
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

/* ------------------------------------------------------------------ helpers */

void respond_grant(auth_app_t *app, tc_resp_t *resp, int status, const session_grant_t *g,
                   cJSON *extra)
{
    cJSON *body = session_grant_json(app, g);
    if (body && extra) {
        cJSON *it = extra->child;
        while (it) {
            cJSON *next = it->next;
            cJSON_AddItemToObject(body, it->string, cJSON_DetachItemViaPointer(extra, it));
            it = next;
        }
    }
    cJSON_Delete(extra);
    tc_resp_json(resp, status, body);
}

void respond_bad_credentials(tc_resp_t *resp)
{
    tc_resp_error(resp, 401, "invalid_credentials", "Invalid email or password");
}

static int login_event(tc_dbconn_t *tx, const char *type, const char *user_id, const char *org_id,
                       const char *sid, const char *ip, const char *reason, int mfa)
{
    cJSON *d = cJSON_CreateObject();
    if (d && (!tc_json_add_str(d, "user_id", user_id) || !tc_json_add_str(d, "org_id", org_id) ||
              !tc_json_add_str(d, "session_id", sid) || !tc_json_add_str(d, "ip", ip) ||
              !tc_json_add_str(d, "reason", reason) || !cJSON_AddBoolToObject(d, "mfa", mfa))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return ev_auth(tx, type, user_id ? user_id : "anonymous", d);
}

/* Records a failed login in its own short transaction (the request itself changes nothing). */
static void record_failure(auth_app_t *app, const account_t *acc, const char *ip,
                           const char *reason, int mfa)
{
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return;
    if (tc_db_begin(tx) == TC_OK &&
        login_event(tx, "login_failed", acc ? acc->user_id : NULL, acc ? acc->org_id : NULL, NULL,
                    ip, reason, mfa) == TC_OK)
        tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
}

/* Starts a session, records login_succeeded and answers with the tokens (200 or the given
 * status). */
void grant_session(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const account_t *acc, int mfa,
                   int status, cJSON *extra)
{
    char ipbuf[64];
    const char *ip = client_ip(app, req, ipbuf, sizeof ipbuf);
    session_grant_t g;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx) {
        cJSON_Delete(extra);
        return;
    }
    int rc = session_start(app, tx, acc, mfa, ip, tc_req_header(req, "User-Agent"), &g);
    if (rc == TC_OK)
        rc = login_event(tx, "login_succeeded", acc->user_id, acc->org_id, g.sid, ip, NULL, mfa);
    for (int i = 0; rc == TC_OK && i < g.nrevoked; i++) {
        cJSON *d = cJSON_CreateObject();
        if (d && (!cJSON_AddStringToObject(d, "session_id", g.revoked[i]) ||
                  !cJSON_AddStringToObject(d, "user_id", acc->user_id) ||
                  !cJSON_AddStringToObject(d, "reason", "session_limit"))) {
            cJSON_Delete(d);
            d = NULL;
        }
        rc = ev_auth(tx, "session_revoked", acc->user_id, d);
    }
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        cJSON_Delete(extra);
    } else if (tc_tx_commit(app->db, tx, resp) == TC_OK) {
        respond_grant(app, resp, status, &g, extra);
    } else {
        cJSON_Delete(extra);
    }
    grant_clear(&g);
}

/* ------------------------------------------------------------------ sign-up */

typedef struct {
    const char *org_name, *email, *password, *name;
} signup_t;

static int validate_signup(tc_req_t *req, tc_resp_t *resp, signup_t *in)
{
    static const char *const allowed[] = {"org_name", "email", "password", "name", NULL};
    const cJSON *b = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, b, allowed);
    in->org_name = tc_jv_str(&jv, b, "org_name", TC_JV_REQUIRED, 1, 200);
    in->email = tc_jv_email(&jv, b, "email", TC_JV_REQUIRED);
    in->name = tc_jv_str(&jv, b, "name", TC_JV_REQUIRED, 1, 200);
    in->password = tc_jv_str(&jv, b, "password", TC_JV_REQUIRED, 0, 4096);
    if (in->password)
        pw_policy(&jv, "password", in->password, in->email);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return TC_EINVAL;
    }
    tc_jv_free(&jv);
    return TC_OK;
}

static int owner_from(const cJSON *owner, const char *email, const char *name, account_t *acc)
{
    memset(acc, 0, sizeof *acc);
    const char *id = tc_json_get_str(owner, "id"), *org = tc_json_get_str(owner, "org_id");
    if (!id || !org)
        return TC_ERROR;
    snprintf(acc->user_id, sizeof acc->user_id, "%s", id);
    snprintf(acc->org_id, sizeof acc->org_id, "%s", org);
    snprintf(acc->role, sizeof acc->role, "owner");
    snprintf(acc->status, sizeof acc->status, "active");
    acc->email = strdup(email);
    acc->name = strdup(name);
    return acc->email && acc->name ? TC_OK : TC_ENOMEM;
}

static int mfa_enrolled(tc_dbconn_t *c, const char *user_id, int *enrolled);

/* Seeds the read model with the owner (version 0: the user.created event, version 1,
 * overwrites it) and sets the password unless an earlier attempt already did. A stored
 * password that matches is the same sign-up retried; one that does not is someone else. So
 * is an owner who has turned on a second factor since: only a login may start their session. */
static int store_owner_credential(auth_app_t *app, tc_dbconn_t *tx, const cJSON *owner,
                                  const account_t *acc, const char *password, const char *phc)
{
    cJSON *state = cJSON_Duplicate(owner, 1);
    char prev[16];
    int applied = 0;
    if (!state || !cJSON_AddNumberToObject(state, "version", 0)) {
        cJSON_Delete(state);
        return TC_ENOMEM;
    }
    int rc = acct_apply(app, tx, state, prev, sizeof prev, &applied);
    cJSON_Delete(state);
    account_t stored = {0};
    if (rc == TC_OK)
        rc = acct_by_id(app, tx, acc->user_id, 1, &stored);
    if (rc == TC_OK && stored.password_hash) {
        int enrolled = 0;
        rc = pw_verify(stored.password_hash, password) == TC_OK
                 ? mfa_enrolled(tx, acc->user_id, &enrolled)
                 : TC_ECONFLICT;
        if (rc == TC_OK && enrolled)
            rc = TC_ECONFLICT;
    } else if (rc == TC_OK)
        rc = acct_set_password(tx, acc->user_id, phc);
    account_clear(&stored);
    return rc;
}

void h_signup(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    signup_t in;
    char ipbuf[64], phc[256], hash[24];
    int retry_after = 0, status = 0;
    if (validate_signup(req, resp, &in) != TC_OK)
        return;
    if (acct_email_hash(app, in.email, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    /* a retried sign-up checks the owner's password: it shares the login's per-account limit */
    if (throttle(app, "signup", client_ip(app, req, ipbuf, sizeof ipbuf), &app->login_ip,
                 &retry_after) != TC_OK ||
        throttle(app, "login_account", hash, &app->login_account, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    cJSON *created = NULL;
    account_t acc = {0};
    int rc = uc_create_org(app, in.org_name, in.email, in.name, &created, &status);
    if (rc != TC_OK || status >= 500) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        goto cleanup;
    }
    if (status == 409) {
        tc_resp_error(resp, 409, "email_taken",
                      "An account with this email address already exists");
        goto cleanup;
    }
    if ((status != 200 && status != 201) ||
        owner_from(cJSON_GetObjectItem(created, "owner"), in.email, in.name, &acc) != TC_OK) {
        tc_log_error("user service answered sign-up with %d", status);
        tc_resp_fail(resp, TC_ERROR);
        goto cleanup;
    }
    /* hashing takes tens of milliseconds: never while holding a transaction */
    if ((rc = pw_hash(app, in.password, phc, sizeof phc)) != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    rc = store_owner_credential(app, tx, cJSON_GetObjectItem(created, "owner"), &acc, in.password,
                                phc);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "email_taken",
                          "An account with this email address already exists");
        else
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (tc_tx_commit(app->db, tx, resp) != TC_OK)
        goto cleanup;
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddItemToObject(extra, "org", cJSON_DetachItemFromObject(created, "org"));
        cJSON_AddItemToObject(extra, "user", cJSON_DetachItemFromObject(created, "owner"));
    }
    grant_session(app, req, resp, &acc, 0, status == 201 ? 201 : 200, extra);
cleanup:
    cJSON_Delete(created);
    account_clear(&acc);
}

/* ------------------------------------------------------------------ login */

static int mfa_enrolled(tc_dbconn_t *c, const char *user_id, int *enrolled)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "mfa_enrolled",
                 "SELECT 1 FROM mfa_totp WHERE user_id=$1 AND confirmed_at IS NOT NULL", user_id);
    if (rc == TC_OK)
        *enrolled = PQntuples(r) == 1;
    PQclear(r);
    return rc;
}

static void start_challenge(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const account_t *acc)
{
    char token[AUTH_SECRET_LEN], hash[TC_SHA256_HEX_LEN], ttl[16], ipbuf[64];
    if (tok_secret("mfa", token, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    snprintf(ttl, sizeof ttl, "%d", app->mfa_challenge_ttl_s);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc =
        c ? tc_db_qp(c, NULL, "mfa_challenge_insert",
                     "INSERT INTO mfa_challenges (id_hash, user_id, ip, user_agent, expires_at)"
                     " VALUES ($1,$2,$3,left($4,256), now() + make_interval(secs => $5::int))",
                     hash, acc->user_id, client_ip(app, req, ipbuf, sizeof ipbuf),
                     tc_req_header(req, "User-Agent"), ttl)
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

/* Checks the password against the account (or the dummy hash) and upgrades the hash when the
 * configured parameters changed. 1 when the login may proceed. */
static int password_ok(auth_app_t *app, const account_t *acc, int found, const char *password)
{
    const char *phc = found && acc->password_hash ? acc->password_hash : app->dummy_hash;
    int match = pw_verify(phc, password) == TC_OK && found && acc->password_hash;
    if (match && pw_needs_rehash(app, acc->password_hash)) {
        char fresh[256];
        tc_dbconn_t *c =
            pw_hash(app, password, fresh, sizeof fresh) == TC_OK ? tc_db_acquire(app->db) : NULL;
        if (c) {
            if (acct_set_password(c, acc->user_id, fresh) == TC_OK)
                tc_log_kv(TC_LOG_INFO, "password rehashed with current parameters", "user_id",
                          acc->user_id, NULL);
            tc_db_release(app->db, c);
        }
    }
    return match && strcmp(acc->status, "active") == 0;
}

void h_login(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    char ipbuf[64], hash[24];
    int retry_after = 0, found = 0, enrolled = 0;
    account_t acc = {0};
    tc_jv_t jv;
    tc_jv_init(&jv);
    const char *email = tc_jv_str(&jv, b, "email", TC_JV_REQUIRED, 1, 254);
    const char *password = tc_jv_str(&jv, b, "password", TC_JV_REQUIRED, 1, 4096);
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        return;
    }
    tc_jv_free(&jv);
    const char *ip = client_ip(app, req, ipbuf, sizeof ipbuf);
    if (acct_email_hash(app, email, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    if (throttle(app, "login_ip", ip, &app->login_ip, &retry_after) != TC_OK ||
        throttle(app, "login_account", hash, &app->login_account, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c) {
        tc_resp_fail(resp, TC_EUNAVAIL);
        return;
    }
    int rc = acct_by_email(app, c, email, &acc);
    found = rc == TC_OK;
    tc_db_release(app->db, c);
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (!password_ok(app, &acc, found, password)) {
        record_failure(app, found ? &acc : NULL, ip, !found ? "unknown_account" : "rejected", 0);
        respond_bad_credentials(resp);
        goto cleanup;
    }
    c = tc_db_acquire(app->db);
    rc = c ? mfa_enrolled(c, acc.user_id, &enrolled) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else if (enrolled)
        start_challenge(app, req, resp, &acc);
    else
        grant_session(app, req, resp, &acc, 0, 200, NULL);
cleanup:
    account_clear(&acc);
}

/* ------------------------------------------------------------------ second factor */

/* Verifies a TOTP code (advancing last_step) or consumes a recovery code, inside tx. */
int mfa_check_code(auth_app_t *app, tc_dbconn_t *tx, const account_t *acc, const char *code)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "mfa_get",
                      "SELECT secret_enc, last_step FROM mfa_totp WHERE user_id=$1"
                      " AND confirmed_at IS NOT NULL FOR UPDATE",
                      acc->user_id);
    if (rc != TC_OK || PQntuples(r) != 1) {
        PQclear(r);
        return rc == TC_OK ? TC_EINVAL : rc;
    }
    char *b32 = NULL, ctx[128];
    snprintf(ctx, sizeof ctx, "mfa_totp|%s", acc->user_id);
    rc = tc_keyring_open(app->keys, acc->org_id, ctx, tc_db_val(r, 0, 0), &b32);
    int64_t last = tc_db_int(r, 0, 1, 0), step = 0;
    PQclear(r);
    if (rc != TC_OK)
        return rc == TC_EINVAL ? TC_ERROR : rc;
    uint8_t secret[64];
    long n = totp_base32_decode(b32, secret, sizeof secret);
    OPENSSL_cleanse(b32, strlen(b32));
    free(b32);
    if (n > 0 && totp_verify(secret, (size_t)n, code, tc_now_ms() / 1000, last, &step) == TC_OK) {
        char s[32];
        snprintf(s, sizeof s, "%lld", (long long)step);
        rc = tc_db_qp(tx, NULL, "mfa_step",
                      "UPDATE mfa_totp SET last_step=$2::bigint WHERE user_id=$1", acc->user_id, s);
    } else {
        /* not a current TOTP code: maybe a recovery code (single use) */
        char hash[TC_SHA256_HEX_LEN];
        tok_hash(code, hash);
        r = NULL;
        rc = tc_db_qp(tx, &r, "mfa_recovery_use",
                      "UPDATE recovery_codes SET used_at=now() WHERE user_id=$1 AND code_hash=$2"
                      " AND used_at IS NULL",
                      acc->user_id, hash);
        if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
            rc = TC_EINVAL;
        PQclear(r);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

void h_login_mfa(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    const cJSON *b = tc_req_json(req);
    char hash[TC_SHA256_HEX_LEN], ipbuf[64], user_id[AUTH_ID_LEN] = "";
    int retry_after = 0;
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
    /* per client IP before any work (the login's IP limit); per user once the challenge
     * names them, so that a new challenge brings no new attempts */
    if (throttle(app, "mfa_ip", client_ip(app, req, ipbuf, sizeof ipbuf), &app->login_ip,
                 &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "mfa_challenge_get",
                      "SELECT user_id FROM mfa_challenges WHERE id_hash=$1 AND used_at IS NULL"
                      " AND expires_at > now() AND attempts < 5 FOR UPDATE",
                      hash);
    if (rc == TC_OK && PQntuples(r) == 1)
        snprintf(user_id, sizeof user_id, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    if (rc == TC_OK && !user_id[0])
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && throttle(app, "mfa", user_id, &app->mfa_user, &retry_after) != TC_OK) {
        tc_tx_abort(app->db, tx);
        respond_throttled(resp, retry_after);
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = acct_by_id(app, tx, user_id, 0, &acc);
    if (rc == TC_OK && strcmp(acc.status, "active") != 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        rc = mfa_check_code(app, tx, &acc, code);
    if (rc == TC_EINVAL) {
        /* a wrong code counts against the challenge; the count must survive the answer */
        tc_db_qp(tx, NULL, "mfa_challenge_fail",
                 "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id_hash=$1", hash);
        record_failure(app, &acc, client_ip(app, req, ipbuf, sizeof ipbuf), "bad_second_factor", 1);
        if (tc_tx_commit(app->db, tx, resp) == TC_OK)
            tc_resp_error(resp, 401, "invalid_code", "The code is not valid");
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "mfa_challenge_used",
                      "UPDATE mfa_challenges SET used_at=now() WHERE id_hash=$1", hash);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ENOTFOUND)
            tc_resp_error(resp, 401, "invalid_challenge", "The challenge is unknown or expired");
        else
            tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        grant_session(app, req, resp, &acc, 1, 200, NULL);
cleanup:
    account_clear(&acc);
}
