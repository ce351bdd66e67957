/*
 * The end of a single sign-on login, whichever protocol vouched for the person (sso_finish.h):
 * their account in the connection's org (or a member provisioned now), the provider's subject
 * linked to it, and a one-time code for the app — or the refusal, recorded and shown.
 */
#include "sso_finish.h"

#include "events_out.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_log.h"
#include "tokens.h"
#include "user_client.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The browser goes on to the app: <APP_URL>/login/sso#<what>=<value>. A fragment, so neither
 * the code nor the reason reaches a server's logs or a Referer. */
static void redirect_to_app(auth_app_t *app, tc_resp_t *resp, const char *what, const char *value)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_printf(&b, "%s/login/sso#%s=", app->app_url, what);
    tc_buf_url_encode(&b, value);
    char *location = tc_buf_detach(&b);
    if (!location) {
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    tc_resp_header(resp, "Location", location);
    tc_resp_header(resp, "Cache-Control", "no-store");
    tc_resp_header(resp, "Referrer-Policy", "no-referrer");
    tc_resp_empty(resp, 302);
    OPENSSL_cleanse(location, strlen(location));
    free(location);
}

/* A login the provider answered but we refuse: recorded (its own short transaction) and the
 * browser sent to the app with the reason. */
void sso_refuse(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const sso_connection_t *conn,
                const char *reason, const char *subject, const char *detail)
{
    tc_log_kv(TC_LOG_INFO, "single sign-on refused", "connection", conn->id, "reason", reason,
              "detail", detail ? detail : "", NULL);
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    int rc = tx ? tc_db_begin(tx) : TC_EUNAVAIL;
    if (rc == TC_OK)
        rc = events_sso_login_failed(tx, conn->org_id, conn->id, reason, subject,
                                     tc_req_client_ip(req));
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else if (tx)
        tc_db_rollback(tx);
    if (tx)
        tc_db_release(app->db, tx);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        return;
    }
    redirect_to_app(app, resp, "error", reason);
}

/* The verified identity's account in the connection's org. */
static const char *find_account(auth_app_t *app, const sso_connection_t *conn,
                                const sso_identity_t *who, account_t *out, int *rc)
{
    char hash[24];
    account_t *accs = NULL;
    int n = 0;
    const char *why = "no_account";
    memset(out, 0, sizeof *out);
    if ((*rc = tc_email_index(app->email_index_key, who->email, hash)) != TC_OK)
        return NULL;
    tc_dbconn_t *c = tc_db_acquire(app->db);
    *rc = c ? store_accounts_by_email(app, c, hash, conn->org_id, &accs, &n) : TC_EUNAVAIL;
    for (int i = 0; *rc == TC_OK && i < n; i++) {
        bool open = false;
        if (strcmp(accs[i].status, "invited") == 0)
            *rc = store_invitation_open(c, accs[i].user_id, &open);
        if (*rc != TC_OK)
            break;
        const char *refusal = sso_account_refusal(&accs[i], open);
        if (refusal) {
            why = refusal;
            continue;
        }
        *out = accs[i]; /* moved out: its strings now belong to out */
        memset(&accs[i], 0, sizeof accs[i]);
        why = NULL;
        break;
    }
    if (c)
        tc_db_release(app->db, c);
    store_accounts_free(accs, n);
    return *rc == TC_OK ? why : NULL;
}

/* Someone the connection's provider vouches for, with no account in the org, made a member
 * (the connection provisions unknown users, with its default role or, through SAML, the role
 * its groups give): the user service creates
 * the member — or answers the live one of that email, when a sign-in is retried — and the read
 * model learns it now, ahead of the user.created that confirms it. */
