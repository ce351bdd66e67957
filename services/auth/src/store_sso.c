/*
 * Single sign-on: connections (the client secret sealed with the org's data key, bound to the
 * connection's id), logins in flight and the one-time grants that finish them. A login and a
 * grant are taken by one UPDATE that marks them used, so each is good once.
 */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_keyring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_COLS                                                                                  \
    "id, org_id, name, issuer, client_id, authorization_endpoint, token_endpoint, jwks_uri,"       \
    " userinfo_endpoint, sso_required, enabled, " TC_DB_TS("created_at") ", " TC_DB_TS(            \
        "updated_at") ", client_secret, iss_required, jit, default_role, type,"                    \
                      " saml_idp_metadata, saml_group_roles::text, saml_idp_initiated,"            \
                      " saml_metadata_url"

static void secret_context(char *ctx, size_t n, const char *conn_id)
{
    snprintf(ctx, n, "sso_client_secret|%s", conn_id);
}

static char *dup_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(tc_db_val(r, row, col));
}

/* The OAuth columns of a row (an OpenID connection has them all, the table's shape check says;
 * a GitHub one no key set). */
static int row_to_oidc(const PGresult *r, int i, sso_connection_t *c)
{
    c->client_id = dup_or_null(r, i, 4);
    c->ep.authorization_endpoint = dup_or_null(r, i, 5);
    c->ep.token_endpoint = dup_or_null(r, i, 6);
    c->ep.jwks_uri = dup_or_null(r, i, 7);
    c->ep.userinfo_endpoint = dup_or_null(r, i, 8);
    c->ep.iss_required = strcmp(tc_db_val(r, i, 14), "t") == 0;
    return c->client_id && c->ep.authorization_endpoint && c->ep.token_endpoint &&
                   (PQgetisnull(r, i, 7) || c->ep.jwks_uri) &&
                   (PQgetisnull(r, i, 8) || c->ep.userinfo_endpoint)
               ? TC_OK
               : TC_ENOMEM;
}

static int row_to_saml(const PGresult *r, int i, sso_connection_t *c)
{
    c->saml = true;
    c->saml_metadata = dup_or_null(r, i, 18);
    c->group_roles = cJSON_Parse(tc_db_val(r, i, 19));
    c->idp_initiated = strcmp(tc_db_val(r, i, 20), "t") == 0;
    c->saml_metadata_url = dup_or_null(r, i, 21);
    return c->saml_metadata && c->group_roles && (PQgetisnull(r, i, 21) || c->saml_metadata_url)
               ? TC_OK
               : TC_ENOMEM;
}

static int row_to_conn(auth_app_t *app, const PGresult *r, int i, bool with_secret,
                       sso_connection_t *c)
{
    memset(c, 0, sizeof *c);
    bool saml = strcmp(tc_db_val(r, i, 17), "saml") == 0;
    c->github = strcmp(tc_db_val(r, i, 17), "github") == 0;
    snprintf(c->id, sizeof c->id, "%s", tc_db_val(r, i, 0));
    snprintf(c->org_id, sizeof c->org_id, "%s", tc_db_val(r, i, 1));
    c->name = strdup(tc_db_val(r, i, 2));
    c->issuer = strdup(tc_db_val(r, i, 3));
    c->sso_required = strcmp(tc_db_val(r, i, 9), "t") == 0;
    c->enabled = strcmp(tc_db_val(r, i, 10), "t") == 0;
    c->jit = strcmp(tc_db_val(r, i, 15), "t") == 0;
    snprintf(c->default_role, sizeof c->default_role, "%s", tc_db_val(r, i, 16));
    snprintf(c->created_at, sizeof c->created_at, "%s", tc_db_val(r, i, 11));
    snprintf(c->updated_at, sizeof c->updated_at, "%s", tc_db_val(r, i, 12));
    int rc = c->name && c->issuer ? TC_OK : TC_ENOMEM;
    if (rc == TC_OK)
        rc = saml ? row_to_saml(r, i, c) : row_to_oidc(r, i, c);
    if (rc == TC_OK && with_secret && !saml) {
        char ctx[128];
        secret_context(ctx, sizeof ctx, c->id);
        rc = tc_keyring_open(app->keys, c->org_id, ctx, tc_db_val(r, i, 13), &c->client_secret);
        if (rc == TC_EINVAL)
            rc = TC_ERROR; /* a stored secret that does not open is our fault, not the caller's */
    }
    if (rc != TC_OK)
        sso_connection_clear(c);
    return rc;
}

