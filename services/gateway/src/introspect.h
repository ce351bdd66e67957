/*
 * introspect.h: the gateway's side of auth's API-key introspection, and the revocation
 * events that evict cached keys.
 *
 * Contract (auth owns it): POST ${AUTH_URL}/internal/v1/auth/introspect with
 * {"api_key":"tc_live_…"} and a service token (client credentials, scope "internal") →
 * 200 {"active":true,"key_id","sub","org","role","scopes","plan","access_token","expires_in"}
 * or 200 {"active":false}. The access token is verified like any JWT; the principal comes
 * from it. Evictions, on auth-events: com.techcorp.auth.api_key_revoked (data
 * {"key_id","org_id"}) and com.techcorp.auth.api_key_updated (the key's role was lowered; the
 * cached token still carries the old one).
 *
 * Blocking (tc_httpc): called on the blocking pool only.
 */
#ifndef GW_INTROSPECT_H
#define GW_INTROSPECT_H

#include <stdint.h>

#include "gw.h"

#define GW_REVOKED_TYPE "com.techcorp.auth.api_key_revoked"
#define GW_UPDATED_TYPE "com.techcorp.auth.api_key_updated"

typedef struct {
    tc_principal_t principal;
    char key_id[64];
    char *access_token;
    int64_t token_exp_mono_ms; /* monotonic clock, like the cache */
} gw_introspection_t;

/* TC_OK (active key), TC_ENOTFOUND (not an active key), TC_EUNAVAIL (auth unreachable or
 * refusing our credentials), TC_ERROR (auth answered something unusable). */
int gw_introspect(gw_app_t *app, const char *api_key, gw_introspection_t *out);
void gw_introspection_clear(gw_introspection_t *r);

/* Follows auth-events for org_plan_changed in this replica, from GATEWAY_PLAN_CHANGE_TTL_MS
 * before its start (the changes whose old tokens may still be in use), into app->orgplans. */
int gw_org_plans_follow(gw_app_t *app);

/* Subscribes this replica to auth-events (every replica must see every revocation, so each
 * uses its own consumer group). */
int gw_revocations_consume(gw_app_t *app);

#endif
