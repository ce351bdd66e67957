/* Recent plan changes by org (org_plans.h): open addressing over a fixed table, each org
 * probing at most PROBES slots from its hash. Expired entries are not removed (chains stay
 * whole for lookups); an insert reuses the first free or expired slot of its window. */
#include "org_plans.h"

#include "tc/tc_core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBES   32
#define ORG_MAX  64
#define PLAN_MAX 32

typedef struct {
    char org[ORG_MAX]; /* "" = never used */
    char plan[PLAN_MAX];
    int64_t version;
    int64_t expires_ms; /* monotonic */
} entry_t;

struct gw_orgplans {
    pthread_mutex_t lock;
    entry_t *slots;
    size_t cap;
    int64_t ttl_ms;
    atomic_int_fast64_t latest_expiry; /* no lookup is needed once the clock passed it */
};

gw_orgplans_t *gw_orgplans_new(size_t cap, int64_t ttl_ms)
{
    gw_orgplans_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->slots = calloc(cap ? cap : 1, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->cap = cap ? cap : 1;
    m->ttl_ms = ttl_ms;
    atomic_init(&m->latest_expiry, 0);
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void gw_orgplans_free(gw_orgplans_t *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->slots);
    free(m);
}

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* The org's slot in its window, or NULL. Called under the lock. */
static entry_t *find(gw_orgplans_t *m, const char *org)
{
    size_t h = hash(org);
    for (size_t i = 0; i < PROBES && i < m->cap; i++) {
        entry_t *e = &m->slots[(h + i) % m->cap];
        if (!e->org[0])
            return NULL; /* never used: the chain ends here */
        if (strcmp(e->org, org) == 0)
            return e;
    }
    return NULL;
}

/* A slot for a new org: the first never-used or expired one of the window, else the live one
 * expiring first. */
static entry_t *claim(gw_orgplans_t *m, const char *org, int64_t now_ms)
{
    size_t h = hash(org);
    entry_t *oldest = NULL;
    for (size_t i = 0; i < PROBES && i < m->cap; i++) {
        entry_t *e = &m->slots[(h + i) % m->cap];
        if (!e->org[0] || e->expires_ms <= now_ms)
            return e;
        if (!oldest || e->expires_ms < oldest->expires_ms)
            oldest = e;
    }
    return oldest;
}

int gw_orgplans_set(gw_orgplans_t *m, const char *org, const char *plan, int64_t version,
                    int64_t changed_mono_ms, int64_t now_mono_ms)
{
    if (!org || !plan || !*org || !*plan || strlen(org) >= ORG_MAX || strlen(plan) >= PLAN_MAX)
        return TC_EINVAL;
    int64_t expires = changed_mono_ms + m->ttl_ms;
    pthread_mutex_lock(&m->lock);
    entry_t *e = find(m, org);
    if (e && e->version >= version) {
        pthread_mutex_unlock(&m->lock);
        return TC_OK; /* a redelivery, or an older change arriving late */
    }
    if (!e)
        e = claim(m, org, now_mono_ms);
    snprintf(e->org, sizeof e->org, "%s", org);
    snprintf(e->plan, sizeof e->plan, "%s", plan);
    e->version = version;
    e->expires_ms = expires;
    if (expires > atomic_load(&m->latest_expiry))
        atomic_store(&m->latest_expiry, expires);
    pthread_mutex_unlock(&m->lock);
    return TC_OK;
}

bool gw_orgplans_get(gw_orgplans_t *m, const char *org, int64_t now_mono_ms, char *plan, size_t n)
{
    if (!m || !org || !*org ||
        now_mono_ms >= atomic_load_explicit(&m->latest_expiry, memory_order_relaxed))
        return false;
    bool found = false;
    pthread_mutex_lock(&m->lock);
    const entry_t *e = find(m, org);
    if (e && e->expires_ms > now_mono_ms) {
        snprintf(plan, n, "%s", e->plan);
        found = true;
    }
    pthread_mutex_unlock(&m->lock);
    return found;
}
