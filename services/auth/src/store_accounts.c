/*
 * Accounts: auth's read model of users (fed by user-events, DESIGN §6) joined with the
 * credential auth owns, and the org read model (plan, name). Email and name are sealed with
 * the org's data key, as in the user service; the email's blind index (EMAIL_INDEX_KEY, shared
 * with the user service) finds an address's accounts — one per org that has it.
 */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCT_COLS "user_id, org_id, email_enc, name_enc, role, status, password_hash, version"

static void context(char *out, size_t n, const char *column, const char *user_id)
{
    snprintf(out, n, "accounts.%s|%s", column, user_id);
}

static int open_col(auth_app_t *app, const char *org, const char *user_id, const char *column,
                    const char *sealed, char **out)
{
    char ctx[128];
    *out = NULL;
    if (!sealed)
        return TC_OK;
    context(ctx, sizeof ctx, column, user_id);
    int rc = tc_keyring_open(app->keys, org, ctx, sealed, out);
    return rc == TC_EINVAL ? TC_ERROR : rc;
}

static int seal_col(auth_app_t *app, const char *org, const char *user_id, const char *column,
                    const char *plain, char **out)
{
    char ctx[128];
    context(ctx, sizeof ctx, column, user_id);
    return tc_keyring_seal(app->keys, org, ctx, plain, out);
}

static int row_to_account(auth_app_t *app, const PGresult *r, int row, account_t *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->user_id, sizeof a->user_id, "%s", tc_db_val(r, row, 0));
    snprintf(a->org_id, sizeof a->org_id, "%s", tc_db_val(r, row, 1));
    snprintf(a->role, sizeof a->role, "%s", tc_db_val(r, row, 4));
    snprintf(a->status, sizeof a->status, "%s", tc_db_val(r, row, 5));
    a->version = tc_db_int(r, row, 7, 0);
    const char *ph = tc_db_val(r, row, 6);
    int rc = open_col(app, a->org_id, a->user_id, "email", tc_db_val(r, row, 2), &a->email);
    if (rc == TC_OK)
        rc = open_col(app, a->org_id, a->user_id, "name", tc_db_val(r, row, 3), &a->name);
    if (rc == TC_OK && ph && !(a->password_hash = strdup(ph)))
        rc = TC_ENOMEM;
    if (rc != TC_OK)
        account_clear(a);
    return rc;
}

void store_accounts_free(account_t *accounts, int n)
{
    for (int i = 0; accounts && i < n; i++)
        account_clear(&accounts[i]);
    free(accounts);
}

