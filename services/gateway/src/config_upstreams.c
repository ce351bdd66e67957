/* The "upstreams" section: each upstream's targets (stable and canary groups), timeouts,
 * retries, breaker and keep-alive settings; and the breaker states a reload keeps. */
#include "config_int.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields every target of one configured entry shares (an address each). */
static int copy_entry(gw_target_t *dst, const gw_target_t *src)
{
    if (!(dst->url = strdup(src->url)))
        return TC_ENOMEM;
    memcpy(dst->host, src->host, sizeof dst->host);
    memcpy(dst->hostport, src->hostport, sizeof dst->hostport);
    dst->port = src->port;
    dst->weight = src->weight;
    dst->entry = src->entry;
    return TC_OK;
}

static void target_init(gw_target_t *t)
{
    breaker_init(&t->breaker);
    atomic_init(&t->hc_ok, 1);
    atomic_init(&t->hc_unreachable, 0);
    uh_hc_init(&t->hc);
}

/*
 * endpoints "all": the entry at g->targets[*n] becomes one target per address of its name
 * (named "<group>-<entry>.<k>", k in address order). A name that does not resolve keeps its
 * one unresolved target (it fails until the resolver finds an address). Past the group's
 * limit the rest of the addresses are left out, with a warning.
 */
static int expand_entry(gw_group_t *g, int *n, const char *group)
{
    gw_target_t *t = &g->targets[*n];
    gw_addrs_t *addrs = malloc(sizeof *addrs);
    if (!addrs)
        return TC_ENOMEM;
    int rc = TC_OK;
    if (gw_resolve_all(t->host, t->port, addrs) != TC_OK || addrs->n == 0) {
        tc_log_kv(TC_LOG_WARN, "upstream target does not resolve; requests to it will fail",
                  "target", t->url, NULL);
        (*n)++;
        goto done;
    }
    int entry = t->entry;
    for (int k = 0; k < addrs->n; k++) {
        if (*n == GW_MAX_GROUP_TARGETS) {
            tc_log_kv(TC_LOG_WARN,
                      "upstream name has more addresses than a group takes; the "
                      "rest are left out",
                      "target", g->targets[0].url, NULL);
            break;
        }
        gw_target_t *x = &g->targets[*n];
        if (k > 0) {
            target_init(x);
            if ((rc = copy_entry(x, t)) != TC_OK)
                goto done;
        }
        snprintf(x->name, sizeof x->name, "%s-%d.%d", group, entry, k);
        x->addr = addrs->addr[k];
        x->addrlen = gw_addr_len(&addrs->addr[k]);
        x->resolved = 1;
        (*n)++;
    }
done:
    free(addrs);
    return rc;
}

static int parse_targets(gw_cv_t *v, const cJSON *arr, const char *path, gw_group_t *g,
                         const char *group, bool all)
{
    int entries = cJSON_GetArraySize(arr);
    if (entries > GW_MAX_GROUP_TARGETS) {
        gw_cv_error(v, path, "at most %d targets per group", GW_MAX_GROUP_TARGETS);
        entries = GW_MAX_GROUP_TARGETS;
    }
    /* with every address of each name, a group may hold up to the limit whatever the file */
    int cap = all ? GW_MAX_GROUP_TARGETS : entries;
    g->targets = calloc((size_t)(cap ? cap : 1), sizeof *g->targets);
    if (!g->targets)
        return TC_ENOMEM;
    const cJSON *it;
    int i = 0, n = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char p[256];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (i == entries || n == GW_MAX_GROUP_TARGETS)
            break;
        gw_target_t *t = &g->targets[n];
        target_init(t);
        t->entry = i;
        snprintf(t->name, sizeof t->name, "%s-%d", group, i++);
        if (!cJSON_IsObject(it)) {
            gw_cv_error(v, p, "must be an object {\"url\": …, \"weight\": …}");
            n++;
            continue;
        }
        gw_cv_keys(v, it, p, (const char *const[]){"url", "weight", NULL});
        const char *url = gw_cv_str(v, it, "url", p, 1);
        t->weight = (int)gw_cv_int(v, it, "weight", p, 1, 1, 1000);
        if (!url) {
            n++;
            continue;
        }
        if (!(t->url = strdup(url))) {
            g->n = n + 1;
            return TC_ENOMEM;
        }
        if (gw_target_parse_url(url, t) != TC_OK) {
            gw_cv_error(v, p, "url must be http://host[:port] (no path, no https), not \"%s\"",
                        url);
            n++;
            continue;
        }
        if (!all) {
            gw_target_resolve(t);
            n++;
        } else if (v->count == 0 && expand_entry(g, &n, group) != TC_OK) {
            g->n = n + 1; /* what was allocated is freed with the snapshot */
            return TC_ENOMEM;
        } else if (v->count) {
            n++; /* the document is refused anyway: no DNS for it */
        }
    }
    g->n = n;
    return TC_OK;
}

