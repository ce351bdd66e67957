/*
 * workflow service: workflow definitions in the Amazon States Language and their durable
 * executions (owner: Workflows team). See services/workflow/README.md.
 */
#include "workflow_app.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "workflow",
        .default_port = 8083,
        .needs = TC_NEED_DB | TC_NEED_KAFKA | TC_NEED_AUTH,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
        /* the executor's workers (WORKFLOW_WORKERS, 8 by default), the branch sweeper, the
         * schedule firer and the plans and triggers consumers */
        .background_conns = 12,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    workflow_app_t app;
    workflow_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = workflow_app_init(&app, svc);
    if (rc == TC_OK)
        rc = workflow_routes(&app);
    if (rc == TC_OK)
        rc = executor_start(&app);
    if (rc == TC_OK)
        rc = scheduler_start(&app);
    if (rc == TC_OK)
        rc = consumer_plans_start(&app);
    if (rc == TC_OK)
        rc = consumer_triggers_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    workflow_app_free(&app);
    return exit_code;
}
