/* A query run as an org, for the query API and saved reports alike: validate, render, run on
 * a connection of its own with the query time limit and the org named for row-level
 * security, and shape the rows into {type, data, meta}. */
#include "query_run.h"
#include "query_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

static const char *type_name(qm_type_t t)
{
    return t == QM_FUNNEL ? "funnel" : t == QM_RETENTION ? "retention" : "events";
}

/* The rows as the response's data: events and retention one object per row, a funnel its
 * steps. *total: the events statement's groups before the limit (-1 for other types). */
static int rows_json(const qm_sql_t *s, PGresult *res, cJSON **data, int64_t *total)
{
    int n = PQntuples(res), ncols = PQnfields(res), rc = TC_OK;
    const char *row[64];
    *total = -1;
    *data = cJSON_CreateArray();
    if (!*data)
        return TC_ENOMEM;
    if (ncols > (int)TC_ARRAY_LEN(row))
        return TC_EINVAL;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        for (int k = 0; k < ncols; k++)
            row[k] = PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k);
        cJSON *o = NULL;
        rc = qm_row_json(s, row, ncols, &o);
        if (rc == TC_OK && s->type == QM_FUNNEL) {
            cJSON *steps = cJSON_DetachItemFromObject(o, "steps");
            cJSON_Delete(*data);
            *data = steps;
            cJSON_Delete(o);
            rc = steps ? TC_OK : TC_EINVAL;
        } else if (rc == TC_OK) {
            cJSON_AddItemToArray(*data, o);
        }
        if (rc == TC_OK && i == 0 && s->type == QM_EVENTS)
            rc = qm_row_total(s, row, ncols, total);
    }
    return rc;
}

static cJSON *meta_json(const qm_query_t *q, int rows, int64_t total, int64_t elapsed_ms)
{
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "source", "raw") ||
        !cJSON_AddStringToObject(m, "timezone", q->timezone) || !tc_json_add_int(m, "rows", rows) ||
        !cJSON_AddBoolToObject(m, "truncated", total > rows) ||
        !tc_json_add_int(m, "elapsed_ms", elapsed_ms)) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

/* The query's failure as an answer: problems of the body 422 with each field, past the time
 * limit 504, a value PostgreSQL refused (the time zone is the one it checks) 422. */
void analytics_query_fail(analytics_app_t *app, tc_resp_t *resp, int rc, tc_jv_t *jv,
                          const char *sqlstate)
{
    if (rc == TC_EINVAL && jv && tc_jv_failed(jv)) {
        tc_resp_invalid(resp, jv);
    } else if (rc == TC_ETIMEDOUT) {
        tc_resp_error(resp, 504, "query_timeout",
                      "the query ran longer than %d ms: narrow the time range, add filters or "
                      "use fewer breakdowns",
                      app->query_timeout_ms);
    } else if (rc == TC_EINVAL && strcmp(sqlstate, "22023") == 0) {
        tc_jv_t jv;
        tc_jv_init(&jv);
        tc_jv_error(&jv, "timezone", "not a time zone this server knows (IANA names)");
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
    } else if (rc == TC_EINVAL) {
        tc_resp_error(resp, 422, "invalid_query", "a value of the query cannot be used (%s)",
                      sqlstate);
    } else {
        tc_resp_fail(resp, rc);
    }
}

/* The rendered statement run as org; the caller owns *res. */
static int run(analytics_app_t *app, const char *org, const qm_sql_t *s, PGresult **res,
               char sqlstate[8])
{
    tc_dbconn_t *tx = tc_db_acquire(app->db);
    if (!tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(tx);
    if (rc == TC_OK)
        rc = store_query_run(tx, org, app->query_timeout_ms, s->sql, s->nparams,
                             (const char *const *)s->params, res);
    snprintf(sqlstate, 8, "%s", tc_db_sqlstate(tx));
    tc_db_rollback(tx); /* read only: nothing to commit */
    tc_db_release(app->db, tx);
    return rc;
}

int analytics_query_run(analytics_app_t *app, const char *org, const cJSON *body, tc_jv_t *jv,
                        cJSON **result, char sqlstate[8])
{
    qm_query_t *q = NULL;
    qm_sql_t s = {0};
    PGresult *res = NULL;
    cJSON *data = NULL, *out = NULL, *meta = NULL;
    int64_t started = tc_mono_ms(), total = -1;
    *result = NULL;
    sqlstate[0] = '\0';
    int rc = qm_parse(body, jv, &q);
    if (rc == TC_OK)
        rc = qm_render(q, org, &s);
    if (rc == TC_OK)
        rc = run(app, org, &s, &res, sqlstate);
    if (rc == TC_OK)
        rc = rows_json(&s, res, &data, &total);
    if (rc != TC_OK)
        goto cleanup;
    meta = meta_json(q, cJSON_GetArraySize(data), total, tc_mono_ms() - started);
    out = cJSON_CreateObject();
    if (!meta || !out || !cJSON_AddStringToObject(out, "type", type_name(s.type)) ||
        !cJSON_AddItemToObject(out, "data", data)) {
        rc = TC_ENOMEM;
        goto cleanup;
    }
    data = NULL; /* out's now */
    cJSON_AddItemToObject(out, "meta", meta);
    meta = NULL;
    *result = out;
    out = NULL;
cleanup:
    cJSON_Delete(meta);
    cJSON_Delete(data);
    cJSON_Delete(out);
    PQclear(res);
    qm_sql_free(&s);
    qm_free(q);
    return rc;
}
