/* POST /v1/analytics/query: the query language (query_model.h) run as the caller's org. */
#include "handlers.h"
#include "query_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

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

/* The query's failure as an answer: past the time limit 504, a value PostgreSQL refused
 * (the time zone is the one it checks) 422. */
static void answer_failure(analytics_app_t *app, tc_resp_t *resp, int rc, const char *sqlstate)
{
    if (rc == TC_ETIMEDOUT) {
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

void h_query(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    qm_query_t *q = NULL;
    tc_jv_t jv;
    tc_jv_init(&jv);
    int rc = qm_parse(tc_req_json(req), &jv, &q);
    if (rc == TC_EINVAL)
        tc_resp_invalid(resp, &jv);
    tc_jv_free(&jv);
    if (rc != TC_OK) {
        if (rc != TC_EINVAL)
            tc_resp_fail(resp, rc);
        return;
    }
    qm_sql_t s;
    rc = qm_render(q, tc_req_principal(req)->org, &s);
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (rc == TC_OK && !tx) { /* answered (503) */
        qm_sql_free(&s);
        qm_free(q);
        return;
    }
    int64_t started = tc_mono_ms(), total = -1;
    PGresult *res = NULL;
    if (rc == TC_OK)
        rc = store_query_run(tx, tc_req_principal(req)->org, app->query_timeout_ms, s.sql,
                             s.nparams, (const char *const *)s.params, &res);
    char sqlstate[8] = "";
    if (tx)
        snprintf(sqlstate, sizeof sqlstate, "%s", tc_db_sqlstate(tx));
    cJSON *data = NULL, *body = NULL;
    if (rc == TC_OK)
        rc = rows_json(&s, res, &data, &total);
    int rows = rc == TC_OK ? cJSON_GetArraySize(data) : 0;
    PQclear(res);
    if (tx)
        tc_tx_abort(app->db, tx); /* read only: nothing to commit */
    if (rc == TC_OK) {
        body = cJSON_CreateObject();
        cJSON *meta = meta_json(q, rows, total, tc_mono_ms() - started);
        if (!body || !meta || !cJSON_AddStringToObject(body, "type", type_name(s.type)) ||
            !cJSON_AddItemToObject(body, "data", data)) {
            cJSON_Delete(meta);
            rc = TC_ENOMEM;
        } else {
            data = NULL;
            cJSON_AddItemToObject(body, "meta", meta);
        }
    }
    qm_sql_free(&s);
    if (rc != TC_OK) {
        cJSON_Delete(data);
        cJSON_Delete(body);
        answer_failure(app, resp, rc, sqlstate);
    } else {
        tc_resp_json(resp, 200, body);
    }
    qm_free(q);
}
