/* The analytics service's API surface: every route, who may call it, its body limit and the
 * API-key scope it needs (proto/scopes.json). Any member may send events, query them and read
 * reports; editors manage saved reports (DESIGN §4); the audit log is for admins and owners
 * (seed §6.4). */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

int analytics_routes(analytics_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, editor = TC_ROLE_EDITOR, admin = TC_ROLE_ADMIN;
    const size_t small = TC_BODY_SMALL, batch = TC_BODY_BATCH, no_body = TC_BODY_NONE;
    const tc_route_t routes[] = {
        {"POST", "/v1/analytics/events", h_events_capture, app, TC_USER_JSON, viewer, batch,
         TC_SCOPE_ANALYTICS_WRITE},
        {"POST", "/v1/analytics/query", h_query, app, TC_USER_JSON, viewer, small,
         TC_SCOPE_ANALYTICS_READ},
        {"GET", "/v1/analytics/reports", h_reports_list, app, TC_USER, viewer, no_body,
         TC_SCOPE_ANALYTICS_READ},
        {"POST", "/v1/analytics/reports", h_report_create, app, TC_USER_JSON, editor, small,
         TC_SCOPE_ANALYTICS_REPORTS_WRITE},
        {"GET", "/v1/analytics/reports/{id}", h_report_get, app, TC_USER, viewer, no_body,
         TC_SCOPE_ANALYTICS_READ},
        {"PATCH", "/v1/analytics/reports/{id}", h_report_patch, app, TC_USER_JSON, editor, small,
         TC_SCOPE_ANALYTICS_REPORTS_WRITE},
        {"DELETE", "/v1/analytics/reports/{id}", h_report_delete, app, TC_USER, editor, no_body,
         TC_SCOPE_ANALYTICS_REPORTS_WRITE},
        {"GET", "/v1/analytics/reports/{id}/results", h_report_results, app, TC_USER, viewer,
         no_body, TC_SCOPE_ANALYTICS_READ},
        {"GET", "/v1/audit-logs", h_audit_list, app, TC_USER, admin, no_body, TC_SCOPE_AUDIT_READ},
        {"GET", "/v1/audit-logs/export", h_audit_export, app, TC_USER, admin, no_body,
         TC_SCOPE_AUDIT_READ},
        {"GET", "/v1/audit-logs/verify", h_audit_verify, app, TC_USER, admin, no_body,
         TC_SCOPE_AUDIT_READ},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
