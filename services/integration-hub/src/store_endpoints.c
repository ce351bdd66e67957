/* Webhook endpoints: where an org's events go, with their sealed signing secrets. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EP_COLS                                                                                    \
    "id, url, description, event_types::text, disabled, disabled_reason, rate_limit_per_s,"        \
    " secret_hint, " TC_DB_TS("failing_since") ", " TC_DB_TS("created_at") ", " TC_DB_TS(          \
        "updated_at")

static cJSON *ep_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    const char *rl = tc_db_val(r, i, 6);
    bool ok = o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "url", r, i, 1) &&
              tc_db_json_str(o, "description", r, i, 2) &&
              tc_json_add_raw(o, "event_types", tc_db_val(r, i, 3)) &&
              cJSON_AddBoolToObject(o, "disabled", strcmp(tc_db_val(r, i, 4), "t") == 0) &&
              tc_db_json_str(o, "disabled_reason", r, i, 5) &&
              (rl ? tc_db_json_int(o, "rate_limit_per_s", r, i, 6) != NULL
                  : cJSON_AddNullToObject(o, "rate_limit_per_s") != NULL) &&
              tc_db_json_str(o, "secret_hint", r, i, 7) &&
              tc_db_json_str(o, "failing_since", r, i, 8) &&
              tc_db_json_str(o, "created_at", r, i, 9) && tc_db_json_str(o, "updated_at", r, i, 10);
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
    if (rc == TC_OK && !(*out = ep_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_ep_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "ep_get",
                 "SELECT " EP_COLS " FROM webhook_endpoints WHERE org_id=$1 AND id=$2", org_id, id);
    return one(rc, r, out);
}

/* "NNN" or NULL for 0 (no cap). */
static const char *rate_text(int per_s, char buf[16])
{
    if (per_s <= 0)
        return NULL;
    snprintf(buf, 16, "%d", per_s);
    return buf;
}

int store_ep_insert(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                    const char *created_by, const hub_endpoint_in_t *in, const char *secret,
                    cJSON **out)
{
    char *sealed = NULL, *types = NULL, hint[HUB_HINT_MAX], rate[16];
    int rc = tc_keyring_seal(keys, org_id, HUB_CTX_ENDPOINT_SECRET, secret, &sealed);
    if (rc != TC_OK)
        return rc;
    if (!(types = cJSON_PrintUnformatted(in->event_types))) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    hub_secret_hint(secret, hint);
    PGresult *r = NULL;
    rc = tc_db_qp(
        tx, &r, "ep_insert",
        "INSERT INTO webhook_endpoints (id, org_id, url, description, event_types,"
        " secret_sealed, secret_hint, rate_limit_per_s, disabled, created_by)"
        " VALUES ($1,$2,$3,$4,$5::jsonb,$6,$7,$8::int,$9::boolean,$10) RETURNING " EP_COLS,
        id, org_id, in->url, in->description, types, sealed, hint,
        rate_text(in->rate_limit_per_s, rate), in->disabled ? "true" : "false", created_by);
    rc = one(rc, r, out);
cleanup:
    free(sealed);
    free(types);
    return rc;
}

int store_ep_list(tc_dbconn_t *c, const char *org_id, const tc_page_t *page, cJSON **data,
                  char *next_key, size_t keylen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "ep_list",
                      "SELECT " EP_COLS " FROM webhook_endpoints WHERE org_id=$1"
                      " AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3::int",
                      org_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, ep_json, data, next_key, keylen);
}

/* A disabled endpoint receives nothing: what was waiting for it fails (recover re-queues). */
static int fail_pending(tc_dbconn_t *tx, const char *endpoint_id, const char *why)
{
    return tc_db_qp(tx, NULL, "ep_fail_pending",
                    "UPDATE webhook_deliveries SET status='failed', lease_until=NULL,"
                    " last_error=$2, updated_at=now()"
                    " WHERE endpoint_id=$1 AND status IN ('pending','delivering')",
                    endpoint_id, why);
}

int store_ep_update(tc_dbconn_t *tx, const char *org_id, const char *id,
                    const hub_endpoint_in_t *in, cJSON **out)
{
    char *types = NULL, rate[16];
    if (in->has_event_types && !(types = cJSON_PrintUnformatted(in->event_types)))
        return TC_ENOMEM;
    /* a field the PATCH leaves out keeps its value ($n NULL with its has-flag false);
     * enabling again forgets the failure streak and the reason */
    PGresult *r = NULL;
    int rc =
        tc_db_qp(tx, &r, "ep_update",
                 "UPDATE webhook_endpoints SET url = coalesce($3, url),"
                 " description = CASE WHEN $4::boolean THEN $5 ELSE description END,"
                 " event_types = coalesce($6::jsonb, event_types),"
                 " rate_limit_per_s = CASE WHEN $7::boolean THEN $8::int ELSE rate_limit_per_s END,"
                 " disabled = coalesce($9::boolean, disabled),"
                 " disabled_reason = CASE WHEN $9::boolean IS NULL THEN disabled_reason"
                 "   WHEN $9::boolean THEN coalesce(disabled_reason, 'disabled through the API')"
                 "   ELSE NULL END,"
                 " failing_since = CASE WHEN $9::boolean = false THEN NULL ELSE failing_since END,"
                 " updated_at = now() WHERE org_id=$1 AND id=$2 RETURNING " EP_COLS,
                 org_id, id, in->has_url ? in->url : NULL, in->has_description ? "true" : "false",
                 in->description, types, in->has_rate_limit ? "true" : "false",
                 rate_text(in->rate_limit_per_s, rate),
                 in->has_disabled ? (in->disabled ? "true" : "false") : NULL);
    rc = one(rc, r, out);
    free(types);
    if (rc == TC_OK && in->has_disabled && in->disabled)
        rc = fail_pending(tx, id, "endpoint disabled");
    return rc;
}

