/*
 * connector_run.h: runs a connector action for a connection, the I/O half of the engine
 * (connector_model.c builds each request): OAuth tokens obtained, kept and renewed; each
 * attempt through tc_egress (SSRF rules, timeouts, a capped answer); retries on a failed
 * connection, 429, 502, 503 and 504 within the action's attempts, waiting what Retry-After asks
 * (up to HUB_RETRY_AFTER_MAX_MS) or a backoff, all inside one deadline; a vendor's refusal of
 * the credentials (a 401; a test's 403 too) marks the connection needs_attention, a success
 * marks it active again.
 */
#ifndef HUB_CONNECTOR_RUN_H
#define HUB_CONNECTOR_RUN_H

#include "hub_app.h"
#include "store.h"

typedef struct {
    bool answered; /* the vendor answered (any status); else code says why not */
    long status;
    cJSON *headers;            /* owned: the answer's headers, names lower-cased */
    cJSON *body;               /* owned: the answer parsed as JSON, else a string, else null */
    const char *body_encoding; /* "json" (body parsed, or null when empty), "text" (UTF-8),
                                  "base64" (the answer's bytes, not text) */
    int attempts;
    int duration_ms;
    const char *code; /* when !answered: vendor_unavailable, vendor_timeout,
                         destination_not_allowed, vendor_invalid_answer, or
                         connection_needs_attention (the token endpoint refused the client) */
    char error[256];
} hub_run_t;

void hub_run_clear(hub_run_t *r);

/*
 * Runs an action. TC_OK with *out filled whatever the vendor did; TC_EINVAL when the input is
 * not valid (every problem in jv) or when the connection lacks what the base URL needs (no jv
 * entry: out->error says what); TC_ENOMEM and store errors otherwise.
 */
int connector_run(hub_app_t *app, const hub_connector_t *c, hub_conn_t *conn, const cJSON *action,
                  const cJSON *input, const char *idempotency_key, tc_jv_t *jv, hub_run_t *out);

/* POST …/test: the connector's test action with an empty input, or, for an OAuth connector
 * without one, obtaining a token. TC_ENOTFOUND when the connector has neither. */
int connector_test(hub_app_t *app, const hub_connector_t *c, hub_conn_t *conn, hub_run_t *out);

#endif
