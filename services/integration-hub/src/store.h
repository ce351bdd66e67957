/*
 * store.h: every SQL statement of the integration hub, one file per aggregate: endpoints
 * (store_endpoints.c), messages, deliveries and attempts (store_messages.c, store_deliveries.c),
 * inbound hooks and their requests (store_hooks.c). Secrets are sealed and opened here with
 * the org's data key, so nothing above this layer sees a sealed value or stores a plain one.
 */
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include "connector_model.h"
#include "hub_model.h"
#include "tc/tc_db.h"
#include "tc/tc_keyring.h"
#include "tc/tc_page.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define HUB_CTX_ENDPOINT_SECRET  "webhook_endpoints.secret"
#define HUB_CTX_HOOK_SECRET      "inbound_hooks.secret"
#define HUB_CTX_CONN_CREDENTIALS "connections.credentials"
#define HUB_CTX_CONN_TOKEN       "connections.token"

/* ------------------------------------------------------------------ endpoints */
/* created_by: the creating user's id, NULL for an API key (no person to tell of a disabling). */
int store_ep_insert(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                    const char *created_by, const hub_endpoint_in_t *in, const char *secret,
                    cJSON **out);
int store_ep_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
int store_ep_list(tc_dbconn_t *c, const char *org_id, const tc_page_t *page, cJSON **data,
                  char *next_key, size_t keylen);
int store_ep_update(tc_dbconn_t *tx, const char *org_id, const char *id,
                    const hub_endpoint_in_t *in, cJSON **out);
int store_ep_delete(tc_dbconn_t *tx, const char *org_id, const char *id);
/* {"secret": …, "previous_secret_expires_at": … | null} */
int store_ep_secret(tc_dbconn_t *c, tc_keyring_t *keys, const char *org_id, const char *id,
                    cJSON **out);
/* The new secret signs from now on; the current one keeps signing for overlap_s. */
int store_ep_rotate(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                    const char *secret, int overlap_s, cJSON **out);
/* Failed deliveries to the endpoint of messages created in [since, until) become pending. */
int store_ep_recover(tc_dbconn_t *tx, const char *org_id, const char *id, const char *since,
                     const char *until, int64_t *requeued);

/* ------------------------------------------------------------------ messages */
/*
 * A platform event for an org: when any enabled endpoint of the org subscribes to its type,
 * stores the message once (a redelivered event finds it and adds nothing) and a pending
 * delivery per subscribed endpoint. *deliveries: how many were added.
 */
int store_msg_fanout(tc_dbconn_t *tx, const char *org_id, const char *event_id,
                     const char *event_type, const char *payload, int *deliveries);
int store_msg_list(tc_dbconn_t *c, const char *org_id, const char *event_type,
                   const char *endpoint_id, const tc_page_t *page, cJSON **data, char *next_key,
                   size_t keylen);
/* The message with its payload and a delivery summary per endpoint. */
int store_msg_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
int store_attempts_list(tc_dbconn_t *c, const char *org_id, const char *message_id,
                        const tc_page_t *page, cJSON **data, char *next_key, size_t keylen);
/* The message's deliveries (to one endpoint when endpoint_id) become pending now. TC_ENOTFOUND
 * when the message (or that endpoint's delivery) does not exist. */
int store_msg_resend(tc_dbconn_t *tx, const char *org_id, const char *id, const char *endpoint_id,
                     int64_t *requeued);

/* ------------------------------------------------------------------ deliveries (workers) */
typedef struct {
    char message_id[64];
    char endpoint_id[64];
    char org_id[64];
    char event_id[160];
    char event_type[160];
    int attempt;     /* this attempt's number, 1-based */
    int round_start; /* attempts before the current round of the schedule (resend, recover) */
    char *url;
    char *secret;      /* opened */
    char *prev_secret; /* opened; NULL outside a rotation */
    char *payload;
    int rate_limit_per_s;
    bool disabled; /* the endpoint was disabled after the delivery was made: fail it, unsent */
    bool unopened; /* its secret could not be read now: put it back, unsent */
} hub_job_t;

void hub_job_clear(hub_job_t *j);

/* Claims up to max due deliveries (pending and due, or delivering with a lapsed lease) for
 * lease_ms. *jobs is malloc'd (free with hub_job_clear on each, then free); a job may come
 * back disabled, unopened or without its secret (see hub_job_t). */
int store_dlv_claim(tc_dbconn_t *c, tc_keyring_t *keys, int max, int lease_ms, hub_job_t **jobs,
                    int *n);

/* Counts one send against the endpoint's per-second cap; false when this second is full. */
int store_dlv_rate_take(tc_dbconn_t *c, const char *endpoint_id, int limit, bool *allowed);
/* Puts a claimed delivery back, due in delay_ms, without counting the attempt. */
int store_dlv_defer(tc_dbconn_t *c, const hub_job_t *j, int delay_ms);
/* Fails a claimed delivery of a disabled endpoint without an attempt (recover re-queues it). */
int store_dlv_fail_disabled(tc_dbconn_t *c, const hub_job_t *j);

typedef struct {
    bool ok;           /* a 2xx */
    int status_code;   /* 0: no response */
    const char *error; /* why it failed, NULL when ok */
    const char *body;  /* the response's first bytes (may be NULL) */
    int duration_ms;
} hub_outcome_t;

/* What became of the delivery after an attempt, for events and logs. */
typedef enum {
    HUB_DLV_SUCCEEDED,
    HUB_DLV_RETRY,  /* pending again, at the schedule's next time */
    HUB_DLV_FAILED, /* the schedule is exhausted */
    HUB_DLV_LOST,   /* another worker took the delivery over (lease lapsed): nothing changed */
} hub_dlv_result_t;

