/*
 * tc_buf (growable buffer, JSON escaping), tc_time (RFC 3339, test clock offset) and
 * tc_trace (W3C traceparent parsing and child spans).
 */
#include <criterion/criterion.h>

#include "tc/tc_buf.h"
#include "tc/tc_core.h"
#include "tc/tc_time.h"
#include "tc/tc_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- tc_buf */

Test(buf, starts_empty)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    tc_buf_t c;
    tc_buf_init(&c);
    cr_assert_null(c.data);
    cr_assert_eq(c.len, 0);
    cr_assert_eq(c.cap, 0);
    cr_assert_eq(c.oom, 0);
    tc_buf_free(&b);
    tc_buf_free(&c);
}

Test(buf, append_puts_putc)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_append(&b, "abc", 3), TC_OK);
    cr_assert_eq(tc_buf_puts(&b, "def"), TC_OK);
    cr_assert_eq(tc_buf_putc(&b, '!'), TC_OK);
    cr_assert_eq(tc_buf_append(&b, "xyz", 0), TC_OK);
    cr_assert_eq(b.len, 7);
    cr_assert_str_eq(tc_buf_cstr(&b), "abcdef!");
    cr_assert_eq(b.data[b.len], '\0');
    /* binary data with NULs is kept, len counts it */
    cr_assert_eq(tc_buf_append(&b, "\0z", 2), TC_OK);
    cr_assert_eq(b.len, 9);
    cr_assert_eq(memcmp(b.data, "abcdef!\0z", 9), 0);
    cr_assert_eq(b.data[9], '\0');
    tc_buf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
}

Test(buf, empty_append_allocates_a_terminated_string)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_append(&b, "", 0), TC_OK);
    cr_assert_not_null(b.data);
    cr_assert_str_eq(b.data, "");
    tc_buf_free(&b);
}

Test(buf, printf_grows_over_many_kb)
{
    tc_buf_t b = TC_BUF_INIT;
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(tc_buf_printf(&b, "%05d,", i), TC_OK);
    cr_assert_eq(b.len, 5000 * 6);
    cr_assert_eq(strlen(b.data), b.len);
    cr_assert_geq(b.cap, b.len + 1);
    for (int i = 0; i < 5000; i += 499) {
        char want[16];
        snprintf(want, sizeof want, "%05d,", i);
        cr_assert_eq(memcmp(b.data + i * 6, want, 6), 0, "item %d", i);
    }
    /* one large formatted append */
    char *big = malloc(70001);
    cr_assert_not_null(big);
    memset(big, 'q', 70000);
    big[70000] = '\0';
    cr_assert_eq(tc_buf_printf(&b, "[%s]%d", big, 42), TC_OK);
    cr_assert_eq(b.len, 30000 + 70004);
    cr_assert_eq(b.data[30000], '[');
    cr_assert_eq(b.data[30000 + 70001], ']');
    cr_assert_str_eq(b.data + 30000 + 70002, "42");
    free(big);
    tc_buf_free(&b);
}

Test(buf, printf_empty_result)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_printf(&b, "%s", ""), TC_OK);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    tc_buf_free(&b);
}

Test(buf, reserve)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_reserve(&b, 1000), TC_OK);
    cr_assert_geq(b.cap, 1001);
    cr_assert_eq(b.len, 0);
    char *before = b.data;
    for (int i = 0; i < 1000; i++)
        tc_buf_putc(&b, 'x');
    cr_assert_eq(b.data, before, "no reallocation within the reserved space");
    cr_assert_eq(b.len, 1000);
    tc_buf_free(&b);
}

static char *escape(const char *s, size_t n)
{
    tc_buf_t b = TC_BUF_INIT;
    cr_assert_eq(tc_buf_json_escape(&b, s, n), TC_OK);
    return tc_buf_detach(&b);
}

static void expect_escape(const char *s, size_t n, const char *want)
{
    char *got = escape(s, n);
    cr_assert_str_eq(got, want);
    free(got);
}

Test(buf, json_escape)
{
    expect_escape("", 0, "");
    expect_escape("plain text", 10, "plain text");
    expect_escape("say \"hi\"", 8, "say \\\"hi\\\"");
    expect_escape("C:\\dir\\", 7, "C:\\\\dir\\\\");
    expect_escape("a\nb\rc\td", 7, "a\\nb\\rc\\td");
    expect_escape("\x01\x08\x0c\x1f", 4, "\\u0001\\u0008\\u000c\\u001f");
    expect_escape("a\0b", 3, "a\\u0000b");
    expect_escape("\x7f", 1, "\x7f");
    expect_escape("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac");
    expect_escape("</script>", 9, "</script>");
    /* only n bytes are read */
    expect_escape("ab\"cd", 2, "ab");
}

