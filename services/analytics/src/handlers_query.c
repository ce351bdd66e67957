/* POST /v1/analytics/query: the query language (query_model.h) run as the caller's org. */
#include "handlers.h"
#include "query_run.h"
#include "tc/tc_core.h"

void h_query(tc_req_t *req, tc_resp_t *resp, void *ud)
{
    analytics_app_t *app = ud;
    tc_jv_t jv;
    tc_jv_init(&jv);
    cJSON *result = NULL;
    char sqlstate[8];
    int rc = analytics_query_run(app, tc_req_principal(req)->org, tc_req_json(req), &jv, &result,
                                 sqlstate);
    if (rc == TC_OK)
        tc_resp_json(resp, 200, result);
    else
        analytics_query_fail(app, resp, rc, &jv, sqlstate);
    tc_jv_free(&jv);
}
