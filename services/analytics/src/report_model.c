#include "report_model.h"
#include "query_model.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

static const char *const refresh_names[] = {"hourly", "daily", "manual", NULL};

static const rm_builtin_t builtins[] = {
    {"builtin.api_usage", "API usage",
     "Requests through the gateway per day by route and status, with latency percentiles",
     "{\"events\":[\"api.request\"],\"interval\":\"day\",\"breakdown\":[\"route\",\"status\"],"
     "\"metrics\":[{\"op\":\"count\",\"as\":\"requests\"},"
     "{\"op\":\"p50\",\"property\":\"latency_ms\",\"as\":\"p50_ms\"},"
     "{\"op\":\"p95\",\"property\":\"latency_ms\",\"as\":\"p95_ms\"},"
     "{\"op\":\"p99\",\"property\":\"latency_ms\",\"as\":\"p99_ms\"}],\"limit\":1000}",
     30},
    {"builtin.workflow_executions", "Workflow executions",
     "Executions per day by how they started and ended",
     "{\"events\":[\"workflow.execution.started\",\"workflow.execution.succeeded\","
     "\"workflow.execution.failed\",\"workflow.execution.timed_out\","
     "\"workflow.execution.cancelled\"],\"interval\":\"day\",\"breakdown\":[\"event\"],"
     "\"metrics\":[{\"op\":\"count\",\"as\":\"executions\"},"
     "{\"op\":\"unique\",\"property\":\"workflow_id\",\"as\":\"workflows\"}],\"limit\":1000}",
     30},
};

const char *rm_refresh_name(int refresh)
{
    return refresh >= RM_HOURLY && refresh <= RM_MANUAL ? refresh_names[refresh] : NULL;
}

int rm_refresh_parse(const char *name)
{
    for (int i = 0; name && refresh_names[i]; i++)
        if (strcmp(name, refresh_names[i]) == 0)
            return i;
    return -1;
}

int64_t rm_refresh_ms(int refresh)
{
    return refresh == RM_HOURLY ? 3600000LL : refresh == RM_DAILY ? DAY_MS : 0;
}

int rm_query_at(const cJSON *query, int range_days, int64_t now_ms, cJSON **out)
{
    char from[TC_RFC3339_LEN], to[TC_RFC3339_LEN];
    tc_time_format(now_ms - range_days * DAY_MS, from);
    tc_time_format(now_ms, to);
    cJSON *q = cJSON_Duplicate(query, true);
    if (!q || !cJSON_AddStringToObject(q, "from", from) || !cJSON_AddStringToObject(q, "to", to)) {
        cJSON_Delete(q);
        return TC_ENOMEM;
    }
    *out = q;
    return TC_OK;
}

/* Moves the query language's problems under "query." so the client sees where they are. */
static void copy_errors(tc_jv_t *from, tc_jv_t *to)
{
    cJSON *errs = tc_jv_take_errors(from), *e;
    cJSON_ArrayForEach(e, errs)
    {
        const char *field = tc_json_get_str(e, "field");
        const char *msg = tc_json_get_str(e, "message");
        tc_jv_error(to, "query", "%s%s%s", field && strcmp(field, "body") != 0 ? field : "",
                    field && strcmp(field, "body") != 0 ? ": " : "", msg ? msg : "invalid");
    }
    if (from->oom)
        to->oom = 1;
    cJSON_Delete(errs);
}

int rm_check(const cJSON *query, int range_days, int64_t now_ms, tc_jv_t *jv)
{
    if (cJSON_GetObjectItemCaseSensitive(query, "from") ||
        cJSON_GetObjectItemCaseSensitive(query, "to")) {
        tc_jv_error(jv, "query", "without from and to: a report covers its last range_days");
        return TC_EINVAL;
    }
    cJSON *q = NULL;
    int rc = rm_query_at(query, range_days, now_ms, &q);
    if (rc != TC_OK)
        return rc;
    tc_jv_t inner;
    tc_jv_init(&inner);
    qm_query_t *parsed = NULL;
    rc = qm_parse(q, &inner, &parsed);
    if (rc == TC_EINVAL)
        copy_errors(&inner, jv);
    tc_jv_free(&inner);
    qm_free(parsed);
    cJSON_Delete(q);
    return rc;
}

