/*
 * org_plans.h: the plans orgs moved to recently (auth-events com.techcorp.auth.org_plan_changed),
 * which the rate limits apply instead of the token's plan claim: a token minted before the
 * change carries the old plan until it expires, and the limits must follow the plan the org
 * pays for now. An entry lives as long as such a token can (GATEWAY_PLAN_CHANGE_TTL_MS, the
 * longest token lifetime), then the claim is right again. Every replica follows the topic
 * from that long before its start, so a restarted replica knows the same changes.
 *
 * Thread-safe: the follower thread writes, the workers read. A lookup while no entry is live
 * costs one atomic load.
 */
#ifndef GW_ORG_PLANS_H
#define GW_ORG_PLANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_ORG_PLAN_TYPE "com.techcorp.auth.org_plan_changed"

typedef struct gw_orgplans gw_orgplans_t;

/* cap: slots (a power of two is not required); ttl_ms: how long an entry holds. */
gw_orgplans_t *gw_orgplans_new(size_t cap, int64_t ttl_ms);
void gw_orgplans_free(gw_orgplans_t *m);
/* Records the org's plan as of plan_version, changed at changed_mono_ms (monotonic clock,
 * earlier than now_mono_ms for a change replayed at start); an older or equal version than
 * the one held is ignored. When every slot the org may use holds a live entry (at
 * now_mono_ms), the one expiring first gives way. TC_EINVAL for an org or plan that does not
 * fit. */
int gw_orgplans_set(gw_orgplans_t *m, const char *org, const char *plan, int64_t version,
                    int64_t changed_mono_ms, int64_t now_mono_ms);
/* Copies the org's plan into plan[n] when a live entry holds one (now_mono_ms: monotonic). */
bool gw_orgplans_get(gw_orgplans_t *m, const char *org, int64_t now_mono_ms, char *plan, size_t n);

#endif
