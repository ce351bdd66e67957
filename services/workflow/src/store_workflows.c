/* Workflows and their immutable versions. */
#include "asl.h"
#include "store.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WF_COLS                                                                                    \
    "w.id, w.name, w.description, w.version, v.states, w.created_by, " TC_DB_TS(                   \
        "w.created_at") ", " TC_DB_TS("w.updated_at") ", w.revision, v.definition"

static cJSON *wf_json(const PGresult *r, int i, bool with_definition)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && tc_db_json_str(o, "id", r, i, 0) && tc_db_json_str(o, "name", r, i, 1) &&
              tc_db_json_str(o, "description", r, i, 2) && tc_db_json_int(o, "version", r, i, 3) &&
              tc_db_json_int(o, "states", r, i, 4) && tc_db_json_str(o, "created_by", r, i, 5) &&
              tc_db_json_str(o, "created_at", r, i, 6) &&
              tc_db_json_str(o, "updated_at", r, i, 7) && tc_db_json_int(o, "revision", r, i, 8);
    if (ok && with_definition)
        ok = tc_json_add_raw(o, "definition", tc_db_val(r, i, 9)) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *wf_json_summary(const PGresult *r, int i)
{
    return wf_json(r, i, false);
}

static int one(int rc, PGresult *r, cJSON **out)
{
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && !(*out = wf_json(r, 0, true)))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

static int get(tc_dbconn_t *c, const char *org_id, const char *id, bool lock, cJSON **out)
{
    PGresult *r = NULL;
    int rc = lock ? tc_db_qp(c, &r, "wf_get_lock",
                             "SELECT " WF_COLS " FROM workflows w JOIN workflow_versions v"
                             " ON v.workflow_id = w.id AND v.version = w.version"
                             " WHERE w.org_id=$1 AND w.id=$2 AND w.deleted_at IS NULL"
                             " FOR UPDATE OF w",
                             org_id, id)
                  : tc_db_qp(c, &r, "wf_get",
                             "SELECT " WF_COLS " FROM workflows w JOIN workflow_versions v"
                             " ON v.workflow_id = w.id AND v.version = w.version"
                             " WHERE w.org_id=$1 AND w.id=$2 AND w.deleted_at IS NULL",
                             org_id, id);
    return one(rc, r, out);
}

int store_wf_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out)
{
    return get(c, org_id, id, false, out);
}

/* The org's live workflows, counted while holding the org's creation lock (a transaction
 * advisory lock: concurrent creates of one org queue here, other orgs do not wait). */
static int count_live(tc_dbconn_t *tx, const char *org_id, int64_t *n)
{
    int rc =
        tc_db_qp(tx, NULL, "wf_org_lock",
                 "SELECT pg_advisory_xact_lock(hashtextextended('workflow:' || $1, 0))", org_id);
    PGresult *r = NULL;
    if (rc == TC_OK)
        rc = tc_db_qp(tx, &r, "wf_count",
                      "SELECT count(*) FROM workflows WHERE org_id=$1 AND deleted_at IS NULL",
                      org_id);
    if (rc == TC_OK)
        *n = tc_db_int(r, 0, 0, 0);
    PQclear(r);
    return rc;
}

int store_wf_insert(tc_dbconn_t *tx, const wf_row_t *w, int64_t max_workflows, cJSON **out)
{
    int64_t n = 0;
    int rc = count_live(tx, w->org_id, &n);
    if (rc != TC_OK)
        return rc;
    if (max_workflows != WF_UNLIMITED && n >= max_workflows)
        return TC_EDENIED;
    char states[16];
    snprintf(states, sizeof states, "%d", w->states);
    rc = tc_db_qp(tx, NULL, "wf_insert",
                  "INSERT INTO workflows (id, org_id, name, description, version, created_by)"
                  " VALUES ($1,$2,$3,$4,1,$5)",
                  w->id, w->org_id, w->name, w->description ? w->description : "", w->created_by);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "wf_version_insert",
                      "INSERT INTO workflow_versions (workflow_id, version, definition, states,"
                      " created_by) VALUES ($1,1,$2::json,$3::int,$4)",
                      w->id, w->definition, states, w->created_by);
    return rc == TC_OK ? get(tx, w->org_id, w->id, false, out) : rc;
}

int store_wf_list(tc_dbconn_t *c, const char *org_id, const tc_page_t *page, cJSON **data,
                  char *next_key, size_t keylen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", page->limit + 1);
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "wf_list",
                      "SELECT " WF_COLS " FROM workflows w JOIN workflow_versions v"
                      " ON v.workflow_id = w.id AND v.version = w.version"
                      " WHERE w.org_id=$1 AND w.deleted_at IS NULL AND ($2 = '' OR w.id > $2)"
                      " ORDER BY w.id LIMIT $3::int",
                      org_id, page->after, lim);
    if (rc != TC_OK) {
        PQclear(r);
        return rc;
    }
    return tc_db_page(r, page->limit, wf_json_summary, data, next_key, keylen);
}