Test(buf, json_escape_result_parses_back)
{
    char raw[64];
    for (int i = 0; i < 32; i++)
        raw[i] = (char)(i + 1 == 32 ? 0x20 : i + 1);
    memcpy(raw + 32, "\"\\/end", 6);
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_putc(&b, '"');
    tc_buf_json_escape(&b, raw, 38);
    tc_buf_putc(&b, '"');
    cr_assert_eq(b.oom, 0);
    /* compare with a straightforward decoder of the escapes used */
    char out[64];
    size_t o = 0;
    for (size_t i = 1; i + 1 < b.len; i++) {
        if (b.data[i] != '\\') {
            out[o++] = b.data[i];
            continue;
        }
        char e = b.data[++i];
        if (e == 'u') {
            unsigned v;
            cr_assert_eq(sscanf(b.data + i + 1, "%4x", &v), 1);
            out[o++] = (char)v;
            i += 4;
        } else {
            out[o++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
        }
    }
    cr_assert_eq(o, 38);
    cr_assert_eq(memcmp(out, raw, 38), 0);
    tc_buf_free(&b);
}

Test(buf, detach)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "hello");
    char *s = tc_buf_detach(&b);
    cr_assert_str_eq(s, "hello");
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, 0);
    /* the buffer is usable again and independent of the detached string */
    tc_buf_puts(&b, "again");
    cr_assert_str_eq(tc_buf_cstr(&b), "again");
    cr_assert_str_eq(s, "hello");
    free(s);
    tc_buf_free(&b);

    char *empty = tc_buf_detach(&b);
    cr_assert_not_null(empty, "an empty buffer detaches as \"\"");
    cr_assert_str_eq(empty, "");
    free(empty);
}

Test(buf, detach_after_oom_is_null)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "partial");
    b.oom = 1; /* as after a failed allocation */
    cr_assert_eq(tc_buf_puts(&b, "more"), TC_ENOMEM);
    cr_assert_eq(tc_buf_printf(&b, "%d", 1), TC_ENOMEM);
    cr_assert_str_eq(tc_buf_cstr(&b), "partial", "appends after oom are ignored");
    cr_assert_null(tc_buf_detach(&b));
    cr_assert_null(b.data);
    cr_assert_eq(b.oom, 0);
}

Test(buf, reset_keeps_allocation)
{
    tc_buf_t b = TC_BUF_INIT;
    tc_buf_puts(&b, "some content that needs space");
    char *data = b.data;
    size_t cap = b.cap;
    tc_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_eq(tc_buf_cstr(&b), "");
    cr_assert_eq(b.data, data);
    cr_assert_eq(b.cap, cap);
    tc_buf_puts(&b, "x");
    cr_assert_str_eq(tc_buf_cstr(&b), "x");
    tc_buf_free(&b);

    tc_buf_t e = TC_BUF_INIT;
    tc_buf_reset(&e); /* no allocation yet: still fine */
    cr_assert_str_eq(tc_buf_cstr(&e), "");
}

/* ------------------------------------------------------------------------- tc_time */

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

/* ------------------------------------------------------------------------- tc_trace */

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN  "00f067aa0ba902b7"

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

Test(trace, parse_valid)
{
    char tid[33], pid[17], flags[3];
    cr_assert_eq(tc_traceparent_parse("00-" TRACE "-" SPAN "-01", tid, pid, flags), TC_OK);
    cr_assert_str_eq(tid, TRACE);
    cr_assert_str_eq(pid, SPAN);
    cr_assert_str_eq(flags, "01");
    cr_assert_eq(tc_traceparent_parse("00-" TRACE "-" SPAN "-00", tid, pid, flags), TC_OK);
    cr_assert_str_eq(flags, "00");
    /* a future version may carry more fields after a '-' */
    cr_assert_eq(tc_traceparent_parse("01-" TRACE "-" SPAN "-01-what-ever", tid, pid, flags),
                 TC_OK);
    cr_assert_str_eq(tid, TRACE);
    cr_assert_eq(tc_traceparent_parse("cc-" TRACE "-" SPAN "-01", tid, pid, flags), TC_OK);
}

