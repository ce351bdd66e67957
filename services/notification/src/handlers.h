/*
 * handlers.h: the notification service's HTTP handlers (HTTP only: read the request, validate
 * with the model, call the store, answer).
 */
#ifndef NOTIFICATION_HANDLERS_H
#define NOTIFICATION_HANDLERS_H

#include "notification_app.h"
#include "notification_model.h"
#include "tc/tc_http.h"
#include "tc/tc_tx.h"

/* Answers {"<name>": n} (or the failure of rc). */
void respond_count(tc_resp_t *resp, int rc, const char *name, int64_t n);

void h_inbox_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_inbox_unread(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_inbox_read(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_inbox_read_all(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_inbox_archive(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_inbox_unarchive(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_stream(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_prefs_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_prefs_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_push_key(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_push_subs_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_push_subs_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_push_subs_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_org_prefs_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_org_prefs_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_settings_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_settings_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_templates_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_templates_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_templates_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_templates_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_templates_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
/* handlers_requests.c: a service's request, answered with its delivery */
void h_internal_request(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_templates_preview(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_deliveries_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_deliveries_get(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
