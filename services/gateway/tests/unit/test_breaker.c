/* Unit tests for the breaker state machine (breaker.c): closed, open after consecutive
 * failures, half-open probes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "tc/tc_core.h"

Test(breaker, opens_after_consecutive_failures)
{
    gw_breaker_t b;
    breaker_init(&b);
    bool probe;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(breaker_failure(&b, 0, 100, 5, 1000), 0);
        cr_assert(breaker_acquire(&b, 100, &probe));
    }
    breaker_success(&b, 0); /* a success in between resets the count */
    for (int i = 0; i < 4; i++)
        breaker_failure(&b, 0, 100, 5, 1000);
    cr_assert_eq(breaker_state(&b), BREAKER_CLOSED);
    cr_assert_eq(breaker_failure(&b, 0, 100, 5, 1000), 1, "the 5th consecutive failure");
    cr_assert_eq(breaker_state(&b), BREAKER_OPEN);
    cr_assert_not(breaker_available(&b, 500));
    cr_assert_not(breaker_acquire(&b, 1099, &probe));
    cr_assert(breaker_available(&b, 1100));
}

Test(breaker, half_open_probe_success_closes)
{
    gw_breaker_t b;
    breaker_init(&b);
    breaker_failure(&b, 0, 0, 1, 1000);
    bool probe = false;
    cr_assert(breaker_acquire(&b, 1000, &probe));
    cr_assert(probe);
    cr_assert_eq(breaker_state(&b), BREAKER_HALF_OPEN);
    bool other;
    cr_assert_not(breaker_acquire(&b, 1000, &other), "one probe at a time");
    cr_assert_not(breaker_available(&b, 1000));
    cr_assert_eq(breaker_success(&b, 1), 1);
    cr_assert_eq(breaker_state(&b), BREAKER_CLOSED);
    cr_assert(breaker_acquire(&b, 1000, &other));
    cr_assert_not(other);
}

Test(breaker, half_open_probe_failure_ejects_again)
{
    gw_breaker_t b;
    breaker_init(&b);
    breaker_failure(&b, 0, 0, 1, 1000);
    bool probe;
    cr_assert(breaker_acquire(&b, 1000, &probe) && probe);
    cr_assert_eq(breaker_failure(&b, 1, 1000, 1, 1000), 1);
    cr_assert_eq(breaker_state(&b), BREAKER_OPEN);
    cr_assert_not(breaker_acquire(&b, 1999, &probe));
    cr_assert(breaker_acquire(&b, 2000, &probe) && probe);
    /* a probe that ends without an outcome lets the next request probe */
    breaker_release(&b, 1);
    cr_assert(breaker_acquire(&b, 2000, &probe) && probe);
    cr_assert_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
}

/* ------------------------------------------------------------------ issue 14 */

static const gw_eject_policy_t policy = {
    .failures = 2, .base_ms = 1000, .max_ms = 2500, .reset_ms = 10000};

Test(breaker, ejection_cap_keeps_the_target)
{
    gw_breaker_t b;
    breaker_init(&b);
    for (int i = 0; i < 10; i++)
        cr_assert_not(breaker_failure_policy(&b, false, 100, &policy, false));
    cr_assert_eq(breaker_state(&b), BREAKER_CLOSED, "the cap forbids ejecting it");
    cr_assert(breaker_available(&b, 100));
    cr_assert(breaker_failure_policy(&b, false, 100, &policy, true), "allowed again: ejected");
    cr_assert(breaker_ejected(&b));
}

Test(breaker, ejection_time_grows_and_is_capped)
{
    gw_breaker_t b;
    breaker_init(&b);
    bool probe;
    breaker_failure_policy(&b, false, 0, &policy, true);
    breaker_failure_policy(&b, false, 0, &policy, true);
    cr_assert_eq(atomic_load(&b.open_until_ms), 1000, "first: base");
    cr_assert(breaker_acquire(&b, 1000, &probe) && probe);
    cr_assert(breaker_failure_policy(&b, true, 1000, &policy, false), "a failed probe always");
    cr_assert_eq(atomic_load(&b.open_until_ms), 3000, "second: 2 × base");
    cr_assert(breaker_acquire(&b, 3000, &probe) && probe);
    breaker_failure_policy(&b, true, 3000, &policy, true);
    cr_assert_eq(atomic_load(&b.open_until_ms), 5500, "third: capped at 2500");
}

Test(breaker, ejection_count_resets_after_a_healthy_period)
{
    gw_breaker_t b;
    breaker_init(&b);
    bool probe;
    breaker_failure_policy(&b, false, 0, &policy, true);
    breaker_failure_policy(&b, false, 0, &policy, true);
    cr_assert(breaker_acquire(&b, 1000, &probe) && probe);
    cr_assert(breaker_success_at(&b, true, 1000));
    /* ejected again soon after: a second ejection */
    breaker_failure_policy(&b, false, 2000, &policy, true);
    breaker_failure_policy(&b, false, 2000, &policy, true);
    cr_assert_eq(atomic_load(&b.open_until_ms), 4000);
    cr_assert(breaker_restore(&b, 4000), "a passing health check takes it back");
    cr_assert_eq(breaker_state(&b), BREAKER_CLOSED);
    cr_assert_not(breaker_restore(&b, 4000), "already closed");
    /* healthy for reset_ms: the next ejection is a first one again */
    breaker_failure_policy(&b, false, 14000, &policy, true);
    breaker_failure_policy(&b, false, 14000, &policy, true);
    cr_assert_eq(atomic_load(&b.open_until_ms), 15000);
}

Test(breaker, restore_of_a_half_open_target)
{
    gw_breaker_t b;
    breaker_init(&b);
    bool probe;
    breaker_failure(&b, false, 0, 1, 1000);
    cr_assert(breaker_acquire(&b, 1000, &probe) && probe);
    cr_assert(breaker_restore(&b, 1000));
    cr_assert(breaker_available(&b, 1000));
    /* the probe in flight still reports: a failure ejects again */
    cr_assert(breaker_failure(&b, true, 1100, 1, 1000));
    cr_assert_eq(breaker_state(&b), BREAKER_OPEN);
}
