/* Unit tests for request coalescing (cache_fill.c): one claim per key, waiters, the pass after
 * a fill that stored nothing, claims that expire, tickets of expired claims, the cap. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cache_fill.h"

#define K(s) s, strlen(s)

Test(cache_fill, one_request_fills_the_others_wait)
{
    gw_fills_t *f = gw_fills_new();
    uint64_t t1 = 0, t2 = 0;
    cr_assert_eq(gw_fills_claim(f, K("GET\n/a"), 0, 1000, &t1), GW_FILL_MINE);
    cr_assert_neq(t1, 0);
    for (int i = 0; i < 99; i++)
        cr_assert_eq(gw_fills_claim(f, K("GET\n/a"), 10, 1000, &t2), GW_FILL_WAIT);
    cr_assert_eq(t2, 0, "a waiter holds no ticket");
    cr_assert_eq(gw_fills_claim(f, K("GET\n/b"), 10, 1000, &t2), GW_FILL_MINE, "another key");
    gw_fills_done(f, K("GET\n/a"), t1, true, 20);
    cr_assert_eq(gw_fills_count(f), 1, "a stored fill is released");
    /* the answer is in the cache now; a later miss (it expired) fills again */
    cr_assert_eq(gw_fills_claim(f, K("GET\n/a"), 30, 1000, &t1), GW_FILL_MINE);
    gw_fills_free(f);
}

Test(cache_fill, a_fill_that_stored_nothing_passes_for_a_while)
{
    gw_fills_t *f = gw_fills_new();
    uint64_t t = 0, u = 0;
    cr_assert_eq(gw_fills_claim(f, K("k"), 0, 1000, &t), GW_FILL_MINE);
    gw_fills_done(f, K("k"), t, false, 100);
    /* an uncacheable answer: the waiters, and everyone for a while, go to the service at once */
    cr_assert_eq(gw_fills_claim(f, K("k"), 101, 1000, &u), GW_FILL_PASS);
    cr_assert_eq(gw_fills_claim(f, K("k"), 100 + GW_FILL_PASS_MS - 1, 1000, &u), GW_FILL_PASS);
    cr_assert_eq(gw_fills_claim(f, K("k"), 100 + GW_FILL_PASS_MS, 1000, &u), GW_FILL_MINE);
    gw_fills_free(f);
}

Test(cache_fill, a_claim_expires_and_its_late_end_is_ignored)
{
    gw_fills_t *f = gw_fills_new();
    uint64_t old = 0, now = 0, w = 0;
    cr_assert_eq(gw_fills_claim(f, K("k"), 0, 500, &old), GW_FILL_MINE);
    cr_assert_eq(gw_fills_claim(f, K("k"), 499, 500, &w), GW_FILL_WAIT);
    /* the filler vanished without ending its claim: after hold_ms a waiter takes over */
    cr_assert_eq(gw_fills_claim(f, K("k"), 500, 500, &now), GW_FILL_MINE);
    cr_assert_neq(old, now);
    gw_fills_done(f, K("k"), old, false, 600); /* the old claim's end: not the current one's */
    cr_assert_eq(gw_fills_claim(f, K("k"), 601, 500, &w), GW_FILL_WAIT);
    gw_fills_done(f, K("k"), now, true, 700);
    cr_assert_eq(gw_fills_count(f), 0);
    gw_fills_done(f, K("k"), 0, true, 700); /* no ticket: nothing */
    gw_fills_free(f);
}

Test(cache_fill, beyond_the_cap_requests_are_not_coalesced_until_expired_ones_go)
{
    gw_fills_t *f = gw_fills_new();
    char key[32];
    uint64_t t = 0;
    for (int i = 0; i < GW_FILL_MAX; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(gw_fills_claim(f, K(key), 0, 100, &t), GW_FILL_MINE);
    }
    cr_assert_eq(gw_fills_claim(f, K("one more"), 50, 100, &t), GW_FILL_PASS);
    cr_assert_eq(t, 0);
    /* once they expired, a sweep makes room even though their chains were never walked */
    cr_assert_eq(gw_fills_claim(f, K("one more"), 100, 100, &t), GW_FILL_MINE);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "new%d", i);
        cr_assert_eq(gw_fills_claim(f, K(key), 100, 100, &t), GW_FILL_MINE);
    }
    gw_fills_free(f);
}
