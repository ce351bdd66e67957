/* HTTP handlers of the workflow service (routes.c lists them). Each reads the request,
 * validates with the model, calls the store in a transaction, emits, and answers. */
#ifndef WORKFLOW_HANDLERS_H
#define WORKFLOW_HANDLERS_H

#include "workflow_app.h"
#include "tc/tc_http.h"

/* /v1/workflows */
void h_workflows_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_workflows_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_workflows_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_workflows_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_workflows_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_workflows_graph(tc_req_t *req, tc_resp_t *resp, void *ud);

/* executions */
void h_workflows_execute(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_workflows_executions(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_executions_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_executions_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_executions_history(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_executions_cancel(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_executions_redrive(tc_req_t *req, tc_resp_t *resp, void *ud);
/* POST /v1/executions/task-token/{success,failure,heartbeat}: answers to callback Tasks. */
void h_task_success(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_task_failure(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_task_heartbeat(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/workflows/{id}/schedules */
void h_schedules_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_schedules_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_schedules_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_schedules_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_schedules_delete(tc_req_t *req, tc_resp_t *resp, void *ud);

/* /v1/workflows/{id}/event-triggers */
void h_triggers_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_triggers_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_triggers_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_triggers_patch(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_triggers_delete(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
