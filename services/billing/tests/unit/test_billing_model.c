/* Unit tests for the billing service's model (billing_model.c): proration arithmetic, the
 * items a plan change or a cancellation leaves, the request bodies of the subscription and
 * price APIs, metric names, and the subscription state machine (change, cancel, resume,
 * period roll). No I/O: every time is a fixed instant, never the clock. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing_model.h"
#include "tc/tc_core.h"
#include "tc/tc_json.h"
#include "tc/tc_time.h"

#define T0        1735689600000LL /* 2025-01-01T00:00:00Z: a period's start, whole seconds */
#define DAY_MS    86400000LL
#define PERIOD_MS (30 * DAY_MS) /* a 30-day period: halfway is exactly 15 days */
#define HALFWAY   (T0 + 15 * DAY_MS)

static void copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    cr_assert_lt(n, size, "%s does not fit", src);
    memcpy(dst, src, n + 1);
}

static bill_price_t price(const char *plan, const char *name, const char *currency, int64_t fee,
                          int version)
{
    bill_price_t p;
    memset(&p, 0, sizeof p);
    copy(p.plan_id, sizeof p.plan_id, plan);
    copy(p.plan_name, sizeof p.plan_name, name);
    copy(p.currency, sizeof p.currency, currency);
    p.base_fee_minor = fee;
    p.version = version;
    return p;
}

static bill_price_t free_p(void)
{
    return price(BILL_FREE_PLAN, "Free", "USD", 0, 1);
}

static bill_price_t starter(void)
{
    return price("starter", "Starter", "USD", 2900, 1);
}

static bill_price_t pro(void)
{
    return price("professional", "Professional", "USD", 9900, 2);
}

/* A subscription in its first period [T0, T0 + 30 days); a trial is the whole period. */
static bill_sub_t sub(const bill_price_t *p, const char *status)
{
    bill_sub_t s;
    memset(&s, 0, sizeof s);
    copy(s.id, sizeof s.id, "sub_01J00000000000000000000000");
    copy(s.org_id, sizeof s.org_id, "org_1");
    copy(s.plan_id, sizeof s.plan_id, p->plan_id);
    s.price_version = p->version;
    copy(s.status, sizeof s.status, status);
    s.anchor_ms = T0;
    s.period_no = 0;
    s.period_start_ms = T0;
    s.period_end_ms = T0 + PERIOD_MS;
    if (strcmp(status, "trialing") == 0) {
        s.trial_end_ms = s.period_end_ms;
        s.trial_used = true;
    }
    s.version = 1;
    s.created_ms = T0;
    s.updated_ms = T0;
    return s;
}

static bill_change_req_t change_req(const char *plan, bill_proration_t how, int trial_days)
{
    bill_change_req_t r = {.plan = plan, .how = how, .trial_days = trial_days};
    return r;
}

static int64_t prorate(int64_t amount, int64_t part, int64_t whole)
{
    int64_t out = 0x5a5a;
    cr_assert_eq(bill_prorate(amount, part, whole, &out), TC_OK, "%lld x %lld / %lld",
                 (long long)amount, (long long)part, (long long)whole);
    return out;
}

/* ------------------------------------------------------------------------------- prorate */

TestSuite(prorate);

Test(prorate, exact_fractions_are_exact)
{
    cr_assert_eq(prorate(3000, 10, 30), 1000);
    cr_assert_eq(prorate(2900, 15, 30), 1450);
    cr_assert_eq(prorate(100, 1, 4), 25);
    cr_assert_eq(prorate(-9900, 15, 30), -4950);
}

Test(prorate, rounds_half_away_from_zero_for_positive_amounts)
{
    cr_assert_eq(prorate(1, 1, 2), 1, "0.5 rounds up");
    cr_assert_eq(prorate(10, 1, 4), 3, "2.5 rounds up");
    cr_assert_eq(prorate(5, 1, 3), 2, "1.67 rounds up");
    cr_assert_eq(prorate(10, 1, 3), 3, "3.33 rounds down");
    cr_assert_eq(prorate(1, 1, 3), 0, "0.33 rounds down to nothing");
    cr_assert_eq(prorate(1, 2, 3), 1, "0.67 rounds up (odd whole: no exact half)");
}

Test(prorate, rounds_half_away_from_zero_for_negative_amounts)
{
    /* a credit rounds like the charge it mirrors: a change never leaves a cent behind */
    cr_assert_eq(prorate(-1, 1, 2), -1, "-0.5 rounds to -1, not 0");
    cr_assert_eq(prorate(-10, 1, 4), -3, "-2.5 rounds to -3");
    cr_assert_eq(prorate(-5, 1, 3), -2);
    cr_assert_eq(prorate(-10, 1, 3), -3);
    cr_assert_eq(prorate(-1, 1, 3), 0);
}

Test(prorate, no_time_is_nothing_and_the_whole_period_is_the_amount)
{
    cr_assert_eq(prorate(2900, 0, 2592000), 0);
    cr_assert_eq(prorate(-2900, 0, 2592000), 0);
    cr_assert_eq(prorate(2900, 2592000, 2592000), 2900);
    cr_assert_eq(prorate(-2900, 2592000, 2592000), -2900);
    cr_assert_eq(prorate(0, 7, 9), 0, "a free plan prorates to nothing");
}

Test(prorate, invalid_inputs_are_refused)
{
    int64_t out = 0;
    cr_assert_eq(bill_prorate(100, 0, 0, &out), TC_EINVAL, "whole 0 would divide by zero");
    cr_assert_eq(bill_prorate(100, 0, -30, &out), TC_EINVAL, "a negative whole");
    cr_assert_eq(bill_prorate(100, -1, 30, &out), TC_EINVAL, "a negative part");
    cr_assert_eq(bill_prorate(100, 31, 30, &out), TC_EINVAL, "more than the whole");
    cr_assert_eq(bill_prorate(BILL_MAX_FEE_MINOR + 1, 1, 2, &out), TC_EINVAL,
                 "the product might not fit in int64");
    cr_assert_eq(bill_prorate(-BILL_MAX_FEE_MINOR - 1, 1, 2, &out), TC_EINVAL);
    cr_assert_eq(bill_prorate(INT64_MAX, 1, 2, &out), TC_EINVAL);
    cr_assert_eq(bill_prorate(INT64_MIN, 1, 2, &out), TC_EINVAL, "no negation of INT64_MIN");
}

Test(prorate, the_largest_fee_over_a_31_day_period_in_seconds_does_not_overflow)
{
    const int64_t whole = 31 * 86400; /* 2,678,400 s */
    /* by hand: 10^10 x p / 2678400, with the fractions 358/837, 803/837 and 479/837 */
    cr_assert_eq(prorate(BILL_MAX_FEE_MINOR, whole - 1, whole), 9999996266LL);
    cr_assert_eq(prorate(BILL_MAX_FEE_MINOR, 1000000, whole), 3733572282LL);
    cr_assert_eq(prorate(BILL_MAX_FEE_MINOR, 1, whole), 3734LL);
    cr_assert_eq(prorate(-BILL_MAX_FEE_MINOR, whole - 1, whole), -9999996266LL);
    cr_assert_eq(prorate(BILL_MAX_FEE_MINOR, whole, whole), BILL_MAX_FEE_MINOR);
    cr_assert_eq(prorate(-BILL_MAX_FEE_MINOR, whole, whole), -BILL_MAX_FEE_MINOR);
}