/* A health-check path goes into a request line as it is: absolute, no spaces, no controls. */
static bool hc_path_ok(const char *path)
{
    if (path[0] != '/' || strlen(path) > 200)
        return false;
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return false;
    return true;
}

static int parse_health_check(gw_cv_t *v, const cJSON *u, const char *p, gw_upstream_t *up)
{
    static const char *const keys[] = {"path",    "port",      "interval_ms", "timeout_ms",
                                       "healthy", "unhealthy", NULL};
    up->hc_interval_ms = 1000;
    up->hc_timeout_ms = 500;
    up->hc_healthy = 1;
    up->hc_unhealthy = 2;
    char hp[256];
    gw_cv_path(hp, sizeof hp, p, "health_check");
    const cJSON *hc = gw_cv_obj(v, u, "health_check", p, 0);
    if (!hc)
        return TC_OK;
    up->hc_enabled = 1;
    gw_cv_keys(v, hc, hp, keys);
    const char *path = gw_cv_str(v, hc, "path", hp, 0);
    if (!path)
        path = "/ready"; /* the services' admin readiness (libcommon tc_service) */
    else if (!hc_path_ok(path))
        gw_cv_error(v, hp, "path must start with / and hold no spaces or control characters");
    if (!(up->hc_path = strdup(path)))
        return TC_ENOMEM;
    up->hc_port = (int)gw_cv_int(v, hc, "port", hp, 0, 1, 65535);
    up->hc_interval_ms = (int)gw_cv_int(v, hc, "interval_ms", hp, 1000, 100, 600000);
    up->hc_timeout_ms = (int)gw_cv_int(v, hc, "timeout_ms", hp, 500, 10, 60000);
    up->hc_healthy = (int)gw_cv_int(v, hc, "healthy", hp, 1, 1, 100);
    up->hc_unhealthy = (int)gw_cv_int(v, hc, "unhealthy", hp, 2, 1, 100);
    if (up->hc_timeout_ms > up->hc_interval_ms)
        gw_cv_error(v, hp, "timeout_ms must not exceed interval_ms");
    return TC_OK;
}

static void parse_breaker(gw_cv_t *v, const cJSON *u, const char *p, gw_upstream_t *up)
{
    static const char *const keys[] = {
        "failures", "eject_ms", "max_eject_ms", "reset_ms", "max_ejection_percent", NULL};
    up->breaker_failures = 5;
    up->breaker_eject_ms = 30000;
    up->eject.max_ms = 300000;
    up->eject.reset_ms = 60000;
    up->max_ejection_percent = 50;
    char bp[256];
    gw_cv_path(bp, sizeof bp, p, "breaker");
    const cJSON *br = gw_cv_obj(v, u, "breaker", p, 0);
    if (br) {
        gw_cv_keys(v, br, bp, keys);
        up->breaker_failures = (int)gw_cv_int(v, br, "failures", bp, 5, 1, 1000);
        up->breaker_eject_ms = (int)gw_cv_int(v, br, "eject_ms", bp, 30000, 100, 3600000);
        /* the cap defaults to 10 × the base, at least the old 300 s (Envoy's default) */
        int64_t def_max = (int64_t)up->breaker_eject_ms * 10;
        up->eject.max_ms = (int)gw_cv_int(v, br, "max_eject_ms", bp, def_max, 100, 36000000);
        up->eject.reset_ms = (int)gw_cv_int(v, br, "reset_ms", bp, 60000, 0, 36000000);
        up->max_ejection_percent = (int)gw_cv_int(v, br, "max_ejection_percent", bp, 50, 0, 100);
        if (up->eject.max_ms < up->breaker_eject_ms)
            gw_cv_error(v, bp, "max_eject_ms must be at least eject_ms");
    }
    up->eject.failures = up->breaker_failures;
    up->eject.base_ms = up->breaker_eject_ms;
}

