/*
 * tc_time: RFC 3339 formatting and parsing, the test clock offset, the monotonic clock.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_format(int64_t ms, const char *want)
{
    char out[TC_RFC3339_LEN];
    tc_time_format(ms, out);
    cr_assert_str_eq(out, want, "format(%lld)", (long long)ms);
}

static int64_t parse_ok(const char *s)
{
    int64_t ms = -12345;
    cr_assert_eq(tc_time_parse(s, &ms), TC_OK, "parse(%s)", s);
    return ms;
}

Test(time, format)
{
    expect_format(0, "1970-01-01T00:00:00.000Z");
    expect_format(1736937000123LL, "2025-01-15T10:30:00.123Z");
    expect_format(1736937000000LL, "2025-01-15T10:30:00.000Z");
    expect_format(1736937000007LL, "2025-01-15T10:30:00.007Z");
    expect_format(951782400000LL, "2000-02-29T00:00:00.000Z");
    expect_format(-1, "1969-12-31T23:59:59.999Z");
    expect_format(-1000, "1969-12-31T23:59:59.000Z");
    expect_format(253402300799999LL, "9999-12-31T23:59:59.999Z");
}

/* The formatter keeps the last second it formatted per thread: successive calls within one
 * second, across a second, and back to an earlier second must each be whole and right. */
Test(time, format_within_and_across_seconds)
{
    expect_format(1736937000123LL, "2025-01-15T10:30:00.123Z");
    expect_format(1736937000999LL, "2025-01-15T10:30:00.999Z");
    expect_format(1736937001000LL, "2025-01-15T10:30:01.000Z");
    expect_format(1736937000500LL, "2025-01-15T10:30:00.500Z");
    expect_format(-1, "1969-12-31T23:59:59.999Z");
    expect_format(-1000, "1969-12-31T23:59:59.000Z");
    expect_format(1736937000050LL, "2025-01-15T10:30:00.050Z");
}

Test(time, parse_and_round_trip)
{
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.123Z"), 1736937000123LL);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    cr_assert_eq(parse_ok("1969-12-31T23:59:59Z"), -1000);
    cr_assert_eq(parse_ok("2024-02-29T12:00:00Z"), 1709208000000LL);
    static const int64_t values[] = {0,
                                     1,
                                     999,
                                     1000,
                                     -1,
                                     -999,
                                     -1001,
                                     1736937000123LL,
                                     86399999,
                                     86400000,
                                     4102444800000LL,
                                     951868799999LL};
    for (size_t i = 0; i < TC_ARRAY_LEN(values); i++) {
        char s[TC_RFC3339_LEN];
        tc_time_format(values[i], s);
        cr_assert_eq(parse_ok(s), values[i], "%s", s);
    }
}

Test(time, fractional_seconds)
{
    const int64_t base = 1736937000000LL;
    cr_assert_eq(parse_ok("2025-01-15T10:30:00Z"), base);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.1Z"), base + 100);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.12Z"), base + 120);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.123Z"), base + 123);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.123999Z"), base + 123, "truncated, not rounded");
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.000000001Z"), base);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00.999999999Z"), base + 999);
}

Test(time, offsets)
{
    const int64_t want = 1736937000000LL; /* 2025-01-15T10:30:00Z */
    cr_assert_eq(parse_ok("2025-01-15T12:30:00+02:00"), want);
    cr_assert_eq(parse_ok("2025-01-15T05:00:00-05:30"), want);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00+00:00"), want);
    cr_assert_eq(parse_ok("2025-01-15T10:30:00-00:00"), want);
    cr_assert_eq(parse_ok("2025-01-16T00:15:00+13:45"), want);
    cr_assert_eq(parse_ok("2025-01-15T12:30:00.250+02:00"), want + 250);
    /* an offset that crosses midnight and a year boundary */
    cr_assert_eq(parse_ok("2024-12-31T23:00:00-01:00"), parse_ok("2025-01-01T00:00:00Z"));
    /* RFC 3339 allows lower-case t/z and a space separator */
    cr_assert_eq(parse_ok("2025-01-15t10:30:00z"), want);
    cr_assert_eq(parse_ok("2025-01-15 10:30:00Z"), want);
}

