/* The integration hub's API surface: every route, who may call it (DESIGN §4: viewers read;
 * admins change where the org's data is sent and see secrets), its body limit and its
 * API-key scope. The inbound webhook route is public: its token and the sender's signature
 * stand in for a caller's identity. */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#define IN_R TC_SCOPE_INTEGRATIONS_READ
#define IN_W TC_SCOPE_INTEGRATIONS_WRITE
#define EP   "/v1/integrations/webhooks/endpoints"
#define MSG  "/v1/integrations/webhooks/messages"
#define HOOK "/v1/integrations/hooks"
#define CTR  "/v1/integrations/connectors"
#define CON  "/v1/integrations/connections"

int hub_routes(hub_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, editor = TC_ROLE_EDITOR, admin = TC_ROLE_ADMIN;
    const size_t none = TC_BODY_NONE, small = TC_BODY_SMALL, rec = TC_BODY_RECORD;
    const tc_route_t routes[] = {
        {"GET", EP, h_endpoints_list, app, TC_USER, viewer, none, IN_R},
        {"POST", EP, h_endpoints_create, app, TC_USER_JSON, admin, rec, IN_W},
        {"GET", EP "/{id}", h_endpoints_get, app, TC_USER, viewer, none, IN_R},
        {"PATCH", EP "/{id}", h_endpoints_patch, app, TC_USER_JSON, admin, rec, IN_W},
        {"DELETE", EP "/{id}", h_endpoints_delete, app, TC_USER, admin, none, IN_W},
        {"GET", EP "/{id}/secret", h_endpoints_secret, app, TC_USER, admin, none, IN_W},
        {"POST", EP "/{id}/secret/rotate", h_endpoints_rotate, app, TC_USER, admin, small, IN_W},
        {"POST", EP "/{id}/recover", h_endpoints_recover, app, TC_USER_JSON, admin, small, IN_W},
        {"GET", MSG, h_messages_list, app, TC_USER, viewer, none, IN_R},
        {"GET", MSG "/{id}", h_messages_get, app, TC_USER, viewer, none, IN_R},
        {"GET", MSG "/{id}/attempts", h_messages_attempts, app, TC_USER, viewer, none, IN_R},
        {"POST", MSG "/{id}/resend", h_messages_resend, app, TC_USER, admin, small, IN_W},
        {"GET", HOOK, h_hooks_list, app, TC_USER, viewer, none, IN_R},
        {"POST", HOOK, h_hooks_create, app, TC_USER_JSON, admin, small, IN_W},
        {"GET", HOOK "/{id}", h_hooks_get, app, TC_USER, viewer, none, IN_R},
        {"PATCH", HOOK "/{id}", h_hooks_patch, app, TC_USER_JSON, admin, small, IN_W},
        {"DELETE", HOOK "/{id}", h_hooks_delete, app, TC_USER, admin, none, IN_W},
        {"GET", HOOK "/{id}/secret", h_hooks_secret, app, TC_USER, admin, none, IN_W},
        {"GET", HOOK "/{id}/requests", h_hooks_requests, app, TC_USER, viewer, none, IN_R},
        {"GET", CTR, h_connectors_list, app, TC_USER, viewer, none, IN_R},
        {"GET", CTR "/{id}", h_connectors_get, app, TC_USER, viewer, none, IN_R},
        {"GET", CON, h_connections_list, app, TC_USER, viewer, none, IN_R},
        {"POST", CON, h_connections_create, app, TC_USER_JSON, admin, rec, IN_W},
        {"GET", CON "/{id}", h_connections_get, app, TC_USER, viewer, none, IN_R},
        {"PATCH", CON "/{id}", h_connections_patch, app, TC_USER_JSON, admin, rec, IN_W},
        {"DELETE", CON "/{id}", h_connections_delete, app, TC_USER, admin, none, IN_W},
        {"POST", CON "/{id}/test", h_connections_test, app, TC_USER, admin, none, IN_W},
        /* running an action is using a connection, not changing it: editors build workflows */
        {"POST", CON "/{id}/actions/{action}", h_connections_run, app, TC_USER, editor,
         TC_BODY_BATCH, IN_W},
        {"POST", "/internal/v1/integrations/orgs/{org}/connections/{id}/actions/{action}",
         h_connections_run_for_org, app, TC_INTERNAL, TC_ROLE_NONE, TC_BODY_BATCH, NULL},
        {"POST", "/v1/webhooks/in/{token}", h_inbound, app, TC_PUBLIC, TC_ROLE_NONE, TC_BODY_BATCH,
         NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
