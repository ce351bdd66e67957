/*
 * auth-events → workflow: orgs' plans (com.techcorp.auth.org_plan_changed) into org_plans. A
 * scheduled start has no caller's token to carry the plan claim, so it counts against the
 * plan auth announced last (a schedule falls back to the plan of whoever wrote it, for an org
 * whose plan never changed). plan_version orders the changes: a redelivered or late event
 * does not move a plan back.
 */
#include "store.h"
#include "workflow_app.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"

#include <string.h>

static int on_org_plan_changed(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *org = tc_json_get_str(data, "org_id"), *plan = tc_json_get_str(data, "plan");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(data, "plan_version");
    if (!org || !*org || strlen(org) >= TC_ID_MAX || !plan || !*plan || strlen(plan) >= 32 ||
        !cJSON_IsNumber(ver) || ver->valuedouble < 1 || ver->valuedouble > 9e15)
        return TC_EINVAL;
    return store_org_plan(tx, org, plan, (int64_t)ver->valuedouble);
}

int consumer_plans_start(workflow_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_AUTH_ORG_PLAN_CHANGED, on_org_plan_changed},
    };
    return tc_service_consume_types(app->svc, "plans", routes, TC_ARRAY_LEN(routes), app);
}
