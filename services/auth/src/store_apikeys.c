/*
 * API keys: stored as the SHA-256 of the secret with a visible prefix; revocation and role
 * caps are rows changed in the caller's transaction.
 */
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_COLS                                                                                   \
    "id, org_id, name, prefix, role, array_to_json(scopes)::text, " TC_DB_TS(                      \
        "created_at") ", " TC_DB_TS("last_used_at") ", " TC_DB_TS("revoked_at") ", created_by"

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static int row_to_key(const PGresult *r, int i, apikey_t *k)
{
    memset(k, 0, sizeof *k);
    copy(k->id, sizeof k->id, tc_db_val(r, i, 0));
    copy(k->org_id, sizeof k->org_id, tc_db_val(r, i, 1));
    k->name = strdup(tc_db_val(r, i, 2));
    copy(k->prefix, sizeof k->prefix, tc_db_val(r, i, 3));
    copy(k->role, sizeof k->role, tc_db_val(r, i, 4));
    k->scopes_json = strdup(tc_db_val(r, i, 5));
    copy(k->created_at, sizeof k->created_at, tc_db_val(r, i, 6));
    copy(k->last_used_at, sizeof k->last_used_at, tc_db_val(r, i, 7));
    copy(k->revoked_at, sizeof k->revoked_at, tc_db_val(r, i, 8));
    copy(k->created_by, sizeof k->created_by, tc_db_val(r, i, 9));
    if (!k->name || !k->scopes_json) {
        apikey_clear(k);
        return TC_ENOMEM;
    }
    return TC_OK;
}

int store_apikey_insert(tc_dbconn_t *c, const char *id, const char *org_id, const char *created_by,
                        const char *name, const char *prefix, const char *key_hash,
                        const char *role, const char *const *scopes, int nscopes, apikey_t *out)
{
    /* a text[] literal; the scopes are vocabulary words (a-z 0-9 : . _ -), nothing to escape */
    tc_buf_t array = TC_BUF_INIT;
    tc_buf_putc(&array, '{');
    for (int i = 0; i < nscopes; i++)
        tc_buf_printf(&array, "%s\"%s\"", i ? "," : "", scopes[i]);
    tc_buf_putc(&array, '}');
    PGresult *r = NULL;
    int rc = array.oom ? TC_ENOMEM : TC_OK;
    if (rc == TC_OK)
        rc = tc_db_qp(
            c, &r, "apikey_insert",
            "INSERT INTO api_keys (id, org_id, created_by, name, prefix, key_hash, role, scopes)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8::text[]) RETURNING " KEY_COLS,
            id, org_id, created_by, name, prefix, key_hash, role, tc_buf_cstr(&array));
    if (rc == TC_OK)
        rc = PQntuples(r) == 1 ? row_to_key(r, 0, out) : TC_ERROR;
    PQclear(r);
    tc_buf_free(&array);
    return rc;
}

int store_apikey_list(tc_dbconn_t *c, const char *org_id, const char *after, int limit,
                      apikey_t **out, int *n)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "apikey_list",
                      "SELECT " KEY_COLS " FROM api_keys WHERE org_id=$1"
                      " AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3::int",
                      org_id, after && *after ? after : NULL, lim);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        rc = row_to_key(r, i, &(*out)[i]);
        if (rc == TC_OK)
            (*n)++;
    }
    PQclear(r);
    return rc;
}

int store_apikey_get(tc_dbconn_t *c, const char *id, const char *org_id, bool for_update,
                     apikey_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc =
        for_update
            ? tc_db_qp(c, &r, "apikey_get_lock",
                       "SELECT " KEY_COLS " FROM api_keys WHERE id=$1 AND org_id=$2 FOR UPDATE", id,
                       org_id)
            : tc_db_qp(c, &r, "apikey_get",
                       "SELECT " KEY_COLS " FROM api_keys WHERE id=$1 AND org_id=$2", id, org_id);
    if (rc == TC_OK)
        rc = PQntuples(r) == 1 ? row_to_key(r, 0, out) : TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_apikey_revoke(tc_dbconn_t *c, const char *id, const char *reason)
{
    return tc_db_qp(c, NULL, "apikey_revoke",
                    "UPDATE api_keys SET revoked_at=now(), revoke_reason=$2"
                    " WHERE id=$1 AND revoked_at IS NULL",
                    id, reason);
}

int store_apikey_introspect(tc_dbconn_t *c, const char *key_hash, apikey_t *out, char *scopes,
                            size_t scopeslen)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    /* revocation takes effect here at once; last use is written at most once a minute */
    int rc = tc_db_qp(c, &r, "apikey_introspect",
                      "UPDATE api_keys SET last_used_at = CASE WHEN last_used_at IS NULL"
                      " OR last_used_at < now() - interval '1 minute' THEN now()"
                      " ELSE last_used_at END"
                      " WHERE key_hash=$1 AND revoked_at IS NULL"
                      " RETURNING " KEY_COLS ", array_to_string(scopes, ' ')",
                      key_hash);
    if (rc == TC_OK)
        rc = PQntuples(r) == 1 ? row_to_key(r, 0, out) : TC_ENOTFOUND;
    if (rc == TC_OK)
        copy(scopes, scopeslen, tc_db_val(r, 0, 10));
    PQclear(r);
    return rc;
}

static int key_refs(PGresult *r, store_key_ref_t **out, int *n)
{
    int rows = PQntuples(r);
    *out = NULL;
    *n = 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        return TC_ENOMEM;
    for (int i = 0; i < rows; i++) {
        copy((*out)[i].id, sizeof(*out)[i].id, tc_db_val(r, i, 0));
        copy((*out)[i].org_id, sizeof(*out)[i].org_id, tc_db_val(r, i, 1));
    }
    *n = rows;
    return TC_OK;
}

int store_apikeys_revoke_by_creator(tc_dbconn_t *c, const char *user_id, const char *reason,
                                    store_key_ref_t **out, int *n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "apikeys_revoke_creator",
                      "UPDATE api_keys SET revoked_at=now(), revoke_reason=$2"
                      " WHERE created_by=$1 AND revoked_at IS NULL RETURNING id, org_id",
                      user_id, reason);
    if (rc == TC_OK)
        rc = key_refs(r, out, n);
    PQclear(r);
    return rc;
}

int store_apikeys_cap_role(tc_dbconn_t *c, const char *user_id, const char *role,
                           store_key_ref_t **out, int *n)
{
#define RANK(x)                                                                                    \
    "(CASE " x " WHEN 'viewer' THEN 1 WHEN 'editor' THEN 2 WHEN 'admin' THEN 3 ELSE 4 END)"
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "apikeys_cap_role",
                      "UPDATE api_keys SET role=$2 WHERE created_by=$1 AND revoked_at IS NULL"
                      " AND " RANK("role") " > " RANK("$2::text") " RETURNING id, org_id",
                      user_id, role);
#undef RANK
    if (rc == TC_OK)
        rc = key_refs(r, out, n);
    PQclear(r);
    return rc;
}
