/*
 * workflow_app.h: the workflow service's shared context (configuration and dependencies),
 * handed to every handler and executor worker as their `ud`.
 */
#ifndef WORKFLOW_APP_H
#define WORKFLOW_APP_H

#include "tc/tc_egress.h"
#include "tc/tc_service.h"
#include "tc/tc_svctoken.h"
#include "tc/tc_wake.h"

#include <stdbool.h>

#define WF_MAX_WORKERS    32
#define WF_TRIGGER_TOPICS 16

typedef struct workflow_app workflow_app_t;

typedef struct {
    workflow_app_t *app;
    int index;
    char last_org[64]; /* the org this worker served last: the next claim starts after it */
} wf_worker_t;

struct workflow_app {
    tc_service_t *svc;
    tc_db_t *db;
    /* configuration */
    int nworkers;            /* WORKFLOW_WORKERS: executor threads per replica */
    int poll_ms;             /* WORKFLOW_POLL_MS: how often idle workers look for due work */
    const char *free_plan;   /* WORKFLOW_FREE_PLAN: whose limits the free plan gets */
    int task_timeout_s;      /* WORKFLOW_TASK_TIMEOUT_S: a Task without TimeoutSeconds */
    int max_steps;           /* WORKFLOW_MAX_STEPS: states one execution may enter */
    int lease_grace_ms;      /* WORKFLOW_LEASE_GRACE_MS: a Task's lease beyond its timeout */
    tc_egress_opts_t egress; /* tc:http (WORKFLOW_HTTP_ALLOW_PRIVATE, …) */
    /* tc:ml and tc:integration: the ml-inference service (ML_INFERENCE_URL) and the
     * integration hub (INTEGRATION_HUB_URL), called with the service's own token (AUTH_URL,
     * AUTH_CLIENT_ID, AUTH_CLIENT_SECRET); NULL when not configured */
    const char *ml_url, *hub_url, *auth_url, *client_id, *client_secret;
    tc_svctoken_t *svctoken;
    /* WORKFLOW_TRIGGER_TOPICS: the topics event triggers may name (NULL-terminated) */
    const char *trigger_topics[WF_TRIGGER_TOPICS + 1];
    char *trigger_topics_buf;
    int triggered; /* executions the trigger consumer's events started since its last commit
                    * (its thread only) */
    /* executor: a start on this replica wakes an idle worker at once */
    wf_worker_t workers[WF_MAX_WORKERS];
    tc_wake_t wake;
};

/* Reads WORKFLOW_* variables; problems go into cfg. */
void workflow_app_config(workflow_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int workflow_app_init(workflow_app_t *app, tc_service_t *svc);
void workflow_app_free(workflow_app_t *app);

/* A transaction of a background thread (executor, firer): a connection of the pool with BEGIN
 * sent (TC_EUNAVAIL when the pool has none); wf_tx_end commits it when rc is TC_OK (else
 * rolls it back), releases it and returns the outcome. */
int wf_tx_begin(workflow_app_t *app, tc_dbconn_t **tx);
int wf_tx_end(workflow_app_t *app, tc_dbconn_t *tx, int rc);

/* Registers the API routes. */
int workflow_routes(workflow_app_t *app);
/* Registers the executor's worker threads (they start with tc_service_run). */
int executor_start(workflow_app_t *app);
/* Wakes an idle worker: an execution became due now. */
void executor_kick(workflow_app_t *app);
/* Registers the schedule firer (a periodic job: starts the executions of schedules whose time
 * has come, once across replicas). */
int scheduler_start(workflow_app_t *app);
/* Registers the consumer of auth-events that keeps orgs' plans (org_plans) for scheduled
 * starts. */
int consumer_plans_start(workflow_app_t *app);
/* Registers the consumer of WORKFLOW_TRIGGER_TOPICS that starts event triggers' executions. */
int consumer_triggers_start(workflow_app_t *app);

#endif
