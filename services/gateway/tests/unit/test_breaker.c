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