int store_ep_delete(tc_dbconn_t *tx, const char *org_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "ep_delete",
                      "DELETE FROM webhook_endpoints WHERE org_id=$1 AND id=$2 RETURNING id",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_ep_secret(tc_dbconn_t *c, tc_keyring_t *keys, const char *org_id, const char *id,
                    cJSON **out)
{
    PGresult *r = NULL;
    char *plain = NULL;
    int rc = tc_db_qp(c, &r, "ep_secret",
                      "SELECT secret_sealed, CASE WHEN prev_secret_until > now() THEN " TC_DB_TS(
                          "prev_secret_until") " END"
                                               " FROM webhook_endpoints WHERE org_id=$1 AND id=$2",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        rc = tc_keyring_open(keys, org_id, HUB_CTX_ENDPOINT_SECRET, tc_db_val(r, 0, 0), &plain);
    if (rc == TC_OK) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "secret", plain) ||
            !tc_db_json_str(o, "previous_secret_expires_at", r, 0, 1)) {
            cJSON_Delete(o);
            rc = TC_ENOMEM;
        } else {
            *out = o;
        }
    }
    if (plain) {
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
    }
    PQclear(r);
    return rc;
}

int store_ep_rotate(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                    const char *secret, int overlap_s, cJSON **out)
{
    char *sealed = NULL, hint[HUB_HINT_MAX], overlap[16];
    int rc = tc_keyring_seal(keys, org_id, HUB_CTX_ENDPOINT_SECRET, secret, &sealed);
    if (rc != TC_OK)
        return rc;
    hub_secret_hint(secret, hint);
    snprintf(overlap, sizeof overlap, "%d", overlap_s);
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "ep_rotate",
                  "UPDATE webhook_endpoints SET prev_secret_sealed = secret_sealed,"
                  " prev_secret_until = now() + $5::int * interval '1 second',"
                  " secret_sealed = $3, secret_hint = $4, updated_at = now()"
                  " WHERE org_id=$1 AND id=$2 RETURNING id",
                  org_id, id, sealed, hint, overlap);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    free(sealed);
    return rc == TC_OK ? store_ep_secret(tx, keys, org_id, id, out) : rc;
}

int store_ep_recover(tc_dbconn_t *tx, const char *org_id, const char *id, const char *since,
                     const char *until, int64_t *requeued)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "ep_exists",
                      "SELECT 1 FROM webhook_endpoints WHERE org_id=$1 AND id=$2", org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    r = NULL;
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "ep_recover",
                      "UPDATE webhook_deliveries d SET status='pending', next_at=now(),"
                      " round_start = d.attempts,"
                      " lease_until=NULL, updated_at=now()"
                      " FROM webhook_messages m, webhook_endpoints e"
                      " WHERE d.org_id=$1 AND d.endpoint_id=$2 AND d.status='failed'"
                      " AND e.id=d.endpoint_id AND NOT e.disabled" /* it receives nothing */
                      " AND m.id=d.message_id AND m.created_at >= $3::timestamptz"
                      " AND ($4::timestamptz IS NULL OR m.created_at < $4::timestamptz)",
                      org_id, id, since, until);
    if (rc == TC_OK)
        *requeued = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

int store_ep_disable(tc_dbconn_t *tx, const char *endpoint_id, const char *reason, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(
        tx, &r, "ep_disable",
        "UPDATE webhook_endpoints SET disabled = true, disabled_reason = $2,"
        " updated_at = now() WHERE id=$1 AND NOT disabled"
        " RETURNING org_id, url, " TC_DB_TS("coalesce(failing_since, now())") ","
                                                                              " created_by",
        endpoint_id, reason);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND; /* already disabled: nothing to announce */
    if (rc == TC_OK) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !tc_db_json_str(o, "org_id", r, 0, 0) || !tc_db_json_str(o, "url", r, 0, 1) ||
            !tc_db_json_str(o, "failing_since", r, 0, 2) ||
            !tc_db_json_str(o, "created_by", r, 0, 3)) {
            cJSON_Delete(o);
            rc = TC_ENOMEM;
        } else {
            *out = o;
        }
    }
    PQclear(r);
    return rc == TC_OK ? fail_pending(tx, endpoint_id, "endpoint disabled") : rc;
}