/* ------------------------------------------------------------------------------ change items */

TestSuite(change_items);

Test(change_items, an_upgrade_halfway_credits_half_the_old_fee_and_charges_half_the_new)
{
    bill_price_t from = starter(), to = pro();
    bill_item_t it[2];
    int n = -1;
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
        TC_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(it[0].amount_minor, -1450, "a credit is negative");
    cr_assert_str_eq(it[0].plan_id, "starter");
    cr_assert_eq(it[0].price_version, 1);
    cr_assert_str_eq(it[0].currency, "USD");
    cr_assert_eq(it[0].from_ms, HALFWAY, "the unused time starts now");
    cr_assert_eq(it[0].to_ms, T0 + PERIOD_MS);
    cr_assert_str_eq(it[0].description, "Unused time on Starter after 2025-01-16");
    cr_assert_eq(it[1].amount_minor, 4950);
    cr_assert_str_eq(it[1].plan_id, "professional");
    cr_assert_eq(it[1].price_version, 2);
    cr_assert_str_eq(it[1].currency, "USD");
    cr_assert_eq(it[1].from_ms, HALFWAY);
    cr_assert_eq(it[1].to_ms, T0 + PERIOD_MS);
    cr_assert_str_eq(it[1].description, "Remaining time on Professional after 2025-01-16");
}

Test(change_items, a_price_without_a_name_is_described_by_its_plan_id)
{
    bill_price_t from = starter(), to = price("team", "", "USD", 6000, 1);
    bill_item_t it[2];
    int n = 0;
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
        TC_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(it[1].description, "Remaining time on team after 2025-01-16");
}

Test(change_items, from_a_free_plan_only_the_charge_the_zero_credit_left_out)
{
    bill_price_t from = free_p(), to = pro();
    bill_item_t it[2];
    int n = -1;
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
        TC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(it[0].amount_minor, 4950, "the first item is the charge");
    cr_assert_str_eq(it[0].plan_id, "professional");
}

Test(change_items, to_a_free_plan_only_the_credit)
{
    bill_price_t from = pro(), to = free_p();
    bill_item_t it[2];
    int n = -1;
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
        TC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(it[0].amount_minor, -4950);
    cr_assert_str_eq(it[0].plan_id, "professional");
}

Test(change_items, at_the_period_start_the_whole_fees)
{
    bill_price_t from = starter(), to = pro();
    bill_item_t it[2];
    int n = 0;
    cr_assert_eq(bill_change_items(&from, &to, T0, T0 + PERIOD_MS, T0, BILL_PRORATE_CREATE, it, &n),
                 TC_OK, "the period holds its start");
    cr_assert_eq(n, 2);
    cr_assert_eq(it[0].amount_minor, -2900);
    cr_assert_eq(it[1].amount_minor, 9900);
}

Test(change_items, proration_none_gives_no_items)
{
    bill_price_t from = starter(), to = pro();
    bill_item_t it[2];
    int n = 7;
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_NONE, it, &n),
        TC_OK);
    cr_assert_eq(n, 0, "*n is reset, not left as it was");
}

Test(change_items, different_currencies_are_refused)
{
    bill_price_t from = starter(), to = price("professional", "Professional", "EUR", 9900, 2);
    bill_item_t it[2];
    int n = 7;
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
        TC_EINVAL);
    cr_assert_eq(n, 0);
    /* a currency mismatch is wrong whatever the proration: the plans cannot be compared */
    cr_assert_eq(
        bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_NONE, it, &n),
        TC_EINVAL);
}

Test(change_items, a_period_that_does_not_hold_now_is_refused)
{
    bill_price_t from = starter(), to = pro();
    bill_item_t it[2];
    int n = 0;
    const int64_t end = T0 + PERIOD_MS;
    cr_assert_eq(bill_change_items(&from, &to, T0, end, T0 - 1, BILL_PRORATE_CREATE, it, &n),
                 TC_EINVAL, "before the period");
    cr_assert_eq(bill_change_items(&from, &to, T0, end, end, BILL_PRORATE_CREATE, it, &n),
                 TC_EINVAL, "the end is not in the period");
    cr_assert_eq(bill_change_items(&from, &to, T0, end, end + DAY_MS, BILL_PRORATE_CREATE, it, &n),
                 TC_EINVAL, "after the period");
    cr_assert_eq(bill_change_items(&from, &to, T0, T0, T0, BILL_PRORATE_CREATE, it, &n), TC_EINVAL,
                 "an empty period");
    cr_assert_eq(bill_change_items(&from, &to, end, T0, HALFWAY, BILL_PRORATE_CREATE, it, &n),
                 TC_EINVAL, "a reversed period");
    cr_assert_eq(bill_change_items(&from, &to, T0, end, T0 - 1, BILL_PRORATE_NONE, it, &n),
                 TC_EINVAL, "whatever the proration");
}

Test(change_items, whole_seconds_are_counted_milliseconds_below_a_second_ignored)
{
    /* a fee of one minor unit per second of a 30-day period: the amount is the seconds */
    bill_price_t from = price("a", "A", "USD", 2592000, 1), to = price("b", "B", "USD", 0, 1);
    bill_item_t it[2];
    int n = 0;
    cr_assert_eq(bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY + 999,
                                   BILL_PRORATE_CREATE, it, &n),
                 TC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(it[0].amount_minor, -1296000, "999 ms do not make a second");
    cr_assert_eq(bill_change_items(&from, &to, T0, T0 + PERIOD_MS, HALFWAY + 1000,
                                   BILL_PRORATE_CREATE, it, &n),
                 TC_OK);
    cr_assert_eq(it[0].amount_minor, -1295999, "one whole second more used");
    /* a period that starts and ends mid-second counts the seconds its bounds fall in */
    cr_assert_eq(bill_change_items(&from, &to, T0 + 500, T0 + PERIOD_MS + 500, HALFWAY + 700,
                                   BILL_PRORATE_CREATE, it, &n),
                 TC_OK);
    cr_assert_eq(it[0].amount_minor, -1296000);
}

/* ------------------------------------------------------------------------------ cancel items */

TestSuite(cancel_items);

