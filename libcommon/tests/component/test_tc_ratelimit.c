/*
 * tc_ratelimit against a real Redis (TC_TEST_REDIS_URL). Each test uses its own keys.
 * Timing assertions leave room for a slow machine but stay tight enough to catch an
 * off-by-one-interval bug (T is 100 ms in most tests).
 */
#include <criterion/criterion.h>

#include "tc/tc_core.h"
#include "tc/tc_ratelimit.h"
#include "tc/tc_redis.h"
#include "tc/tc_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DAY_MS 86400000

static tc_redis_t *open_pool(void)
{
    const char *url = getenv("TC_TEST_REDIS_URL");
    cr_assert(url && *url, "TC_TEST_REDIS_URL is not set: these tests need a running Redis, "
                           "e.g. TC_TEST_REDIS_URL=redis://127.0.0.1:6379/0");
    tc_redis_opts_t opts = {.url = url, .pool_size = 8, .command_timeout_ms = 2000};
    tc_redis_t *r = tc_redis_open(&opts);
    cr_assert_not_null(r, "tc_redis_open(%s) failed", url);
    return r;
}

static void unique_key(char *out, size_t n, const char *what)
{
    snprintf(out, n, "tc:test:rl:%s:%d:%lld", what, (int)getpid(), (long long)tc_mono_ns());
}

static tc_rl_result_t check(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, int64_t cost)
{
    tc_rl_result_t res;
    int rc = tc_ratelimit_check(r, key, spec, cost, &res);
    cr_assert_eq(rc, TC_OK, "tc_ratelimit_check: %s", tc_strerror(rc));
    return res;
}

static long long pttl(tc_redis_t *r, const char *key)
{
    redisReply *reply = tc_redis_cmdf(r, "PTTL %s", key);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->type, REDIS_REPLY_INTEGER);
    long long v = reply->integer;
    freeReplyObject(reply);
    return v;
}

/* ------------------------------------------------------------------------------ rate */

Test(ratelimit, burst_then_limit)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "burst");
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5};
    for (int i = 0; i < 5; i++) {
        tc_rl_result_t res = check(r, key, &spec, 1);
        cr_assert(res.allowed, "request %d of the burst was rejected", i + 1);
        cr_assert_eq(res.remaining, 4 - i);
        cr_assert_eq(res.limit, 10);
        cr_assert_eq(res.retry_after_ms, 0);
        cr_assert_eq(res.quota_exceeded, 0);
    }
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed, "the request after the burst must be rejected");
    cr_assert_eq(res.remaining, 0);
    cr_assert_eq(res.quota_exceeded, 0);
    cr_assert(res.retry_after_ms >= 70 && res.retry_after_ms <= 100,
              "retry_after_ms = %lld, expected about one interval (100 ms)",
              (long long)res.retry_after_ms);
    cr_assert(res.reset_ms > 400 && res.reset_ms <= 500, "reset_ms = %lld",
              (long long)res.reset_ms);
    tc_redis_close(r);
}

Test(ratelimit, recovers_after_retry_after)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "recover");
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5};
    for (int i = 0; i < 5; i++)
        cr_assert(check(r, key, &spec, 1).allowed);
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);

    tc_sleep_ms(res.retry_after_ms);
    res = check(r, key, &spec, 1);
    cr_assert(res.allowed, "admitted again after retry_after_ms");
    cr_assert_eq(res.remaining, 0);
    res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed, "only one cell came back");
    tc_redis_close(r);
}

Test(ratelimit, remaining_counts_down_and_reset_grows)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "remaining");
    tc_rl_spec_t spec = {.limit = 5, .period_ms = 1000, .burst = 5}; /* T = 200 ms */
    for (int i = 0; i < 5; i++) {
        tc_rl_result_t res = check(r, key, &spec, 1);
        cr_assert(res.allowed);
        cr_assert_eq(res.remaining, 4 - i, "after request %d: remaining %lld", i + 1,
                     (long long)res.remaining);
        long long expected = 200LL * (i + 1);
        cr_assert(res.reset_ms > expected - 50 && res.reset_ms <= expected,
                  "after request %d: reset_ms %lld, expected about %lld", i + 1,
                  (long long)res.reset_ms, expected);
    }
    tc_rl_result_t res = check(r, key, &spec, 2);
    cr_assert_not(res.allowed);
    cr_assert(res.retry_after_ms > 350 && res.retry_after_ms <= 400,
              "two cells take two intervals: %lld", (long long)res.retry_after_ms);
    tc_redis_close(r);
}

Test(ratelimit, rejected_requests_do_not_consume)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "noconsume");
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 1};
    cr_assert(check(r, key, &spec, 1).allowed);
    tc_rl_result_t first = check(r, key, &spec, 1);
    cr_assert_not(first.allowed);
    for (int i = 0; i < 20; i++)
        cr_assert_not(check(r, key, &spec, 1).allowed);

    /* Had the rejections counted, the first retry_after would be far too short. */
    tc_sleep_ms(first.retry_after_ms);
    cr_assert(check(r, key, &spec, 1).allowed);
    cr_assert_not(check(r, key, &spec, 1).allowed, "exactly one more request is admitted");
    tc_redis_close(r);
}

Test(ratelimit, fractional_interval_admits_exactly_the_burst)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "thirds");
    tc_rl_spec_t spec = {.limit = 3, .period_ms = 1000, .burst = 3}; /* T = 333.33 ms */
    for (int i = 0; i < 3; i++)
        cr_assert(check(r, key, &spec, 1).allowed, "request %d", i + 1);
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);
    cr_assert(res.retry_after_ms > 300 && res.retry_after_ms <= 334, "retry_after %lld",
              (long long)res.retry_after_ms);
    tc_redis_close(r);
}

