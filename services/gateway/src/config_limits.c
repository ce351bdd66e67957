/* The rate-limit sections: "plans" (per org, by the token's plan claim), "default_plan" and
 * "ip_rate_limit" (anonymous callers and auth "none" routes). */
#include "config_int.h"
#include "tc/tc_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_IP_PER_MINUTE 60
#define DEFAULT_IP_BURST      20

/* Whether libcommon's script takes the limit: its tolerance (interval × burst) must stay
 * within 2^48 µs. */
static bool gcra_ok(int64_t per_minute, int64_t burst)
{
    if (per_minute < 1 || burst < 1)
        return false;
    int64_t interval = (60000 * 1000 + per_minute - 1) / per_minute;
    return burst <= ((int64_t)1 << 48) / interval;
}

void gw_cv_rate(gw_cv_t *v, const cJSON *obj, const char *p, int64_t *per_minute, int64_t *burst)
{
    if (!cJSON_GetObjectItemCaseSensitive(obj, "per_minute"))
        gw_cv_error(v, p, "per_minute is required");
    *per_minute = gw_cv_int(v, obj, "per_minute", p, 1, 1, 10000000);
    *burst = gw_cv_int(v, obj, "burst", p, *per_minute, 1, 10000000);
    if (!gcra_ok(*per_minute, *burst))
        gw_cv_error(v, p, "burst %lld is too large for %lld per minute", (long long)*burst,
                    (long long)*per_minute);
}

int gw_config_parse_plans(gw_cv_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *plans = gw_cv_obj(v, root, "plans", "", 1);
    if (plans) {
        c->nplans = cJSON_GetArraySize(plans);
        if (c->nplans == 0)
            gw_cv_error(v, "plans", "must define at least one plan");
        c->plans = calloc((size_t)(c->nplans ? c->nplans : 1), sizeof *c->plans);
        if (!c->plans)
            return TC_ENOMEM;
    }
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, plans)
    {
        char p[96];
        snprintf(p, sizeof p, "plans.%s", it->string);
        gw_plan_t *pl = &c->plans[i++];
        if (strlen(it->string) >= sizeof pl->name || !it->string[0])
            gw_cv_error(v, p, "plan name must be 1 to %zu characters", sizeof pl->name - 1);
        snprintf(pl->name, sizeof pl->name, "%s", it->string);
        if (!cJSON_IsObject(it)) {
            gw_cv_error(v, p, "must be an object {\"per_minute\": …, \"per_day\": …}");
            continue;
        }
        gw_cv_keys(v, it, p, (const char *const[]){"per_minute", "per_day", "burst", NULL});
        gw_cv_rate(v, it, p, &pl->per_minute, &pl->burst);
        const cJSON *day = cJSON_GetObjectItemCaseSensitive(it, "per_day");
        if (!day)
            gw_cv_error(v, p, "per_day is required (null for unlimited)");
        pl->per_day = cJSON_IsNull(day) ? -1 : gw_cv_int(v, it, "per_day", p, -1, 1, 1000000000000);
    }
    const char *def = gw_cv_str(v, root, "default_plan", "", 0);
    c->default_plan = -1;
    for (i = 0; i < c->nplans; i++)
        if (strcmp(c->plans[i].name, def ? def : "free") == 0)
            c->default_plan = i;
    if (plans && c->default_plan < 0)
        gw_cv_error(v, "default_plan", "plan \"%s\" is not defined in plans", def ? def : "free");
    return TC_OK;
}

void gw_config_parse_ip_limit(gw_cv_t *v, const cJSON *root, gw_config_t *c)
{
    c->ip_per_minute = DEFAULT_IP_PER_MINUTE;
    c->ip_burst = DEFAULT_IP_BURST;
    const cJSON *ip = gw_cv_obj(v, root, "ip_rate_limit", "", 0);
    if (!ip)
        return;
    gw_cv_keys(v, ip, "ip_rate_limit", (const char *const[]){"per_minute", "burst", NULL});
    c->ip_per_minute =
        gw_cv_int(v, ip, "per_minute", "ip_rate_limit", DEFAULT_IP_PER_MINUTE, 1, 10000000);
    c->ip_burst = gw_cv_int(v, ip, "burst", "ip_rate_limit", DEFAULT_IP_BURST, 1, 10000000);
}