Test(cancel_items, cancelling_halfway_credits_half_the_fee)
{
    bill_price_t from = starter();
    bill_item_t it[1];
    int n = -1;
    cr_assert_eq(bill_cancel_items(&from, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
                 TC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(it[0].amount_minor, -1450);
    cr_assert_str_eq(it[0].plan_id, "starter");
    cr_assert_eq(it[0].price_version, 1);
    cr_assert_str_eq(it[0].currency, "USD");
    cr_assert_eq(it[0].from_ms, HALFWAY);
    cr_assert_eq(it[0].to_ms, T0 + PERIOD_MS);
    cr_assert_str_eq(it[0].description, "Unused time on Starter after 2025-01-16");
}

Test(cancel_items, a_free_plan_leaves_no_zero_credit)
{
    bill_price_t from = free_p();
    bill_item_t it[1];
    int n = -1;
    cr_assert_eq(bill_cancel_items(&from, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_CREATE, it, &n),
                 TC_OK);
    cr_assert_eq(n, 0);
}

Test(cancel_items, proration_none_gives_no_credit)
{
    bill_price_t from = starter();
    bill_item_t it[1];
    int n = 7;
    cr_assert_eq(bill_cancel_items(&from, T0, T0 + PERIOD_MS, HALFWAY, BILL_PRORATE_NONE, it, &n),
                 TC_OK);
    cr_assert_eq(n, 0);
}

Test(cancel_items, a_period_that_does_not_hold_now_is_refused)
{
    bill_price_t from = starter();
    bill_item_t it[1];
    int n = 7;
    cr_assert_eq(
        bill_cancel_items(&from, T0, T0 + PERIOD_MS, T0 + PERIOD_MS, BILL_PRORATE_CREATE, it, &n),
        TC_EINVAL);
    cr_assert_eq(n, 0);
    cr_assert_eq(bill_cancel_items(&from, T0, T0 + PERIOD_MS, T0 - 1, BILL_PRORATE_NONE, it, &n),
                 TC_EINVAL);
    cr_assert_eq(bill_cancel_items(&from, T0, T0, T0, BILL_PRORATE_CREATE, it, &n), TC_EINVAL);
}

Test(cancel_items, whole_seconds_are_counted)
{
    bill_price_t from = price("a", "A", "USD", 2592000, 1);
    bill_item_t it[1];
    int n = 0;
    cr_assert_eq(
        bill_cancel_items(&from, T0, T0 + PERIOD_MS, HALFWAY + 999, BILL_PRORATE_CREATE, it, &n),
        TC_OK);
    cr_assert_eq(it[0].amount_minor, -1296000);
    cr_assert_eq(bill_cancel_items(&from, T0, T0 + PERIOD_MS, T0 + PERIOD_MS - 1,
                                   BILL_PRORATE_CREATE, it, &n),
                 TC_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(it[0].amount_minor, -1, "the last second still unused");
}

/* --------------------------------------------------------------------------- change_parse */

/* Parses json (NULL: no body) with bill_change_parse; true when accepted, and then *out set. */
static bool change_parse(const char *json, bill_change_req_t *out, cJSON **keep)
{
    cJSON *body = json ? cJSON_Parse(json) : NULL;
    cr_assert(!json || body, "bad test JSON: %s", json);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool ok = bill_change_parse(&jv, body, out);
    cr_assert_eq(ok, !tc_jv_failed(&jv), "the result and the validator agree: %s", json);
    tc_jv_free(&jv);
    if (keep)
        *keep = body; /* out->plan borrows from the body */
    else
        cJSON_Delete(body);
    return ok;
}

TestSuite(change_parse);

Test(change_parse, a_plan_alone_defaults_to_create_prorations_and_no_trial)
{
    bill_change_req_t r;
    cJSON *body = NULL;
    cr_assert(change_parse("{\"plan\": \"professional\"}", &r, &body));
    cr_assert_str_eq(r.plan, "professional");
    cr_assert_eq(r.how, BILL_PRORATE_CREATE, "Stripe's default");
    cr_assert_eq(r.trial_days, 0);
    cJSON_Delete(body);
}

Test(change_parse, every_member)
{
    bill_change_req_t r;
    cJSON *body = NULL;
    cr_assert(change_parse(
        "{\"plan\": \"starter\", \"proration_behavior\": \"none\", \"trial_days\": 14}", &r,
        &body));
    cr_assert_str_eq(r.plan, "starter");
    cr_assert_eq(r.how, BILL_PRORATE_NONE);
    cr_assert_eq(r.trial_days, 14);
    cJSON_Delete(body);
    cr_assert(change_parse("{\"plan\": \"starter\", \"proration_behavior\": \"create_prorations\"}",
                           &r, NULL));
    cr_assert_eq(r.how, BILL_PRORATE_CREATE);
}

Test(change_parse, proration_behavior_is_one_of_two_names)
{
    bill_change_req_t r;
    cr_assert_not(
        change_parse("{\"plan\": \"starter\", \"proration_behavior\": \"always_invoice\"}", &r,
                     NULL),
        "Stripe has it; billing does not");
    cr_assert_not(
        change_parse("{\"plan\": \"starter\", \"proration_behavior\": \"None\"}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"proration_behavior\": 1}", &r, NULL));
}

Test(change_parse, unknown_members_are_refused)
{
    bill_change_req_t r;
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"coupon\": \"HALF\"}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"Plan\": \"pro\"}", &r, NULL),
                  "member names are case-sensitive");
}

Test(change_parse, the_plan_is_required_and_a_short_string)
{
    bill_change_req_t r;
    cr_assert_not(change_parse("{}", &r, NULL));
    cr_assert_not(change_parse("{\"proration_behavior\": \"none\"}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": null}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": 3}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": \"\"}", &r, NULL));
    cr_assert(change_parse("{\"plan\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", &r, NULL),
              "31 characters fit a plan id");
    cr_assert_not(change_parse("{\"plan\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", &r, NULL),
                  "32 do not");
}

Test(change_parse, trial_days_is_from_1_to_30)
{
    bill_change_req_t r;
    cr_assert(change_parse("{\"plan\": \"starter\", \"trial_days\": 1}", &r, NULL));
    cr_assert_eq(r.trial_days, 1);
    cr_assert(change_parse("{\"plan\": \"starter\", \"trial_days\": 30}", &r, NULL));
    cr_assert_eq(r.trial_days, BILL_MAX_TRIAL_DAYS);
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"trial_days\": 0}", &r, NULL),
                  "0 days is no trial: leave the member out");
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"trial_days\": 31}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"trial_days\": -1}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"trial_days\": 1.5}", &r, NULL));
    cr_assert_not(change_parse("{\"plan\": \"starter\", \"trial_days\": \"7\"}", &r, NULL));
}

Test(change_parse, the_body_is_an_object)
{
    bill_change_req_t r;
    cr_assert_not(change_parse("[]", &r, NULL));
    cr_assert_not(change_parse("\"starter\"", &r, NULL));
    cr_assert_not(change_parse(NULL, &r, NULL), "a change needs a body");
}

/* --------------------------------------------------------------------------- cancel_parse */

