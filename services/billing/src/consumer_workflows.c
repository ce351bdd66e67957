/*
 * workflow-events → billing: every execution started is one workflow_executions unit for its
 * org, recorded under the execution's id (a redelivered event, or the same execution
 * announced again, counts once) at the time it started. The record's key alone makes the
 * count exact under at-least-once delivery, so the consumer keeps no inbox: an inbox row per
 * event was a third of the ingest's writes.
 */
#include "billing_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"

#include <stdio.h>
#include <string.h>

#define METERING_BATCH 500

/* The usage record of an execution: its id and time, the org (borrowed from data). */
static int execution_record(const tc_event_t *ev, const cJSON *data, char id[96], const char **org,
                            const char **at)
{
    const char *exe = tc_json_get_str(data, "execution_id");
    *org = tc_json_get_str(data, "org_id");
    *at = tc_json_get_str(data, "started_at");
    if (!*at)
        *at = ev->time;
    if (!exe || !*org || !**org || strlen(*org) >= BILL_ID_MAX || strlen(exe) > 64 || !*at)
        return TC_EINVAL;
    snprintf(id, 96, "workflow_executions:%s", exe);
    return TC_OK;
}

static int on_execution_started(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    char id[96];
    const char *org = NULL, *at = NULL;
    bool added = false;
    int rc = execution_record(ev, data, id, &org, &at);
    return rc == TC_OK
               ? store_usage_add(tx, id, org, "workflow_executions", 1, at, "workflow", &added)
               : rc;
}

static const tc_event_route_t routes[] = {
    {TC_EV_WORKFLOW_EXECUTION_STARTED, on_execution_started},
};

/* A batch's executions in one statement (events of other types skipped, as the dispatcher
 * skips them; a malformed one fails the batch, which is then redone event by event and the
 * bad event dead-lettered). */
static int on_batch(const tc_event_t *const *evs, int n, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ud);
    cJSON *rows = cJSON_CreateArray();
    int rc = rows ? TC_OK : TC_ENOMEM;
    for (int i = 0; rc == TC_OK && i < n; i++) {
        if (!evs[i]->type || strcmp(evs[i]->type, routes[0].type->type) != 0)
            continue;
        cJSON *data = evs[i]->data ? cJSON_ParseWithLength(evs[i]->data, evs[i]->data_len) : NULL;
        char id[96];
        const char *org = NULL, *at = NULL;
        rc = data ? execution_record(evs[i], data, id, &org, &at) : TC_EINVAL;
        if (rc == TC_OK)
            rc = store_usage_row(rows, id, org, "workflow_executions", 1, at, "workflow");
        cJSON_Delete(data);
    }
    if (rc == TC_OK && cJSON_GetArraySize(rows) > 0)
        rc = store_usage_add_many(tx, rows, NULL);
    cJSON_Delete(rows);
    return rc;
}

int consumer_workflows_start(billing_app_t *app)
{
    int rc = tc_service_consume_types(app->svc, "workflows", routes, TC_ARRAY_LEN(routes), app);
    if (rc == TC_OK)
        rc = tc_service_consume_keyed(app->svc); /* usage_records' key absorbs repeats */
    /* metering is high volume and each fact one insert: many per commit */
    return rc == TC_OK ? tc_service_consume_batch(app->svc, METERING_BATCH, on_batch, app) : rc;
}
