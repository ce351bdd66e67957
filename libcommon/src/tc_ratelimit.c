/*
 * GCRA rate limiting with an optional fixed-window quota and an optional second GCRA limit,
 * in one atomic Lua script.
 *
 * Time is integer microseconds of Redis' clock. With T = emission interval and
 * tau = T * burst, the key holds the theoretical arrival time (TAT); a request of `cost`
 * cells is admitted when  max(TAT, now) + T * cost - tau <= now,  which admits exactly
 * `burst` requests from idle and then one every T. T is computed here in 64-bit integers
 * and rounded up, so the limiter never admits more than `limit` per `period` on average and
 * the boundary comparison is exact (Lua numbers are doubles; every value the script handles
 * stays far below 2^53, see MAX_SPAN_US).
 *
 * The quota key is a hash {w = window start (ms), n = cells used}; a stale window reads as
 * zero, so correctness does not depend on the key expiring exactly at the boundary. The extra
 * limit is a second, independent GCRA (its own key, interval and tolerance, the same cost and
 * the same bounds). Nothing is written unless the rate, the extra limit and the quota all
 * admit the request.
 */
#include "tc/tc_ratelimit.h"
#include "tc/tc_core.h"
#include "tc/tc_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 2^48 us is ~8.9 years; with now ~2^51 us the script's sums stay below 2^53. */
#define MAX_SPAN_US ((int64_t)1 << 48)
#define MAX_SPAN_MS (MAX_SPAN_US / 1000)

/* The script's reply: what the batch got, and the state it started from, from which the
 * result of each request of the batch is derived (derive_nth). Always R_COUNT integers; the
 * quota and extra fields are 0 when that limit is off. */
enum {
    R_ADMITTED,     /* k: the first k requests of the batch were admitted */
    R_RATE_LEFT0,   /* whole cells of burst left before the batch */
    R_BASE_US,      /* max(TAT, now) - now before the batch */
    R_STEP_US,      /* interval * cost: how far one admitted request moves the TAT */
    R_TOLERANCE_US, /* interval * burst */
    R_COST,
    R_QUOTA_ON,
    R_QUOTA_LEFT0, /* quota cells left before the batch */
    R_QUOTA_RESET_MS,
    R_EXTRA_ON,
    R_EXTRA_LEFT0,        /* the extra limit's R_RATE_LEFT0 */
    R_EXTRA_BASE_US,      /* its R_BASE_US */
    R_EXTRA_STEP_US,      /* its R_STEP_US */
    R_EXTRA_TOLERANCE_US, /* its R_TOLERANCE_US */
    R_COUNT
};

/* KEYS[1] = GCRA key, then the quota key (optional), then the extra GCRA key (optional).
 * ARGV = interval_us, tolerance_us, cost, quota_limit, quota_window_ms,
 *        [extra_interval_us, extra_tolerance_us,] count
 * The extra limit is on when ARGV has 8 entries (its key is then the last of KEYS); the quota
 * is on when KEYS holds a key besides the GCRA key and the extra key. The count is always the
 * last argument, so a call without an extra limit is the 6-argument call of before.
 * `count` requests of `cost` cells each, in arrival order: the first k that the rate, the
 * extra rate and the quota all admit are taken (k = the least any of them admits), exactly as
 * k single checks at this instant would be, and the rest are refused (a refused request
 * consumes nothing of any limit). count 1 is the plain check.
 * Reply: the R_* integers above, in that order. */
