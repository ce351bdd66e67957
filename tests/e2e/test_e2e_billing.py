"""End to end through the gateway's public port: the plan an org pays for is the plan the
gateway enforces. The owner changes the plan (billing) → billing-events → auth applies it and
announces the move (auth-events org_plan_changed) → every gateway replica limits the org by
the new plan at once, also for the token the owner already holds (its claim still says the
old plan until it expires). And what the org is billed for API requests is what reached a
service through the gateway: the gateway's usage records, exact under at-least-once."""
import secrets
import time

import requests

from e2ekit import Client
from platform_client import eventually, jwt_claims, new_password


def limit_of(client, token):
    r = client.call("GET", "/v1/users/me", token=token, expect=200)
    return int(r.headers["RateLimit-Limit"])


def until_limit(client, token, want, timeout=30):
    """Seconds until the gateway's limit for the token is `want`."""
    t0 = time.time()
    while limit_of(client, token) != want:
        assert time.time() - t0 < timeout, f"the limit did not become {want} within {timeout}s"
        time.sleep(0.05)
    return time.time() - t0


def test_a_plan_change_moves_the_gateways_limit_for_tokens_already_held(stack, contracts):
    owner = Client(stack, contracts, "203.0.113.81")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Plan Journey", "email": f"e2e-plan-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Olive Owner"})
    token = r.json()["access_token"]
    assert jwt_claims(token)["plan"] == "free"
    free, _ = contracts.plan("free")
    enterprise, _ = contracts.plan("enterprise")
    starter, _ = contracts.plan("starter")
    assert limit_of(owner, token) == free

    r = owner.call("POST", "/v1/billing/subscription", token=token, expect=200,
                   headers={"Idempotency-Key": "upgrade-1"}, json_body={"plan": "enterprise"})
    assert r.json()["plan"] == "enterprise"
    up = until_limit(owner, token, enterprise)
    owner.call("POST", "/v1/billing/subscription", token=token, expect=200,
               json_body={"plan": "starter", "proration_behavior": "none"})
    down = until_limit(owner, token, starter)
    assert jwt_claims(token)["plan"] == "free"  # the same token throughout
    print(f"plan change -> gateway limit: upgrade {up * 1000:.0f} ms, downgrade {down * 1000:.0f} ms")


def billed_requests(stack, token):
    """The org's open api_requests, read from billing itself (a read through the gateway would
    be one more request to bill)."""
    r = requests.get(stack.url("billing", "/v1/billing/usage"),
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200, r.text
    return sum(m["quantity"] for m in r.json()["metrics"] if m["metric"] == "api_requests")


def test_every_request_an_upstream_answered_is_billed_once_and_no_other(stack, contracts):
    """The gateway's billing-grade usage records: what reached a service is billed (a 404 of
    the service too), what the gateway refused itself (429 past the plan's budget, 401) is
    not, and nothing is billed twice although the records are published at least once."""
    owner = Client(stack, contracts, "203.0.113.82")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Metered", "email": f"e2e-meter-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Mel Meter"})
    token = r.json()["access_token"]
    per_minute, burst = contracts.plan("free")
    answered = refused = 0
    # well past the free plan's budget: the last ones are 429. The budget refills as the loop
    # runs (a request's worth every 60/per_minute s), so on a loaded machine a loop only 5
    # past it saw 4 refusals; 20 past it leaves room for 15 refills.
    for i in range(burst + 20):
        path = "/v1/users/me" if i % 4 else "/v1/users/usr_doesnotexist"
        r = owner.call("GET", path, token=token)
        assert r.status_code in (200, 400, 404, 429), r.text
        if r.status_code == 429:
            refused += 1
        else:
            answered += 1
    owner.call("GET", "/v1/users/me", token=token + "x", expect=401)
    assert refused >= 5 and answered >= burst - 5, (answered, refused)
    eventually(lambda: billed_requests(stack, token) == answered, timeout=30,
               what=f"{answered} requests billed")
    time.sleep(2.5)  # two more windows: nothing else arrives
    assert billed_requests(stack, token) == answered
