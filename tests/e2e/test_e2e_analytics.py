"""End to end through the gateway's public port: every API call an org makes is counted exactly
once in its analytics (gateway → analytics-events → analytics), and an admin action lands in
the org's audit log (user → audit-events → analytics), chained and verifiable."""
import datetime as dt
import secrets
import time

from e2ekit import Client, iso
from platform_client import eventually, new_password

CALLS = 60


def test_n_requests_through_the_gateway_are_n_api_request_events(stack, contracts):
    owner = Client(stack, contracts, "203.0.113.91")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Counted", "email": f"e2e-an-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Olive Owner"})
    token = r.json()["access_token"]
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    for i in range(CALLS):
        owner.call("GET", "/v1/users/me" if i % 3 else "/v1/users/usr_nobody", token=token,
                   patient=True)
    query = {"from": iso(start), "to": iso(start + dt.timedelta(hours=1)),
             "events": ["api.request"], "filters": [{"property": "route", "op": "eq",
                                                     "value": "users"}],
             "breakdown": ["status"], "metrics": [{"op": "count"}]}

    def counts():
        r = owner.call("POST", "/v1/analytics/query", token=token, json_body=query, expect=200)
        return {row["breakdown"]["status"]: row["count"] for row in r.json()["data"]}
    eventually(lambda: sum(counts().values()) >= CALLS, timeout=60,
               what=f"{CALLS} api.request events")
    time.sleep(1)  # anything late would show now
    assert counts() == {"200": CALLS - CALLS // 3, "404": CALLS // 3}


def test_an_admin_action_lands_in_the_audit_log(stack, contracts):
    owner = Client(stack, contracts, "203.0.113.92")
    r = owner.call("POST", "/v1/auth/signup", expect=201, json_body={
        "org_name": "Audited", "email": f"e2e-au-{secrets.token_hex(5)}@example.com",
        "password": new_password(), "name": "Olive Owner"})
    token = r.json()["access_token"]
    invited = owner.call("POST", "/v1/users", token=token, expect=201, json_body={
        "email": f"e2e-inv-{secrets.token_hex(5)}@example.com", "name": "Ivy",
        "role": "editor"}).json()

    def records():
        r = owner.call("GET", "/v1/audit-logs?action=user.invited", token=token, expect=200)
        return r.json()["data"]
    eventually(lambda: len(records()) == 1, timeout=60, what="the invitation's audit record")
    rec = records()[0]
    assert rec["resource"] == {"type": "user", "id": invited["id"]}
    assert rec["after"]["role"] == "editor" and rec["actor"]["role"] == "owner"
    v = owner.call("GET", "/v1/audit-logs/verify", token=token, expect=200).json()
    assert v["valid"] is True and v["records"] >= 1
