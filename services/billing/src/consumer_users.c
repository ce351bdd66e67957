/*
 * user-events → billing: an org gets its subscription (the free plan) when it is created, so
 * its periods and its plan's history start with the org. Orgs created before billing ran get
 * theirs at their first billing call (store_sub_lock). The consumer's inbox makes a
 * redelivered event a no-op; an existing subscription is left as it is.
 */
#include "billing_app.h"
#include "events_out.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_proto.h"

#include <string.h>

static int on_org_created(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *org = tc_json_get_str(data, "id");
    if (!org || !*org || strlen(org) >= BILL_ID_MAX)
        return TC_EINVAL;
    bill_sub_t s;
    bool created = false;
    int rc = store_sub_lock(tx, org, &s, &created);
    if (rc == TC_OK && created)
        rc = events_subscription(tx, &s, BILL_EV_CREATED, NULL);
    return rc;
}

int consumer_users_start(billing_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_ORG_CREATED, on_org_created},
    };
    return tc_service_consume_types(app->svc, NULL, routes, TC_ARRAY_LEN(routes), app);
}
