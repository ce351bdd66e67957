/*
 * The auth service's API surface: every route, who may call it, its body limit and the
 * API-key scope it needs. None: API keys do not manage sessions, passwords, second factors or
 * keys (a key restricted to scopes is refused by libcommon; an unrestricted key by
 * require_person), and the vocabulary of proto/scopes.json names no auth route.
 */
#include "handlers.h"
#include "tc/tc_core.h"

int auth_routes(auth_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, admin = TC_ROLE_ADMIN, none = TC_ROLE_NONE;
    const size_t small = TC_BODY_SMALL, record = TC_BODY_RECORD, no_body = TC_BODY_NONE;
    const tc_route_t routes[] = {
        {"POST", "/v1/auth/signup", h_signup, app, TC_PUBLIC_JSON, none, small, NULL},
        {"POST", "/v1/auth/login", h_login, app, TC_PUBLIC_JSON, none, small, NULL},
        {"POST", "/v1/auth/login/mfa", h_login_mfa, app, TC_PUBLIC_JSON, none, small, NULL},
        {"POST", "/v1/auth/token/refresh", h_refresh, app, TC_PUBLIC_JSON, none, small, NULL},
        {"POST", "/v1/auth/logout", h_logout, app, TC_USER, viewer, small, NULL},
        {"POST", "/v1/auth/logout/all", h_logout_all, app, TC_USER, viewer, small, NULL},
        {"GET", "/v1/auth/sessions", h_sessions_list, app, TC_USER, viewer, no_body, NULL},
        {"DELETE", "/v1/auth/sessions/{id}", h_sessions_delete, app, TC_USER, viewer, no_body,
         NULL},
        {"POST", "/v1/auth/password", h_password_change, app, TC_USER_JSON, viewer, small, NULL},
        {"POST", "/v1/auth/password/reset/request", h_password_reset_request, app, TC_PUBLIC_JSON,
         none, small, NULL},
        {"POST", "/v1/auth/password/reset", h_password_reset, app, TC_PUBLIC_JSON, none, small,
         NULL},
        {"POST", "/v1/auth/invitations/accept", h_invitation_accept, app, TC_PUBLIC_JSON, none,
         small, NULL},
        {"POST", "/v1/auth/mfa/totp", h_mfa_enroll, app, TC_USER_JSON, viewer, small, NULL},
        {"POST", "/v1/auth/mfa/totp/confirm", h_mfa_confirm, app, TC_USER_JSON, viewer, small,
         NULL},
        {"POST", "/v1/auth/mfa/totp/disable", h_mfa_disable, app, TC_USER_JSON, viewer, small,
         NULL},
        {"POST", "/v1/auth/api-keys", h_apikeys_create, app, TC_USER_JSON, admin, small, NULL},
        {"GET", "/v1/auth/api-keys", h_apikeys_list, app, TC_USER, admin, no_body, NULL},
        {"DELETE", "/v1/auth/api-keys/{id}", h_apikeys_revoke, app, TC_USER, admin, no_body, NULL},
        {"POST", "/v1/auth/oauth/token", h_oauth_token, app, TC_PUBLIC, none, small, NULL},
        {"GET", "/.well-known/jwks.json", h_jwks, app, TC_PUBLIC, none, no_body, NULL},
        {"POST", "/v1/auth/sso/connections", h_sso_connections_create, app, TC_USER_JSON, admin,
         record, NULL}, /* a SAML connection carries its provider's metadata document */
        {"GET", "/v1/auth/sso/connections", h_sso_connections_list, app, TC_USER, admin, no_body,
         NULL},
        {"GET", "/v1/auth/sso/connections/{id}", h_sso_connections_get, app, TC_USER, admin,
         no_body, NULL},
        {"PATCH", "/v1/auth/sso/connections/{id}", h_sso_connections_update, app, TC_USER_JSON,
         admin, record, NULL},
        {"DELETE", "/v1/auth/sso/connections/{id}", h_sso_connections_delete, app, TC_USER, admin,
         no_body, NULL},
        {"POST", "/v1/auth/sso/domains", h_sso_domains_create, app, TC_USER_JSON, admin, small,
         NULL},
        {"GET", "/v1/auth/sso/domains", h_sso_domains_list, app, TC_USER, admin, no_body, NULL},
        {"POST", "/v1/auth/sso/domains/{domain}/verify", h_sso_domains_verify, app, TC_USER, admin,
         no_body, NULL},
        {"PATCH", "/v1/auth/sso/domains/{domain}", h_sso_domains_update, app, TC_USER_JSON, admin,
         small, NULL},
        {"DELETE", "/v1/auth/sso/domains/{domain}", h_sso_domains_delete, app, TC_USER, admin,
         no_body, NULL},
        {"POST", "/v1/auth/sso/discover", h_sso_discover, app, TC_PUBLIC_JSON, none, small, NULL},
        {"POST", "/v1/auth/sso/start", h_sso_start, app, TC_PUBLIC_JSON, none, small, NULL},
        {"GET", "/v1/auth/sso/oidc/callback", h_sso_callback, app, TC_PUBLIC, none, no_body, NULL},
        {"POST", "/v1/auth/sso/token", h_sso_token, app, TC_PUBLIC_JSON, none, small, NULL},
        {"GET", "/v1/auth/sso/saml/{id}/metadata", h_saml_metadata, app, TC_PUBLIC, none, no_body,
         NULL},
        {"POST", "/v1/auth/sso/saml/{id}/acs", h_saml_acs, app, TC_PUBLIC, none, record, NULL},
        {"POST", "/internal/v1/auth/introspect", h_introspect, app, TC_INTERNAL_JSON, none, small,
         NULL},
        {"POST", "/internal/v1/auth/keys/rotate", h_keys_rotate, app, TC_INTERNAL, none, no_body,
         NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
