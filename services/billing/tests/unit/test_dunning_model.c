/* dunning_model.c: the schedule of reminders and the hold, parsed and stepped through, and a
 * plan held and given back without touching what the owner decided about cancelling. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dunning_model.h"
#include "tc/tc_core.h"

#define T0  1767225600000LL /* 2026-01-01T00:00:00Z */
#define DUE (T0 + 14 * BILL_DAY_MS)

static bill_dunning_t policy(const char *reminders, int grace)
{
    bill_dunning_t p;
    const char *why = NULL;
    cr_assert_eq(bill_dunning_parse(reminders, grace, 14, &p, &why), TC_OK, "%s: %s", reminders,
                 why ? why : "");
    return p;
}

Test(dunning_parse, days_are_increasing_whole_days_below_the_grace)
{
    bill_dunning_t p = policy("1,3,7", 14);
    cr_assert_eq(p.nreminders, 3);
    cr_assert_eq(p.reminder_days[2], 7);
    cr_assert_eq(policy("", 14).nreminders, 0);
    cr_assert_eq(policy("0", 1).reminder_days[0], 0);
    const char *bad[] = {"3,1", "1,1", "1,,3", "1,", "x", "-1", "14", "1 3", "1,2,3,4,5,6,7,8,9"};
    for (size_t i = 0; i < TC_ARRAY_LEN(bad); i++) {
        const char *why = NULL;
        cr_expect_eq(bill_dunning_parse(bad[i], 14, 14, &p, &why), TC_EINVAL, "%s", bad[i]);
        cr_expect_not_null(why, "%s", bad[i]);
    }
    const char *why = NULL;
    cr_expect_eq(bill_dunning_parse("", 0, 14, &p, &why), TC_EINVAL);
    cr_expect_eq(bill_dunning_parse("", 3, -1, &p, &why), TC_EINVAL);
}

Test(dunning_step, each_reminder_on_its_day_then_the_hold_at_the_grace)
{
    bill_dunning_t p = policy("1,3,7", 14);
    cr_assert_eq(bill_dunning_due_at(&p, T0), DUE);
    cr_assert_eq(bill_dunning_first_at(&p, DUE), DUE + BILL_DAY_MS);
    bill_dun_step_t st;
    /* before the first reminder's day: nothing, and the next step is that day */
    bill_dunning_step(&p, DUE, 0, DUE + BILL_DAY_MS - 1, &st);
    cr_assert_eq(st.action, BILL_DUN_WAIT);
    cr_assert_eq(st.stage, 0);
    cr_assert_eq(st.next_at_ms, DUE + BILL_DAY_MS);
    int stage = 0;
    const int days[] = {1, 3, 7};
    for (int k = 0; k < 3; k++) {
        bill_dunning_step(&p, DUE, stage, DUE + days[k] * BILL_DAY_MS, &st);
        cr_assert_eq(st.action, BILL_DUN_REMIND, "reminder %d", k + 1);
        cr_assert_eq(st.reminder, k + 1);
        stage = st.stage;
        cr_assert_eq(stage, k + 1);
        int64_t next = k < 2 ? DUE + days[k + 1] * BILL_DAY_MS : DUE + 14 * BILL_DAY_MS;
        cr_assert_eq(st.next_at_ms, next, "after reminder %d", k + 1);
        /* taken again at the same time: nothing more */
        bill_dunning_step(&p, DUE, stage, DUE + days[k] * BILL_DAY_MS, &st);
        cr_assert_eq(st.action, BILL_DUN_WAIT);
    }
    bill_dunning_step(&p, DUE, stage, DUE + 14 * BILL_DAY_MS, &st);
    cr_assert_eq(st.action, BILL_DUN_HOLD);
    cr_assert_eq(st.stage, 4);
    cr_assert_eq(st.next_at_ms, 0, "nothing is left after the hold");
    bill_dunning_step(&p, DUE, 4, DUE + 40 * BILL_DAY_MS, &st);
    cr_assert_eq(st.action, BILL_DUN_WAIT);
    cr_assert_eq(st.next_at_ms, 0);
}

Test(dunning_step, missed_reminders_collapse_into_the_latest_and_the_grace_wins)
{
    bill_dunning_t p = policy("1,3,7", 14);
    bill_dun_step_t st;
    /* the job did not run from day 0 to day 5: one reminder (the 2nd), then the 3rd on day 7 */
    bill_dunning_step(&p, DUE, 0, DUE + 5 * BILL_DAY_MS, &st);
    cr_assert_eq(st.action, BILL_DUN_REMIND);
    cr_assert_eq(st.reminder, 2);
    cr_assert_eq(st.stage, 2);
    cr_assert_eq(st.next_at_ms, DUE + 7 * BILL_DAY_MS);
    /* past the grace: the hold, whatever reminders were left */
    bill_dunning_step(&p, DUE, 1, DUE + 20 * BILL_DAY_MS, &st);
    cr_assert_eq(st.action, BILL_DUN_HOLD);
    cr_assert_eq(st.stage, 4);
    /* no reminders at all: the first step is the hold */
    bill_dunning_t none = policy("", 10);
    cr_assert_eq(bill_dunning_first_at(&none, DUE), DUE + 10 * BILL_DAY_MS);
    bill_dunning_step(&none, DUE, 0, DUE + 10 * BILL_DAY_MS, &st);
    cr_assert_eq(st.action, BILL_DUN_HOLD);
    cr_assert_eq(st.stage, 1);
}

