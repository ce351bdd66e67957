/*
 * tc_cron.h: cron expressions, and their next time in an IANA time zone.
 *
 * The expression is Vixie cron's five fields (minute hour day-of-month month day-of-week), or
 * six with seconds first (as Quartz and Spring write them), or a macro (@yearly, @annually,
 * @monthly, @weekly, @daily, @midnight, @hourly). A field is a comma list of `*`, `n`, `a-b`,
 * each optionally `/step` (`n/step` runs from n to the field's end); months and weekdays also
 * by their English three-letter names; weekday 7 is Sunday as 0 is; `?` (Quartz, EventBridge)
 * is `*` in the day fields. When both day fields are restricted a day matches either (Vixie:
 * "0 0 1 * MON" is the 1st and every Monday); a day field written from `*` or `?` (`*` /2
 * included, as Vixie reads it) counts as unrestricted.
 *
 * Times are the zone's wall clock. A wall time that a forward change skips fires as the zone
 * reads it with the offset before the change (the gap's length later: 02:30 on a US
 * spring-forward day fires at 03:30 daylight time); one that a backward change repeats fires
 * once, at its first occurrence. No instant fires twice.
 */
#ifndef TC_CRON_H
#define TC_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/tc_tz.h"

#define TC_CRON_EXPR_MAX 256

typedef struct {
    uint64_t sec, min; /* bit n: second / minute n (0..59) */
    uint32_t hour;     /* 0..23 */
    uint32_t dom;      /* 1..31 */
    uint16_t month;    /* 1..12 */
    uint8_t dow;       /* 0..6, Sunday 0 */
    bool dom_any, dow_any;
    bool has_seconds; /* six fields */
} tc_cron_t;

/* TC_EINVAL with a sentence naming the field in err (err may be NULL). */
int tc_cron_parse(const char *expr, tc_cron_t *c, char *err, size_t errlen);

/* The first time after after_s (UTC seconds) that c names on tz's wall clock: TC_OK with
 * *next_s, TC_ENOTFOUND when there is none within ten years ("0 0 30 2 *"). tz NULL: UTC. */
int tc_cron_next(const tc_cron_t *c, const tc_tz_t *tz, int64_t after_s, int64_t *next_s);

#endif
