/*
 * analytics service: the fleet's events, product analytics and the audit log (owner: Data
 * team). See services/analytics/README.md.
 */
#include "analytics_app.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "analytics",
        .default_port = 8084,
        .needs = TC_NEED_DB | TC_NEED_KAFKA | TC_NEED_AUTH,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
        /* up to six ingest members, the reports job's lock and its query */
        .background_conns = 8,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    analytics_app_t app;
    analytics_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = analytics_app_init(&app, svc);
    if (rc == TC_OK)
        rc = partitions_start(&app);
    if (rc == TC_OK)
        rc = analytics_routes(&app);
    if (rc == TC_OK)
        rc = consumer_events_start(&app);
    if (rc == TC_OK)
        rc = consumer_audit_start(&app);
    if (rc == TC_OK)
        rc = reports_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    analytics_app_free(&app);
    return exit_code;
}