Test(ratelimit, high_rate_precision)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "highrate");
    tc_rl_spec_t spec = {.limit = 10000, .period_ms = 60000, .burst = 10000}; /* T = 6 ms */
    int64_t t0 = tc_mono_ms();
    for (int i = 0; i < 10000; i++) {
        tc_rl_result_t res = check(r, key, &spec, 1);
        cr_assert(res.allowed, "request %d of a 10000 burst was rejected", i + 1);
    }
    /* Cells regenerate every 6 ms while the loop runs; beyond those, nothing gets in. */
    int extra = 0;
    while (check(r, key, &spec, 1).allowed)
        cr_assert_leq(++extra, 100000, "the limiter never bites");
    int64_t elapsed = tc_mono_ms() - t0;
    cr_assert_leq(extra, elapsed / 6 + 1, "%d extra admitted in %lld ms", extra,
                  (long long)elapsed);

    unique_key(key, sizeof key, "highrate-cost");
    tc_rl_result_t res = check(r, key, &spec, 10000);
    cr_assert(res.allowed, "the whole burst as one request of cost 10000");
    cr_assert_eq(res.remaining, 0);
    res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);
    cr_assert(res.retry_after_ms >= 1 && res.retry_after_ms <= 6, "retry_after %lld",
              (long long)res.retry_after_ms);
    tc_redis_close(r);
}

typedef struct {
    tc_redis_t *r;
    const char *key;
    const tc_rl_spec_t *spec;
    int admitted;
    int errors;
} caller_t;

static void *caller(void *arg)
{
    caller_t *c = arg;
    for (int i = 0; i < 10; i++) {
        tc_rl_result_t res;
        if (tc_ratelimit_check(c->r, c->key, c->spec, 1, &res) != TC_OK)
            c->errors++;
        else
            c->admitted += res.allowed;
    }
    return NULL;
}

Test(ratelimit, concurrent_callers_share_one_burst)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "concurrent");
    tc_rl_spec_t spec = {.limit = 1, .period_ms = 60000, .burst = 10};
    pthread_t threads[8];
    caller_t callers[8];
    for (int i = 0; i < 8; i++) {
        callers[i] = (caller_t){.r = r, .key = key, .spec = &spec};
        cr_assert_eq(pthread_create(&threads[i], NULL, caller, &callers[i]), 0);
    }
    int admitted = 0, errors = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        admitted += callers[i].admitted;
        errors += callers[i].errors;
    }
    cr_assert_eq(errors, 0);
    cr_assert_eq(admitted, 10, "80 concurrent requests, burst 10: %d admitted", admitted);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ quota */

Test(ratelimit, daily_quota_rejects_when_rate_would_admit)
{
    tc_redis_t *r = open_pool();
    char key[128], qkey[128];
    unique_key(key, sizeof key, "quota-rate");
    unique_key(qkey, sizeof qkey, "quota-day");
    /* T = 6 s: nothing regenerates during the test, so consumption is exact. */
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 60000,
                         .burst = 10,
                         .quota_key = qkey,
                         .quota_limit = 3,
                         .quota_window_ms = DAY_MS};
    for (int i = 0; i < 3; i++) {
        tc_rl_result_t res = check(r, key, &spec, 1);
        cr_assert(res.allowed);
        cr_assert_eq(res.quota_remaining, 2 - i);
        cr_assert_eq(res.remaining, 2 - i, "the quota is the tighter policy");
        cr_assert_eq(res.limit, 3);
    }
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);
    cr_assert(res.quota_exceeded);
    cr_assert_eq(res.quota_remaining, 0);
    cr_assert(res.retry_after_ms > 0 && res.retry_after_ms <= DAY_MS, "retry_after %lld",
              (long long)res.retry_after_ms);
    int64_t day_left = DAY_MS - tc_now_ms() % DAY_MS;
    cr_assert(llabs((long long)(res.retry_after_ms - day_left)) < 2000,
              "retry_after %lld, the UTC day ends in %lld ms", (long long)res.retry_after_ms,
              (long long)day_left);

    /* The quota rejection did not take a rate cell: 10 - 3 admitted - this one = 6. */
    tc_rl_spec_t rate_only = {.limit = 10, .period_ms = 60000, .burst = 10};
    res = check(r, key, &rate_only, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.remaining, 6);
    tc_redis_close(r);
}

Test(ratelimit, rate_rejection_does_not_consume_quota)
{
    tc_redis_t *r = open_pool();
    char key[128], qkey[128];
    unique_key(key, sizeof key, "rate-first");
    unique_key(qkey, sizeof qkey, "rate-first-q");
    tc_rl_spec_t spec = {.limit = 1,
                         .period_ms = 60000,
                         .burst = 1,
                         .quota_key = qkey,
                         .quota_limit = 5,
                         .quota_window_ms = DAY_MS};
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.quota_remaining, 4);
    for (int i = 0; i < 3; i++) {
        res = check(r, key, &spec, 1);
        cr_assert_not(res.allowed);
        cr_assert_not(res.quota_exceeded, "the rate rejected it, not the quota");
        cr_assert_eq(res.quota_remaining, 4);
        cr_assert(res.retry_after_ms > 59000 && res.retry_after_ms <= 60000);
    }
    tc_redis_close(r);
}

Test(ratelimit, quota_window_rolls_over)
{
    tc_redis_t *r = open_pool();
    char key[128], qkey[128];
    unique_key(key, sizeof key, "roll");
    unique_key(qkey, sizeof qkey, "roll-q");
    tc_rl_spec_t spec = {.limit = 1000,
                         .period_ms = 1000,
                         .burst = 1000,
                         .quota_key = qkey,
                         .quota_limit = 2,
                         .quota_window_ms = 1000};
    tc_rl_result_t res;
    int calls = 0;
    do {
        res = check(r, key, &spec, 1);
        cr_assert_leq(++calls, 5, "a quota of 2 per second never rejected");
    } while (res.allowed);
    cr_assert(res.quota_exceeded);
    cr_assert(res.retry_after_ms > 0 && res.retry_after_ms <= 1000);

    tc_sleep_ms(res.retry_after_ms + 20);
    res = check(r, key, &spec, 1);
    cr_assert(res.allowed, "a new window starts with a fresh quota");
    cr_assert_eq(res.quota_remaining, 1);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ keys */

Test(ratelimit, keys_expire_when_idle)
{
    tc_redis_t *r = open_pool();
    char key[128], qkey[128];
    unique_key(key, sizeof key, "ttl");
    unique_key(qkey, sizeof qkey, "ttl-q");
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 1000,
                         .burst = 2,
                         .quota_key = qkey,
                         .quota_limit = 100,
                         .quota_window_ms = 60000};
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    long long ttl = pttl(r, key);
    cr_assert(ttl > 0 && ttl <= 100, "rate key PTTL %lld, expected one interval", ttl);
    long long qttl = pttl(r, qkey);
    cr_assert(qttl > 0 && qttl <= 60000, "quota key PTTL %lld", qttl);

    tc_sleep_ms(ttl + 50);
    redisReply *reply = tc_redis_cmdf(r, "EXISTS %s", key);
    cr_assert_not_null(reply);
    cr_assert_eq(reply->integer, 0, "an idle limiter key must vanish");
    freeReplyObject(reply);
    reply = tc_redis_cmdf(r, "DEL %s", qkey);
    cr_assert_not_null(reply);
    freeReplyObject(reply);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ errors */

/* A pool for a loopback port nothing listens on. */
static tc_redis_t *unreachable_pool(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd); /* nothing listens there now */
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", ntohs(sa.sin_port));
    tc_redis_opts_t opts = {.url = url, .connect_timeout_ms = 200};
    tc_redis_t *r = tc_redis_open(&opts);
    cr_assert_not_null(r);
    return r;
}

