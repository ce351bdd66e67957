/* user-events → the recipient read model (event-carried state; never user's tables). */
#include "notification_app.h"
#include "store.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"

static int on_user_state(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    return store_recipient_apply_state(ud, tx, data);
}

static int on_user_prefs(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    return store_recipient_apply_prefs(tx, data);
}

static int on_user_purged(const tc_event_t *ev, const cJSON *data, tc_dbconn_t *tx, void *ud)
{
    TC_UNUSED(ev);
    TC_UNUSED(ud);
    const char *id = tc_json_get_str(data, "id");
    return id ? store_recipient_forget(tx, id) : TC_EINVAL;
}

int consumer_users_start(notification_app_t *app)
{
    static const tc_event_route_t routes[] = {
        {TC_EV_USER_CREATED, on_user_state}, {TC_EV_USER_UPDATED, on_user_state},
        {TC_EV_USER_DELETED, on_user_state}, {TC_EV_USER_PREFERENCES_UPDATED, on_user_prefs},
        {TC_EV_USER_PURGED, on_user_purged},
    };
    return tc_service_consume_types(app->svc, "users", routes, TC_ARRAY_LEN(routes), app);
}
