/*
 * billing_app.h: the billing service's shared context (configuration and dependencies),
 * handed to every handler, consumer and job as their `ud`.
 */
#ifndef BILLING_APP_H
#define BILLING_APP_H

#include "dunning_model.h"
#include "tc/tc_service.h"

typedef struct {
    tc_service_t *svc;
    tc_db_t *db;
    int period_job_ms;  /* BILLING_PERIOD_JOB_MS: how often ended periods and trials are rolled */
    int period_workers; /* BILLING_PERIOD_WORKERS: threads running that job side by side */
    int64_t finalize_after_ms;  /* BILLING_FINALIZE_AFTER_MS: a draft invoice waits so long */
    const char *issuer;         /* BILLING_ISSUER: whose numbering invoices take */
    const char *invoice_prefix; /* BILLING_INVOICE_PREFIX */
    const char *credit_prefix;  /* BILLING_CREDIT_NOTE_PREFIX */
    /* payments through a Stripe-shaped provider (handlers_payments.c) */
    const char *stripe_url;            /* BILLING_STRIPE_API_URL */
    const char *stripe_key;            /* BILLING_STRIPE_SECRET_KEY; unset: no payment intents */
    const char *stripe_webhook_secret; /* BILLING_STRIPE_WEBHOOK_SECRET; unset: webhooks 503 */
    int webhook_tolerance_s;           /* BILLING_WEBHOOK_TOLERANCE_S */
    tc_httpc_t *httpc;
    /* dunning (dunning.c): BILLING_PAYMENT_TERMS_DAYS, BILLING_DUNNING_REMINDER_DAYS,
     * BILLING_DUNNING_GRACE_DAYS */
    bill_dunning_t dunning;
    const char *app_url; /* APP_URL: the console, whose invoice page the reminders link */
} billing_app_t;

/* Reads BILLING_* variables; problems go into cfg. */
void billing_app_config(billing_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int billing_app_init(billing_app_t *app, tc_service_t *svc);
void billing_app_free(billing_app_t *app);

/* Registers the public and internal routes. */
int billing_routes(billing_app_t *app);
/* user-events: an org gets its (free) subscription when it is created. */
int consumer_users_start(billing_app_t *app);
/* One invoice's due dunning step (a charge of the org's saved card, then a reminder to the
 * org's owners or its plan held at free when the grace ends) in the caller's transaction:
 * TC_OK, TC_ENOTFOUND when none is due; id (n bytes) names the invoice tried. skip: an array
 * literal of ids to leave out. */
int dunning_step_in(billing_app_t *app, tc_dbconn_t *c, const char *skip, char *id, size_t n);
/* The job that ends trials, renews periods and carries out cancellations at period end,
 * issuing and finalizing the invoices. */
int periods_start(billing_app_t *app);
/* workflow-events: executions started, metered as workflow_executions. */
int consumer_workflows_start(billing_app_t *app);
/* analytics-events: the gateway's and ml-inference's usage records (consumer_usage.c). */
int consumer_usage_start(billing_app_t *app);

#endif
