#include "hub_app.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void hub_app_config(hub_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    tc_config_key32(cfg, "DATA_KEK", app->kek);
    app->nworkers = (int)tc_config_int(cfg, "INTEGRATION_WORKERS", 8, 1, HUB_MAX_WORKERS);
    app->batch = (int)tc_config_int(cfg, "INTEGRATION_BATCH", 16, 1, 500);
    app->poll_ms = (int)tc_config_int(cfg, "INTEGRATION_POLL_MS", 500, 10, 60000);
    app->timeout_ms =
        (int)tc_config_int(cfg, "INTEGRATION_DELIVERY_TIMEOUT_MS", 15000, 100, 120000);
    app->lease_grace_ms = (int)tc_config_int(cfg, "INTEGRATION_LEASE_GRACE_MS", 30000, 100, 600000);
    app->disable_after_s =
        (int)tc_config_int(cfg, "INTEGRATION_DISABLE_AFTER_S", 5 * 86400, 1, 90 * 86400);
    app->rotation_overlap_s =
        (int)tc_config_int(cfg, "INTEGRATION_ROTATION_OVERLAP_S", 86400, 0, 30 * 86400);
    app->tolerance_s = (int)tc_config_int(cfg, "INTEGRATION_INBOUND_TOLERANCE_S", 300, 1, 3600);
    app->retention_days = (int)tc_config_int(cfg, "INTEGRATION_RETENTION_DAYS", 30, 1, 3650);
    app->allow_private = tc_config_bool(cfg, "INTEGRATION_ALLOW_PRIVATE", false);
    const char *sched = tc_config_str(cfg, "INTEGRATION_RETRY_SCHEDULE_S", HUB_SCHEDULE_DEFAULT);
    app->nschedule = hub_schedule_parse(sched, app->schedule);
    if (app->nschedule < 1)
        tc_config_fail(cfg, "INTEGRATION_RETRY_SCHEDULE_S",
                       "must be comma-separated seconds, the first 0, at most 32, each <= 7 days");
    tc_config_topics(cfg, "INTEGRATION_WEBHOOK_TOPICS",
                     "user-events,workflow-events,integration-events", &app->topics_buf,
                     app->topics, HUB_MAX_TOPICS);
    app->egress.allow_private = app->allow_private;
    app->egress.connect_timeout_ms =
        (int)tc_config_int(cfg, "INTEGRATION_CONNECT_TIMEOUT_MS", 3000, 100, 60000);
    app->egress.max_response_bytes = 64 * 1024; /* an endpoint's answer is kept only in part */
    app->egress.truncate_response = true;
    app->egress.user_agent = HUB_USER_AGENT;
    app->action_egress = app->egress;
    app->action_egress.max_response_bytes = (size_t)tc_config_int(
        cfg, "INTEGRATION_ACTION_MAX_RESPONSE_BYTES", 1024 * 1024, 1024, 16 * 1024 * 1024);
    app->action_egress.truncate_response = false; /* a cut JSON answer is no answer */
    app->action_egress.user_agent = TC_UA_INTEGRATIONS;
    /* under the gateway's 30 s upstream timeout, so the caller hears the hub's own answer */
    app->action_timeout_ms =
        (int)tc_config_int(cfg, "INTEGRATION_ACTION_TIMEOUT_MS", 25000, 100, 120000);
}

int hub_app_init(hub_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    if (!app->db)
        return TC_EUNAVAIL;
    app->keys = tc_keyring_new(app->db, app->kek);
    OPENSSL_cleanse(app->kek, sizeof app->kek); /* the keyring holds its own copy */
    if (!app->keys)
        return TC_ENOMEM;
    char err[256] = "";
    int rc = hub_catalog_load(&app->catalog, hub_connector_files, hub_connector_files_count, err,
                              sizeof err);
    if (rc != TC_OK) {
        tc_log_kv(TC_LOG_ERROR, "the connector catalog does not load", "error", err, NULL);
        return rc;
    }
    return tc_wake_init(&app->wake, app->nworkers);
}

void hub_app_free(hub_app_t *app)
{
    for (int i = 0; i < HUB_MAX_WORKERS; i++)
        tc_egress_session_free(app->workers[i].http);
    tc_wake_destroy(&app->wake);
    tc_keyring_free(app->keys);
    hub_catalog_free(&app->catalog);
    free(app->topics_buf);
    OPENSSL_cleanse(app, sizeof *app);
}
