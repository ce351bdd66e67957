/* The notification service's API surface: every route, who may call it, its body limit and
 * the API-key scope it needs (proto/scopes.json). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

#define NTF_R TC_SCOPE_NOTIFICATIONS_READ
#define NTF_W TC_SCOPE_NOTIFICATIONS_WRITE
#define TPL_R TC_SCOPE_NOTIFICATION_TEMPLATES_READ
#define TPL_W TC_SCOPE_NOTIFICATION_TEMPLATES_WRITE

int notification_routes(notification_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, editor = TC_ROLE_EDITOR, admin = TC_ROLE_ADMIN;
    const size_t record = TC_BODY_RECORD, small = TC_BODY_SMALL, none = TC_BODY_NONE;
    const tc_route_t routes[] = {
        /* a service's request, decided at once (the same as one on notification-events) */
        {"POST", "/internal/v1/notifications", h_internal_request, app, TC_INTERNAL_JSON,
         TC_ROLE_NONE, record, NULL},
        /* the caller's inbox */
        {"GET", "/v1/notifications", h_inbox_list, app, TC_USER, viewer, none, NTF_R},
        {"GET", "/v1/notifications/stream", h_stream, app, TC_USER, viewer, none, NTF_R},
        {"GET", "/v1/notifications/unread-count", h_inbox_unread, app, TC_USER, viewer, none,
         NTF_R},
        {"POST", "/v1/notifications/inbox/{id}/read", h_inbox_read, app, TC_USER, viewer, none,
         NTF_W},
        {"POST", "/v1/notifications/inbox/{id}/archive", h_inbox_archive, app, TC_USER, viewer,
         none, NTF_W},
        {"POST", "/v1/notifications/inbox/{id}/unarchive", h_inbox_unarchive, app, TC_USER, viewer,
         none, NTF_W},
        {"POST", "/v1/notifications/read-all", h_inbox_read_all, app, TC_USER, viewer, none, NTF_W},
        /* the caller's choices */
        {"GET", "/v1/notifications/preferences", h_prefs_get, app, TC_USER, viewer, none, NTF_R},
        {"PUT", "/v1/notifications/preferences", h_prefs_put, app, TC_USER_JSON, viewer, small,
         NTF_W},
        /* the caller's browsers (Web Push) */
        {"GET", "/v1/notifications/push/public-key", h_push_key, app, TC_USER, viewer, none, NTF_R},
        {"GET", "/v1/notifications/push/subscriptions", h_push_subs_list, app, TC_USER, viewer,
         none, NTF_R},
        {"POST", "/v1/notifications/push/subscriptions", h_push_subs_put, app, TC_USER_JSON, viewer,
         small, NTF_W},
        {"DELETE", "/v1/notifications/push/subscriptions/{id}", h_push_subs_delete, app, TC_USER,
         viewer, none, NTF_W},
        /* the org's defaults, where a member made no choice */
        {"GET", "/v1/notifications/org-preferences", h_org_prefs_get, app, TC_USER, viewer, none,
         NTF_R},
        {"PUT", "/v1/notifications/org-preferences", h_org_prefs_put, app, TC_USER_JSON, admin,
         small, TPL_W},
        /* the org's sender */
        {"GET", "/v1/notifications/settings", h_settings_get, app, TC_USER, admin, none, TPL_R},
        {"PUT", "/v1/notifications/settings", h_settings_put, app, TC_USER_JSON, admin, small,
         TPL_W},
        /* the org's templates */
        {"GET", "/v1/notifications/templates", h_templates_list, app, TC_USER, viewer, none, TPL_R},
        {"POST", "/v1/notifications/templates", h_templates_create, app, TC_USER_JSON, admin,
         record, TPL_W},
        {"POST", "/v1/notifications/templates/preview", h_templates_preview, app, TC_USER_JSON,
         editor, record, TPL_R},
        {"GET", "/v1/notifications/templates/{id}", h_templates_get, app, TC_USER, viewer, none,
         TPL_R},
        {"PUT", "/v1/notifications/templates/{id}", h_templates_put, app, TC_USER_JSON, admin,
         record, TPL_W},
        {"DELETE", "/v1/notifications/templates/{id}", h_templates_delete, app, TC_USER, admin,
         none, TPL_W},
        /* what happened to each message */
        {"GET", "/v1/notifications/deliveries", h_deliveries_list, app, TC_USER, viewer, none,
         NTF_R},
        {"GET", "/v1/notifications/deliveries/{id}", h_deliveries_get, app, TC_USER, viewer, none,
         NTF_R},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