static bill_price_t price(const char *plan, int64_t fee, const char *currency)
{
    bill_price_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.plan_id, sizeof p.plan_id, "%s", plan);
    snprintf(p.plan_name, sizeof p.plan_name, "%s", plan);
    snprintf(p.currency, sizeof p.currency, "%s", currency);
    p.base_fee_minor = fee;
    p.version = 1;
    return p;
}

static bill_sub_t sub_on(const bill_price_t *p)
{
    bill_sub_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "sub_1");
    snprintf(s.org_id, sizeof s.org_id, "org_1");
    snprintf(s.plan_id, sizeof s.plan_id, "%s", p->plan_id);
    s.price_version = p->version;
    snprintf(s.status, sizeof s.status, "active");
    s.anchor_ms = s.period_start_ms = T0;
    s.period_end_ms = T0 + 31 * BILL_DAY_MS;
    return s;
}

Test(dunning_hold, a_held_plan_keeps_the_owners_cancellation_state_and_owes_nothing)
{
    bill_price_t starter = price("starter", 2900, "USD"), free = price(BILL_FREE_PLAN, 0, "USD");
    bill_sub_t s = sub_on(&starter);
    s.cancel_at_period_end = true;
    bill_outcome_t o;
    const char *why = NULL;
    int64_t now = T0 + 29 * BILL_DAY_MS;
    cr_assert_eq(bill_sub_hold(&s, &starter, &free, BILL_PRORATE_NONE, now, &o, &why), TC_OK);
    cr_assert_str_eq(s.plan_id, BILL_FREE_PLAN);
    cr_assert_eq(o.did, BILL_DID_PLAN);
    cr_assert_eq(o.nitems, 0);
    cr_assert_str_eq(o.previous_plan, "starter");
    cr_assert_eq(s.canceled_at_ms, 0, "a hold is not a cancellation");
    cr_assert(s.cancel_at_period_end, "the owner's scheduled cancellation stands");
    cr_assert_eq(s.period_end_ms, T0 + 31 * BILL_DAY_MS, "the period is unchanged");

    /* given back in the same period: nothing owed; in a later one: the rest of it */
    bill_sub_t back = s;
    cr_assert_eq(bill_sub_hold(&back, &free, &starter, BILL_PRORATE_NONE, now, &o, &why), TC_OK);
    cr_assert_str_eq(back.plan_id, "starter");
    cr_assert_eq(o.nitems, 0);
    back = s;
    cr_assert_eq(bill_sub_hold(&back, &free, &starter, BILL_PRORATE_CREATE, now, &o, &why), TC_OK);
    cr_assert_eq(o.nitems, 1);
    cr_assert_gt(o.items[0].amount_minor, 0);
    cr_assert_lt(o.items[0].amount_minor, 2900);

    bill_price_t euro = price("starter_eur", 2900, "EUR");
    cr_assert_eq(bill_sub_hold(&back, &starter, &euro, BILL_PRORATE_NONE, now, &o, &why),
                 TC_EINVAL);
    cr_assert_not_null(why);
}

Test(dunning_hold, given_back_while_the_period_is_being_closed_and_a_trial_held_ends)
{
    bill_price_t starter = price("starter", 2900, "USD"), free = price(BILL_FREE_PLAN, 0, "USD");
    bill_sub_t s = sub_on(&free);
    bill_outcome_t o;
    const char *why = NULL;
    /* the period ended a moment ago and the periods job has not moved it on yet: a plan given
     * back with nothing owed still applies; prorating needs the period */
    int64_t after_end = s.period_end_ms + 1000;
    cr_assert_eq(bill_sub_hold(&s, &free, &starter, BILL_PRORATE_NONE, after_end, &o, &why), TC_OK);
    cr_assert_str_eq(s.plan_id, "starter");
    s = sub_on(&free);
    cr_assert_eq(bill_sub_hold(&s, &free, &starter, BILL_PRORATE_CREATE, after_end, &o, &why),
                 TC_EINVAL);
    cr_assert_str_eq(s.plan_id, BILL_FREE_PLAN, "nothing changed");
    cr_assert_not_null(why);
    /* the same plan: nothing to do */
    cr_assert_eq(bill_sub_hold(&s, &free, &free, BILL_PRORATE_NONE, T0, &o, &why), TC_OK);
    cr_assert_eq(o.did, BILL_DID_NOTHING);
    /* a trial of a paid plan held at free ends, and its periods restart */
    s = sub_on(&starter);
    snprintf(s.status, sizeof s.status, "trialing");
    s.trial_end_ms = s.period_end_ms;
    cr_assert_eq(bill_sub_hold(&s, &starter, &free, BILL_PRORATE_NONE, T0 + BILL_DAY_MS, &o, &why),
                 TC_OK);
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.trial_end_ms, 0);
    cr_assert(o.reanchor_now);
}