Test(ratelimit, unavailable_redis)
{
    tc_redis_t *r = unreachable_pool();
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5};
    tc_rl_result_t res;
    cr_assert_eq(tc_ratelimit_check(r, "k", &spec, 1, &res), TC_EUNAVAIL);
    tc_redis_close(r);
}

Test(ratelimit, invalid_specs)
{
    tc_redis_t *r = open_pool();
    tc_rl_result_t res;
    const tc_rl_spec_t bad[] = {
        {.limit = 0, .period_ms = 1000, .burst = 1},
        {.limit = 10, .period_ms = 0, .burst = 1},
        {.limit = 10, .period_ms = 1000, .burst = 0},
        {.limit = 10, .period_ms = 1000, .burst = 1, .quota_key = "q", .quota_limit = 5},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++)
        cr_expect_eq(tc_ratelimit_check(r, "tc:test:rl:never", &bad[i], 1, &res), TC_EINVAL,
                     "spec %zu", i);
    tc_rl_spec_t ok = {.limit = 10, .period_ms = 1000, .burst = 5};
    cr_expect_eq(tc_ratelimit_check(r, "tc:test:rl:never", &ok, 6, &res), TC_EINVAL,
                 "a cost above the burst can never be admitted");
    cr_expect_eq(tc_ratelimit_check(r, "tc:test:rl:never", &ok, -1, &res), TC_EINVAL);
    tc_redis_close(r);
}

Test(ratelimit, wrong_key_type_is_an_error)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "wrongtype");
    redisReply *reply = tc_redis_cmdf(r, "RPUSH %s x", key);
    cr_assert_not_null(reply);
    freeReplyObject(reply);
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5};
    tc_rl_result_t res;
    cr_assert_eq(tc_ratelimit_check(r, key, &spec, 1, &res), TC_ERROR);
    reply = tc_redis_cmdf(r, "DEL %s", key);
    cr_assert_not_null(reply);
    freeReplyObject(reply);
    tc_redis_close(r);
}

/* ----------------------------------------------------------------------------- batches */

/* Runs one batch of `count` requests and returns the reply (caller frees). */
static redisReply *run_batch(tc_redis_t *r, const char *key, const tc_rl_spec_t *spec, int64_t cost,
                             int64_t count)
{
    tc_rl_call_t call;
    cr_assert_eq(tc_ratelimit_prepare_n(key, spec, cost, count, &call), TC_OK);
    redisReply *reply =
        tc_redis_eval(r, tc_ratelimit_script(), call.nkeys, call.keys, call.nargs, call.args);
    cr_assert_not_null(reply, "the script did not run");
    return reply;
}

static tc_rl_result_t nth(const redisReply *reply, const tc_rl_spec_t *spec, int64_t i)
{
    tc_rl_result_t res;
    cr_assert_eq(tc_ratelimit_parse_nth(reply, spec, i, &res), TC_OK);
    return res;
}

Test(ratelimit, batch_admits_the_burst_in_order_and_refuses_the_rest)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "batch");
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5}; /* T = 100 ms */
    redisReply *reply = run_batch(r, key, &spec, 1, 8);
    for (int i = 0; i < 5; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        cr_assert(res.allowed, "request %d of the batch was refused", i);
        cr_assert_eq(res.remaining, 4 - i);
        long long expected = 100LL * (i + 1);
        cr_assert(res.reset_ms > expected - 50 && res.reset_ms <= expected,
                  "request %d: reset_ms %lld, expected about %lld", i, (long long)res.reset_ms,
                  expected);
        cr_assert_eq(res.retry_after_ms, 0);
    }
    for (int i = 5; i < 8; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        cr_assert_not(res.allowed, "request %d is past the burst", i);
        cr_assert_eq(res.remaining, 0);
        cr_assert(res.retry_after_ms >= 70 && res.retry_after_ms <= 100, "retry_after %lld",
                  (long long)res.retry_after_ms);
    }
    freeReplyObject(reply);
    /* the refused three consumed nothing: one interval later exactly one more fits */
    tc_sleep_ms(110);
    cr_assert(check(r, key, &spec, 1).allowed);
    cr_assert_not(check(r, key, &spec, 1).allowed);
    tc_redis_close(r);
}

/* A batch of n answers what n single checks in a row answer, request by request. */
Test(ratelimit, batch_equals_single_checks_in_a_row)
{
    tc_redis_t *r = open_pool();
    char one[128], many[128], q1[128], q2[128];
    unique_key(one, sizeof one, "seq");
    unique_key(many, sizeof many, "bat");
    unique_key(q1, sizeof q1, "seqday");
    unique_key(q2, sizeof q2, "batday");
    /* T = 1 s, so the few milliseconds between the two runs change no whole cell */
    tc_rl_spec_t s1 = {.limit = 60,
                       .period_ms = 60000,
                       .burst = 7,
                       .quota_key = q1,
                       .quota_limit = 100,
                       .quota_window_ms = DAY_MS};
    tc_rl_spec_t s2 = s1;
    s2.quota_key = q2;
    tc_rl_result_t single[10];
    for (int i = 0; i < 10; i++)
        single[i] = check(r, one, &s1, 1);
    redisReply *reply = run_batch(r, many, &s2, 1, 10);
    for (int i = 0; i < 10; i++) {
        tc_rl_result_t b = nth(reply, &s2, i);
        cr_assert_eq(b.allowed, single[i].allowed, "request %d", i);
        cr_assert_eq(b.remaining, single[i].remaining, "request %d", i);
        cr_assert_eq(b.limit, single[i].limit, "request %d", i);
        cr_assert_eq(b.quota_remaining, single[i].quota_remaining, "request %d", i);
        cr_assert_eq(b.quota_exceeded, single[i].quota_exceeded, "request %d", i);
        cr_assert((b.retry_after_ms == 0) == (single[i].retry_after_ms == 0), "request %d", i);
    }
    freeReplyObject(reply);
    tc_redis_close(r);
}

