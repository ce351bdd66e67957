#include "events_out.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Serialises data (taken over) and writes the event to the outbox. */
static int emit(tc_dbconn_t *tx, const char *topic, const char *type, const char *source,
                const char *key, cJSON *data)
{
    char schema[160];
    if (!data)
        return TC_ENOMEM;
    char *text = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!text)
        return TC_ENOMEM;
    snprintf(schema, sizeof schema, SCHEMA_BASE "%s.json", type);
    tc_event_t ev = {.type = (char *)type,
                     .source = (char *)source,
                     .subject = (char *)key,
                     .partitionkey = (char *)key,
                     .dataschema = schema,
                     .data = text};
    int rc = tc_outbox_add(tx, topic, &ev, NULL, 0);
    free(text);
    return rc;
}

static int add_copy(cJSON *obj, const char *name, const cJSON *v)
{
    cJSON *copy = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    if (!copy || !cJSON_AddItemToObject(obj, name, copy)) {
        cJSON_Delete(copy);
        return 0;
    }
    return 1;
}

int events_user(tc_dbconn_t *tx, const char *what, const user_t *u)
{
    char type[64], source[96];
    snprintf(type, sizeof type, "com.techcorp.user.%s", what);
    snprintf(source, sizeof source, "/users/%s", u->id);
    return emit(tx, USER_TOPIC, type, source, u->id, user_event_data(u));
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
    return emit(tx, USER_TOPIC, "com.techcorp.user.purged", source, user_id, d);
}

int events_user_preferences(tc_dbconn_t *tx, const user_t *u, const cJSON *prefs, int64_t version)
{
    char source[96];
    snprintf(source, sizeof source, "/users/%s", u->id);
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddStringToObject(d, "id", u->id) ||
        !cJSON_AddStringToObject(d, "org_id", u->org_id) ||
        !tc_json_add_int(d, "version", version) || !add_copy(d, "preferences", prefs)) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return emit(tx, USER_TOPIC, "com.techcorp.user.preferences_updated", source, u->id, d);
}

int events_org(tc_dbconn_t *tx, const char *what, const org_t *o)
{
    char type[64], source[96];
    snprintf(type, sizeof type, "com.techcorp.org.%s", what);
    snprintf(source, sizeof source, "/orgs/%s", o->id);
    return emit(tx, USER_TOPIC, type, source, o->id, org_event_data(o));
}

static cJSON *actor_json(const tc_principal_t *actor)
{
    cJSON *a = cJSON_CreateObject();
    if (!a || !cJSON_AddStringToObject(a, "type", actor->is_service ? "service" : "user") ||
        !cJSON_AddStringToObject(a, "id", actor->sub) ||
        !tc_json_add_str(a, "role", actor->is_service ? NULL : tc_role_name(actor->role))) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

int events_audit(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                 const char *action, const char *target_type, const char *target_id,
                 const cJSON *before, const cJSON *after)
{
    char source[96], now[TC_RFC3339_LEN];
    snprintf(source, sizeof source, "/%ss/%s", target_type, target_id);
    tc_time_format(tc_now_ms(), now);
    cJSON *d = cJSON_CreateObject();
    cJSON *a = actor_json(actor);
    cJSON *t = cJSON_CreateObject();
    int ok = d && a && t && cJSON_AddItemToObject(d, "actor", a);
    if (ok)
        a = NULL;
    ok = ok && cJSON_AddStringToObject(t, "type", target_type) &&
         cJSON_AddStringToObject(t, "id", target_id) && cJSON_AddItemToObject(d, "target", t);
    if (ok)
        t = NULL;
    ok = ok && cJSON_AddStringToObject(d, "org_id", org_id) &&
         cJSON_AddStringToObject(d, "action", action) && add_copy(d, "before", before) &&
         add_copy(d, "after", after) && tc_json_add_str(d, "request_id", tc_log_request_id()) &&
         cJSON_AddStringToObject(d, "occurred_at", now);
    cJSON_Delete(a);
    cJSON_Delete(t);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return emit(tx, AUDIT_TOPIC, "com.techcorp.audit.recorded", source, target_id, d);
}
