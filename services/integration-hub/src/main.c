/*
 * integration-hub: outgoing webhooks (Standard Webhooks) of the platform's events and inbound
 * webhooks that become events (owner: Integrations team). See services/integration-hub/README.md.
 */
#include "hub_app.h"
#include "tc/tc_core.h"

#include <curl/curl.h>

int main(void)
{
    const tc_service_def_t def = {
        .name = "integration-hub",
        .default_port = 8089,
        .needs = TC_NEED_DB | TC_NEED_KAFKA | TC_NEED_AUTH,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    hub_app_t app;
    hub_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = hub_app_init(&app, svc);
    if (rc == TC_OK)
        rc = hub_routes(&app);
    if (rc == TC_OK)
        rc = consumer_events_start(&app);
    if (rc == TC_OK)
        rc = delivery_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    hub_app_free(&app);
    curl_global_cleanup();
    return exit_code;
}
