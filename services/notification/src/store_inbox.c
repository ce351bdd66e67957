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

/* The item whose INBOX_COLS start at column k of row i. */
static cJSON *inbox_json_at(const PGresult *r, int i, int k)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !tc_db_json_str(o, "id", r, i, k) || !tc_db_json_str(o, "kind", r, i, k + 1) ||
        !tc_db_json_str(o, "title", r, i, k + 2) || !tc_db_json_str(o, "body", r, i, k + 3) ||
        !tc_db_json_str(o, "delivery_id", r, i, k + 4) ||
        !tc_db_json_str(o, "created_at", r, i, k + 5) ||
        !tc_db_json_str(o, "read_at", r, i, k + 6) ||
        !cJSON_AddBoolToObject(o, "read", tc_db_val(r, i, k + 6) != NULL) ||
        !tc_db_json_str(o, "archived_at", r, i, k + 7) ||
        !cJSON_AddBoolToObject(o, "archived", tc_db_val(r, i, k + 7) != NULL)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *inbox_json(const PGresult *r, int i)
{
    return inbox_json_at(r, i, 0);
}

/* The item, its number in the user's stream and the wake-up of the stream's feed
 * (STREAM_CHANNEL, delivered at commit) in one statement. */
int store_inbox_insert(tc_dbconn_t *tx, const char *org_id, const char *user_id,
                       const char *delivery_id, const char *kind, const char *title,
                       const char *body)
{
    char id[TC_ID_MAX];
    if (tc_id_new("ntf", id, sizeof id) != TC_OK)
        return TC_ERROR;
    return tc_db_qp(tx, NULL, "inbox_insert",
                    "WITH s AS (INSERT INTO inbox_seq (org_id, user_id, seq) VALUES ($2, $3, 1)"
                    " ON CONFLICT (org_id, user_id) DO UPDATE SET seq = inbox_seq.seq + 1"
                    " RETURNING seq),"
                    " i AS (INSERT INTO inbox (id, org_id, user_id, delivery_id, kind, title,"
                    " body, seq) SELECT $1, $2, $3, $4, $5, $6, $7, s.seq FROM s RETURNING seq)"
                    " SELECT pg_notify('" STREAM_CHANNEL "', $2 || ' ' || $3 || ' ' || i.seq"
                    " || ' ' || $1) FROM i",
                    id, org_id, user_id, delivery_id, kind, title, body);
}

int store_inbox_seq_of(tc_dbconn_t *c, const char *org_id, const char *user_id, const char *id,
                       int64_t *seq)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "inbox_seq_of",
                      "SELECT seq FROM inbox WHERE id=$1 AND org_id=$2 AND user_id=$3", id, org_id,
                      user_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        *seq = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

void inbox_events_free(inbox_event_t *ev, int n)
{
    for (int i = 0; ev && i < n; i++)
        cJSON_Delete(ev[i].item);
    free(ev);
}

/* Rows of (org_id, user_id, seq, INBOX_COLS…) as events; frees r. */
static int events_of(int rc, PGresult *r, inbox_event_t **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (rc != TC_OK)
        return rc;
    int rows = PQntuples(r);
    inbox_event_t *ev = rows ? calloc((size_t)rows, sizeof *ev) : NULL;
    if (rows && !ev) {
        PQclear(r);
        return TC_ENOMEM;
    }
    for (int i = 0; i < rows; i++) {
        snprintf(ev[i].org, sizeof ev[i].org, "%s", tc_db_val(r, i, 0));
        snprintf(ev[i].user, sizeof ev[i].user, "%s", tc_db_val(r, i, 1));
        ev[i].seq = tc_db_int(r, i, 2, 0);
        if (!(ev[i].item = inbox_json_at(r, i, 3))) {
            inbox_events_free(ev, rows);
            PQclear(r);
            return TC_ENOMEM;
        }
    }
    PQclear(r);
    *out = ev;
    *n = rows;
    return TC_OK;
}

int store_inbox_since(tc_dbconn_t *c, const char *org_id, const char *user_id, int64_t after,
                      int limit, inbox_event_t **out, int *n)
{
    PGresult *r = NULL;
    char a[24], lim[16];
    snprintf(a, sizeof a, "%lld", (long long)after);
    snprintf(lim, sizeof lim, "%d", limit);
    int rc = tc_db_qp(c, &r, "inbox_since",
                      "SELECT * FROM (SELECT org_id, user_id, seq, " INBOX_COLS " FROM inbox"
                      " WHERE org_id=$1 AND user_id=$2 AND seq > $3::bigint"
                      " ORDER BY seq DESC LIMIT $4::int) newest ORDER BY seq",
                      org_id, user_id, a, lim);
    return events_of(rc, r, out, n);
}

int store_inbox_by_ids(tc_dbconn_t *c, const char *id_array, inbox_event_t **out, int *n)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "inbox_by_ids",
                      "SELECT org_id, user_id, seq, " INBOX_COLS " FROM inbox"
                      " WHERE id = ANY($1::text[]) ORDER BY org_id, user_id, seq",
                      id_array);
    return events_of(rc, r, out, n);
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
