/* schedule_model: the schedule bodies, next times, jitter and the firer's decisions. */
#include "schedule_model.h"
#include "workflow_model.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    cr_assert_eq(tc_time_parse(rfc3339, &ms), TC_OK, "%s", rfc3339);
    return ms / 1000;
}

/* The 422's fields and messages of body, as "field: message; ...". */
static void check(const char *text, bool create, char *out, size_t n)
{
    cJSON *body = cJSON_Parse(text);
    cr_assert_not_null(body, "bad test JSON: %s", text);
    tc_jv_t jv;
    tc_jv_init(&jv);
    wf_validate_schedule(&jv, body, create, at("2026-12-03T10:00:00Z"));
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

Test(schedule_bodies, accepted)
{
    valid("{\"cron\": \"0 9 * * MON-FRI\"}", true);
    valid("{\"cron\": \"*/5 * * * * *\", \"timezone\": \"America/New_York\", \"name\": \"n\","
          " \"jitter_seconds\": 3600, \"overlap_policy\": \"buffer_one\","
          " \"catchup_window_seconds\": 604800, \"input\": [1, 2], \"enabled\": false}",
          true);
    valid("{\"enabled\": false}", false);
    valid("{\"timezone\": \"Asia/Kolkata\"}", false);
}

Test(schedule_bodies, refused)
{
    invalid("{}", true, "cron: ");
    invalid("{\"cron\": \"* * *\"}", true, "cron: a cron expression has 5 fields");
    invalid("{\"cron\": \"0 24 * * *\"}", true, "cron: the hour field");
    invalid("{\"cron\": \"0 0 30 2 *\"}", true, "cron: names no time in the next ten years");
    invalid("{\"cron\": \"@daily\", \"timezone\": \"Mars/Olympus\"}", true,
            "timezone: is not a time zone");
    invalid("{\"cron\": \"@daily\", \"timezone\": \"../../etc/passwd\"}", true,
            "timezone: is not a time zone");
    invalid("{\"cron\": \"@daily\", \"jitter_seconds\": 3601}", true, "jitter_seconds");
    invalid("{\"cron\": \"@daily\", \"jitter_seconds\": -1}", true, "jitter_seconds");
    invalid("{\"cron\": \"@daily\", \"catchup_window_seconds\": 604801}", true,
            "catchup_window_seconds");
    invalid("{\"cron\": \"@daily\", \"catchup_window_seconds\": 9}", true,
            "catchup_window_seconds");
    invalid("{\"cron\": \"@daily\", \"overlap_policy\": \"queue\"}", true, "overlap_policy");
    invalid("{\"cron\": \"@daily\", \"enabled\": \"yes\"}", true, "enabled");
    invalid("{\"cron\": \"@daily\", \"when\": 1}", true, "when");
    invalid("{}", false, "body: must change at least one field");
    invalid("[]", true, "body");
    /* input is bounded like an execution's */
    size_t n = WF_PAYLOAD_MAX + 64;
    char *big = malloc(n + 64);
    cr_assert_not_null(big);
    int len = snprintf(big, 64, "{\"cron\": \"@daily\", \"input\": \"");
    memset(big + len, 'x', WF_PAYLOAD_MAX);
    strcpy(big + len + WF_PAYLOAD_MAX, "\"}");
    invalid(big, true, "input: is larger than");
    free(big);
}

Test(schedule_next, cron_in_a_zone)
{
    int64_t next = 0;
    cr_assert_eq(wf_schedule_next("0 9 * * *", "Europe/Berlin", at("2026-12-03T10:00:00Z"), &next),
                 TC_OK);
    cr_assert_eq(next, at("2026-12-04T08:00:00Z"));
    cr_assert_eq(wf_schedule_next("0 9 * * *", "UTC", at("2026-12-03T08:00:00Z"), &next), TC_OK);
    cr_assert_eq(next, at("2026-12-03T09:00:00Z"));
    cr_assert_eq(wf_schedule_next("0 0 30 2 *", "UTC", 0, &next), TC_ENOTFOUND);
    cr_assert_eq(wf_schedule_next("bad", "UTC", 0, &next), TC_EINVAL);
    cr_assert_eq(wf_schedule_next("@daily", "Nowhere/Town", 0, &next), TC_EINVAL);
}

Test(schedule_jitter, bounded_and_stable)
{
    cr_assert_eq(wf_schedule_jitter_ms("sch_A", 1000, 0), 0);
    int64_t lo = INT64_MAX, hi = -1;
    for (int64_t t = 0; t < 2000; t++) {
        int64_t j = wf_schedule_jitter_ms("sch_A", t * 60, 30);
        cr_assert(j >= 0 && j <= 30000, "%lld", (long long)j);
        cr_assert_eq(j, wf_schedule_jitter_ms("sch_A", t * 60, 30), "the same every time");
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
    }
    /* spread over the window, not stuck at one end */
    cr_assert(lo < 3000 && hi > 27000, "%lld..%lld", (long long)lo, (long long)hi);
    cr_assert_neq(wf_schedule_jitter_ms("sch_A", 60, 3600),
                  wf_schedule_jitter_ms("sch_B", 60, 3600));
}

static wf_fire_t decide(int64_t fire_ms, bool running, bool buffered, wf_overlap_t policy)
{
    wf_fire_in_t in = {.now_ms = 100000,
                       .fire_ms = fire_ms,
                       .late_ms = fire_ms,
                       .running = running,
                       .buffered = buffered,
                       .policy = policy,
                       .window_ms = 60000};
    return wf_schedule_decide(&in);
}

Test(schedule_decide, every_case)
{
    cr_assert_eq(decide(-1, false, false, WF_OVERLAP_SKIP), WF_FIRE_WAIT, "no next time");
    cr_assert_eq(decide(100001, false, false, WF_OVERLAP_SKIP), WF_FIRE_WAIT, "not yet");
    cr_assert_eq(decide(100000, false, false, WF_OVERLAP_SKIP), WF_FIRE_START);
    cr_assert_eq(decide(40000, false, false, WF_OVERLAP_SKIP), WF_FIRE_START, "60 s late: in");
    cr_assert_eq(decide(39999, false, false, WF_OVERLAP_SKIP), WF_FIRE_SKIP_MISSED);
    cr_assert_eq(decide(39999, true, false, WF_OVERLAP_ALLOW_ALL), WF_FIRE_SKIP_MISSED);
    cr_assert_eq(decide(90000, true, false, WF_OVERLAP_SKIP), WF_FIRE_SKIP_OVERLAP);
    cr_assert_eq(decide(90000, true, false, WF_OVERLAP_ALLOW_ALL), WF_FIRE_START);
    cr_assert_eq(decide(90000, true, false, WF_OVERLAP_BUFFER_ONE), WF_FIRE_BUFFER);
    cr_assert_eq(decide(90000, true, true, WF_OVERLAP_BUFFER_ONE), WF_FIRE_SKIP_OVERLAP,
                 "one buffered at most");
    cr_assert_eq(decide(90000, false, true, WF_OVERLAP_BUFFER_ONE), WF_FIRE_START_BUFFERED,
                 "the buffered time first");
    cr_assert_eq(decide(-1, false, true, WF_OVERLAP_BUFFER_ONE), WF_FIRE_START_BUFFERED);
    cr_assert_eq(decide(-1, true, true, WF_OVERLAP_BUFFER_ONE), WF_FIRE_WAIT);
}

Test(schedule_decide, lateness_counts_from_the_whole_jitter)
{
    /* a time due at 30 s with up to 300 s of jitter, held back behind an earlier time's long
     * jitter until 100 s: not missed (60 s window) */
    wf_fire_in_t in = {.now_ms = 100000,
                       .fire_ms = 35000,
                       .late_ms = 330000,
                       .policy = WF_OVERLAP_SKIP,
                       .window_ms = 60000};
    cr_assert_eq(wf_schedule_decide(&in), WF_FIRE_START);
    in.now_ms = 390001;
    cr_assert_eq(wf_schedule_decide(&in), WF_FIRE_SKIP_MISSED);
}

Test(schedule_overlap, names)
{
    cr_assert_eq(wf_overlap_of("skip"), WF_OVERLAP_SKIP);
    cr_assert_eq(wf_overlap_of("buffer_one"), WF_OVERLAP_BUFFER_ONE);
    cr_assert_eq(wf_overlap_of("allow_all"), WF_OVERLAP_ALLOW_ALL);
    cr_assert_eq(wf_overlap_of("queue"), -1);
    cr_assert_eq(wf_overlap_of(NULL), -1);
}