Test(trace, parse_invalid)
{
    static const char *const bad[] = {
        "",
        "00",
        "00-" TRACE "-" SPAN,                               /* no flags */
        "00-" TRACE "-" SPAN "-1",                          /* short flags */
        "00-" TRACE "-" SPAN "-011",                        /* long for version 00 */
        "00-" TRACE "-" SPAN "-01-",                        /* extra field, version 00 */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" SPAN "-01",   /* 31-char trace */
        "00-4bf92f3577b34da6a3ce929d0e0e47360-" SPAN "-01", /* 33-char trace */
        "00-" TRACE "-00f067aa0ba902b-01",                  /* 15-char span */
        "00-" TRACE "-00f067aa0ba902b70-01",                /* 17-char span */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01",  /* uppercase trace */
        "00-4bf92f3577b34da6a3ce929d0e0e473A-" SPAN "-01",
        "00-" TRACE "-00F067AA0BA902B7-01",                /* uppercase span */
        "00-" TRACE "-" SPAN "-0A",                        /* uppercase flags */
        "0A-" TRACE "-" SPAN "-01",                        /* uppercase version */
        "00-00000000000000000000000000000000-" SPAN "-01", /* all-zero trace */
        "00-" TRACE "-0000000000000000-01",                /* all-zero span */
        "ff-" TRACE "-" SPAN "-01",                        /* forbidden version */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" SPAN "-01", /* not hex */
        "00-" TRACE "-00f067aa0ba902bz-01",
        "00-" TRACE "-" SPAN "-0g",
        "00_" TRACE "-" SPAN "-01", /* separators */
        "00-" TRACE "_" SPAN "-01",
        "00-" TRACE "-" SPAN "_01",
        "01-" TRACE "-" SPAN "-01x", /* future version, bad tail */
        " 00-" TRACE "-" SPAN "-01",
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        char tid[33], pid[17], flags[3];
        cr_expect_eq(tc_traceparent_parse(bad[i], tid, pid, flags), TC_EINVAL, "accepted %s",
                     bad[i]);
    }
    char tid[33], pid[17], flags[3];
    cr_assert_eq(tc_traceparent_parse(NULL, tid, pid, flags), TC_EINVAL);
}

Test(trace, child_keeps_trace_and_makes_a_new_span)
{
    char a[56], b[56];
    cr_assert_eq(tc_traceparent_child(TRACE, "01", a), TC_OK);
    cr_assert_eq(tc_traceparent_child(TRACE, "01", b), TC_OK);
    cr_assert_eq(strlen(a), 55);
    cr_assert_eq(strncmp(a, "00-" TRACE "-", 36), 0, "%s", a);
    cr_assert(is_lower_hex(a + 36, 16), "%s", a);
    cr_assert_str_eq(a + 52, "-01");
    cr_assert_neq(memcmp(a + 36, b + 36, 16), 0, "spans are random");
    cr_assert_neq(memcmp(a + 36, SPAN, 16), 0);

    /* the child is itself a valid traceparent */
    char tid[33], pid[17], flags[3];
    cr_assert_eq(tc_traceparent_parse(a, tid, pid, flags), TC_OK);
    cr_assert_str_eq(tid, TRACE);
    cr_assert_eq(strncmp(pid, a + 36, 16), 0);
    cr_assert_str_eq(flags, "01");
}

Test(trace, child_keeps_flags)
{
    char out[56];
    cr_assert_eq(tc_traceparent_child(TRACE, "00", out), TC_OK);
    cr_assert_str_eq(out + 52, "-00");
    cr_assert_eq(tc_traceparent_child(TRACE, "1", out), TC_OK);
    cr_assert_str_eq(out + 52, "-01", "malformed flags fall back to sampled");
    cr_assert_eq(tc_traceparent_child(TRACE, NULL, out), TC_OK);
    cr_assert_str_eq(out + 52, "-01");
}

Test(trace, child_without_parent_starts_a_trace)
{
    char a[56], b[56];
    cr_assert_eq(tc_traceparent_child(NULL, "01", a), TC_OK);
    cr_assert_eq(tc_traceparent_child(NULL, "01", b), TC_OK);
    cr_assert_eq(strlen(a), 55);
    cr_assert_eq(strncmp(a, "00-", 3), 0);
    cr_assert(is_lower_hex(a + 3, 32));
    cr_assert(is_lower_hex(a + 36, 16));
    cr_assert_neq(memcmp(a + 3, b + 3, 32), 0, "a new trace id each time");
    char tid[33], pid[17], flags[3];
    cr_assert_eq(tc_traceparent_parse(a, tid, pid, flags), TC_OK);
    /* a malformed trace id is not kept */
    cr_assert_eq(tc_traceparent_child("abc", "01", a), TC_OK);
    cr_assert(is_lower_hex(a + 3, 32));
    cr_assert_eq(a[35], '-');
}

Test(trace, request_ids_kept_only_when_safe)
{
    cr_assert(tc_request_id_valid("req_01ABC", 9));
    cr_assert(tc_request_id_valid("a.b:c-d_e", 9));
    cr_assert_not(tc_request_id_valid("a b", 3));
    cr_assert_not(tc_request_id_valid("", 0));
    cr_assert_not(tc_request_id_valid("a\r\nX-Evil: 1", 12), "header injection");
    cr_assert_not(tc_request_id_valid(NULL, 3));
    char long_id[80];
    memset(long_id, 'a', sizeof long_id);
    cr_assert_not(tc_request_id_valid(long_id, 65));
    cr_assert(tc_request_id_valid(long_id, 64));
}
