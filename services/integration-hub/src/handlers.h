/* HTTP handlers of the integration hub (routes.c lists them). Each reads the request,
 * validates with the model, calls the store in a transaction, emits, and answers. */
#ifndef HUB_HANDLERS_H
#define HUB_HANDLERS_H

#include "hub_app.h"
#include "tc/tc_http.h"

/* /v1/integrations/webhooks/endpoints */
void h_endpoints_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_secret(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_rotate(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_endpoints_recover(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/integrations/webhooks/messages */
void h_messages_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_messages_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_messages_attempts(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_messages_resend(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/integrations/hooks */
void h_hooks_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_hooks_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_hooks_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_hooks_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_hooks_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_hooks_secret(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_hooks_requests(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/integrations/connectors: the catalog */
void h_connectors_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connectors_get(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/integrations/connections */
void h_connections_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connections_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connections_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connections_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connections_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connections_test(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_connections_run(tc_req_t *req, tc_resp_t *resp, void *ud);
/* /internal/v1/integrations/orgs/{org}/connections/{id}/actions/{action}: service tokens */
void h_connections_run_for_org(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/webhooks/in/{token}: public */
void h_inbound(tc_req_t *req, tc_resp_t *resp, void *ud);

/* A POST whose body is optional: NULL and true when empty; the parsed object when it is one
 * (the caller frees it); false after answering 400 otherwise. */
bool hub_optional_body(tc_req_t *req, tc_resp_t *resp, cJSON **out);

#endif
