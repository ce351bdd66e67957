#include "trigger_model.h"
#include "asl.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"

#include <string.h>

/* A CloudEvents type as the platform writes them (reverse-DNS words), "prefix.*" or "*". */
static bool type_pattern_valid(const char *p)
{
    if (strcmp(p, "*") == 0)
        return true;
    size_t n = strlen(p);
    if (n >= 2 && strcmp(p + n - 2, ".*") == 0)
        n -= 2;
    if (n == 0 || p[0] == '.' || p[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && p[i + 1] != '.');
        if (!ok)
            return false;
    }
    return true;
}

static void check_topic(tc_jv_t *jv, const cJSON *body, bool create, const char *const *topics)
{
    const char *topic = tc_jv_str(jv, body, "topic", create ? TC_JV_REQUIRED : 0, 1, 249);
    if (!topic)
        return;
    for (size_t i = 0; topics && topics[i]; i++)
        if (strcmp(topics[i], topic) == 0)
            return;
    char list[512] = "";
    for (size_t i = 0; topics && topics[i]; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", topics[i]);
    }
    tc_jv_error(jv, "topic", "is not a topic this deployment reads (%s)", list);
}

void wf_validate_trigger(tc_jv_t *jv, const cJSON *body, bool create, const char *const *topics)
{
    static const char *const allowed[] = {"name", "topic", "type", "condition", "enabled", NULL};
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, allowed);
    if (!create && !body->child)
        tc_jv_error(jv, "body", "must change at least one field");
    tc_jv_str(jv, body, "name", 0, 0, WF_TRIGGER_NAME_MAX);
    check_topic(jv, body, create, topics);
    const char *type =
        tc_jv_str(jv, body, "type", create ? TC_JV_REQUIRED : 0, 1, WF_TRIGGER_TYPE_MAX);
    if (type && !type_pattern_valid(type))
        tc_jv_error(jv, "type",
                    "must be an event type (com.techcorp.integration.webhook."
                    "received), a prefix ending in .* or *");
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(body, "condition");
    if (cond && !cJSON_IsNull(cond)) {
        const char *path = tc_jv_str(jv, body, "condition", 0, 1, WF_TRIGGER_COND_MAX);
        if (path && (strncmp(path, "$$", 2) == 0 || !asl_path_valid(path, false)))
            tc_jv_error(jv, "condition", "must be a JSONPath over the event, starting with $");
        else if (path && (strstr(path, "..") || strchr(path + 1, '$')))
            tc_jv_error(jv, "condition",
                        "may not use recursive descent (..) or $ inside a "
                        "filter (test the item with @)");
    }
    tc_jv_bool(jv, body, "enabled", 0, true);
}

bool wf_trigger_type_matches(const char *type_pattern, const char *ev_type)
{
    return type_pattern && ev_type && tc_event_type_match(type_pattern, ev_type);
}

int wf_trigger_condition(const char *condition, const cJSON *event)
{
    if (!condition)
        return 1;
    cJSON *v = NULL;
    int rc = asl_path_eval(event, NULL, condition, &v);
    if (rc == TC_ENOMEM)
        return TC_ENOMEM; /* retried: the event is fine */
    if (rc != TC_OK)
        return 0; /* selects nothing (or a runtime error of the path): does not hold */
    bool holds =
        cJSON_IsArray(v) ? cJSON_GetArraySize(v) > 0 : !cJSON_IsFalse(v) && !cJSON_IsNull(v);
    cJSON_Delete(v);
    return holds ? 1 : 0;
}
