/*
 * config_int.h: shared by the files that turn the routing document into a snapshot
 * (routes_config.c and config_*.c); nothing outside them includes it.
 *
 * Validation collects every problem with its JSON path before deciding (gw_cv_*): a section
 * parser records what is wrong and goes on, and returns TC_ENOMEM only when it could not
 * allocate; the caller looks at the count at the end.
 */
#ifndef GW_CONFIG_INT_H
#define GW_CONFIG_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "routes_config.h"

/* ------------------------------------------------------------------ validation (config_check.c) */

typedef struct {
    cJSON *errors; /* array of "path: problem" strings, may be NULL (count only) */
    int count;
} gw_cv_t;

/* Records "path: problem". */
void gw_cv_error(gw_cv_t *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "base.key" (or "key" at the top level) into out. */
void gw_cv_path(char *out, size_t n, const char *base, const char *key);
/* Every member of obj that is not in allowed (NULL-terminated) and not a "_" comment. */
void gw_cv_keys(gw_cv_t *v, const cJSON *obj, const char *path, const char *const *allowed);
/* Typed members: the default when absent; a problem recorded (and the default returned) when
 * present but of the wrong type or out of range. */
int64_t gw_cv_int(gw_cv_t *v, const cJSON *obj, const char *key, const char *path, int64_t def,
                  int64_t min, int64_t max);
const char *gw_cv_str(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                      bool required);
bool gw_cv_bool(gw_cv_t *v, const cJSON *obj, const char *key, const char *path, bool def);
/* The index of the member's value in choices (NULL-terminated). */
int gw_cv_enum(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
               const char *const *choices, int def);
const cJSON *gw_cv_obj(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                       bool required);
/* A required array must also be non-empty. */
const cJSON *gw_cv_array(gw_cv_t *v, const cJSON *obj, const char *key, const char *path,
                         bool required);

/* ------------------------------------------------------------------ sections */

/* config_env.c: ${NAME} in every string of the document (comments excepted). */
void gw_config_expand_env(gw_cv_t *v, cJSON *node, const char *path);

/* config_upstreams.c: "upstreams" (targets resolved, indexes assigned). TC_OK or TC_ENOMEM. */
int gw_config_parse_upstreams(gw_cv_t *v, const cJSON *root, gw_config_t *c);
/* Targets still configured keep the breaker state they had in prev. */
void gw_config_inherit_breakers(gw_config_t *c, const gw_config_t *prev);

/* config_routes.c: "routes", sorted into match order (needs the upstreams). */
int gw_config_parse_routes(gw_cv_t *v, const cJSON *root, gw_config_t *c);
/* config_transform.c: a route's "transform" (after its path and strip_prefix are known). */
int gw_config_parse_transform(gw_cv_t *v, const cJSON *r, const char *p, gw_route_t *rt);

/* config_limits.c: "plans", "default_plan" and "ip_rate_limit". */
/* A limit's "per_minute" (required) and "burst" (default per_minute), refused when libcommon's
 * GCRA script could not take them. */
void gw_cv_rate(gw_cv_t *v, const cJSON *obj, const char *p, int64_t *per_minute, int64_t *burst);
int gw_config_parse_plans(gw_cv_t *v, const cJSON *root, gw_config_t *c);
void gw_config_parse_ip_limit(gw_cv_t *v, const cJSON *root, gw_config_t *c);

/* config_clients.c: "cors" and "trusted_proxies". */
int gw_config_parse_cors(gw_cv_t *v, const cJSON *root, gw_cors_t *cors);
int gw_config_parse_trusted(gw_cv_t *v, const cJSON *root, gw_config_t *c);

/* target_addr.c: a target's "http://host[:port]" into host, port and Host header (TC_OK or
 * TC_EINVAL), and its address by DNS (t->resolved false when the name does not resolve). */
int gw_target_parse_url(const char *url, gw_target_t *t);
void gw_target_resolve(gw_target_t *t);

#endif