Test(ratelimit, batch_stops_at_the_daily_quota)
{
    tc_redis_t *r = open_pool();
    char key[128], day[128];
    unique_key(key, sizeof key, "bq");
    unique_key(day, sizeof day, "bqday");
    tc_rl_spec_t spec = {.limit = 100,
                         .period_ms = 1000,
                         .burst = 10,
                         .quota_key = day,
                         .quota_limit = 3,
                         .quota_window_ms = DAY_MS};
    redisReply *reply = run_batch(r, key, &spec, 1, 5);
    for (int i = 0; i < 3; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        cr_assert(res.allowed);
        cr_assert_eq(res.quota_remaining, 2 - i);
        cr_assert_eq(res.limit, 3, "the quota is the tighter limit");
    }
    for (int i = 3; i < 5; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        cr_assert_not(res.allowed);
        cr_assert(res.quota_exceeded);
        cr_assert_eq(res.quota_remaining, 0);
        cr_assert(res.retry_after_ms > 0 && res.retry_after_ms <= DAY_MS);
    }
    freeReplyObject(reply);
    /* what the quota holds is what the batch took: 3 */
    redisReply *h = tc_redis_cmdf(r, "HGET %s n", day);
    cr_assert_not_null(h);
    cr_assert_eq(h->type, REDIS_REPLY_STRING);
    cr_assert_str_eq(h->str, "3");
    freeReplyObject(h);
    tc_redis_close(r);
}

Test(ratelimit, batch_counts_are_checked)
{
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5};
    tc_rl_call_t call;
    cr_expect_eq(tc_ratelimit_prepare_n("k", &spec, 1, 0, &call), TC_EINVAL);
    cr_expect_eq(tc_ratelimit_prepare_n("k", &spec, 1, TC_RL_BATCH_MAX + 1, &call), TC_EINVAL);
    cr_expect_eq(tc_ratelimit_prepare_n("k", &spec, 1, TC_RL_BATCH_MAX, &call), TC_OK);
    cr_expect_str_eq(call.args[5], "1024");
    cr_expect_eq(tc_ratelimit_prepare("k", &spec, 1, &call), TC_OK);
    cr_expect_eq(call.nargs, 6);
    cr_expect_str_eq(call.args[5], "1", "a single check is a batch of one");
}

/* ------------------------------------------------------------------------- extra limit */

static const char *hget_n(tc_redis_t *r, const char *key, char *out, size_t n)
{
    redisReply *h = tc_redis_cmdf(r, "HGET %s n", key);
    cr_assert_not_null(h);
    cr_assert_eq(h->type, REDIS_REPLY_STRING, "quota hash %s has no n", key);
    snprintf(out, n, "%s", h->str);
    freeReplyObject(h);
    return out;
}

Test(ratelimit, extra_stricter_than_main_refuses_without_consuming_main)
{
    tc_redis_t *r = open_pool();
    char key[128], xkey[128];
    unique_key(key, sizeof key, "xs-main");
    unique_key(xkey, sizeof xkey, "xs-extra");
    /* main: T = 6 s, nothing regenerates during the test; extra: T = 100 ms, burst 2 */
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 60000,
                         .burst = 10,
                         .extra_key = xkey,
                         .extra_limit = 5,
                         .extra_period_ms = 500,
                         .extra_burst = 2};
    for (int i = 0; i < 2; i++) {
        tc_rl_result_t res = check(r, key, &spec, 1);
        cr_assert(res.allowed, "request %d", i + 1);
        cr_assert_eq(res.extra_remaining, 1 - i);
        cr_assert_eq(res.remaining, 1 - i, "the extra limit is the tighter policy");
        cr_assert_eq(res.limit, 5);
        long long expected = 100LL * (i + 1);
        cr_assert(res.reset_ms > expected - 50 && res.reset_ms <= expected,
                  "request %d: reset_ms %lld (the extra limit's), expected about %lld", i + 1,
                  (long long)res.reset_ms, expected);
        cr_assert_eq(res.retry_after_ms, 0);
        cr_assert_eq(res.extra_exceeded, 0);
        cr_assert_eq(res.quota_remaining, -1);
    }
    tc_rl_result_t res;
    for (int i = 0; i < 5; i++) {
        res = check(r, key, &spec, 1);
        cr_assert_not(res.allowed, "refusal %d", i + 1);
        cr_assert(res.extra_exceeded);
        cr_assert_not(res.quota_exceeded);
        cr_assert_eq(res.extra_remaining, 0);
        cr_assert_eq(res.remaining, 0);
        cr_assert_eq(res.limit, 5);
        cr_assert(res.retry_after_ms >= 60 && res.retry_after_ms <= 100,
                  "retry_after %lld, expected about one extra interval (100 ms)",
                  (long long)res.retry_after_ms);
    }

    /* one extra cell comes back; the refusals took none of the main limit's */
    tc_sleep_ms(res.retry_after_ms + 5);
    res = check(r, key, &spec, 1);
    cr_assert(res.allowed, "admitted once the extra limit frees a cell");
    cr_assert_eq(res.extra_remaining, 0);
    cr_assert_eq(res.remaining, 0);
    cr_assert_not(check(r, key, &spec, 1).allowed, "only one extra cell came back");

    /* main: 10 - 3 admitted - this one = 6 (had the 6 refusals counted, 0 and refused) */
    tc_rl_spec_t main_only = {.limit = 10, .period_ms = 60000, .burst = 10};
    res = check(r, key, &main_only, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.remaining, 6);
    cr_assert_eq(res.limit, 10);
    cr_assert_eq(res.extra_remaining, -1);
    tc_redis_close(r);
}

