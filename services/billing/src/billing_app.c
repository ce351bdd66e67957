#include "billing_app.h"
#include "tc/tc_core.h"

#include <string.h>

void billing_app_config(billing_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    app->period_job_ms = (int)tc_config_int(cfg, "BILLING_PERIOD_JOB_MS", 10000, 100, 3600000);
    app->period_workers = (int)tc_config_int(cfg, "BILLING_PERIOD_WORKERS", 2, 1, 8);
    app->finalize_after_ms =
        tc_config_int(cfg, "BILLING_FINALIZE_AFTER_MS", 3600000, 0, 30LL * 86400000);
    app->issuer = tc_config_str(cfg, "BILLING_ISSUER", "techcorp");
    app->invoice_prefix = tc_config_str(cfg, "BILLING_INVOICE_PREFIX", "TC-");
    app->credit_prefix = tc_config_str(cfg, "BILLING_CREDIT_NOTE_PREFIX", "TC-CN-");
    app->stripe_url = tc_config_str(cfg, "BILLING_STRIPE_API_URL", "https://api.stripe.com");
    /* optional: without them paying answers 503 and webhooks too (masked in the logs by name) */
    app->stripe_key = tc_config_opt(cfg, "BILLING_STRIPE_SECRET_KEY");
    app->stripe_webhook_secret = tc_config_opt(cfg, "BILLING_STRIPE_WEBHOOK_SECRET");
    app->webhook_tolerance_s = (int)tc_config_int(cfg, "BILLING_WEBHOOK_TOLERANCE_S", 300, 1, 3600);
    app->app_url = tc_config_str(cfg, "APP_URL", "https://app.techcorp.com");
    int terms = (int)tc_config_int(cfg, "BILLING_PAYMENT_TERMS_DAYS", 14, 0, 365);
    int grace = (int)tc_config_int(cfg, "BILLING_DUNNING_GRACE_DAYS", 14, 1, 365);
    const char *why = NULL;
    if (bill_dunning_parse(tc_config_str(cfg, "BILLING_DUNNING_REMINDER_DAYS", "1,3,7"), grace,
                           terms, &app->dunning, &why) != TC_OK)
        tc_config_fail(cfg, "BILLING_DUNNING_REMINDER_DAYS", why);
}

int billing_app_init(billing_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    app->httpc = tc_service_httpc(svc);
    return app->db && app->httpc ? TC_OK : TC_EUNAVAIL;
}

void billing_app_free(billing_app_t *app)
{
    memset(app, 0, sizeof *app);
}
