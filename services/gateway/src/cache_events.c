/*
 * Invalidation of the response cache by events (issue 23): a route's "invalidate_on" names
 * event types ("com.techcorp.user.updated", "com.techcorp.user.*"); each replica follows the
 * topics those types live on (a group-less tail: every replica sees every event, nothing
 * committed) and, for each such event, purges that route's entries tagged with the event's
 * resource: the entries of the event's org (data.org_id, or a source "/orgs/<id>"), and the
 * entries whose path has the event's subject (ce_subject, else the key) as a segment. So an
 * item and the lists of its org are both fresh within the time the event takes to arrive.
 *
 * The topics are those of the configuration at start; a reload that names a type on another
 * topic is followed from the next start (logged).
 */
#include "cache_events.h"
#include "cache_tier.h"
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_events.h"
#include "tc/tc_json.h"
#include "tc/tc_log.h"
#include "tc/tc_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS 8

/* The routes one event concerns. */
typedef struct {
    const gw_config_t *cfg;
    const char *type;
} listeners_t;

static bool route_listens_to(const gw_route_t *rt, const char *type)
{
    if (!rt->cache)
        return false;
    for (int i = 0; i < rt->cache->ninvalidate; i++)
        if (tc_event_type_match(rt->cache->invalidate[i], type))
            return true;
    return false;
}

static bool listens_rt(const gw_route_t *rt, void *ud)
{
    const listeners_t *l = ud;
    return route_listens_to(rt, l->type);
}

static bool listens(const char *route, void *ud)
{
    const listeners_t *l = ud;
    for (int i = 0; i < l->cfg->nroutes; i++)
        if (l->cfg->routes[i].name && strcmp(l->cfg->routes[i].name, route) == 0)
            return route_listens_to(&l->cfg->routes[i], l->type);
    return false;
}

/* The org an event is about: data.org_id, else a source "/orgs/<id>". */
static void event_org(const tc_event_t *ev, char *out, size_t cap)
{
    out[0] = '\0';
    cJSON *d = ev->data ? cJSON_ParseWithLength(ev->data, ev->data_len) : NULL;
    const char *org = tc_json_get_str(d, "org_id");
    if (org && strlen(org) < cap)
        snprintf(out, cap, "%s", org);
    else if (ev->source && strncmp(ev->source, "/orgs/", 6) == 0 && !strchr(ev->source + 6, '/') &&
             strlen(ev->source + 6) < cap)
        snprintf(out, cap, "%s", ev->source + 6);
    cJSON_Delete(d);
}

static void on_event(const tc_event_t *ev, void *ud)
{
    gw_app_t *app = ud;
    if (!ev->type)
        return;
    gw_config_t *cfg = gw_app_config_get(app);
    bool any = false;
    for (int i = 0; i < cfg->nroutes && !any; i++)
        any = route_listens_to(&cfg->routes[i], ev->type);
    if (any) {
        char org[128];
        event_org(ev, org, sizeof org);
        const char *subject = ev->subject && *ev->subject ? ev->subject : ev->partitionkey;
        listeners_t l = {.cfg = cfg, .type = ev->type};
        /* the shared tier's entries first, through markers (each replica writes them: one
         * replica cut off from Redis loses none), then the local ones: a read that missed a
         * marker finds its copy unstorable (the purge's generation) */
        if (org[0])
            gw_tier_mark(app, cfg, listens_rt, &l, GW_MARK_ORG, org, strlen(org));
        if (subject && *subject)
            gw_tier_mark(app, cfg, listens_rt, &l, GW_MARK_SUB, subject, strlen(subject));
        size_t n = gw_cache_purge_tagged(app->cache, listens, &l, org, subject);
        tc_metric_inc(app->m.cache_purged, (double)n, "event");
        tc_log_kv(TC_LOG_DEBUG, "cache: purged by event", "type", ev->type, "id", ev->id, NULL);
    }
    gw_config_unref(cfg);
}

/* Adds the topics of the catalogued types a pattern matches to topics[] (distinct). */
static void add_topics(const char *pattern, const char **topics, int *n)
{
    for (size_t i = 0; i < TC_EVENT_TYPES_COUNT; i++) {
        if (!tc_event_type_match(pattern, tc_event_types[i].type))
            continue;
        const char *t = tc_event_types[i].topic;
        bool have = false;
        for (int k = 0; k < *n && !have; k++)
            have = strcmp(topics[k], t) == 0;
        if (!have && *n < MAX_TOPICS)
            topics[(*n)++] = t;
    }
}

int gw_cache_events_topics(const gw_config_t *cfg, const char **topics, int cap)
{
    int n = 0;
    const char *all[MAX_TOPICS];
    for (int i = 0; i < cfg->nroutes; i++) {
        const gw_cache_rule_t *r = cfg->routes[i].cache;
        for (int k = 0; r && k < r->ninvalidate; k++)
            add_topics(r->invalidate[k], all, &n);
    }
    for (int i = 0; i < n && i < cap; i++)
        topics[i] = all[i];
    return n < cap ? n : cap;
}

int gw_cache_events_follow(gw_app_t *app)
{
    const char *topics[MAX_TOPICS];
    gw_config_t *cfg = gw_app_config_get(app);
    int n = gw_cache_events_topics(cfg, topics, MAX_TOPICS);
    gw_config_unref(cfg);
    for (int i = 0; i < n; i++) {
        /* events from now on: what changed before start was never cached by this replica, and
         * the shared tier's entries of these routes are purged at start (gw_tier_start) */
        int rc = tc_service_follow(app->svc, topics[i], 0, on_event, app);
        if (rc != TC_OK)
            return rc;
        tc_log_kv(TC_LOG_INFO, "cache: invalidated by events of", "topic", topics[i], NULL);
    }
    for (int i = 0; i < n; i++)
        app->cache_topics[i] = topics[i];
    app->ncache_topics = n;
    return TC_OK;
}

void gw_cache_events_check(const gw_app_t *app, const gw_config_t *cfg)
{
    const char *topics[MAX_TOPICS];
    int n = gw_cache_events_topics(cfg, topics, MAX_TOPICS);
    for (int i = 0; i < n; i++) {
        bool have = false;
        for (int k = 0; k < app->ncache_topics && !have; k++)
            have = strcmp(app->cache_topics[k], topics[i]) == 0;
        if (!have)
            tc_log_kv(TC_LOG_WARN,
                      "cache: invalidate_on names events of a topic this replica does not follow "
                      "yet; it does from its next start",
                      "topic", topics[i], NULL);
    }
}
