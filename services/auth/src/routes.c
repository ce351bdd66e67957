/* The auth service's API surface: every route, who may call it, and its body limit. */
#include "auth_handlers.h"
#include "tc/tc_core.h"

#define LIMIT (16 * 1024)

int auth_routes(auth_app_t *app)
{
    const unsigned pub_json = TC_ROUTE_PUBLIC | TC_ROUTE_JSON, user = TC_ROUTE_AUTH;
    const unsigned user_json = TC_ROUTE_AUTH | TC_ROUTE_JSON;
    const unsigned svc = TC_ROUTE_SERVICE, svc_json = TC_ROUTE_SERVICE | TC_ROUTE_JSON;
    const tc_route_t routes[] = {
        {"POST", "/v1/auth/signup", h_signup, app, pub_json, TC_ROLE_NONE, LIMIT},
        {"POST", "/v1/auth/login", h_login, app, pub_json, TC_ROLE_NONE, LIMIT},
        {"POST", "/v1/auth/login/mfa", h_login_mfa, app, pub_json, TC_ROLE_NONE, LIMIT},
        {"POST", "/v1/auth/token/refresh", h_refresh, app, pub_json, TC_ROLE_NONE, LIMIT},
        {"POST", "/v1/auth/logout", h_logout, app, user, TC_ROLE_VIEWER, LIMIT},
        {"POST", "/v1/auth/logout/all", h_logout_all, app, user, TC_ROLE_VIEWER, LIMIT},
        {"GET", "/v1/auth/sessions", h_sessions_list, app, user, TC_ROLE_VIEWER, 0},
        {"DELETE", "/v1/auth/sessions/{id}", h_sessions_delete, app, user, TC_ROLE_VIEWER, 0},
        {"POST", "/v1/auth/password", h_password_change, app, user_json, TC_ROLE_VIEWER, LIMIT},
        {"POST", "/v1/auth/password/reset/request", h_password_reset_request, app, pub_json,
         TC_ROLE_NONE, LIMIT},
        {"POST", "/v1/auth/password/reset", h_password_reset, app, pub_json, TC_ROLE_NONE, LIMIT},
        {"POST", "/v1/auth/invitations/accept", h_invitation_accept, app, pub_json, TC_ROLE_NONE,
         LIMIT},
        {"POST", "/v1/auth/mfa/totp", h_mfa_enroll, app, user, TC_ROLE_VIEWER, LIMIT},
        {"POST", "/v1/auth/mfa/totp/confirm", h_mfa_confirm, app, user_json, TC_ROLE_VIEWER, LIMIT},
        {"POST", "/v1/auth/mfa/totp/disable", h_mfa_disable, app, user_json, TC_ROLE_VIEWER, LIMIT},
        {"POST", "/v1/auth/api-keys", h_apikeys_create, app, user_json, TC_ROLE_ADMIN, LIMIT},
        {"GET", "/v1/auth/api-keys", h_apikeys_list, app, user, TC_ROLE_ADMIN, 0},
        {"DELETE", "/v1/auth/api-keys/{id}", h_apikeys_revoke, app, user, TC_ROLE_ADMIN, 0},
        {"POST", "/v1/auth/oauth/token", h_oauth_token, app, TC_ROUTE_PUBLIC, TC_ROLE_NONE, LIMIT},
        {"GET", "/.well-known/jwks.json", h_jwks, app, TC_ROUTE_PUBLIC, TC_ROLE_NONE, 0},
        {"POST", "/internal/v1/auth/introspect", h_introspect, app, svc_json, TC_ROLE_NONE, LIMIT},
        {"POST", "/internal/v1/auth/keys/rotate", h_keys_rotate, app, svc, TC_ROLE_NONE, 0},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
