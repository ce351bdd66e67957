"""The plan catalog and an org's subscription (/v1/billing): who may see and change it, what a
change owes (prorations to the second, Stripe's create_prorations / none), trials,
cancellations now and at the period's end, the periods job, versioned prices, idempotent
retries, and the plan reaching auth (the org's next access token)."""
import pytest

from billkit import Billing, fee
from platform_client import Api, assert_error, eventually, jwt_claims

DAY = 86400


def test_catalog_lists_the_four_plans_with_integer_prices(stack):
    api = Api(stack, "billing")
    r = api("GET", "/v1/billing/plans", token=stack.token(role="viewer"))
    assert r.status_code == 200, r.text
    plans = r.json()["data"]
    assert [p["id"] for p in plans][:4] == ["free", "starter", "professional", "enterprise"]
    for p in plans:
        assert isinstance(p["price"]["base_fee_minor"], int) and p["price"]["currency"] == "USD"
    assert plans[0]["price"]["base_fee_minor"] == 0 and plans[0]["price"]["metered"] == {}
    one = api("GET", "/v1/billing/plans/professional", token=stack.token())
    assert one.status_code == 200 and one.json()["versions"][0]["version"] == 1
    assert one.json()["price"]["metered"]["ml_inference.sentiment-v3"] == \
        {"per": 1000, "price_minor": 5}  # the seed's $0.05 per 1,000 requests
    assert_error(api("GET", "/v1/billing/plans/platinum", token=stack.token()), 404, "not_found")


def test_the_subscription_is_the_owners(stack):
    b = Billing(stack)
    for role in ("viewer", "editor", "admin"):
        t = stack.token(org=b.org_id, role=role)
        assert_error(b.get(token=t), 403)
        assert_error(b.post("/v1/billing/subscription", {"plan": "starter"}, token=t), 403)
    s = b.sub()  # the first look gives the org its free subscription
    assert (s["plan"], s["status"], s["pending_items"]) == ("free", "active", [])
    assert s["current_period_end"] > s["current_period_start"]
    evs = b.events(until=lambda es: any(t.endswith("subscription.created") for t, _ in es))
    assert [t for t, _ in evs] == ["com.techcorp.billing.subscription.created"]


