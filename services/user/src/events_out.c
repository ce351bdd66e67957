#include "events_out.h"
#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_time.h"

#include <stdio.h>

int events_user(tc_dbconn_t *tx, const char *what, const user_t *u)
{
    char type[64], source[96];
    snprintf(type, sizeof type, "com.techcorp.user.%s", what);
    snprintf(source, sizeof source, "/users/%s", u->id);
    return tc_outbox_emit(tx, USER_TOPIC, type, source, u->id, user_event_data(u));
}

int events_user_purged(tc_dbconn_t *tx, const char *user_id, const char *org_id)
{
    char source[96], now[TC_RFC3339_LEN];
    snprintf(source, sizeof source, "/users/%s", user_id);
    tc_time_format(tc_now_ms(), now);
    cJSON *d = cJSON_CreateObject();
    if (d && (!cJSON_AddStringToObject(d, "id", user_id) ||
              !cJSON_AddStringToObject(d, "org_id", org_id) ||
              !cJSON_AddStringToObject(d, "purged_at", now))) {
        cJSON_Delete(d);
        d = NULL;
    }
    return tc_outbox_emit(tx, USER_TOPIC, "com.techcorp.user.purged", source, user_id, d);
}

int events_user_preferences(tc_dbconn_t *tx, const user_t *u, const cJSON *prefs, int64_t version)
{
    char source[96];
    snprintf(source, sizeof source, "/users/%s", u->id);
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
    return tc_outbox_emit(tx, USER_TOPIC, "com.techcorp.user.preferences_updated", source, u->id,
                          d);
}

int events_org(tc_dbconn_t *tx, const char *what, const org_t *o)
{
    char type[64], source[96];
    snprintf(type, sizeof type, "com.techcorp.org.%s", what);
    snprintf(source, sizeof source, "/orgs/%s", o->id);
    return tc_outbox_emit(tx, USER_TOPIC, type, source, o->id, org_event_data(o));
}

int events_audit(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                 const char *action, const char *target_type, const char *target_id,
                 const cJSON *before, const cJSON *after)
{
    return tc_audit_record(tx, actor, org_id, action, target_type, target_id, before, after);
}
