/* The user service's API surface: every route, who may call it, its body limit and the
 * API-key scope it needs (proto/scopes.json). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#define USERS_R TC_SCOPE_USERS_READ
#define USERS_W TC_SCOPE_USERS_WRITE
#define ORGS_R  TC_SCOPE_ORGS_READ
#define ORGS_W  TC_SCOPE_ORGS_WRITE

int user_routes(user_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, admin = TC_ROLE_ADMIN, none = TC_ROLE_NONE;
    const size_t record = TC_BODY_RECORD, no_body = TC_BODY_NONE;
    const tc_route_t routes[] = {
        {"GET", "/v1/users", h_users_list, app, TC_USER, viewer, no_body, USERS_R},
        {"POST", "/v1/users", h_users_create, app, TC_USER_JSON, admin, record, USERS_W},
        {"GET", "/v1/users/me", h_users_me, app, TC_USER, viewer, no_body, USERS_R},
        {"GET", "/v1/users/{id}", h_users_get, app, TC_USER, viewer, no_body, USERS_R},
        {"PATCH", "/v1/users/{id}", h_users_patch, app, TC_USER_JSON, viewer, record, USERS_W},
        {"DELETE", "/v1/users/{id}", h_users_delete, app, TC_USER, admin, no_body, USERS_W},
        {"GET", "/v1/users/{id}/preferences", h_prefs_get, app, TC_USER, viewer, no_body, USERS_R},
        {"PUT", "/v1/users/{id}/preferences", h_prefs_put, app, TC_USER_JSON, viewer, record,
         USERS_W},
        {"GET", "/v1/orgs/current", h_orgs_get, app, TC_USER, viewer, no_body, ORGS_R},
        {"PATCH", "/v1/orgs/current", h_orgs_patch, app, TC_USER_JSON, admin, record, ORGS_W},
        {"POST", "/internal/v1/orgs", h_internal_orgs_create, app, TC_INTERNAL_JSON, none, record,
         NULL},
        {"GET", "/internal/v1/users/{id}", h_internal_users_get, app, TC_INTERNAL, none, no_body,
         NULL},
        {"POST", "/internal/v1/users/{id}/activate", h_internal_users_activate, app, TC_INTERNAL,
         none, no_body, NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