int store_wf_update(tc_dbconn_t *tx, const wf_row_t *w, cJSON **out)
{
    cJSON *cur = NULL;
    int rc = get(tx, w->org_id, w->id, true, &cur);
    if (rc != TC_OK)
        return rc;
    int version = (int)cJSON_GetObjectItemCaseSensitive(cur, "version")->valuedouble;
    cJSON_Delete(cur);
    char ver[16], states[16];
    snprintf(ver, sizeof ver, "%d", w->definition ? version + 1 : version);
    snprintf(states, sizeof states, "%d", w->states);
    if (w->definition)
        rc = tc_db_qp(tx, NULL, "wf_version_insert2",
                      "INSERT INTO workflow_versions (workflow_id, version, definition, states,"
                      " created_by) VALUES ($1,$2::int,$3::json,$4::int,$5)",
                      w->id, ver, w->definition, states, w->created_by);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "wf_update",
                      "UPDATE workflows SET name = coalesce($3, name),"
                      " description = coalesce($4, description), version = $5::int,"
                      " revision = revision + 1, updated_at = now() WHERE org_id=$1 AND id=$2",
                      w->org_id, w->id, w->name, w->description, ver);
    return rc == TC_OK ? get(tx, w->org_id, w->id, false, out) : rc;
}

int store_wf_delete(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "wf_delete",
                      "WITH d AS (UPDATE workflows SET deleted_at = now(), updated_at = now(),"
                      " revision = revision + 1"
                      " WHERE org_id=$1 AND id=$2 AND deleted_at IS NULL RETURNING *)"
                      " SELECT " WF_COLS " FROM d w JOIN workflow_versions v"
                      " ON v.workflow_id = w.id AND v.version = w.version",
                      org_id, id);
    rc = one(rc, r, out);
    /* its schedules and triggers go with it: nothing is left to start a deleted workflow */
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "wf_delete_schedules",
                      "DELETE FROM schedules WHERE org_id=$1 AND workflow_id=$2", org_id, id);
    if (rc == TC_OK)
        rc = tc_db_qp(tx, NULL, "wf_delete_triggers",
                      "DELETE FROM event_triggers WHERE org_id=$1 AND workflow_id=$2", org_id, id);
    return rc;
}

int store_wf_exists(tc_dbconn_t *c, const char *org_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(c, &r, "wf_exists",
                      "SELECT 1 FROM workflows WHERE org_id=$1 AND id=$2 AND deleted_at IS NULL",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_wf_lock(tc_dbconn_t *tx, const char *org_id, const char *id)
{
    PGresult *r = NULL;
    int rc = tc_db_qp(tx, &r, "wf_lock",
                      "SELECT 1 FROM workflows WHERE org_id=$1 AND id=$2 AND deleted_at IS NULL"
                      " FOR UPDATE",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    PQclear(r);
    return rc;
}

int store_wf_current(tc_dbconn_t *c, const char *org_id, const char *id, int *version,
                     int *timeout_s, char *start_at, size_t n)
{
    PGresult *r = NULL;
    cJSON *def = NULL;
    int rc = tc_db_qp(c, &r, "wf_current",
                      "SELECT w.version, coalesce((v.definition->>'TimeoutSeconds')::int, 0),"
                      " v.definition FROM workflows w JOIN workflow_versions v"
                      " ON v.workflow_id = w.id AND v.version = w.version"
                      " WHERE w.org_id=$1 AND w.id=$2 AND w.deleted_at IS NULL",
                      org_id, id);
    if (rc == TC_OK && PQntuples(r) != 1)
        rc = TC_ENOTFOUND;
    if (rc != TC_OK)
        goto cleanup;
    *version = (int)tc_db_int(r, 0, 0, 0);
    *timeout_s = (int)tc_db_int(r, 0, 1, 0);
    /* StartAt as the validator read it (cJSON: the first of duplicate members, where
     * PostgreSQL's ->> would take the last) */
    def = cJSON_Parse(tc_db_val(r, 0, 2));
    const char *s = def ? asl_start_at(def) : NULL;
    if (!def)
        rc = TC_ENOMEM;
    else if (!s || snprintf(start_at, n, "%s", s) >= (int)n)
        rc = TC_ERROR; /* validated on every version: not stored without one */
cleanup:
    cJSON_Delete(def);
    PQclear(r);
    return rc;
}
