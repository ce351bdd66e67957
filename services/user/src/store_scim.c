/*
 * SCIM provisioning: each org's SCIM token (its SHA-256 only) and the identity provider's
 * externalId of the members it provisions.
 */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <string.h>

int store_scim_token_org(tc_dbconn_t *c, const char *token_hash, char *org_id, size_t n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "scim_token_org", "SELECT org_id FROM scim_tokens WHERE token_hash=$1",
                      token_hash);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        snprintf(org_id, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_scim_token_set(tc_dbconn_t *c, const char *org_id, const char *token_hash,
                         const char *prefix, const char *created_by, char *created_at, size_t n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "scim_token_set",
                      "INSERT INTO scim_tokens (org_id, token_hash, prefix, created_by)"
                      " VALUES ($1,$2,$3,$4) ON CONFLICT (org_id) DO UPDATE SET"
                      " token_hash=EXCLUDED.token_hash, prefix=EXCLUDED.prefix,"
                      " created_by=EXCLUDED.created_by, created_at=now()"
                      " RETURNING " TC_DB_TS("created_at"),
                      org_id, token_hash, prefix, created_by);
    if (rc == TC_OK)
        snprintf(created_at, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_scim_token_delete(tc_dbconn_t *c, const char *org_id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "scim_token_delete",
                      "DELETE FROM scim_tokens WHERE org_id=$1 RETURNING org_id", org_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_scim_token_revoke_by(tc_dbconn_t *c, const char *org_id, const char *created_by,
                               bool *revoked)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "scim_token_revoke_by",
                      "DELETE FROM scim_tokens WHERE org_id=$1 AND created_by=$2 RETURNING org_id",
                      org_id, created_by);
    *revoked = rc == TC_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_scim_external_get(tc_dbconn_t *c, const char *user_id, char *out, size_t n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "scim_external_get",
                      "SELECT external_id FROM scim_users WHERE user_id=$1", user_id);
    out[0] = '\0';
    if (rc == TC_OK && PQntuples(r) == 1)
        snprintf(out, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

int store_scim_external_set(tc_dbconn_t *c, const char *org_id, const char *user_id,
                            const char *external_id)
{
    if (!external_id)
        return tc_db_qp(c, NULL, "scim_external_clear", "DELETE FROM scim_users WHERE user_id=$1",
                        user_id);
    return tc_db_qp(c, NULL, "scim_external_set",
                    "INSERT INTO scim_users (user_id, org_id, external_id) VALUES ($1,$2,$3)"
                    " ON CONFLICT (user_id) DO UPDATE SET external_id=EXCLUDED.external_id",
                    user_id, org_id, external_id);
}