static bool cancel_parse(const char *json, bill_cancel_req_t *out)
{
    cJSON *body = json ? cJSON_Parse(json) : NULL;
    cr_assert(!json || body, "bad test JSON: %s", json);
    tc_jv_t jv;
    tc_jv_init(&jv);
    bool ok = bill_cancel_parse(&jv, body, out);
    cr_assert_eq(ok, !tc_jv_failed(&jv), "the result and the validator agree: %s", json);
    tc_jv_free(&jv);
    cJSON_Delete(body);
    return ok;
}

TestSuite(cancel_parse);

Test(cancel_parse, no_body_cancels_at_the_period_end)
{
    bill_cancel_req_t r = {.at_period_end = false, .how = BILL_PRORATE_NONE};
    cr_assert(cancel_parse(NULL, &r));
    cr_assert(r.at_period_end);
    cr_assert_eq(r.how, BILL_PRORATE_CREATE);
    cr_assert(cancel_parse("{}", &r));
    cr_assert(r.at_period_end, "at_period_end defaults to true");
}

Test(cancel_parse, an_immediate_cancellation_with_either_proration)
{
    bill_cancel_req_t r;
    cr_assert(cancel_parse("{\"at_period_end\": false}", &r));
    cr_assert_not(r.at_period_end);
    cr_assert_eq(r.how, BILL_PRORATE_CREATE);
    cr_assert(cancel_parse("{\"at_period_end\": false, \"proration_behavior\": \"none\"}", &r));
    cr_assert_eq(r.how, BILL_PRORATE_NONE);
    cr_assert(cancel_parse(
        "{\"at_period_end\": false, \"proration_behavior\": \"create_prorations\"}", &r));
    cr_assert_eq(r.how, BILL_PRORATE_CREATE);
    cr_assert(cancel_parse("{\"at_period_end\": true}", &r));
    cr_assert(r.at_period_end);
}

Test(cancel_parse, proration_behavior_at_the_period_end_is_refused)
{
    /* nothing is prorated when the plan runs to its period's end: the member would mislead */
    bill_cancel_req_t r;
    cr_assert_not(cancel_parse("{\"at_period_end\": true, \"proration_behavior\": \"none\"}", &r));
    cr_assert_not(cancel_parse("{\"proration_behavior\": \"create_prorations\"}", &r),
                  "at_period_end is true by default");
}

Test(cancel_parse, bad_members_are_refused)
{
    bill_cancel_req_t r;
    cr_assert_not(cancel_parse("{\"at_period_end\": false, \"reason\": \"too dear\"}", &r));
    cr_assert_not(cancel_parse("{\"at_period_end\": \"false\"}", &r));
    cr_assert_not(cancel_parse("{\"at_period_end\": 0}", &r));
    cr_assert_not(cancel_parse("{\"at_period_end\": false, \"proration_behavior\": \"x\"}", &r));
    cr_assert_not(cancel_parse("[]", &r));
}

/* -------------------------------------------------------------------------------- metrics */

TestSuite(metric);

Test(metric, the_two_names_and_the_two_families)
{
    cr_assert(bill_metric_valid("api_requests"));
    cr_assert(bill_metric_valid("workflow_executions"));
    cr_assert(bill_metric_valid("ml_inference.sentiment-v3"));
    cr_assert(bill_metric_valid("notifications.email"));
    cr_assert(bill_metric_valid("notifications.sms_2"));
    cr_assert(bill_metric_valid("custom.active_users"), "an operator's metric");
}

Test(metric, anything_else_is_not_billable)
{
    cr_assert_not(bill_metric_valid(NULL));
    cr_assert_not(bill_metric_valid(""));
    cr_assert_not(bill_metric_valid("ml_inference."), "a family needs a member");
    cr_assert_not(bill_metric_valid("ML_inference.x"), "case-sensitive");
    cr_assert_not(bill_metric_valid("api_requests2"), "an exact name is exact");
    cr_assert_not(bill_metric_valid("api_requests.x"));
    cr_assert_not(bill_metric_valid("notifications.Email"), "lower case after the dot");
    cr_assert_not(bill_metric_valid("notifications.e mail"));
    cr_assert_not(bill_metric_valid("notifications.e/mail"));
    cr_assert_not(bill_metric_valid("ml_inference"));
    cr_assert_not(bill_metric_valid("storage_bytes"));
    cr_assert_not(bill_metric_valid("custom."));
}

Test(metric, a_family_member_is_at_most_48_characters_as_the_openapi_pattern_says)
{
    /* proto/openapi/billing.yaml: ml_inference\.[a-z0-9._-]{1,48} */
    char name[80];
    snprintf(name, sizeof name, "ml_inference.%s",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh");
    cr_assert(bill_metric_valid(name), "48");
    snprintf(name, sizeof name, "ml_inference.%s",
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi");
    cr_assert_not(bill_metric_valid(name), "49");
}

/* ---------------------------------------------------------------------------- price_parse */

typedef struct {
    cJSON *body;
    tc_jv_t jv;
    bill_price_req_t req;
    bool ok;
} price_case_t;

/* The request is parsed at now = T0; pc->body stays alive (req borrows from it). */
static void price_parse(price_case_t *pc, const char *json)
{
    pc->body = cJSON_Parse(json);
    cr_assert(pc->body, "bad test JSON: %s", json);
    tc_jv_init(&pc->jv);
    pc->ok = bill_price_parse(&pc->jv, pc->body, T0, &pc->req);
    cr_assert_eq(pc->ok, !tc_jv_failed(&pc->jv), "the result and the validator agree: %s", json);
}

static void price_done(price_case_t *pc)
{
    tc_jv_free(&pc->jv);
    cJSON_Delete(pc->body);
}

static bool price_ok(const char *json)
{
    price_case_t pc;
    price_parse(&pc, json);
    bool ok = pc.ok;
    price_done(&pc);
    return ok;
}

/* {"plan": "starter", "currency": "USD", "base_fee_minor": 2900, <extra>} */
static bool price_ok_with(const char *extra)
{
    char json[1024];
    int n = snprintf(json, sizeof json,
                     "{\"plan\": \"starter\", \"currency\": \"USD\", \"base_fee_minor\": 2900%s%s}",
                     extra[0] ? ", " : "", extra);
    cr_assert(n > 0 && (size_t)n < sizeof json);
    return price_ok(json);
}

TestSuite(price_parse);

Test(price_parse, a_full_body)
{
    price_case_t pc;
    price_parse(&pc, "{\"plan\": \"starter\", \"currency\": \"EUR\", \"base_fee_minor\": 4900,"
                     " \"included\": {\"api_requests\": 100000, \"workflow_executions\": null},"
                     " \"metered\": {\"api_requests\": {\"per\": 1000, \"price_minor\": 5},"
                     " \"ml_inference.ner-v2\": {\"per\": 1000, \"price_minor\": 0}},"
                     " \"effective_from\": \"2025-02-01T00:00:00Z\"}");
    cr_assert(pc.ok);
    cr_assert_str_eq(pc.req.plan, "starter");
    cr_assert_str_eq(pc.req.currency, "EUR");
    cr_assert_eq(pc.req.base_fee_minor, 4900);
    cr_assert_eq(pc.req.included, cJSON_GetObjectItemCaseSensitive(pc.body, "included"),
                 "borrowed, not copied");
    cr_assert_eq(pc.req.metered, cJSON_GetObjectItemCaseSensitive(pc.body, "metered"));
    cr_assert_eq(pc.req.effective_from_ms, T0 + 31 * DAY_MS);
    price_done(&pc);
}

Test(price_parse, the_minimal_body_is_effective_now_with_no_metrics)
{
    price_case_t pc;
    price_parse(&pc, "{\"plan\": \"free\", \"currency\": \"USD\", \"base_fee_minor\": 0}");
    cr_assert(pc.ok);
    cr_assert_eq(pc.req.base_fee_minor, 0, "a free plan's price");
    cr_assert_eq(pc.req.effective_from_ms, T0);
    /* absent maps hold no metric (the store writes {} for them) */
    cr_assert(!pc.req.included || cJSON_GetArraySize(pc.req.included) == 0);
    cr_assert(!pc.req.metered || cJSON_GetArraySize(pc.req.metered) == 0);
    price_done(&pc);
}

Test(price_parse, required_members_and_unknown_ones)
{
    cr_assert_not(price_ok("{\"currency\": \"USD\", \"base_fee_minor\": 0}"), "no plan");
    cr_assert_not(price_ok("{\"plan\": \"starter\", \"base_fee_minor\": 0}"), "no currency");
    cr_assert_not(price_ok("{\"plan\": \"starter\", \"currency\": \"USD\"}"), "no fee");
    cr_assert_not(price_ok_with("\"interval\": \"year\""), "an unknown member");
    cr_assert_not(price_ok("[]"));
}

Test(price_parse, the_currency_is_three_capital_letters)
{
    cr_assert(price_ok("{\"plan\": \"p\", \"currency\": \"EUR\", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"usd\", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"Usd\", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"US\", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"USDX\", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"U5D\", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"US \", \"base_fee_minor\": 1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": 840, \"base_fee_minor\": 1}"));
}

Test(price_parse, the_fee_is_a_whole_amount_from_0_to_the_maximum)
{
    cr_assert(price_ok("{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": 10000000000}"),
              "BILL_MAX_FEE_MINOR itself");
    cr_assert_not(
        price_ok("{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": 10000000001}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": -1}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": 29.5}"),
                  "money is never fractional minor units");
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": \"29\"}"));
    cr_assert_not(price_ok("{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": null}"));
}

