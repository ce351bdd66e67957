/*
 * integration-events → search (event-carried state, never integration-hub's tables): each
 * connection is a document of its org, type "connection". The connection's revision orders
 * its events (a late, older one is ignored); a deleted connection disappears from results
 * for good (connection ids are never used again, so the delete is final whatever comes
 * after it). The topic's other events (webhooks, deliveries, endpoints) are not documents.
 */
#include "search_app.h"
#include "search_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"

static int on_changed(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    search_doc_t d;
    int rc = search_doc_from_connection(&d, data);
    if (rc != TC_OK)
        return rc;
    bool applied = false;
    rc = store_doc_upsert(tx, &d, &applied);
    search_doc_clear(&d);
    return rc;
}

static int on_deleted(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *org_id = tc_json_get_str(data, "org_id");
    const char *id = tc_json_get_str(data, "connection_id");
    const char *updated_at = tc_json_get_str(data, "occurred_at");
    if (!org_id || !id)
        return TC_EINVAL;
    bool applied = false;
    /* version 0: final */
    return store_doc_delete(tx, org_id, "connection", id, 0, updated_at, &applied);
}

int consumer_connections_start(search_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_INTEGRATION_CONNECTION_CREATED, on_changed},
        {TC_EV_INTEGRATION_CONNECTION_UPDATED, on_changed},
        {TC_EV_INTEGRATION_CONNECTION_DELETED, on_deleted},
    };
    return tc_service_consume_types(app->svc, "connections", routes, TC_ARRAY_LEN(routes), app);
}
