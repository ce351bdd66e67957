#include "tc/tc_time.h"
#include "tc/tc_core.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t g_offset_ms; /* test clock offset, owned by this module */

int64_t tc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&g_offset_ms);
}

int64_t tc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tc_mono_ms(void)
{
    return tc_mono_ns() / 1000000;
}

void tc_time_set_offset_ms(int64_t offset)
{
    atomic_store(&g_offset_ms, offset);
}

static void format_general(time_t secs, int ms, char out[TC_RFC3339_LEN])
{
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, TC_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, TC_RFC3339_LEN - n, ".%03uZ", (unsigned)ms % 1000u);
}

void tc_time_format(int64_t epoch_ms, char out[TC_RFC3339_LEN])
{
    time_t secs = (time_t)(epoch_ms / 1000);
    int ms = (int)(epoch_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    /* Every log line is stamped, so each thread keeps the second it formatted last: within
     * that second only the milliseconds change. */
    static _Thread_local time_t t_secs = (time_t)-1;
    static _Thread_local char t_prefix[TC_RFC3339_LEN];
    static _Thread_local size_t t_len;
    if (secs != t_secs || t_len == 0) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        t_len = strftime(t_prefix, sizeof t_prefix, "%Y-%m-%dT%H:%M:%S", &tm);
        t_secs = secs;
    }
    if (t_len == 0 || t_len + 6 > TC_RFC3339_LEN) { /* did not fit: as much as fits */
        format_general(secs, ms, out);
        return;
    }
    memcpy(out, t_prefix, t_len);
    char *p = out + t_len;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    *p++ = 'Z';
    *p = '\0';
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return TC_EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return TC_OK;
}

static int expect(const char **p, char c)
{
    if (**p != c && !(c == 'T' && (**p == 't' || **p == ' ')))
        return TC_EINVAL;
    (*p)++;
    return TC_OK;
}

static int days_in_month(int y, int mo)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[mo - 1] + (mo == 2 && leap);
}

int tc_time_parse(const char *s, int64_t *epoch_ms)
{
    const char *p = s;
    int y, mo, d, h, mi, se, ms = 0;
    if (!s || parse_digits(&p, 4, &y) || expect(&p, '-') || parse_digits(&p, 2, &mo) ||
        expect(&p, '-') || parse_digits(&p, 2, &d) || expect(&p, 'T') || parse_digits(&p, 2, &h) ||
        expect(&p, ':') || parse_digits(&p, 2, &mi) || expect(&p, ':') || parse_digits(&p, 2, &se))
        return TC_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return TC_EINVAL;
    if (*p == '.') {
        p++;
        int digits = 0, frac = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return TC_EINVAL;
        for (int i = digits; i < 3; i++)
            frac *= 10;
        ms = frac;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (parse_digits(&p, 2, &oh) || expect(&p, ':') || parse_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return TC_EINVAL;
        offset_min = sign * (oh * 60 + om);
    } else {
        return TC_EINVAL;
    }
    if (*p != '\0')
        return TC_EINVAL;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && errno == EOVERFLOW)
        return TC_EINVAL;
    *epoch_ms = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
    return TC_OK;
}

void tc_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

struct timespec tc_deadline_ms(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
