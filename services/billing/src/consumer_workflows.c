/*
 * workflow-events → billing: every execution started is one workflow_executions unit for its
 * org, recorded under the execution's id (a redelivered event, or the same execution
 * announced again, counts once) at the time it started. The consumer's inbox and the
 * record's key make the count exact under at-least-once delivery.
 */
#include "billing_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"

#include <stdio.h>
#include <string.h>

#define METERING_BATCH 500

static int on_execution_started(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    const char *exe = tc_json_get_str(data, "execution_id"), *org = tc_json_get_str(data, "org_id");
    const char *at = tc_json_get_str(data, "started_at");
    char id[96];
    bool added = false;
    if (!exe || !org || !*org || strlen(org) >= BILL_ID_MAX || strlen(exe) > 64)
        return TC_EINVAL;
    snprintf(id, sizeof id, "workflow_executions:%s", exe);
    return store_usage_add(tx, id, org, "workflow_executions", 1, at ? at : ev->time, "workflow",
                           &added);
}

int consumer_workflows_start(billing_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_WORKFLOW_EXECUTION_STARTED, on_execution_started},
    };
    int rc = tc_service_consume_types(app->svc, "workflows", routes, TC_ARRAY_LEN(routes), app);
    /* metering is high volume and each fact one insert: many per commit */
    return rc == TC_OK ? tc_service_consume_batch(app->svc, METERING_BATCH) : rc;
}
