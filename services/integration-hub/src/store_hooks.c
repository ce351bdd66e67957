/* Inbound hooks and the requests senders posted to them. */
#include "hub_text.h"
#include "store.h"
#include "tc/tc_buf.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOOK_COLS                                                                                  \
    "id, name, verification, '/v1/webhooks/in/' || token, secret_hint, " TC_DB_TS(                 \
        "created_at") ", " TC_DB_TS("updated_at")

static cJSON *hook_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "name", r, i, 1) &&
              tc_db_json_str(o, "verification", r, i, 2) && tc_db_json_str(o, "url", r, i, 3) &&
              tc_db_json_str(o, "secret_hint", r, i, 4) &&
              tc_db_json_str(o, "created_at", r, i, 5) && tc_db_json_str(o, "updated_at", r, i, 6);
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
    if (rc == TC_OK && !(*out = hook_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

/* Seals a secret and makes its hint; both NULL for no secret. */
static int seal(tc_keyring_t *keys, const char *org_id, const char *secret, char **sealed,
                char hint[HUB_HINT_MAX])
{
    *sealed = NULL;
    hint[0] = '\0';
    if (!secret || !*secret)
        return TC_OK;
    hub_secret_hint(secret, hint);
    return tc_keyring_seal(keys, org_id, HUB_CTX_HOOK_SECRET, secret, sealed);
}

int store_hook_insert(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const char *token, const hub_hook_in_t *in, const char *secret, cJSON **out)
{
    char *sealed = NULL, hint[HUB_HINT_MAX];
    int rc = seal(keys, org_id, secret, &sealed, hint);
    if (rc != TC_OK)
        return rc;
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "hook_insert",
                  "INSERT INTO inbound_hooks (id, org_id, token, name, verification,"
                  " secret_sealed, secret_hint) VALUES ($1,$2,$3,$4,$5,$6,$7)"
                  " RETURNING " HOOK_COLS,
                  id, org_id, token, in->name, hub_verify_name(in->verification), sealed,
                  sealed ? hint : NULL);
    free(sealed);
    return one(rc, r, out);
}

int store_hook_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "hook_get",
                 "SELECT " HOOK_COLS " FROM inbound_hooks WHERE org_id=$1 AND id=$2", org_id, id);
    return one(rc, r, out);
}

int store_hook_list(tc_dbconn_t *c, const char *org_id, const tc_page_t *page, cJSON **data,
                    char *next_key, size_t keylen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "hook_list",
                      "SELECT " HOOK_COLS " FROM inbound_hooks WHERE org_id=$1"
                      " AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3::int",
                      org_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, hook_json, data, next_key, keylen);
}

int store_hook_update(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const hub_hook_in_t *in, const char *secret, cJSON **out)
{
    char *sealed = NULL, hint[HUB_HINT_MAX];
    int rc = seal(keys, org_id, secret, &sealed, hint);
    if (rc != TC_OK)
        return rc;
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "hook_update",
                  "UPDATE inbound_hooks SET name = coalesce($3, name),"
                  " verification = coalesce($4, verification),"
                  " secret_sealed = CASE WHEN $5::boolean THEN $6 ELSE secret_sealed END,"
                  " secret_hint = CASE WHEN $5::boolean THEN $7 ELSE secret_hint END,"
                  " updated_at = now() WHERE org_id=$1 AND id=$2 RETURNING " HOOK_COLS,
                  org_id, id, in->has_name ? in->name : NULL,
                  in->has_verification ? hub_verify_name(in->verification) : NULL,
                  secret ? "true" : "false", sealed, sealed ? hint : NULL);
    free(sealed);
    return one(rc, r, out);
}

int store_hook_delete(tc_dbconn_t *tx, const char *org_id, const char *id)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(tx, &r, "hook_delete",
                 "DELETE FROM inbound_hooks WHERE org_id=$1 AND id=$2 RETURNING id", org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

void hub_hook_clear(hub_hook_t *h)
{
    if (h->secret) {
        OPENSSL_cleanse(h->secret, strlen(h->secret));
        free(h->secret);
    }
    memset(h, 0, sizeof *h);
}

int store_hook_by_token(tc_dbconn_t *c, tc_keyring_t *keys, const char *token, hub_hook_t *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "hook_by_token",
                      "SELECT id, org_id, verification, secret_sealed FROM inbound_hooks"
                      " WHERE token=$1",
                      token);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->id, sizeof out->id, "%s", tc_db_val(r, 0, 0));
        snprintf(out->org_id, sizeof out->org_id, "%s", tc_db_val(r, 0, 1));
        int v = hub_verify_parse(tc_db_val(r, 0, 2));
        out->verification = v < 0 ? HUB_VERIFY_NONE : (hub_verify_t)v;
        if (v < 0)
            rc = TC_ERROR; /* the CHECK constraint makes this impossible */
        else if (tc_db_val(r, 0, 3))
            rc = tc_keyring_open(keys, out->org_id, HUB_CTX_HOOK_SECRET, tc_db_val(r, 0, 3),
                                 &out->secret);
    }
    PQclear(r);
    return rc;
}

