#include "tc/tc_cron.h"
#include "tc/tc_core.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* how far ahead a next time is looked for: "0 0 29 2 *" waits eight years across 2100 */
#define SEARCH_DAYS (366 * 10)

static const char *const MONTHS[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const DAYS[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

typedef struct {
    const char *what;
    int lo, hi;
    const char *const *names; /* names[i] is lo + i */
    int nnames;
    bool question; /* `?` allowed (the day fields) */
} field_t;

static const field_t F_SEC = {"second", 0, 59, NULL, 0, false};
static const field_t F_MIN = {"minute", 0, 59, NULL, 0, false};
static const field_t F_HOUR = {"hour", 0, 23, NULL, 0, false};
static const field_t F_DOM = {"day of month", 1, 31, NULL, 0, true};
static const field_t F_MONTH = {"month", 1, 12, MONTHS, 12, false};
static const field_t F_DOW = {"day of week", 0, 7, DAYS, 7, true};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return TC_EINVAL;
}

/* A number or a name at *p; advances p. */
static bool parse_value(const field_t *f, const char **p, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0, n = 0;
        while (isdigit((unsigned char)*s) && n < 3) {
            v = v * 10 + (*s++ - '0');
            n++;
        }
        if (isdigit((unsigned char)*s))
            return false;
        *out = v;
        *p = s;
        return true;
    }
    for (int i = 0; i < f->nnames; i++) {
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *out = f->lo + i;
            *p = s + 3;
            return true;
        }
    }
    return false;
}

/* One comma-separated item of a field into *bits. */
static int parse_item(const field_t *f, const char *s, const char *end, uint64_t *bits, char *err,
                      size_t errlen)
{
    int a = f->lo, b = f->hi, step = 1;
    const char *p = s;
    if (*p == '*' || (*p == '?' && f->question)) {
        p++;
    } else {
        if (!parse_value(f, &p, &a))
            return fail(err, errlen, "the %s field has '%.*s', not a value", f->what,
                        (int)(end - s), s);
        b = a;
        if (*p == '-') {
            p++;
            if (!parse_value(f, &p, &b))
                return fail(err, errlen, "the %s field has a range without its end", f->what);
        } else if (*p == '/') {
            b = f->hi; /* n/step: from n to the field's end */
        }
    }
    if (*p == '/') {
        p++;
        if (!isdigit((unsigned char)*p) || !parse_value(&F_MIN, &p, &step) || step < 1)
            return fail(err, errlen, "the %s field has a step that is not a positive number",
                        f->what);
    }
    if (p != end)
        return fail(err, errlen, "the %s field has '%.*s', which is not cron syntax", f->what,
                    (int)(end - s), s);
    if (a < f->lo || b > f->hi || a > b)
        return fail(err, errlen, "the %s field allows %d to %d in ascending ranges, not '%.*s'",
                    f->what, f->lo, f->hi, (int)(end - s), s);
    if (step > f->hi - f->lo + 1)
        return fail(err, errlen, "the %s field's step %d is larger than its range", f->what, step);
    for (int v = a; v <= b; v += step)
        *bits |= (uint64_t)1 << v;
    return TC_OK;
}

static int parse_field(const field_t *f, const char *s, uint64_t *bits, bool *any, char *err,
                       size_t errlen)
{
    *bits = 0;
    if (any)
        *any = *s == '*' || *s == '?';
    for (;;) {
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        if (end == s)
            return fail(err, errlen, "the %s field has an empty list item", f->what);
        int rc = parse_item(f, s, end, bits, err, errlen);
        if (rc != TC_OK)
            return rc;
        if (*end == '\0')
            return TC_OK;
        s = end + 1;
    }
}

static const char *macro(const char *expr)
{
    static const struct {
        const char *name, *expr;
    } MACROS[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(MACROS); i++)
        if (strcasecmp(expr, MACROS[i].name) == 0)
            return MACROS[i].expr;
    return NULL;
}

