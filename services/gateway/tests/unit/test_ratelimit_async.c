/* Unit tests for the in-process GCRA (ratelimit_async.c) the gateway limits with while
 * Redis is away. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit_async.h"
#include "tc/tc_core.h"

Test(local_limiter, burst_refusal_recovery)
{
    gw_local_rl_t *l = gw_local_rl_new(1024);
    tc_rl_spec_t spec = {.limit = 60, .period_ms = 60000, .burst = 3};
    tc_rl_result_t r;
    int64_t t = 1000000000; /* µs */
    for (int i = 0; i < 3; i++) {
        gw_local_rl_check(l, "org_a", &spec, t, &r);
        cr_assert(r.allowed, "burst request %d", i);
        cr_assert_eq(r.remaining, 2 - i);
        cr_assert_eq(r.limit, 60);
    }
    gw_local_rl_check(l, "org_a", &spec, t, &r);
    cr_assert_not(r.allowed);
    cr_assert_eq(r.retry_after_ms, 1000);
    gw_local_rl_check(l, "org_b", &spec, t, &r);
    cr_assert(r.allowed, "keys are independent");
    gw_local_rl_check(l, "org_a", &spec, t + 999999, &r);
    cr_assert_not(r.allowed);
    gw_local_rl_check(l, "org_a", &spec, t + 1000000, &r);
    cr_assert(r.allowed, "one cell per second");
    gw_local_rl_free(l);
}
