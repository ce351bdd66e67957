/*
 * workflow-events → search (event-carried state, never workflow's tables): each workflow is a
 * document of its org, type "workflow". The workflow's revision orders its events (a late,
 * older one is ignored); a deleted workflow disappears from results.
 */
#include "search_app.h"
#include "search_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

static int apply(const cJSON *data, tc_dbconn_t *tx, bool deleted)
{
    search_doc_t d;
    int rc = search_doc_from_workflow(&d, data);
    if (rc != TC_OK)
        return rc;
    bool applied = false;
    if (deleted)
        rc = store_doc_delete(tx, d.org_id, "workflow", d.id, d.version, d.updated_at, &applied);
    else
        rc = store_doc_upsert(tx, &d, &applied);
    search_doc_clear(&d);
    return rc;
}

static int on_changed(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    return apply(data, tx, false);
}

static int on_deleted(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    return apply(data, tx, true);
}

int consumer_workflows_start(search_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_WORKFLOW_CREATED, on_changed},
        {TC_EV_WORKFLOW_UPDATED, on_changed},
        {TC_EV_WORKFLOW_DELETED, on_deleted},
    };
    return tc_service_consume_types(app->svc, "workflows", routes, TC_ARRAY_LEN(routes), app);
}
