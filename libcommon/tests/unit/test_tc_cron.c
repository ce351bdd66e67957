/*
 * tc_cron: parsing (fields, names, steps, macros, errors) and next times in UTC and across
 * daylight-saving changes.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_cron.h"
#include "tc/tc_time.h"
#include "tc/tc_tz.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static tc_cron_t parse_ok(const char *expr)
{
    tc_cron_t c;
    char err[160] = "";
    cr_assert_eq(tc_cron_parse(expr, &c, err, sizeof err), TC_OK, "parse(%s): %s", expr, err);
    return c;
}

static void parse_bad(const char *expr, const char *needle)
{
    tc_cron_t c;
    char err[160] = "";
    cr_assert_eq(tc_cron_parse(expr, &c, err, sizeof err), TC_EINVAL, "parse(%s) accepted", expr);
    cr_assert(strstr(err, needle), "parse(%s): '%s' lacks '%s'", expr, err, needle);
}

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    cr_assert_eq(tc_time_parse(rfc3339, &ms), TC_OK, "%s", rfc3339);
    return ms / 1000;
}

static void expect_next(const char *expr, const tc_tz_t *tz, const char *after, const char *want)
{
    tc_cron_t c = parse_ok(expr);
    int64_t next = 0;
    cr_assert_eq(tc_cron_next(&c, tz, at(after), &next), TC_OK, "next(%s, %s)", expr, after);
    char got[TC_RFC3339_LEN];
    tc_time_format(next * 1000, got);
    cr_assert_eq(next, at(want), "next(%s, after %s) = %s, want %s", expr, after, got, want);
}

static tc_tz_t *zone(const char *name)
{
    tc_tz_t *tz = NULL;
    cr_assert_eq(tc_tz_load(name, &tz), TC_OK, "load %s", name);
    return tz;
}

Test(cron, fields)
{
    tc_cron_t c = parse_ok("*/15 9-17 * * MON-FRI");
    cr_assert_eq(c.min, (1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45));
    cr_assert_eq(c.hour, 0x3fe00u);
    cr_assert_eq(c.dow, 0x3eu);
    cr_assert(c.dom_any);
    cr_assert_not(c.dow_any);
    cr_assert_eq(c.sec, 1u, "five fields fire at second 0");
    cr_assert_not(c.has_seconds);

    c = parse_ok("5,10-12 0 1 jan,Jul 7");
    cr_assert_eq(c.min, (1ull << 5) | (1ull << 10) | (1ull << 11) | (1ull << 12));
    cr_assert_eq(c.month, (1u << 1) | (1u << 7));
    cr_assert_eq(c.dow, 1u, "7 is Sunday");

    c = parse_ok("*/2 * * * * *");
    cr_assert(c.has_seconds);
    cr_assert_eq(c.sec, 0x555555555555555ull);

    c = parse_ok("10/20 * ? * *");
    cr_assert_eq(c.min, (1ull << 10) | (1ull << 30) | (1ull << 50), "n/step runs to the end");
    cr_assert(c.dom_any);

    c = parse_ok("  @daily");
    cr_assert_eq(c.min, 1u);
    cr_assert_eq(c.hour, 1u);
    c = parse_ok("@HOURLY");
    cr_assert_eq(c.hour, 0xffffffu);
}

Test(cron, errors)
{
    parse_bad("* * * *", "5 fields");
    parse_bad("* * * * * * *", "5 fields");
    parse_bad("", "5 fields");
    parse_bad("60 * * * *", "minute field allows 0 to 59");
    parse_bad("* 24 * * *", "hour field");
    parse_bad("* * 0 * *", "day of month field");
    parse_bad("* * * 13 *", "month field");
    parse_bad("* * * * 8", "day of week field");
    parse_bad("5-1 * * * *", "ascending");
    parse_bad("*/0 * * * *", "step");
    parse_bad("*/61 * * * *", "step 61 is larger");
    parse_bad("1,,2 * * * *", "empty list item");
    parse_bad("x * * * *", "not a value");
    parse_bad("* * * FOO *", "month field has 'FOO'");
    parse_bad("? * * * *", "minute field has '?'");
    parse_bad("1- * * * *", "without its end");
    parse_bad("1x * * * *", "not cron syntax");
    parse_bad("0001 * * * *", "not a value");
    parse_bad("@reboot", "not a cron macro");
    char long_expr[300];
    memset(long_expr, '1', sizeof long_expr - 1);
    long_expr[sizeof long_expr - 1] = '\0';
    parse_bad(long_expr, "characters");
}

