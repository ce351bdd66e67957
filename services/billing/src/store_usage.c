/* Usage records: billable facts as they arrive, open until the periods job closes the period
 * they fall in. */
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

int store_usage_add(tc_dbconn_t *c, const char *id, const char *org_id, const char *metric,
                    int64_t quantity, const char *occurred_at, const char *source, bool *added)
{
    PGresult *r = NULL;
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)quantity);
    int rc =
        tc_db_qp(c, &r, "usage_add",
                 "INSERT INTO usage_records (id, org_id, metric, quantity, occurred_at, source)"
                 " VALUES ($1, $2, $3, $4::bigint, $5::timestamptz, $6)"
                 " ON CONFLICT (id) DO NOTHING RETURNING 1",
                 id, org_id, metric, q, occurred_at, source);
    *added = rc == TC_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

int store_usage_row(cJSON *rows, const char *id, const char *org_id, const char *metric,
                    int64_t quantity, const char *occurred_at, const char *source)
{
    cJSON *r = cJSON_CreateObject();
    if (!r || !cJSON_AddItemToArray(rows, r)) {
        cJSON_Delete(r); /* not in rows: still ours */
        return TC_ENOMEM;
    }
    /* on failure r stays in rows, freed with them */
    return cJSON_AddStringToObject(r, "id", id) && cJSON_AddStringToObject(r, "org_id", org_id) &&
                   cJSON_AddStringToObject(r, "metric", metric) &&
                   cJSON_AddNumberToObject(r, "quantity", (double)quantity) &&
                   cJSON_AddStringToObject(r, "occurred_at", occurred_at) &&
                   cJSON_AddStringToObject(r, "source", source)
               ? TC_OK
               : TC_ENOMEM;
}

int store_usage_add_many(tc_dbconn_t *c, const cJSON *rows, int *added)
{
    PGresult *r = NULL;
    char *json = cJSON_PrintUnformatted(rows);
    if (!json)
        return TC_ENOMEM;
#define ROWS_INSERT                                                                                \
    "INSERT INTO usage_records (id, org_id, metric, quantity, occurred_at, source, unique_key)"    \
    " SELECT r.id, r.org_id, r.metric, r.quantity, r.occurred_at::timestamptz, r.source,"          \
    " r.unique_key FROM jsonb_to_recordset($1::jsonb) AS r(id text, org_id text, metric text,"     \
    " quantity bigint, occurred_at text, source text, unique_key text)"                            \
    " ON CONFLICT (id) DO NOTHING"
    /* metering's hot path does not count what was new; a report does */
    int rc = added ? tc_db_qp(c, &r, "usage_add_many_counted",
                              "WITH added AS (" ROWS_INSERT " RETURNING 1)"
                              " SELECT count(*)::int FROM added",
                              json)
                   : tc_db_qp(c, NULL, "usage_add_many", ROWS_INSERT, json);
#undef ROWS_INSERT
    if (added)
        *added = rc == TC_OK ? (int)tc_db_int(r, 0, 0, 0) : 0;
    PQclear(r);
    free(json);
    return rc;
}

/* The rows of u (id, metric, quantity, unique_key, occurred_at) aggregated per metric as its
 * definition says (billable_metrics; the platform's own metrics have no row: sum). */
#define AGGREGATED                                                                                 \
    "SELECT u.metric, CASE coalesce(m.aggregation, 'sum')"                                         \
    " WHEN 'count' THEN count(*) WHEN 'max' THEN max(u.quantity)"                                  \
    " WHEN 'unique_count' THEN count(DISTINCT u.unique_key)"                                       \
    " WHEN 'latest' THEN (array_agg(u.quantity ORDER BY u.occurred_at DESC, u.id DESC))[1]"        \
    " ELSE sum(u.quantity) END::bigint"                                                            \
    " FROM u LEFT JOIN billable_metrics m ON m.code = u.metric"                                    \
    " GROUP BY u.metric, m.aggregation ORDER BY u.metric"

/* (metric, quantity) rows into *out (malloc'd), *n of them; takes r over. */
static int usage_rows(PGresult *r, int rc, bill_usage_t **out, int *n)
{
    int rows = rc == TC_OK ? PQntuples(r) : 0;
    if (rows > 0 && !(*out = calloc((size_t)rows, sizeof **out)))
        rc = TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < rows; i++) {
        snprintf((*out)[i].metric, sizeof(*out)[i].metric, "%s", tc_db_val(r, i, 0));
        (*out)[i].quantity = tc_db_int(r, i, 1, 0);
    }
    if (rc == TC_OK)
        *n = rows;
    PQclear(r);
    return rc;
}