static int seal_secret(auth_app_t *app, const sso_connection_t *c, char **out)
{
    char ctx[128];
    secret_context(ctx, sizeof ctx, c->id);
    return tc_keyring_seal(app->keys, c->org_id, ctx, c->client_secret, out);
}

static int insert_saml(tc_dbconn_t *c, sso_connection_t *conn, PGresult **r)
{
    char *roles = cJSON_PrintUnformatted(conn->group_roles);
    if (!roles)
        return TC_ENOMEM;
    int rc = tc_db_qp(c, r, "sso_insert_saml",
                      "INSERT INTO sso_connections (id, org_id, type, name, issuer, sso_required,"
                      " jit, default_role, saml_idp_metadata, saml_group_roles,"
                      " saml_idp_initiated, saml_metadata_url)"
                      " VALUES ($1,$2,'saml',$3,$4,$5::boolean,$6::boolean,$7,$8,$9::jsonb,"
                      " $10::boolean, $11)"
                      " RETURNING " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at"),
                      conn->id, conn->org_id, conn->name, conn->issuer,
                      conn->sso_required ? "true" : "false", conn->jit ? "true" : "false",
                      conn->default_role, conn->saml_metadata, roles,
                      conn->idp_initiated ? "true" : "false", conn->saml_metadata_url);
    free(roles);
    return rc;
}

static int insert_oidc(auth_app_t *app, tc_dbconn_t *c, sso_connection_t *conn, PGresult **r)
{
    char *sealed = NULL;
    int rc = seal_secret(app, conn, &sealed);
    if (rc == TC_OK)
        rc = tc_db_qp(c, r, "sso_insert",
                      "INSERT INTO sso_connections (id, org_id, type, name, issuer, client_id,"
                      " client_secret, authorization_endpoint, token_endpoint, jwks_uri,"
                      " userinfo_endpoint, sso_required, iss_required, jit, default_role)"
                      " VALUES ($1,$2,$15,$3,$4,$5,$6,$7,$8,$9,$10,$11::boolean,$12::boolean,"
                      " $13::boolean, $14)"
                      " RETURNING " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at"),
                      conn->id, conn->org_id, conn->name, conn->issuer, conn->client_id, sealed,
                      conn->ep.authorization_endpoint, conn->ep.token_endpoint, conn->ep.jwks_uri,
                      conn->ep.userinfo_endpoint, conn->sso_required ? "true" : "false",
                      conn->ep.iss_required ? "true" : "false", conn->jit ? "true" : "false",
                      conn->default_role, conn->github ? "github" : "oidc");
    free(sealed);
    return rc;
}

int store_sso_insert(auth_app_t *app, tc_dbconn_t *c, sso_connection_t *conn)
{
    PGresult *r = NULL;
    int rc = conn->saml ? insert_saml(c, conn, &r) : insert_oidc(app, c, conn, &r);
    if (rc == TC_OK) {
        snprintf(conn->created_at, sizeof conn->created_at, "%s", tc_db_val(r, 0, 0));
        snprintf(conn->updated_at, sizeof conn->updated_at, "%s", tc_db_val(r, 0, 1));
    }
    PQclear(r);
    return rc;
}

int store_sso_count(tc_dbconn_t *c, const char *org_id, int *n)
{
    PGresult *r = NULL;
    /* serialises an org's creations, so two cannot both see room under the limit */
    int rc =
        tc_db_qp(c, NULL, "sso_org_lock", "SELECT pg_advisory_xact_lock(hashtext($1))", org_id);
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "sso_count", "SELECT count(*) FROM sso_connections WHERE org_id=$1",
                      org_id);
    *n = rc == TC_OK ? (int)tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    return rc;
}

