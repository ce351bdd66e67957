/* Target selection inside a group: smooth weighted round-robin over healthy targets. */
#include "balancer.h"
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

/* One round of smooth WRR among candidates; -1 when there are none. */
static int wrr_round(gw_wrr_t *w, gw_group_t *g, int64_t now_ms, uint64_t skip)
{
    int best = -1, total = 0;
    for (int i = 0; i < g->n; i++) {
        gw_target_t *t = &g->targets[i];
        if ((skip >> i) & 1 || t->index >= w->n || !breaker_available(&t->breaker, now_ms))
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
        int i = wrr_round(w, g, now_ms, skip);
        if (i < 0)
            return NULL;
        if (breaker_acquire(&g->targets[i].breaker, now_ms, probe))
            return &g->targets[i];
        skip |= (uint64_t)1 << i;
    }
    return NULL;
}
