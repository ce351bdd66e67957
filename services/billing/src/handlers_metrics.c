/*
 * Billable metrics and reported usage: operators define custom.* metrics with their
 * aggregation, services and integrations report usage events for them (Lago's events API,
 * deduplicated by each event's id within its org), and any member reads the definitions.
 */
#include "handlers.h"
#include "metrics_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void h_internal_metric_define(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    bill_metric_req_t m;
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool ok = bill_metric_parse(&jv, tc_req_json(req), &m);
    if (!ok)
        tc_resp_invalid(resp, &jv);
    tc_jv_free(&jv);
    if (!ok)
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *body = NULL;
    bool created = false;
    int rc = store_metric_define(tx, m.code, m.name, bill_agg_name(m.agg), &body, &created);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        if (rc == TC_ECONFLICT)
            tc_resp_error(resp, 409, "metric_defined",
                          "%s is defined with another name or aggregation; a definition is "
                          "never changed (its usage was aggregated by it): define another code",
                          m.code);
        else
            tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, created ? 201 : 200, body, NULL);
}

/* The platform's own metrics (sums, no definition row) and the custom ones. */
void h_metrics_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    static const char *const builtin[] = {"api_requests", "workflow_executions", "ml_inference.*",
                                          "notifications.*"};
    TC_UNUSED(req);
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *custom = NULL, *body = cJSON_CreateObject();
    int rc = body ? store_metrics_list(c, &custom) : TC_ENOMEM;
    tc_db_release(app->db, c);
    cJSON *data = rc == TC_OK ? cJSON_AddArrayToObject(body, "data") : NULL;
    for (size_t i = 0; data && i < TC_ARRAY_LEN(builtin); i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(data, m) ||
            !cJSON_AddStringToObject(m, "code", builtin[i]) ||
            !cJSON_AddStringToObject(m, "aggregation", "sum") ||
            !cJSON_AddBoolToObject(m, "builtin", true)) {
            cJSON_Delete(m);
            data = NULL;
        }
    }
    cJSON *m = NULL;
    while (data && custom && (m = cJSON_DetachItemFromArray(custom, 0)))
        if (!cJSON_AddItemToArray(data, m)) {
            cJSON_Delete(m);
            data = NULL;
        }
    cJSON_Delete(custom);
    if (!data) {
        cJSON_Delete(body);
        tc_resp_fail(resp, rc == TC_OK ? TC_ENOMEM : rc);
        return;
    }
    tc_resp_json(resp, 200, body);
}

/* Checks each event against its metric's definition (errors at events[i]); rows to insert
 * into *rows. */
static int usage_rows(const bill_usage_event_t *ev, int n, const cJSON *aggs, tc_jv_t *jv,
                      cJSON *rows)
{
    char now[TC_RFC3339_LEN], field[48], id[256];
    tc_time_format(tc_now_ms(), now);
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        bill_agg_t agg = BILL_AGG_SUM;
        const char *defined = tc_json_get_str(aggs, ev[i].metric), *why = NULL;
        snprintf(field, sizeof field, "events[%d].metric", i);
        if (strncmp(ev[i].metric, "custom.", 7) == 0 && !defined) {
            tc_jv_error(jv, field, "%s is not defined (POST /internal/v1/billing/metrics)",
                        ev[i].metric);
            continue;
        }
        if (defined)
            bill_agg_parse(defined, &agg);
        if (!bill_usage_fits(&ev[i], agg, &why)) {
            tc_jv_error(jv, field, "%s", why);
            continue;
        }
        /* an event's id is the reporter's own: unique within the org, apart from the
         * platform's metering ids */
        snprintf(id, sizeof id, "report:%s:%s", ev[i].org_id, ev[i].id);
        rc = store_usage_row(rows, id, ev[i].org_id, ev[i].metric,
                             agg == BILL_AGG_COUNT ? 1 : ev[i].quantity,
                             ev[i].occurred_at ? ev[i].occurred_at : now, "report");
        if (rc == TC_OK && ev[i].unique_key)
            rc = store_usage_row_key(rows, ev[i].unique_key);
    }
    return rc;
}

void h_internal_usage_report(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    bill_usage_event_t *ev = NULL;
    cJSON *aggs = NULL, *rows = NULL;
    int n = 0, added = 0;
    tc_dbconn_t *tx = NULL;
    tc_jv_t jv;
    tc_jv_init(&jv);
    if (!bill_usage_parse(&jv, tc_req_json(req), &ev, &n)) {
        tc_resp_invalid(resp, &jv);
        goto cleanup;
    }
    if (!(tx = tc_tx_begin(app->db, resp)))
        goto cleanup;
    int rc = store_metric_aggs(tx, &aggs);
    if (rc == TC_OK)
        rc = (rows = cJSON_CreateArray()) ? usage_rows(ev, n, aggs, &jv, rows) : TC_ENOMEM;
    if (rc == TC_OK && tc_jv_failed(&jv)) {
        tc_tx_abort(app->db, tx);
        tc_resp_invalid(resp, &jv); /* nothing of a batch with a bad event is recorded */
        goto cleanup;
    }
    if (rc == TC_OK)
        rc = store_usage_add_many(tx, rows, &added);
    cJSON *body = rc == TC_OK ? cJSON_CreateObject() : NULL;
    if (rc == TC_OK && (!body || !tc_json_add_int(body, "received", n) ||
                        !tc_json_add_int(body, "recorded", added) ||
                        !tc_json_add_int(body, "duplicates", n - added))) {
        cJSON_Delete(body);
        rc = TC_ENOMEM;
    }
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        goto cleanup;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
cleanup:
    tc_jv_free(&jv);
    cJSON_Delete(aggs);
    cJSON_Delete(rows);
    free(ev);
}