int store_usage_open(tc_dbconn_t *c, const char *org_id, int64_t before_ms, bill_usage_t **out,
                     int *n)
{
    PGresult *r = NULL;
    char before[24];
    snprintf(before, sizeof before, "%lld", (long long)before_ms);
    *out = NULL;
    *n = 0;
    int rc = tc_db_qp(c, &r, "usage_open",
                      "WITH u AS (SELECT id, metric, quantity, unique_key, occurred_at"
                      " FROM usage_records WHERE org_id = $1 AND period_key IS NULL"
                      " AND occurred_at < to_timestamp($2::bigint / 1000.0)) " AGGREGATED,
                      org_id, before);
    return usage_rows(r, rc, out, n);
}

int store_usage_take(tc_dbconn_t *c, const char *org_id, int64_t before_ms, const char *key,
                     bill_usage_t **out, int *n)
{
    PGresult *r = NULL;
    char before[24];
    snprintf(before, sizeof before, "%lld", (long long)before_ms);
    *out = NULL;
    *n = 0;
    /* one statement: the rows summed are exactly the rows closed, whatever commits meanwhile */
    int rc = tc_db_qp(c, &r, "usage_take",
                      "WITH u AS (UPDATE usage_records SET period_key = $3 WHERE org_id = $1"
                      " AND period_key IS NULL AND occurred_at < to_timestamp($2::bigint / 1000.0)"
                      " RETURNING id, metric, quantity, unique_key, occurred_at) " AGGREGATED,
                      org_id, before, key);
    return usage_rows(r, rc, out, n);
}

int store_usage_row_key(cJSON *rows, const char *unique_key)
{
    cJSON *last = cJSON_GetArrayItem(rows, cJSON_GetArraySize(rows) - 1);
    return last && tc_json_add_str(last, "unique_key", unique_key) ? TC_OK : TC_ENOMEM;
}

/* ---- billable metrics */

#define METRIC_JSON                                                                                \
    "jsonb_build_object('code', code, 'name', name, 'aggregation', aggregation, 'builtin', false," \
    " 'created_at', " TC_DB_TS("created_at") ")"

int store_metric_define(tc_dbconn_t *c, const char *code, const char *name, const char *agg,
                        cJSON **out, bool *created)
{
    PGresult *r = NULL;
    *out = NULL;
    *created = false;
    int rc = tc_db_qp(c, &r, "metric_define",
                      "WITH added AS (INSERT INTO billable_metrics (code, name, aggregation)"
                      " VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING RETURNING *)"
                      " SELECT " METRIC_JSON "::text, true FROM added UNION ALL"
                      " SELECT " METRIC_JSON "::text, false FROM billable_metrics"
                      " WHERE code = $1 AND NOT EXISTS (SELECT 1 FROM added)"
                      " AND name = $2 AND aggregation = $3",
                      code, name, agg);
    if (rc == TC_OK && PQntuples(r) == 0)
        rc = TC_ECONFLICT; /* defined before, otherwise: its usage was aggregated by that */
    if (rc == TC_OK) {
        *created = tc_db_val(r, 0, 1)[0] == 't';
        if (!(*out = cJSON_Parse(tc_db_val(r, 0, 0))))
            rc = TC_ENOMEM;
    }
    PQclear(r);
    return rc;
}

int store_metrics_list(tc_dbconn_t *c, cJSON **out)
{
    PGresult *r = NULL;
    *out = NULL;
    int rc = tc_db_execp(c, &r, "metrics_list",
                         "SELECT coalesce(jsonb_agg(" METRIC_JSON " ORDER BY code), '[]')::text"
                         " FROM billable_metrics");
    if (rc == TC_OK && !(*out = cJSON_Parse(tc_db_val(r, 0, 0))))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}

int store_metric_aggs(tc_dbconn_t *c, cJSON **out)
{
    PGresult *r = NULL;
    *out = NULL;
    int rc = tc_db_execp(c, &r, "metric_aggs",
                         "SELECT coalesce(jsonb_object_agg(code, aggregation), '{}')::text"
                         " FROM billable_metrics");
    if (rc == TC_OK && !(*out = cJSON_Parse(tc_db_val(r, 0, 0))))
        rc = TC_ENOMEM;
    PQclear(r);
    return rc;
}
