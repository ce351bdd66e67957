#include "tc/tc_audit.h"
#include "tc/tc_core.h"
#include "tc/tc_proto.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <stdio.h>

static int add_copy(cJSON *obj, const char *name, const cJSON *v)
{
    cJSON *copy = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    if (!copy || !cJSON_AddItemToObject(obj, name, copy)) {
        cJSON_Delete(copy);
        return 0;
    }
    return 1;
}

int tc_audit_record(tc_dbconn_t *tx, const tc_principal_t *actor, const char *org_id,
                    const char *action, const char *target_type, const char *target_id,
                    const cJSON *before, const cJSON *after)
{
    char source[160], now[TC_RFC3339_LEN];
    snprintf(source, sizeof source, "/%ss/%s", target_type, target_id);
    tc_time_format(tc_now_ms(), now);
    cJSON *d = cJSON_CreateObject();
    cJSON *a = d ? cJSON_AddObjectToObject(d, "actor") : NULL;
    cJSON *t = d ? cJSON_AddObjectToObject(d, "target") : NULL;
    int ok = a && t && cJSON_AddStringToObject(a, "type", actor->is_service ? "service" : "user") &&
             cJSON_AddStringToObject(a, "id", actor->sub) &&
             tc_json_add_str(a, "role", actor->is_service ? NULL : tc_role_name(actor->role)) &&
             cJSON_AddStringToObject(t, "type", target_type) &&
             cJSON_AddStringToObject(t, "id", target_id) &&
             cJSON_AddStringToObject(d, "org_id", org_id) &&
             cJSON_AddStringToObject(d, "action", action) && add_copy(d, "before", before) &&
             add_copy(d, "after", after) && tc_json_add_str(d, "request_id", tc_log_request_id()) &&
             cJSON_AddStringToObject(d, "occurred_at", now);
    if (!ok) {
        cJSON_Delete(d);
        return TC_ENOMEM;
    }
    return tc_emit_at(tx, TC_EV_AUDIT_RECORDED, source, NULL, NULL, d);
}