int tc_cron_parse(const char *expr, tc_cron_t *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!expr || strlen(expr) >= TC_CRON_EXPR_MAX)
        return fail(err, errlen, "a cron expression has 1 to %d characters", TC_CRON_EXPR_MAX - 1);
    while (isspace((unsigned char)*expr))
        expr++;
    if (*expr == '@') {
        const char *m = macro(expr);
        if (!m)
            return fail(err, errlen,
                        "'%s' is not a cron macro (@yearly, @annually, @monthly, "
                        "@weekly, @daily, @midnight, @hourly)",
                        expr);
        expr = m;
    }
    char copy[TC_CRON_EXPR_MAX], *fields[7], *save = NULL;
    snprintf(copy, sizeof copy, "%s", expr);
    int n = 0;
    for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == 6)
            return fail(err, errlen, "a cron expression has 5 fields (or 6, seconds first)");
        fields[n++] = t;
    }
    if (n != 5 && n != 6)
        return fail(err, errlen, "a cron expression has 5 fields (or 6, seconds first), not %d", n);
    c->has_seconds = n == 6;
    char **f = fields + (n == 6);
    uint64_t hour = 0, dom = 0, month = 0, dow = 0;
    int rc = TC_OK;
    if (n == 6)
        rc = parse_field(&F_SEC, fields[0], &c->sec, NULL, err, errlen);
    else
        c->sec = 1; /* second 0 */
    if (rc == TC_OK)
        rc = parse_field(&F_MIN, f[0], &c->min, NULL, err, errlen);
    if (rc == TC_OK)
        rc = parse_field(&F_HOUR, f[1], &hour, NULL, err, errlen);
    if (rc == TC_OK)
        rc = parse_field(&F_DOM, f[2], &dom, &c->dom_any, err, errlen);
    if (rc == TC_OK)
        rc = parse_field(&F_MONTH, f[3], &month, NULL, err, errlen);
    if (rc == TC_OK)
        rc = parse_field(&F_DOW, f[4], &dow, &c->dow_any, err, errlen);
    if (rc != TC_OK)
        return rc;
    if (dow & (1u << 7))
        dow = (dow | 1u) & 0x7f; /* 7 is Sunday */
    c->hour = (uint32_t)hour;
    c->dom = (uint32_t)dom;
    c->month = (uint16_t)month;
    c->dow = (uint8_t)dow;
    return TC_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Vixie's rule: with either day field unrestricted both must match, else either may. */
static bool day_matches(const tc_cron_t *c, int64_t day)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    if (!(c->month & (1u << (tm.tm_mon + 1))))
        return false;
    bool dom = c->dom & (1u << tm.tm_mday), dow = c->dow & (1u << tm.tm_wday);
    return (c->dom_any || c->dow_any) ? dom && dow : dom || dow;
}

static int64_t to_utc(const tc_tz_t *tz, int64_t wall, int *kind)
{
    if (!tz) {
        *kind = TC_TZ_NORMAL;
        return wall;
    }
    return tc_tz_to_utc(tz, wall, kind);
}

/* The first wall time in (from, to] that c names and whose instant is after after_s: true
 * with *wall, *utc and *kind. */
static bool scan(const tc_cron_t *c, const tc_tz_t *tz, int64_t from, int64_t to, int64_t after_s,
                 int64_t *wall, int64_t *utc, int *kind)
{
    for (int64_t d = floor_div(from, 86400); d <= floor_div(to, 86400); d++) {
        if (!day_matches(c, d))
            continue;
        for (int h = 0; h < 24; h++) {
            int64_t hbase = d * 86400 + h * 3600;
            if (!(c->hour & (1u << h)) || hbase + 3599 <= from || hbase > to)
                continue;
            for (int m = 0; m < 60; m++) {
                int64_t mbase = hbase + m * 60;
                if (!(c->min & ((uint64_t)1 << m)) || mbase + 59 <= from || mbase > to)
                    continue;
                for (int s = 0; s < 60; s++) {
                    int64_t w = mbase + s;
                    if (!(c->sec & ((uint64_t)1 << s)) || w <= from || w > to)
                        continue;
                    int64_t u = to_utc(tz, w, kind);
                    if (u > after_s) {
                        *wall = w;
                        *utc = u;
                        return true;
                    }
                }
            }
        }
    }
    return false;
}

/* The lowest offset in effect within a day of t: no wall time at or below t + that offset
 * can be an instant after t, so the search skips them without converting each. */
static int32_t lowest_offset(const tc_tz_t *tz, int64_t t)
{
    if (!tz)
        return 0;
    int32_t lo = tc_tz_offset(tz, t);
    for (int64_t d = -86400; d <= 86400; d += 86400) {
        int32_t o = tc_tz_offset(tz, t + d);
        lo = o < lo ? o : lo;
    }
    return lo;
}

int tc_cron_next(const tc_cron_t *c, const tc_tz_t *tz, int64_t after_s, int64_t *next_s)
{
    const int64_t floor_wall = after_s + lowest_offset(tz, after_s);
    int64_t wall, utc;
    int kind;
    if (!scan(c, tz, floor_wall, floor_wall + (int64_t)SEARCH_DAYS * 86400, after_s, &wall, &utc,
              &kind))
        return TC_ENOTFOUND;
    if (kind == TC_TZ_GAP) {
        /* A skipped wall time runs the gap's length later, past real wall times just after the
         * change: those within the gap's length of it may name earlier instants. */
        int64_t gap = tc_tz_offset(tz, utc) - (wall - utc), w = wall, u;
        while (scan(c, tz, w, wall + gap - 1, after_s, &w, &u, &kind))
            if (u < utc)
                utc = u;
    }
    *next_s = utc;
    return TC_OK;
}
