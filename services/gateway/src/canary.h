/*
 * canary.h: which group of an upstream (stable or canary) serves a request.
 *
 * X-Canary: always|never overrides (testers); otherwise a sticky hash of the principal (sub,
 * or client IP for anonymous calls), salted with the upstream name, is compared with the
 * canary weight, so a user sees one version for as long as the weight stays the same, and
 * raising the weight only moves users from stable to canary, never back.
 */
#ifndef GW_CANARY_H
#define GW_CANARY_H

#include <stddef.h>

#include "routes_config.h"

/* 0..99: the sticky bucket of a key (salted with the upstream name). */
int canary_bucket(const char *salt, const char *key, size_t keylen);

typedef enum { CANARY_AUTO = 0, CANARY_ALWAYS, CANARY_NEVER } gw_canary_override_t;
gw_canary_override_t canary_override(const char *value, size_t len);

/* The group for a request: GW_GROUP_CANARY only when the upstream has canary targets. */
gw_group_id_t canary_choose(gw_upstream_t *up, gw_canary_override_t ov, const char *key,
                            size_t keylen);

#endif
