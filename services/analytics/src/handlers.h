/* analytics' HTTP handlers (routes.c lists who may call each). */
#ifndef ANALYTICS_HANDLERS_H
#define ANALYTICS_HANDLERS_H

#include "analytics_app.h"
#include "tc/tc_http.h"
#include "tc/tc_json.h"

void h_events_capture(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_query(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_reports_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_report_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_report_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_report_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_report_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_report_results(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_audit_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_audit_export(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_audit_verify(tc_req_t *req, tc_resp_t *resp, void *ud);

/* Computes a report's query over its last range_days at now_ms as org and caches the result
 * (the results API and the reports job). *result: the query's answer (caller owns it); the
 * failures of analytics_query_run. */
int analytics_report_compute(analytics_app_t *app, const char *org, const char *id,
                             const cJSON *query, int range_days, int version, int64_t now_ms,
                             tc_jv_t *jv, cJSON **result, char sqlstate[8]);

/* The oldest time an event may carry: now - retention. */
int64_t analytics_oldest_ms(const analytics_app_t *app, int64_t now_ms);

#endif
