/* org_plans.c: an org's recent plan change overrides its tokens' claim until it expires; the
 * newest version wins; a full window gives way by expiry, never by accident. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "org_plans.h"
#include "tc/tc_core.h"

#define TTL 1000

Test(org_plans, nothing_recorded_is_nothing_found)
{
    gw_orgplans_t *m = gw_orgplans_new(64, TTL);
    char plan[32] = "";
    cr_assert_not(gw_orgplans_get(m, "org_a", 0, plan, sizeof plan));
    cr_assert_not(gw_orgplans_get(NULL, "org_a", 0, plan, sizeof plan));
    gw_orgplans_free(m);
}

Test(org_plans, a_change_holds_for_the_ttl_then_the_claim_is_right_again)
{
    gw_orgplans_t *m = gw_orgplans_new(64, TTL);
    char plan[32] = "";
    cr_assert_eq(gw_orgplans_set(m, "org_a", "enterprise", 3, 5000, 5000), TC_OK);
    cr_assert(gw_orgplans_get(m, "org_a", 5000, plan, sizeof plan));
    cr_assert_str_eq(plan, "enterprise");
    cr_assert(gw_orgplans_get(m, "org_a", 5000 + TTL - 1, plan, sizeof plan));
    cr_assert_not(gw_orgplans_get(m, "org_a", 5000 + TTL, plan, sizeof plan));
    cr_assert_not(gw_orgplans_get(m, "org_b", 5000, plan, sizeof plan), "another org");
    gw_orgplans_free(m);
}

Test(org_plans, the_newest_version_wins_whatever_the_order)
{
    gw_orgplans_t *m = gw_orgplans_new(64, TTL);
    char plan[32] = "";
    cr_assert_eq(gw_orgplans_set(m, "org_a", "starter", 2, 100, 100), TC_OK);
    cr_assert_eq(gw_orgplans_set(m, "org_a", "professional", 1, 200, 200), TC_OK, "older: ignored");
    cr_assert(gw_orgplans_get(m, "org_a", 150, plan, sizeof plan));
    cr_assert_str_eq(plan, "starter");
    cr_assert_eq(gw_orgplans_set(m, "org_a", "free", 4, 300, 300), TC_OK);
    cr_assert(gw_orgplans_get(m, "org_a", 310, plan, sizeof plan));
    cr_assert_str_eq(plan, "free");
    cr_assert(gw_orgplans_get(m, "org_a", 300 + TTL - 1, plan, sizeof plan),
              "the newer change's own lifetime");
    gw_orgplans_free(m);
}

Test(org_plans, bad_input_is_refused)
{
    gw_orgplans_t *m = gw_orgplans_new(8, TTL);
    char big[80];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(gw_orgplans_set(m, NULL, "free", 1, 0, 0), TC_EINVAL);
    cr_assert_eq(gw_orgplans_set(m, "org_a", "", 1, 0, 0), TC_EINVAL);
    cr_assert_eq(gw_orgplans_set(m, big, "free", 1, 0, 0), TC_EINVAL);
    cr_assert_eq(gw_orgplans_set(m, "org_a", big, 1, 0, 0), TC_EINVAL);
    gw_orgplans_free(m);
}

Test(org_plans, many_orgs_in_a_small_table_each_keep_their_plan_or_give_way_by_expiry)
{
    /* 8 slots, 8 orgs: every one is found; a 9th takes the slot of the change expiring first */
    gw_orgplans_t *m = gw_orgplans_new(8, TTL);
    char org[16], plan[32];
    for (int i = 0; i < 8; i++) {
        snprintf(org, sizeof org, "org_%d", i);
        snprintf(plan, sizeof plan, "plan_%d", i);
        cr_assert_eq(gw_orgplans_set(m, org, plan, 1, 100 + i, 100 + i), TC_OK);
    }
    for (int i = 0; i < 8; i++) {
        char want[32];
        snprintf(org, sizeof org, "org_%d", i);
        snprintf(want, sizeof want, "plan_%d", i);
        cr_assert(gw_orgplans_get(m, org, 200, plan, sizeof plan), "%s", org);
        cr_assert_str_eq(plan, want);
    }
    cr_assert_eq(gw_orgplans_set(m, "org_new", "enterprise", 1, 300, 300), TC_OK);
    cr_assert(gw_orgplans_get(m, "org_new", 300, plan, sizeof plan));
    cr_assert_str_eq(plan, "enterprise");
    int kept = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(org, sizeof org, "org_%d", i);
        kept += gw_orgplans_get(m, org, 300, plan, sizeof plan);
    }
    cr_assert_eq(kept, 7, "exactly one change gave way");
    snprintf(org, sizeof org, "org_%d", 0);
    cr_assert_not(gw_orgplans_get(m, org, 300, plan, sizeof plan), "the one expiring first");
    gw_orgplans_free(m);
}

Test(org_plans, an_expired_slot_is_reused_and_a_chain_behind_it_still_found)
{
    gw_orgplans_t *m = gw_orgplans_new(2, TTL);
    char plan[32];
    cr_assert_eq(gw_orgplans_set(m, "org_a", "starter", 1, 0, 0), TC_OK);
    cr_assert_eq(gw_orgplans_set(m, "org_b", "professional", 1, 10, 10), TC_OK);
    /* org_a expired: org_c takes a slot, org_b (live) is still found */
    cr_assert_eq(gw_orgplans_set(m, "org_c", "enterprise", 1, TTL + 5, TTL + 5), TC_OK);
    cr_assert(gw_orgplans_get(m, "org_b", TTL + 5, plan, sizeof plan));
    cr_assert_str_eq(plan, "professional");
    cr_assert(gw_orgplans_get(m, "org_c", TTL + 5, plan, sizeof plan));
    cr_assert_str_eq(plan, "enterprise");
    gw_orgplans_free(m);
}

Test(org_plans, a_change_replayed_at_start_reuses_an_expired_slot_not_a_live_one)
{
    /* two slots: org_a's change expired by now, org_b's live; a change replayed from before
     * (changed at 50, now 1500) must not take org_b's slot */
    gw_orgplans_t *m = gw_orgplans_new(2, TTL);
    char plan[32];
    cr_assert_eq(gw_orgplans_set(m, "org_a", "starter", 1, 0, 0), TC_OK);
    cr_assert_eq(gw_orgplans_set(m, "org_b", "professional", 1, 900, 900), TC_OK);
    cr_assert_eq(gw_orgplans_set(m, "org_c", "enterprise", 1, 50, 1500), TC_OK);
    cr_assert(gw_orgplans_get(m, "org_b", 1500, plan, sizeof plan), "the live change is kept");
    cr_assert_str_eq(plan, "professional");
    gw_orgplans_free(m);
}
