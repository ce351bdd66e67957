/*
 * user service: organizations, users, roles, profiles, preferences (owner: Platform team).
 * See services/user/README.md.
 */
#include "user_app.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "user",
        .default_port = 8082,
        .needs = TC_NEED_DB | TC_NEED_DB_PIPE | TC_NEED_KAFKA | TC_NEED_AUTH | TC_NEED_REDIS,
        /* Redis holds only the SCIM tokens' rate limits: without it they are not enforced
         * (USER_RATELIMIT_FAIL_OPEN), which is no reason to take user out of service */
        .degradable = TC_NEED_REDIS,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
    };
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    user_app_t app;
    user_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = user_app_init(&app, svc);
    if (rc == TC_OK)
        rc = user_routes(&app);
    if (rc == TC_OK)
        rc = tc_service_every(svc, "purge", app.purge_interval_ms, user_purge_run, &app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    user_app_free(&app);
    return exit_code;
}
