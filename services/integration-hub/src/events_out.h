/* The events the integration hub emits (proto/topics.json, integration-events), each written
 * in the caller's transaction (the outbox). */
#ifndef HUB_EVENTS_OUT_H
#define HUB_EVENTS_OUT_H

#include "store.h"
#include "tc/tc_db.h"
#include "tc/tc_events.h"

#include <cjson/cJSON.h>

/* com.techcorp.integration.webhook.received: payload (taken over) is the body as JSON, as a
 * string, or NULL when omitted. */
int events_webhook_received(tc_dbconn_t *tx, const hub_hook_t *h, const hub_inbound_t *q,
                            cJSON *payload, bool omitted);

/* com.techcorp.integration.delivery.failed: the schedule is exhausted. */
int events_delivery_failed(tc_dbconn_t *tx, const hub_job_t *j, const hub_outcome_t *o);

/* com.techcorp.integration.endpoint.disabled; ep is what store_ep_disable returned. And a
 * com.techcorp.notification.requested (in-app) to the user who created the endpoint. */
int events_endpoint_disabled(tc_dbconn_t *tx, const char *endpoint_id, const cJSON *ep,
                             const char *reason);

/* com.techcorp.integration.connection.{created,updated,deleted}: conn is the connection as the
 * API shows it (never a credential); actor_id NULL when the service changed its status. */
int events_connection(tc_dbconn_t *tx, const tc_event_type_t *type, const char *org_id,
                      const cJSON *conn, const char *actor_id);

#endif
