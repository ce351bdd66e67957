/* analytics' HTTP handlers (routes.c lists who may call each). */
#ifndef ANALYTICS_HANDLERS_H
#define ANALYTICS_HANDLERS_H

#include "analytics_app.h"
#include "tc/tc_http.h"

void h_events_capture(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_query(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_audit_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_audit_export(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_audit_verify(tc_req_t *req, tc_resp_t *resp, void *ud);

/* The oldest time an event may carry: now - retention. */
int64_t analytics_oldest_ms(const analytics_app_t *app, int64_t now_ms);

#endif