Test(ratelimit, main_stricter_than_extra_refuses_without_consuming_extra)
{
    tc_redis_t *r = open_pool();
    char key[128], xkey[128];
    unique_key(key, sizeof key, "ms-main");
    unique_key(xkey, sizeof xkey, "ms-extra");
    /* main: T = 100 ms, burst 2; extra: T = 1 s, burst 5 */
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 1000,
                         .burst = 2,
                         .extra_key = xkey,
                         .extra_limit = 60,
                         .extra_period_ms = 60000,
                         .extra_burst = 5};
    for (int i = 0; i < 2; i++) {
        tc_rl_result_t res = check(r, key, &spec, 1);
        cr_assert(res.allowed);
        cr_assert_eq(res.remaining, 1 - i, "the main rate is the tighter policy");
        cr_assert_eq(res.limit, 10);
        cr_assert_eq(res.extra_remaining, 4 - i);
        long long expected = 100LL * (i + 1);
        cr_assert(res.reset_ms > expected - 50 && res.reset_ms <= expected,
                  "request %d: reset_ms %lld (the main rate's), expected about %lld", i + 1,
                  (long long)res.reset_ms, expected);
    }
    /* the extra key holds its own TAT: two cells of 1 s ahead, expiring then */
    long long ttl = pttl(r, xkey);
    cr_assert(ttl > 1900 && ttl <= 2000, "extra key PTTL %lld, expected about 2000", ttl);

    tc_rl_result_t res;
    for (int i = 0; i < 5; i++) {
        res = check(r, key, &spec, 1);
        cr_assert_not(res.allowed);
        cr_assert_not(res.extra_exceeded, "the main rate refused it, not the extra limit");
        cr_assert_not(res.quota_exceeded);
        cr_assert_eq(res.extra_remaining, 3, "a refusal takes no extra cell");
        cr_assert_eq(res.limit, 10);
        cr_assert(res.retry_after_ms >= 60 && res.retry_after_ms <= 100, "retry_after %lld",
                  (long long)res.retry_after_ms);
    }
    tc_sleep_ms(res.retry_after_ms + 5);
    res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.extra_remaining, 2, "5 - 3 admitted");
    cr_assert_eq(res.remaining, 0);
    tc_redis_close(r);
}

Test(ratelimit, extra_limit_and_quota_together)
{
    tc_redis_t *r = open_pool();
    char key[128], xkey[128], qkey[128], n[32];
    unique_key(key, sizeof key, "xq-main");
    unique_key(xkey, sizeof xkey, "xq-extra");
    unique_key(qkey, sizeof qkey, "xq-day");
    /* main T = 6 s burst 10 (nothing regenerates during the test), extra T = 1 s burst 2,
     * quota 3 a day */
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 60000,
                         .burst = 10,
                         .quota_key = qkey,
                         .quota_limit = 3,
                         .quota_window_ms = DAY_MS,
                         .extra_key = xkey,
                         .extra_limit = 30,
                         .extra_period_ms = 30000,
                         .extra_burst = 2};
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.extra_remaining, 1);
    cr_assert_eq(res.quota_remaining, 2);
    cr_assert_eq(res.remaining, 1, "the extra limit is the tightest");
    cr_assert_eq(res.limit, 30);
    res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.extra_remaining, 0);
    cr_assert_eq(res.quota_remaining, 1);
    cr_assert_eq(res.remaining, 0);
    cr_assert_eq(res.limit, 30);

    /* the extra limit refuses while the quota has room: the quota keeps it */
    res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);
    cr_assert(res.extra_exceeded);
    cr_assert_not(res.quota_exceeded);
    cr_assert_eq(res.quota_remaining, 1);
    cr_assert(res.retry_after_ms > 900 && res.retry_after_ms <= 1000, "retry_after %lld",
              (long long)res.retry_after_ms);
    cr_assert_str_eq(hget_n(r, qkey, n, sizeof n), "2");

    tc_sleep_ms(res.retry_after_ms + 10);
    res = check(r, key, &spec, 1);
    cr_assert(res.allowed, "one extra cell back, one quota cell left");
    cr_assert_eq(res.extra_remaining, 0);
    cr_assert_eq(res.quota_remaining, 0);
    cr_assert_eq(res.remaining, 0);
    cr_assert_eq(res.limit, 30, "a tie goes to the extra limit before the quota");

    /* both refuse: the longer wait (the end of the UTC day) wins */
    res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);
    cr_assert(res.extra_exceeded);
    cr_assert(res.quota_exceeded);
    int64_t day_left = DAY_MS - tc_now_ms() % DAY_MS;
    cr_assert(llabs((long long)(res.retry_after_ms - day_left)) < 2000,
              "retry_after %lld, the UTC day ends in %lld ms", (long long)res.retry_after_ms,
              (long long)day_left);
    cr_assert_str_eq(hget_n(r, qkey, n, sizeof n), "3");

    /* main: 10 - 3 admitted - this one = 6; the two refusals took nothing */
    tc_rl_spec_t main_only = {.limit = 10, .period_ms = 60000, .burst = 10};
    res = check(r, key, &main_only, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.remaining, 6);
    redisReply *reply = tc_redis_cmdf(r, "DEL %s", qkey);
    cr_assert_not_null(reply);
    freeReplyObject(reply);
    tc_redis_close(r);
}

/* A batch of 10 on fresh keys with all three limits; how many it admitted, and the flags of
 * its first refused request. T = 1 s everywhere, so nothing regenerates meanwhile. */