static const char gcra_lua[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local interval = tonumber(ARGV[1])\n"
    "local tolerance = tonumber(ARGV[2])\n"
    "local cost = tonumber(ARGV[3])\n"
    "local count = tonumber(ARGV[#ARGV]) or 1\n"
    "local x_on = #ARGV >= 8\n"
    "local q_on = #KEYS > (x_on and 2 or 1)\n"
    "if x_on and #KEYS < 2 then return redis.error_reply('ERR extra limit without its key') end\n"
    "local function ceil_ms(us) return math.ceil(us / 1000) end\n"
    "local function int(x) return string.format('%d', x) end\n"
    "local function fits(left)\n"
    "  if cost == 0 then return count end\n"
    "  return math.min(count, math.floor(left / cost))\n"
    "end\n"
    "local function gcra(key, iv, tol)\n"
    "  local tat = tonumber(redis.call('GET', key)) or now\n"
    "  if tat < now then tat = now end\n"
    "  return tat, math.max(math.floor((now + tol - tat) / iv), 0)\n"
    "end\n"
    "\n"
    "local tat, rate_left = gcra(KEYS[1], interval, tolerance)\n"
    "local k = fits(rate_left)\n"
    "\n"
    "local x_key, x_interval, x_tolerance, x_tat, x_left = KEYS[#KEYS], 0, 0, now, 0\n"
    "if x_on then\n"
    "  x_interval = tonumber(ARGV[6])\n"
    "  x_tolerance = tonumber(ARGV[7])\n"
    "  x_tat, x_left = gcra(x_key, x_interval, x_tolerance)\n"
    "  k = math.min(k, fits(x_left))\n"
    "end\n"
    "\n"
    "local q_left, q_reset, q_used, q_start = 0, 0, 0, 0\n"
    "if q_on then\n"
    "  local q_limit = tonumber(ARGV[4])\n"
    "  local window = tonumber(ARGV[5])\n"
    "  local now_ms = math.floor(now / 1000)\n"
    "  q_start = now_ms - now_ms % window\n"
    "  local h = redis.call('HMGET', KEYS[2], 'w', 'n')\n"
    "  if tonumber(h[1]) == q_start then q_used = tonumber(h[2]) or 0 end\n"
    "  q_left = math.max(q_limit - q_used, 0)\n"
    "  q_reset = q_start + window - now_ms\n"
    "  k = math.min(k, fits(q_left))\n"
    "end\n"
    "\n"
    "if k > 0 and cost > 0 then\n"
    "  local new_tat = tat + interval * cost * k\n"
    "  redis.call('SET', KEYS[1], int(new_tat), 'PX', int(ceil_ms(new_tat - now)))\n"
    "  if x_on then\n"
    "    local x_new = x_tat + x_interval * cost * k\n"
    "    redis.call('SET', x_key, int(x_new), 'PX', int(ceil_ms(x_new - now)))\n"
    "  end\n"
    "  if q_on then\n"
    "    redis.call('HSET', KEYS[2], 'w', int(q_start), 'n', int(q_used + cost * k))\n"
    "    redis.call('PEXPIRE', KEYS[2], int(q_reset))\n"
    "  end\n"
    "end\n"
    "return {k, rate_left, tat - now, interval * cost, tolerance, cost,\n"
    "        q_on and 1 or 0, q_left, q_reset,\n"
    "        x_on and 1 or 0, x_left, x_tat - now, x_interval * cost, x_tolerance}\n";

/* Owned by this module; its sha1 is filled in once under tc_redis' script lock. */
static tc_redis_script_t g_gcra = TC_REDIS_SCRIPT(gcra_lua);

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

/* One GCRA limit: its bounds keep interval * burst (the tolerance) within MAX_SPAN_US. */
static int validate_gcra(int64_t limit, int64_t period_ms, int64_t burst, int64_t cost)
{
    if (limit < 1 || burst < 1 || period_ms < 1 || period_ms > MAX_SPAN_MS)
        return TC_EINVAL;
    int64_t interval = ceil_div(period_ms * 1000, limit);
    if (burst > MAX_SPAN_US / interval)
        return TC_EINVAL;
    /* A cost above the burst could never be admitted: that is a caller bug, not a denial. */
    if (cost < 0 || cost > burst)
        return TC_EINVAL;
    return TC_OK;
}

static int validate(const char *key, const tc_rl_spec_t *spec, int64_t cost)
{
    if (validate_gcra(spec->limit, spec->period_ms, spec->burst, cost) != TC_OK)
        return TC_EINVAL;
    if (spec->quota_key &&
        (spec->quota_limit < 0 || spec->quota_window_ms < 1 || spec->quota_window_ms > MAX_SPAN_MS))
        return TC_EINVAL;
    if (spec->extra_key) {
        if (validate_gcra(spec->extra_limit, spec->extra_period_ms, spec->extra_burst, cost) !=
            TC_OK)
            return TC_EINVAL;
        /* two limits on one key would overwrite each other's state */
        if (strcmp(spec->extra_key, key) == 0 ||
            (spec->quota_key && strcmp(spec->extra_key, spec->quota_key) == 0))
            return TC_EINVAL;
    }
    return TC_OK;
}

static int parse_reply(const redisReply *reply, int64_t v[R_COUNT])
{
    if (reply->type == REDIS_REPLY_ERROR) {
        tc_log_kv(TC_LOG_ERROR, "rate limit script failed", "error", reply->str, NULL);
        return TC_ERROR;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != R_COUNT)
        goto bad;
    for (size_t i = 0; i < R_COUNT; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER)
            goto bad;
        v[i] = reply->element[i]->integer;
    }
    if (v[R_ADMITTED] < 0 || v[R_RATE_LEFT0] < 0 || v[R_BASE_US] < 0 || v[R_STEP_US] < 0 ||
        v[R_COST] < 0 || v[R_QUOTA_LEFT0] < 0 || v[R_EXTRA_LEFT0] < 0 || v[R_EXTRA_BASE_US] < 0 ||
        v[R_EXTRA_STEP_US] < 0)
        goto bad;
    return TC_OK;
bad:
    tc_log_kv(TC_LOG_ERROR, "unexpected rate limit script reply", NULL);
    return TC_ERROR;
}

