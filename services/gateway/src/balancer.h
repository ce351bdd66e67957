/*
 * balancer.h: which target of a group serves a request (the group comes from canary.h).
 *
 * Smooth weighted round-robin (nginx's algorithm: even spreading, no bursts to the heaviest
 * target), skipping ejected targets. Round-robin state is per worker (no sharing on the hot
 * path); breakers are shared.
 */
#ifndef GW_BALANCER_H
#define GW_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "routes_config.h"

typedef struct {
    int *current; /* smooth WRR current weight per target index of the configuration */
    int n;
    uint64_t generation;
} gw_wrr_t;

/* Sizes the state for a configuration (keeps it when the generation is unchanged). */
int wrr_reset(gw_wrr_t *w, const gw_config_t *c);
void wrr_free(gw_wrr_t *w);

/*
 * Picks a target of the group, skipping targets whose breaker refuses and those whose bit is
 * set in `exclude` (targets already tried). Claims the breaker (half-open probe); *probe says
 * whether this request is the probe. NULL when no target is available.
 */
gw_target_t *wrr_pick(gw_wrr_t *w, gw_group_t *g, int64_t now_ms, uint64_t exclude, bool *probe);

/*
 * The same with a panic threshold (upstream_health.h): when fewer than panic_threshold percent
 * of the group's reachable targets are available (breaker not ejecting, health checks
 * passing), sets *panic and returns NULL; the caller then tries the other group or
 * wrr_pick_any. Targets whose checks cannot connect are out of the share (they are down, not
 * doubtful); when every target is, the group is in panic while none is available.
 */
gw_target_t *wrr_pick_healthy(gw_wrr_t *w, gw_group_t *g, int64_t now_ms, uint64_t exclude,
                              int panic_threshold, bool *probe, bool *panic);

/* Panic mode: any target of the group, ejected or not (no breaker claimed), preferring those
 * not in `exclude` and skipping those whose health checks cannot connect (unless all of them
 * are). NULL only for an empty group. */
gw_target_t *wrr_pick_any(gw_wrr_t *w, gw_group_t *g, uint64_t exclude);

/* Whether the group is in panic (the rule of wrr_pick_healthy; the gauges use it too). */
bool wrr_group_panic(gw_group_t *g, int64_t now_ms, int panic_threshold);

/* Whether a target takes traffic outside panic mode. */
bool wrr_target_up(gw_target_t *t, int64_t now_ms);

#endif
