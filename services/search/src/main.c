/*
 * search service: search documents and indexes, fed by events (owner: Search team).
 * See services/search/README.md.
 */
#include "search_app.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "search",
        .default_port = 8086,
        .needs = TC_NEED_DB | TC_NEED_KAFKA | TC_NEED_AUTH,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
        /* four consumers, the second share of a documents batch, the recount and the remap */
        .background_conns = 7,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    search_app_t app;
    search_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = search_app_init(&app, svc);
    if (rc == TC_OK)
        rc = search_routes(&app);
    if (rc == TC_OK)
        rc = consumer_users_start(&app);
    if (rc == TC_OK)
        rc = consumer_documents_start(&app);
    if (rc == TC_OK)
        rc = consumer_workflows_start(&app);
    if (rc == TC_OK)
        rc = consumer_connections_start(&app);
    if (rc == TC_OK)
        rc = vocabulary_job_start(&app);
    if (rc == TC_OK)
        rc = remap_job_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    search_app_free(&app);
    return exit_code;
}
