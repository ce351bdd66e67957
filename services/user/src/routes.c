/* The user service's API surface: every route, who may call it, and its body limit. */
#include "handlers.h"
#include "tc/tc_core.h"

#define JSON_LIMIT (64 * 1024)

int user_routes(user_app_t *app)
{
    const unsigned user = TC_ROUTE_AUTH, user_json = TC_ROUTE_AUTH | TC_ROUTE_JSON;
    const unsigned svc = TC_ROUTE_SERVICE, svc_json = TC_ROUTE_SERVICE | TC_ROUTE_JSON;
    const tc_route_t routes[] = {
        {"GET", "/v1/users", h_users_list, app, user, TC_ROLE_VIEWER, 0},
        {"POST", "/v1/users", h_users_create, app, user_json, TC_ROLE_ADMIN, JSON_LIMIT},
        {"GET", "/v1/users/me", h_users_me, app, user, TC_ROLE_VIEWER, 0},
        {"GET", "/v1/users/{id}", h_users_get, app, user, TC_ROLE_VIEWER, 0},
        {"PATCH", "/v1/users/{id}", h_users_patch, app, user_json, TC_ROLE_VIEWER, JSON_LIMIT},
        {"DELETE", "/v1/users/{id}", h_users_delete, app, user, TC_ROLE_ADMIN, 0},
        {"GET", "/v1/users/{id}/preferences", h_prefs_get, app, user, TC_ROLE_VIEWER, 0},
        {"PUT", "/v1/users/{id}/preferences", h_prefs_put, app, user_json, TC_ROLE_VIEWER,
         JSON_LIMIT},
        {"GET", "/v1/orgs/current", h_orgs_get, app, user, TC_ROLE_VIEWER, 0},
        {"PATCH", "/v1/orgs/current", h_orgs_patch, app, user_json, TC_ROLE_ADMIN, JSON_LIMIT},
        {"POST", "/internal/v1/orgs", h_internal_orgs_create, app, svc_json, TC_ROLE_NONE,
         JSON_LIMIT},
        {"GET", "/internal/v1/users/{id}", h_internal_users_get, app, svc, TC_ROLE_NONE, 0},
        {"POST", "/internal/v1/users/{id}/activate", h_internal_users_activate, app, svc,
         TC_ROLE_NONE, 0},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