def test_an_upgrade_halfway_owes_the_difference_for_the_rest_of_the_period(stack):
    b = Billing(stack)
    assert b.change("starter", proration_behavior="none").status_code == 200
    b.place_period(15 * DAY, 15 * DAY)
    starter, _ = fee(stack, "starter")
    pro, pro_version = fee(stack, "professional")
    r = b.change("professional")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["plan"] == "professional" and s["price_version"] == pro_version
    credit, charge = s["pending_items"]
    # half the period is left: whole seconds, rounded half away from zero (one second of
    # slack either way for the time between placing the period and the change)
    assert credit["plan"] == "starter" and abs(credit["amount_minor"] + starter // 2) <= 1
    assert charge["plan"] == "professional" and abs(charge["amount_minor"] - pro // 2) <= 1
    assert credit["currency"] == charge["currency"] == "USD"
    evs = b.events(until=lambda es: any(d["reason"] == "plan_changed" and
                                        d["plan"] == "professional" for _, d in es))
    changed = [d for t, d in evs if d["reason"] == "plan_changed"]
    assert [(d["previous_plan"], d["plan"]) for d in changed] == \
        [("free", "starter"), ("starter", "professional")]


def test_proration_none_and_the_same_plan_owe_nothing(stack):
    b = Billing(stack)
    s = b.change("enterprise", proration_behavior="none").json()
    assert s["plan"] == "enterprise" and s["pending_items"] == []
    again = b.change("enterprise").json()
    assert again["version"] == s["version"]  # nothing written


def test_a_retry_with_the_same_key_answers_the_first_response(stack):
    b = Billing(stack)
    first = b.post("/v1/billing/subscription", {"plan": "starter"}, key="k-1")
    assert first.status_code == 200
    b.change("professional", proration_behavior="none")
    retry = b.post("/v1/billing/subscription", {"plan": "starter"}, key="k-1")
    assert retry.status_code == 200 and retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert b.sub()["plan"] == "professional"  # the retry changed nothing
    assert_error(b.post("/v1/billing/subscription", {"plan": "enterprise"}, key="k-1"), 422,
                 "idempotency_key_reused")


@pytest.mark.parametrize("body,field", [
    ({"plan": "platinum"}, "plan"),
    ({}, "plan"),
    ({"plan": "starter", "proration_behavior": "always"}, "proration_behavior"),
    ({"plan": "starter", "trial_days": 0}, "trial_days"),
    ({"plan": "starter", "trial_days": 31}, "trial_days"),
    ({"plan": "starter", "coupon": "FREE"}, "coupon"),
])
def test_bad_changes_are_refused_and_change_nothing(stack, body, field):
    b = Billing(stack)
    r = b.post("/v1/billing/subscription", body)
    assert_error(r, 422, "validation_failed")
    assert field in [d["field"] for d in r.json()["error"]["details"]]
    assert b.sub()["plan"] == "free"


def test_a_body_that_is_not_json_is_400(stack):
    b = Billing(stack)
    r = b.api("POST", "/v1/billing/subscription/cancel", token=b.token, data="{plan",
              headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


def test_a_trial_converts_at_its_end(stack):
    b = Billing(stack)
    r = b.change("professional", trial_days=14)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["status"], s["plan"], s["trial_used"], s["pending_items"]) == \
        ("trialing", "professional", True, [])
    assert s["trial_end"] == s["current_period_end"]
    assert_error(b.change("starter", trial_days=7), 409, "subscription_conflict")
    b.place_period(14 * DAY, -1)  # the trial ended a second ago
    s = b.wait_sub(lambda s: s["status"] == "active", "the trial's end")
    assert s["plan"] == "professional" and s["trial_end"] is None
    assert s["current_period_start"] < s["current_period_end"]
    evs = b.events(until=lambda es: any(d["reason"] == "trial_ended" for _, d in es))
    assert [d["reason"] for _, d in evs] == ["created", "trial_started", "trial_ended"]


def test_a_cancellation_at_the_period_end_can_be_withdrawn_and_then_happens(stack):
    b = Billing(stack)
    b.change("starter", proration_behavior="none")
    s = b.post("/v1/billing/subscription/cancel").json()
    assert s["cancel_at_period_end"] is True and s["plan"] == "starter"
    assert_error(b.post("/v1/billing/subscription/cancel"), 409, "subscription_conflict")
    assert b.post("/v1/billing/subscription/resume").json()["cancel_at_period_end"] is False
    assert_error(b.post("/v1/billing/subscription/resume"), 409, "subscription_conflict")
    b.post("/v1/billing/subscription/cancel", {"at_period_end": True})
    b.place_period(30 * DAY, -1)
    s = b.wait_sub(lambda s: s["plan"] == "free", "the cancellation at the period's end")
    assert s["canceled_at"] is not None and s["cancel_at_period_end"] is False
    evs = b.events(until=lambda es: any(t.endswith(".canceled") for t, _ in es))
    canceled = [d for t, d in evs if t == "com.techcorp.billing.subscription.canceled"]
    assert [(d["previous_plan"], d["plan"]) for d in canceled] == [("starter", "free")]


def test_a_cancellation_now_credits_the_unused_time(stack):
    b = Billing(stack)
    b.change("professional", proration_behavior="none")
    b.place_period(10 * DAY, 20 * DAY)
    pro, _ = fee(stack, "professional")
    r = b.post("/v1/billing/subscription/cancel",
               {"at_period_end": False, "proration_behavior": "create_prorations"})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["plan"] == "free" and s["canceled_at"] is not None
    (credit,) = s["pending_items"]
    assert abs(credit["amount_minor"] + round(pro * 2 / 3)) <= 1
    assert_error(b.post("/v1/billing/subscription/cancel", {"at_period_end": False}), 409,
                 "subscription_conflict")


def test_periods_renew_onto_the_newest_price(stack):
    b = Billing(stack)
    b.change("enterprise", proration_behavior="none")
    ent, version = fee(stack, "enterprise")
    api = Api(stack, "billing")
    svc = stack.service_token()
    r = api("POST", "/internal/v1/billing/prices", token=svc,
            json_body={"plan": "enterprise", "currency": "USD", "base_fee_minor": ent,
                       "included": {"api_requests": 100000000, "workflow_executions": None},
                       "metered": {"api_requests": {"per": 1000, "price_minor": 5}}})
    assert r.status_code == 201, r.text
    new_version = r.json()["version"]
    assert new_version > version
    assert b.sub()["price_version"] == version  # the current period keeps its price
    b.place_period(30 * DAY, -1)
    s = b.wait_sub(lambda s: s["price_version"] == new_version, "the renewal")
    assert s["plan"] == "enterprise"
    evs = b.events(until=lambda es: any(d["reason"] == "renewed" for _, d in es))
    assert any(d["reason"] == "renewed" and d["price_version"] == new_version for _, d in evs)
    bad = api("POST", "/internal/v1/billing/prices", token=svc,
              json_body={"plan": "enterprise", "currency": "EUR", "base_fee_minor": 1})
    assert_error(bad, 422, "validation_failed")
    past = api("POST", "/internal/v1/billing/prices", token=svc,
               json_body={"plan": "enterprise", "currency": "USD", "base_fee_minor": 1,
                          "effective_from": "2020-01-01T00:00:00Z"})
    assert_error(past, 422, "validation_failed")
    assert_error(api("POST", "/internal/v1/billing/prices", token=stack.token(role="owner"),
                     json_body={"plan": "enterprise", "currency": "USD", "base_fee_minor": 1}),
                 403)


def test_an_org_gets_its_subscription_when_it_is_created(stack):
    org = stack.new_org()
    eventually(lambda: stack.sql("billing", f"SELECT plan_id FROM subscriptions"
                                            f" WHERE org_id = '{org.id}'") == "free",
               what="billing's subscription for the new org")
    evs = Billing(stack, org.id).events(until=lambda es: len(es) >= 1)
    assert [d["reason"] for _, d in evs] == ["created"]


def test_the_plan_reaches_the_orgs_next_access_token(stack):
    owner = stack.signup()
    assert jwt_claims(owner.access_token)["plan"] == "free"
    b = Billing(stack, owner.org_id)
    r = b.api("POST", "/v1/billing/subscription", token=owner.access_token,
              json_body={"plan": "professional"})
    assert r.status_code == 200, r.text
    version = r.json()["version"]

    def plan_in_token():
        return jwt_claims(owner.login()["access_token"])["plan"] == "professional"
    eventually(plan_in_token, what="the professional plan in a new access token")
    # an org state from user-events no longer sets the plan once billing has spoken
    ver = int(stack.sql("auth", f"SELECT version FROM orgs WHERE org_id = '{owner.org_id}'"))
    stack.produce_event("user-events", owner.org_id, "com.techcorp.org.updated",
                        f"/orgs/{owner.org_id}",
                        {"id": owner.org_id, "name": "Renamed", "plan": "free",
                         "version": ver + 1, "settings": {}})
    eventually(lambda: stack.sql("auth", f"SELECT name FROM orgs WHERE org_id ="
                                         f" '{owner.org_id}'") == "Renamed",
               what="auth applying the org state")
    assert stack.sql("auth", f"SELECT plan, plan_version FROM orgs"
                             f" WHERE org_id = '{owner.org_id}'") == f"professional|{version}"