static int64_t ceil_ms(int64_t us)
{
    return us <= 0 ? 0 : ceil_div(us, 1000);
}

/*
 * The result of request `i` (0-based, arrival order) of a batch: what a single check would
 * have answered at that instant after the j admissions before it (j = i + 1 counting itself
 * when admitted; a refused request sees all k admissions of the batch).
 *
 * The headline numbers (limit, remaining, reset) describe whichever policy runs out first
 * (on a tie: the rate, then the extra limit, then the quota), as RateLimit-* headers expect;
 * retry_after is the longest wait among the limits that refuse. quota_remaining and
 * extra_remaining are -1 when that limit is not configured.
 */
static void derive_nth(const tc_rl_spec_t *spec, const int64_t v[R_COUNT], int64_t i,
                       tc_rl_result_t *out)
{
    int64_t k = v[R_ADMITTED], cost = v[R_COST], step = v[R_STEP_US];
    int allowed = i < k;
    int64_t j = allowed ? i + 1 : k;
    int64_t rate_left = v[R_RATE_LEFT0] - cost * j;
    int64_t tat_rel = v[R_BASE_US] + step * j; /* TAT - now after those admissions */
    memset(out, 0, sizeof *out);
    out->allowed = allowed;
    out->limit = spec->limit;
    out->remaining = rate_left > 0 ? rate_left : 0;
    out->reset_ms = ceil_ms(tat_rel);
    out->quota_remaining = -1;
    out->extra_remaining = -1;
    if (!allowed && rate_left < cost) /* the rate refuses: the next cell frees up then */
        out->retry_after_ms = ceil_ms(tat_rel + step - v[R_TOLERANCE_US]);
    if (v[R_EXTRA_ON]) {
        int64_t x_step = v[R_EXTRA_STEP_US];
        int64_t x_left = v[R_EXTRA_LEFT0] - cost * j;
        int64_t x_tat_rel = v[R_EXTRA_BASE_US] + x_step * j;
        if (x_left < 0)
            x_left = 0;
        out->extra_remaining = x_left;
        if (!allowed && x_left < cost) {
            out->extra_exceeded = 1;
            int64_t wait = ceil_ms(x_tat_rel + x_step - v[R_EXTRA_TOLERANCE_US]);
            if (wait > out->retry_after_ms)
                out->retry_after_ms = wait;
        }
        if (x_left < out->remaining) {
            out->limit = spec->extra_limit;
            out->remaining = x_left;
            out->reset_ms = ceil_ms(x_tat_rel);
        }
    }
    if (!v[R_QUOTA_ON])
        return;
    int64_t q_left = v[R_QUOTA_LEFT0] - cost * j;
    if (q_left < 0)
        q_left = 0;
    out->quota_remaining = q_left;
    if (!allowed && q_left < cost) {
        out->quota_exceeded = 1;
        if (v[R_QUOTA_RESET_MS] > out->retry_after_ms)
            out->retry_after_ms = v[R_QUOTA_RESET_MS];
    }
    if (q_left < out->remaining) {
        out->limit = spec->quota_limit;
        out->remaining = q_left;
        out->reset_ms = v[R_QUOTA_RESET_MS];
    }
}