int store_sso_get(auth_app_t *app, tc_dbconn_t *c, const char *id, const char *org_id,
                  bool with_secret, bool for_update, sso_connection_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = for_update ? tc_db_qp(c, &r, "sso_get_upd",
                                   "SELECT " CONN_COLS " FROM sso_connections WHERE id=$1"
                                   " AND ($2::text IS NULL OR org_id=$2) FOR UPDATE",
                                   id, org_id)
                        : tc_db_qp(c, &r, "sso_get",
                                   "SELECT " CONN_COLS " FROM sso_connections WHERE id=$1"
                                   " AND ($2::text IS NULL OR org_id=$2)",
                                   id, org_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        rc = row_to_conn(app, r, 0, with_secret, out);
    PQclear(r);
    return rc;
}

int store_sso_list(auth_app_t *app, tc_dbconn_t *c, const char *org_id, sso_connection_t **out,
                   int *n)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc =
        tc_db_qp(c, &r, "sso_list",
                 "SELECT " CONN_COLS " FROM sso_connections WHERE org_id=$1 ORDER BY id", org_id);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++)
        if ((rc = row_to_conn(app, r, i, false, &(*out)[i])) == TC_OK)
            (*n)++;
    if (rc != TC_OK) {
        store_sso_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    PQclear(r);
    return rc;
}

void store_sso_free(sso_connection_t *conns, int n)
{
    for (int i = 0; conns && i < n; i++)
        sso_connection_clear(&conns[i]);
    free(conns);
}

int store_sso_update(auth_app_t *app, tc_dbconn_t *c, sso_connection_t *conn)
{
    char *sealed = NULL, *roles = NULL;
    PGresult *r = NULL;
    int rc = conn->saml ? TC_OK : seal_secret(app, conn, &sealed);
    if (rc == TC_OK && conn->saml && !(roles = cJSON_PrintUnformatted(conn->group_roles)))
        rc = TC_ENOMEM;
    if (rc == TC_OK)
        rc = tc_db_qp(c, &r, "sso_update",
                      "UPDATE sso_connections SET name=$2, client_id=$3, client_secret=$4,"
                      " sso_required=$5::boolean, enabled=$6::boolean, jit=$7::boolean,"
                      " default_role=$8, saml_idp_metadata=$9,"
                      " saml_group_roles=coalesce($10::jsonb, '{}'),"
                      " saml_idp_initiated=$11::boolean, saml_metadata_url=$12, updated_at=now()"
                      " WHERE id=$1 RETURNING " TC_DB_TS("updated_at"),
                      conn->id, conn->name, conn->client_id, sealed,
                      conn->sso_required ? "true" : "false", conn->enabled ? "true" : "false",
                      conn->jit ? "true" : "false", conn->default_role, conn->saml_metadata, roles,
                      conn->idp_initiated ? "true" : "false", conn->saml_metadata_url);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        snprintf(conn->updated_at, sizeof conn->updated_at, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    free(sealed);
    free(roles);
    return rc;
}

int store_sso_delete(tc_dbconn_t *c, const char *id, const char *org_id)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "sso_delete",
                 "DELETE FROM sso_connections WHERE id=$1 AND org_id=$2 RETURNING id", id, org_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_sso_required(tc_dbconn_t *c, const char *org_id, bool *required)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "sso_required",
                      "SELECT EXISTS (SELECT 1 FROM sso_connections WHERE org_id=$1"
                      " AND enabled AND sso_required)",
                      org_id);
    *required = rc == TC_OK && strcmp(tc_db_val(r, 0, 0), "t") == 0;
    PQclear(r);
    return rc;
}

int store_sso_login_insert(tc_dbconn_t *c, const char *state_hash, const char *conn_id,
                           const char *browser_hash, const char *nonce, const char *verifier,
                           const char *saml_request_id, int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    return tc_db_qp(c, NULL, "sso_login_insert",
                    "INSERT INTO sso_logins (state_hash, connection_id, browser_hash, nonce,"
                    " code_verifier, saml_request_id, expires_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6, now() + make_interval(secs => $7::int))",
                    state_hash, conn_id, browser_hash, nonce, verifier, saml_request_id, ttl);
}

int store_sso_login_take(tc_dbconn_t *c, const char *state_hash, store_sso_login_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = tc_db_qp(c, &r, "sso_login_take",
                      "UPDATE sso_logins SET used_at=now() WHERE state_hash=$1"
                      " AND used_at IS NULL AND expires_at > now()"
                      " RETURNING connection_id, browser_hash, nonce, code_verifier,"
                      " coalesce(saml_request_id, '')",
                      state_hash);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->connection_id, sizeof out->connection_id, "%s", tc_db_val(r, 0, 0));
        snprintf(out->browser_hash, sizeof out->browser_hash, "%s", tc_db_val(r, 0, 1));
        snprintf(out->nonce, sizeof out->nonce, "%s", tc_db_val(r, 0, 2));
        snprintf(out->verifier, sizeof out->verifier, "%s", tc_db_val(r, 0, 3));
        snprintf(out->saml_request_id, sizeof out->saml_request_id, "%s", tc_db_val(r, 0, 4));
    }
    PQclear(r);
    return rc;
}

