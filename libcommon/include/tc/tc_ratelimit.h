/*
 * tc_ratelimit.h: GCRA (generic cell rate algorithm) in Redis, one Lua script, atomic.
 *
 * A limit is `limit` requests per `period_ms` with a burst allowance of `burst` requests
 * (burst >= 1). State is one key holding the theoretical arrival time (TAT). An optional
 * second key enforces a fixed-window quota (e.g. per UTC day), and an optional third key a
 * second GCRA limit (e.g. a route's own rate beside an org's plan rate), in the same script:
 * a request is admitted only if every configured limit allows it, and a rejected request
 * consumes nothing of any of them.
 * The script reads Redis' clock (TIME), so all replicas agree on time.
 */
#ifndef TC_RATELIMIT_H
#define TC_RATELIMIT_H

#include <stdint.h>
#include "tc/tc_metrics.h"
#include "tc/tc_redis.h"

#include <stdbool.h>

typedef struct {
    int64_t limit; /* requests per period */
    int64_t period_ms;
    int64_t burst;         /* max requests admitted at once (>= 1) */
    const char *quota_key; /* optional fixed-window quota; NULL for none */
    int64_t quota_limit;
    int64_t quota_window_ms; /* e.g. 86400000; windows aligned to the epoch (UTC days) */
    const char *extra_key;   /* optional second GCRA limit (NULL: none), e.g. a route's own;
                              * a key of its own (not the GCRA or the quota key) */
    int64_t extra_limit;     /* requests per extra_period_ms */
    int64_t extra_period_ms;
    int64_t extra_burst; /* >= 1 */
} tc_rl_spec_t;

typedef struct {
    int allowed;
    /* limit, remaining and reset_ms describe the policy that runs out first (lowest remaining;
     * on a tie the rate, then the extra limit, then the quota) */
    int64_t limit;           /* the limit that applies (for RateLimit-Limit) */
    int64_t remaining;       /* requests left before the limit bites */
    int64_t reset_ms;        /* time until the limiter is fully reset */
    int64_t retry_after_ms;  /* when rejected: time until every refusing limit would admit one */
    int quota_exceeded;      /* rejected by the quota (the rate may refuse too) */
    int64_t quota_remaining; /* -1 when there is no quota */
    int extra_exceeded;      /* rejected by the extra limit (others may refuse too) */
    int64_t extra_remaining; /* -1 when there is no extra limit */
} tc_rl_result_t;

/* TC_OK with *out, or TC_EUNAVAIL when Redis cannot answer (caller decides fail-open). */
int tc_ratelimit_check(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, int64_t cost,
                       tc_rl_result_t *out);

/* What a service's own limits ask (a throttle of logins, of a SCIM token's requests): one
 * request against key. TC_OK to go ahead; TC_EAGAIN when limited, *retry_after_s the whole
 * seconds until one would be admitted (at least 1). Redis that cannot answer goes ahead when
 * fail_open, else is TC_EAGAIN with 1 s; either way it is counted in unavailable (a counter
 * with one label, "outcome": allowed or refused; NULL: not counted). */
int tc_ratelimit_gate(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, bool fail_open,
                      tc_metric_t *unavailable, int *retry_after_s);

/*
 * The same check for callers that run the script on their own connection (the gateway's
 * asynchronous Redis client): tc_ratelimit_check is prepare → EVALSHA/EVAL → parse.
 *
 * KEYS: the GCRA key, then the quota key when there is one, then the extra key when there is
 * one (nkeys 1..3). ARGV (nargs 6, or 8 with an extra limit): interval_us, tolerance_us, cost,
 * quota_limit, quota_window_ms, [extra_interval_us, extra_tolerance_us,] count. Everything
 * but the last argument depends on the spec and cost only; the last is always the batch's
 * count. Without an extra limit the call is exactly what it was before extra limits existed.
 */
#define TC_RL_KEYS_MAX 3
#define TC_RL_ARGS_MAX 8
typedef struct {
    int nkeys;
    const char *keys[TC_RL_KEYS_MAX];
    int nargs;
    const char *args[TC_RL_ARGS_MAX]; /* ARGV, pointing into buf; args[nargs - 1] is the count */
    char buf[TC_RL_ARGS_MAX][24];
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
 * the rate, the extra limit and the quota allow, the rest refused without consuming anything).
 * A server that receives several requests of one org at once sends one script run for them.
 * tc_ratelimit_parse_nth gives request i's result (0-based, in the order of the batch).
 */
int tc_ratelimit_prepare_n(const char *key, const tc_rl_spec_t *spec, int64_t cost, int64_t count,
                           tc_rl_call_t *call);
int tc_ratelimit_parse_nth(const redisReply *reply, const tc_rl_spec_t *spec, int64_t i,
                           tc_rl_result_t *out);

#endif
