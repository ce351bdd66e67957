/* Messages (one per platform event and org), their deliveries and attempts, as the API and
 * the event consumer see them. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The org's enabled endpoints subscribed to the type (filters matched here, in C, with the
 * same rule the API validates). ids: NULL-terminated array of strdup'd ids. */
static int subscribed(tc_dbconn_t *tx, const char *org_id, const char *type, char ***ids, int *n)
{
    *ids = NULL;
    *n = 0;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "msg_subscribers",
                      "SELECT id, event_types::text FROM webhook_endpoints"
                      " WHERE org_id=$1 AND NOT disabled ORDER BY id",
                      org_id);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    int rows = PQntuples(r);
    char **out = calloc((size_t)rows + 1, sizeof *out);
    if (!out) {
        PQclear(r);
        return TC_ENOMEM;
    }
    for (int i = 0; i < rows && rc == TC_OK; i++) {
        cJSON *filters = cJSON_Parse(tc_db_val(r, i, 1));
        if (filters && hub_filters_match(filters, type) &&
            !(out[(*n)++] = strdup(tc_db_val(r, i, 0))))
            rc = TC_ENOMEM;
        cJSON_Delete(filters);
    }
    PQclear(r);
    *ids = out;
    return rc;
}

static void free_ids(char **ids)
{
    for (size_t i = 0; ids && ids[i]; i++)
        free(ids[i]);
    free(ids);
}

int store_msg_fanout(tc_dbconn_t *tx, const char *org_id, const char *event_id,
                     const char *event_type, const char *payload, int *deliveries)
{
    *deliveries = 0;
    char **ids = NULL, msg_id[TC_ID_MAX];
    int n = 0;
    int rc = subscribed(tx, org_id, event_type, &ids, &n);
    if (rc != TC_OK || n == 0)
        goto cleanup;
    if ((rc = tc_id_new("whm", msg_id, sizeof msg_id)) != TC_OK)
        goto cleanup;
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "msg_insert",
                  "INSERT INTO webhook_messages (id, org_id, event_id, event_type, payload)"
                  " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (org_id, event_id) DO NOTHING RETURNING id",
                  msg_id, org_id, event_id, event_type, payload);
    bool inserted = rc == TC_OK && PQntuples(r) == 1;
    PQclear(r);
    if (!inserted) /* a redelivered event: its deliveries exist already */
        goto cleanup;
    for (int i = 0; i < n && rc == TC_OK; i++)
        rc = tc_db_qp(tx, NULL, "dlv_insert",
                      "INSERT INTO webhook_deliveries (message_id, endpoint_id, org_id)"
                      " VALUES ($1,$2,$3)",
                      msg_id, ids[i], org_id);
    if (rc == TC_OK)
        *deliveries = n;
cleanup:
    free_ids(ids);
    return rc;
}

#define MSG_COLS "m.id, m.event_id, m.event_type, " TC_DB_TS("m.created_at")

static cJSON *msg_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !tc_db_json_str(o, "id", r, i, 0) || !tc_db_json_str(o, "event_id", r, i, 1) ||
        !tc_db_json_str(o, "event_type", r, i, 2) || !tc_db_json_str(o, "created_at", r, i, 3)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int store_msg_list(tc_dbconn_t *c, const char *org_id, const char *event_type,
                   const char *endpoint_id, const tc_page_t *page, cJSON **data, char *next_key,
                   size_t keylen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    /* newest first: the cursor is the last id seen, and ids sort in creation order */
    int rc = tc_db_qp(c, &r, "msg_list",
                      "SELECT " MSG_COLS " FROM webhook_messages m WHERE m.org_id=$1"
                      " AND ($2 = '' OR m.id < $2) AND ($3::text IS NULL OR m.event_type = $3)"
                      " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM webhook_deliveries d"
                      "   WHERE d.message_id = m.id AND d.endpoint_id = $4))"
                      " ORDER BY m.id DESC LIMIT $5::int",
                      org_id, page->after, event_type, endpoint_id, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, msg_json, data, next_key, keylen);
}

