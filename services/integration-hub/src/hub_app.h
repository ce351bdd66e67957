/*
 * hub_app.h: the integration hub's shared context (configuration and dependencies), handed to
 * every handler, the event consumer and the delivery workers as their `ud`.
 */
#ifndef HUB_APP_H
#define HUB_APP_H

#include "connector_model.h"
#include "hub_model.h"
#include "tc/tc_crypto.h"
#include "tc/tc_egress.h"
#include "tc/tc_keyring.h"
#include "tc/tc_service.h"
#include "tc/tc_wake.h"

#include <stdbool.h>

#define HUB_MAX_WORKERS 32
#define HUB_MAX_TOPICS  16

typedef struct hub_app hub_app_t;

typedef struct {
    hub_app_t *app;
    tc_egress_session_t *http; /* this worker's kept connections to endpoints */
} hub_worker_t;

struct hub_app {
    tc_service_t *svc;
    tc_db_t *db;
    tc_keyring_t *keys;
    uint8_t kek[TC_AEAD_KEY_LEN]; /* DATA_KEK until the keyring holds it */
    /* configuration */
    int nworkers;           /* INTEGRATION_WORKERS: delivery threads per replica */
    int batch;              /* INTEGRATION_BATCH: deliveries a worker claims at once */
    int poll_ms;            /* INTEGRATION_POLL_MS: how often idle workers look for due work */
    int timeout_ms;         /* INTEGRATION_DELIVERY_TIMEOUT_MS: one attempt, all included */
    int lease_grace_ms;     /* INTEGRATION_LEASE_GRACE_MS: a claim's lease beyond the timeout */
    int disable_after_s;    /* INTEGRATION_DISABLE_AFTER_S: failing this long disables */
    int rotation_overlap_s; /* INTEGRATION_ROTATION_OVERLAP_S: the old secret keeps signing */
    int tolerance_s;        /* INTEGRATION_INBOUND_TOLERANCE_S: signed timestamps' window */
    int retention_days;     /* INTEGRATION_RETENTION_DAYS: messages and requests kept */
    bool allow_private;     /* INTEGRATION_ALLOW_PRIVATE: endpoints on private addresses */
    int schedule[HUB_SCHEDULE_MAX]; /* INTEGRATION_RETRY_SCHEDULE_S */
    int nschedule;
    const char *topics[HUB_MAX_TOPICS + 1]; /* INTEGRATION_WEBHOOK_TOPICS, NULL-terminated */
    char *topics_buf;
    tc_egress_opts_t egress;        /* webhook deliveries */
    tc_egress_opts_t action_egress; /* connector actions: whole answers, their own agent */
    int action_timeout_ms;          /* INTEGRATION_ACTION_TIMEOUT_MS: an action, retries included */
    hub_catalog_t catalog;          /* proto/connectors, compiled in */
    /* delivery workers: a message committed on this replica wakes an idle worker at once */
    hub_worker_t workers[HUB_MAX_WORKERS];
    tc_wake_t wake;
    bool fanout_pending; /* the consumer's thread only: its event added deliveries */
};

/* Reads INTEGRATION_* variables and DATA_KEK; problems go into cfg. */
void hub_app_config(hub_app_t *app, tc_config_t *cfg);
/* After tc_service_open: wires dependencies. */
int hub_app_init(hub_app_t *app, tc_service_t *svc);
void hub_app_free(hub_app_t *app);

/* Registers the API routes. */
int hub_routes(hub_app_t *app);
/* Subscribes to the platform's event topics for fan-out to endpoints. */
int consumer_events_start(hub_app_t *app);
/* Registers the delivery workers and the retention job (they start with tc_service_run). */
int delivery_start(hub_app_t *app);
/* Wakes an idle delivery worker: a delivery became due now. */
void delivery_kick(hub_app_t *app);

#endif
