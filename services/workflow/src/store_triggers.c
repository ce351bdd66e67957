/* Event triggers of workflows, and the ones an event may start. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
#define TRIG_COLS                                                                                  \
    "id, workflow_id, name, topic, type, condition, enabled, created_by,"                          \
    " " TC_DB_TS("created_at") ", " TC_DB_TS("updated_at") ", last_event_id,"                     \
    " " TC_DB_TS("last_at") ", last_execution_id, last_skip_reason"
/* clang-format on */

static cJSON *trig_json(const PGresult *r, int i)
{
    cJSON *o = cJSON_CreateObject();
    bool ok =
        o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "workflow_id", r, i, 1) &&
        tc_db_json_str(o, "name", r, i, 2) && tc_db_json_str(o, "topic", r, i, 3) &&
        tc_db_json_str(o, "type", r, i, 4) && tc_db_json_str(o, "condition", r, i, 5) &&
        cJSON_AddBoolToObject(o, "enabled", tc_db_val(r, i, 6)[0] == 't') &&
        tc_db_json_str(o, "created_by", r, i, 7) && tc_db_json_str(o, "created_at", r, i, 8) &&
        tc_db_json_str(o, "updated_at", r, i, 9) && tc_db_json_str(o, "last_event_id", r, i, 10) &&
        tc_db_json_str(o, "last_event_at", r, i, 11) &&
        tc_db_json_str(o, "last_execution_id", r, i, 12) &&
        tc_db_json_str(o, "last_skip_reason", r, i, 13);
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
    if (rc == TC_OK && !(*out = trig_json(r, 0)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_trig_insert(tc_dbconn_t *tx, const trig_row_t *t, int max, cJSON **out)
{
    int rc = store_wf_lock(tx, t->org_id, t->workflow_id);
    if (rc != TC_OK)
        return rc;
    PGresult *r = NULL;
    rc = tc_db_qp(tx, &r, "trig_count", "SELECT count(*) FROM event_triggers WHERE workflow_id=$1",
                  t->workflow_id);
    int count = rc == TC_OK ? (int)tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    if (rc != TC_OK)
        return rc;
    if (count >= max)
        return TC_EDENIED;
    r = NULL;
    rc = tc_db_qp(tx, &r, "trig_insert",
                  "INSERT INTO event_triggers (id, org_id, workflow_id, name, topic, type,"
                  " condition, enabled, plan, created_by)"
                  " VALUES ($1,$2,$3,$4,$5,$6,$7,$8::boolean,$9,$10) RETURNING " TRIG_COLS,
                  t->id, t->org_id, t->workflow_id, t->name ? t->name : "", t->topic, t->type,
                  t->condition, t->enabled != 0 ? "true" : "false", t->plan, t->created_by);
    return one(rc, r, out);
}

int store_trig_get(tc_dbconn_t *c, const char *org_id, const char *workflow_id, const char *id,
                   cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "trig_get",
                      "SELECT " TRIG_COLS " FROM event_triggers WHERE org_id=$1 AND workflow_id=$2"
                      " AND id=$3",
                      org_id, workflow_id, id);
    return one(rc, r, out);
}

int store_trig_list(tc_dbconn_t *c, const char *org_id, const char *workflow_id,
                    const tc_page_t *page, cJSON **data, char *next_key, size_t keylen)
{
    int rc = store_wf_exists(c, org_id, workflow_id);
    if (rc != TC_OK)
        return rc;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    rc = tc_db_qp(c, &r, "trig_list",
                  "SELECT " TRIG_COLS " FROM event_triggers WHERE org_id=$1 AND workflow_id=$2"
                  " AND ($3 = '' OR id > $3) ORDER BY id LIMIT $4::int",
                  org_id, workflow_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, trig_json, data, next_key, keylen);
}

int store_trig_update(tc_dbconn_t *tx, const trig_row_t *t, cJSON **out)
{
    char enabled[8];
    snprintf(enabled, sizeof enabled, "%d", t->enabled);
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "trig_update",
                      "UPDATE event_triggers SET name = coalesce($4, name),"
                      " topic = coalesce($5, topic), type = coalesce($6, type),"
                      " condition = CASE WHEN $8::boolean THEN NULL"
                      " ELSE coalesce($7, condition) END,"
                      " enabled = CASE WHEN $9::int >= 0 THEN $9::int = 1 ELSE enabled END,"
                      " plan = $10, updated_at = now()"
                      " WHERE org_id=$1 AND workflow_id=$2 AND id=$3 RETURNING " TRIG_COLS,
                      t->org_id, t->workflow_id, t->id, t->name, t->topic, t->type, t->condition,
                      t->clear_condition ? "true" : "false", enabled, t->plan);
    return one(rc, r, out);
}

