/* The "upstreams" section: each upstream's targets (stable and canary groups), timeouts,
 * retries, breaker and keep-alive settings; and the breaker states a reload keeps. */
#include "config_int.h"
#include "tc/tc_core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_targets(gw_cv_t *v, const cJSON *arr, const char *path, gw_group_t *g,
                         const char *group)
{
    int n = cJSON_GetArraySize(arr);
    if (n > GW_MAX_GROUP_TARGETS) {
        gw_cv_error(v, path, "at most %d targets per group", GW_MAX_GROUP_TARGETS);
        n = GW_MAX_GROUP_TARGETS;
    }
    g->targets = calloc((size_t)n, sizeof *g->targets);
    if (!g->targets)
        return TC_ENOMEM;
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char p[256];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (i == n)
            break;
        gw_target_t *t = &g->targets[i];
        snprintf(t->name, sizeof t->name, "%s-%d", group, i++);
        breaker_init(&t->breaker);
        if (!cJSON_IsObject(it)) {
            gw_cv_error(v, p, "must be an object {\"url\": …, \"weight\": …}");
            continue;
        }
        gw_cv_keys(v, it, p, (const char *const[]){"url", "weight", NULL});
        const char *url = gw_cv_str(v, it, "url", p, 1);
        t->weight = (int)gw_cv_int(v, it, "weight", p, 1, 1, 1000);
        if (!url)
            continue;
        if (!(t->url = strdup(url)))
            return TC_ENOMEM;
        if (gw_target_parse_url(url, t) != TC_OK) {
            gw_cv_error(v, p, "url must be http://host[:port] (no path, no https), not \"%s\"",
                        url);
            continue;
        }
        gw_target_resolve(t);
    }
    g->n = n;
    return TC_OK;
}

static int parse_upstream(gw_cv_t *v, const cJSON *u, const char *p, gw_upstream_t *up)
{
    static const char *const keys[] = {
        "name",    "targets", "canary",    "connect_timeout_ms", "timeout_ms",
        "retries", "breaker", "keepalive", "keepalive_idle_ms",  NULL};
    gw_cv_keys(v, u, p, keys);
    const char *name = gw_cv_str(v, u, "name", p, 1);
    if (name) {
        for (const char *c = name; *c; c++)
            if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-' &&
                *c != '_') {
                gw_cv_error(v, p, "name must use a-z, 0-9, '-' and '_' only");
                break;
            }
        if (!(up->name = strdup(name)))
            return TC_ENOMEM;
    }
    up->connect_timeout_ms = (int)gw_cv_int(v, u, "connect_timeout_ms", p, 1000, 1, 60000);
    up->timeout_ms = (int)gw_cv_int(v, u, "timeout_ms", p, 30000, 1, 600000);
    up->retries = (int)gw_cv_int(v, u, "retries", p, 1, 0, 5);
    up->keepalive = (int)gw_cv_int(v, u, "keepalive", p, 32, 0, 10000);
    up->keepalive_idle_ms = (int)gw_cv_int(v, u, "keepalive_idle_ms", p, 20000, 100, 3600000);
    up->breaker_failures = 5;
    up->breaker_eject_ms = 30000;
    char bp[256];
    gw_cv_path(bp, sizeof bp, p, "breaker");
    const cJSON *br = gw_cv_obj(v, u, "breaker", p, 0);
    if (br) {
        gw_cv_keys(v, br, bp, (const char *const[]){"failures", "eject_ms", NULL});
        up->breaker_failures = (int)gw_cv_int(v, br, "failures", bp, 5, 1, 1000);
        up->breaker_eject_ms = (int)gw_cv_int(v, br, "eject_ms", bp, 30000, 100, 3600000);
    }
    char tp[256];
    gw_cv_path(tp, sizeof tp, p, "targets");
    const cJSON *targets = gw_cv_array(v, u, "targets", p, 1);
    if (targets && parse_targets(v, targets, tp, &up->groups[GW_GROUP_STABLE], "stable") != TC_OK)
        return TC_ENOMEM;
    atomic_init(&up->canary_weight, 0);
    char cp[256];
    gw_cv_path(cp, sizeof cp, p, "canary");
    const cJSON *canary = gw_cv_obj(v, u, "canary", p, 0);
    if (canary) {
        gw_cv_keys(v, canary, cp, (const char *const[]){"targets", "weight", NULL});
        atomic_store(&up->canary_weight, (int)gw_cv_int(v, canary, "weight", cp, 0, 0, 100));
        gw_cv_path(tp, sizeof tp, cp, "targets");
        const cJSON *ct = gw_cv_array(v, canary, "targets", cp, 1);
        if (ct && parse_targets(v, ct, tp, &up->groups[GW_GROUP_CANARY], "canary") != TC_OK)
            return TC_ENOMEM;
    }
    return TC_OK;
}

int gw_config_parse_upstreams(gw_cv_t *v, const cJSON *root, gw_config_t *c)
{
    const cJSON *arr = gw_cv_array(v, root, "upstreams", "", 1);
    if (!arr)
        return TC_OK;
    c->nupstreams = cJSON_GetArraySize(arr);
    c->upstreams = calloc((size_t)c->nupstreams, sizeof *c->upstreams);
    if (!c->upstreams)
        return TC_ENOMEM;
    const cJSON *u;
    int i = 0;
    cJSON_ArrayForEach(u, arr)
    {
        char p[64];
        snprintf(p, sizeof p, "upstreams[%d]", i);
        gw_upstream_t *up = &c->upstreams[i];
        up->index = i++;
        if (!cJSON_IsObject(u)) {
            gw_cv_error(v, p, "must be an object");
            continue;
        }
        if (parse_upstream(v, u, p, up) != TC_OK)
            return TC_ENOMEM;
        for (int j = 0; up->name && j < up->index; j++)
            if (c->upstreams[j].name && strcmp(c->upstreams[j].name, up->name) == 0)
                gw_cv_error(v, p, "duplicate upstream name \"%s\"", up->name);
    }
    for (i = 0; i < c->nupstreams; i++)
        for (int g = 0; g < 2; g++)
            for (int t = 0; t < c->upstreams[i].groups[g].n; t++)
                c->upstreams[i].groups[g].targets[t].index = c->ntargets++;
    return TC_OK;
}

/* Ejections survive a reload: a target that is still configured keeps its breaker. */
void gw_config_inherit_breakers(gw_config_t *c, const gw_config_t *prev)
{
    for (int i = 0; prev && i < c->nupstreams; i++) {
        gw_upstream_t *up = &c->upstreams[i];
        const gw_upstream_t *old = up->name ? gw_config_upstream(prev, up->name) : NULL;
        for (int g = 0; old && g < 2; g++)
            for (int t = 0; t < up->groups[g].n; t++)
                for (int k = 0; k < old->groups[g].n; k++)
                    if (up->groups[g].targets[t].url && old->groups[g].targets[k].url &&
                        strcmp(up->groups[g].targets[t].url, old->groups[g].targets[k].url) == 0)
                        breaker_copy(&up->groups[g].targets[t].breaker,
                                     &old->groups[g].targets[k].breaker);
    }
}