Test(price_parse, included_quantities_are_whole_or_null_for_unlimited)
{
    cr_assert(price_ok_with("\"included\": {\"api_requests\": null}"), "null is unlimited");
    cr_assert(price_ok_with("\"included\": {\"api_requests\": 0}"));
    cr_assert(price_ok_with("\"included\": {\"notifications.email\": 1000000000000000}"), "10^15");
    cr_assert_not(price_ok_with("\"included\": {\"api_requests\": -1}"));
    cr_assert_not(price_ok_with("\"included\": {\"api_requests\": 1.5}"));
    cr_assert_not(price_ok_with("\"included\": {\"api_requests\": \"1000\"}"));
    cr_assert_not(price_ok_with("\"included\": {\"api_requests\": 1000000000000001}"));
    cr_assert_not(price_ok_with("\"included\": []"));
    cr_assert_not(price_ok_with("\"included\": 5"));
}

Test(price_parse, metered_entries_need_per_and_price_minor)
{
    cr_assert(price_ok_with("\"metered\": {\"api_requests\": {\"per\": 1, \"price_minor\": 0}}"));
    cr_assert(price_ok_with(
        "\"metered\": {\"api_requests\": {\"per\": 1000000, \"price_minor\": 1000000000}}"));
    cr_assert_not(price_ok_with("\"metered\": {\"api_requests\": {\"per\": 1000}}"));
    cr_assert_not(price_ok_with("\"metered\": {\"api_requests\": {\"price_minor\": 5}}"));
    cr_assert_not(price_ok_with("\"metered\": {\"api_requests\": {}}"));
    cr_assert_not(
        price_ok_with("\"metered\": {\"api_requests\": {\"per\": 0, \"price_minor\": 5}}"));
    cr_assert_not(
        price_ok_with("\"metered\": {\"api_requests\": {\"per\": 1000001, \"price_minor\": 5}}"));
    cr_assert_not(
        price_ok_with("\"metered\": {\"api_requests\": {\"per\": 1000, \"price_minor\": -1}}"));
    cr_assert_not(
        price_ok_with("\"metered\": {\"api_requests\": {\"per\": 1000, \"price_minor\": 0.5}}"));
    cr_assert_not(price_ok_with(
        "\"metered\": {\"api_requests\": {\"per\": 1000, \"price_minor\": 1000000001}}"));
    cr_assert_not(price_ok_with(
        "\"metered\": {\"api_requests\": {\"per\": 1000, \"price_minor\": 5, \"tier\": 1}}"));
    cr_assert_not(price_ok_with("\"metered\": {\"api_requests\": 5}"), "not an object");
    cr_assert_not(price_ok_with("\"metered\": {\"api_requests\": null}"));
}

Test(price_parse, unknown_metric_names_are_refused)
{
    cr_assert_not(price_ok_with("\"included\": {\"storage_bytes\": 10}"));
    cr_assert_not(price_ok_with("\"included\": {\"ml_inference.\": 10}"));
    cr_assert_not(
        price_ok_with("\"metered\": {\"API_requests\": {\"per\": 1000, \"price_minor\": 5}}"));
    cr_assert_not(price_ok_with(
        "\"metered\": {\"notifications.Email\": {\"per\": 1000, \"price_minor\": 5}}"));
}

/* A body whose `map` member holds n metrics ml_inference.m0 ... (built, not printed: no
 * fixed-size buffer to overflow). */
static bool price_ok_with_metrics(const char *map, int n)
{
    cJSON *body = cJSON_CreateObject();
    cr_assert(body);
    cJSON_AddStringToObject(body, "plan", "starter");
    cJSON_AddStringToObject(body, "currency", "USD");
    cJSON_AddNumberToObject(body, "base_fee_minor", 2900);
    cJSON *m = cJSON_AddObjectToObject(body, map);
    cr_assert(m);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "ml_inference.m%d", i);
        if (strcmp(map, "included") == 0) {
            cJSON_AddNumberToObject(m, name, 10);
        } else {
            cJSON *e = cJSON_AddObjectToObject(m, name);
            cJSON_AddNumberToObject(e, "per", 1000);
            cJSON_AddNumberToObject(e, "price_minor", 5);
        }
    }
    tc_jv_t jv;
    tc_jv_init(&jv);
    bill_price_req_t req;
    bool ok = bill_price_parse(&jv, body, T0, &req);
    tc_jv_free(&jv);
    cJSON_Delete(body);
    return ok;
}

