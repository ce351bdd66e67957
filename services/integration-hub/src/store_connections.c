/* Connections: an org's configured connectors, their sealed credentials and OAuth tokens. */
#include "hub_text.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#define CONN_COLS                                                                                  \
    "id, connector, name, base_url, settings::text, credentials_hint::text, status, status_reason, " \
    TC_DB_TS("created_at") ", " TC_DB_TS("updated_at") ", revision"
/* clang-format on */

static cJSON *conn_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "connector", r, i, 1) &&
              tc_db_json_str(o, "name", r, i, 2) && tc_db_json_str(o, "base_url", r, i, 3) &&
              tc_json_add_raw(o, "settings", tc_db_val(r, i, 4)) &&
              tc_json_add_raw(o, "credentials_hint", tc_db_val(r, i, 5)) &&
              tc_db_json_str(o, "status", r, i, 6) && tc_db_json_str(o, "status_reason", r, i, 7) &&
              tc_db_json_str(o, "created_at", r, i, 8) &&
              tc_db_json_str(o, "updated_at", r, i, 9) && tc_db_json_int(o, "revision", r, i, 10);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int one(int rc, PGresult *r, cJSON **out)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*out = conn_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

static void wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* The sealed credentials and their hints; both NULL for an empty object. */
static int seal_credentials(tc_keyring_t *keys, const char *org_id, const cJSON *credentials,
                            char **sealed, char **hint)
{
    *sealed = NULL;
    *hint = NULL;
    cJSON *h = hub_credentials_hint(credentials);
    if (!h || !(*hint = cJSON_PrintUnformatted(h))) {
        cJSON_Delete(h);
        return TC_ENOMEM;
    }
    cJSON_Delete(h);
    if (!credentials || !credentials->child)
        return TC_OK;
    char *plain = cJSON_PrintUnformatted(credentials);
    if (!plain)
        return TC_ENOMEM;
    int rc = tc_keyring_seal(keys, org_id, HUB_CTX_CONN_CREDENTIALS, plain, sealed);
    wipe_free(plain);
    return rc;
}

int store_conn_insert(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const hub_connection_in_t *in, cJSON **out)
{
    char *sealed = NULL, *hint = NULL, *settings = NULL;
    int rc = seal_credentials(keys, org_id, in->credentials, &sealed, &hint);
    if (rc == TC_OK &&
        !(settings = in->settings ? cJSON_PrintUnformatted(in->settings) : strdup("{}")))
        rc = TC_ENOMEM;
    PGresult *r = NULL;
    if (rc == TC_OK)
        rc =
            tc_db_qp(tx, &r, "conn_insert",
                     "INSERT INTO connections (id, org_id, connector, name, base_url, settings,"
                     " credentials_sealed, credentials_hint)"
                     " VALUES ($1,$2,$3,$4,$5,$6::jsonb,$7,$8::jsonb) RETURNING " CONN_COLS,
                     id, org_id, in->connector->id, in->name, in->base_url, settings, sealed, hint);
    free(sealed);
    free(hint);
    free(settings);
    return rc == TC_OK ? one(rc, r, out) : (PQclear(r), rc);
}

int store_conn_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "conn_get",
                 "SELECT " CONN_COLS " FROM connections WHERE org_id=$1 AND id=$2", org_id, id);
    return one(rc, r, out);
}

int store_conn_get_locked(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "conn_get_locked",
                      "SELECT " CONN_COLS " FROM connections WHERE org_id=$1 AND id=$2 FOR UPDATE",
                      org_id, id);
    return one(rc, r, out);
}

int store_conn_list(tc_dbconn_t *c, const char *org_id, const char *connector,
                    const tc_page_t *page, cJSON **data, char *next_key, size_t keylen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "conn_list",
                      "SELECT " CONN_COLS " FROM connections WHERE org_id=$1"
                      " AND ($2::text IS NULL OR connector = $2) AND ($3 = '' OR id > $3)"
                      " ORDER BY id LIMIT $4::int",
                      org_id, connector, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, conn_json, data, next_key, keylen);
}

int store_conn_update(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const hub_connection_in_t *in, cJSON **out)
{
    char *sealed = NULL, *hint = NULL, *settings = NULL;
    int rc = TC_OK;
    if (in->has_credentials)
        rc = seal_credentials(keys, org_id, in->credentials, &sealed, &hint);
    if (rc == TC_OK && in->has_settings &&
        !(settings = in->settings ? cJSON_PrintUnformatted(in->settings) : strdup("{}")))
        rc = TC_ENOMEM;
    PGresult *r = NULL;
    /* new credentials: the old token was the old client's, and whatever needed attention may
     * be cured, so the connection is active until it proves otherwise; a token is dropped too
     * when the address it was for may have moved (base_url, settings) */
    if (rc == TC_OK)
        rc = tc_db_qp(
            tx, &r, "conn_update",
            "UPDATE connections SET name = coalesce($3, name),"
            " base_url = CASE WHEN $4::boolean THEN $5 ELSE base_url END,"
            " settings = coalesce($6::jsonb, settings),"
            " credentials_sealed = CASE WHEN $7::boolean THEN $8 ELSE credentials_sealed END,"
            " credentials_hint = CASE WHEN $7::boolean THEN $9::jsonb ELSE credentials_hint END,"
            " token_sealed = CASE WHEN $7::boolean OR $4::boolean OR $6 IS NOT NULL THEN NULL"
            "   ELSE token_sealed END,"
            " token_refresh_at = CASE WHEN $7::boolean OR $4::boolean OR $6 IS NOT NULL THEN NULL"
            "   ELSE token_refresh_at END,"
            " status = CASE WHEN $7::boolean THEN 'active' ELSE status END,"
            " status_reason = CASE WHEN $7::boolean THEN NULL ELSE status_reason END,"
            " updated_at = now(), revision = revision + 1 WHERE org_id=$1 AND id=$2"
            " RETURNING " CONN_COLS,
            org_id, id, in->has_name ? in->name : NULL, in->has_base_url ? "true" : "false",
            in->base_url, settings, in->has_credentials ? "true" : "false", sealed, hint);
    free(sealed);
    free(hint);
    free(settings);
    return rc == TC_OK ? one(rc, r, out) : (PQclear(r), rc);
}

