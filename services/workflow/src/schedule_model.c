#include "schedule_model.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_cron.h"
#include "tc/tc_hash.h"
#include "tc/tc_tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const wf_overlap_names[] = {"skip", "buffer_one", "allow_all", NULL};

int wf_overlap_of(const char *name)
{
    for (int i = 0; name && wf_overlap_names[i]; i++)
        if (strcmp(name, wf_overlap_names[i]) == 0)
            return i;
    return -1;
}

int wf_schedule_next(const char *cron, const char *zone, int64_t after_s, int64_t *next_s)
{
    tc_cron_t c;
    if (tc_cron_parse(cron, &c, NULL, 0) != TC_OK)
        return TC_EINVAL;
    tc_tz_t *tz = NULL;
    int rc = tc_tz_load(zone, &tz);
    if (rc == TC_ENOTFOUND)
        rc = TC_EINVAL;
    if (rc == TC_OK)
        rc = tc_cron_next(&c, tz, after_s, next_s);
    tc_tz_free(tz);
    return rc;
}

int64_t wf_schedule_jitter_ms(const char *id, int64_t scheduled_s, int jitter_s)
{
    if (jitter_s <= 0)
        return 0;
    /* spread, not secrecy: the time's bytes in a fixed order, whatever the host's */
    unsigned char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)((uint64_t)scheduled_s >> (8 * i));
    uint64_t h = tc_fnv1a64_add(tc_fnv1a64(id, id ? strlen(id) : 0), t, sizeof t);
    return (int64_t)(tc_hash_mix64(h) % ((uint64_t)jitter_s * 1000 + 1));
}

wf_fire_t wf_schedule_decide(const wf_fire_in_t *in)
{
    if (in->buffered && !in->running)
        return WF_FIRE_START_BUFFERED;
    if (in->fire_ms < 0 || in->fire_ms > in->now_ms)
        return WF_FIRE_WAIT;
    if (in->now_ms - in->late_ms > in->window_ms)
        return WF_FIRE_SKIP_MISSED;
    if (!in->running || in->policy == WF_OVERLAP_ALLOW_ALL)
        return WF_FIRE_START;
    if (in->policy == WF_OVERLAP_BUFFER_ONE && !in->buffered)
        return WF_FIRE_BUFFER;
    return WF_FIRE_SKIP_OVERLAP;
}

static void check_input(tc_jv_t *jv, const cJSON *body)
{
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (!input)
        return;
    char *text = cJSON_PrintUnformatted(input);
    if (!text)
        tc_jv_error(jv, "input", "could not be read");
    else if (strlen(text) > WF_PAYLOAD_MAX)
        tc_jv_error(jv, "input", "is larger than %d bytes", WF_PAYLOAD_MAX);
    free(text);
}

static bool check_cron(tc_jv_t *jv, const cJSON *body, bool create)
{
    const char *cron =
        tc_jv_str(jv, body, "cron", create ? TC_JV_REQUIRED : 0, 1, TC_CRON_EXPR_MAX - 1);
    if (!cron)
        return false;
    tc_cron_t c;
    char err[160];
    if (tc_cron_parse(cron, &c, err, sizeof err) != TC_OK) {
        tc_jv_error(jv, "cron", "%s", err);
        return false;
    }
    return true;
}

static bool check_zone(tc_jv_t *jv, const cJSON *body)
{
    if (!tc_jv_has(body, "timezone"))
        return true;
    const char *zone = tc_jv_str(jv, body, "timezone", 0, 1, TC_TZ_NAME_MAX - 1);
    if (!zone)
        return false;
    tc_tz_t *tz = NULL;
    int rc = tc_tz_name_valid(zone) ? tc_tz_load(zone, &tz) : TC_EINVAL;
    tc_tz_free(tz);
    if (rc == TC_OK)
        return true;
    if (rc == TC_ENOMEM)
        tc_jv_error(jv, "timezone", "could not be read");
    else
        tc_jv_error(jv, "timezone",
                    "is not a time zone of the IANA database (such as UTC or "
                    "Europe/Berlin)");
    return false;
}

void wf_validate_schedule(tc_jv_t *jv, const cJSON *body, bool create, int64_t now_s)
{
    static const char *const allowed[] = {
        "name",           "cron",           "timezone",
        "jitter_seconds", "overlap_policy", "catchup_window_seconds",
        "input",          "enabled",        NULL};
    if (!tc_jv_object(jv, body, "body"))
        return;
    tc_jv_no_unknown(jv, body, allowed);
    if (!create && !body->child)
        tc_jv_error(jv, "body", "must change at least one field");
    tc_jv_str(jv, body, "name", 0, 0, WF_SCHEDULE_NAME_MAX);
    bool cron_ok = check_cron(jv, body, create);
    bool zone_ok = check_zone(jv, body);
    tc_jv_int(jv, body, "jitter_seconds", 0, 0, 0, WF_JITTER_MAX_S);
    tc_jv_enum(jv, body, "overlap_policy", 0, wf_overlap_names);
    tc_jv_int(jv, body, "catchup_window_seconds", 0, 0, WF_CATCHUP_MIN_S, WF_CATCHUP_MAX_S);
    tc_jv_bool(jv, body, "enabled", 0, true);
    check_input(jv, body);
    /* on a PATCH the handler checks the merged expression and zone */
    if (create && cron_ok && zone_ok) {
        const char *zone = tc_json_get_str(body, "timezone");
        int64_t next = 0;
        if (wf_schedule_next(tc_json_get_str(body, "cron"), zone ? zone : "UTC", now_s, &next) ==
            TC_ENOTFOUND)
            tc_jv_error(jv, "cron", "names no time in the next ten years");
    }
}