static int64_t batch_admits(tc_redis_t *r, int64_t main_burst, int64_t extra_burst, int64_t quota,
                            tc_rl_result_t *first_refused)
{
    char key[128], xkey[128], qkey[128];
    unique_key(key, sizeof key, "bx-main");
    unique_key(xkey, sizeof xkey, "bx-extra");
    unique_key(qkey, sizeof qkey, "bx-day");
    tc_rl_spec_t spec = {.limit = 60,
                         .period_ms = 60000,
                         .burst = main_burst,
                         .quota_key = qkey,
                         .quota_limit = quota,
                         .quota_window_ms = DAY_MS,
                         .extra_key = xkey,
                         .extra_limit = 60,
                         .extra_period_ms = 60000,
                         .extra_burst = extra_burst};
    redisReply *reply = run_batch(r, key, &spec, 1, 10);
    int64_t k = 0;
    for (int i = 0; i < 10; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        if (res.allowed) {
            cr_assert_eq(k, i, "request %d admitted after a refusal", i);
            k++;
        } else if (k == i) {
            *first_refused = res;
        }
    }
    freeReplyObject(reply);
    char n[32], want[32];
    snprintf(want, sizeof want, "%lld", (long long)k);
    cr_assert_str_eq(hget_n(r, qkey, n, sizeof n), want, "the quota holds what the batch took");
    /* and each GCRA key is k cells of 1 s ahead (its PTTL), refused requests taking none */
    long long ttl = pttl(r, key), xttl = pttl(r, xkey);
    cr_assert(ttl > k * 1000 - 100 && ttl <= k * 1000, "main PTTL %lld after %lld admitted", ttl,
              (long long)k);
    cr_assert(xttl > k * 1000 - 100 && xttl <= k * 1000, "extra PTTL %lld after %lld admitted",
              xttl, (long long)k);
    reply = tc_redis_cmdf(r, "DEL %s", qkey);
    cr_assert_not_null(reply);
    freeReplyObject(reply);
    return k;
}

Test(ratelimit, quota_refusal_does_not_consume_extra)
{
    tc_redis_t *r = open_pool();
    char key[128], xkey[128], qkey[128];
    unique_key(key, sizeof key, "qx-main");
    unique_key(xkey, sizeof xkey, "qx-extra");
    unique_key(qkey, sizeof qkey, "qx-day");
    /* main T = 6 s burst 10, extra T = 1 s burst 3, quota 1 */
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 60000,
                         .burst = 10,
                         .quota_key = qkey,
                         .quota_limit = 1,
                         .quota_window_ms = DAY_MS,
                         .extra_key = xkey,
                         .extra_limit = 60,
                         .extra_period_ms = 60000,
                         .extra_burst = 3};
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.extra_remaining, 2);
    cr_assert_eq(res.quota_remaining, 0);
    for (int i = 0; i < 3; i++) {
        res = check(r, key, &spec, 1);
        cr_assert_not(res.allowed);
        cr_assert(res.quota_exceeded);
        cr_assert_not(res.extra_exceeded, "the quota refused it, not the extra limit");
        cr_assert_eq(res.extra_remaining, 2);
    }
    /* one cell of 1 s on the extra key, one of 6 s on the main key: nothing more */
    long long xttl = pttl(r, xkey), ttl = pttl(r, key);
    cr_assert(xttl > 900 && xttl <= 1000, "extra PTTL %lld", xttl);
    cr_assert(ttl > 5900 && ttl <= 6000, "main PTTL %lld", ttl);
    redisReply *reply = tc_redis_cmdf(r, "DEL %s", qkey);
    cr_assert_not_null(reply);
    freeReplyObject(reply);
    tc_redis_close(r);
}

Test(ratelimit, batch_with_extra_admits_the_least_of_the_limits)
{
    tc_redis_t *r = open_pool();
    tc_rl_result_t res;

    cr_assert_eq(batch_admits(r, 7, 4, 6, &res), 4, "the extra limit binds");
    cr_assert(res.extra_exceeded);
    cr_assert_not(res.quota_exceeded);
    cr_assert_eq(res.extra_remaining, 0);
    cr_assert_eq(res.quota_remaining, 2);

    cr_assert_eq(batch_admits(r, 3, 6, 5, &res), 3, "the main rate binds");
    cr_assert_not(res.extra_exceeded);
    cr_assert_not(res.quota_exceeded);
    cr_assert_eq(res.extra_remaining, 3);
    cr_assert_eq(res.remaining, 0);

    cr_assert_eq(batch_admits(r, 8, 6, 2, &res), 2, "the quota binds");
    cr_assert_not(res.extra_exceeded);
    cr_assert(res.quota_exceeded);
    cr_assert_eq(res.extra_remaining, 4);

    cr_assert_eq(batch_admits(r, 5, 5, 9, &res), 5, "main and extra bind together");
    cr_assert(res.extra_exceeded);
    cr_assert_eq(res.retry_after_ms > 900 && res.retry_after_ms <= 1000, 1, "retry_after %lld",
                 (long long)res.retry_after_ms);
    tc_redis_close(r);
}

Test(ratelimit, batch_with_extra_answers_request_by_request)
{
    tc_redis_t *r = open_pool();
    char key[128], xkey[128];
    unique_key(key, sizeof key, "bxr-main");
    unique_key(xkey, sizeof xkey, "bxr-extra");
    /* main T = 1 s burst 7; extra T = 1 s burst 4 (limit 30 per 30 s) */
    tc_rl_spec_t spec = {.limit = 60,
                         .period_ms = 60000,
                         .burst = 7,
                         .extra_key = xkey,
                         .extra_limit = 30,
                         .extra_period_ms = 30000,
                         .extra_burst = 4};
    redisReply *reply = run_batch(r, key, &spec, 1, 8);
    for (int i = 0; i < 4; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        cr_assert(res.allowed, "request %d", i);
        cr_assert_eq(res.extra_remaining, 3 - i);
        cr_assert_eq(res.remaining, 3 - i);
        cr_assert_eq(res.limit, 30);
        long long expected = 1000LL * (i + 1);
        cr_assert(res.reset_ms > expected - 50 && res.reset_ms <= expected,
                  "request %d: reset_ms %lld, expected about %lld", i, (long long)res.reset_ms,
                  expected);
        cr_assert_eq(res.retry_after_ms, 0);
    }
    for (int i = 4; i < 8; i++) {
        tc_rl_result_t res = nth(reply, &spec, i);
        cr_assert_not(res.allowed, "request %d", i);
        cr_assert(res.extra_exceeded);
        cr_assert_eq(res.extra_remaining, 0);
        cr_assert_eq(res.remaining, 0);
        cr_assert_eq(res.quota_remaining, -1);
        cr_assert(res.retry_after_ms > 900 && res.retry_after_ms <= 1000, "retry_after %lld",
                  (long long)res.retry_after_ms);
    }
    freeReplyObject(reply);
    /* main: 7 - 4 admitted - this one = 2 */
    tc_rl_spec_t main_only = {.limit = 60, .period_ms = 60000, .burst = 7};
    tc_rl_result_t res = check(r, key, &main_only, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.remaining, 2);
    tc_redis_close(r);
}

