#include "events_out.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_time.h"

int events_user(tc_dbconn_t *tx, const tc_event_type_t *type, const user_t *u)
{
    return tc_emit(tx, type, u->id, user_event_data(u));
}

int events_user_purged(tc_dbconn_t *tx, const char *user_id, const char *org_id)
{
    char now[TC_RFC3339_LEN];
    tc_time_format(tc_now_ms(), now);
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "id", user_id) ||
              !cJSON_AddStringToObject(d, "org_id", org_id) ||
              !cJSON_AddStringToObject(d, "purged_at", now))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_emit(tx, TC_EV_USER_PURGED, user_id, d);
}

int events_user_preferences(tc_dbconn_t *tx, const user_t *u, const cJSON *prefs, int64_t version)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *p = cJSON_Duplicate(prefs, 1);
    if (!d || !p || !cJSON_AddStringToObject(d, "id", u->id) ||
        !cJSON_AddStringToObject(d, "org_id", u->org_id) ||
        !tc_json_add_int(d, "version", version) || !cJSON_AddItemToObject(d, "preferences", p)) {
        if (!d || !cJSON_GetObjectItem(d, "preferences"))
            cJSON_Delete(p);
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_emit(tx, TC_EV_USER_PREFERENCES_UPDATED, u->id, d);
}

int events_org(tc_dbconn_t *tx, const tc_event_type_t *type, const org_t *o)
{
    return tc_emit(tx, type, o->id, org_event_data(o));
}

int events_audit(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                 const char *action, const char *target_type, const char *target_id,
                 const cJSON *before, const cJSON *after)
{
    return tc_audit_record(tx, actor, org_id, action, target_type, target_id, before, after);
}
