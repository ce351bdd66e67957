/*
 * cache_shared.h: the response cache's shared tier in Redis (issue 23), the pure part: how an
 * entry is written into one Redis value and read back, the Redis names of entries and of purge
 * markers, and whether a value read may be served (cache_tier.c does the I/O).
 *
 * Every replica stores what it fetched under gw:c:{<route tag>}:<sha256 of the cache key> and
 * reads there on a local miss, so one replica's fetch serves all. A purge (by event or by the
 * admin API) cannot list the entries it concerns in Redis; it writes markers instead, each the
 * wall-clock time of the purge: gw:cp:{<route tag>}:all, …:org:<org>, …:sub:<path segment>,
 * …:pfx:<decoded path prefix>. A reader fetches the entry and every marker that could concern
 * it in one MGET (one hash tag: one Redis Cluster slot) and serves the entry only when it was
 * fetched from the service after the newest of them, by more than the clock skew allowed
 * between replicas. The value holds the whole cache key: a hash collision never serves one
 * caller's answer to another.
 */
#ifndef GW_CACHE_SHARED_H
#define GW_CACHE_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_SHARED_MAX_SEGMENTS 16 /* deeper paths stay in the local tier only */
#define GW_SHARED_MAX_PATH     1024
#define GW_SHARED_MAX_MARKERS  (2 + 2 * GW_SHARED_MAX_SEGMENTS)
#define GW_SHARED_NAME_MAX     (32 + GW_SHARED_MAX_PATH)
#define GW_SHARED_TIME_MAX     ((int64_t)1 << 50) /* a value's times and durations (ms) */

/* An entry as stored in Redis; the pointers are views (into the decoded value, or the
 * encoder's caller's buffers). Times are wall-clock epoch milliseconds: replicas compare them. */
typedef struct {
    int64_t fetched_ms; /* when the request that fetched it went to the service */
    int64_t stored_ms;  /* when the answer arrived: its freshness starts then */
    int64_t ttl_ms;
    int64_t swr_ms;
    int64_t age0_s;
    const char *key;
    size_t key_len;
    const char *vary_names;
    size_t vary_names_len;
    const char *vary_sig;
    size_t vary_sig_len;
    const char *etag;
    size_t etag_len;
    const char *head;
    size_t head_len;
    const char *body;
    size_t body_len;
} gw_shared_entry_t;

/* The entry as one value (malloc'd, *len set), or NULL when out of memory. */
char *gw_shared_encode(const gw_shared_entry_t *e, size_t *len);
/* Reads a value: TC_OK with views into buf, TC_EINVAL when it is not one gw_shared_encode
 * wrote (another version, truncated, corrupt). */
int gw_shared_decode(const char *buf, size_t len, gw_shared_entry_t *out);

/* "gw:c:{<tag>}:<sha256 hex>" for a route and cache key into out: TC_OK, TC_EINVAL when it
 * does not fit. */
int gw_shared_entry_name(const char *route, const char *key, size_t key_len, char *out, size_t cap);

typedef enum {
    GW_MARK_ALL, /* the whole route (admin purge without a prefix) */
    GW_MARK_ORG, /* the entries of an org's callers (events) */
    GW_MARK_SUB, /* the entries whose path has this segment (events' subjects) */
    GW_MARK_PFX, /* the entries under a decoded path prefix (admin purge) */
} gw_mark_t;

/* The name of one purge marker of a route into out. A prefix is taken without its trailing
 * slashes ("/" and "" mean the whole route: GW_MARK_ALL). TC_OK, TC_EINVAL when it does not
 * fit. */
int gw_shared_marker_name(const char *route, gw_mark_t kind, const char *value, size_t len,
                          char *out, size_t cap);

/* Whether a key's path is one the shared tier takes (at most GW_SHARED_MAX_PATH bytes and
 * GW_SHARED_MAX_SEGMENTS segments as sent and decoded, no NUL once decoded); other entries
 * stay local. */
bool gw_shared_key_fits(const char *key, size_t key_len);

/* The markers that concern an entry of a route, its callers' org ("" for anonymous ones) and
 * cache key: the names, NUL-separated, into buf; names[i] and lens[i] point at them. How many
 * (at most GW_SHARED_MAX_MARKERS), or -1 when the path is too long or deep for the shared
 * tier, or buf too small. */
int gw_shared_markers(const char *route, const char *org, const char *key, size_t key_len,
                      char *buf, size_t cap, const char **names, size_t *lens);

/* Whether a value read for `key` may be served at wall time now_ms, given the newest of its
 * markers (0: none): the same key, fetched after the marker by more than skew_ms. *fresh says
 * whether it is inside its freshness; a usable entry that is not fresh is inside its
 * stale-while-revalidate window. */
bool gw_shared_usable(const gw_shared_entry_t *e, const char *key, size_t key_len, int64_t now_ms,
                      int64_t newest_marker_ms, int64_t skew_ms, bool *fresh);

#endif
