/*
 * cache_tier.h: the response cache's shared tier in Redis, its I/O (cache_shared.h has the
 * values and names). Workers read and write on their own asynchronous Redis connection (the
 * rate limiter's, ratelimit_async.h); purge markers are written by the thread that purges
 * (the event reader, the admin API) on libcommon's pooled connections.
 *
 * When a marker cannot be written (Redis unreachable) the replica stops using the tier —
 * neither reads nor writes — until a job has written an "all" marker for every caching route
 * (every 1 s): entries a lost purge concerned are then never served. Every replica follows
 * the purging events itself, so one replica's outage loses no other's markers. At start, the
 * routes purged by events are marked "all" (events of a time no replica ran purged nothing).
 */
#ifndef GW_CACHE_TIER_H
#define GW_CACHE_TIER_H

#include "cache_shared.h"
#include "gw.h"

/* Whether c's request may use the shared tier now. */
bool gw_tier_on(const gw_conn_t *c);

/* Asks Redis for key's entry and markers: true when asked (c waits in CS_SHARED; the answer
 * comes to gw_cache_tier_answer), false when it cannot be (no connection). */
bool gw_tier_ask(gw_conn_t *c, const char *key, size_t key_len);

/* A read timed out: the worker asks no more for a while (a stalled Redis costs each miss its
 * timeout only once a second). */
void gw_tier_timed_out(gw_worker_t *w);

/* Writes an entry c fetched (fire and forget: a lost write is a later miss). */
void gw_tier_store(gw_conn_t *c, const gw_shared_entry_t *e);

/* Writes a purge marker for each route the predicate (NULL: every caching route) says yes to,
 * timed now. TC_OK; TC_EUNAVAIL when one could not be written (the tier is then unused
 * until repaired). */
typedef bool (*gw_tier_route_fn)(const gw_route_t *rt, void *ud);
int gw_tier_mark(gw_app_t *app, const gw_config_t *cfg, gw_tier_route_fn which, void *ud,
                 gw_mark_t kind, const char *value, size_t len);

/* Starts the repair job (tc_service_every). */
int gw_tier_start(gw_app_t *app);

/* cache_stage.c: the tier's answer for c (e NULL: none, or not readable), and its timeout. */
void gw_cache_tier_answer(gw_conn_t *c, const gw_shared_entry_t *e, int64_t newest_marker_ms);
void gw_cache_tier_timeout(gw_conn_t *c);

#endif
