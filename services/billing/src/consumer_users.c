/*
 * user-events → billing: an org gets its subscription (the free plan) when it is created, so
 * its periods and its plan's history start with the org. Orgs created before billing ran get
 * theirs at their first billing call (store_sub_lock). The consumer's inbox makes a
 * redelivered event a no-op; an existing subscription is left as it is.
 *
 * A second consumer (group billing.members) keeps who the orgs' members are, their role and
 * status (org_members: no names, no addresses), so dunning can name the owners to
 * notification. It is a group of its own so that it starts from the topic's beginning when it
 * first runs, and learns the members who joined before it.
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

static int on_member_state(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    return store_member_apply(tx, data);
}

static int on_member_purged(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *id = tc_json_get_str(data, "id");
    return id ? store_member_forget(tx, id) : TC_EINVAL;
}

int consumer_users_start(billing_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_ORG_CREATED, on_org_created},
    };
    static const tc_event_route_t members[] = {
        {TC_EV_USER_CREATED, on_member_state},
        {TC_EV_USER_UPDATED, on_member_state},
        {TC_EV_USER_DELETED, on_member_state},
        {TC_EV_USER_PURGED, on_member_purged},
    };
    int rc = tc_service_consume_types(app->svc, NULL, routes, TC_ARRAY_LEN(routes), app);
    return rc == TC_OK
               ? tc_service_consume_types(app->svc, "members", members, TC_ARRAY_LEN(members), app)
               : rc;
}
