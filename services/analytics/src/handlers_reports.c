/* Saved reports (/v1/analytics/reports) and the cached results of every report, saved or
 * built-in. Members read; editors create, change and delete; built-ins are read-only. */
#include "handlers.h"
#include "query_run.h"
#include "report_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_crypto.h"
#include "tc/tc_idem.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_page.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <string.h>

static bool is_builtin(const char *id)
{
    return id && strncmp(id, RM_BUILTIN_PREFIX, strlen(RM_BUILTIN_PREFIX)) == 0;
}

/* The {id} of the path: a built-in's name or a saved report's rpt_ id; NULL when answered
 * (404 for an unknown built-in, 404 for a malformed id). */
static const char *report_id(tc_req_t *req, tc_resp_t *resp)
{
    const char *raw = tc_req_param(req, "id");
    if (is_builtin(raw)) {
        if (rm_builtin(raw))
            return raw;
        tc_resp_error(resp, 404, "not_found", "No such built-in report");
        return NULL;
    }
    return tc_req_param_id(req, resp, "id", "rpt", "report");
}

/* The {id} of a saved report to change; NULL when answered (a built-in is read-only: 409). */
static const char *saved_report_id(tc_req_t *req, tc_resp_t *resp)
{
    const char *id = report_id(req, resp);
    if (id && is_builtin(id)) {
        tc_resp_error(resp, 409, "builtin_report", "Built-in reports cannot be changed or deleted");
        return NULL;
    }
    return id;
}

/* A query's time zone must be one PostgreSQL knows, or the report would fail at every run
 * (the query language checks only its shape). TC_EINVAL with the problem in jv; *rc the
 * lookup's failure otherwise (TC_OK when fine or without a time zone). */
static int check_timezone(tc_dbconn_t *c, const cJSON *query, tc_jv_t *jv, int *rc)
{
    const char *tz = query ? tc_json_get_str(query, "timezone") : NULL;
    *rc = TC_OK;
    if (!tz || store_timezone_known(c, tz, rc) || *rc != TC_OK)
        return *rc;
    tc_jv_error(jv, "query", "timezone: not a time zone this server knows (IANA names)");
    return TC_EINVAL;
}

