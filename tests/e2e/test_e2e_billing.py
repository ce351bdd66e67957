"""End to end through the gateway's public port: the plan an org pays for is the plan the
gateway enforces. The owner changes the plan (billing) → billing-events → auth applies it and
announces the move (auth-events org_plan_changed) → every gateway replica limits the org by
the new plan at once, also for the token the owner already holds (its claim still says the
old plan until it expires)."""
import secrets
import time

from e2ekit import Client
from platform_client import jwt_claims, new_password


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
