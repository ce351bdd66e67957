/* The owner's account views: usage so far this period, the ledger, and the billing profile
 * (the country the tax hook applies). */
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_tx.h"

#include <stdlib.h>
#include <string.h>

/* One metric's usage so far: quantity, inclusion, and what it would cost now. */
static cJSON *metric_json(const bill_usage_t *u, const cJSON *included, const cJSON *metered,
                          int *rc)
{
    int64_t limit = 0, per = 0, price = 0;
    bool metered_here = bill_metric_terms(included, metered, u->metric, &limit, &per, &price);
    cJSON *o = cJSON_CreateObject();
    bill_line_t line;
    bool billable = false;
    *rc = o ? TC_OK : TC_ENOMEM;
    if (*rc == TC_OK && metered_here)
        *rc = bill_usage_line(u->metric, u->quantity, limit, per, price, 0, 0, &line, &billable);
    if (*rc == TC_OK && (!cJSON_AddStringToObject(o, "metric", u->metric) ||
                         !tc_json_add_int(o, "quantity", u->quantity) ||
                         !(limit < 0 ? cJSON_AddNullToObject(o, "included")
                                     : tc_json_add_int(o, "included", limit)) ||
                         !cJSON_AddBoolToObject(o, "metered", metered_here) ||
                         !tc_json_add_int(o, "amount_minor", billable ? line.amount_minor : 0)))
        *rc = TC_ENOMEM;
    if (*rc != TC_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *usage_body(tc_dbconn_t *c, const bill_sub_t *s, int *rc)
{
    bill_usage_t *usage = NULL;
    cJSON *included = NULL, *metered = NULL, *body = bill_sub_json(s), *list = NULL;
    int n = 0;
    *rc = body ? store_usage_open(c, s->org_id, s->period_end_ms, &usage, &n) : TC_ENOMEM;
    if (*rc == TC_OK)
        *rc = store_price_terms(c, s->plan_id, s->price_version, &included, &metered);
    if (*rc == TC_OK && !(list = cJSON_AddArrayToObject(body, "metrics")))
        *rc = TC_ENOMEM;
    for (int i = 0; *rc == TC_OK && i < n; i++) {
        cJSON *m = metric_json(&usage[i], included, metered, rc);
        if (m)
            cJSON_AddItemToArray(list, m);
    }
    free(usage);
    cJSON_Delete(included);
    cJSON_Delete(metered);
    if (*rc != TC_OK) {
        cJSON_Delete(body);
        return NULL;
    }
    return body;
}

void h_usage_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    bill_sub_t s;
    int rc = store_sub_get(c, tc_req_principal(req)->org, &s);
    cJSON *body = NULL;
    if (rc == TC_ENOTFOUND) { /* billing never heard of the org: nothing used, free plan */
        rc = TC_OK;
        body = cJSON_CreateObject();
        if (!body || !cJSON_AddStringToObject(body, "plan", BILL_FREE_PLAN) ||
            !cJSON_AddArrayToObject(body, "metrics"))
            rc = TC_ENOMEM;
    } else if (rc == TC_OK) {
        body = usage_body(c, &s, &rc);
    }
    tc_db_release(app->db, c);
    if (rc != TC_OK) {
        cJSON_Delete(body);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_resp_json(resp, 200, body);
}

void h_ledger_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *body = NULL;
    int rc = store_ledger_get(c, tc_req_principal(req)->org, &body);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, body);
}

void h_profile_get(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *body = NULL;
    int rc = store_profile_get(c, tc_req_principal(req)->org, &body);
    tc_db_release(app->db, c);
    if (rc != TC_OK)
        tc_resp_fail(resp, rc);
    else
        tc_resp_json(resp, 200, body);
}

void h_profile_put(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    billing_app_t *app = ud;
    static const char *const allowed[] = {"country", NULL};
    const cJSON *in = tc_req_json(req);
    tc_jv_t jv;
    tc_jv_init(&jv);
    tc_jv_no_unknown(&jv, in, allowed);
    const char *country = tc_jv_str(&jv, in, "country", TC_JV_REQUIRED, 2, 2);
    if (country && !bill_country_valid(country))
        tc_jv_error(&jv, "country", "an ISO 3166-1 alpha-2 code (two capital letters)");
    if (tc_jv_failed(&jv)) {
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    tc_jv_free(&jv);
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *body = NULL;
    int rc = store_profile_put(tx, tc_req_principal(req)->org, country, &body);
    if (rc != TC_OK) {
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    tc_tx_respond(app->db, tx, NULL, resp, 200, body, NULL);
}