int store_accounts_by_email(auth_app_t *app, tc_dbconn_t *c, const char *email_hash,
                            const char *org_id, account_t **out, int *n)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", STORE_MAX_ACCOUNTS_PER_EMAIL);
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "acct_by_email",
                      "SELECT " ACCT_COLS " FROM accounts WHERE email_hash=$1"
                      " AND status <> 'deleted' AND ($2::text IS NULL OR org_id=$2)"
                      " ORDER BY org_id LIMIT $3::int",
                      email_hash, org_id, limit);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        rc = row_to_account(app, r, i, &(*out)[i]);
        if (rc == TC_OK)
            (*n)++;
    }
    PQclear(r);
    if (rc != TC_OK) {
        store_accounts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int store_account_get(auth_app_t *app, tc_dbconn_t *c, const char *user_id, bool for_update,
                      account_t *out)
{
    PGresult *r = NULL;
    int rc = for_update ? tc_db_qp(c, &r, "acct_get_lock",
                                   "SELECT " ACCT_COLS " FROM accounts WHERE user_id=$1 FOR UPDATE",
                                   user_id)
                        : tc_db_qp(c, &r, "acct_get",
                                   "SELECT " ACCT_COLS " FROM accounts WHERE user_id=$1", user_id);
    memset(out, 0, sizeof *out);
    if (rc == TC_OK)
        rc = PQntuples(r) ? row_to_account(app, r, 0, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_account_set_password(tc_dbconn_t *c, const char *user_id, const char *phc)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "acct_set_password",
                      "UPDATE accounts SET password_hash=$2, password_changed_at=now(),"
                      " updated_at=now() WHERE user_id=$1",
                      user_id, phc);
    if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_account_standing(tc_dbconn_t *c, const char *user_id, const char *org_id, char *role,
                           size_t rolelen, char *status, size_t statuslen)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "acct_standing",
                      "SELECT role, status FROM accounts WHERE user_id=$1 AND org_id=$2 FOR SHARE",
                      user_id, org_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(role, rolelen, "%s", tc_db_val(r, 0, 0));
        snprintf(status, statuslen, "%s", tc_db_val(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

int store_account_apply(auth_app_t *app, tc_dbconn_t *c, const cJSON *user, char *prev_status,
                        size_t prevlen, bool *applied)
{
    const char *id = tc_json_get_str(user, "id"), *org = tc_json_get_str(user, "org_id");
    const char *email = tc_json_get_str(user, "email"), *name = tc_json_get_str(user, "name");
    const char *role = tc_json_get_str(user, "role"), *status = tc_json_get_str(user, "status");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(user, "version");
    *applied = false;
    prev_status[0] = '\0';
    if (!id || !org || !email || !name || !role || !status || !cJSON_IsNumber(ver))
        return TC_EINVAL;
    char version[32], hash[24];
    snprintf(version, sizeof version, "%lld", (long long)ver->valuedouble);
    char *email_enc = NULL, *name_enc = NULL;
    PGresult *r = NULL;
    int rc = tc_email_index(app->email_index_key, email, hash);
    if (rc == TC_OK)
        rc = seal_col(app, org, id, "email", email, &email_enc);
    if (rc == TC_OK)
        rc = seal_col(app, org, id, "name", name, &name_enc);
    /* the previous status tells the caller about deactivations */
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "acct_prev", "SELECT status FROM accounts WHERE user_id=$1 FOR UPDATE",
                      id);
    if (rc == TC_OK && PQntuples(r))
        snprintf(prev_status, prevlen, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    r = NULL;
    if (rc == TC_OK)
        rc =
            tc_db_qp(c, &r, "acct_apply",
                     "INSERT INTO accounts (user_id, org_id, email_enc, email_hash, name_enc, role,"
                     " status, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8::bigint)"
                     " ON CONFLICT (user_id) DO UPDATE SET org_id=EXCLUDED.org_id,"
                     " email_enc=EXCLUDED.email_enc, email_hash=EXCLUDED.email_hash,"
                     " name_enc=EXCLUDED.name_enc, role=EXCLUDED.role, status=EXCLUDED.status,"
                     " version=EXCLUDED.version, updated_at=now()"
                     " WHERE accounts.version < EXCLUDED.version",
                     id, org, email_enc, hash, name_enc, role, status, version);
    if (rc == TC_OK)
        *applied = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    free(email_enc);
    free(name_enc);
    return rc;
}

int store_account_activate(tc_dbconn_t *c, const char *user_id)
{
    return tc_db_qp(c, NULL, "acct_activate",
                    "UPDATE accounts SET status='active' WHERE user_id=$1 AND status='invited'",
                    user_id);
}

int store_account_forget(tc_dbconn_t *c, const char *user_id)
{
    static const char *const stmts[] = {
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id=$1)",
        "DELETE FROM sessions WHERE user_id=$1",
        "DELETE FROM mfa_totp WHERE user_id=$1",
        "DELETE FROM recovery_codes WHERE user_id=$1",
        "DELETE FROM mfa_challenges WHERE user_id=$1",
        "DELETE FROM invitations WHERE user_id=$1",
        "DELETE FROM password_resets WHERE user_id=$1",
        "DELETE FROM accounts WHERE user_id=$1",
    };
    int rc = TC_OK;
    for (size_t i = 0; rc == TC_OK && i < TC_ARRAY_LEN(stmts); i++)
        rc = tc_db_query(c, NULL, NULL, stmts[i], 1, TC_DB_PARAMS(user_id));
    return rc;
}

int store_account_lock(tc_dbconn_t *c, const char *user_id)
{
    return tc_db_qp(c, NULL, "acct_lock", "SELECT 1 FROM accounts WHERE user_id=$1 FOR UPDATE",
                    user_id);
}

int store_org_plan(tc_dbconn_t *c, const char *org_id, char *plan, size_t n)
{
    PGresult *r = NULL;
    snprintf(plan, n, "free");
    int rc = tc_db_qp(c, &r, "org_plan", "SELECT plan FROM orgs WHERE org_id=$1", org_id);
    if (rc == TC_OK && PQntuples(r))
        snprintf(plan, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_org_name(tc_dbconn_t *c, const char *org_id, char *name, size_t n)
{
    PGresult *r = NULL;
    name[0] = '\0';
    int rc = tc_db_qp(c, &r, "org_name", "SELECT name FROM orgs WHERE org_id=$1", org_id);
    if (rc == TC_OK && PQntuples(r) && tc_db_val(r, 0, 0))
        snprintf(name, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_org_apply(tc_dbconn_t *c, const cJSON *org)
{
    const char *id = tc_json_get_str(org, "id"), *plan = tc_json_get_str(org, "plan");
    const char *name = tc_json_get_str(org, "name");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(org, "version");
    if (!id || !plan || !cJSON_IsNumber(ver))
        return TC_EINVAL;
    char version[32];
    snprintf(version, sizeof version, "%lld", (long long)ver->valuedouble);
    return tc_db_qp(c, NULL, "org_apply",
                    "INSERT INTO orgs (org_id, plan, name, version) VALUES ($1,$2,$3,$4::bigint)"
                    " ON CONFLICT (org_id) DO UPDATE SET name=EXCLUDED.name,"
                    " plan=CASE WHEN orgs.plan_version = 0 THEN EXCLUDED.plan ELSE orgs.plan END,"
                    " version=EXCLUDED.version WHERE orgs.version < EXCLUDED.version",
                    id, plan, name, version);
}

int store_org_plan_apply(tc_dbconn_t *c, const char *org_id, const char *plan, int64_t version,
                         char *previous, size_t n, bool *changed)
{
    PGresult *r = NULL;
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    *changed = false;
    /* the row locked first, so the plan it held before is the one this update replaces */
    int rc =
        tc_db_qp(c, &r, "org_plan_was", "SELECT plan FROM orgs WHERE org_id=$1 FOR UPDATE", org_id);
    snprintf(previous, n, "%s", rc == TC_OK && PQntuples(r) ? tc_db_val(r, 0, 0) : "free");
    PQclear(r);
    r = NULL;
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "org_plan_apply",
                      "INSERT INTO orgs (org_id, plan, version, plan_version)"
                      " VALUES ($1, $2, 0, $3::bigint)"
                      " ON CONFLICT (org_id) DO UPDATE SET plan=EXCLUDED.plan,"
                      " plan_version=EXCLUDED.plan_version"
                      " WHERE orgs.plan_version < EXCLUDED.plan_version RETURNING 1",
                      org_id, plan, v);
    if (rc == TC_OK)
        *changed = PQntuples(r) > 0 && strcmp(previous, plan) != 0;
    PQclear(r);
    return rc;
}
