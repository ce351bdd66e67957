/* The audit log's readers: GET /v1/audit-logs (a page), …/export (JSON lines), …/verify.
 * Export and verification read an org's whole history: they run with the query time limit
 * (ANALYTICS_QUERY_TIMEOUT_MS) rather than the pool's default statement timeout. */
#include "audit_model.h"
#include "handlers.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_page.h"
#include "tc/tc_tx.h"

#include <stdlib.h>
#include <string.h>

/* The filter from the query string; false when answered (400/422). */
static bool read_filter(tc_req_t *req, tc_resp_t *resp, audit_filter_t *f)
{
    tc_jv_t jv;
    tc_jv_init(&jv);
    audit_filter_parse(f, &jv, tc_req_query(req, "actor"), tc_req_query(req, "action"),
                       tc_req_query(req, "resource_type"), tc_req_query(req, "resource_id"),
                       tc_req_query(req, "from"), tc_req_query(req, "to"));
    bool failed = tc_jv_failed(&jv);
    if (failed)
        tc_resp_invalid(resp, &jv);
    tc_jv_free(&jv);
    return !failed;
}

/* Past the query time limit a retry meets the same limit: 504, not 503's "come back". */
static void answer_failure(analytics_app_t *app, tc_resp_t *resp, int rc)
{
    if (rc == TC_ETIMEDOUT)
        tc_resp_error(resp, 504, "query_timeout",
                      "reading the log took longer than %d ms: narrow the time range",
                      app->query_timeout_ms);
    else
        tc_resp_fail(resp, rc);
}

void h_audit_list(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    audit_filter_t f;
    tc_page_t page;
    if (!read_filter(req, resp, &f) || tc_page_parse(req, resp, &page) != TC_OK)
        return;
    f.limit = page.limit;
    if (page.after[0]) {
        char *end = NULL;
        f.before_seq = strtoll(page.after, &end, 10);
        if (!end || *end || f.before_seq < 1) {
            tc_resp_error(resp, 400, "invalid_cursor", "the cursor is not one this list gave");
            return;
        }
    }
    tc_dbconn_t *c = tc_tx_conn(app->db, resp);
    if (!c)
        return;
    cJSON *data = NULL;
    char next[64];
    int rc = store_audit_list(c, tc_req_principal(req)->org, &f, &data, next);
    tc_db_release(app->db, c);
    tc_page_respond(resp, rc, data, next);
}

void h_audit_export(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    audit_filter_t f;
    if (!read_filter(req, resp, &f))
        return;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    tc_buf_t out;
    tc_buf_init(&out);
    int64_t count = 0;
    int rc = store_statement_timeout(tx, app->query_timeout_ms);
    if (rc == TC_OK)
        rc = store_audit_export(tx, tc_req_principal(req)->org, &f, &out, &count);
    tc_tx_abort(app->db, tx); /* read only */
    if (rc == TC_EINVAL && count > AUDIT_EXPORT_MAX) {
        tc_buf_free(&out);
        tc_resp_error(resp, 422, "export_too_large",
                      "more than %d records match: narrow the time range (from, to)",
                      AUDIT_EXPORT_MAX);
        return;
    }
    if (rc != TC_OK) {
        tc_buf_free(&out);
        answer_failure(app, resp, rc);
        return;
    }
    size_t len = out.len;
    char *body = tc_buf_detach(&out);
    tc_buf_free(&out);
    if (!body)
        tc_resp_fail(resp, TC_ENOMEM);
    else
        tc_resp_raw(resp, 200, "application/x-ndjson", body, len);
}

void h_audit_verify(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    tc_dbconn_t *tx = tc_tx_begin(app->db, resp);
    if (!tx)
        return;
    cJSON *report = NULL;
    int rc = store_statement_timeout(tx, app->query_timeout_ms);
    if (rc == TC_OK)
        rc = store_audit_verify(tx, tc_req_principal(req)->org, &report);
    tc_tx_abort(app->db, tx); /* read only */
    if (rc != TC_OK)
        answer_failure(app, resp, rc);
    else
        tc_resp_json(resp, 200, report);
}
