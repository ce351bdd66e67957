/* Unit tests for the rules that keep an upstream serving while its targets fail
 * (upstream_health.c, issue 14): the ejection cap, the panic threshold, growing ejection
 * times, health-check thresholds, the retry budget and backoff. Time is passed in. */
#include <criterion/criterion.h>

#include "upstream_health.h"

Test(eject_cap, a_single_target_is_never_ejected_by_default)
{
    cr_assert_not(uh_may_eject(1, 0, 50), "the only target of an upstream stays");
    cr_assert_not(uh_may_eject(1, 0, 99));
    cr_assert(uh_may_eject(1, 0, 100), "100 % allows it, when an operator asks for it");
}

Test(eject_cap, share_is_rounded_down)
{
    cr_assert(uh_may_eject(2, 0, 50));
    cr_assert_not(uh_may_eject(2, 1, 50), "never both of two");
    cr_assert(uh_may_eject(3, 0, 50));
    cr_assert_not(uh_may_eject(3, 1, 50), "1.5 rounds down to 1");
    cr_assert(uh_may_eject(10, 4, 50));
    cr_assert_not(uh_may_eject(10, 5, 50));
    cr_assert_not(uh_may_eject(10, 0, 0), "0 %: breakers never eject");
}

Test(panic, below_the_threshold_only)
{
    cr_assert_not(uh_panic(1, 1, 50));
    cr_assert(uh_panic(1, 0, 50));
    cr_assert_not(uh_panic(2, 1, 50), "exactly at the threshold is not panic");
    cr_assert(uh_panic(3, 1, 50));
    cr_assert_not(uh_panic(3, 2, 50));
    cr_assert_not(uh_panic(3, 0, 0), "threshold 0: never");
    cr_assert(uh_panic(4, 3, 100), "threshold 100: panic as soon as one is out");
    cr_assert_not(uh_panic(0, 0, 50), "an empty group is not in panic");
}

Test(eject_time, grows_linearly_and_is_capped)
{
    cr_assert_eq(uh_eject_ms(1000, 5000, 1), 1000);
    cr_assert_eq(uh_eject_ms(1000, 5000, 2), 2000);
    cr_assert_eq(uh_eject_ms(1000, 5000, 5), 5000);
    cr_assert_eq(uh_eject_ms(1000, 5000, 50), 5000);
    cr_assert_eq(uh_eject_ms(1000, 5000, 0), 1000, "a first ejection at least");
    cr_assert_eq(uh_eject_ms(2000000000, 2000000000, 3), 2000000000, "no overflow");
}

Test(eject_time, count_resets_after_a_healthy_period)
{
    cr_assert_eq(uh_ejections_before(3, 0, 100000, 60000), 3, "never restored: keeps counting");
    cr_assert_eq(uh_ejections_before(3, 50000, 100000, 60000), 3, "back for 50 s only");
    cr_assert_eq(uh_ejections_before(3, 40000, 100000, 60000), 0, "back for 60 s: starts over");
}

Test(health_check, thresholds_of_consecutive_results)
{
    uh_hc_t h;
    uh_hc_init(&h);
    cr_assert(h.healthy, "targets start healthy: a start must not wait for checks");
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_NONE);
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_NONE);
    cr_assert_eq(uh_hc_result(&h, true, 2, 3), UH_HC_NONE, "a pass resets the failures");
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_NONE);
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_NONE);
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_BECAME_UNHEALTHY);
    cr_assert_not(h.healthy);
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_NONE, "reported once");
    cr_assert_eq(uh_hc_result(&h, true, 2, 3), UH_HC_NONE);
    cr_assert_eq(uh_hc_result(&h, false, 2, 3), UH_HC_NONE, "a failure resets the passes");
    cr_assert_eq(uh_hc_result(&h, true, 2, 3), UH_HC_NONE);
    cr_assert_eq(uh_hc_result(&h, true, 2, 3), UH_HC_BECAME_HEALTHY);
    cr_assert(h.healthy);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(uh_hc_result(&h, true, 2, 3), UH_HC_NONE);
    cr_assert_eq(h.passes, 2, "counts saturate");
}

Test(health_check, one_pass_brings_a_target_back_by_default)
{
    uh_hc_t h;
    uh_hc_init(&h);
    uh_hc_result(&h, false, 1, 2);
    cr_assert_eq(uh_hc_result(&h, false, 1, 2), UH_HC_BECAME_UNHEALTHY);
    cr_assert_eq(uh_hc_result(&h, true, 1, 2), UH_HC_BECAME_HEALTHY);
}

Test(retry_budget, floor_then_a_share_of_requests)
{
    uh_budget_t b;
    uh_budget_init(&b);
    int64_t t = 10000;
    /* no requests: only the floor */
    int granted = 0;
    for (int i = 0; i < 50; i++)
        granted += uh_budget_retry(&b, t, 20, 3);
    cr_assert_eq(granted, 3);
    /* 100 requests in the window: 20 % more */
    for (int i = 0; i < 100; i++)
        uh_budget_request(&b, t + 10);
    granted = 0;
    for (int i = 0; i < 50; i++)
        granted += uh_budget_retry(&b, t + 20, 20, 3);
    cr_assert_eq(granted, 20);
}

Test(retry_budget, window_slides)
{
    uh_budget_t b;
    uh_budget_init(&b);
    int64_t t = 10000;
    for (int i = 0; i < 100; i++)
        uh_budget_request(&b, t);
    while (uh_budget_retry(&b, t, 10, 0))
        ;
    cr_assert_not(uh_budget_retry(&b, t + UH_BUDGET_BUCKET_MS, 10, 0),
                  "the previous bucket still counts");
    /* two buckets later the spent retries are forgotten, and so are the requests */
    cr_assert_not(uh_budget_retry(&b, t + 2 * UH_BUDGET_BUCKET_MS + 1, 10, 0));
    for (int i = 0; i < 10; i++)
        uh_budget_request(&b, t + 2 * UH_BUDGET_BUCKET_MS + 2);
    cr_assert(uh_budget_retry(&b, t + 2 * UH_BUDGET_BUCKET_MS + 3, 10, 0));
    /* idle for long: nothing recent */
    cr_assert_not(uh_budget_retry(&b, t + 60000, 10, 0));
    cr_assert(uh_budget_retry(&b, t + 60000, 10, 1), "the floor is always there");
}

Test(backoff, doubles_up_to_the_cap)
{
    cr_assert_eq(uh_backoff_ms(0, 25, 250), 25);
    cr_assert_eq(uh_backoff_ms(1, 25, 250), 50);
    cr_assert_eq(uh_backoff_ms(3, 25, 250), 200);
    cr_assert_eq(uh_backoff_ms(4, 25, 250), 250);
    cr_assert_eq(uh_backoff_ms(1000, 25, 250), 250, "no overflow");
}
