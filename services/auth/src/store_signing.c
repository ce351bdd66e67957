/* Signing keys (private keys sealed by signer.c), and housekeeping of expired rows. */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNER_LOCK "auth_signing_keys"

int store_signing_lock(tc_dbconn_t *c)
{
    return tc_db_q(c, NULL, "SELECT pg_advisory_xact_lock(hashtext($1))", SIGNER_LOCK);
}

int store_signing_counts(tc_dbconn_t *c, int *current, int *next)
{
    PGresult *r = NULL;
    int rc = tc_db_exec(c, &r,
                        "SELECT count(*) FILTER (WHERE state='current'),"
                        " count(*) FILTER (WHERE state='next') FROM signing_keys");
    if (rc == TC_OK) {
        *current = (int)tc_db_int(r, 0, 0, 0);
        *next = (int)tc_db_int(r, 0, 1, 0);
    }
    PQclear(r);
    return rc;
}

int store_signing_insert(tc_dbconn_t *c, const char *kid, const char *private_enc,
                         const char *public_jwk, const char *state)
{
    return tc_db_q(c, NULL,
                   "INSERT INTO signing_keys (kid, private_enc, public_jwk, state, activated_at)"
                   " VALUES ($1,$2,$3,$4, CASE WHEN $4='current' THEN now() END)",
                   kid, private_enc, public_jwk, state);
}

void store_signing_keys_free(store_signing_key_t *keys, int n)
{
    for (int i = 0; keys && i < n; i++) {
        free(keys[i].private_enc);
        free(keys[i].public_jwk);
    }
    free(keys);
}

int store_signing_keys(tc_dbconn_t *c, int keep_s, store_signing_key_t **out, int *n)
{
    char keep[16];
    snprintf(keep, sizeof keep, "%d", keep_s);
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = tc_db_q(c, NULL,
                     "DELETE FROM signing_keys WHERE state='retired'"
                     " AND retired_at < now() - make_interval(secs => $1::int)",
                     keep);
    if (rc == TC_OK)
        rc = tc_db_q(
            c, &r,
            "SELECT kid, state, private_enc, public_jwk FROM signing_keys"
            " WHERE state <> 'retired' OR retired_at > now() - make_interval(secs => $1::int)"
            " ORDER BY CASE state WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END,"
            " created_at DESC",
            keep);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        store_signing_key_t *k = &(*out)[i];
        snprintf(k->kid, sizeof k->kid, "%s", tc_db_val(r, i, 0));
        snprintf(k->state, sizeof k->state, "%s", tc_db_val(r, i, 1));
        bool retired = strcmp(k->state, "retired") == 0;
        k->private_enc = retired ? NULL : strdup(tc_db_val(r, i, 2));
        k->public_jwk = strdup(tc_db_val(r, i, 3));
        (*n)++;
        if ((!retired && !k->private_enc) || !k->public_jwk)
            rc = TC_ENOMEM;
    }
    PQclear(r);
    if (rc != TC_OK) {
        store_signing_keys_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int store_signing_due(tc_dbconn_t *c, int hours)
{
    char h[16];
    snprintf(h, sizeof h, "%d", hours);
    PGresult *r = NULL;
    int rc = tc_db_q(c, &r,
                     "SELECT 1 FROM signing_keys WHERE state='current'"
                     " AND activated_at < now() - make_interval(hours => $1::int)",
                     h);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_signing_promote(tc_dbconn_t *c, char *kid, size_t kidlen)
{
    PGresult *r = NULL;
    int rc = tc_db_exec(c, NULL,
                        "UPDATE signing_keys SET state='retired', retired_at=now()"
                        " WHERE state='current'");
    if (rc == TC_OK)
        rc = tc_db_exec(c, &r,
                        "UPDATE signing_keys SET state='current', activated_at=now()"
                        " WHERE state='next' RETURNING kid");
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ECONFLICT; /* no next key: cannot rotate without publishing one first */
    if (rc == TC_OK && kid)
        snprintf(kid, kidlen, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_housekeeping(tc_dbconn_t *c)
{
    static const char *const stmts[] = {
        "DELETE FROM mfa_challenges WHERE expires_at < now() - interval '1 day'",
        "DELETE FROM password_resets WHERE expires_at < now() - interval '7 days'",
        "DELETE FROM invitations WHERE expires_at < now() - interval '30 days'",
        "DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'",
        "DELETE FROM sessions s WHERE revoked_at < now() - interval '30 days'"
        " AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)",
        "DELETE FROM sso_logins WHERE expires_at < now() - interval '1 day'",
        "DELETE FROM sso_grants WHERE expires_at < now() - interval '1 day'",
        "DELETE FROM saml_assertions_seen WHERE expires_at < now()",
    };
    int rc = TC_OK;
    for (size_t i = 0; i < TC_ARRAY_LEN(stmts); i++) {
        int one = tc_db_exec(c, NULL, stmts[i]);
        if (rc == TC_OK)
            rc = one;
    }
    return rc;
}