Test(cron, next_in_utc)
{
    expect_next("*/15 * * * *", NULL, "2026-12-03T10:07:00Z", "2026-12-03T10:15:00Z");
    expect_next("*/15 * * * *", NULL, "2026-12-03T10:15:00Z", "2026-12-03T10:30:00Z");
    expect_next("0 9 * * MON-FRI", NULL, "2026-12-04T09:00:00Z", "2026-12-07T09:00:00Z");
    expect_next("@monthly", NULL, "2026-12-03T00:00:00Z", "2027-01-01T00:00:00Z");
    expect_next("0 0 31 * *", NULL, "2027-01-31T00:00:00Z", "2027-03-31T00:00:00Z");
    expect_next("0 0 29 2 *", NULL, "2026-12-03T00:00:00Z", "2028-02-29T00:00:00Z");
    expect_next("0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z");
    expect_next("*/2 * * * * *", NULL, "2026-12-03T10:00:01Z", "2026-12-03T10:00:02Z");
    expect_next("*/2 * * * * *", NULL, "2026-12-03T10:00:59Z", "2026-12-03T10:01:00Z");
    expect_next("59 59 23 31 12 *", NULL, "2026-12-31T23:59:59Z", "2027-12-31T23:59:59Z");
    /* both day fields restricted: either matches (the 1st, or a Monday) */
    expect_next("0 0 1 * MON", NULL, "2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z");
    expect_next("0 0 1 * MON", NULL, "2026-12-28T00:00:00Z", "2027-01-01T00:00:00Z");
    /* a day field from `*` counts as unrestricted: both must match */
    expect_next("0 0 */2 * MON", NULL, "2026-12-01T00:00:00Z", "2026-12-07T00:00:00Z");
}

Test(cron, never)
{
    tc_cron_t c = parse_ok("0 0 30 2 *");
    int64_t next = 0;
    cr_assert_eq(tc_cron_next(&c, NULL, at("2026-01-01T00:00:00Z"), &next), TC_ENOTFOUND);
}

Test(cron, next_in_a_zone)
{
    tc_tz_t *berlin = zone("Europe/Berlin"), *kolkata = zone("Asia/Kolkata");
    expect_next("0 9 * * *", berlin, "2026-12-03T07:59:59Z", "2026-12-03T08:00:00Z");
    expect_next("0 9 * * *", berlin, "2026-07-03T06:00:00Z", "2026-07-03T07:00:00Z");
    expect_next("30 0 * * *", kolkata, "2026-12-03T00:00:00Z", "2026-12-03T19:00:00Z");
    /* the local day, not the UTC day: 00:30 on the 1st in Kolkata is the 31st in UTC */
    expect_next("30 0 1 * *", kolkata, "2026-12-03T00:00:00Z", "2026-12-31T19:00:00Z");
    tc_tz_free(berlin);
    tc_tz_free(kolkata);
}

Test(cron, spring_forward)
{
    tc_tz_t *ny = zone("America/New_York");
    /* 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z). 02:30 does not exist: it fires at
     * 07:30Z (03:30 EDT), once */
    expect_next("30 2 * * *", ny, "2026-03-07T08:00:00Z", "2026-03-08T07:30:00Z");
    expect_next("30 2 * * *", ny, "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z");
    /* hourly across the change: 01:00 EST, then 03:00 EDT (02:00 and 03:00 wall are the same
     * instant), never twice */
    expect_next("0 * * * *", ny, "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z");
    expect_next("0 * * * *", ny, "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z");
    tc_tz_free(ny);
}

Test(cron, fall_back)
{
    tc_tz_t *ny = zone("America/New_York");
    /* 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z). 01:30 happens twice: once, first */
    expect_next("30 1 * * *", ny, "2026-10-31T06:00:00Z", "2026-11-01T05:30:00Z");
    expect_next("30 1 * * *", ny, "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z");
    expect_next("0 * * * *", ny, "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z");
    tc_tz_free(ny);
}

