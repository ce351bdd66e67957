/*
 * The second factor: TOTP enrolments (secrets sealed with the org's data key, bound to the
 * user) and recovery codes (SHA-256 only).
 */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH(col) "floor(extract(epoch FROM " col "))::bigint"

static void context(char *out, size_t n, const char *user_id)
{
    snprintf(out, n, "mfa_totp|%s", user_id);
}

static int open_secret(auth_app_t *app, const account_t *acc, const char *sealed, char **out)
{
    char ctx[128];
    context(ctx, sizeof ctx, acc->user_id);
    int rc = tc_keyring_open(app->keys, acc->org_id, ctx, sealed, out);
    return rc == TC_EINVAL ? TC_ERROR : rc;
}

int store_mfa_enrolled(tc_dbconn_t *c, const char *user_id, bool *enrolled)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "mfa_enrolled",
                 "SELECT 1 FROM mfa_totp WHERE user_id=$1 AND confirmed_at IS NOT NULL", user_id);
    *enrolled = rc == TC_OK && PQntuples(r) == 1;
    PQclear(r);
    return rc;
}

/* The enrolment row one statement finds (secret_enc and two numbers), locked; the secret
 * opened. TC_ENOTFOUND without one. */
static int locked_secret(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, const char *name,
                         const char *sql, char **secret, int64_t *a, int64_t *b)
{
    PGresult *r = NULL;
    *secret = NULL;
    int rc = tc_db_query(c, &r, name, sql, 1, TC_DB_PARAMS(acc->user_id));
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        *a = tc_db_int(r, 0, 1, 0);
        *b = tc_db_int(r, 0, 2, 0);
        rc = open_secret(app, acc, tc_db_val(r, 0, 0), secret);
    }
    PQclear(r);
    return rc;
}

int store_mfa_confirmed(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, char **secret,
                        int64_t *last_step)
{
    int64_t unused = 0;
    return locked_secret(app, c, acc, "mfa_get",
                         "SELECT secret_enc, last_step, 0 FROM mfa_totp WHERE user_id=$1"
                         " AND confirmed_at IS NOT NULL FOR UPDATE",
                         secret, last_step, &unused);
}

int store_mfa_set_step(tc_dbconn_t *c, const char *user_id, int64_t step)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)step);
    return tc_db_qp(c, NULL, "mfa_step",
                    "UPDATE mfa_totp SET last_step=$2::bigint WHERE user_id=$1", user_id, s);
}

int store_mfa_start(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, const char *secret)
{
    char ctx[128], *sealed = NULL;
    context(ctx, sizeof ctx, acc->user_id);
    int rc = tc_keyring_seal(app->keys, acc->org_id, ctx, secret, &sealed);
    PGresult *r = NULL;
    /* a confirmed enrolment is never replaced: it is disabled first */
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "mfa_start",
                      "INSERT INTO mfa_totp (user_id, secret_enc) VALUES ($1,$2)"
                      " ON CONFLICT (user_id) DO UPDATE SET secret_enc=EXCLUDED.secret_enc,"
                      " last_step=0, created_at=now() WHERE mfa_totp.confirmed_at IS NULL",
                      acc->user_id, sealed);
    if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
        rc = TC_ECONFLICT;
    PQclear(r);
    free(sealed);
    return rc;
}

int store_mfa_pending(auth_app_t *app, tc_dbconn_t *c, const account_t *acc, char **secret,
                      int64_t *started, int64_t *now)
{
    return locked_secret(
        app, c, acc, "mfa_pending",
        "SELECT secret_enc, " EPOCH("created_at") ", " EPOCH(
            "now()") " FROM mfa_totp WHERE user_id=$1 AND confirmed_at IS NULL FOR UPDATE",
        secret, started, now);
}

int store_mfa_confirm(tc_dbconn_t *c, const char *user_id, int64_t step)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)step);
    return tc_db_qp(c, NULL, "mfa_confirm",
                    "UPDATE mfa_totp SET confirmed_at=now(), last_step=$2::bigint WHERE user_id=$1",
                    user_id, s);
}

int store_mfa_remove(tc_dbconn_t *c, const char *user_id)
{
    int rc = tc_db_qp(c, NULL, "mfa_delete", "DELETE FROM mfa_totp WHERE user_id=$1", user_id);
    if (rc == TC_OK)
        rc = tc_db_qp(c, NULL, "recovery_clear", "DELETE FROM recovery_codes WHERE user_id=$1",
                      user_id);
    return rc;
}

int store_recovery_replace(tc_dbconn_t *c, const char *user_id, char hashes[][TC_SHA256_HEX_LEN],
                           int n)
{
    int rc =
        tc_db_qp(c, NULL, "recovery_clear", "DELETE FROM recovery_codes WHERE user_id=$1", user_id);
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = tc_db_qp(c, NULL, "recovery_insert",
                      "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1,$2)", user_id,
                      hashes[i]);
    return rc;
}

int store_recovery_use(tc_dbconn_t *c, const char *user_id, const char *code_hash)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "recovery_use",
                      "UPDATE recovery_codes SET used_at=now() WHERE user_id=$1 AND code_hash=$2"
                      " AND used_at IS NULL",
                      user_id, code_hash);
    if (rc == TC_OK && strcmp(PQcmdTuples(r), "1") != 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}
