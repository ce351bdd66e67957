/* Unit tests for payments_model.c: Stripe-Signature checking against vectors computed with
 * Python's hmac module (an implementation independent of ours), and payment states. */
#include <criterion/criterion.h>
#include <string.h>

#include "payments_model.h"
#include "tc/tc_core.h"

#define BODY   "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\"}"
#define SECRET "whsec_test_secret"
#define GOOD   "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31"
#define OTHER  "fd1bfea9611123bdabc198314fcbcdd375eb7fc1afebb5148d282d3803151dff"
#define T      1700000000

static int verify(const char *header, const char *body, int64_t now)
{
    const char *why = NULL;
    int rc = bill_webhook_verify(header, body, strlen(body), SECRET, now, 300, &why);
    cr_assert(rc == TC_OK ? why == NULL : why != NULL);
    return rc;
}

Test(webhook, a_signature_over_timestamp_and_body_is_accepted)
{
    cr_assert_eq(verify("t=1700000000,v1=" GOOD, BODY, T), TC_OK);
    cr_assert_eq(verify("t=1700000000,v1=" GOOD ",v0=abc", BODY, T + 299), TC_OK);
    /* while a secret is rolled, one of several v1 values matches */
    cr_assert_eq(verify("t=1700000000, v1=" OTHER ", v1=" GOOD, BODY, T - 10), TC_OK);
}

Test(webhook, anything_else_is_refused)
{
    cr_assert_eq(verify("t=1700000000,v1=" OTHER, BODY, T), TC_EINVAL, "another secret");
    cr_assert_eq(verify("t=1700000001,v1=" GOOD, BODY, T), TC_EINVAL, "another timestamp");
    cr_assert_eq(verify("t=1700000000,v1=" GOOD, BODY " ", T), TC_EINVAL, "another body");
    cr_assert_eq(verify("t=1700000000,v1=" GOOD, BODY, T + 301), TC_EINVAL, "too old");
    cr_assert_eq(verify("t=1700000000,v1=" GOOD, BODY, T - 301), TC_EINVAL, "too new");
    cr_assert_eq(verify("v1=" GOOD, BODY, T), TC_EINVAL, "no timestamp");
    cr_assert_eq(verify("t=1700000000", BODY, T), TC_EINVAL, "no signature");
    cr_assert_eq(verify("t=17x,v1=" GOOD, BODY, T), TC_EINVAL);
    cr_assert_eq(verify("t=1700000000,v0=" GOOD, BODY, T), TC_EINVAL, "only v1 counts");
    cr_assert_eq(verify("t=1700000000,v1=" GOOD "00", BODY, T), TC_EINVAL, "a longer value");
    cr_assert_eq(verify("", BODY, T), TC_EINVAL);
    const char *why = NULL;
    cr_assert_eq(bill_webhook_verify(NULL, BODY, strlen(BODY), SECRET, T, 300, &why), TC_EINVAL);
    cr_assert_eq(bill_webhook_verify("t=1700000000,v1=" GOOD, BODY, strlen(BODY), "", T, 300, &why),
                 TC_EINVAL, "no secret configured");
}

Test(payments, events_move_payments_and_only_failed_or_canceled_ones_are_closed)
{
    cr_assert_str_eq(bill_payment_status_after("payment_intent.succeeded"), "succeeded");
    cr_assert_str_eq(bill_payment_status_after("payment_intent.payment_failed"), "failed");
    cr_assert_null(bill_payment_status_after("charge.refunded"));
    cr_assert_null(bill_payment_status_after(NULL));
    cr_assert(bill_payment_open("requires_payment_method"));
    cr_assert(bill_payment_open("processing"));
    cr_assert(bill_payment_open("succeeded"));
    cr_assert_not(bill_payment_open("failed"));
    cr_assert_not(bill_payment_open("canceled"));
}
