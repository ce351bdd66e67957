/*
 * trigger_start.h: an execution started by a trigger (a schedule's time, an event) rather
 * than a caller of the API, or by another execution's tc:workflow Task: the workflow's current
 * version, counted against the org's plan, with its started event, in the trigger's
 * transaction.
 */
#ifndef WORKFLOW_TRIGGER_START_H
#define WORKFLOW_TRIGGER_START_H

#include "workflow_app.h"
#include "tc/tc_crypto.h"
#include "tc/tc_db.h"

typedef struct {
    const char *org_id, *workflow_id, *input;
    const char *plan;                       /* whose limits count the start */
    const char *trigger;                    /* "schedule", "event" or "workflow" */
    const char *schedule_id, *scheduled_at; /* a schedule's time (RFC 3339) */
    const char *trigger_id, *event_id;      /* an event trigger's event */
    const char *caller_id, *caller_token;   /* a child workflow's caller (token: it waits) */
    int call_depth;
    int64_t now_ms; /* when it starts: the month counted (a schedule: the database's clock) */
} wf_trigger_start_t;

/* TC_OK with exec_id, TC_EDENIED over the plan's executions per month, TC_ENOTFOUND when the
 * workflow is gone, another code when the transaction failed. */
int wf_trigger_start(workflow_app_t *app, tc_dbconn_t *tx, const wf_trigger_start_t *s,
                     char exec_id[TC_ID_MAX]);

#endif