static const char *provision(auth_app_t *app, const sso_connection_t *conn,
                             const sso_identity_t *who, const char *role, account_t *acc, int *rc)
{
    char name[SSO_NAME_MAX], prev[16];
    cJSON *body = NULL, *state = NULL;
    int status = 0;
    bool applied = false;
    if (who->name[0])
        snprintf(name, sizeof name, "%s", who->name);
    else
        snprintf(name, sizeof name, "%.*s", (int)strcspn(who->email, "@"), who->email);
    *rc = uc_provision_member(app, conn->org_id, who->email, name, role, &body, &status);
    if (*rc == TC_ENOMEM)
        return NULL;
    if (*rc != TC_OK || (status != 200 && status != 201)) {
        tc_log_kv(TC_LOG_WARN, "just-in-time provisioning failed", "connection", conn->id, "status",
                  status ? (status >= 500 ? "5xx" : "4xx") : tc_strerror(*rc), NULL);
        cJSON_Delete(body);
        *rc = TC_OK;
        return "provisioning_failed";
    }
    *rc = seed_state(body, &state);
    cJSON_Delete(body);
    tc_dbconn_t *tx = *rc == TC_OK ? tc_db_acquire(app->db) : NULL;
    if (*rc == TC_OK)
        *rc = tx ? tc_db_begin(tx) : TC_EUNAVAIL;
    if (*rc == TC_OK)
        *rc = store_account_apply(app, tx, state, prev, sizeof prev, &applied);
    if (*rc == TC_OK)
        *rc = tc_db_commit(tx);
    else if (tx)
        tc_db_rollback(tx);
    if (tx)
        tc_db_release(app->db, tx);
    cJSON_Delete(state);
    return *rc == TC_OK ? find_account(app, conn, who, acc, rc) : NULL;
}

/* "subject_mismatch" when the account was linked to another subject of this connection, or
 * the subject to another account (in tx, or a connection of its own when tx is NULL). */
static const char *identity_refusal(auth_app_t *app, tc_dbconn_t *tx, const char *conn_id,
                                    const char *user_id, const char *subject, int *rc)
{
    bool fits = false;
    tc_dbconn_t *c = tx ? tx : tc_db_acquire(app->db);
    *rc = c ? store_sso_identity_fits(c, conn_id, user_id, subject, &fits) : TC_EUNAVAIL;
    if (c && !tx)
        tc_db_release(app->db, c);
    return *rc == TC_OK && !fits ? "subject_mismatch" : NULL;
}

void sso_finish(auth_app_t *app, tc_req_t *req, tc_resp_t *resp, const sso_connection_t *conn,
                const sso_identity_t *who, const char *role, const char *browser_hash)
{
    char grant[AUTH_SECRET_LEN], grant_hash[TC_SHA256_HEX_LEN];
    account_t acc = {0};
    int rc = TC_OK;
    const char *reason = find_account(app, conn, who, &acc, &rc);
    if (reason && rc == TC_OK && conn->jit && strcmp(reason, "no_account") == 0)
        reason = provision(app, conn, who, role, &acc, &rc);
    if (!reason && rc == TC_OK)
        reason = identity_refusal(app, NULL, conn->id, acc.user_id, who->subject, &rc);
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (reason) {
        sso_refuse(app, req, resp, conn, reason, who->subject, NULL);
        goto cleanup;
    }
    store_sso_grant_t g = {0};
    snprintf(g.browser_hash, sizeof g.browser_hash, "%s", browser_hash ? browser_hash : "");
    snprintf(g.connection_id, sizeof g.connection_id, "%s", conn->id);
    snprintf(g.user_id, sizeof g.user_id, "%s", acc.user_id);
    snprintf(g.org_id, sizeof g.org_id, "%s", acc.org_id);
    snprintf(g.subject, sizeof g.subject, "%s", who->subject);
    tc_dbconn_t *c = tc_db_acquire(app->db);
    rc = tok_secret("ssg", grant, grant_hash);
    if (rc == TC_OK)
        rc = c ? store_sso_grant_insert(c, grant_hash, &g, app->sso_grant_ttl_s) : TC_EUNAVAIL;
    if (c)
        tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        redirect_to_app(app, resp, "code", grant);
    OPENSSL_cleanse(grant, sizeof grant);
cleanup:
    account_clear(&acc);
}
