/* Usage records: billable facts as they arrive, open until the periods job closes the period
 * they fall in. */
#include "store.h"
#include "tc/tc_core.h"

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

int store_usage_add_many(tc_dbconn_t *c, const cJSON *rows)
{
    char *json = cJSON_PrintUnformatted(rows);
    if (!json)
        return TC_ENOMEM;
    int rc =
        tc_db_qp(c, NULL, "usage_add_many",
                 "INSERT INTO usage_records (id, org_id, metric, quantity, occurred_at, source)"
                 " SELECT r.id, r.org_id, r.metric, r.quantity, r.occurred_at::timestamptz,"
                 " r.source FROM jsonb_to_recordset($1::jsonb) AS r(id text, org_id text,"
                 " metric text, quantity bigint, occurred_at text, source text)"
                 " ON CONFLICT (id) DO NOTHING",
                 json);
    free(json);
    return rc;
}

/* (metric, sum) rows into *out (malloc'd), *n of them; takes r over. */
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
                      "SELECT metric, sum(quantity)::bigint FROM usage_records"
                      " WHERE org_id = $1 AND period_key IS NULL"
                      " AND occurred_at < to_timestamp($2::bigint / 1000.0)"
                      " GROUP BY metric ORDER BY metric",
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
                      "WITH closed AS (UPDATE usage_records SET period_key = $3 WHERE org_id = $1"
                      " AND period_key IS NULL AND occurred_at < to_timestamp($2::bigint / 1000.0)"
                      " RETURNING metric, quantity)"
                      " SELECT metric, sum(quantity)::bigint FROM closed GROUP BY metric"
                      " ORDER BY metric",
                      org_id, before, key);
    return usage_rows(r, rc, out, n);
}
