/*
 * cache_policy.h: what the response cache may store and serve (pure functions, unit tested):
 * the key of a request, how long an upstream answer stays fresh (Cache-Control), the Vary
 * signature an entry is served under, and conditional requests (If-None-Match).
 *
 * A shared cache (RFC 9111) in front of tenant data: the key always holds the caller's org on
 * routes with authentication, so one org's answer can never be served to another; answers a
 * service marks private, no-store or no-cache, answers that set cookies and answers that vary
 * on everything (Vary: *) are never stored.
 */
#ifndef GW_CACHE_POLICY_H
#define GW_CACHE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parse.h"

#define GW_CACHE_MAX_VARY 8  /* header names a route or a response may vary on */
#define GW_CACHE_MAX_INV  16 /* event type patterns a route's entries are purged on */

/* A route's "cache" key of the routing file. */
typedef struct {
    int64_t ttl_ms;         /* freshness when the service gives none (0: store only what it says) */
    int64_t max_body_bytes; /* larger answers are not stored */
    char *vary[GW_CACHE_MAX_VARY]; /* request headers that are part of the key */
    int nvary;
    bool share_org; /* "share": "org": one entry per org, role and scopes, not per caller */
    int64_t swr_ms; /* stale-while-revalidate when the service gives none */
    bool coalesce;  /* concurrent misses of a key wait for one upstream fetch (cache_fill.h) */
    /* "invalidate_on": event types ("com.techcorp.user.updated", "com.techcorp.user.*") whose
     * events purge the route's entries tagged with their resource (cache_events.c) */
    char *invalidate[GW_CACHE_MAX_INV];
    int ninvalidate;
} gw_cache_rule_t;

void gw_cache_rule_free(gw_cache_rule_t *r);

/* The query string (without '?') with its '&'-separated pieces sorted bytewise, into out:
 * "b=2&a=1" and "a=1&b=2" are one entry. Its length, or -1 when cap is too small. */
long gw_cache_query_normal(const char *q, size_t len, char *out, size_t cap);

/* How long an upstream answer may be served from the cache, in ms: 0 when it must not be
 * stored (status other than 200, no-store, private, no-cache, Set-Cookie, Vary: *, no
 * freshness from the service nor the route). s-maxage wins over max-age; the service's Age is
 * subtracted. *age_s is the Age the answer already had. */
int64_t gw_cache_ttl_ms(const char *buf, const http_response_t *resp, int64_t route_ttl_ms,
                        int64_t *age_s);

/* How long past its freshness an answer may be served stale while one request refreshes it,
 * in ms: the service's stale-while-revalidate (RFC 5861), else the route's; 0 when the
 * service says must-revalidate or proxy-revalidate. */
int64_t gw_cache_swr_ms(const char *buf, const http_response_t *resp, int64_t route_swr_ms);

/* Whether the request asks not to be answered from, or stored in, a cache (Cache-Control:
 * no-store or no-cache, Pragma: no-cache). */
bool gw_cache_request_bypass(const char *buf, const http_request_t *req);

/* The Vary header names of a response, lowercased and ';'-joined into out ("" when none);
 * false when they do not fit (then the answer is not stored). */
bool gw_cache_vary_names(const char *buf, const http_response_t *resp, char *out, size_t cap);

/* The request's values of ';'-joined header names ("accept-language;x-a"), as
 * "value\n" per name, into out: an entry is served only to requests with the same. Its length,
 * or -1 when cap is too small. */
long gw_cache_vary_signature(const char *buf, const http_request_t *req, const char *names,
                             char *out, size_t cap);

/* Whether an If-None-Match value matches an entity tag (weak comparison, "*", lists). */
bool gw_cache_etag_match(const char *inm, size_t inm_len, const char *etag, size_t etag_len);

#endif