int store_conn_delete(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "conn_delete",
                      "DELETE FROM connections WHERE org_id=$1 AND id=$2 RETURNING " CONN_COLS,
                      org_id, id);
    return one(rc, r, out);
}

void hub_conn_clear(hub_conn_t *c)
{
    cJSON_Delete(c->settings);
    if (c->credentials) {
        /* wipe every secret string before the tree goes */
        cJSON *m;
        cJSON_ArrayForEach(m, c->credentials)
        {
            if (cJSON_IsString(m))
                OPENSSL_cleanse(m->valuestring, strlen(m->valuestring));
        }
        cJSON_Delete(c->credentials);
    }
    free(c->base_url);
    free(c->sealed);
    wipe_free(c->token);
    memset(c, 0, sizeof *c);
}

int store_conn_load(tc_dbconn_t *c, tc_keyring_t *keys, const char *org_id, const char *id,
                    hub_conn_t *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "conn_load",
                      "SELECT connector, name, base_url, settings::text, credentials_sealed,"
                      " status, token_sealed,"
                      " coalesce((extract(epoch FROM token_refresh_at) * 1000)::bigint, 0)"
                      " FROM connections WHERE org_id=$1 AND id=$2",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    char *plain = NULL;
    if (rc == TC_OK) {
        snprintf(out->id, sizeof out->id, "%s", id);
        snprintf(out->org_id, sizeof out->org_id, "%s", org_id);
        snprintf(out->connector, sizeof out->connector, "%s", tc_db_val(r, 0, 0));
        snprintf(out->name, sizeof out->name, "%s", tc_db_val(r, 0, 1));
        snprintf(out->status, sizeof out->status, "%s", tc_db_val(r, 0, 5));
        out->token_refresh_at_ms = strtoll(tc_db_val(r, 0, 7), NULL, 10);
        out->settings = cJSON_Parse(tc_db_val(r, 0, 3));
        if (!out->settings || (tc_db_val(r, 0, 2) && !(out->base_url = strdup(tc_db_val(r, 0, 2)))))
            rc = TC_ENOMEM;
    }
    if (rc == TC_OK && tc_db_val(r, 0, 4)) {
        if (!(out->sealed = strdup(tc_db_val(r, 0, 4))))
            rc = TC_ENOMEM;
        if (rc == TC_OK)
            rc =
                tc_keyring_open(keys, org_id, HUB_CTX_CONN_CREDENTIALS, tc_db_val(r, 0, 4), &plain);
        if (rc == TC_OK && !(out->credentials = cJSON_Parse(plain)))
            rc = TC_ERROR;
    } else if (rc == TC_OK && !(out->credentials = cJSON_CreateObject())) {
        rc = TC_ENOMEM;
    }
    if (rc == TC_OK && tc_db_val(r, 0, 6))
        rc = tc_keyring_open(keys, org_id, HUB_CTX_CONN_TOKEN, tc_db_val(r, 0, 6), &out->token);
    wipe_free(plain);
    PQclear(r);
    if (rc != TC_OK)
        hub_conn_clear(out);
    return rc;
}

int store_conn_token_save(tc_dbconn_t *c, tc_keyring_t *keys, const hub_conn_t *conn,
                          const char *token, int64_t refresh_at_ms)
{
    char *sealed = NULL;
    int rc = tc_keyring_seal(keys, conn->org_id, HUB_CTX_CONN_TOKEN, token, &sealed);
    if (rc != TC_OK)
        return rc;
    char at[32];
    snprintf(at, sizeof at, "%lld", (long long)refresh_at_ms);
    PGresult *r = NULL;
    rc = tc_db_qp(c, &r, "conn_token_save",
                  "UPDATE connections SET token_sealed=$3,"
                  " token_refresh_at = to_timestamp($4::bigint / 1000.0)"
                  " WHERE org_id=$1 AND id=$2 AND credentials_sealed IS NOT DISTINCT FROM $5",
                  conn->org_id, conn->id, sealed, at, conn->sealed);
    free(sealed);
    PQclear(r);
    return rc;
}

int store_conn_status(tc_dbconn_t *tx, const hub_conn_t *conn, const char *status,
                      const char *reason, cJSON **changed)
{
    *changed = NULL;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "conn_status",
                      "UPDATE connections SET status=$3, status_reason=$4, updated_at=now(),"
                      " revision = revision + 1"
                      " WHERE org_id=$1 AND id=$2 AND credentials_sealed IS NOT DISTINCT FROM $5"
                      " AND (status IS DISTINCT FROM $3 OR status_reason IS DISTINCT FROM $4)"
                      " RETURNING " CONN_COLS,
                      conn->org_id, conn->id, status, reason, conn->sealed);
    if (rc == TC_OK && PQntuples(r) == 1 && !(*changed = conn_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}