/*
 * Records an attempt and moves the delivery on: succeeded; pending again after
 * retry_delay_s (>= 0); or failed (retry_delay_s < 0). Keeps the endpoint's failing_since,
 * and reports through *disable whether the endpoint has been failing for disable_after_s
 * (the caller disables it).
 */
int store_dlv_finish(tc_dbconn_t *tx, const hub_job_t *j, const hub_outcome_t *o, int retry_delay_s,
                     int disable_after_s, hub_dlv_result_t *result, bool *disable);

/* Disables an endpoint that has been failing: its pending deliveries fail ("endpoint
 * disabled"; recover re-queues them). *out: {org_id, url, failing_since, created_by} for the
 * event and the notification. */
int store_ep_disable(tc_dbconn_t *tx, const char *endpoint_id, const char *reason, cJSON **out);

/* Retention: deletes up to batch messages (with their deliveries and attempts) and inbound
 * requests older than days. */
int store_purge(tc_dbconn_t *c, int days, int batch, int64_t *deleted);

/* ------------------------------------------------------------------ inbound hooks */
int store_hook_insert(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const char *token, const hub_hook_in_t *in, const char *secret, cJSON **out);
int store_hook_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
int store_hook_list(tc_dbconn_t *c, const char *org_id, const tc_page_t *page, cJSON **data,
                    char *next_key, size_t keylen);
/* Changes name, verification and secret (secret NULL: kept; "": none). */
int store_hook_update(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const hub_hook_in_t *in, const char *secret, cJSON **out);
int store_hook_delete(tc_dbconn_t *tx, const char *org_id, const char *id);
/* {"secret": … | null} */
int store_hook_secret(tc_dbconn_t *c, tc_keyring_t *keys, const char *org_id, const char *id,
                      cJSON **out);

typedef struct {
    char id[64];
    char org_id[64];
    hub_verify_t verification;
    char *secret; /* opened; NULL when none */
} hub_hook_t;

void hub_hook_clear(hub_hook_t *h);
/* The hook a public token names. TC_ENOTFOUND when none. */
int store_hook_by_token(tc_dbconn_t *c, tc_keyring_t *keys, const char *token, hub_hook_t *out);

typedef struct {
    const char *id;         /* whr_… */
    const char *sender_id;  /* may be NULL */
    const char *replay_key; /* hub_replay_key; NULL when the hook verifies nothing */
    const char *content_type;
    const char *headers; /* JSON object text */
    const char *body;
    size_t body_len;
} hub_inbound_t;

/* Stores a request. TC_ECONFLICT when the hook already holds one with this replay_key; then
 * existing_id receives its id. */
int store_inbound_insert(tc_dbconn_t *tx, const hub_hook_t *h, const hub_inbound_t *r,
                         char *existing_id, size_t idlen);
int store_inbound_list(tc_dbconn_t *c, const char *org_id, const char *hook_id,
                       const tc_page_t *page, cJSON **data, char *next_key, size_t keylen);

/* ------------------------------------------------------------------ connections */
/* Connection answers never hold a credential: only credentials_hint. */
int store_conn_insert(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const hub_connection_in_t *in, cJSON **out);
int store_conn_get(tc_dbconn_t *c, const char *org_id, const char *id, cJSON **out);
/* The same, the row locked until the transaction ends (a PATCH's checks hold at its commit). */
int store_conn_get_locked(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out);
/* connector NULL: every connector's. */
int store_conn_list(tc_dbconn_t *c, const char *org_id, const char *connector,
                    const tc_page_t *page, cJSON **data, char *next_key, size_t keylen);
/* Replaces what the body sets; new credentials (or settings) drop the OAuth token, and new
 * credentials make the connection active again. */
int store_conn_update(tc_dbconn_t *tx, tc_keyring_t *keys, const char *org_id, const char *id,
                      const hub_connection_in_t *in, cJSON **out);
/* *out: the connection as it was, for the event. */
int store_conn_delete(tc_dbconn_t *tx, const char *org_id, const char *id, cJSON **out);

/* A connection as an action runs it: credentials and token opened. */
typedef struct {
    char id[64];
    char org_id[64];
    char connector[48];
    char name[HUB_CONN_NAME_MAX * 4 + 1];
    char status[24];
    char *base_url;
    cJSON *settings;
    cJSON *credentials; /* opened; {} when none */
    char *token;        /* OAuth: the kept access token, NULL when none */
    char *sealed;       /* the credentials as sealed when loaded: later writes made for these
                           credentials (a token, a status) are void once they were replaced */
    int64_t token_refresh_at_ms;
} hub_conn_t;

void hub_conn_clear(hub_conn_t *c);
int store_conn_load(tc_dbconn_t *c, tc_keyring_t *keys, const char *org_id, const char *id,
                    hub_conn_t *out);
/* Keeps a new OAuth access token (sealed) until refresh_at_ms, unless the connection's
 * credentials changed since conn was loaded (the token would be the old client's). */
int store_conn_token_save(tc_dbconn_t *c, tc_keyring_t *keys, const hub_conn_t *conn,
                          const char *token, int64_t refresh_at_ms);
/* Sets the status from what the vendor said of conn's credentials (none when they have been
 * replaced since); *changed is the connection after the change, NULL when nothing changed. */
int store_conn_status(tc_dbconn_t *tx, const hub_conn_t *conn, const char *status,
                      const char *reason, cJSON **changed);

#endif
