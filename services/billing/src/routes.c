/* The billing service's API surface: every route, who may call it, its body limit and the
 * API-key scope it needs (proto/scopes.json). The subscription is the owner's (DESIGN §4):
 * an API key is never an owner, so only the owner's own session changes what the org pays. */
#include "handlers.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

int billing_routes(billing_app_t *app)
{
    const tc_role_t viewer = TC_ROLE_VIEWER, owner = TC_ROLE_OWNER, none = TC_ROLE_NONE;
    const size_t small = TC_BODY_SMALL, record = TC_BODY_RECORD, no_body = TC_BODY_NONE;
    const tc_route_t routes[] = {
        {"GET", "/v1/billing/plans", h_plans_list, app, TC_USER, viewer, no_body,
         TC_SCOPE_BILLING_READ},
        {"GET", "/v1/billing/plans/{id}", h_plan_get, app, TC_USER, viewer, no_body,
         TC_SCOPE_BILLING_READ},
        {"GET", "/v1/billing/subscription", h_subscription_get, app, TC_USER, owner, no_body, NULL},
        {"POST", "/v1/billing/subscription", h_subscription_change, app, TC_USER_JSON, owner, small,
         NULL},
        {"POST", "/v1/billing/subscription/cancel", h_subscription_cancel, app, TC_USER, owner,
         small, NULL},
        {"POST", "/v1/billing/subscription/resume", h_subscription_resume, app, TC_USER, owner,
         small, NULL},
        {"POST", "/internal/v1/billing/prices", h_internal_price_add, app, TC_INTERNAL_JSON, none,
         record, NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
