/* Web Push subscriptions: one row per browser, its endpoint and keys sealed under the org's
 * data key, and the record of which browsers took which delivery. */
#include "store.h"
#include "tc/tc_codec.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_CONTEXT "push.subscription"
#define SUB_COLS     "id, origin, " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at")

static cJSON *sub_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !tc_db_json_str(o, "id", r, i, 0) || !tc_db_json_str(o, "origin", r, i, 1) ||
        !tc_db_json_str(o, "created_at", r, i, 2) || !tc_db_json_str(o, "updated_at", r, i, 3)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* {"endpoint","p256dh","auth"} sealed for the org; *out malloc'd. */
static int seal_sub(notification_app_t *app, const char *org_id, const webpush_sub_t *sub,
                    char **out)
{
    char p[WEBPUSH_PUB_LEN * 2], a[WEBPUSH_AUTH_LEN * 2];
    char *text = NULL;
    *out = NULL;
    if (tc_b64url_encode(sub->p256dh, WEBPUSH_PUB_LEN, p, sizeof p) < 0 ||
        tc_b64url_encode(sub->auth, WEBPUSH_AUTH_LEN, a, sizeof a) < 0)
        return TC_ERROR;
    cJSON *o = cJSON_CreateObject();
    int rc = TC_ENOMEM;
    if (o && cJSON_AddStringToObject(o, "endpoint", sub->endpoint) &&
        cJSON_AddStringToObject(o, "p256dh", p) && cJSON_AddStringToObject(o, "auth", a) &&
        (text = cJSON_PrintUnformatted(o)))
        rc = tc_keyring_seal(app->keys, org_id, SEAL_CONTEXT, text, out);
    if (text)
        memset(text, 0, strlen(text));
    free(text);
    cJSON_Delete(o);
    return rc;
}

int store_push_sub_put(notification_app_t *app, tc_dbconn_t *tx, const char *org_id,
                       const char *user_id, const webpush_sub_t *sub, const char *origin,
                       bool *created, cJSON **json)
{
    char id[TC_ID_MAX], hash[TC_SHA256_HEX_LEN], keep[16];
    char *sealed = NULL;
    PGresult *r = NULL;
    *json = NULL;
    int rc = tc_id_new("psub", id, sizeof id);
    if (rc == TC_OK)
        rc = seal_sub(app, org_id, sub, &sealed);
    if (rc != TC_OK)
        return rc;
    tc_sha256_hex(sub->endpoint, strlen(sub->endpoint), hash);
    rc = tc_db_qp(tx, &r, "psub_put",
                  "INSERT INTO push_subscriptions (id, org_id, user_id, endpoint_hash, origin,"
                  " sub_enc) VALUES ($1, $2, $3, $4, $5, $6)"
                  " ON CONFLICT (endpoint_hash) DO UPDATE SET org_id = EXCLUDED.org_id,"
                  " user_id = EXCLUDED.user_id, origin = EXCLUDED.origin,"
                  " sub_enc = EXCLUDED.sub_enc, updated_at = now()"
                  " RETURNING " SUB_COLS ", xmax = 0",
                  id, org_id, user_id, hash, origin, sealed);
    free(sealed);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ERROR;
    if (rc == TC_OK) {
        *created = strcmp(tc_db_val(r, 0, 4), "t") == 0;
        if (!(*json = sub_json(r, 0)))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    snprintf(keep, sizeof keep, "%d", PUSH_SUBS_PER_USER);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "psub_trim",
                      "DELETE FROM push_subscriptions WHERE org_id = $1 AND user_id = $2 AND id"
                      " NOT IN (SELECT id FROM push_subscriptions WHERE org_id = $1 AND"
                      " user_id = $2 ORDER BY updated_at DESC, id DESC LIMIT $3::int)",
                      org_id, user_id, keep);
    if (rc != TC_OK) {
        cJSON_Delete(*json);
        *json = NULL;
    }
    return rc;
}