int store_inbound_insert(tc_dbconn_t *tx, const hub_hook_t *h, const hub_inbound_t *q,
                         char *existing_id, size_t idlen)
{
    /* bytea goes in as hex text: parameters are text, and a body may hold any byte */
    size_t hexlen = 2 + 2 * q->body_len + 1;
    char *hex = malloc(hexlen);
    if (!hex)
        return TC_ENOMEM;
    hex[0] = '\\';
    hex[1] = 'x';
    tc_hex_encode(q->body, q->body_len, hex + 2);
    hex[hexlen - 1] = '\0';
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "inbound_insert",
                      "INSERT INTO inbound_requests (id, hook_id, org_id, sender_id, replay_key,"
                      " content_type, headers, body) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8::bytea)"
                      " ON CONFLICT (hook_id, replay_key) WHERE replay_key IS NOT NULL DO NOTHING"
                      " RETURNING id",
                      q->id, h->id, h->org_id, q->sender_id, q->replay_key, q->content_type,
                      q->headers, hex);
    free(hex);
    bool inserted = rc == TC_OK && PQntuples(r) == 1;
    PQclear(r);
    if (rc != TC_OK || inserted)
        return rc;
    r = NULL;
    rc = tc_db_qp(tx, &r, "inbound_existing",
                  "SELECT id FROM inbound_requests WHERE hook_id=$1 AND replay_key=$2", h->id,
                  q->replay_key);
    if (rc == TC_OK && PQntuples(r) == 1) {
        snprintf(existing_id, idlen, "%s", tc_db_val(r, 0, 0));
        rc = TC_ECONFLICT;
    } else if (rc == TC_OK) {
        rc = TC_EAGAIN; /* deleted between the two statements: the sender retries */
    }
    PQclear(r);
    return rc;
}

/* The stored body as the API shows it: text when it is UTF-8, else base64 with a marker. */
static bool add_body(cJSON *o, const PGresult *r, int i, int col)
{
    const char *hex = tc_db_val(r, i, col);
    size_t hlen = strlen(hex);
    size_t n = hlen / 2;
    char *raw = malloc(n + 1);
    if (!raw)
        return false;
    bool ok = tc_hex_decode(hex, hlen, raw, n) == (ssize_t)n;
    raw[n] = '\0';
    if (ok && hub_utf8_prefix(raw, n, n) == n) {
        ok = cJSON_AddStringToObject(o, "body", raw) &&
             cJSON_AddStringToObject(o, "body_encoding", "utf-8");
    } else if (ok) {
        tc_buf_t b64;
        tc_buf_init(&b64);
        ok = tc_buf_b64(&b64, raw, n) == TC_OK &&
             cJSON_AddStringToObject(o, "body", tc_buf_cstr(&b64)) &&
             cJSON_AddStringToObject(o, "body_encoding", "base64");
        tc_buf_free(&b64);
    }
    free(raw);
    return ok;
}

static cJSON *request_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "sender_id", r, i, 1) &&
              tc_db_json_str(o, "content_type", r, i, 2) &&
              tc_json_add_raw(o, "headers", tc_db_val(r, i, 3)) && add_body(o, r, i, 4) &&
              tc_db_json_str(o, "received_at", r, i, 5);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int store_inbound_list(tc_dbconn_t *c, const char *org_id, const char *hook_id,
                       const tc_page_t *page, cJSON **data, char *next_key, size_t keylen)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "hook_exists", "SELECT 1 FROM inbound_hooks WHERE org_id=$1 AND id=$2",
                      org_id, hook_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    if (rc != TC_OK)
        return rc;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    r = NULL;
    rc = tc_db_qp(
        c, &r, "inbound_list",
        "SELECT id, sender_id, content_type, headers::text, encode(body, 'hex'), " TC_DB_TS(
            "received_at") " FROM inbound_requests"
                           " WHERE hook_id=$1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT "
                           "$3::int",
        hook_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, request_json, data, next_key, keylen);
}

int store_hook_secret(tc_dbconn_t *c, tc_keyring_t *keys, const char *org_id, const char *id,
                      cJSON **out)
{
    PGresult *r = NULL;
    char *plain = NULL;
    int rc =
        tc_db_qp(c, &r, "hook_secret",
                 "SELECT secret_sealed FROM inbound_hooks WHERE org_id=$1 AND id=$2", org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && tc_db_val(r, 0, 0))
        rc = tc_keyring_open(keys, org_id, HUB_CTX_HOOK_SECRET, tc_db_val(r, 0, 0), &plain);
    PQclear(r);
    cJSON *o = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!o || !tc_json_add_str(o, "secret", plain)))
        rc = TC_ENOMEM;
    if (plain) {
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
    }
    if (rc != TC_OK)
        cJSON_Delete(o);
    else
        *out = o;
    return rc;
}
