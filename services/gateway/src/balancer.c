/* Target selection inside a group: smooth weighted round-robin over healthy targets. */
#include "balancer.h"
#include "upstream_health.h"
#include "tc/tc_core.h"

#include <stdlib.h>
#include <string.h>

int wrr_reset(gw_wrr_t *w, const gw_config_t *c)
{
    if (w->current && w->generation == c->generation)
        return TC_OK;
    int n = c->ntargets ? c->ntargets : 1;
    int *cur = calloc((size_t)n, sizeof *cur);
    if (!cur)
        return TC_ENOMEM;
    free(w->current);
    w->current = cur;
    w->n = n;
    w->generation = c->generation;
    return TC_OK;
}

void wrr_free(gw_wrr_t *w)
{
    free(w->current);
    memset(w, 0, sizeof *w);
}

bool wrr_target_up(gw_target_t *t, int64_t now_ms)
{
    return atomic_load_explicit(&t->hc_ok, memory_order_relaxed) &&
           breaker_available(&t->breaker, now_ms);
}

/* One round of smooth WRR among candidates (any: health ignored); -1 when there are none. */
static int wrr_round(gw_wrr_t *w, gw_group_t *g, int64_t now_ms, uint64_t skip, bool any)
{
    int best = -1, total = 0;
    for (int i = 0; i < g->n; i++) {
        gw_target_t *t = &g->targets[i];
        if ((skip >> i) & 1 || t->index >= w->n || (!any && !wrr_target_up(t, now_ms)))
            continue;
        w->current[t->index] += t->weight;
        total += t->weight;
        if (best < 0 || w->current[t->index] > w->current[g->targets[best].index])
            best = i;
    }
    if (best >= 0)
        w->current[g->targets[best].index] -= total;
    return best;
}

gw_target_t *wrr_pick(gw_wrr_t *w, gw_group_t *g, int64_t now_ms, uint64_t exclude, bool *probe)
{
    uint64_t skip = exclude;
    *probe = false;
    /* A breaker can refuse between "available" and "acquire" (another worker claimed the
     * half-open probe): drop that target and choose again, at most once per target. */
    for (int attempt = 0; attempt < g->n; attempt++) {
        int i = wrr_round(w, g, now_ms, skip, false);
        if (i < 0)
            return NULL;
        if (breaker_acquire(&g->targets[i].breaker, now_ms, probe))
            return &g->targets[i];
        skip |= (uint64_t)1 << i;
    }
    return NULL;
}

static bool unreachable(gw_target_t *t)
{
    return atomic_load_explicit(&t->hc_unreachable, memory_order_relaxed) != 0;
}

bool wrr_group_panic(gw_group_t *g, int64_t now_ms, int panic_threshold)
{
    if (panic_threshold <= 0)
        return false;
    int up = 0, reachable = 0;
    for (int i = 0; i < g->n; i++) {
        up += wrr_target_up(&g->targets[i], now_ms);
        reachable += !unreachable(&g->targets[i]);
    }
    /* Panic spreads load over doubtful targets (failing checks, ejected), never over ones
     * known to refuse connections: those count out of the share, unless every target does,
     * when trying them all is what is left. */
    return reachable ? uh_panic(reachable, up, panic_threshold) : up == 0 && g->n > 0;
}

gw_target_t *wrr_pick_healthy(gw_wrr_t *w, gw_group_t *g, int64_t now_ms, uint64_t exclude,
                              int panic_threshold, bool *probe, bool *panic)
{
    *probe = false;
    *panic = wrr_group_panic(g, now_ms, panic_threshold);
    return *panic ? NULL : wrr_pick(w, g, now_ms, exclude, probe);
}

/* Panic candidates: reachable targets not yet tried (skip has the rest's bits). */
static uint64_t unreachable_mask(gw_group_t *g)
{
    uint64_t m = 0;
    for (int i = 0; i < g->n; i++)
        if (unreachable(&g->targets[i]))
            m |= (uint64_t)1 << i;
    return m;
}

gw_target_t *wrr_pick_any(gw_wrr_t *w, gw_group_t *g, uint64_t exclude)
{
    uint64_t down = unreachable_mask(g);
    int i = wrr_round(w, g, 0, exclude | down, true);
    if (i < 0)
        i = wrr_round(w, g, 0, down, true); /* every one tried: start over */
    if (i < 0)
        i = wrr_round(w, g, 0, exclude, true); /* every one unreachable: try them anyway */
    if (i < 0)
        i = wrr_round(w, g, 0, 0, true);
    return i < 0 ? NULL : &g->targets[i];
}