void h_reports_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    const char *kind = tc_req_query(req, "kind");
    if (kind && strcmp(kind, "builtin") != 0 && strcmp(kind, "saved") != 0) {
        tc_resp_error(resp, 400, "invalid_parameter", "kind is saved (default) or builtin");
        return;
    }
    if (kind && strcmp(kind, "builtin") == 0) {
        cJSON *data = cJSON_CreateArray();
        int rc = data ? TC_OK : TC_ENOMEM;
        for (int i = 0; rc == TC_OK && i < rm_builtin_count(); i++) {
            cJSON *o = rm_builtin_json(rm_builtin_at(i));
            if (o)
                cJSON_AddItemToArray(data, o);
            else
                rc = TC_ENOMEM;
        }
        tc_page_respond(resp, rc, data, NULL);
        return;
    }
    tc_page_t page;
    if (tc_page_parse(req, resp, &page) != TC_OK)
        return;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[128];
    int rc = store_report_list(c, tc_req_principal(req)->org, page.limit, page.after, &data, next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

void h_report_create(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    const tc_principal_t *p = tc_req_principal(req);
    rm_fields_t f;
    tc_jv_t jv;
    tc_jv_init(&jv);
    int rc = rm_parse(tc_req_json(req), true, tc_now_ms(), &jv, &f);
    if (rc == TC_EINVAL)
        tc_resp_invalid(resp, &jv);
    else if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    if (rc != TC_OK) {
        tc_jv_free(&jv);
        return;
    }
    char id[TC_ID_MAX], location[TC_ID_MAX + 64];
    tc_dbconn_t *tx = NULL;
    tc_idem_t idem;
    cJSON *body = NULL;
    if (tc_id_new("rpt", id, sizeof id) != TC_OK) {
        tc_resp_fail(resp, TC_ERROR);
        goto cleanup;
    }
    if (!(tx = tc_tx_begin(app->db, resp)))
        goto cleanup;
    if (tc_idem_begin(&idem, req, resp, tx, p->org) != TC_OK) {
        tc_tx_abort(app->db, tx);
        goto cleanup;
    }
    if (check_timezone(tx, f.query, &jv, &rc) == TC_EINVAL) {
        tc_tx_abort(app->db, tx);
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = store_report_create(tx, id, p->org, p->sub, &f, &body);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    snprintf(location, sizeof location, "/v1/analytics/reports/%s", id);
    tc_tx_respond(app->db, tx, &idem, resp, 201, body, location);
cleanup:
    rm_fields_clear(&f);
    tc_jv_free(&jv);
}

void h_report_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    const char *id = report_id(req, resp);
    if (!id)
        return;
    if (is_builtin(id)) {
        tc_resp_json(resp, 200, rm_builtin_json(rm_builtin(id)));
        return;
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *body = NULL;
    int rc = store_report_get(c, tc_req_principal(req)->org, id, false, &body);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail_for(resp, rc, "report");
    else
        tc_resp_json(resp, 200, body);
}

/* The stored query and range merged with the change, checked together. */
static int check_merged(const cJSON *stored, const rm_fields_t *f, tc_jv_t *jv)
{
    const cJSON *query = f->query ? f->query : cJSON_GetObjectItemCaseSensitive(stored, "query");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(stored, "range_days");
    int days = f->range_days > 0 ? f->range_days : cJSON_IsNumber(range) ? range->valueint : 0;
    return rm_check(query, days, tc_now_ms(), jv);
}

void h_report_patch(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    const char *id = saved_report_id(req, resp);
    if (!id)
        return;
    const char *org = tc_req_principal(req)->org;
    rm_fields_t f;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *stored = NULL, *body = NULL;
    tc_dbconn_t *tx = NULL;
    int rc = rm_parse(tc_req_json(req), false, tc_now_ms(), &jv, &f);
    if (rc == TC_EINVAL) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    if (rc != TC_OK) {
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    if (!(tx = tc_tx_begin(app->db, resp)))
        goto cleanup;
    /* locked: two changes at once are checked against each other's result, not both against
     * the old report */
    rc = store_report_get(tx, org, id, true, &stored);
    if (rc == TC_OK && (check_merged(stored, &f, &jv) == TC_EINVAL ||
                        check_timezone(tx, f.query, &jv, &rc) == TC_EINVAL)) {
        tc_tx_abort(app->db, tx);
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = store_report_update(tx, org, id, &f, &body);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "report");
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
cleanup:
    cJSON_Delete(stored);
    rm_fields_clear(&f);
    tc_jv_free(&jv);
}

void h_report_delete(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    const char *id = saved_report_id(req, resp);
    if (!id)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    int rc = store_report_delete(tx, tc_req_principal(req)->org, id);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail_for(resp, rc, "report");
        return;
    }
    if (tc_tx_commit(app->db, tx, resp) == TC_OK)
        tc_resp_empty(resp, 204);
}

/* What a report runs: its query, range, refresh policy and version (saved or built-in). */
typedef struct {
    cJSON *report; /* owned: the API representation */
    const cJSON *query;
    int range_days, refresh, version;
} runnable_t;

static int runnable_load(analytics_app_t *app, const char *org, const char *id, runnable_t *r)
{
    memset(r, 0, sizeof *r);
    int rc = TC_OK;
    if (is_builtin(id)) {
        r->report = rm_builtin_json(rm_builtin(id));
        rc = r->report ? TC_OK : TC_ENOMEM;
    } else {
        tc_dbconn_t *c = tc_db_acquire(app->db);
        if (!c)
            return TC_EUNAVAIL;
        rc = store_report_get(c, org, id, false, &r->report);
        tc_db_release(app->db, c);
    }
    if (rc != TC_OK)
        return rc;
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(r->report, "version");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(r->report, "range_days");
    r->query = cJSON_GetObjectItemCaseSensitive(r->report, "query");
    r->range_days = cJSON_IsNumber(range) ? range->valueint : RM_RANGE_DEFAULT;
    r->refresh = rm_refresh_parse(tc_json_get_str(r->report, "refresh"));
    r->version = cJSON_IsNumber(version) ? version->valueint : 0;
    return TC_OK;
}

static cJSON *results_body(const char *id, const runnable_t *r, cJSON *result, int64_t at_ms,
                           int64_t now_ms)
{
    char at[TC_RFC3339_LEN];
    tc_time_format(at_ms, at);
    int64_t every = rm_refresh_ms(r->refresh);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "report_id", id) ||
        !tc_json_add_int(o, "version", r->version) ||
        !cJSON_AddStringToObject(o, "computed_at", at) ||
        !cJSON_AddBoolToObject(o, "stale", every > 0 && now_ms - at_ms > every) ||
        !cJSON_AddItemToObject(o, "result", result)) {
        cJSON_Delete(o);
        cJSON_Delete(result);
        return NULL;
    }
    return o;
}

