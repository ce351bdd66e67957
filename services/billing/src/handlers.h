/* handlers.h: the billing service's HTTP entry points (HTTP only: model and store do the work). */
#ifndef BILLING_HANDLERS_H
#define BILLING_HANDLERS_H

#include "billing_app.h"
#include "tc/tc_http.h"

void h_plans_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_plan_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_subscription_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_subscription_change(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_subscription_cancel(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_subscription_resume(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_price_add(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_invoices_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_invoice_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_invoice_html(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_credit_notes_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_usage_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_ledger_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_profile_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_profile_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_invoice_pay(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_invoice_void(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_credit_note(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_tax_rate_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_invoice_get(tc_req_t *req, tc_resp_t *resp, void *ud);
/* handlers_payments.c */
void h_invoice_payment_create(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_invoice_payments_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_webhook_stripe(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_payment_method_put(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_payment_method_get(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_payment_method_delete(tc_req_t *req, tc_resp_t *resp, void *ud);
/* handlers_metrics.c */
void h_metrics_list(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_metric_define(tc_req_t *req, tc_resp_t *resp, void *ud);
void h_internal_usage_report(tc_req_t *req, tc_resp_t *resp, void *ud);

#endif