Test(cron, every_instant_once_across_changes)
{
    /* every 20 minutes through a whole year in New York and Lord Howe (30-minute daylight
     * saving): strictly increasing, never more than 20 minutes plus the gap apart */
    const char *zones[] = {"America/New_York", "Australia/Lord_Howe"};
    tc_cron_t c = parse_ok("*/20 * * * *");
    for (size_t z = 0; z < TC_ARRAY_LEN(zones); z++) {
        tc_tz_t *tz = zone(zones[z]);
        int64_t t = at("2026-01-01T00:00:00Z"), end = at("2027-01-01T00:00:00Z");
        int n = 0;
        while (t < end) {
            int64_t next = 0;
            cr_assert_eq(tc_cron_next(&c, tz, t, &next), TC_OK);
            cr_assert_gt(next, t);
            cr_assert_leq(next - t, 20 * 60 + 3600, "%s: %lld after %lld", zones[z],
                          (long long)next, (long long)t);
            t = next;
            n++;
        }
        /* a year of 20-minute slots, less the repeated hour's (fired once) */
        cr_assert(n >= 365 * 72 - 3 && n <= 365 * 72, "%s: %d", zones[z], n);
        tc_tz_free(tz);
    }
}

/* The instants of every wall time in [from_wall, to_wall] that matches, each once, in order:
 * what iterating tc_cron_next must give (a brute-force oracle over the zone's conversion). */
static size_t oracle(const tc_cron_t *c, const tc_tz_t *tz, int64_t from_wall, int64_t to_wall,
                     int64_t *out, size_t cap)
{
    size_t n = 0;
    for (int64_t w = from_wall; w <= to_wall; w++) {
        time_t t = (time_t)w;
        struct tm tm;
        gmtime_r(&t, &tm);
        bool dom = c->dom & (1u << tm.tm_mday), dow = c->dow & (1u << tm.tm_wday);
        bool day = (c->dom_any || c->dow_any) ? dom && dow : dom || dow;
        if (!day || !(c->month & (1u << (tm.tm_mon + 1))) || !(c->hour & (1u << tm.tm_hour)) ||
            !(c->min & (1ull << tm.tm_min)) || !(c->sec & (1ull << tm.tm_sec)))
            continue;
        int64_t u = tc_tz_to_utc(tz, w, NULL);
        size_t i = n;
        while (i > 0 && out[i - 1] > u)
            i--;
        if (i > 0 && out[i - 1] == u)
            continue;
        cr_assert_lt(n, cap);
        memmove(out + i + 1, out + i, (n - i) * sizeof *out);
        out[i] = u;
        n++;
    }
    return n;
}

Test(cron, every_instant_once_in_order_around_changes)
{
    /* zones with 1-hour, 30-minute and 2-hour changes (Troll: +00 to +02 in March) */
    const struct {
        const char *zone, *expr, *from, *to;
    } cases[] = {
        {"America/New_York", "*/20 * * * *", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"},
        {"America/New_York", "*/20 * * * *", "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"},
        {"America/New_York", "30 1,2,3 * * *", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"},
        {"Australia/Lord_Howe", "*/20 * * * *", "2026-10-03T00:00:00Z", "2026-10-06T00:00:00Z"},
        {"Australia/Lord_Howe", "*/20 * * * *", "2026-04-04T00:00:00Z", "2026-04-07T00:00:00Z"},
        {"Antarctica/Troll", "0 1,2,3,4 * * *", "2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"},
        {"Antarctica/Troll", "*/15 * * * *", "2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"},
        {"Antarctica/Troll", "0 2,3 * * *", "2026-03-28T00:00:00Z", "2026-04-01T00:00:00Z"},
        {"Europe/Berlin", "*/30 * * * * *", "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"},
    };
    static int64_t want[20000];
    for (size_t k = 0; k < TC_ARRAY_LEN(cases); k++) {
        tc_tz_t *tz = zone(cases[k].zone);
        tc_cron_t c = parse_ok(cases[k].expr);
        int64_t from = at(cases[k].from), to = at(cases[k].to);
        /* wall times a day either side, then the instants within [from, to] */
        size_t n = oracle(&c, tz, from - 86400, to + 86400, want, TC_ARRAY_LEN(want));
        size_t i = 0, got = 0;
        while (i < n && want[i] <= from)
            i++;
        for (int64_t t = from;; got++, i++) {
            int64_t next = 0;
            cr_assert_eq(tc_cron_next(&c, tz, t, &next), TC_OK);
            if (next > to)
                break;
            cr_assert(i < n, "%s %s: %lld not in the oracle", cases[k].zone, cases[k].expr,
                      (long long)next);
            cr_assert_eq(next, want[i], "%s %s: got %lld, want %lld (#%zu)", cases[k].zone,
                         cases[k].expr, (long long)next, (long long)want[i], got);
            t = next;
        }
        cr_assert(i >= n || want[i] > to, "%s %s: %lld never came", cases[k].zone, cases[k].expr,
                  (long long)want[i]);
        cr_assert_gt(got, 3);
        tc_tz_free(tz);
    }
}