Test(time, invalid_inputs)
{
    static const char *const bad[] = {
        "",
        "2025",
        "2025-01-15",
        "2025-01-15T10:30",
        "2025-01-15T10:30:00",      /* no zone */
        "2025-01-15T10:30:00.Z",    /* empty fraction */
        "2025-01-15T10:30:00,5Z",   /* comma fraction */
        "2025-01-15T10:30:00Zjunk", /* trailing bytes */
        "2025-01-15T10:30:00Z ",
        " 2025-01-15T10:30:00Z",
        "2025-1-15T10:30:00Z", /* one-digit month */
        "25-01-15T10:30:00Z",
        "2025/01/15T10:30:00Z",
        "2025-01-15X10:30:00Z",
        "2025-13-01T00:00:00Z", /* month */
        "2025-00-10T00:00:00Z",
        "2025-01-00T00:00:00Z", /* day */
        "2025-01-32T00:00:00Z",
        "2025-02-30T00:00:00Z", /* day beyond the month */
        "2025-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z",
        "2025-04-31T00:00:00Z",
        "2025-01-15T24:00:00Z",     /* hour */
        "2025-01-15T10:60:00Z",     /* minute */
        "2025-01-15T10:30:61Z",     /* second */
        "2025-01-15T10:30:00+0200", /* offset without colon */
        "2025-01-15T10:30:00+02",
        "2025-01-15T10:30:00+2:00",
        "2025-01-15T10:30:00+24:00", /* offset hour */
        "2025-01-15T10:30:00+02:60", /* offset minute */
        "2025-01-15T10:30:00 +02:00",
        "-025-01-15T10:30:00Z",
        "2025-01-15T1a:30:00Z",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        int64_t ms = 777;
        cr_expect_eq(tc_time_parse(bad[i], &ms), TC_EINVAL, "accepted \"%s\" as %lld", bad[i],
                     (long long)ms);
        cr_expect_eq(ms, 777, "output untouched for \"%s\"", bad[i]);
    }
    int64_t ms;
    cr_assert_eq(tc_time_parse(NULL, &ms), TC_EINVAL);
}

Test(time, leap_day_in_leap_years)
{
    cr_assert_eq(parse_ok("2000-02-29T00:00:00Z"), 951782400000LL);
    cr_assert_eq(parse_ok("2024-02-29T00:00:00Z"), 1709164800000LL);
    cr_assert_eq(parse_ok("2025-12-31T23:59:59.999Z"), 1767225599999LL);
}

Test(time, offset_shifts_now)
{
    int64_t before = tc_now_ms();
    tc_time_set_offset_ms(3600 * 1000);
    int64_t shifted = tc_now_ms();
    tc_time_set_offset_ms(-86400 * 1000LL);
    int64_t back = tc_now_ms();
    tc_time_set_offset_ms(0);
    int64_t after = tc_now_ms();
    cr_assert_geq(shifted - before, 3600 * 1000);
    cr_assert_lt(shifted - before, 3600 * 1000 + 5000);
    cr_assert_leq(back - before, -86400 * 1000LL + 5000);
    cr_assert_geq(back - before, -86400 * 1000LL);
    cr_assert_geq(after, before);
    cr_assert_lt(after - before, 5000);
}

Test(time, now_is_wall_clock)
{
    /* 2020-01-01 .. 2200-01-01 */
    int64_t now = tc_now_ms();
    cr_assert_gt(now, 1577836800000LL);
    cr_assert_lt(now, 7258118400000LL);
}

Test(time, monotonic_and_sleep)
{
    int64_t a = tc_mono_ms();
    int64_t an = tc_mono_ns();
    tc_sleep_ms(20);
    int64_t b = tc_mono_ms();
    int64_t bn = tc_mono_ns();
    cr_assert_geq(b - a, 20);
    cr_assert_lt(b - a, 5000);
    cr_assert_geq(bn - an, 20 * 1000000LL);
    tc_sleep_ms(0);
    tc_sleep_ms(-5);
    cr_assert_lt(tc_mono_ms() - b, 5000);
}

Test(time, deadline_is_ms_ahead_on_the_given_clock_with_nanoseconds_carried)
{
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    struct timespec d = tc_deadline_ms(CLOCK_MONOTONIC, 1999);
    clock_gettime(CLOCK_MONOTONIC, &after);
    int64_t d_ns = (int64_t)d.tv_sec * 1000000000 + d.tv_nsec;
    int64_t lo = (int64_t)before.tv_sec * 1000000000 + before.tv_nsec + 1999000000LL;
    int64_t hi = (int64_t)after.tv_sec * 1000000000 + after.tv_nsec + 1999000000LL;
    cr_assert(d_ns >= lo && d_ns <= hi);
    cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L, "nanoseconds stay below a second");
    struct timespec r = tc_deadline_ms(CLOCK_REALTIME, 0);
    cr_assert_geq(r.tv_sec, before.tv_sec, "the realtime clock is the epoch's, ahead of boot");
}
