/*
 * auth service: credentials, sessions, refresh tokens, API keys, signing keys (owner:
 * Security team). See services/auth/README.md.
 */
#include "auth_app.h"
#include "passwords.h"
#include "tc/tc_core.h"

int main(void)
{
    const tc_service_def_t def = {
        .name = "auth",
        .default_port = 8081,
        .needs = TC_NEED_DB | TC_NEED_REDIS | TC_NEED_KAFKA,
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
    };
    pw_memory_policy();
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    auth_app_t app;
    auth_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = auth_app_init(&app, svc);
    if (rc == TC_OK)
        rc = auth_routes(&app);
    if (rc == TC_OK)
        rc = auth_consumers(&app);
    if (rc == TC_OK)
        rc = tc_service_every(svc, "signing-keys", app.key_refresh_ms, auth_keys_job, &app);
    if (rc == TC_OK)
        rc = tc_service_every(svc, "reset-requests", app.reset_queue_ms, auth_reset_job, &app);
    if (rc == TC_OK)
        rc = tc_service_every(svc, "cleanup", 600000, auth_cleanup_job, &app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    auth_app_free(&app);
    return exit_code;
}
