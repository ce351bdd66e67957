/* Saved reports and the cached results of every report (saved or built-in). */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_COLS                                                                                \
    "id, name, description, query::text, range_days, refresh, created_by, " TC_DB_TS(              \
        "created_at") ", " TC_DB_TS("updated_at") ", version, org_id"

static cJSON *report_json(const PGresult *r, int row)
{
    cJSON *o = cJSON_CreateObject(), *q = cJSON_Parse(tc_db_val(r, row, 3));
    bool ok = o && q && cJSON_AddStringToObject(o, "id", tc_db_val(r, row, 0)) &&
              cJSON_AddStringToObject(o, "kind", "saved") &&
              cJSON_AddStringToObject(o, "name", tc_db_val(r, row, 1)) &&
              cJSON_AddStringToObject(o, "description", tc_db_val(r, row, 2));
    if (ok && cJSON_AddItemToObject(o, "query", q))
        q = NULL;
    else
        ok = false;
    ok = ok && tc_json_add_int(o, "range_days", tc_db_int(r, row, 4, 0)) &&
         cJSON_AddStringToObject(o, "refresh", tc_db_val(r, row, 5)) &&
         cJSON_AddStringToObject(o, "created_by", tc_db_val(r, row, 6)) &&
         cJSON_AddStringToObject(o, "created_at", tc_db_val(r, row, 7)) &&
         cJSON_AddStringToObject(o, "updated_at", tc_db_val(r, row, 8)) &&
         tc_json_add_int(o, "version", tc_db_int(r, row, 9, 0));
    cJSON_Delete(q);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The one row of res as a report (TC_ENOTFOUND without a row). */
static int one_report(PGresult *res, cJSON **out)
{
    if (PQntuples(res) == 0)
        return TC_ENOTFOUND;
    *out = report_json(res, 0);
    return *out ? TC_OK : TC_ENOMEM;
}

int store_report_create(tc_dbconn_t *tx, const char *id, const char *org_id, const char *created_by,
                        const rm_fields_t *f, cJSON **out)
{
    char *query = tc_json_print(f->query), range[16];
    if (!query)
        return TC_ENOMEM;
    snprintf(range, sizeof range, "%d", f->range_days);
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "an_report_create",
                      "INSERT INTO reports (id, org_id, name, description, query, range_days,"
                      " refresh, created_by) VALUES ($1,$2,$3,$4,$5::jsonb,$6::int,$7,$8)"
                      " RETURNING " REPORT_COLS,
                      id, org_id, f->name, f->description ? f->description : "", query, range,
                      rm_refresh_name(f->refresh), created_by);
    free(query);
    if (rc == TC_OK)
        rc = one_report(res, out);
    PQclear(res);
    return rc;
}

int store_report_get(tc_dbconn_t *c, const char *org_id, const char *id, bool for_update,
                     cJSON **out)
{
    PGresult *res = NULL;
    int rc = for_update
                 ? tc_db_qp(c, &res, "an_report_get_locked",
                            "SELECT " REPORT_COLS " FROM reports WHERE org_id = $1 AND id = $2"
                            " FOR UPDATE",
                            org_id, id)
                 : tc_db_qp(c, &res, "an_report_get",
                            "SELECT " REPORT_COLS " FROM reports WHERE org_id = $1 AND id = $2",
                            org_id, id);
    if (rc == TC_OK)
        rc = one_report(res, out);
    PQclear(res);
    return rc;
}

int store_report_update(tc_dbconn_t *tx, const char *org_id, const char *id, const rm_fields_t *f,
                        cJSON **out)
{
    char *query = f->query ? tc_json_print(f->query) : NULL, range[16];
    if (f->query && !query)
        return TC_ENOMEM;
    snprintf(range, sizeof range, "%d", f->range_days);
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "an_report_update",
                      "UPDATE reports SET name = coalesce($3, name),"
                      " description = coalesce($4, description),"
                      " query = coalesce($5::jsonb, query),"
                      " range_days = CASE WHEN $6::int > 0 THEN $6::int ELSE range_days END,"
                      " refresh = coalesce($7, refresh), updated_at = now(), version = version + 1"
                      " WHERE org_id = $1 AND id = $2 RETURNING " REPORT_COLS,
                      org_id, id, f->name, f->description, query, range,
                      f->refresh >= 0 ? rm_refresh_name(f->refresh) : NULL);
    free(query);
    if (rc == TC_OK)
        rc = one_report(res, out);
    PQclear(res);
    return rc;
}

int store_report_delete(tc_dbconn_t *tx, const char *org_id, const char *id)
{
    PGresult *res = NULL;
    int rc = tc_db_qp(tx, &res, "an_report_delete",
                      "DELETE FROM reports WHERE org_id = $1 AND id = $2", org_id, id);
    if (rc == TC_OK && strcmp(PQcmdTuples(res), "1") != 0)
        rc = TC_ENOTFOUND;
    PQclear(res);
    if (rc == TC_OK)
        rc =
            tc_db_qp(tx, NULL, "an_result_delete",
                     "DELETE FROM report_results WHERE org_id = $1 AND report_id = $2", org_id, id);
    return rc;
}

