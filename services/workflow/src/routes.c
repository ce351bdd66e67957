/* The workflow service's API surface: every route, who may call it (DESIGN §4: viewers read,
 * editors create, change, run and cancel), its body limit and its API-key scope. */
#include "handlers.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#define WF_R TC_SCOPE_WORKFLOWS_READ
#define WF_W TC_SCOPE_WORKFLOWS_WRITE
#define WF_X TC_SCOPE_WORKFLOWS_EXECUTE

int workflow_routes(workflow_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, editor = TC_ROLE_EDITOR;
    const size_t def = WF_DEFINITION_MAX + 64 * 1024, input = WF_PAYLOAD_MAX + 16 * 1024,
                 small = 16 * 1024, none = TC_BODY_NONE;
    const tc_route_t routes[] = {
        {"GET", "/v1/workflows", h_workflows_list, app, TC_USER, viewer, none, WF_R},
        {"POST", "/v1/workflows", h_workflows_create, app, TC_USER_JSON, editor, def, WF_W},
        {"GET", "/v1/workflows/{id}", h_workflows_get, app, TC_USER, viewer, none, WF_R},
        {"PATCH", "/v1/workflows/{id}", h_workflows_patch, app, TC_USER_JSON, editor, def, WF_W},
        {"DELETE", "/v1/workflows/{id}", h_workflows_delete, app, TC_USER, editor, none, WF_W},
        {"GET", "/v1/workflows/{id}/graph", h_workflows_graph, app, TC_USER, viewer, none, WF_R},
        {"POST", "/v1/workflows/{id}/execute", h_workflows_execute, app, TC_USER_JSON, editor,
         input, WF_X},
        {"GET", "/v1/workflows/{id}/executions", h_workflows_executions, app, TC_USER, viewer, none,
         WF_R},
        {"GET", "/v1/workflows/{id}/schedules", h_schedules_list, app, TC_USER, viewer, none, WF_R},
        {"POST", "/v1/workflows/{id}/schedules", h_schedules_create, app, TC_USER_JSON, editor,
         input, WF_W},
        {"GET", "/v1/workflows/{id}/schedules/{sid}", h_schedules_get, app, TC_USER, viewer, none,
         WF_R},
        {"PATCH", "/v1/workflows/{id}/schedules/{sid}", h_schedules_patch, app, TC_USER_JSON,
         editor, input, WF_W},
        {"DELETE", "/v1/workflows/{id}/schedules/{sid}", h_schedules_delete, app, TC_USER, editor,
         none, WF_W},
        {"GET", "/v1/workflows/{id}/event-triggers", h_triggers_list, app, TC_USER, viewer, none,
         WF_R},
        {"POST", "/v1/workflows/{id}/event-triggers", h_triggers_create, app, TC_USER_JSON, editor,
         small, WF_W},
        {"GET", "/v1/workflows/{id}/event-triggers/{tid}", h_triggers_get, app, TC_USER, viewer,
         none, WF_R},
        {"PATCH", "/v1/workflows/{id}/event-triggers/{tid}", h_triggers_patch, app, TC_USER_JSON,
         editor, small, WF_W},
        {"DELETE", "/v1/workflows/{id}/event-triggers/{tid}", h_triggers_delete, app, TC_USER,
         editor, none, WF_W},
        {"GET", "/v1/executions", h_executions_list, app, TC_USER, viewer, none, WF_R},
        {"GET", "/v1/executions/{id}", h_executions_get, app, TC_USER, viewer, none, WF_R},
        {"GET", "/v1/executions/{id}/history", h_executions_history, app, TC_USER, viewer, none,
         WF_R},
        {"POST", "/v1/executions/{id}/cancel", h_executions_cancel, app, TC_USER, editor, none,
         WF_X},
        {"POST", "/v1/executions/{id}/redrive", h_executions_redrive, app, TC_USER, editor, none,
         WF_X},
        {"POST", "/v1/executions/task-token/success", h_task_success, app, TC_USER_JSON, editor,
         input, WF_X},
        {"POST", "/v1/executions/task-token/failure", h_task_failure, app, TC_USER_JSON, editor,
         small + WF_CAUSE_MAX * 4, WF_X},
        {"POST", "/v1/executions/task-token/heartbeat", h_task_heartbeat, app, TC_USER_JSON, editor,
         small, WF_X},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