int store_push_sub_list(tc_dbconn_t *c, const char *org_id, const char *user_id, cJSON **data)
{
    PGresult *r = NULL;
    *data = NULL;
    int rc = tc_db_qp(c, &r, "psub_list",
                      "SELECT " SUB_COLS " FROM push_subscriptions WHERE org_id = $1 AND"
                      " user_id = $2 ORDER BY updated_at DESC, id DESC",
                      org_id, user_id);
    cJSON *arr = rc == TC_OK ? cJSON_CreateArray() : NULL;
    if (rc == TC_OK && !arr)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < PQntuples(r); i++) {
        cJSON *o = sub_json(r, i);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            rc = TC_ENOMEM;
        }
    }
    PQclear(r);
    if (rc == TC_OK)
        *data = arr;
    else
        cJSON_Delete(arr);
    return rc;
}

int store_push_sub_delete(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "psub_delete",
                      "DELETE FROM push_subscriptions WHERE id = $1 AND org_id = $2 AND"
                      " user_id = $3 RETURNING id",
                      id, org_id, user_id);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

void push_targets_free(push_target_t *t, int n)
{
    for (int i = 0; t && i < n; i++) {
        if (t[i].endpoint)
            memset(t[i].endpoint, 0, strlen(t[i].endpoint));
        free(t[i].endpoint);
    }
    free(t);
}

/* A sealed subscription back into a target; TC_EINVAL when it does not open or parse. */
static int open_target(notification_app_t *app, const char *org_id, const char *sealed,
                       push_target_t *t)
{
    char *plain = NULL;
    int rc = tc_keyring_open(app->keys, org_id, SEAL_CONTEXT, sealed, &plain);
    if (rc != TC_OK)
        return rc;
    cJSON *o = cJSON_Parse(plain);
    memset(plain, 0, strlen(plain));
    free(plain);
    const char *ep = o ? tc_json_get_str(o, "endpoint") : NULL;
    const char *p = o ? tc_json_get_str(o, "p256dh") : NULL;
    const char *a = o ? tc_json_get_str(o, "auth") : NULL;
    rc = TC_EINVAL;
    if (ep && p && a &&
        tc_b64url_decode(p, strlen(p), t->p256dh, sizeof t->p256dh) == WEBPUSH_PUB_LEN &&
        tc_b64url_decode(a, strlen(a), t->auth, sizeof t->auth) == WEBPUSH_AUTH_LEN)
        rc = (t->endpoint = strdup(ep)) ? TC_OK : TC_ENOMEM;
    cJSON_Delete(o);
    return rc;
}

int store_push_targets(notification_app_t *app, tc_dbconn_t *c, const char *org_id,
                       const char *user_id, const char *delivery_id, push_target_t **out, int *n,
                       int *done)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = *done = 0;
    int rc = tc_db_qp(c, &r, "psub_targets",
                      "SELECT s.id, s.sub_enc, ps.subscription_id IS NOT NULL"
                      " FROM push_subscriptions s LEFT JOIN push_sends ps"
                      " ON ps.delivery_id = $3 AND ps.subscription_id = s.id"
                      " WHERE s.org_id = $1 AND s.user_id = $2 ORDER BY s.id",
                      org_id, user_id, delivery_id);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    push_target_t *t = rows ? calloc((size_t)rows, sizeof *t) : NULL;
    if (rows && !t)
        rc = TC_ENOMEM;
    int k = 0, before = 0;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        if (strcmp(tc_db_val(r, i, 2), "t") == 0) {
            before++; /* took this message on an earlier attempt */
            continue;
        }
        snprintf(t[k].id, sizeof t[k].id, "%s", tc_db_val(r, i, 0));
        int orc = open_target(app, org_id, tc_db_val(r, i, 1), &t[k]);
        if (orc == TC_OK)
            k++;
        else if (orc != TC_EINVAL)
            rc = orc;
        /* one that does not open (a data key gone) is skipped: it cannot be sent to */
    }
    PQclear(r);
    if (rc != TC_OK) {
        push_targets_free(t, k);
        return rc;
    }
    *out = t;
    *n = k;
    *done = before;
    return TC_OK;
}

int store_push_sent(tc_dbconn_t *c, const char *delivery_id, const char *subscription_id)
{
    return tc_db_qp(c, NULL, "psub_sent",
                    "INSERT INTO push_sends (delivery_id, subscription_id) VALUES ($1, $2)"
                    " ON CONFLICT DO NOTHING",
                    delivery_id, subscription_id);
}

int store_push_sub_gone(tc_dbconn_t *c, const char *subscription_id)
{
    return tc_db_qp(c, NULL, "psub_gone", "DELETE FROM push_subscriptions WHERE id = $1",
                    subscription_id);
}
