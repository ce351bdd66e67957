/*
 * POST /v1/auth/signup: a new organization and its owner (DESIGN §6). Auth asks the user
 * service for the org and owner, stores the credential and starts a session.
 *
 * Safe to retry by its content: auth calls the user service with an Idempotency-Key derived
 * from the sign-up (owner email, org name, owner name), so a repeat gets the org made the
 * first time, and auth then finds the password stored — the same one means the same sign-up
 * (200, a new session), another one someone else (409). A sign-up the user service completed
 * but auth did not (its answer lost, a crash) is completed by the repeat (201). The sign-up
 * itself takes no Idempotency-Key: its answer holds fresh credentials, which are never stored
 * for a replay. An email that has accounts in other orgs signs up like any other: accounts are
 * per organization (README "Identity model").
 */
#include "handlers.h"
#include "passwords.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_tx.h"
#include "throttle.h"
#include "user_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Seeds the read model with the owner and the org, then sets the password unless an earlier
 * attempt already did. A stored password that matches is the same sign-up retried; one that
 * does not is someone else. So is an owner who has turned on a second factor since: only a
 * login may start their session. */
static int store_owner_credential(auth_app_t *app, tc_dbconn_t *tx, const cJSON *created,
                                  const char *password, const char *phc, bool *fresh)
{
    *fresh = false;
    cJSON *owner = NULL, *org = NULL;
    char prev[16];
    bool applied = false, enrolled = false;
    int rc = seed_state(cJSON_GetObjectItem(created, "owner"), &owner);
    if (rc == TC_OK)
        rc = seed_state(cJSON_GetObjectItem(created, "org"), &org);
    if (rc == TC_OK)
        rc = store_account_apply(app, tx, owner, prev, sizeof prev, &applied);
    if (rc == TC_OK)
        rc = store_org_apply(tx, org);
    account_t stored = {0};
    if (rc == TC_OK)
        rc = store_account_get(app, tx, tc_json_get_str(owner, "id"), true, &stored);
    if (rc == TC_OK && stored.password_hash) {
        rc = pw_verify(stored.password_hash, password) == TC_OK
                 ? store_mfa_enrolled(tx, stored.user_id, &enrolled)
                 : TC_ECONFLICT;
        if (rc == TC_OK && enrolled)
            rc = TC_ECONFLICT;
    } else if (rc == TC_OK) {
        rc = store_account_set_password(tx, stored.user_id, phc);
        *fresh = rc == TC_OK;
    }
    account_clear(&stored);
    cJSON_Delete(owner);
    cJSON_Delete(org);
    return rc;
}

static void respond_email_taken(tc_resp_t *resp)
{
    tc_resp_error(resp, 409, "email_taken", "An account with this email address already exists");
}

void h_signup(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    auth_app_t *app = ud;
    signup_t in;
    char phc[PW_PHC_MAX], hash[24];
    int retry_after = 0, status = 0;
    if (validate_signup(req, resp, &in) != TC_OK)
        return;
    if (tc_email_index(app->email_index_key, in.email, hash) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        return;
    }
    /* a retried sign-up checks the owner's password: it shares the login's per-account limit */
    if (throttle(app, "signup", tc_req_client_ip(req), &app->login_ip, &retry_after) != TC_OK ||
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
        respond_email_taken(resp);
        goto cleanup;
    }
    if ((status != 200 && status != 201) ||
        owner_from(cJSON_GetObjectItem(created, "owner"), in.email, in.name, &acc) != TC_OK) {
        char st[24];
        tc_log_kv(TC_LOG_ERROR, "user service answered sign-up unexpectedly", "status",
                  tc_log_int(st, status), NULL);
        tc_resp_fail(resp, TC_ERROR);
        goto cleanup;
    }
    /* hashing takes tens of milliseconds: never while holding a transaction */
    if ((rc = pw_hash(&app->argon2, in.password, phc, sizeof phc)) != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        goto cleanup;
    bool fresh = false;
    rc = store_owner_credential(app, tx, created, in.password, phc, &fresh);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            respond_email_taken(resp);
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
    grant_session(app, req, resp, &acc, PROOF_PASSWORD, fresh ? 201 : 200, extra);
cleanup:
    cJSON_Delete(created);
    account_clear(&acc);
}
