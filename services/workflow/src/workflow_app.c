#include "workflow_app.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <stdlib.h>
#include <string.h>

void workflow_app_config(workflow_app_t *app, tc_config_t *cfg)
{
    memset(app, 0, sizeof *app);
    app->nworkers = (int)tc_config_int(cfg, "WORKFLOW_WORKERS", 8, 1, WF_MAX_WORKERS);
    app->poll_ms = (int)tc_config_int(cfg, "WORKFLOW_POLL_MS", 200, 10, 60000);
    app->free_plan = tc_config_str(cfg, "WORKFLOW_FREE_PLAN", "starter");
    if (!wf_plan_known(app->free_plan) || strcmp(app->free_plan, "free") == 0)
        tc_config_fail(cfg, "WORKFLOW_FREE_PLAN", "must be starter, professional or enterprise");
    app->task_timeout_s = (int)tc_config_int(cfg, "WORKFLOW_TASK_TIMEOUT_S", 60, 1, 86400);
    app->max_steps = (int)tc_config_int(cfg, "WORKFLOW_MAX_STEPS", 25000, 10, 1000000);
    app->lease_grace_ms = (int)tc_config_int(cfg, "WORKFLOW_LEASE_GRACE_MS", 10000, 100, 600000);
    app->egress.allow_private = tc_config_bool(cfg, "WORKFLOW_HTTP_ALLOW_PRIVATE", false);
    app->egress.connect_timeout_ms =
        (int)tc_config_int(cfg, "WORKFLOW_HTTP_CONNECT_TIMEOUT_MS", 3000, 100, 60000);
    app->egress.max_response_bytes = (size_t)tc_config_int(cfg, "WORKFLOW_HTTP_MAX_RESPONSE_BYTES",
                                                           WF_PAYLOAD_MAX, 1024, WF_PAYLOAD_MAX);
    app->egress.user_agent = TC_UA_WORKFLOW;
    app->ml_url = tc_config_opt(cfg, "ML_INFERENCE_URL");
    app->hub_url = tc_config_opt(cfg, "INTEGRATION_HUB_URL");
    app->auth_url = tc_config_str(cfg, "AUTH_URL", "http://127.0.0.1:8081");
    app->client_id = tc_config_opt(cfg, "AUTH_CLIENT_ID");
    app->client_secret = tc_config_opt(cfg, "AUTH_CLIENT_SECRET");
    tc_config_topics(cfg, "WORKFLOW_TRIGGER_TOPICS", "integration-events,billing-events",
                     &app->trigger_topics_buf, app->trigger_topics, WF_TRIGGER_TOPICS);
}

int workflow_app_init(workflow_app_t *app, tc_service_t *svc)
{
    app->svc = svc;
    app->db = tc_service_db(svc);
    if (!app->db)
        return TC_EUNAVAIL;
    if (app->client_id && app->client_secret) {
        tc_svctoken_opts_t o = {.auth_url = app->auth_url,
                                .client_id = app->client_id,
                                .client_secret = app->client_secret,
                                .scope = "internal"};
        if (!(app->svctoken = tc_svctoken_new(tc_service_httpc(svc), &o)))
            return TC_ENOMEM;
    } else {
        tc_log_kv(TC_LOG_WARN,
                  "AUTH_CLIENT_ID/AUTH_CLIENT_SECRET not set: tc:ml and tc:integration steps fail "
                  "as unavailable",
                  NULL);
    }
    return tc_wake_init(&app->wake, app->nworkers);
}

void workflow_app_free(workflow_app_t *app)
{
    tc_wake_destroy(&app->wake);
    tc_svctoken_free(app->svctoken);
    free(app->trigger_topics_buf);
    memset(app, 0, sizeof *app);
}

int wf_tx_begin(workflow_app_t *app, tc_dbconn_t **tx)
{
    *tx = tc_db_acquire(app->db);
    if (!*tx)
        return TC_EUNAVAIL;
    int rc = tc_db_begin(*tx);
    if (rc != TC_OK) {
        tc_db_release(app->db, *tx);
        *tx = NULL;
    }
    return rc;
}

int wf_tx_end(workflow_app_t *app, tc_dbconn_t *tx, int rc)
{
    if (rc == TC_OK)
        rc = tc_db_commit(tx);
    else
        tc_db_rollback(tx);
    tc_db_release(app->db, tx);
    return rc;
}
