/*
 * audit-events → the audit log. One event per transaction with the inbox: the chain trigger
 * gives each record the next seq of its org, so a record must be appended exactly once (the
 * store's NOT EXISTS guards a redelivery that the inbox has not seen, e.g. after a restore).
 */
#include "analytics_app.h"
#include "audit_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

static int on_recorded(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    audit_rec_t r;
    int rc = audit_rec_from_event(ev->id, ev->source, data, &r);
    bool added = false;
    if (rc == TC_OK)
        rc = store_audit_append(tx, &r, &added);
    audit_rec_clear(&r);
    return rc;
}

static const tc_event_route_t routes[] = {
    {TC_EV_AUDIT_RECORDED, on_recorded},
};

int consumer_audit_start(analytics_app_t *app)
{
    return tc_service_consume_types(app->svc, "audit", routes, TC_ARRAY_LEN(routes), app);
}
