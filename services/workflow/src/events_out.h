/*
 * events_out.h: the events the workflow service emits, each in the writer's transaction
 * (the outbox), on workflow-events keyed by the workflow id:
 *   com.techcorp.workflow.{created,updated,deleted}                       (/workflows/<id>)
 *   com.techcorp.workflow.execution.{started,succeeded,failed,timed_out,cancelled,redriven}
 *   com.techcorp.workflow.completed (with every finished execution)       (/executions/<id>)
 */
#ifndef WORKFLOW_EVENTS_OUT_H
#define WORKFLOW_EVENTS_OUT_H

#include <cjson/cJSON.h>
#include "tc/tc_db.h"

typedef enum { WF_CREATED, WF_UPDATED, WF_DELETED } wf_change_t;

/* wf: the workflow's representation (store_wf_get), actor: the token's subject. */
int events_workflow(tc_dbconn_t *tx, wf_change_t change, const char *org_id, const cJSON *wf,
                    const char *actor);

/* ex: the execution's representation (store_exec_get) after the change; a final status
 * also emits com.techcorp.workflow.completed. */
int events_execution(tc_dbconn_t *tx, const char *org_id, const cJSON *ex);

/* ex: a redriven execution's representation (RUNNING at the state it resumes at). */
int events_execution_redriven(tc_dbconn_t *tx, const char *org_id, const cJSON *ex);

#endif
