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
        {"POST", "/v1/orgs/current/scim-token", h_scim_token_create, app, TC_USER, admin, no_body,
         NULL},
        {"DELETE", "/v1/orgs/current/scim-token", h_scim_token_delete, app, TC_USER, admin, no_body,
         NULL},
        /* SCIM 2.0: the org's SCIM token authenticates (handlers_scim.c), not a platform token */
        {"GET", "/scim/v2/ServiceProviderConfig", h_scim_service_provider_config, app, TC_PUBLIC,
         none, no_body, NULL},
        {"GET", "/scim/v2/ResourceTypes", h_scim_resource_types, app, TC_PUBLIC, none, no_body,
         NULL},
        {"GET", "/scim/v2/Schemas", h_scim_schemas, app, TC_PUBLIC, none, no_body, NULL},
        {"GET", "/scim/v2/Users", h_scim_users_list, app, TC_PUBLIC, none, no_body, NULL},
        {"POST", "/scim/v2/Users", h_scim_users_create, app, TC_PUBLIC_JSON, none, record, NULL},
        {"GET", "/scim/v2/Users/{id}", h_scim_users_get, app, TC_PUBLIC, none, no_body, NULL},
        {"PUT", "/scim/v2/Users/{id}", h_scim_users_replace, app, TC_PUBLIC_JSON, none, record,
         NULL},
        {"PATCH", "/scim/v2/Users/{id}", h_scim_users_patch, app, TC_PUBLIC_JSON, none, record,
         NULL},
        {"DELETE", "/scim/v2/Users/{id}", h_scim_users_delete, app, TC_PUBLIC, none, no_body, NULL},
        {"GET", "/scim/v2/Groups", h_scim_groups_list, app, TC_PUBLIC, none, no_body, NULL},
        {"POST", "/scim/v2/Groups", h_scim_groups_create, app, TC_PUBLIC_JSON, none, record, NULL},
        {"GET", "/scim/v2/Groups/{id}", h_scim_groups_get, app, TC_PUBLIC, none, no_body, NULL},
        {"PUT", "/scim/v2/Groups/{id}", h_scim_groups_replace, app, TC_PUBLIC_JSON, none, record,
         NULL},
        {"PATCH", "/scim/v2/Groups/{id}", h_scim_groups_patch, app, TC_PUBLIC_JSON, none, record,
         NULL},
        {"DELETE", "/scim/v2/Groups/{id}", h_scim_groups_delete, app, TC_PUBLIC, none, no_body,
         NULL},
        {"POST", "/internal/v1/orgs", h_internal_orgs_create, app, TC_INTERNAL_JSON, none, record,
         NULL},
        {"POST", "/internal/v1/orgs/{id}/members", h_internal_members_provision, app,
         TC_INTERNAL_JSON, none, record, NULL},
        {"GET", "/internal/v1/users/{id}", h_internal_users_get, app, TC_INTERNAL, none, no_body,
         NULL},
        {"POST", "/internal/v1/users/{id}/activate", h_internal_users_activate, app, TC_INTERNAL,
         none, no_body, NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