/* The equivalence of batch_equals_single_checks_in_a_row, with an extra limit and a quota. */
Test(ratelimit, batch_with_extra_equals_single_checks_in_a_row)
{
    tc_redis_t *r = open_pool();
    char one[128], many[128], x1[128], x2[128], q1[128], q2[128];
    unique_key(one, sizeof one, "xseq");
    unique_key(many, sizeof many, "xbat");
    unique_key(x1, sizeof x1, "xseq-x");
    unique_key(x2, sizeof x2, "xbat-x");
    unique_key(q1, sizeof q1, "xseq-day");
    unique_key(q2, sizeof q2, "xbat-day");
    tc_rl_spec_t s1 = {.limit = 60,
                       .period_ms = 60000,
                       .burst = 7,
                       .quota_key = q1,
                       .quota_limit = 6,
                       .quota_window_ms = DAY_MS,
                       .extra_key = x1,
                       .extra_limit = 30,
                       .extra_period_ms = 30000,
                       .extra_burst = 5};
    tc_rl_spec_t s2 = s1;
    s2.quota_key = q2;
    s2.extra_key = x2;
    tc_rl_result_t single[10];
    for (int i = 0; i < 10; i++)
        single[i] = check(r, one, &s1, 1);
    cr_assert(single[4].allowed);
    cr_assert_not(single[5].allowed);
    cr_assert(single[5].extra_exceeded);
    redisReply *reply = run_batch(r, many, &s2, 1, 10);
    for (int i = 0; i < 10; i++) {
        tc_rl_result_t b = nth(reply, &s2, i);
        cr_assert_eq(b.allowed, single[i].allowed, "request %d", i);
        cr_assert_eq(b.remaining, single[i].remaining, "request %d", i);
        cr_assert_eq(b.limit, single[i].limit, "request %d", i);
        cr_assert_eq(b.quota_remaining, single[i].quota_remaining, "request %d", i);
        cr_assert_eq(b.quota_exceeded, single[i].quota_exceeded, "request %d", i);
        cr_assert_eq(b.extra_remaining, single[i].extra_remaining, "request %d", i);
        cr_assert_eq(b.extra_exceeded, single[i].extra_exceeded, "request %d", i);
        cr_assert((b.retry_after_ms == 0) == (single[i].retry_after_ms == 0), "request %d", i);
    }
    freeReplyObject(reply);
    redisReply *d = tc_redis_cmdf(r, "DEL %s %s", q1, q2);
    cr_assert_not_null(d);
    freeReplyObject(d);
    tc_redis_close(r);
}

Test(ratelimit, invalid_extra_specs)
{
    tc_redis_t *r = open_pool();
    tc_rl_result_t res;
#define MAIN .limit = 10, .period_ms = 1000, .burst = 5
    const tc_rl_spec_t bad[] = {
        {MAIN, .extra_key = "x", .extra_limit = 0, .extra_period_ms = 1000, .extra_burst = 1},
        {MAIN, .extra_key = "x", .extra_limit = 10, .extra_period_ms = 0, .extra_burst = 1},
        {MAIN, .extra_key = "x", .extra_limit = 10, .extra_period_ms = 1000, .extra_burst = 0},
        {MAIN, .extra_key = "x", .extra_limit = -1, .extra_period_ms = 1000, .extra_burst = 1},
        /* a period beyond 2^48 us */
        {MAIN, .extra_key = "x", .extra_limit = 10, .extra_period_ms = 281474976711LL,
         .extra_burst = 1},
        /* T = 1 s: a tolerance beyond 2^48 us */
        {MAIN, .extra_key = "x", .extra_limit = 1, .extra_period_ms = 1000,
         .extra_burst = 281474977},
        /* the extra limit on the GCRA key or on the quota key */
        {MAIN, .extra_key = "tc:test:rl:never", .extra_limit = 10, .extra_period_ms = 1000,
         .extra_burst = 5},
        {MAIN, .quota_key = "q", .quota_limit = 5, .quota_window_ms = DAY_MS, .extra_key = "q",
         .extra_limit = 10, .extra_period_ms = 1000, .extra_burst = 5},
    };
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        tc_rl_call_t call;
        cr_expect_eq(tc_ratelimit_check(r, "tc:test:rl:never", &bad[i], 1, &res), TC_EINVAL,
                     "spec %zu", i);
        cr_expect_eq(tc_ratelimit_prepare_n("tc:test:rl:never", &bad[i], 1, 3, &call), TC_EINVAL,
                     "spec %zu", i);
    }
    /* the bound itself is fine: 281474976 cells of 1 s is 2^48 us minus a little */
    tc_rl_spec_t edge = {MAIN, .extra_key = "x", .extra_limit = 1, .extra_period_ms = 1000,
                         .extra_burst = 281474976};
    tc_rl_call_t call;
    cr_expect_eq(tc_ratelimit_prepare("tc:test:rl:never", &edge, 1, &call), TC_OK);

    tc_rl_spec_t narrow = {MAIN, .extra_key = "x", .extra_limit = 10, .extra_period_ms = 1000,
                           .extra_burst = 2};
    cr_expect_eq(tc_ratelimit_check(r, "tc:test:rl:never", &narrow, 3, &res), TC_EINVAL,
                 "a cost above the extra burst can never be admitted");
    cr_expect_eq(tc_ratelimit_check(r, "tc:test:rl:never", &narrow, -1, &res), TC_EINVAL);
    /* extra_* without extra_key are ignored, as quota_* without quota_key are */
    tc_rl_spec_t ignored = {MAIN, .extra_limit = 0, .extra_period_ms = -5, .extra_burst = 0};
    cr_expect_eq(tc_ratelimit_prepare("k", &ignored, 1, &call), TC_OK);
    cr_expect_eq(call.nargs, 6);
    cr_expect_eq(call.nkeys, 1);
