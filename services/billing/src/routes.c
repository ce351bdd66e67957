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
        {"GET", "/v1/billing/usage", h_usage_get, app, TC_USER, owner, no_body, NULL},
        {"GET", "/v1/billing/invoices", h_invoices_list, app, TC_USER, owner, no_body, NULL},
        {"GET", "/v1/billing/invoices/{id}", h_invoice_get, app, TC_USER, owner, no_body, NULL},
        {"GET", "/v1/billing/invoices/{id}/html", h_invoice_html, app, TC_USER, owner, no_body,
         NULL},
        {"GET", "/v1/billing/invoices/{id}/payments", h_invoice_payments_list, app, TC_USER, owner,
         no_body, NULL},
        {"POST", "/v1/billing/invoices/{id}/payments", h_invoice_payment_create, app, TC_USER,
         owner, small, NULL},
        {"GET", "/v1/billing/payment-method", h_payment_method_get, app, TC_USER, owner, no_body,
         NULL},
        {"PUT", "/v1/billing/payment-method", h_payment_method_put, app, TC_USER_JSON, owner, small,
         NULL},
        {"DELETE", "/v1/billing/payment-method", h_payment_method_delete, app, TC_USER, owner,
         no_body, NULL},
        /* the provider's signed events: no bearer token, the signature is the authentication */
        {"POST", "/v1/billing/webhooks/stripe", h_webhook_stripe, app, TC_PUBLIC, none, record,
         NULL},
        {"GET", "/v1/billing/credit-notes", h_credit_notes_list, app, TC_USER, owner, no_body,
         NULL},
        {"GET", "/v1/billing/ledger", h_ledger_get, app, TC_USER, owner, no_body, NULL},
        {"GET", "/v1/billing/profile", h_profile_get, app, TC_USER, owner, no_body, NULL},
        {"PUT", "/v1/billing/profile", h_profile_put, app, TC_USER_JSON, owner, small, NULL},
        {"GET", "/v1/billing/metrics", h_metrics_list, app, TC_USER, viewer, no_body,
         TC_SCOPE_BILLING_READ},
        {"POST", "/internal/v1/billing/prices", h_internal_price_add, app, TC_INTERNAL_JSON, none,
         record, NULL},
        {"POST", "/internal/v1/billing/metrics", h_internal_metric_define, app, TC_INTERNAL_JSON,
         none, small, NULL},
        /* up to 1,000 events of a few hundred bytes each */
        {"POST", "/internal/v1/billing/usage", h_internal_usage_report, app, TC_INTERNAL_JSON, none,
         TC_BODY_BATCH, NULL},
        {"GET", "/internal/v1/billing/invoices/{id}", h_internal_invoice_get, app, TC_INTERNAL,
         none, no_body, NULL},
        {"POST", "/internal/v1/billing/invoices/{id}/pay", h_internal_invoice_pay, app,
         TC_INTERNAL_JSON, none, small, NULL},
        {"POST", "/internal/v1/billing/invoices/{id}/void", h_internal_invoice_void, app,
         TC_INTERNAL, none, small, NULL},
        {"POST", "/internal/v1/billing/invoices/{id}/credit-notes", h_internal_credit_note, app,
         TC_INTERNAL_JSON, none, small, NULL},
        {"PUT", "/internal/v1/billing/tax-rates/{country}", h_internal_tax_rate_put, app,
         TC_INTERNAL_JSON, none, small, NULL},
    };
    return tc_service_routes(app->svc, routes, TC_ARRAY_LEN(routes));
}
