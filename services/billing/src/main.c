/*
 * billing service: plans, subscriptions and what they owe (owner: Billing team).
 * See services/billing/README.md.
 */
#include "billing_app.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "billing",
        .default_port = 8088,
        .needs = TC_NEED_DB | TC_NEED_KAFKA | TC_NEED_AUTH,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    billing_app_t app;
    billing_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = billing_app_init(&app, svc);
    if (rc == TC_OK)
        rc = billing_routes(&app);
    if (rc == TC_OK)
        rc = consumer_users_start(&app);
    if (rc == TC_OK)
        rc = consumer_workflows_start(&app);
    if (rc == TC_OK)
        rc = consumer_usage_start(&app);
    if (rc == TC_OK)
        rc = periods_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    billing_app_free(&app);
    return exit_code;
}
