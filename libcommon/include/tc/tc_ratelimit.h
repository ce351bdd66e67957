/*
 * tc_ratelimit.h: GCRA (generic cell rate algorithm) in Redis, one Lua script, atomic.
 *
 * A limit is `limit` requests per `period_ms` with a burst allowance of `burst` requests
 * (burst >= 1). State is one key holding the theoretical arrival time (TAT). An optional
 * second key enforces a fixed-window quota (e.g. per UTC day) in the same script, so a
 * request is admitted only if both allow it and a rejected request consumes neither.
 * The script reads Redis' clock (TIME), so all replicas agree on time.
 */
#ifndef TC_RATELIMIT_H
#define TC_RATELIMIT_H

#include <stdint.h>
#include "tc/tc_redis.h"

typedef struct {
    int64_t limit; /* requests per period */
    int64_t period_ms;
    int64_t burst;         /* max requests admitted at once (>= 1) */
    const char *quota_key; /* optional fixed-window quota; NULL for none */
    int64_t quota_limit;
    int64_t quota_window_ms; /* e.g. 86400000; windows aligned to the epoch (UTC days) */
} tc_rl_spec_t;

typedef struct {
    int allowed;
    int64_t limit;          /* the limit that applies (for RateLimit-Limit) */
    int64_t remaining;      /* requests left before the limit bites */
    int64_t reset_ms;       /* time until the limiter is fully reset */
    int64_t retry_after_ms; /* when rejected: time until one request would be admitted */
    int quota_exceeded;     /* rejected by the quota rather than the rate */
    int64_t quota_remaining;
} tc_rl_result_t;

/* TC_OK with *out, or TC_EUNAVAIL when Redis cannot answer (caller decides fail-open). */
int tc_ratelimit_check(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, int64_t cost,
                       tc_rl_result_t *out);

/*
 * The same check for callers that run the script on their own connection (the gateway's
 * asynchronous Redis client): tc_ratelimit_check is prepare → EVALSHA/EVAL → parse.
 */
typedef struct {
    int nkeys;
    const char *keys[2]; /* KEYS: the GCRA key, then the quota key when there is one */
    int nargs;
    const char *args[6]; /* ARGV, pointing into buf; the last is the batch's count */
    char buf[6][24];
} tc_rl_call_t;

/* Most requests one script run decides (tc_ratelimit_prepare_n). */
#define TC_RL_BATCH_MAX 1024

/* The Lua script (source; its sha1 is filled in by tc_redis_eval on first use). */
tc_redis_script_t *tc_ratelimit_script(void);
/* KEYS and ARGV for one check. TC_EINVAL when the spec or cost is invalid. */
int tc_ratelimit_prepare(const char *key, const tc_rl_spec_t *spec, int64_t cost,
                         tc_rl_call_t *call);
/* Decodes the script's reply. TC_ERROR for an error reply or an unexpected shape. */
int tc_ratelimit_parse(const redisReply *reply, const tc_rl_spec_t *spec, tc_rl_result_t *out);

/*
 * Batches: `count` requests of `cost` each against one key, decided by one script run, as
 * `count` single checks in a row at the same instant would be (the first ones admitted while
 * the rate and the quota allow, the rest refused without consuming anything). A server that
 * receives several requests of one org at once sends one script run for all of them.
 * tc_ratelimit_parse_nth gives request i's result (0-based, in the order of the batch).
 */
int tc_ratelimit_prepare_n(const char *key, const tc_rl_spec_t *spec, int64_t cost, int64_t count,
                           tc_rl_call_t *call);
int tc_ratelimit_parse_nth(const redisReply *reply, const tc_rl_spec_t *spec, int64_t i,
                           tc_rl_result_t *out);

#endif