int rm_parse(const cJSON *body, bool create, int64_t now_ms, tc_jv_t *jv, rm_fields_t *f)
{
    static const char *const allowed[] = {"name",       "description", "query",
                                          "range_days", "refresh",     NULL};
    static const char *const refresh_choices[] = {"hourly", "daily", "manual", NULL};
    unsigned req = create ? TC_JV_REQUIRED : TC_JV_OPTIONAL;
    memset(f, 0, sizeof *f);
    f->refresh = -1;
    if (!tc_jv_object(jv, body, "body"))
        return TC_EINVAL;
    tc_jv_no_unknown(jv, body, allowed);
    f->name = tc_jv_str(jv, body, "name", req, 1, RM_NAME_MAX);
    f->description = tc_jv_str(jv, body, "description", TC_JV_OPTIONAL, 0, RM_DESCRIPTION_MAX);
    f->range_days = (int)tc_jv_int(jv, body, "range_days", TC_JV_OPTIONAL,
                                   create ? RM_RANGE_DEFAULT : 0, 1, RM_RANGE_MAX);
    const char *refresh = tc_jv_enum(jv, body, "refresh", TC_JV_OPTIONAL, refresh_choices);
    f->refresh = refresh ? rm_refresh_parse(refresh) : create ? RM_DAILY : -1;
    const cJSON *query = tc_jv_obj(jv, body, "query", req);
    if (query && !(f->query = cJSON_Duplicate(query, true)))
        jv->oom = 1;
    if (!create && cJSON_GetArraySize(body) == 0)
        tc_jv_error(jv, "body", "at least one field to change");
    /* a create is checked whole here; a change once merged with what is stored (the
     * caller's rm_check), since a new query may only fit the stored range */
    if (f->query && !tc_jv_failed(jv) && create &&
        rm_check(f->query, f->range_days, now_ms, jv) == TC_ENOMEM)
        jv->oom = 1;
    else if (f->query && !create &&
             (cJSON_GetObjectItemCaseSensitive(f->query, "from") ||
              cJSON_GetObjectItemCaseSensitive(f->query, "to")))
        tc_jv_error(jv, "query", "without from and to: a report covers its last range_days");
    int rc = jv->oom ? TC_ENOMEM : tc_jv_failed(jv) ? TC_EINVAL : TC_OK;
    if (rc != TC_OK)
        rm_fields_clear(f);
    return rc;
}

void rm_fields_clear(rm_fields_t *f)
{
    cJSON_Delete(f->query);
    memset(f, 0, sizeof *f);
    f->refresh = -1;
}

const rm_builtin_t *rm_builtin(const char *id)
{
    for (size_t i = 0; id && i < TC_ARRAY_LEN(builtins); i++)
        if (strcmp(builtins[i].id, id) == 0)
            return &builtins[i];
    return NULL;
}

int rm_builtin_version(const rm_builtin_t *b)
{
    /* FNV-1a of the definition: a changed built-in never serves results of its old query */
    uint32_t h = 2166136261u;
    for (const char *p = b->query; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int)(h & 0x3fffffff) + 1;
}

int rm_builtin_count(void)
{
    return (int)TC_ARRAY_LEN(builtins);
}

const rm_builtin_t *rm_builtin_at(int i)
{
    return i >= 0 && i < rm_builtin_count() ? &builtins[i] : NULL;
}

cJSON *rm_builtin_json(const rm_builtin_t *b)
{
    cJSON *o = cJSON_CreateObject(), *q = cJSON_Parse(b->query);
    if (!o || !q || !cJSON_AddStringToObject(o, "id", b->id) ||
        !cJSON_AddStringToObject(o, "kind", "builtin") ||
        !cJSON_AddStringToObject(o, "name", b->name) ||
        !cJSON_AddStringToObject(o, "description", b->description) ||
        !cJSON_AddItemToObject(o, "query", q)) {
        cJSON_Delete(o);
        cJSON_Delete(q);
        return NULL;
    }
    if (!tc_json_add_int(o, "range_days", b->range_days) ||
        !cJSON_AddStringToObject(o, "refresh", "hourly") ||
        !tc_json_add_int(o, "version", rm_builtin_version(b))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
