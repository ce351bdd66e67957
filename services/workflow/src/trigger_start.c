#include "trigger_start.h"
#include "asl.h"
#include "events_out.h"
#include "store.h"
#include "workflow_model.h"
#include "tc/tc_core.h"

int wf_trigger_start(workflow_app_t *app, tc_dbconn_t *tx, const wf_trigger_start_t *s,
                     char exec_id[TC_ID_MAX])
{
    wf_limits_t lim;
    wf_plan_limits(s->plan, app->free_plan, &lim);
    char month[11], start_at[ASL_NAME_MAX + 1];
    exec_start_t e = {.id = exec_id,
                      .org_id = s->org_id,
                      .workflow_id = s->workflow_id,
                      .input = s->input,
                      .start_at = start_at,
                      .month = month,
                      .trigger = s->trigger,
                      .schedule_id = s->schedule_id,
                      .scheduled_at = s->scheduled_at,
                      .trigger_id = s->trigger_id,
                      .event_id = s->event_id,
                      .plan = s->plan,
                      .caller_id = s->caller_id,
                      .caller_token = s->caller_token,
                      .call_depth = s->call_depth,
                      .max_per_month = lim.executions_per_month};
    int rc = store_wf_current(tx, s->org_id, s->workflow_id, &e.version, &e.timeout_s, start_at,
                              sizeof start_at);
    if (rc == TC_OK)
        rc = tc_id_new("exe", exec_id, TC_ID_MAX);
    if (rc != TC_OK)
        return rc;
    /* counted in the month it starts, as an API start is */
    wf_month_of(s->now_ms, month);
    cJSON *json = NULL;
    rc = store_exec_start(tx, &e, &json);
    if (rc == TC_OK)
        rc = events_execution(tx, s->org_id, json);
    cJSON_Delete(json);
    return rc;
}