int store_report_list(tc_dbconn_t *c, const char *org_id, int limit, const char *after,
                      cJSON **data, char next[128])
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    PGresult *res = NULL;
    /* the cursor is the last row's id: ids are time-sortable, so id order is creation order */
    int rc = tc_db_qp(c, &res, "an_report_list",
                      "SELECT " REPORT_COLS " FROM reports WHERE org_id = $1"
                      " AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3::int",
                      org_id, after && *after ? after : NULL, lim);
    *data = NULL;
    next[0] = '\0';
    if (rc != TC_OK)
        return rc;
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = limit;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *o = report_json(res, i);
        if (!o) {
            cJSON_Delete(arr);
            arr = NULL;
        } else {
            cJSON_AddItemToArray(arr, o);
        }
    }
    if (arr && more)
        snprintf(next, 128, "%s", tc_db_val(res, n - 1, 0));
    PQclear(res);
    *data = arr;
    return arr ? TC_OK : TC_ENOMEM;
}

int store_result_get(tc_dbconn_t *c, const char *org_id, const char *report_id, int version,
                     cJSON **result, int64_t *computed_ms)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    PGresult *res = NULL;
    int rc = tc_db_qp(
        c, &res, "an_result_get",
        "SELECT result::text, " TC_DB_TS(
            "computed_at") " FROM report_results"
                           " WHERE org_id = $1 AND report_id = $2 AND report_version = $3::int",
        org_id, report_id, v);
    if (rc == TC_OK && PQntuples(res) == 0)
        rc = TC_ENOTFOUND;
    if (rc == TC_OK && (!(*result = cJSON_Parse(tc_db_val(res, 0, 0))) ||
                        tc_time_parse(tc_db_val(res, 0, 1), computed_ms) != TC_OK)) {
        cJSON_Delete(*result);
        *result = NULL;
        rc = TC_ERROR;
    }
    PQclear(res);
    return rc;
}

int store_result_put(tc_dbconn_t *c, const char *org_id, const char *report_id, int version,
                     int64_t computed_ms, const cJSON *result)
{
    char v[16], at[TC_RFC3339_LEN], *text = tc_json_print(result);
    if (!text)
        return TC_ENOMEM;
    snprintf(v, sizeof v, "%d", version);
    tc_time_format(computed_ms, at);
    /* a computation finishing late never replaces a newer version or a later one of the same
     * version, and one for a report deleted (or changed) meanwhile is not kept */
    int rc = tc_db_qp(c, NULL, "an_result_put",
                      "INSERT INTO report_results (org_id, report_id, report_version, computed_at,"
                      " result) SELECT $1, $2, $3::int, $4::timestamptz, $5::jsonb"
                      " WHERE starts_with($2, 'builtin.') OR EXISTS (SELECT 1 FROM reports"
                      "  WHERE org_id = $1 AND id = $2 AND version = $3::int)"
                      " ON CONFLICT (org_id, report_id) DO UPDATE SET"
                      " report_version = excluded.report_version,"
                      " computed_at = excluded.computed_at, result = excluded.result"
                      " WHERE excluded.report_version > report_results.report_version"
                      " OR (excluded.report_version = report_results.report_version"
                      "  AND excluded.computed_at > report_results.computed_at)",
                      org_id, report_id, v, at, text);
    free(text);
    return rc;
}

int store_reports_claim(tc_dbconn_t *c, int limit, int lease_s, cJSON **due)
{
    char lim[16], lease[16];
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(lease, sizeof lease, "%d", lease_s);
    PGresult *res = NULL;
    /* one statement, committed at once: the lease, not a lock, keeps other replicas off while
     * the queries run; the least recently attempted go first */
    int rc =
        tc_db_qp(c, &res, "an_reports_claim",
                 "UPDATE reports SET refreshing_until = now() + make_interval(secs => $2::int),"
                 " refresh_attempted_at = now() WHERE id IN (SELECT r.id FROM reports r"
                 " WHERE r.refresh <> 'manual'"
                 " AND (r.refreshing_until IS NULL OR r.refreshing_until < now())"
                 " AND NOT EXISTS (SELECT 1 FROM report_results x WHERE x.org_id = r.org_id"
                 "  AND x.report_id = r.id AND x.report_version = r.version"
                 "  AND x.computed_at > now() - CASE r.refresh WHEN 'hourly'"
                 "  THEN interval '1 hour' ELSE interval '1 day' END)"
                 " ORDER BY r.refresh_attempted_at NULLS FIRST, r.updated_at"
                 " LIMIT $1::int FOR UPDATE SKIP LOCKED) RETURNING " REPORT_COLS,
                 lim, lease);
    *due = NULL;
    if (rc != TC_OK)
        return rc;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < PQntuples(res); i++) {
        cJSON *o = report_json(res, i);
        if (!o || !cJSON_AddStringToObject(o, "org_id", tc_db_val(res, i, 10))) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            arr = NULL;
        } else {
            cJSON_AddItemToArray(arr, o);
        }
    }
    PQclear(res);
    *due = arr;
    return arr ? TC_OK : TC_ENOMEM;
}

int store_report_release(tc_dbconn_t *c, const char *org_id, const char *id)
{
    return tc_db_qp(c, NULL, "an_report_release",
                    "UPDATE reports SET refreshing_until = NULL WHERE org_id = $1 AND id = $2",
                    org_id, id);
}

bool store_timezone_known(tc_dbconn_t *c, const char *tz, int *rc)
{
    PGresult *res = NULL;
    *rc = tc_db_qp(c, &res, "an_timezone_known", "SELECT 1 FROM pg_timezone_names WHERE name = $1",
                   tz);
    bool known = *rc == TC_OK && PQntuples(res) > 0;
    PQclear(res);
    return known;
}
