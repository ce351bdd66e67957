/*
 * tc_trace: W3C traceparent parsing, child spans and the request ids kept from callers.
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