int analytics_report_compute(analytics_app_t *app, const char *org, const char *id,
                             const cJSON *query, int range_days, int version, int64_t now_ms,
                             tc_jv_t *jv, cJSON **result, char sqlstate[8])
{
    cJSON *q = NULL;
    int rc = rm_query_at(query, range_days, now_ms, &q);
    if (rc == TC_OK)
        rc = analytics_query_run(app, org, q, jv, result, sqlstate);
    cJSON_Delete(q);
    if (rc != TC_OK)
        return rc;
    /* the answer stands without its cache entry: the next request computes it again */
    tc_dbconn_t *c = tc_db_acquire(app->db);
    if (!c || store_result_put(c, org, id, version, now_ms, *result) != TC_OK)
        tc_log_kv(TC_LOG_WARN, "report result not cached", "report", id, NULL);
    if (c)
        tc_db_release(app->db, c);
    return TC_OK;
}

void h_report_results(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    const char *id = report_id(req, resp);
    if (!id)
        return;
    const char *refresh = tc_req_query(req, "refresh");
    if (refresh && strcmp(refresh, "true") != 0 && strcmp(refresh, "false") != 0) {
        tc_resp_error(resp, 400, "invalid_parameter", "refresh is true or false");
        return;
    }
    const char *org = tc_req_principal(req)->org;
    runnable_t r;
    int rc = runnable_load(app, org, id, &r);
    if (rc != TC_OK) {
        tc_resp_fail_for(resp, rc, "report");
        return;
    }
    int64_t now = tc_now_ms(), at = now;
    cJSON *result = NULL;
    if (!refresh || strcmp(refresh, "false") == 0) {
        tc_dbconn_t *c = tc_db_acquire(app->db);
        rc = c ? store_result_get(c, org, id, r.version, &result, &at) : TC_EUNAVAIL;
        if (c)
            tc_db_release(app->db, c);
        /* no job refreshes built-ins (they are every org's): one past its hour is computed
         * when asked for */
        if (rc == TC_OK && is_builtin(id) && now - at > rm_refresh_ms(r.refresh)) {
            cJSON_Delete(result);
            result = NULL;
            rc = TC_ENOTFOUND;
        }
    } else {
        rc = TC_ENOTFOUND;
    }
    tc_jv_t jv;
    tc_jv_init(&jv);
    char sqlstate[8] = "";
    if (rc == TC_ENOTFOUND) { /* none cached for this version, or asked for: computed now */
        at = now;
        rc = analytics_report_compute(app, org, id, r.query, r.range_days, r.version, now, &jv,
                                      &result, sqlstate);
    }
    if (rc == TC_OK) {
        cJSON *body = results_body(id, &r, result, at, now);
        if (body)
            tc_resp_json(resp, 200, body);
        else
            tc_resp_fail(resp, TC_ENOMEM);
    } else {
        analytics_query_fail(app, resp, rc, &jv, sqlstate);
    }
    tc_jv_free(&jv);
    cJSON_Delete(r.report);
}
