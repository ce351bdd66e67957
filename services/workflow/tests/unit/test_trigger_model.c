/* trigger_model: event trigger bodies and matching an event (type pattern, condition). */
#include "trigger_model.h"
#include "tc/tc_core.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char *const topics[] = {"integration-events", "user-events", NULL};

static void check(const char *text, bool create, char *out, size_t n)
{
    cJSON *body = cJSON_Parse(text);
    cr_assert_not_null(body, "bad test JSON: %s", text);
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_trigger(&jv, body, create, topics);
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, jv.errors)
    {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s: %s; ", tc_json_get_str(e, "field"),
                 tc_json_get_str(e, "message"));
    }
    tc_jv_free(&jv);
    cJSON_Delete(body);
}

static void valid(const char *text, bool create)
{
    char out[1024];
    check(text, create, out, sizeof out);
    cr_assert_str_empty(out, "%s refused: %s", text, out);
}

static void invalid(const char *text, bool create, const char *needle)
{
    char out[1024];
    check(text, create, out, sizeof out);
    cr_assert(strstr(out, needle), "%s: '%s' lacks '%s'", text, out, needle);
}

Test(trigger_bodies, accepted)
{
    valid("{\"topic\": \"integration-events\","
          " \"type\": \"com.techcorp.integration.webhook.received\"}",
          true);
    valid("{\"topic\": \"user-events\", \"type\": \"com.techcorp.user.*\", \"name\": \"n\","
          " \"condition\": \"$.data[?(@.role == 'admin')]\", \"enabled\": false}",
          true);
    valid("{\"topic\": \"user-events\", \"type\": \"*\"}", true);
    valid("{\"condition\": null}", false);
    valid("{\"enabled\": true}", false);
}

Test(trigger_bodies, refused)
{
    invalid("{}", true, "topic: ");
    invalid("{\"topic\": \"user-events\"}", true, "type: ");
    invalid("{\"topic\": \"auth-events\", \"type\": \"*\"}", true,
            "topic: is not a topic this deployment reads (integration-events, user-events)");
    invalid("{\"topic\": \"user-events\", \"type\": \"com..user\"}", true, "type: must be");
    invalid("{\"topic\": \"user-events\", \"type\": \"com.user.\"}", true, "type: must be");
    invalid("{\"topic\": \"user-events\", \"type\": \"a b\"}", true, "type: must be");
    invalid("{\"topic\": \"user-events\", \"type\": \"com.*.created\"}", true, "type: must be");
    invalid("{\"topic\": \"user-events\", \"type\": \"*\", \"condition\": \"data.x\"}", true,
            "condition: must be a JSONPath");
    invalid("{\"topic\": \"user-events\", \"type\": \"*\", \"condition\": \"$$.Execution\"}", true,
            "condition: must be a JSONPath");
    invalid("{\"topic\": \"user-events\", \"type\": \"*\", \"condition\": \"$[\"}", true,
            "condition: must be a JSONPath");
    invalid("{\"topic\": \"user-events\", \"type\": \"*\", \"condition\": 3}", true, "condition");
    /* a condition's cost stays bounded by the event's size */
    invalid("{\"topic\": \"user-events\", \"type\": \"*\", \"condition\": \"$..x\"}", true,
            "condition: may not use recursive descent");
    invalid("{\"topic\": \"user-events\", \"type\": \"*\","
            " \"condition\": \"$.data[?($.data.a > 1)]\"}",
            true, "condition: may not use recursive descent (..) or $ inside a filter");
    invalid("{\"topic\": \"user-events\", \"type\": \"*\", \"input\": {}}", true, "input");
    invalid("{}", false, "body: must change at least one field");
}

static bool matches(const char *pattern, const char *cond, const char *type, const char *event)
{
    cJSON *ev = cJSON_Parse(event);
    cr_assert_not_null(ev);
    int c = wf_trigger_condition(cond, ev);
    cr_assert(c == 0 || c == 1, "condition %s: %d", cond ? cond : "-", c);
    bool m = wf_trigger_type_matches(pattern, type) && c == 1;
    cJSON_Delete(ev);
    return m;
}

Test(trigger_match, type_and_condition)
{
    const char *ev = "{\"type\": \"com.techcorp.user.created\","
                     " \"data\": {\"role\": \"admin\", \"vip\": false, \"tags\": [],"
                     " \"amount\": 250, \"note\": null}}";
    const char *t = "com.techcorp.user.created";
    cr_assert(matches(t, NULL, t, ev));
    cr_assert(matches("com.techcorp.user.*", NULL, t, ev));
    cr_assert(matches("*", NULL, t, ev));
    cr_assert_not(matches("com.techcorp.user.deleted", NULL, t, ev));
    cr_assert_not(matches("com.techcorp.users.*", NULL, t, ev));
    cr_assert(matches(t, "$.data.role", t, ev));
    cr_assert(matches(t, "$.data[?(@.amount > 100)]", t, ev));
    cr_assert_not(matches(t, "$.data[?(@.amount > 1000)]", t, ev), "no match: empty array");
    cr_assert_not(matches(t, "$.data.vip", t, ev), "false does not hold");
    cr_assert_not(matches(t, "$.data.note", t, ev), "null does not hold");
    cr_assert_not(matches(t, "$.data.tags", t, ev), "an empty array does not hold");
    cr_assert_not(matches(t, "$.data.missing", t, ev), "nothing selected");
    cr_assert(matches(t, "$.data.amount", t, ev));
}
