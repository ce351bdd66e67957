/*
 * user-events → search (event-carried state, never user's tables): each user and each org is
 * a document of its org, type "user" or "org". Newest version wins (a late, older event is
 * ignored); a deleted user becomes a tombstone and disappears from results; a purged user's
 * tombstone is final.
 */
#include "search_app.h"
#include "search_model.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

static int apply(tc_dbconn_t *tx, search_doc_t *d)
{
    bool applied = false;
    int rc = store_doc_upsert(tx, d, &applied);
    search_doc_clear(d);
    return rc;
}

static int on_user(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    search_doc_t d;
    int rc = search_doc_from_user(&d, data);
    if (rc != TC_OK)
        return rc;
    if (!search_user_gone(data))
        return apply(tx, &d);
    bool applied = false;
    rc = store_doc_delete(tx, d.org_id, "user", d.id, d.version, d.updated_at, &applied);
    search_doc_clear(&d);
    return rc;
}

static int on_user_purged(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *id = tc_json_get_str(data, "id"), *org = tc_json_get_str(data, "org_id");
    bool applied = false;
    if (!id || !org)
        return TC_EINVAL;
    return store_doc_delete(tx, org, "user", id, 0, NULL, &applied);
}

static int on_org(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    search_doc_t d;
    int rc = search_doc_from_org(&d, data);
    return rc == TC_OK ? apply(tx, &d) : rc;
}

int consumer_users_start(search_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_USER_CREATED, on_user}, {TC_EV_USER_UPDATED, on_user},
        {TC_EV_USER_DELETED, on_user}, {TC_EV_USER_PURGED, on_user_purged},
        {TC_EV_ORG_CREATED, on_org},   {TC_EV_ORG_UPDATED, on_org},
    };
    return tc_service_consume_types(app->svc, NULL, routes, TC_ARRAY_LEN(routes), app);
}
