/*
 * response_cache.h: the gateway's in-process response cache, shared by its workers: entries
 * by key (cache_policy.h), least recently used first out when the byte budget
 * (GATEWAY_CACHE_MAX_BYTES) is spent, expired entries dropped when met.
 *
 * An entry is immutable once stored and reference-counted: a worker serving it holds a
 * reference while it copies it out, so a purge or a replacement never frees it under a
 * reader. One mutex guards the table and the LRU list; it is held only to find, link or
 * unlink an entry, never while copying one out.
 */
#ifndef GW_RESPONSE_CACHE_H
#define GW_RESPONSE_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_cache gw_cache_t;

typedef struct gw_cache_entry {
    atomic_int refs;
    struct gw_cache_entry *hnext; /* hash chain */
    struct gw_cache_entry *lru_prev, *lru_next;
    uint64_t hash;
    char *key; /* method, path, normalised query, org, route vary values */
    size_t key_len;
    char *vary_names; /* the response's Vary ("a;b"), "" when none */
    char *vary_sig;   /* the storing request's values of them */
    size_t vary_sig_len;
    char *head; /* "HTTP/1.1 200 OK\r\n" … Content-Length … "\r\n\r\n" */
    size_t head_len;
    char *body;
    size_t body_len;
    char *etag;         /* the ETag value, "" when none */
    int64_t stored_ms;  /* monotonic */
    int64_t expires_ms; /* monotonic: fresh until then */
    int64_t stale_ms;   /* monotonic: served stale while one request refreshes it, until then */
    int64_t age0_s;     /* the Age it already had when stored */
    size_t bytes;       /* what it counts against the budget */
    char *route;        /* tags for purges by event: the route's name, */
    char *org;          /* the org of the callers it serves ("" for anonymous ones) */
} gw_cache_entry_t;

gw_cache_t *gw_cache_new(size_t max_bytes);
void gw_cache_free(gw_cache_t *c);

/* The entry for a key whose Vary signature the caller computes with sig(), fresh or (*stale
 * set) past its freshness but inside its stale-while-revalidate window; a reference for the
 * caller (gw_cache_release), or NULL. */
typedef long (*gw_cache_sig_fn)(const char *names, char *out, size_t cap, void *ud);
gw_cache_entry_t *gw_cache_get(gw_cache_t *c, const char *key, size_t key_len, int64_t now_ms,
                               gw_cache_sig_fn sig, void *ud, bool *stale);
void gw_cache_release(gw_cache_entry_t *e);

/* Stores (or replaces) an entry; the cache takes e over. TC_OK; TC_EINVAL when it is larger
 * than an entry may be (gw_cache_max_entry), TC_ECONFLICT when a purge happened since
 * `generation` (gw_cache_generation when the answer began): then e was freed. */
int gw_cache_put(gw_cache_t *c, gw_cache_entry_t *e, uint64_t generation);
/* The largest entry the cache takes (an eighth of its budget). */
size_t gw_cache_max_entry(const gw_cache_t *c);
/* Purges so far. */
uint64_t gw_cache_generation(gw_cache_t *c);

/* A new entry owning copies of its parts (NULL when out of memory). */
gw_cache_entry_t *gw_cache_entry_new(const char *key, size_t key_len, const char *vary_names,
                                     const char *vary_sig, size_t vary_sig_len, const char *head,
                                     size_t head_len, const char *body, size_t body_len,
                                     const char *etag, size_t etag_len);

/* Tags an entry (before gw_cache_put) with its route's name and its callers' org. TC_ENOMEM. */
int gw_cache_entry_tag(gw_cache_entry_t *e, const char *route, const char *org);

/* Removes the entries of the routes listens() says yes to that are tagged with a resource:
 * entries of `org` (when not empty), and entries whose path has a segment equal to `subject`
 * (when not empty). How many. Answers on their way are not stored (like every purge). */
typedef bool (*gw_cache_route_fn)(const char *route, void *ud);
size_t gw_cache_purge_tagged(gw_cache_t *c, gw_cache_route_fn listens, void *ud, const char *org,
                             const char *subject);

/* Removes every entry whose path, decoded, is prefix or under it on a segment boundary (all
 * of them for ""): how many. */
size_t gw_cache_purge(gw_cache_t *c, const char *prefix, size_t len);

typedef struct {
    size_t entries;
    size_t bytes;
} gw_cache_stats_t;
void gw_cache_stats(gw_cache_t *c, gw_cache_stats_t *out);

#endif
