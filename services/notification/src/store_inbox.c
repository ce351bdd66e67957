/* The in-app inbox: one row per in-app delivery, read by its recipient only. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INBOX_COLS                                                                                 \
    "id, kind, title, body, delivery_id, " TC_DB_TS("created_at") ", " TC_DB_TS(                   \
        "read_at") ", " TC_DB_TS("archived_at")

static cJSON *inbox_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !tc_db_json_str(o, "id", r, i, 0) || !tc_db_json_str(o, "kind", r, i, 1) ||
        !tc_db_json_str(o, "title", r, i, 2) || !tc_db_json_str(o, "body", r, i, 3) ||
        !tc_db_json_str(o, "delivery_id", r, i, 4) || !tc_db_json_str(o, "created_at", r, i, 5) ||
        !tc_db_json_str(o, "read_at", r, i, 6) ||
        !cJSON_AddBoolToObject(o, "read", tc_db_val(r, i, 6) != NULL) ||
        !tc_db_json_str(o, "archived_at", r, i, 7) ||
        !cJSON_AddBoolToObject(o, "archived", tc_db_val(r, i, 7) != NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int store_inbox_insert(tc_dbconn_t *tx, const char *org_id, const char *user_id,
                       const char *delivery_id, const char *kind, const char *title,
                       const char *body)
{
    char id[TC_ID_MAX];
    if (tc_id_new("ntf", id, sizeof id) != TC_OK)
        return TC_ERROR;
    return tc_db_qp(tx, NULL, "inbox_insert",
                    "INSERT INTO inbox (id, org_id, user_id, delivery_id, kind, title, body)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7)",
                    id, org_id, user_id, delivery_id, kind, title, body);
}

int store_inbox_list(tc_dbconn_t *c, const char *org_id, const char *user_id, bool unread_only,
                     bool archived, const tc_page_t *page, cJSON **data, char *next_key,
                     size_t keylen)
{
    PGresult *r = NULL;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    *data = NULL;
    next_key[0] = '\0';
    /* newest first: the cursor is the last id seen, the next page the older ones */
    int rc = tc_db_qp(c, &r, "inbox_list",
                      "SELECT " INBOX_COLS " FROM inbox WHERE org_id=$1 AND user_id=$2"
                      " AND (NOT $3::bool OR read_at IS NULL) AND ($4 = '' OR id < $4)"
                      " AND (archived_at IS NOT NULL) = $6::bool"
                      " ORDER BY id DESC LIMIT $5::int",
                      org_id, user_id, unread_only ? "true" : "false", page->after, lim,
                      archived ? "true" : "false");
    return rc == TC_OK ? tc_db_page(r, page->limit, inbox_json, data, next_key, keylen) : rc;
}

int store_inbox_unread(tc_dbconn_t *c, const char *org_id, const char *user_id, int64_t *n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "inbox_unread",
                      "SELECT count(*) FROM inbox WHERE org_id=$1 AND user_id=$2"
                      " AND read_at IS NULL",
                      org_id, user_id);
    if (rc == TC_OK)
        *n = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

/* The one row an item's UPDATE … RETURNING gave (TC_ENOTFOUND: not the caller's); frees r. */
static int one_item(int rc, PGresult *r, cJSON **json)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*json = inbox_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_inbox_read(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id,
                     cJSON **json)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "inbox_read",
                      "UPDATE inbox SET read_at = coalesce(read_at, now())"
                      " WHERE org_id=$1 AND user_id=$2 AND id=$3 RETURNING " INBOX_COLS,
                      org_id, user_id, id);
    return one_item(rc, r, json);
}

int store_inbox_archive(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id,
                        bool archive, cJSON **json)
{
    PGresult *r = NULL;
    /* an archived item is read: it never counts as unread, and unarchiving keeps it read */
    int rc = tc_db_qp(c, &r, "inbox_archive",
                      "UPDATE inbox SET read_at = coalesce(read_at, now()),"
                      " archived_at = CASE WHEN $4::bool THEN coalesce(archived_at, now())"
                      " ELSE NULL END"
                      " WHERE org_id=$1 AND user_id=$2 AND id=$3 RETURNING " INBOX_COLS,
                      org_id, user_id, id, archive ? "true" : "false");
    return one_item(rc, r, json);
}

int store_inbox_read_all(tc_dbconn_t *c, const char *org_id, const char *user_id, int64_t *n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "inbox_read_all",
                      "WITH u AS (UPDATE inbox SET read_at = now() WHERE org_id=$1 AND user_id=$2"
                      " AND read_at IS NULL RETURNING 1) SELECT count(*) FROM u",
                      org_id, user_id);
    if (rc == TC_OK)
        *n = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}
