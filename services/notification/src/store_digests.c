/* Digests: a person's open digest per kind, its items (sealed), and closing the due ones. */
#include "store.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The person's open digest of the kind, locked until the transaction ends (a closing job that
 * got there first has closed it, and then there is none); *id "" when none. */
static int open_digest(tc_dbconn_t *tx, const digest_item_t *it, char *id, size_t n)
{
    PGresult *r = NULL;
    id[0] = '\0';
    int rc = tc_db_qp(tx, &r, "dig_open",
                      "SELECT id FROM digests WHERE recipient_id=$1 AND kind=$2 AND org_id=$3"
                      " AND status = 'open' FOR UPDATE",
                      it->recipient_id, it->kind, it->org_id);
    if (rc == TC_OK && PQntuples(r) == 1)
        snprintf(id, n, "%s", tc_db_val(r, 0, 0));
    PQclear(r);
    return rc;
}

static int new_digest(notification_app_t *app, tc_dbconn_t *tx, const digest_item_t *it, char *id,
                      size_t n)
{
    char minutes[16];
    snprintf(minutes, sizeof minutes, "%d", it->minutes);
    cJSON *to = cJSON_CreateObject();
    if (to &&
        (!cJSON_AddStringToObject(to, "to", it->email) || !tc_json_add_str(to, "name", it->name))) {
        cJSON_Delete(to);
        to = NULL;
    }
    int rc = TC_OK;
    char *to_enc = delivery_seal_json(app, it->org_id, "digest.to", to, &rc);
    if (rc == TC_OK)
        rc = tc_id_new("dig", id, n);
    PGresult *r = NULL;
    /* another transaction (the internal API beside the consumer) may open one first: then
     * this one waits for it and inserts nothing, and the caller reads that one */
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "dig_new",
                      "INSERT INTO digests (id, org_id, recipient_id, kind, locale, to_enc,"
                      " closes_at) VALUES ($1,$2,$3,$4,$5,$6,"
                      " now() + make_interval(mins => $7::int))"
                      " ON CONFLICT (recipient_id, kind) WHERE status = 'open' DO NOTHING"
                      " RETURNING id",
                      id, it->org_id, it->recipient_id, it->kind, it->locale, to_enc, minutes);
    if (rc == TC_OK && PQntuples(r) == 0)
        id[0] = '\0';
    PQclear(r);
    free(to_enc);
    return rc;
}

int store_digest_add(notification_app_t *app, tc_dbconn_t *tx, const digest_item_t *it)
{
    char id[TC_ID_MAX];
    int rc = open_digest(tx, it, id, sizeof id);
    if (rc == TC_OK && !id[0])
        rc = new_digest(app, tx, it, id, sizeof id);
    if (rc == TC_OK && !id[0])
        rc = open_digest(tx, it, id, sizeof id);
    if (rc == TC_OK && !id[0])
        rc = TC_ECONFLICT; /* opened and closed again meanwhile: the request is retried */
    cJSON *item = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (item && (!cJSON_AddStringToObject(item, "subject", it->subject) ||
                 !cJSON_AddStringToObject(item, "text", it->text))) {
        cJSON_Delete(item);
        item = NULL;
    }
    if (rc != TC_OK)
        return rc;
    char *item_enc = delivery_seal_json(app, it->org_id, "digest.item", item, &rc);
    if (rc != TC_OK)
        return rc;
    rc = tc_db_qp(tx, NULL, "dig_item",
                  "INSERT INTO digest_items (delivery_id, digest_id, item_enc) VALUES ($1,$2,$3)",
                  it->delivery_id, id, item_enc);
    free(item_enc);
    return rc;
}

void digest_row_clear(digest_row_t *d)
{
    free(d->to);
    free(d->name);
    cJSON_Delete(d->items);
    memset(d, 0, sizeof *d);
}

/* The sealed {"to","name"} and items of a digest, opened into d. */
static int digest_open(notification_app_t *app, tc_dbconn_t *tx, const char *to_enc,
                       digest_row_t *d)
{
    char *plain = NULL;
    int rc = tc_keyring_open(app->keys, d->org_id, "digest.to", to_enc, &plain);
    cJSON *to = rc == TC_OK ? cJSON_Parse(plain) : NULL;
    free(plain);
    plain = NULL;
    const char *addr = tc_json_get_str(to, "to"), *name = tc_json_get_str(to, "name");
    if (rc == TC_OK && (!addr || !(d->to = strdup(addr)) || (name && !(d->name = strdup(name)))))
        rc = TC_ENOMEM;
    cJSON_Delete(to);
    PGresult *r = NULL;
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "dig_items",
                      "SELECT item_enc FROM digest_items WHERE digest_id=$1"
                      " ORDER BY created_at, delivery_id",
                      d->id);
    if (rc == TC_OK && !(d->items = cJSON_CreateArray()))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < PQntuples(r); i++) {
        rc = tc_keyring_open(app->keys, d->org_id, "digest.item", tc_db_val(r, i, 0), &plain);
        cJSON *item = rc == TC_OK ? cJSON_Parse(plain) : NULL;
        free(plain);
        plain = NULL;
        if (rc == TC_OK && (!item || !cJSON_AddItemToArray(d->items, item))) {
            cJSON_Delete(item);
            rc = TC_ENOMEM;
        }
    }
    PQclear(r);
    return rc;
}

int store_digest_due(notification_app_t *app, tc_dbconn_t *tx, digest_row_t *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "dig_due",
                      "SELECT id, org_id, recipient_id, kind, locale, to_enc FROM digests"
                      " WHERE status = 'open' AND closes_at <= now() ORDER BY closes_at"
                      " LIMIT 1 FOR UPDATE SKIP LOCKED");
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK) {
        snprintf(out->id, sizeof out->id, "%s", tc_db_val(r, 0, 0));
        snprintf(out->org_id, sizeof out->org_id, "%s", tc_db_val(r, 0, 1));
        snprintf(out->recipient_id, sizeof out->recipient_id, "%s", tc_db_val(r, 0, 2));
        snprintf(out->kind, sizeof out->kind, "%s", tc_db_val(r, 0, 3));
        snprintf(out->locale, sizeof out->locale, "%s", tc_db_val(r, 0, 4));
        rc = digest_open(app, tx, tc_db_val(r, 0, 5), out);
    }
    PQclear(r);
    if (rc != TC_OK) { /* the id stays: a digest whose content does not open is closed */
        char id[TC_ID_MAX];
        snprintf(id, sizeof id, "%s", out->id);
        digest_row_clear(out);
        snprintf(out->id, sizeof out->id, "%s", id);
    }
    return rc;
}

int store_digest_close(tc_dbconn_t *tx, const char *digest_id, const char *delivery_id)
{
    return tc_db_qp(tx, NULL, "dig_close",
                    "UPDATE digests SET status = 'closed', delivery_id = $2 WHERE id = $1",
                    digest_id, delivery_id);
}