static cJSON *delivery_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_str(o, "endpoint_id", r, i, 0) &&
              tc_db_json_str(o, "status", r, i, 1) && tc_db_json_int(o, "attempts", r, i, 2) &&
              tc_db_json_str(o, "next_attempt_at", r, i, 3) &&
              (tc_db_val(r, i, 4) ? tc_db_json_int(o, "last_status_code", r, i, 4) != NULL
                                  : cJSON_AddNullToObject(o, "last_status_code") != NULL) &&
              tc_db_json_str(o, "last_error", r, i, 5) && tc_db_json_str(o, "updated_at", r, i, 6);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int add_deliveries(tc_dbconn_t *c, const char *id, cJSON *msg)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "msg_deliveries",
                      "SELECT endpoint_id, status, attempts,"
                      " CASE WHEN status = 'pending' THEN " TC_DB_TS(
                          "next_at") " END,"
                                     " last_status, last_error, " TC_DB_TS(
                                         "updated_at") " FROM webhook_deliveries WHERE "
                                                       "message_id=$1 ORDER BY endpoint_id",
                      id);
    cJSON *arr = rc == TC_OK ? cJSON_AddArrayToObject(msg, "deliveries") : NULL;
    if (rc == TC_OK && !arr)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < PQntuples(r); i++) {
        cJSON *d = delivery_json(r, i);
        if (!d || !cJSON_AddItemToArray(arr, d)) {
            cJSON_Delete(d);
            rc = TC_ENOMEM;
        }
    }
    PQclear(r);
    return rc;
}

int store_msg_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "msg_get",
                      "SELECT " MSG_COLS ", m.payload FROM webhook_messages m"
                      " WHERE m.org_id=$1 AND m.id=$2",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    cJSON *o = NULL;
    if (rc == TC_OK &&
        (!(o = msg_json(r, 0)) || !tc_json_add_raw(o, "payload", tc_db_val(r, 0, 4))))
        rc = TC_ENOMEM;
    PQclear(r);
    if (rc == TC_OK)
        rc = add_deliveries(c, id, o);
    if (rc != TC_OK)
        cJSON_Delete(o);
    else
        *out = o;
    return rc;
}

static cJSON *attempt_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "endpoint_id", r, i, 1) &&
              tc_db_json_int(o, "attempt", r, i, 2) &&
              (tc_db_val(r, i, 3) ? tc_db_json_int(o, "status_code", r, i, 3) != NULL
                                  : cJSON_AddNullToObject(o, "status_code") != NULL) &&
              tc_db_json_str(o, "error", r, i, 4) && tc_db_json_str(o, "response_body", r, i, 5) &&
              tc_db_json_int(o, "duration_ms", r, i, 6) && tc_db_json_str(o, "created_at", r, i, 7);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int store_attempts_list(tc_dbconn_t *c, const char *org_id, const char *message_id,
                        const tc_page_t *page, cJSON **data, char *next_key, size_t keylen)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(c, &r, "msg_exists", "SELECT 1 FROM webhook_messages WHERE org_id=$1 AND id=$2",
                 org_id, message_id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    if (rc != TC_OK)
        return rc;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    r = NULL;
    rc = tc_db_qp(
        c, &r, "attempt_list",
        "SELECT id, endpoint_id, attempt, status_code, error, response_body,"
        " duration_ms, " TC_DB_TS(
            "created_at") " FROM webhook_attempts"
                          " WHERE message_id=$1 AND ($2 = '' OR id > $2) ORDER BY id LIMIT $3::int",
        message_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, attempt_json, data, next_key, keylen);
}

int store_msg_resend(tc_dbconn_t *tx, const char *org_id, const char *id, const char *endpoint_id,
                     int64_t *requeued)
{
    PGresult *r = NULL;
    /* a delivery in flight is left to its worker (judged on the row as updated, not on the
     * statement's snapshot: a claim may commit meanwhile); a disabled endpoint receives
     * nothing */
    int rc = tc_db_qp(tx, &r, "msg_resend",
                      "WITH m AS (SELECT id FROM webhook_messages WHERE org_id=$1 AND id=$2),"
                      " d AS (SELECT d.message_id, d.endpoint_id, d.status, e.disabled"
                      "   FROM webhook_deliveries d JOIN m ON m.id = d.message_id"
                      "   JOIN webhook_endpoints e ON e.id = d.endpoint_id"
                      "   WHERE ($3::text IS NULL OR d.endpoint_id = $3)),"
                      " u AS (UPDATE webhook_deliveries w SET status='pending', next_at=now(),"
                      "   round_start = w.attempts,"
                      "   lease_until=NULL, updated_at=now() FROM d"
                      "   WHERE w.message_id = d.message_id AND w.endpoint_id = d.endpoint_id"
                      "   AND w.status <> 'delivering' AND NOT d.disabled RETURNING 1)"
                      " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM d),"
                      " (SELECT count(*) FROM u)",
                      org_id, id, endpoint_id);
    if (rc == TC_OK && (tc_db_int(r, 0, 0, 0) == 0 || tc_db_int(r, 0, 1, 0) == 0))
        rc = TC_ENOTFOUND;
    if (rc == TC_OK)
        *requeued = tc_db_int(r, 0, 2, 0);
    PQclear(r);
    return rc;
}