Test(price_parse, at_most_64_metrics_per_map)
{
    cr_assert(price_ok_with_metrics("included", BILL_MAX_METRICS));
    cr_assert_not(price_ok_with_metrics("included", BILL_MAX_METRICS + 1));
    cr_assert(price_ok_with_metrics("metered", BILL_MAX_METRICS));
    cr_assert_not(price_ok_with_metrics("metered", BILL_MAX_METRICS + 1));
}

Test(price_parse, effective_from_is_rfc_3339_and_not_in_the_past)
{
    price_case_t pc;
    price_parse(&pc, "{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": 1,"
                     " \"effective_from\": \"2030-01-01T02:00:00+02:00\"}");
    cr_assert(pc.ok);
    cr_assert_eq(pc.req.effective_from_ms, 1893456000000LL, "2030-01-01T00:00:00Z");
    price_done(&pc);
    price_parse(&pc, "{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": 1,"
                     " \"effective_from\": \"2030-01-01T00:00:00.250Z\"}");
    cr_assert(pc.ok);
    cr_assert_eq(pc.req.effective_from_ms, 1893456000250LL);
    price_done(&pc);
    price_parse(&pc, "{\"plan\": \"p\", \"currency\": \"USD\", \"base_fee_minor\": 1,"
                     " \"effective_from\": \"2025-01-01T00:00:00Z\"}");
    cr_assert(pc.ok, "now itself");
    cr_assert_eq(pc.req.effective_from_ms, T0);
    price_done(&pc);

    cr_assert_not(price_ok_with("\"effective_from\": \"2024-12-31T00:00:00Z\""),
                  "a price never changes what was billed");
    cr_assert_not(price_ok_with("\"effective_from\": \"2024-12-31T23:59:58Z\""),
                  "two seconds ago is the past");
    cr_assert(price_ok_with("\"effective_from\": \"2024-12-31T23:59:59.500Z\""),
              "half a second ago: a client's clock skew, accepted");
    cr_assert_not(price_ok_with("\"effective_from\": \"next month\""));
    cr_assert_not(price_ok_with("\"effective_from\": \"2030-01-01\""), "a date is not a time");
    cr_assert_not(price_ok_with("\"effective_from\": \"2030-02-30T00:00:00Z\""));
    cr_assert_not(price_ok_with("\"effective_from\": 1893456000000"));
}

/* ----------------------------------------------------------------------------- sub_change */

TestSuite(sub_change);

Test(sub_change, a_trial_from_free_to_a_paid_plan_is_the_new_period)
{
    bill_price_t from = free_p(), to = pro();
    bill_sub_t s = sub(&from, "active");
    bill_change_req_t r = change_req("professional", BILL_PRORATE_CREATE, 14);
    bill_outcome_t out;
    const char *why = "unset";
    const int64_t now = T0 + 10 * DAY_MS;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, now, &out, &why), TC_OK);
    cr_assert_null(why);
    cr_assert_eq(out.did, BILL_DID_TRIAL);
    cr_assert_eq(out.nitems, 0, "a trial is without charge");
    cr_assert_str_eq(out.previous_plan, "free");
    cr_assert_str_eq(s.status, "trialing");
    cr_assert_str_eq(s.plan_id, "professional");
    cr_assert_eq(s.price_version, 2);
    cr_assert_eq(s.period_start_ms, now);
    cr_assert_eq(s.period_end_ms, now + 14 * DAY_MS);
    cr_assert_eq(s.trial_end_ms, s.period_end_ms, "the trial is the whole current period");
    cr_assert_eq(s.anchor_ms, now);
    cr_assert_eq(s.period_no, 0);
    cr_assert(s.trial_used);
}

Test(sub_change, a_second_trial_is_refused)
{
    bill_price_t from = free_p(), to = pro();
    bill_sub_t s = sub(&from, "active");
    s.trial_used = true;
    bill_sub_t before = s;
    bill_change_req_t r = change_req("professional", BILL_PRORATE_CREATE, 7);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_ECONFLICT);
    cr_assert_not_null(why, "the client is told why");
    cr_assert_eq(memcmp(&s, &before, sizeof s), 0, "a refused change changes nothing");
}

Test(sub_change, a_trial_of_a_free_plan_is_refused)
{
    bill_price_t from = free_p(), to = price("community", "Community", "USD", 0, 1);
    bill_sub_t s = sub(&from, "active");
    bill_change_req_t r = change_req("community", BILL_PRORATE_CREATE, 7);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_ECONFLICT);
    cr_assert_not_null(why);
    cr_assert_str_eq(s.plan_id, "free");
    cr_assert_not(s.trial_used, "a refused trial is not used up");
}

Test(sub_change, a_trial_from_a_paid_plan_is_refused)
{
    bill_price_t from = starter(), to = pro();
    bill_sub_t s = sub(&from, "active");
    bill_change_req_t r = change_req("professional", BILL_PRORATE_CREATE, 7);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_ECONFLICT);
    cr_assert_not_null(why);
    cr_assert_str_eq(s.plan_id, "starter");
}

Test(sub_change, the_same_plan_again_does_nothing)
{
    bill_price_t from = starter(), to = starter();
    bill_sub_t s = sub(&from, "active");
    bill_sub_t before = s;
    bill_change_req_t r = change_req("starter", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = "unset";
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_null(why);
    cr_assert_eq(out.did, BILL_DID_NOTHING, "no write, no event");
    cr_assert_eq(out.nitems, 0);
    cr_assert_eq(memcmp(&s, &before, sizeof s), 0);
}

Test(sub_change, the_same_plan_again_withdraws_a_scheduled_cancellation)
{
    bill_price_t from = starter(), to = starter();
    bill_sub_t s = sub(&from, "active");
    s.cancel_at_period_end = true;
    bill_change_req_t r = change_req("starter", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_UNSCHEDULE, "choosing the plan one has is choosing to stay");
    cr_assert_eq(out.nitems, 0);
    cr_assert_not(s.cancel_at_period_end);
    cr_assert_str_eq(s.plan_id, "starter");
}

Test(sub_change, a_move_to_the_free_plan_ends_the_paid_one)
{
    bill_price_t from = pro(), to = free_p();
    bill_sub_t s = sub(&from, "active");
    bill_change_req_t r = change_req("free", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_PLAN);
    cr_assert_eq(out.nitems, 1, "the unused paid time is credited; the free plan costs nothing");
    cr_assert_lt(out.items[0].amount_minor, 0);
    cr_assert_eq(s.canceled_at_ms, HALFWAY);
    cr_assert_str_eq(s.plan_id, "free");
}

Test(sub_change, during_a_trial_another_paid_plan_keeps_the_trial)
{
    bill_price_t from = pro(), to = starter();
    bill_sub_t s = sub(&from, "trialing");
    s.cancel_at_period_end = true;
    bill_change_req_t r = change_req("starter", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_PLAN);
    cr_assert_eq(out.nitems, 0, "nothing is charged during a trial");
    cr_assert_not(out.reanchor_now, "the trial's period goes on");
    cr_assert_str_eq(out.previous_plan, "professional");
    cr_assert_str_eq(s.status, "trialing");
    cr_assert_str_eq(s.plan_id, "starter");
    cr_assert_eq(s.price_version, 1);
    cr_assert_eq(s.period_start_ms, T0);
    cr_assert_eq(s.period_end_ms, T0 + PERIOD_MS);
    cr_assert_eq(s.trial_end_ms, T0 + PERIOD_MS);
    cr_assert_not(s.cancel_at_period_end, "choosing a plan is choosing to stay");
}

Test(sub_change, during_a_trial_the_free_plan_ends_it)
{
    bill_price_t from = pro(), to = free_p();
    bill_sub_t s = sub(&from, "trialing");
    bill_change_req_t r = change_req("free", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_PLAN);
    cr_assert_eq(out.nitems, 0, "no credit for a trial nobody paid");
    cr_assert(out.reanchor_now, "the free plan's periods start now");
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.trial_end_ms, 0);
    cr_assert_str_eq(s.plan_id, "free");
    cr_assert(s.trial_used, "the trial stays used");
}

