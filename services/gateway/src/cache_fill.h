/*
 * cache_fill.h: request coalescing for the response cache (issue 23). When a cacheable
 * request misses, it claims the key's fill; requests for the same key that miss meanwhile wait
 * for that one answer instead of each going to the service (N concurrent misses, one upstream
 * fetch). An entry past its freshness but inside its stale-while-revalidate window is served
 * stale to everyone while the one request that claimed the fill refreshes it.
 *
 * A fill ends with the answer stored (the waiters then find it) or not stored (an error, an
 * answer the service marks uncacheable): then the key "passes" for GW_FILL_PASS_MS, so
 * requests for a key whose answers are not cacheable are not queued behind each other. A
 * claim holds at most hold_ms (the route's upstream timeout): a fill whose request vanished
 * without ending it stops holding anyone back then. Shared by the workers, one mutex.
 */
#ifndef GW_CACHE_FILL_H
#define GW_CACHE_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_FILL_PASS_MS 2000 /* how long a key whose fill stored nothing is not coalesced */
#define GW_FILL_MAX     8192 /* fills and passes at once; beyond, requests are not coalesced */

typedef struct gw_fills gw_fills_t;

typedef enum {
    GW_FILL_MINE, /* the caller fills the key: go to the service, then gw_fills_done */
    GW_FILL_WAIT, /* another request is filling it: wait for its answer (or serve stale) */
    GW_FILL_PASS, /* go to the service without coalescing */
} gw_fill_t;

gw_fills_t *gw_fills_new(void);
void gw_fills_free(gw_fills_t *f);

/* Claims the fill of a key; *ticket identifies the claim for gw_fills_done (GW_FILL_MINE). */
gw_fill_t gw_fills_claim(gw_fills_t *f, const char *key, size_t len, int64_t now_ms,
                         int64_t hold_ms, uint64_t *ticket);

/* Ends a claim: stored true releases the key (the answer is in the cache), false makes it pass
 * for GW_FILL_PASS_MS. A claim that expired and was taken over is left alone. */
void gw_fills_done(gw_fills_t *f, const char *key, size_t len, uint64_t ticket, bool stored,
                   int64_t now_ms);

/* Claims and passes held now (for metrics and tests). */
size_t gw_fills_count(gw_fills_t *f);

#endif
