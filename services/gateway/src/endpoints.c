/*
 * Pod-level endpoints (issue 14): upstreams with `endpoints: "all"` name a headless Service,
 * whose DNS name resolves to one address per ready pod. Each address is a target of its own
 * (pool, breaker, health checks, metrics: config_upstreams.c expands the names), so the
 * balancer, not kube-proxy, spreads requests over pods, and new pods get traffic.
 *
 * This thread re-resolves those names every resolve_ms, and within a second of a worker's
 * refused connection (rate-limited: at most one extra resolution a second). When an address
 * set changed it rebuilds the snapshot from the same document (gw_app_rebuild): the workers
 * switch to it as to a reload, targets that stay keep their breakers and health, requests in
 * flight finish on the old snapshot, and the keep-alive pools of vanished addresses are
 * drained (no new requests; idle connections closed at once, busy ones when they finish).
 *
 * A failed resolution changes nothing: a DNS outage must not drain every pod.
 */
#include "gw.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"
#include "tc/tc_time.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS          100
#define ASKED_MIN_GAP_MS 1000

struct gw_resolver {
    gw_app_t *app;
    pthread_t thread;
    int wake[2];
    gw_addrs_t fresh, known; /* scratch (8 KiB each: not on the stack) */
};

/* Whether the addresses of one configured target changed since the snapshot was built. */
static bool entry_changed(gw_resolver_t *r, const gw_group_t *g, int entry)
{
    const gw_target_t *first = NULL;
    r->known.n = 0;
    for (int i = 0; i < g->n; i++) {
        const gw_target_t *t = &g->targets[i];
        if (t->entry != entry)
            continue;
        if (!first)
            first = t;
        if (t->resolved && r->known.n < GW_MAX_GROUP_TARGETS)
            r->known.addr[r->known.n++] = t->addr; /* in address order (expansion sorts) */
    }
    if (!first || !first->url)
        return false;
    if (gw_resolve_all(first->host, first->port, &r->fresh) != TC_OK)
        return false; /* keep what we know */
    return !gw_addrs_equal(&r->fresh, &r->known);
}

static bool upstream_changed(gw_resolver_t *r, const gw_upstream_t *up)
{
    for (int g = 0; g < 2; g++) {
        const gw_group_t *grp = &up->groups[g];
        int entries = 0;
        for (int i = 0; i < grp->n; i++)
            if (grp->targets[i].entry + 1 > entries)
                entries = grp->targets[i].entry + 1;
        for (int e = 0; e < entries; e++)
            if (entry_changed(r, grp, e))
                return true;
    }
    return false;
}

static void *resolver_main(void *arg)
{
    gw_resolver_t *r = arg;
    gw_app_t *app = r->app;
    int64_t due = 0, asked_at = 0;
    for (;;) {
        struct pollfd pfd = {.fd = r->wake[0], .events = POLLIN};
        int n = poll(&pfd, 1, TICK_MS);
        if (n > 0 || (n < 0 && errno != EINTR))
            break; /* stop */
        int64_t now = tc_mono_ms();
        bool asked = atomic_load(&app->resolve_asked) && now - asked_at >= ASKED_MIN_GAP_MS;
        if (!asked && now < due)
            continue;
        if (asked) {
            atomic_store(&app->resolve_asked, 0);
            asked_at = now;
        }
        gw_config_t *c = gw_app_config_get(app);
        int every = 0; /* the shortest resolve_ms of the upstreams that have names to follow */
        bool changed = false;
        for (int u = 0; u < c->nupstreams; u++) {
            const gw_upstream_t *up = &c->upstreams[u];
            if (!up->endpoints_all)
                continue;
            if (!every || up->resolve_ms < every)
                every = up->resolve_ms;
            if (!changed && upstream_changed(r, up)) {
                changed = true;
                tc_log_kv(TC_LOG_INFO, "upstream endpoints changed; rebuilding the routing",
                          "upstream", up->name, NULL);
            }
        }
        gw_config_unref(c);
        due = now + (every ? every : 1000);
        if (changed)
            gw_app_rebuild(app);
    }
    return NULL;
}

int gw_resolver_start(gw_app_t *app)
{
    gw_resolver_t *r = calloc(1, sizeof *r);
    if (!r)
        return TC_ENOMEM;
    r->app = app;
    if (pipe2(r->wake, O_CLOEXEC) != 0) {
        free(r);
        return TC_ERROR;
    }
    if (pthread_create(&r->thread, NULL, resolver_main, r) != 0) {
        close(r->wake[0]);
        close(r->wake[1]);
        free(r);
        return TC_ERROR;
    }
    app->resolver = r;
    return TC_OK;
}

void gw_resolver_stop(gw_app_t *app)
{
    gw_resolver_t *r = app->resolver;
    if (!r)
        return;
    app->resolver = NULL;
    ssize_t n;
    do
        n = write(r->wake[1], "x", 1);
    while (n < 0 && errno == EINTR);
    pthread_join(r->thread, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    free(r);
}