Test(sub_change, an_active_change_leaves_the_items_and_withdraws_a_cancellation)
{
    bill_price_t from = starter(), to = pro();
    bill_sub_t s = sub(&from, "active");
    s.cancel_at_period_end = true;
    bill_change_req_t r = change_req("professional", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = "unset";
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_null(why);
    cr_assert_eq(out.did, BILL_DID_PLAN);
    cr_assert_eq(out.nitems, 2);
    cr_assert_eq(out.items[0].amount_minor, -1450);
    cr_assert_eq(out.items[1].amount_minor, 4950);
    cr_assert_not(out.reanchor_now, "the period goes on");
    cr_assert_str_eq(out.previous_plan, "starter");
    cr_assert_str_eq(s.plan_id, "professional");
    cr_assert_eq(s.price_version, 2);
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.period_start_ms, T0);
    cr_assert_eq(s.period_end_ms, T0 + PERIOD_MS);
    cr_assert_not(s.cancel_at_period_end, "choosing a plan is choosing to stay");
}

Test(sub_change, an_active_change_without_proration_leaves_no_items)
{
    bill_price_t from = pro(), to = starter();
    bill_sub_t s = sub(&from, "active");
    bill_change_req_t r = change_req("starter", BILL_PRORATE_NONE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_PLAN);
    cr_assert_eq(out.nitems, 0);
    cr_assert_str_eq(s.plan_id, "starter");
}

Test(sub_change, another_currency_is_refused)
{
    bill_price_t from = starter(), to = price("professional", "Professional", "EUR", 9900, 2);
    bill_sub_t s = sub(&from, "active");
    bill_sub_t before = s;
    bill_change_req_t r = change_req("professional", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, HALFWAY, &out, &why), TC_EINVAL);
    cr_assert_not_null(why);
    cr_assert_eq(memcmp(&s, &before, sizeof s), 0);
}

Test(sub_change, a_period_that_does_not_hold_now_is_refused)
{
    /* a subscription whose period has ended but not rolled yet: no items can be computed */
    bill_price_t from = starter(), to = pro();
    bill_sub_t s = sub(&from, "active");
    bill_sub_t before = s;
    bill_change_req_t r = change_req("professional", BILL_PRORATE_CREATE, 0);
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_change(&s, &from, &to, &r, T0 + PERIOD_MS + 1, &out, &why), TC_EINVAL);
    cr_assert_not_null(why);
    cr_assert_eq(memcmp(&s, &before, sizeof s), 0);
}

/* ----------------------------------------------------------------------------- sub_cancel */

TestSuite(sub_cancel);

Test(sub_cancel, the_free_plan_has_nothing_to_cancel)
{
    bill_price_t fp = free_p();
    bill_sub_t s = sub(&fp, "active");
    bill_cancel_req_t r = {.at_period_end = true, .how = BILL_PRORATE_CREATE};
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_cancel(&s, &fp, &fp, &r, HALFWAY, &out, &why), TC_ECONFLICT);
    cr_assert_not_null(why);
    r.at_period_end = false;
    cr_assert_eq(bill_sub_cancel(&s, &fp, &fp, &r, HALFWAY, &out, &why), TC_ECONFLICT);
    cr_assert_eq(s.canceled_at_ms, 0);
}

Test(sub_cancel, at_the_period_end_is_scheduled_once)
{
    bill_price_t from = starter(), fp = free_p();
    bill_sub_t s = sub(&from, "active");
    bill_cancel_req_t r = {.at_period_end = true, .how = BILL_PRORATE_CREATE};
    bill_outcome_t out;
    const char *why = "unset";
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_null(why);
    cr_assert_eq(out.did, BILL_DID_SCHEDULE);
    cr_assert_eq(out.nitems, 0);
    cr_assert_not(out.reanchor_now);
    cr_assert(s.cancel_at_period_end);
    cr_assert_str_eq(s.plan_id, "starter", "the plan runs to the period's end");
    cr_assert_eq(s.canceled_at_ms, 0);
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, HALFWAY + 1, &out, &why), TC_ECONFLICT,
                 "already scheduled");
    cr_assert_not_null(why);
    cr_assert(s.cancel_at_period_end);
}

Test(sub_cancel, now_credits_the_unused_time_and_falls_back_to_free)
{
    bill_price_t from = starter(), fp = free_p();
    bill_sub_t s = sub(&from, "active");
    bill_cancel_req_t r = {.at_period_end = false, .how = BILL_PRORATE_CREATE};
    bill_outcome_t out;
    const char *why = "unset";
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_null(why);
    cr_assert_eq(out.did, BILL_DID_CANCEL);
    cr_assert_eq(out.nitems, 1);
    cr_assert_eq(out.items[0].amount_minor, -1450);
    cr_assert_str_eq(out.items[0].plan_id, "starter");
    cr_assert(out.reanchor_now, "the free plan's periods start now");
    cr_assert_str_eq(out.previous_plan, "starter");
    cr_assert_str_eq(s.plan_id, "free");
    cr_assert_eq(s.price_version, 1);
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.canceled_at_ms, HALFWAY);
    cr_assert_not(s.cancel_at_period_end);
}

Test(sub_cancel, now_after_scheduling_it_clears_the_schedule)
{
    bill_price_t from = starter(), fp = free_p();
    bill_sub_t s = sub(&from, "active");
    s.cancel_at_period_end = true;
    bill_cancel_req_t r = {.at_period_end = false, .how = BILL_PRORATE_NONE};
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_CANCEL);
    cr_assert_eq(out.nitems, 0, "proration none: no credit");
    cr_assert_str_eq(s.plan_id, "free");
    cr_assert_not(s.cancel_at_period_end);
}

