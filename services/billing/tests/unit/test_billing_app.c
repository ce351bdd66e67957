/* billing_app.c: the configuration billing starts with. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "billing_app.h"
#include "tc/tc_config.h"
#include "tc/tc_core.h"

static const char *const ours[] = {
    "BILLING_STRIPE_SECRET_KEY",     "BILLING_STRIPE_WEBHOOK_SECRET",
    "BILLING_DUNNING_REMINDER_DAYS", "BILLING_DUNNING_GRACE_DAYS",
    "BILLING_PAYMENT_TERMS_DAYS",    "BILLING_PERIOD_JOB_MS",
    "BILLING_FINALIZE_AFTER_MS",     "APP_URL",
};

static void clear_env(void)
{
    for (size_t i = 0; i < TC_ARRAY_LEN(ours); i++)
        unsetenv(ours[i]);
}

Test(config, billing_starts_without_a_payment_provider)
{
    /* `make up` and a chart without billing's Secret set no provider keys: billing starts, and
     * paying answers 503 payments_unavailable */
    clear_env();
    tc_config_t *cfg = tc_config_new();
    billing_app_t app;
    billing_app_config(&app, cfg);
    cr_assert_eq(tc_config_check(cfg), TC_OK);
    cr_assert_null(app.stripe_key);
    cr_assert_null(app.stripe_webhook_secret);
    cr_assert_eq(app.dunning.grace_days, 14);
    cr_assert_eq(app.dunning.nreminders, 3);
    tc_config_free(cfg);
}

Test(config, a_dunning_schedule_that_does_not_fit_is_refused)
{
    clear_env();
    setenv("BILLING_DUNNING_GRACE_DAYS", "5", 1);
    setenv("BILLING_DUNNING_REMINDER_DAYS", "1,3,7", 1); /* 7 is past the grace */
    tc_config_t *cfg = tc_config_new();
    billing_app_t app;
    billing_app_config(&app, cfg);
    cr_assert_neq(tc_config_check(cfg), TC_OK);
    tc_config_free(cfg);
    clear_env();
}