int store_trig_delete(tc_dbconn_t *tx, const char *org_id, const char *workflow_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "trig_delete",
                      "DELETE FROM event_triggers WHERE org_id=$1 AND workflow_id=$2 AND id=$3"
                      " RETURNING id",
                      org_id, workflow_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

void trig_match_free(trig_match_t *m, int n)
{
    for (int i = 0; m && i < n; i++) {
        free(m[i].type);
        free(m[i].condition);
    }
    free(m);
}

int store_trig_for_event(tc_dbconn_t *tx, const char *org_id, const char *topic, trig_match_t **out,
                         int *n)
{
    *out = NULL;
    *n = 0;
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "trig_for_event",
                      "SELECT t.id, t.workflow_id, coalesce(p.plan, t.plan), t.type, t.condition"
                      " FROM event_triggers t LEFT JOIN org_plans p ON p.org_id = t.org_id"
                      " WHERE t.org_id=$1 AND t.topic=$2 AND t.enabled ORDER BY t.id",
                      org_id, topic);
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    trig_match_t *m = rows > 0 ? calloc((size_t)rows, sizeof *m) : NULL;
    if (rc == TC_OK && rows > 0 && !m)
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        snprintf(m[i].id, sizeof m[i].id, "%s", tc_db_val(r, i, 0));
        snprintf(m[i].workflow_id, sizeof m[i].workflow_id, "%s", tc_db_val(r, i, 1));
        snprintf(m[i].plan, sizeof m[i].plan, "%s", tc_db_val(r, i, 2));
        m[i].type = strdup(tc_db_val(r, i, 3));
        m[i].condition = PQgetisnull(r, i, 4) ? NULL : strdup(tc_db_val(r, i, 4));
        if (!m[i].type || (!PQgetisnull(r, i, 4) && !m[i].condition))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    if (rc != TC_OK) {
        trig_match_free(m, rows);
        return rc;
    }
    *out = m;
    *n = rows;
    return TC_OK;
}

int store_trig_seen(tc_dbconn_t *tx, const char *event_id, const char *topic, bool *seen)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "trig_seen",
                      "INSERT INTO processed_events (consumer_group, event_id, topic)"
                      " VALUES ('workflow.triggers', $1, $2) ON CONFLICT DO NOTHING RETURNING 1",
                      event_id, topic);
    if (rc == TC_OK)
        *seen = PQntuples(r) == 0;
    PQclear(r);
    return rc;
}

int store_trig_started(tc_dbconn_t *tx, const char *id, const char *event_id, bool *started)
{
    PGresult *r = NULL;
    int rc =
        tc_db_qp(tx, &r, "trig_started",
                 "SELECT 1 FROM executions WHERE trigger_id = $1 AND event_id = $2", id, event_id);
    if (rc == TC_OK)
        *started = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_trig_fired(tc_dbconn_t *tx, const char *id, const char *event_id, const char *exec_id,
                     const char *skip_reason)
{
    return tc_db_qp(tx, NULL, "trig_fired",
                    "UPDATE event_triggers SET last_event_id = $2, last_at = now(),"
                    " last_execution_id = coalesce($3, last_execution_id),"
                    " last_skip_reason = CASE WHEN $3::text IS NULL THEN $4 END WHERE id = $1",
                    id, event_id, exec_id, skip_reason);
}