int store_sso_grant_insert(tc_dbconn_t *c, const char *code_hash, const store_sso_grant_t *g,
                           int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    return tc_db_qp(c, NULL, "sso_grant_insert",
                    "INSERT INTO sso_grants (code_hash, browser_hash, connection_id, user_id,"
                    " org_id, subject, expires_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6, now() + make_interval(secs => $7::int))",
                    code_hash, g->browser_hash[0] ? g->browser_hash : NULL, g->connection_id,
                    g->user_id, g->org_id, g->subject, ttl);
}

int store_sso_grant_take(tc_dbconn_t *c, const char *code_hash, store_sso_grant_t *out)
{
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    int rc = tc_db_qp(c, &r, "sso_grant_take",
                      "UPDATE sso_grants SET used_at=now() WHERE code_hash=$1"
                      " AND used_at IS NULL AND expires_at > now()"
                      " RETURNING coalesce(browser_hash, ''), connection_id, user_id, org_id,"
                      " subject",
                      code_hash);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->browser_hash, sizeof out->browser_hash, "%s", tc_db_val(r, 0, 0));
        snprintf(out->connection_id, sizeof out->connection_id, "%s", tc_db_val(r, 0, 1));
        snprintf(out->user_id, sizeof out->user_id, "%s", tc_db_val(r, 0, 2));
        snprintf(out->org_id, sizeof out->org_id, "%s", tc_db_val(r, 0, 3));
        snprintf(out->subject, sizeof out->subject, "%s", tc_db_val(r, 0, 4));
    }
    PQclear(r);
    return rc;
}

int store_sso_identity_fits(tc_dbconn_t *c, const char *conn_id, const char *user_id,
                            const char *subject, bool *fits)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "sso_identity_fits",
                      "SELECT count(*) FROM sso_identities WHERE connection_id=$1"
                      " AND (user_id=$2 OR subject=$3) AND NOT (user_id=$2 AND subject=$3)",
                      conn_id, user_id, subject);
    *fits = rc == TC_OK && tc_db_int(r, 0, 0, 1) == 0;
    PQclear(r);
    return rc;
}

int store_sso_identity_link(tc_dbconn_t *c, const char *conn_id, const char *user_id,
                            const char *subject)
{
    return tc_db_qp(c, NULL, "sso_identity_link",
                    "INSERT INTO sso_identities (connection_id, user_id, subject)"
                    " VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
                    conn_id, user_id, subject);
}

int store_sso_password_sessions(tc_dbconn_t *c, const char *org_id, store_sso_session_t **out,
                                int *n)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "sso_password_sessions",
                      "SELECT s.id, s.user_id FROM sessions s JOIN accounts a ON a.user_id ="
                      " s.user_id WHERE s.org_id=$1 AND s.revoked_at IS NULL AND s.amr <> 'fed'"
                      " AND a.role <> 'owner'",
                      org_id);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        snprintf((*out)[i].sid, sizeof(*out)[i].sid, "%s", tc_db_val(r, i, 0));
        snprintf((*out)[i].user_id, sizeof(*out)[i].user_id, "%s", tc_db_val(r, i, 1));
        (*n)++;
    }
    PQclear(r);
    return rc;
}

int store_saml_assertion_use(tc_dbconn_t *c, const char *conn_id, const char *assertion_id,
                             int64_t until, bool *fresh)
{
    PGresult *r = NULL;
    char until_s[24];
    snprintf(until_s, sizeof until_s, "%lld", (long long)until);
    int rc = tc_db_qp(c, &r, "saml_assertion_use",
                      "INSERT INTO saml_assertions_seen (connection_id, assertion_id, expires_at)"
                      " VALUES ($1,$2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING"
                      " RETURNING 1",
                      conn_id, assertion_id, until_s);
    *fresh = rc == TC_OK && PQntuples(r) == 1;
    PQclear(r);
    return rc;
}