tc_redis_script_t *tc_ratelimit_script(void)
{
    return &g_gcra;
}

int tc_ratelimit_prepare_n(const char *key, const tc_rl_spec_t *spec, int64_t cost, int64_t count,
                           tc_rl_call_t *call)
{
    if (!key || !spec || !call || validate(key, spec, cost) != TC_OK || count < 1 ||
        count > TC_RL_BATCH_MAX)
        return TC_EINVAL;
    int64_t interval = ceil_div(spec->period_ms * 1000, spec->limit);
    int64_t values[TC_RL_ARGS_MAX] = {interval, interval * spec->burst, cost, spec->quota_limit,
                                      spec->quota_window_ms};
    int n = 5;
    if (spec->extra_key) {
        int64_t x_interval = ceil_div(spec->extra_period_ms * 1000, spec->extra_limit);
        values[n++] = x_interval;
        values[n++] = x_interval * spec->extra_burst;
    }
    values[n++] = count; /* always the last */
    memset(call, 0, sizeof *call);
    for (int i = 0; i < n; i++) {
        snprintf(call->buf[i], sizeof call->buf[i], "%" PRId64, values[i]);
        call->args[i] = call->buf[i];
    }
    call->nargs = n;
    call->keys[call->nkeys++] = key;
    if (spec->quota_key)
        call->keys[call->nkeys++] = spec->quota_key;
    if (spec->extra_key)
        call->keys[call->nkeys++] = spec->extra_key;
    return TC_OK;
}

int tc_ratelimit_prepare(const char *key, const tc_rl_spec_t *spec, int64_t cost,
                         tc_rl_call_t *call)
{
    return tc_ratelimit_prepare_n(key, spec, cost, 1, call);
}

int tc_ratelimit_parse_nth(const redisReply *reply, const tc_rl_spec_t *spec, int64_t i,
                           tc_rl_result_t *out)
{
    int64_t v[R_COUNT];
    if (!reply || !spec || !out || i < 0)
        return TC_EINVAL;
    int rc = parse_reply(reply, v);
    if (rc == TC_OK)
        derive_nth(spec, v, i, out);
    return rc;
}

int tc_ratelimit_parse(const redisReply *reply, const tc_rl_spec_t *spec, tc_rl_result_t *out)
{
    return tc_ratelimit_parse_nth(reply, spec, 0, out);
}

int tc_ratelimit_check(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, int64_t cost,
                       tc_rl_result_t *out)
{
    tc_rl_call_t call;
    if (!r || !out || tc_ratelimit_prepare(key, spec, cost, &call) != TC_OK)
        return TC_EINVAL;
    redisReply *reply = tc_redis_eval(r, &g_gcra, call.nkeys, call.keys, call.nargs, call.args);
    if (!reply)
        return TC_EUNAVAIL;
    int rc = tc_ratelimit_parse(reply, spec, out);
    freeReplyObject(reply);
    return rc;
}

int tc_ratelimit_gate(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, bool fail_open,
                      tc_metric_t *unavailable, int *retry_after_s)
{
    tc_rl_result_t res;
    *retry_after_s = 0;
    if (tc_ratelimit_check(r, key, spec, 1, &res) != TC_OK) {
        if (unavailable)
            tc_metric_inc(unavailable, 1, fail_open ? "allowed" : "refused");
        if (fail_open)
            return TC_OK;
        *retry_after_s = 1;
        return TC_EAGAIN;
    }
    if (res.allowed)
        return TC_OK;
    *retry_after_s = (int)((res.retry_after_ms + 999) / 1000);
    if (*retry_after_s < 1)
        *retry_after_s = 1;
    return TC_EAGAIN;
}
