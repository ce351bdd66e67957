/*
 * notification service: templates, deliveries and channel preferences (owner: Platform team).
 * See services/notification/README.md.
 */
#include "notification_app.h"
#include "tc/tc_core.h"

#include <curl/curl.h>

int main(void)
{
    const tc_service_def_t def = {
        .name = "notification",
        .default_port = 8085,
        .needs = TC_NEED_DB | TC_NEED_KAFKA | TC_NEED_AUTH,
        .background_conns = 1, /* the stream feed's reads */
        .migrations = tc_service_migrations,
        .nmigrations = tc_service_migrations_count,
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tc_service_t *svc = tc_service_new(&def);
    if (!svc)
        return 1;
    notification_app_t app;
    notification_app_config(&app, tc_service_config(svc));
    int rc = tc_service_open(svc);
    if (rc == TC_OK)
        rc = notification_app_init(&app, svc);
    if (rc == TC_OK)
        rc = notification_routes(&app);
    if (rc == TC_OK)
        rc = consumer_requests_start(&app);
    if (rc == TC_OK)
        rc = consumer_users_start(&app);
    if (rc == TC_OK)
        rc = notification_senders_start(&app);
    if (rc == TC_OK)
        rc = notification_digests_start(&app);
    if (rc == TC_OK)
        rc = notification_stream_start(&app);
    int exit_code = rc == TC_OK ? tc_service_run(svc) : 1;
    tc_service_free(svc);
    notification_app_free(&app);
    curl_global_cleanup();
    return exit_code;
}
