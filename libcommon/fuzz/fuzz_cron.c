/* libFuzzer driver: cron expressions (customers write them) and their next times in UTC and
 * in a zone with daylight saving: a parsed expression's next time is always later than the
 * time it was asked after, or there is none. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/tc_core.h"
#include "tc/tc_cron.h"
#include "tc/tc_tz.h"

static tc_tz_t *zone(void)
{
    static tc_tz_t *tz; /* loaded once for the process; the zone files do not change */
    if (!tz && tc_tz_load("America/New_York", &tz) != TC_OK)
        tz = NULL;
    return tz;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the first 4 bytes pick the instant (1970..2106), the rest is the expression */
    if (size < 4 || size > 4 + TC_CRON_EXPR_MAX)
        return 0;
    uint32_t t =
        (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    char expr[TC_CRON_EXPR_MAX + 1];
    memcpy(expr, data + 4, size - 4);
    expr[size - 4] = '\0';
    tc_cron_t c;
    char err[160];
    if (tc_cron_parse(expr, &c, err, sizeof err) != TC_OK) {
        if (err[0] == '\0')
            abort(); /* a refusal always says why */
        return 0;
    }
    int64_t next = 0;
    int rc = tc_cron_next(&c, NULL, t, &next);
    if ((rc == TC_OK && next <= (int64_t)t) || (rc != TC_OK && rc != TC_ENOTFOUND))
        abort();
    tc_tz_t *tz = zone();
    if (tz) {
        rc = tc_cron_next(&c, tz, t, &next);
        if ((rc == TC_OK && next <= (int64_t)t) || (rc != TC_OK && rc != TC_ENOTFOUND))
            abort();
    }
    return 0;
}