#undef MAIN
    redisReply *reply = tc_redis_cmdf(r, "EXISTS tc:test:rl:never x q");
    cr_assert_not_null(reply);
    cr_expect_eq(reply->integer, 0, "an invalid spec writes nothing");
    freeReplyObject(reply);
    tc_redis_close(r);
}

/* KEYS and ARGV for every combination; without an extra limit, the call of before. */
Test(ratelimit, call_layout)
{
    tc_rl_call_t call;
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5}; /* T = 100000 us */
    cr_assert_eq(tc_ratelimit_prepare_n("k", &spec, 2, 7, &call), TC_OK);
    cr_expect_eq(call.nkeys, 1);
    cr_expect_eq(call.nargs, 6);
    const char *plain[] = {"100000", "500000", "2", "0", "0", "7"};
    for (int i = 0; i < 6; i++)
        cr_expect_str_eq(call.args[i], plain[i], "ARGV[%d]", i + 1);

    spec.quota_key = "q";
    spec.quota_limit = 9;
    spec.quota_window_ms = DAY_MS;
    cr_assert_eq(tc_ratelimit_prepare_n("k", &spec, 2, 7, &call), TC_OK);
    cr_expect_eq(call.nkeys, 2);
    cr_expect_str_eq(call.keys[1], "q");
    cr_expect_eq(call.nargs, 6);
    cr_expect_str_eq(call.args[3], "9");
    cr_expect_str_eq(call.args[4], "86400000");
    cr_expect_str_eq(call.args[5], "7");

    spec.extra_key = "x";
    spec.extra_limit = 3;
    spec.extra_period_ms = 1000; /* T = 333334 us, rounded up */
    spec.extra_burst = 2;
    cr_assert_eq(tc_ratelimit_prepare_n("k", &spec, 2, 7, &call), TC_OK);
    cr_expect_eq(call.nkeys, 3);
    cr_expect_str_eq(call.keys[0], "k");
    cr_expect_str_eq(call.keys[1], "q");
    cr_expect_str_eq(call.keys[2], "x");
    cr_expect_eq(call.nargs, 8);
    const char *full[] = {"100000", "500000", "2", "9", "86400000", "333334", "666668", "7"};
    for (int i = 0; i < 8; i++)
        cr_expect_str_eq(call.args[i], full[i], "ARGV[%d]", i + 1);

    spec.quota_key = NULL;
    cr_assert_eq(tc_ratelimit_prepare_n("k", &spec, 2, 7, &call), TC_OK);
    cr_expect_eq(call.nkeys, 2);
    cr_expect_str_eq(call.keys[1], "x");
    cr_expect_eq(call.nargs, 8);
    cr_expect_str_eq(call.args[7], "7");
}

Test(ratelimit, without_extra_the_result_says_so)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "noextra");
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 1};
    tc_rl_result_t res = check(r, key, &spec, 1);
    cr_assert(res.allowed);
    cr_assert_eq(res.extra_remaining, -1);
    cr_assert_eq(res.extra_exceeded, 0);
    res = check(r, key, &spec, 1);
    cr_assert_not(res.allowed);
    cr_assert_eq(res.extra_remaining, -1);
    cr_assert_eq(res.extra_exceeded, 0);
    tc_redis_close(r);
}

/* ARGV announcing an extra limit but KEYS without its key: an error, not a guess. */
Test(ratelimit, extra_args_without_extra_key_is_an_error)
{
    tc_redis_t *r = open_pool();
    char key[128];
    unique_key(key, sizeof key, "xmissing");
    tc_rl_spec_t spec = {.limit = 10,
                         .period_ms = 1000,
                         .burst = 5,
                         .extra_key = "tc:test:rl:xmissing-x",
                         .extra_limit = 10,
                         .extra_period_ms = 1000,
                         .extra_burst = 5};
    tc_rl_call_t call;
    cr_assert_eq(tc_ratelimit_prepare(key, &spec, 1, &call), TC_OK);
    redisReply *reply =
        tc_redis_eval(r, tc_ratelimit_script(), 1, call.keys, call.nargs, call.args);
    cr_assert_not_null(reply);
    tc_rl_result_t res;
    cr_assert_eq(tc_ratelimit_parse(reply, &spec, &res), TC_ERROR);
    freeReplyObject(reply);
    tc_redis_close(r);
}

/* ------------------------------------------------------------------------------ gate */

Test(ratelimit, gate_admits_the_burst_then_says_when)
{
    tc_redis_t *r = open_pool();
    char key[96];
    unique_key(key, sizeof key, "gate");
    tc_rl_spec_t spec = {.limit = 2, .period_ms = 60000, .burst = 2};
    int retry = -1;
    cr_assert_eq(tc_ratelimit_gate(r, key, &spec, true, NULL, &retry), TC_OK);
    cr_assert_eq(retry, 0);
    cr_assert_eq(tc_ratelimit_gate(r, key, &spec, true, NULL, &retry), TC_OK);
    cr_assert_eq(tc_ratelimit_gate(r, key, &spec, true, NULL, &retry), TC_EAGAIN);
    /* one request every 30 s: the next one is about 30 s away, never 0 */
    cr_assert(retry >= 29 && retry <= 30, "retry %d", retry);
    tc_redis_close(r);
}

Test(ratelimit, gate_without_redis_fails_open_or_closed_and_counts)
{
    tc_redis_t *r = unreachable_pool();
    tc_metric_t *m = tc_metric_counter("test_gate_unavailable_total", "test", "outcome");
    cr_assert_not_null(m);
    tc_rl_spec_t spec = {.limit = 10, .period_ms = 1000, .burst = 5};
    int retry = -1;
    cr_assert_eq(tc_ratelimit_gate(r, "k", &spec, true, m, &retry), TC_OK);
    cr_assert_eq(retry, 0);
    cr_assert_eq(tc_ratelimit_gate(r, "k", &spec, false, m, &retry), TC_EAGAIN);
    cr_assert_eq(retry, 1);
    cr_assert_eq(tc_metric_value(m, "allowed"), 1);
    cr_assert_eq(tc_metric_value(m, "refused"), 1);
    tc_redis_close(r);
}