Test(sub_cancel, now_during_a_trial_credits_nothing_and_ends_the_trial)
{
    bill_price_t from = pro(), fp = free_p();
    bill_sub_t s = sub(&from, "trialing");
    bill_cancel_req_t r = {.at_period_end = false, .how = BILL_PRORATE_CREATE};
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_CANCEL);
    cr_assert_eq(out.nitems, 0, "a trial was never paid");
    cr_assert(out.reanchor_now);
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.trial_end_ms, 0);
    cr_assert_str_eq(s.plan_id, "free");
    cr_assert_eq(s.canceled_at_ms, HALFWAY);
    cr_assert(s.trial_used);
}

Test(sub_cancel, at_the_period_end_during_a_trial_is_scheduled)
{
    bill_price_t from = pro(), fp = free_p();
    bill_sub_t s = sub(&from, "trialing");
    bill_cancel_req_t r = {.at_period_end = true, .how = BILL_PRORATE_CREATE};
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, HALFWAY, &out, &why), TC_OK);
    cr_assert_eq(out.did, BILL_DID_SCHEDULE);
    cr_assert(s.cancel_at_period_end);
    cr_assert_str_eq(s.status, "trialing", "the trial runs to its end");
}

Test(sub_cancel, now_with_a_period_that_does_not_hold_is_refused)
{
    bill_price_t from = starter(), fp = free_p();
    bill_sub_t s = sub(&from, "active");
    bill_sub_t before = s;
    bill_cancel_req_t r = {.at_period_end = false, .how = BILL_PRORATE_CREATE};
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_cancel(&s, &from, &fp, &r, T0 - 1, &out, &why), TC_EINVAL);
    cr_assert_not_null(why);
    cr_assert_eq(memcmp(&s, &before, sizeof s), 0);
}

/* ----------------------------------------------------------------------------- sub_resume */

TestSuite(sub_resume);

Test(sub_resume, without_a_scheduled_cancellation_is_refused)
{
    bill_price_t from = starter();
    bill_sub_t s = sub(&from, "active");
    bill_outcome_t out;
    const char *why = NULL;
    cr_assert_eq(bill_sub_resume(&s, &out, &why), TC_ECONFLICT);
    cr_assert_not_null(why);
}

Test(sub_resume, withdraws_the_scheduled_cancellation)
{
    bill_price_t from = starter();
    bill_sub_t s = sub(&from, "active");
    s.cancel_at_period_end = true;
    bill_outcome_t out;
    const char *why = "unset";
    cr_assert_eq(bill_sub_resume(&s, &out, &why), TC_OK);
    cr_assert_null(why);
    cr_assert_eq(out.did, BILL_DID_UNSCHEDULE);
    cr_assert_eq(out.nitems, 0);
    cr_assert_str_eq(out.previous_plan, "starter");
    cr_assert_not(s.cancel_at_period_end);
    cr_assert_str_eq(s.plan_id, "starter");
    cr_assert_eq(bill_sub_resume(&s, &out, &why), TC_ECONFLICT, "once");
}

/* ------------------------------------------------------------------------------- sub_roll */

TestSuite(sub_roll);

Test(sub_roll, the_kind_of_a_period_end)
{
    bill_price_t paid = pro();
    bill_sub_t s = sub(&paid, "active");
    cr_assert_eq(bill_sub_roll_kind(&s), BILL_ROLL_RENEW);
    s.cancel_at_period_end = true;
    cr_assert_eq(bill_sub_roll_kind(&s), BILL_ROLL_CANCEL);
    bill_sub_t t = sub(&paid, "trialing");
    cr_assert_eq(bill_sub_roll_kind(&t), BILL_ROLL_TRIAL_END);
    t.cancel_at_period_end = true;
    cr_assert_eq(bill_sub_roll_kind(&t), BILL_ROLL_CANCEL,
                 "a trial cancelled at its end does not convert");
}

Test(sub_roll, a_cancel_falls_back_to_free_at_the_period_end)
{
    bill_price_t paid = pro(), fp = free_p();
    bill_sub_t s = sub(&paid, "trialing");
    s.cancel_at_period_end = true;
    bill_outcome_t out;
    const int64_t end = T0 + PERIOD_MS;
    bill_sub_roll(&s, BILL_ROLL_CANCEL, &fp, end, &out);
    cr_assert_eq(out.did, BILL_DID_CANCEL);
    cr_assert_eq(out.nitems, 0, "the period was used to its end");
    cr_assert_str_eq(out.previous_plan, "professional");
    cr_assert_str_eq(s.plan_id, "free");
    cr_assert_eq(s.price_version, 1);
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.trial_end_ms, 0);
    cr_assert_not(s.cancel_at_period_end);
    cr_assert_eq(s.canceled_at_ms, end);
}

Test(sub_roll, a_trial_end_converts_to_active_on_the_same_plan)
{
    bill_price_t paid = pro(), fp = free_p();
    bill_sub_t s = sub(&paid, "trialing");
    bill_outcome_t out;
    bill_sub_roll(&s, BILL_ROLL_TRIAL_END, &fp, T0 + PERIOD_MS, &out);
    cr_assert_eq(out.did, BILL_DID_PLAN);
    cr_assert_str_eq(s.status, "active");
    cr_assert_eq(s.trial_end_ms, 0);
    cr_assert_str_eq(s.plan_id, "professional");
    cr_assert_eq(s.canceled_at_ms, 0);
    cr_assert(s.trial_used);
}

Test(sub_roll, a_renewal_changes_no_field_here)
{
    /* the next period and the newest price are the store's arithmetic */
    bill_price_t paid = pro(), fp = free_p();
    bill_sub_t s = sub(&paid, "active");
    bill_sub_t before = s;
    bill_outcome_t out;
    bill_sub_roll(&s, BILL_ROLL_RENEW, &fp, T0 + PERIOD_MS, &out);
    cr_assert_eq(out.did, BILL_DID_NOTHING);
    cr_assert_eq(memcmp(&s, &before, sizeof s), 0);
}

/* ------------------------------------------------------------------------------- sub_json */

TestSuite(sub_json);

Test(sub_json, the_api_shape)
{
    bill_price_t paid = pro();
    bill_sub_t s = sub(&paid, "trialing");
    cJSON *o = bill_sub_json(&s);
    cr_assert_not_null(o);
    cr_assert_str_eq(tc_json_get_str(o, "plan"), "professional");
    cr_assert_str_eq(tc_json_get_str(o, "status"), "trialing");
    cr_assert_str_eq(tc_json_get_str(o, "current_period_start"), "2025-01-01T00:00:00.000Z");
    cr_assert_str_eq(tc_json_get_str(o, "current_period_end"), "2025-01-31T00:00:00.000Z");
    cr_assert_str_eq(tc_json_get_str(o, "trial_end"), "2025-01-31T00:00:00.000Z");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "canceled_at")), "0 is never");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "trial_used")));
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "cancel_at_period_end")));
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(o, "price_version")->valuedouble, 2);
    cJSON_Delete(o);
}
