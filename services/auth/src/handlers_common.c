/* Helpers the auth handlers share: common answers, starting a session, the caller's account. */
#include "apikey_model.h"
#include "handlers.h"
#include "passwords.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_tx.h"
#include "throttle.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void respond_throttled(tc_resp_t *resp, int retry_after_s)
{
    char ra[16];
    snprintf(ra, sizeof ra, "%d", retry_after_s);
    tc_resp_header(resp, "Retry-After", ra);
    tc_resp_error(resp, 429, "rate_limit_exceeded", "Too many attempts; retry in %d seconds",
                  retry_after_s);
}

void respond_bad_credentials(tc_resp_t *resp)
{
    tc_resp_error(resp, 401, "invalid_credentials", "Invalid email or password");
}

void respond_sso_required(tc_resp_t *resp)
{
    tc_resp_error(resp, 403, "sso_required",
                  "This organization signs its members in through single sign-on");
}

void respond_store_error(tc_resp_t *resp, int rc, const char *what)
{
    if (rc == TC_ENOTFOUND)
        tc_resp_error(resp, 404, "not_found", "%s not found", what);
    else
        tc_resp_fail(resp, rc);
}

void grant_session(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const account_t *acc,
                   session_proof_t proof, int status, cJSON *extra)
{
    session_grant_t g;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx) {
        cJSON_Delete(extra);
        return;
    }
    int rc = session_start(app, tx, acc, proof, tc_req_client_ip(req),
                           tc_req_header(req, "User-Agent"), &g);
    cJSON *body = rc == TC_OK ? session_grant_json(app, &g) : NULL;
    for (cJSON *it = body && extra ? extra->child : NULL; it;) {
        cJSON *next = it->next;
        cJSON_AddItemToObject(body, it->string, cJSON_DetachItemViaPointer(extra, it));
        it = next;
    }
    cJSON_Delete(extra);
    grant_clear(&g);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, status, body, NULL);
}

int admin_standing(tc_dbconn_t *tx, const tc_principal_t *p, tc_resp_t *resp, const char *refusal)
{
    char role[16], status[16];
    int rc = store_account_standing(tx, p->sub, p->org, role, sizeof role, status, sizeof status);
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        tc_resp_fail(resp, rc);
        return rc;
    }
    if (!apikey_creator_allowed(rc == TC_OK ? role : NULL, rc == TC_OK ? status : NULL)) {
        tc_resp_error(resp, 403, "forbidden", "%s", refusal);
        return TC_EDENIED;
    }
    return TC_OK;
}

int seed_state(const cJSON *state, cJSON **out)
{
    *out = cJSON_Duplicate(state, 1);
    if (!*out)
        return TC_ENOMEM;
    cJSON_DeleteItemFromObject(*out, "version");
    return cJSON_AddNumberToObject(*out, "version", 0) ? TC_OK : TC_ENOMEM;
}

static bool session_not_ended(auth_app_t *app, const tc_principal_t *p, tc_resp_t *resp)
{
    if (!p->sid[0])
        return true;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    bool ended = false;
    int rc = c ? store_session_ended(c, p->sid, &ended) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return false;
    }
    if (!ended)
        return true;
    tc_resp_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    tc_resp_error(resp, 401, "unauthorized", "Invalid or expired access token");
    return false;
}

bool require_person(auth_app_t *app, tc_req_t *req, tc_resp_t *resp)
{
    const tc_principal_t *p = tc_req_principal(req);
    if (!auth_principal_is_person(p)) {
        tc_resp_error(resp, 403, "forbidden",
                      "Only a signed-in person manages sessions, passwords, two-factor "
                      "authentication and API keys");
        return false;
    }
    return session_not_ended(app, p, resp);
}

int caller_account(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, account_t *out)
{
    const tc_principal_t *p = tc_req_principal(req);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    int rc = c ? store_account_get(app, c, p->sub, false, out) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK && rc != TC_ENOTFOUND) {
        tc_resp_fail(resp, rc);
        return rc;
    }
    bool found = rc == TC_OK && strcmp(out->org_id, p->org) == 0;
    switch (account_standing(out, found)) {
    case ACCOUNT_OK:
        return TC_OK;
    case ACCOUNT_UNKNOWN:
        tc_resp_error(resp, 403, "forbidden", "There is no account for this token");
        break;
    case ACCOUNT_DISABLED:
        tc_resp_error(resp, 403, "forbidden", "This account is suspended or deleted");
        break;
    }
    account_clear(out);
    return TC_EDENIED;
}

int confirm_password(auth_app_t *app, tc_resp_t *resp, const account_t *acc, const char *password)
{
    char hash[24];
    int retry_after = 0;
    if (tc_email_index(app->email_index_key, acc->email ? acc->email : "", hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return TC_ERROR;
    }
    /* the same bucket as logins to the address: a stolen token brings no extra guesses */
    if (throttle(app, "login_account", hash, &app->login_account, &retry_after) != TC_OK) {
        respond_throttled(resp, retry_after);
        return TC_EAGAIN;
    }
    if (!acc->password_hash || pw_verify(acc->password_hash, password) != TC_OK) {
        tc_resp_error(resp, 403, "invalid_password", "The password is not correct");
        return TC_EDENIED;
    }
    return TC_OK;
}

/* Decodes one form-urlencoded component ('+' is a space) into a new string; NULL when it is
 * malformed (libcommon tc_url_decode refuses bad escapes and encoded NULs). */
char *form_decode(const char *raw, size_t len)
{
    char *plus = strndup(raw, len), *out = malloc(len + 1);
    if (!plus || !out) {
        free(plus);
        free(out);
        return NULL;
    }
    for (char *c = plus; *c; c++)
        if (*c == '+')
            *c = ' ';
    if (tc_url_decode(plus, len, out, len + 1) < 0) {
        free(out);
        out = NULL;
    }
    OPENSSL_cleanse(plus, len);
    free(plus);
    return out;
}

/* One field of an application/x-www-form-urlencoded body (decoded copy, caller frees). */
char *form_field(const char *body, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return form_decode(p + nl + 1, len - nl - 1);
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

tc_dbconn_t *admin_tx_begin(auth_app_t *app, const tc_principal_t *p, tc_resp_t *resp,
                            const char *refusal)
{
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (tx && admin_standing(tx, p, resp, refusal) != TC_OK) {
        tc_tx_abort(app->db, tx);
        tx = NULL;
    }
    return tx;
}

void respond_data(tc_resp_t *resp, int rc, cJSON *data)
{
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!body || !cJSON_AddItemToObject(body, "data", data)))
        rc = TC_ENOMEM;
    if (rc != TC_OK) {
        if (!cJSON_GetObjectItemCaseSensitive(body, "data"))
            cJSON_Delete(data);
        cJSON_Delete(body);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_resp_json(resp, 200, body);
}
