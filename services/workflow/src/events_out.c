#include "events_out.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <string.h>

static bool copy_member(cJSON *to, const char *as, const cJSON *from, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, name);
    if (!v || cJSON_IsNull(v))
        return true;
    cJSON *d = cJSON_Duplicate(v, 1);
    if (!d || !cJSON_AddItemToObject(to, as, d)) {
        cJSON_Delete(d);
        return false;
    }
    return true;
}

int events_workflow(tc_dbconn_t *tx, wf_change_t change, const char *org_id, const cJSON *wf,
                    const char *actor)
{
    static const tc_event_type_t *const types[] = {TC_EV_WORKFLOW_CREATED, TC_EV_WORKFLOW_UPDATED,
                                                   TC_EV_WORKFLOW_DELETED};
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    const char *id = tc_json_get_str(wf, "id");
    cJSON *d = cJSON_CreateObject();
    bool ok = d && id && cJSON_AddStringToObject(d, "workflow_id", id) &&
              cJSON_AddStringToObject(d, "org_id", org_id) && copy_member(d, "name", wf, "name") &&
              copy_member(d, "description", wf, "description") &&
              copy_member(d, "version", wf, "version") && copy_member(d, "states", wf, "states") &&
              copy_member(d, "revision", wf, "revision") &&
              copy_member(d, "updated_at", wf, "updated_at") &&
              cJSON_AddStringToObject(d, "actor", actor) &&
              cJSON_AddStringToObject(d, "occurred_at", now);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_emit(tx, types[change], id, d);
}

static const tc_event_type_t *execution_type(const char *status)
{
    if (strcmp(status, "SUCCEEDED") == 0)
        return TC_EV_WORKFLOW_EXECUTION_SUCCEEDED;
    if (strcmp(status, "FAILED") == 0)
        return TC_EV_WORKFLOW_EXECUTION_FAILED;
    if (strcmp(status, "TIMED_OUT") == 0)
        return TC_EV_WORKFLOW_EXECUTION_TIMED_OUT;
    if (strcmp(status, "ABORTED") == 0)
        return TC_EV_WORKFLOW_EXECUTION_CANCELLED;
    return TC_EV_WORKFLOW_EXECUTION_STARTED;
}

static cJSON *execution_data(const char *org_id, const cJSON *ex, const char *now, bool summary)
{
    cJSON *d = cJSON_CreateObject();
    bool ok =
        d && copy_member(d, "workflow_id", ex, "workflow_id") &&
        copy_member(d, "execution_id", ex, "id") && cJSON_AddStringToObject(d, "org_id", org_id) &&
        copy_member(d, "status", ex, "status") && copy_member(d, "steps_executed", ex, "steps") &&
        copy_member(d, "error", ex, "error") && cJSON_AddStringToObject(d, "occurred_at", now);
    const char *status = tc_json_get_str(ex, "status");
    bool final = status && strcmp(status, "RUNNING") != 0;
    if (ok && final)
        ok = copy_member(d, "duration_ms", ex, "duration_ms");
    if (ok && !summary)
        ok = copy_member(d, "version", ex, "version") && copy_member(d, "trigger", ex, "trigger") &&
             copy_member(d, "started_at", ex, "started_at") &&
             copy_member(d, "cause", ex, "cause") &&
             (!final || copy_member(d, "stopped_at", ex, "stopped_at"));
    if (!ok) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

int events_execution_redriven(tc_dbconn_t *tx, const char *org_id, const cJSON *ex)
{
    const char *id = tc_json_get_str(ex, "id");
    const char *wf = tc_json_get_str(ex, "workflow_id");
    if (!id || !wf || !tc_json_get_str(ex, "current_state"))
        return TC_EINVAL;
    char now[TC_RFC3339_LEN], source[96];
    tc_time_format(tc_now_ms(), now);
    snprintf(source, sizeof source, "/executions/%s", id);
    cJSON *d = execution_data(org_id, ex, now, false);
    if (d && !copy_member(d, "resumes_at", ex, "current_state")) {
        cJSON_Delete(d);
        d = NULL;
    }
    if (!d)
        return TC_ENOMEM;
    return tc_emit_at(tx, TC_EV_WORKFLOW_EXECUTION_REDRIVEN, source, id, wf, d);
}

int events_execution(tc_dbconn_t *tx, const char *org_id, const cJSON *ex)
{
    const char *id = tc_json_get_str(ex, "id");
    const char *wf = tc_json_get_str(ex, "workflow_id");
    const char *status = tc_json_get_str(ex, "status");
    if (!id || !wf || !status)
        return TC_EINVAL;
    char now[TC_RFC3339_LEN], source[96];
    tc_time_format(tc_now_ms(), now);
    snprintf(source, sizeof source, "/executions/%s", id);
    cJSON *d = execution_data(org_id, ex, now, false);
    if (!d)
        return TC_ENOMEM;
    int rc = tc_emit_at(tx, execution_type(status), source, id, wf, d);
    if (rc != TC_OK || strcmp(status, "RUNNING") == 0)
        return rc;
    if (!(d = execution_data(org_id, ex, now, true)))
        return TC_ENOMEM;
    return tc_emit_at(tx, TC_EV_WORKFLOW_COMPLETED, source, id, wf, d);
}
