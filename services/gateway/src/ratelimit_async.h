/*
 * ratelimit_async.h: plan and per-IP rate limits from inside the event loop.
 *
 * Each worker keeps one hiredis asynchronous connection, driven by the worker's own epoll
 * loop (an adapter of hiredis' event hooks), and runs libcommon's GCRA + daily-quota script
 * on it (EVALSHA, EVAL after NOSCRIPT), so a request waiting for Redis never blocks the
 * other connections of its worker. Requests of one key arriving in one loop turn share one
 * script run (tc_ratelimit_prepare_n: decided in arrival order as single checks in a row
 * would be); the commands of a turn leave in one write at its end (gw_rl_flush).
 *
 * When Redis does not answer within RATE_LIMIT_TIMEOUT_MS, or the connection is down, the
 * request is decided by an in-process GCRA (RATE_LIMIT_FAIL_OPEN=true, the default) or
 * refused with 503 (false); the worker drops the connection and redials with backoff, so
 * while Redis is unreachable requests pay no waiting at all.
 */
#ifndef GW_RATELIMIT_ASYNC_H
#define GW_RATELIMIT_ASYNC_H

#include <stdint.h>

#include "gw.h"
#include "tc/tc_ratelimit.h"

gw_rl_t *gw_rl_new(gw_worker_t *w);
void gw_rl_free(gw_rl_t *rl);
void gw_rl_event(gw_rl_t *rl, uint32_t events);
void gw_rl_timer(gw_rl_t *rl);
/* Writes the commands queued during this loop turn. */
void gw_rl_flush(gw_rl_t *rl);
/* The worker's Redis connection for other commands (the cache's shared tier), NULL while it
 * is not ready; what is queued on it leaves with the turn's flush. */
struct redisAsyncContext *gw_rl_redis(gw_rl_t *rl);
/* The worker of a connection's data (hiredis callbacks get the context only). */
gw_worker_t *gw_rl_worker(void *ac_data);
/* The conn's Redis answer did not come in time. */
void gw_ratelimit_timeout(gw_conn_t *c);

/* ------------------------------------------------------------------ in-process GCRA */

/* Fixed-size table of GCRA states, shared by the workers (striped locks). Used while Redis is
 * unreachable; approximate by design (colliding keys share a slot, no daily quota). */
gw_local_rl_t *gw_local_rl_new(int slots);
void gw_local_rl_free(gw_local_rl_t *l);
void gw_local_rl_check(gw_local_rl_t *l, const char *key, const tc_rl_spec_t *spec, int64_t now_us,
                       tc_rl_result_t *out);

#endif
