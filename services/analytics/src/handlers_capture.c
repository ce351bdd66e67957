/* POST /v1/analytics/events: product events from clients, stored before the 202. */
#include "handlers.h"
#include "ingest_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"
#include "tc/tc_tx.h"

#include <string.h>

#define CAPTURE_SOURCE "capture"

int64_t analytics_oldest_ms(const analytics_app_t *app, int64_t now_ms)
{
    return now_ms - (int64_t)app->retention_days * 86400000LL;
}

static int copy_rows(const an_row_t *rows, int n, tc_buf_t *lines)
{
    int rc = TC_OK;
    for (int i = 0; rc == TC_OK && i < n; i++)
        rc = an_copy_line(lines, &rows[i], CAPTURE_SOURCE);
    return rc;
}

void h_events_capture(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    int64_t now = tc_now_ms();
    an_row_t *rows = NULL;
    int n = 0;
    tc_jv_t jv;
    tc_jv_init(&jv);
    int rc = an_rows_from_capture(tc_req_json(req), now, analytics_oldest_ms(app, now),
                                  app->future_skew_ms, &jv, tc_req_principal(req)->org, &rows, &n);
    if (rc == TC_EINVAL) {
        tc_resp_invalid(resp, &jv);
        tc_jv_free(&jv);
        return;
    }
    tc_jv_free(&jv);
    tc_buf_t lines;
    tc_buf_init(&lines);
    if (rc == TC_OK)
        rc = copy_rows(rows, n, &lines);
    an_rows_free(rows, n);
    tc_dbconn_t *tx = rc == TC_OK ? tc_tx_begin(app->db, resp) : NULL;
    if (rc == TC_OK && !tx) { /* answered (503) */
        tc_buf_free(&lines);
        return;
    }
    int64_t stored = 0;
    if (rc == TC_OK)
        rc = store_events_copy(tx, &lines, &stored);
    tc_buf_free(&lines);
    if (rc != TC_OK) {
        if (tx)
            tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, rc);
        return;
    }
    cJSON *body = cJSON_CreateObject();
    if (!body || !tc_json_add_int(body, "accepted", n) ||
        !tc_json_add_int(body, "duplicates", n - stored)) {
        cJSON_Delete(body);
        tc_tx_abort(app->db, tx);
        tc_resp_fail(resp, TC_ENOMEM);
        return;
    }
    /* committed before the answer: a 202 is durable */
    tc_tx_respond(app->db, tx, NULL, resp, 202, body, NULL);
}