static void parse_retry_budget(gw_cv_t *v, const cJSON *u, const char *p, gw_upstream_t *up)
{
    up->retry_budget_percent = 20;
    up->retry_budget_min = 10;
    char rp[256];
    gw_cv_path(rp, sizeof rp, p, "retry_budget");
    const cJSON *rb = gw_cv_obj(v, u, "retry_budget", p, 0);
    if (!rb)
        return;
    gw_cv_keys(v, rb, rp, (const char *const[]){"percent", "min", NULL});
    up->retry_budget_percent = (int)gw_cv_int(v, rb, "percent", rp, 20, 0, 1000);
    up->retry_budget_min = (int)gw_cv_int(v, rb, "min", rp, 10, 0, 100000);
}

static int parse_upstream(gw_cv_t *v, const cJSON *u, const char *p, gw_upstream_t *up)
{
    static const char *const keys[] = {"name",
                                       "targets",
                                       "canary",
                                       "connect_timeout_ms",
                                       "timeout_ms",
                                       "retries",
                                       "breaker",
                                       "keepalive",
                                       "keepalive_idle_ms",
                                       "panic_threshold",
                                       "health_check",
                                       "connect_retry_ms",
                                       "retry_budget",
                                       "endpoints",
                                       "resolve_ms",
                                       NULL};
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
    up->panic_threshold = (int)gw_cv_int(v, u, "panic_threshold", p, 50, 0, 100);
    up->connect_retry_ms = (int)gw_cv_int(v, u, "connect_retry_ms", p, 1000, 0, 60000);
    atomic_init(&up->panic, 0);
    parse_breaker(v, u, p, up);
    parse_retry_budget(v, u, p, up);
    up->endpoints_all =
        gw_cv_enum(v, u, "endpoints", p, (const char *const[]){"first", "all", NULL}, 0) == 1;
    up->resolve_ms = (int)gw_cv_int(v, u, "resolve_ms", p, 5000, 100, 3600000);
    if (parse_health_check(v, u, p, up) != TC_OK)
        return TC_ENOMEM;
    char tp[256];
    gw_cv_path(tp, sizeof tp, p, "targets");
    const cJSON *targets = gw_cv_array(v, u, "targets", p, 1);
    if (targets && parse_targets(v, targets, tp, &up->groups[GW_GROUP_STABLE], "stable",
                                 up->endpoints_all) != TC_OK)
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
        if (ct && parse_targets(v, ct, tp, &up->groups[GW_GROUP_CANARY], "canary",
                                up->endpoints_all) != TC_OK)
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

/* The same target in two snapshots: the same URL and, once resolved, the same address (one
 * name may stand for several, or move to another). */
static bool same_target(const gw_target_t *a, const gw_target_t *b)
{
    if (!a->url || !b->url || strcmp(a->url, b->url) != 0)
        return false;
    if (!a->resolved || !b->resolved)
        return a->resolved == b->resolved;
    return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

/* Ejections survive a reload: a target that is still configured keeps its breaker and its
 * health-check state. */
void gw_config_inherit_breakers(gw_config_t *c, const gw_config_t *prev)
{
    for (int i = 0; prev && i < c->nupstreams; i++) {
        gw_upstream_t *up = &c->upstreams[i];
        const gw_upstream_t *old = up->name ? gw_config_upstream(prev, up->name) : NULL;
        for (int g = 0; old && g < 2; g++)
            for (int t = 0; t < up->groups[g].n; t++)
                for (int k = 0; k < old->groups[g].n; k++)
                    if (same_target(&up->groups[g].targets[t], &old->groups[g].targets[k])) {
                        gw_target_t *nt = &up->groups[g].targets[t];
                        gw_target_t *ot = (gw_target_t *)&old->groups[g].targets[k];
                        breaker_copy(&nt->breaker, &ot->breaker);
                        /* and whether health checks take it out (their counts start over:
                         * they belong to the checker thread) */
                        int ok = atomic_load(&ot->hc_ok);
                        atomic_store(&nt->hc_ok, ok);
                        atomic_store(&nt->hc_unreachable, atomic_load(&ot->hc_unreachable));
                        nt->hc.healthy = ok != 0;
                    }
    }
}
