#include "audit_model.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdlib.h>
#include <string.h>

static bool short_str(const char *s)
{
    return s && *s && strlen(s) <= AUDIT_FIELD_MAX;
}

/* A snapshot (before / after): an object, or null. */
static int snapshot(const cJSON *data, const char *name, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return TC_OK;
    if (!cJSON_IsObject(v))
        return TC_EINVAL;
    *out = cJSON_PrintUnformatted(v);
    if (*out && strlen(*out) > AUDIT_SNAPSHOT_MAX) {
        /* an export holds its records in memory: a snapshot too big to keep whole is kept as
         * its size and the names of its fields */
        size_t bytes = strlen(*out);
        free(*out);
        cJSON *sum = cJSON_CreateObject();
        cJSON *keys = sum ? cJSON_AddArrayToObject(sum, "$fields") : NULL;
        bool ok = keys && cJSON_AddTrueToObject(sum, "$truncated") &&
                  tc_json_add_int(sum, "$bytes", (int64_t)bytes);
        const cJSON *m;
        cJSON_ArrayForEach(m, v)
        {
            cJSON *k = ok && m->string && cJSON_GetArraySize(keys) < 64
                           ? cJSON_CreateString(m->string)
                           : NULL;
            if (k && !cJSON_AddItemToArray(keys, k)) {
                cJSON_Delete(k);
                ok = false;
            }
        }
        *out = ok ? cJSON_PrintUnformatted(sum) : NULL;
        cJSON_Delete(sum);
    }
    return *out ? TC_OK : TC_ENOMEM;
}

int audit_rec_from_event(const char *id, const char *source, const cJSON *data, audit_rec_t *r)
{
    memset(r, 0, sizeof *r);
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(data, "actor");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(data, "target");
    if (!cJSON_IsObject(actor) || !cJSON_IsObject(target))
        return TC_EINVAL;
    r->event_id = id;
    r->source = source;
    r->org_id = tc_json_get_str(data, "org_id");
    r->actor_type = tc_json_get_str(actor, "type");
    r->actor_id = tc_json_get_str(actor, "id");
    r->actor_role = tc_json_get_str(actor, "role");
    r->action = tc_json_get_str(data, "action");
    r->target_type = tc_json_get_str(target, "type");
    r->target_id = tc_json_get_str(target, "id");
    r->request_id = tc_json_get_str(data, "request_id");
    const char *at = tc_json_get_str(data, "occurred_at");
    bool actor_known = r->actor_type && (strcmp(r->actor_type, "user") == 0 ||
                                         strcmp(r->actor_type, "service") == 0);
    if (!short_str(id) || !short_str(source) || !short_str(r->org_id) || !actor_known ||
        !short_str(r->actor_id) || !short_str(r->action) || !short_str(r->target_type) ||
        !short_str(r->target_id) || (r->actor_role && strlen(r->actor_role) > AUDIT_FIELD_MAX) ||
        (r->request_id && strlen(r->request_id) > AUDIT_FIELD_MAX) || !at ||
        tc_time_parse(at, &r->occurred_ms) != TC_OK)
        return TC_EINVAL;
    int rc = snapshot(data, "before", &r->before);
    if (rc == TC_OK)
        rc = snapshot(data, "after", &r->after);
    if (rc != TC_OK)
        audit_rec_clear(r);
    return rc;
}

void audit_rec_clear(audit_rec_t *r)
{
    free(r->before);
    free(r->after);
    memset(r, 0, sizeof *r);
}

static const char *opt_str(tc_jv_t *jv, const char *field, const char *v)
{
    if (!v)
        return NULL;
    ssize_t n = tc_utf8_validate(v, strlen(v));
    if (n < 1 || n > AUDIT_FIELD_MAX) {
        tc_jv_error(jv, field, "1 to %d characters", AUDIT_FIELD_MAX);
        return NULL;
    }
    return v;
}

static int64_t opt_time(tc_jv_t *jv, const char *field, const char *v)
{
    int64_t ms = 0;
    if (v && tc_time_parse(v, &ms) != TC_OK) {
        tc_jv_error(jv, field, "an RFC 3339 time");
        return 0;
    }
    return ms;
}

void audit_filter_parse(audit_filter_t *f, tc_jv_t *jv, const char *actor, const char *action,
                        const char *resource_type, const char *resource_id, const char *from,
                        const char *to)
{
    memset(f, 0, sizeof *f);
    f->actor_id = opt_str(jv, "actor", actor);
    f->action = opt_str(jv, "action", action);
    f->target_type = opt_str(jv, "resource_type", resource_type);
    f->target_id = opt_str(jv, "resource_id", resource_id);
    f->from_ms = opt_time(jv, "from", from);
    f->to_ms = opt_time(jv, "to", to);
    if (f->from_ms && f->to_ms && f->to_ms <= f->from_ms)
        tc_jv_error(jv, "to", "after from");
}

/* A JSON text column as a value (null for SQL NULL or text that does not parse). */
static cJSON *json_col(const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    return v ? v : cJSON_CreateNull();
}

cJSON *audit_row_json(const char *const *c)
{
    cJSON *o = cJSON_CreateObject(), *actor = NULL, *target = NULL;
    if (!o)
        return NULL;
    bool ok =
        tc_json_add_str(o, "id", c[1]) && tc_json_add_int(o, "seq", strtoll(c[0], NULL, 10)) &&
        (actor = cJSON_AddObjectToObject(o, "actor")) && tc_json_add_str(actor, "type", c[2]) &&
        tc_json_add_str(actor, "id", c[3]) && tc_json_add_str(actor, "role", c[4]) &&
        tc_json_add_str(o, "action", c[5]) && (target = cJSON_AddObjectToObject(o, "resource")) &&
        tc_json_add_str(target, "type", c[6]) && tc_json_add_str(target, "id", c[7]);
    cJSON *before = ok ? json_col(c[8]) : NULL, *after = ok ? json_col(c[9]) : NULL;
    ok = ok && before && cJSON_AddItemToObject(o, "before", before);
    if (!ok)
        cJSON_Delete(before);
    ok = ok && after && cJSON_AddItemToObject(o, "after", after);
    if (!ok)
        cJSON_Delete(after);
    ok = ok && tc_json_add_str(o, "request_id", c[10]) && tc_json_add_str(o, "source", c[11]) &&
         tc_json_add_str(o, "occurred_at", c[12]) && tc_json_add_str(o, "recorded_at", c[13]) &&
         tc_json_add_str(o, "prev_hash", c[14]) && tc_json_add_str(o, "hash", c[15]);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
