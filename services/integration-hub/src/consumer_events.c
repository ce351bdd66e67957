/*
 * The platform's events (INTEGRATION_WEBHOOK_TOPICS) fanned out to the endpoints that
 * subscribe to them: in the consumer's transaction, one message per event and org and one
 * pending delivery per subscribed endpoint. The inbox makes a redelivered event a no-op, and
 * the message's (org, event id) key keeps it one even if the inbox row were lost.
 */
#include "hub_app.h"
#include "hub_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_metrics.h"
#include "tc/tc_proto.h"

#include <stdlib.h>
#include <string.h>

static tc_metric_t *m_fanout;

/*
 * The hub reads its own integration-events, and an endpoint may subscribe to its own failure
 * notices. When that endpoint is the one failing, the notice fails too; were the failure of a
 * notice notified again, every failure would start an endless chain (doubling per round with
 * two such endpoints). A delivery.failed about a delivery.failed message is therefore not
 * delivered to any endpoint (the first notice still is; the event itself stays on the topic).
 */
static bool notice_of_a_notice(const tc_event_t *ev, const cJSON *data)
{
    const char *failed = TC_EV_INTEGRATION_DELIVERY_FAILED->type;
    const char *about = tc_json_get_str(data, "event_type");
    return strcmp(ev->type, failed) == 0 && about && strcmp(about, failed) == 0;
}

static int on_event(const tc_event_t *ev, const char *topic, tc_dbconn_t *tx, void *ud)
{
    hub_app_t *app = ud;
    cJSON *data = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    if (notice_of_a_notice(ev, data)) {
        cJSON_Delete(data);
        tc_metric_inc(m_fanout, 1, topic, "notice_of_notice");
        return TC_OK;
    }
    char org[64];
    if (!tc_event_org(ev->source, data, org, sizeof org)) {
        cJSON_Delete(data);
        tc_metric_inc(m_fanout, 1, topic, "no_org");
        return TC_OK; /* not an org's event: no endpoint may receive it */
    }
    cJSON_Delete(data);
    cJSON *payload = tc_event_json(ev);
    char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
    cJSON_Delete(payload);
    if (!text)
        return TC_ENOMEM;
    int n = 0;
    int rc = store_msg_fanout(tx, org, ev->id, ev->type, text, &n);
    free(text);
    if (rc == TC_OK)
        tc_metric_inc(m_fanout, 1, topic, n > 0 ? "delivered" : "no_endpoint");
    app->fanout_pending = app->fanout_pending || n > 0;
    return rc;
}

/* The event's deliveries are committed: an idle worker sends them now, not at its next poll. */
static void on_committed(const tc_event_t *ev, void *ud)
{
    TC_UNUSED(ev);
    hub_app_t *app = ud;
    if (app->fanout_pending) {
        app->fanout_pending = false;
        delivery_kick(app);
    }
}

int consumer_events_start(hub_app_t *app)
{
    m_fanout = tc_metric_counter("webhook_events_total",
                                 "Platform events read for webhooks, by what became of them",
                                 "topic,outcome");
    if (!m_fanout)
        return TC_ENOMEM;
    int rc = tc_service_consume(app->svc, "webhooks", app->topics, on_event, app);
    if (rc == TC_OK)
        rc = tc_service_after_commit(app->svc, on_committed, app);
    return rc;
}
